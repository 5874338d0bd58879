// PostgreSQL store: Explorer claims and leases, the signing mark (I2), the
// balancer's leader slot (an advisory lock on a session of its own) and
// per-instance locks.
#include "store/batch_audit.h"
#include "store/postgres/postgres_store_impl.h"

namespace qtw::store::pg {

Result<std::vector<KeyRecord>> PgStore::claim_explorers(const LeaseOwner& owner, std::size_t max,
                                                        std::int64_t lease_deadline_ms) {
  QTW_TRY(check_owner(owner));
  QTW_TRY(check_transition(KeyState::kAvailable, KeyState::kLeased));
  if (max == 0) return std::vector<KeyRecord>{};
  return run("claim_explorers", true, [&]() -> Result<std::vector<KeyRecord>> {
    // SKIP LOCKED: rows another session is claiming (or changing) right
    // now are passed over instead of waited for, so claims from many hosts
    // never block each other and never see the same row as available.
    // The state re-check in the UPDATE is belt and braces.
    auto r = s().exec(
        std::string(
            "WITH picked AS (SELECT id FROM keys WHERE tier = $1 AND state = $2 ORDER BY id "
            "LIMIT $3 FOR UPDATE SKIP LOCKED), "
            "upd AS (UPDATE keys k SET state = $4, lease_host = $5, lease_pid = $6, "
            "lease_instance = $7, lease_id = nextval('lease_ids'), lease_deadline_ms = $8, "
            "updated_at_ms = $9 FROM picked WHERE k.id = picked.id AND k.state = $2 "
            "RETURNING k.*) "
            "SELECT ") + kKeyColumns + " FROM upd ORDER BY id",
        {P(kTierExplorer), P(state_int(KeyState::kAvailable)),
         P(static_cast<std::int64_t>(std::min<std::size_t>(max, 1'000'000))),
         P(state_int(KeyState::kLeased)), P(owner.host), P(owner.pid), P(owner.instance),
         P(lease_deadline_ms), P(now())});
    std::vector<KeyRecord> out;
    out.reserve(r.size());
    for (const auto& row : r) out.push_back(read_key(row));
    // Audit rows are chained one by one (audit_id), after the claim.
    for (const auto& k : out) {
      QTW_TRY(audit(owner_string(owner), "explorer.transition", k.pubkey, std::nullopt,
                    "available -> leased: claimed, lease " + std::to_string(k.lease->lease_id)));
    }
    return out;
  });
}

Result<std::size_t> PgStore::renew_leases(const LeaseOwner& owner, std::int64_t lease_deadline_ms) {
  return run("renew_leases", true, [&]() -> Result<std::size_t> {
    auto r = s().exec(
        "UPDATE keys SET lease_deadline_ms = $1, updated_at_ms = $2 WHERE state = $3 AND "
        "lease_host = $4 AND lease_pid = $5 AND lease_instance = $6",
        {P(lease_deadline_ms), P(now()), P(state_int(KeyState::kLeased)), P(owner.host),
         P(owner.pid), P(owner.instance)});
    return static_cast<std::size_t>(r.affected_rows());
  });
}

Status PgStore::release_explorer(const solana::Pubkey& explorer, std::uint64_t lease_id,
                                 bool retire) {
  return run("release_explorer", true, [&]() -> Status {
    QTW_ASSIGN_OR_RETURN(KeyRecord r, key_by_pubkey(explorer, /*for_update=*/true));
    QTW_TRY(check_release(r, retire));
    if (r.lease->lease_id != lease_id) {
      return make_error(ErrorCode::kConflict, "lease " + std::to_string(lease_id) + " of " +
                                                  explorer_name(explorer) +
                                                  " is not its current lease");
    }
    return move(explorer, KeyState::kLeased, retire ? KeyState::kUsed : KeyState::kAvailable,
                owner_string(r.lease->owner), retire ? "returned, retire" : "returned, keep");
  });
}

Status PgStore::release_explorers(const LeaseOwner& owner,
                                  std::span<const solana::Pubkey> explorers, bool retire) {
  if (explorers.empty()) return {};
  const KeyState to = retire ? KeyState::kUsed : KeyState::kAvailable;
  const std::string_view reason = retire ? "returned, retire" : "returned, keep";
  return run("release_explorers", true, [&]() -> Status {
    for (const auto& pk : explorers) {
      QTW_ASSIGN_OR_RETURN(KeyRecord r, key_by_pubkey(pk, true));
      QTW_TRY(check_release(r, retire));
      if (!(r.lease->owner == owner)) {
        return make_error(ErrorCode::kConflict, explorer_name(pk) + " is leased by " +
                                                    owner_string(r.lease->owner) + ", not " +
                                                    owner_string(owner));
      }
      QTW_TRY(move_row(pk, KeyState::kLeased, to, reason));
    }
    // One audit row for the batch (store/batch_audit.h).
    return audit(owner_string(owner), "explorer.transition", explorers.front(), std::nullopt,
                 transition_audit_detail(KeyState::kLeased, to, reason, explorers));
  });
}

Result<std::vector<solana::Pubkey>> PgStore::expire_leases(std::int64_t now_ms) {
  return run("expire_leases", true, [&]() {
    return expire_where("lease_deadline_ms < $3", P(now_ms), "leased -> used: lease expired");
  });
}

Result<std::vector<solana::Pubkey>> PgStore::expire_owner(const LeaseOwner& owner,
                                                          std::string_view reason) {
  return run("expire_owner", true, [&]() -> Result<std::vector<solana::Pubkey>> {
    // One statement per owner field would need more parameters than
    // expire_where takes: match the owner as one composite value.
    const std::string why = "lease owner " + owner_string(owner) + ": " + std::string(reason);
    return expire_where("(lease_host || ':' || lease_pid::text || ':' || lease_instance) = $3",
                        P(owner_string(owner)), why, /*one_audit_row=*/true);
  });
}

Result<std::vector<LeaseOwner>> PgStore::list_lease_owners() {
  return run("list_lease_owners", true, [&]() -> Result<std::vector<LeaseOwner>> {
    auto r = s().exec(
        "SELECT DISTINCT lease_host, lease_pid, lease_instance FROM keys WHERE state = $1 "
        "ORDER BY 1, 2, 3",
        {P(state_int(KeyState::kLeased))});
    std::vector<LeaseOwner> out;
    for (const auto& row : r) {
      out.push_back(LeaseOwner{row[0].c_str(), i64(row[1]), row[2].c_str()});
    }
    return out;
  });
}

Status PgStore::mark_signed(const solana::Pubkey& explorer, std::uint64_t lease_id) {
  return run("mark_signed", true, [&]() -> Status {
    const auto t = now();
    auto up = s().exec(
        "UPDATE keys SET sign_count = sign_count + 1, signed_at_ms = $1, updated_at_ms = $1 "
        "WHERE pubkey = $2 AND tier = $3 AND state = $4 AND lease_id = $5 AND sign_count = 0",
        {P(t), P(explorer.bytes), P(kTierExplorer), P(state_int(KeyState::kLeased)),
         P(static_cast<std::int64_t>(lease_id))});
    if (up.affected_rows() != 1) {
      QTW_ASSIGN_OR_RETURN(KeyRecord r, key_by_pubkey(explorer, false));
      if (r.tier != KeyTier::Explorer) {
        return make_error(ErrorCode::kInvalidArgument,
                          explorer_name(explorer) + " is not an Explorer");
      }
      if (r.sign_count > 0) {
        return make_error(ErrorCode::kConflict,
                          explorer_name(explorer) + " already signed once (single use, I2)");
      }
      return make_error(ErrorCode::kConflict,
                        explorer_name(explorer) + " is " + std::string(key_state_name(r.state)) +
                            (r.lease ? ", lease " + std::to_string(r.lease->lease_id) : "") +
                            ": lease " + std::to_string(lease_id) + " is not current");
    }
    return audit(options_.actor, "explorer.sign", explorer, std::nullopt,
                 "lease " + std::to_string(lease_id));
  });
}

Result<std::vector<solana::Pubkey>> PgStore::expire_where(const std::string& cond, Param arg,
                                                          const std::string& detail,
                                                          bool one_audit_row) {
  auto r = s().exec(
      "WITH picked AS (SELECT id FROM keys WHERE state = $1 AND " + cond +
          " ORDER BY id FOR UPDATE SKIP LOCKED), "
          "upd AS (UPDATE keys k SET state = $2, lease_host = NULL, lease_pid = NULL, "
          "lease_instance = NULL, lease_id = NULL, lease_deadline_ms = NULL, updated_at_ms = $4 "
          "FROM picked WHERE k.id = picked.id AND k.state = $1 RETURNING k.id, k.pubkey) "
          "SELECT pubkey FROM upd ORDER BY id",
      {P(state_int(KeyState::kLeased)), P(state_int(KeyState::kUsed)), std::move(arg), P(now())});
  std::vector<solana::Pubkey> out;
  out.reserve(r.size());
  for (const auto& row : r) out.push_back(pubkey_of(row[0]));
  if (one_audit_row) {
    // One audit row for the batch (store/batch_audit.h); `detail` is the reason.
    if (!out.empty()) {
      QTW_TRY(audit(options_.actor, "explorer.transition", out.front(), std::nullopt,
                    transition_audit_detail(KeyState::kLeased, KeyState::kUsed, detail, out)));
    }
    return out;
  }
  for (const auto& pk : out) QTW_TRY(audit(options_.actor, "explorer.transition", pk, std::nullopt, detail));
  return out;
}

Result<std::vector<solana::Pubkey>> PgStore::record_signed(
    std::span<const SignedLease> signed_leases) {
  if (signed_leases.empty()) return std::vector<solana::Pubkey>{};
  return run("record_signed", true, [&]() -> Result<std::vector<solana::Pubkey>> {
    std::vector<solana::Pubkey> refused;
    std::vector<SignedLease> written;
    written.reserve(signed_leases.size());
    const auto t = now();
    for (const auto& e : signed_leases) {
      auto up = s().exec(
          "UPDATE keys SET sign_count = sign_count + 1, signed_at_ms = $1, updated_at_ms = $1 "
          "WHERE pubkey = $2 AND tier = $3 AND state = $4 AND lease_id = $5 AND sign_count = 0",
          {P(t), P(e.explorer.bytes), P(kTierExplorer), P(state_int(KeyState::kLeased)),
           P(static_cast<std::int64_t>(e.lease_id))});
      if (up.affected_rows() == 1) {
        written.push_back(e);
        continue;
      }
      QTW_ASSIGN_OR_RETURN(KeyRecord r, key_by_pubkey(e.explorer, false));
      if (r.tier != KeyTier::Explorer) {
        return make_error(ErrorCode::kInvalidArgument,
                          explorer_name(e.explorer) + " is not an Explorer");
      }
      refused.push_back(e.explorer);
    }
    if (!written.empty()) {
      QTW_TRY(audit(options_.actor, "explorer.sign", written.front().explorer, std::nullopt,
                    sign_audit_detail(written)));
    }
    return refused;
  });
}

Result<bool> PgStore::try_acquire_leader(const LeaseOwner& owner, std::int64_t deadline_ms) {
  QTW_TRY(check_owner(owner));
  std::unique_lock lock(leader_mu_);
  if (!heartbeat_.joinable()) heartbeat_ = std::thread([this] { heartbeat_loop(); });
  try {
    QTW_TRY(ensure_leader_session());
    if (!lock_held_) {
      auto r = leader_.exec("SELECT pg_try_advisory_lock($1, hashtext(current_schema()))",
                            {P(kPostgresLeaderLockClass)});
      if (!r[0][0].as<bool>()) return false;  // another process leads
      lock_held_ = true;
    }
    // We hold the process-wide lock; the row arbitrates between owners
    // (within this process, and against a previous holder whose session
    // died but whose deadline has not passed: it may still act until then).
    leader_.exec("BEGIN");
    auto cur = leader_.exec(
        "SELECT host, pid, instance, deadline_ms FROM leader WHERE name = 'balancer' FOR UPDATE");
    bool ours = true;
    if (!cur.empty()) {
      const LeaseOwner holder{cur[0][0].c_str(), i64(cur[0][1]), cur[0][2].c_str()};
      if (!holder.same_instance(owner) && i64(cur[0][3]) >= now()) {
        ours = false;
        // The previous holder's deadline has not passed, but we got the
        // lock, so its leader session is gone. If none of its sessions is
        // left either (the process died: kill -9, host down), it can no
        // longer persist anything, and whatever it sent is in the intent
        // log for us to resume (I4): take over now instead of waiting for
        // the deadline. Only when session names are ours to set.
        if (options_.take_over_dead_leader &&
            uri_.find("application_name") == std::string::npos) {
          auto alive = leader_.exec(
              "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
              {P(session_name(holder.host + ":" + std::to_string(holder.pid)))});
          if (i64(alive[0][0]) == 0) ours = true;
        }
      }
    }
    if (ours) {
      leader_.exec(
          "INSERT INTO leader (name, host, pid, instance, deadline_ms) VALUES ('balancer', $1, "
          "$2, $3, $4) ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = "
          "excluded.pid, instance = excluded.instance, deadline_ms = excluded.deadline_ms",
          {P(owner.host), P(owner.pid), P(owner.instance), P(deadline_ms)});
    }
    leader_.exec("COMMIT");
    if (ours) {
      local_leader_ = owner;
      local_deadline_ms_ = deadline_ms;
    } else if (!local_leader_ || local_leader_->same_instance(owner)) {
      // Nobody in this process leads: let the rightful process have the lock.
      local_leader_.reset();
      unlock_leader();
    }
    return ours;
  } catch (const std::exception& e) {
    // Leadership is never assumed on an error: the session is dropped
    // (the server releases the lock) and the caller must not act as leader.
    leader_lost();
    return make_error(ErrorCode::kUnavailable,
                      std::string("leader session on ") + describe() + ": " + e.what());
  }
}

Status PgStore::release_leader(const LeaseOwner& owner) {
  std::unique_lock lock(leader_mu_);
  if (!local_leader_ || !local_leader_->same_instance(owner)) {
    // Not the leader here; still clear a stale row of ours (e.g. after a
    // restart with the same identity) on the data connection.
    lock.unlock();
    return run("release_leader", true, [&]() -> Status {
      s().exec("DELETE FROM leader WHERE name = 'balancer' AND host = $1 AND instance = $2",
               {P(owner.host), P(owner.instance)});
      return {};
    });
  }
  try {
    if (leader_.open()) {
      leader_.exec("DELETE FROM leader WHERE name = 'balancer' AND host = $1 AND instance = $2",
                   {P(owner.host), P(owner.instance)});
    }
    local_leader_.reset();
    unlock_leader();
    return {};
  } catch (const std::exception& e) {
    leader_lost();
    return make_error(ErrorCode::kUnavailable,
                      std::string("leader session on ") + describe() + ": " + e.what());
  }
}

Status PgStore::ensure_leader_session() {
  if (leader_.open()) return {};
  leader_lost();
  QTW_ASSIGN_OR_RETURN(leader_, connect(uri_, options_, options_.leader_idle_timeout_ms));
  return {};
}

void PgStore::unlock_leader() {
  if (!lock_held_) return;
  lock_held_ = false;
  try {
    leader_.exec("SELECT pg_advisory_unlock($1, hashtext(current_schema()))",
                 {P(kPostgresLeaderLockClass)});
  } catch (...) {
    leader_.drop();  // closing the session releases it too
  }
}

void PgStore::leader_lost() noexcept {
  leader_.drop();
  lock_held_ = false;
  local_leader_.reset();
}

void PgStore::heartbeat_loop() {
  std::unique_lock lock(leader_mu_);
  while (!stop_) {
    leader_cv_.wait_for(lock, std::chrono::milliseconds(std::max(50, options_.heartbeat_interval_ms)));
    if (stop_) break;
    if (!leader_.open()) continue;
    try {
      if (local_leader_ && local_deadline_ms_ < now()) {
        local_leader_.reset();
        unlock_leader();
      }
      leader_.exec("SELECT 1");
    } catch (...) {
      leader_lost();
    }
  }
}

Status PgStore::lock_instance(const LeaseOwner& owner) {
  QTW_TRY(check_owner(owner));
  std::lock_guard lock(instance_mu_);
  for (const auto& held : instance_locks_) {
    if (held.same_instance(owner)) return {};
  }
  try {
    if (!instance_.open()) {
      instance_.drop();
      QTW_ASSIGN_OR_RETURN(instance_, connect(uri_, options_));
    }
    const std::string key = owner.host + "/" + owner.instance;
    auto r = instance_.exec(
        "SELECT pg_try_advisory_lock($1, hashtext(current_schema() || '/' || $2)), "
        "hashtext(current_schema() || '/' || $2)",
        {P(kPostgresInstanceLockClass), P(key)});
    if (!r[0][0].as<bool>()) {
      // Name the holder's session ("qtw host:pid") for the operator.
      auto who = instance_.exec(
          "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
          "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::bigint::oid AND "
          "l.objid = ($2::bigint & 4294967295)::oid AND l.objsubid = 2 LIMIT 1",
          {P(kPostgresInstanceLockClass), P(i64(r[0][1]))});
      const std::string holder = who.empty() ? "" : who[0][0].c_str();
      return make_error(ErrorCode::kConflict,
                        "instance '" + owner.instance + "' of host " + owner.host +
                            " is already running on " + describe() +
                            (holder.empty() ? std::string() : " (session '" + holder + "')") +
                            ": stop it first, or give this one another --instance");
    }
    instance_locks_.push_back(owner);
    return {};
  } catch (const std::exception& e) {
    instance_.drop();
    instance_locks_.clear();
    return make_error(ErrorCode::kUnavailable,
                      std::string("instance lock on ") + describe() + ": " + e.what());
  }
}

}  // namespace qtw::store::pg

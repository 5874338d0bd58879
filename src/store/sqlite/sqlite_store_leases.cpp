// SQLite store: Explorer claims and leases, the signing mark (I2), the
// balancer's leader slot and per-instance locks.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "store/batch_audit.h"
#include "store/sqlite/sqlite_store_impl.h"

namespace qtw::store::sqlite {

Result<std::vector<KeyRecord>> SqliteStore::claim_explorers(const LeaseOwner& owner,
                                                            std::size_t max,
                                                            std::int64_t lease_deadline_ms) {
  QTW_TRY(check_owner(owner));
  QTW_TRY(check_transition(KeyState::kAvailable, KeyState::kLeased));
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());
  QTW_ASSIGN_OR_RETURN(Stmt sel, db_.prepare(
      "SELECT id, pubkey FROM keys WHERE tier = ? AND state = ? ORDER BY id LIMIT ?"));
  sel.bind(1, kTierExplorer).bind(2, state_int(KeyState::kAvailable));
  sel.bind(3, static_cast<std::int64_t>(max));
  std::vector<std::pair<std::int64_t, solana::Pubkey>> picked;
  while (true) {
    QTW_ASSIGN_OR_RETURN(bool row, sel.step());
    if (!row) break;
    picked.emplace_back(sel.int64(0), pubkey_col(sel, 1));
  }
  if (picked.empty()) {
    QTW_TRY(txn.commit());
    return std::vector<KeyRecord>{};
  }
  QTW_ASSIGN_OR_RETURN(std::int64_t lease_id, db_.query_int(
      "SELECT value FROM counters WHERE name = 'next_lease_id'"));
  const auto t = now();
  for (const auto& [id, pk] : picked) {
    QTW_ASSIGN_OR_RETURN(Stmt up, db_.prepare(
        "UPDATE keys SET state = ?, lease_host = ?, lease_pid = ?, lease_instance = ?, "
        "lease_id = ?, lease_deadline_ms = ?, updated_at_ms = ? WHERE id = ? AND state = ?"));
    up.bind(1, state_int(KeyState::kLeased)).bind_text(2, owner.host).bind(3, owner.pid);
    up.bind_text(4, owner.instance).bind(5, lease_id).bind(6, lease_deadline_ms).bind(7, t);
    up.bind(8, id).bind(9, state_int(KeyState::kAvailable));
    QTW_TRY(up.run());
    if (db_.changes() != 1) return make_error(ErrorCode::kInternal, "claim lost a row");
    QTW_TRY(audit_locked(owner_string(owner), "explorer.transition", pk, std::nullopt,
                         "available -> leased: claimed, lease " + std::to_string(lease_id)));
    ++lease_id;
  }
  QTW_ASSIGN_OR_RETURN(Stmt bump, db_.prepare(
      "UPDATE counters SET value = ? WHERE name = 'next_lease_id'"));
  bump.bind(1, lease_id);
  QTW_TRY(bump.run());
  QTW_TRY(txn.commit());
  std::vector<KeyRecord> out;
  for (const auto& [id, pk] : picked) {
    QTW_ASSIGN_OR_RETURN(KeyRecord r, get_key_by_id_locked(id));
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::size_t> SqliteStore::renew_leases(const LeaseOwner& owner,
                                              std::int64_t lease_deadline_ms) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());
  QTW_ASSIGN_OR_RETURN(Stmt up, db_.prepare(
      "UPDATE keys SET lease_deadline_ms = ?, updated_at_ms = ? WHERE state = ? AND "
      "lease_host = ? AND lease_pid = ? AND lease_instance = ?"));
  up.bind(1, lease_deadline_ms).bind(2, now()).bind(3, state_int(KeyState::kLeased));
  up.bind_text(4, owner.host).bind(5, owner.pid).bind_text(6, owner.instance);
  QTW_TRY(up.run());
  const auto n = static_cast<std::size_t>(db_.changes());
  QTW_TRY(txn.commit());
  return n;
}

Status SqliteStore::release_explorer(const solana::Pubkey& explorer, std::uint64_t lease_id,
                                     bool retire) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());
  QTW_ASSIGN_OR_RETURN(KeyRecord r, get_key_locked(explorer));
  QTW_TRY(check_release(r, retire));
  if (r.lease->lease_id != lease_id) {
    return make_error(ErrorCode::kConflict, "lease " + std::to_string(lease_id) + " of " +
                                                explorer_name(explorer) +
                                                " is not its current lease");
  }
  QTW_TRY(move_locked(explorer, KeyState::kLeased,
                      retire ? KeyState::kUsed : KeyState::kAvailable,
                      owner_string(r.lease->owner), retire ? "returned, retire" : "returned, keep"));
  return txn.commit();
}

Status SqliteStore::release_explorers(const LeaseOwner& owner,
                                      std::span<const solana::Pubkey> explorers, bool retire) {
  if (explorers.empty()) return {};
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());
  const KeyState to = retire ? KeyState::kUsed : KeyState::kAvailable;
  const std::string_view reason = retire ? "returned, retire" : "returned, keep";
  for (const auto& pk : explorers) {
    QTW_ASSIGN_OR_RETURN(KeyRecord r, get_key_locked(pk));
    QTW_TRY(check_release(r, retire));
    if (!(r.lease->owner == owner)) {
      return make_error(ErrorCode::kConflict, explorer_name(pk) + " is leased by " +
                                                  owner_string(r.lease->owner) + ", not " +
                                                  owner_string(owner));
    }
    QTW_TRY(move_row_locked(pk, KeyState::kLeased, to, reason));
  }
  // One audit row for the batch (store/batch_audit.h).
  QTW_TRY(audit_locked(owner_string(owner), "explorer.transition", explorers.front(),
                       std::nullopt,
                       transition_audit_detail(KeyState::kLeased, to, reason, explorers)));
  return txn.commit();
}

Result<std::vector<solana::Pubkey>> SqliteStore::expire_leases(std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());
  QTW_ASSIGN_OR_RETURN(Stmt sel, db_.prepare(
      "SELECT pubkey FROM keys WHERE state = ? AND lease_deadline_ms < ? ORDER BY id"));
  sel.bind(1, state_int(KeyState::kLeased)).bind(2, now_ms);
  QTW_ASSIGN_OR_RETURN(auto keys, collect_pubkeys(sel));
  for (const auto& pk : keys) {
    QTW_TRY(move_locked(pk, KeyState::kLeased, KeyState::kUsed, options_.actor,
                        "lease expired"));
  }
  QTW_TRY(txn.commit());
  return keys;
}

Result<std::vector<solana::Pubkey>> SqliteStore::expire_owner(const LeaseOwner& owner,
                                                              std::string_view reason) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());
  QTW_ASSIGN_OR_RETURN(Stmt sel, db_.prepare(
      "SELECT pubkey FROM keys WHERE state = ? AND lease_host = ? AND lease_pid = ? AND "
      "lease_instance = ? ORDER BY id"));
  sel.bind(1, state_int(KeyState::kLeased)).bind_text(2, owner.host).bind(3, owner.pid);
  sel.bind_text(4, owner.instance);
  QTW_ASSIGN_OR_RETURN(auto keys, collect_pubkeys(sel));
  if (keys.empty()) {
    QTW_TRY(txn.commit());
    return keys;
  }
  const std::string why = "lease owner " + owner_string(owner) + ": " + std::string(reason);
  for (const auto& pk : keys) QTW_TRY(move_row_locked(pk, KeyState::kLeased, KeyState::kUsed, why));
  // One audit row for the batch (store/batch_audit.h).
  QTW_TRY(audit_locked(options_.actor, "explorer.transition", keys.front(), std::nullopt,
                       transition_audit_detail(KeyState::kLeased, KeyState::kUsed, why, keys)));
  QTW_TRY(txn.commit());
  return keys;
}

Result<std::vector<LeaseOwner>> SqliteStore::list_lease_owners() {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Stmt sel, db_.prepare(
      "SELECT DISTINCT lease_host, lease_pid, lease_instance FROM keys WHERE state = ? "
      "ORDER BY 1, 2, 3"));
  sel.bind(1, state_int(KeyState::kLeased));
  std::vector<LeaseOwner> out;
  while (true) {
    QTW_ASSIGN_OR_RETURN(bool row, sel.step());
    if (!row) break;
    out.push_back(LeaseOwner{sel.text(0), sel.int64(1), sel.text(2)});
  }
  return out;
}

Status SqliteStore::mark_signed(const solana::Pubkey& explorer, std::uint64_t lease_id) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());
  QTW_ASSIGN_OR_RETURN(Stmt up, db_.prepare(
      "UPDATE keys SET sign_count = sign_count + 1, signed_at_ms = ?, updated_at_ms = ? "
      "WHERE pubkey = ? AND tier = ? AND state = ? AND lease_id = ? AND sign_count = 0"));
  const auto t = now();
  up.bind(1, t).bind(2, t).bind(3, explorer.bytes).bind(4, kTierExplorer);
  up.bind(5, state_int(KeyState::kLeased)).bind(6, static_cast<std::int64_t>(lease_id));
  QTW_TRY(up.run());
  if (db_.changes() != 1) {
    // Say precisely why: the daemon maps this to its API error.
    QTW_ASSIGN_OR_RETURN(KeyRecord r, get_key_locked(explorer));
    if (r.tier != KeyTier::Explorer) {
      return make_error(ErrorCode::kInvalidArgument, explorer_name(explorer) +
                                                         " is not an Explorer");
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
  QTW_TRY(audit_locked(options_.actor, "explorer.sign", explorer, std::nullopt,
                       "lease " + std::to_string(lease_id)));
  return txn.commit();
}

Result<std::vector<solana::Pubkey>> SqliteStore::record_signed(
    std::span<const SignedLease> signed_leases) {
  std::vector<solana::Pubkey> refused;
  if (signed_leases.empty()) return refused;
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());
  std::vector<SignedLease> written;
  written.reserve(signed_leases.size());
  const auto t = now();
  for (const auto& e : signed_leases) {
    QTW_ASSIGN_OR_RETURN(Stmt up, db_.prepare(
        "UPDATE keys SET sign_count = sign_count + 1, signed_at_ms = ?, updated_at_ms = ? "
        "WHERE pubkey = ? AND tier = ? AND state = ? AND lease_id = ? AND sign_count = 0"));
    up.bind(1, t).bind(2, t).bind(3, e.explorer.bytes).bind(4, kTierExplorer);
    up.bind(5, state_int(KeyState::kLeased)).bind(6, static_cast<std::int64_t>(e.lease_id));
    QTW_TRY(up.run());
    if (db_.changes() == 1) {
      written.push_back(e);
      continue;
    }
    QTW_ASSIGN_OR_RETURN(KeyRecord r, get_key_locked(e.explorer));
    if (r.tier != KeyTier::Explorer) {
      return make_error(ErrorCode::kInvalidArgument, explorer_name(e.explorer) +
                                                         " is not an Explorer");
    }
    refused.push_back(e.explorer);
  }
  if (!written.empty()) {
    QTW_TRY(audit_locked(options_.actor, "explorer.sign", written.front().explorer,
                         std::nullopt, sign_audit_detail(written)));
  }
  QTW_TRY(txn.commit());
  return refused;
}

Result<bool> SqliteStore::try_acquire_leader(const LeaseOwner& owner, std::int64_t deadline_ms) {
  QTW_TRY(check_owner(owner));
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());
  QTW_ASSIGN_OR_RETURN(Stmt sel, db_.prepare(
      "SELECT host, pid, instance, deadline_ms FROM leader WHERE name = 'balancer'"));
  QTW_ASSIGN_OR_RETURN(bool row, sel.step());
  if (row) {
    const LeaseOwner current{sel.text(0), sel.int64(1), sel.text(2)};
    if (!current.same_instance(owner) && sel.int64(3) >= now()) {
      QTW_TRY(txn.commit());
      return false;
    }
  }
  QTW_ASSIGN_OR_RETURN(Stmt up, db_.prepare(
      "INSERT INTO leader (name, host, pid, instance, deadline_ms) VALUES ('balancer', ?, ?, "
      "?, ?) ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid, "
      "instance = excluded.instance, deadline_ms = excluded.deadline_ms"));
  up.bind_text(1, owner.host).bind(2, owner.pid).bind_text(3, owner.instance);
  up.bind(4, deadline_ms);
  QTW_TRY(up.run());
  QTW_TRY(txn.commit());
  return true;
}

Status SqliteStore::release_leader(const LeaseOwner& owner) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Stmt del, db_.prepare(
      "DELETE FROM leader WHERE name = 'balancer' AND host = ? AND instance = ?"));
  del.bind_text(1, owner.host).bind_text(2, owner.instance);
  return del.run();
}

Status SqliteStore::lock_instance(const LeaseOwner& owner) {
  QTW_TRY(check_owner(owner));
  std::lock_guard lock(mu_);
  for (const auto& held : instance_locks_) {
    if (held.first.same_instance(owner)) return {};
  }
  // One file per instance name beside the store; flock is per open file
  // description, so a second store object (or process) conflicts, and the
  // kernel drops the lock when the descriptor closes or the process dies.
  // The file is never unlinked: unlinking would race with a new locker.
  const auto file = path_.string() + ".instance-" + safe_file_name(owner.instance) + ".lock";
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    const int err = errno;
    return make_error(ErrorCode::kIo, "cannot open instance lock " + file + ": " +
                                          std::strerror(err), err);
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char buf[64] = {};
    const auto n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    if (err == EWOULDBLOCK) {
      std::string holder = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
      return make_error(ErrorCode::kConflict,
                        "instance '" + owner.instance + "' is already running on " +
                            path_.string() +
                            (holder.empty() ? std::string() : " (pid " + holder + ")") +
                            ": stop it first, or give this one another --instance");
    }
    return make_error(ErrorCode::kIo, "cannot lock " + file + ": " + std::strerror(err), err);
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // Only the holder's pid in error messages is lost; the lock holds.
  }
  instance_locks_.emplace_back(owner, fd);
  return {};
}

Result<std::vector<solana::Pubkey>> SqliteStore::collect_pubkeys(Stmt& st) {
  std::vector<solana::Pubkey> out;
  while (true) {
    QTW_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    out.push_back(pubkey_col(st, 0));
  }
  return out;
}

std::string SqliteStore::safe_file_name(const std::string& name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '.' || c == '_' || c == '-') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out.substr(0, 200);
}

}  // namespace qtw::store::sqlite

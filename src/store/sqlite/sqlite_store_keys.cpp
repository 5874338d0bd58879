// SQLite store: the wallet row, HODL/Bank/Explorer keys and their state
// transitions.
#include <utility>

#include "store/batch_audit.h"
#include "store/sqlite/sqlite_store_impl.h"

namespace qtw::store::sqlite {

namespace {

KeyRecord read_key(const Stmt& st) {
  KeyRecord r;
  r.id = st.int64(0);
  r.tier = static_cast<KeyTier>(st.int64(1));
  r.pubkey = pubkey_col(st, 2);
  r.state = static_cast<KeyState>(st.int64(3));
  if (!st.is_null(4)) r.bank_index = static_cast<std::uint32_t>(st.int64(4));
  if (!st.is_null(5)) r.explorer_index = static_cast<std::uint32_t>(st.int64(5));
  if (!st.is_null(6)) r.funding_bank_id = st.int64(6);
  if (!st.is_null(7)) {
    auto b = st.blob(7);
    r.sealed_secret.assign(b.begin(), b.end());
  }
  r.label = st.text(8);
  r.next_child_index = static_cast<std::uint32_t>(st.int64(9));
  if (!st.is_null(13)) {
    Lease lease;
    lease.owner.host = st.text(10);
    lease.owner.pid = st.int64(11);
    lease.owner.instance = st.text(12);
    lease.lease_id = static_cast<std::uint64_t>(st.int64(13));
    lease.deadline_ms = st.int64(14);
    r.lease = std::move(lease);
  }
  r.sign_count = static_cast<std::uint32_t>(st.int64(15));
  if (!st.is_null(16)) r.signed_at_ms = st.int64(16);
  r.created_at_ms = st.int64(17);
  r.updated_at_ms = st.int64(18);
  if (!st.is_null(19)) r.stranded_reason = st.text(19);
  return r;
}

}  // namespace

Status SqliteStore::create_wallet(std::span<const std::uint8_t> sealed_seed) {
  if (sealed_seed.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "sealed seed is empty");
  }
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());
  QTW_ASSIGN_OR_RETURN(
      Stmt st, db_.prepare("INSERT INTO wallet (id, sealed_seed, created_at_ms) VALUES (1, ?, ?)"));
  st.bind(1, sealed_seed).bind(2, now());
  if (auto s = st.run(); !s) {
    if (s.error().code == ErrorCode::kAlreadyExists) {
      return make_error(ErrorCode::kAlreadyExists,
                        "a wallet already exists in " + path_.string() +
                            " (refusing to replace its master seed)");
    }
    return s;
  }
  QTW_TRY(audit_locked(options_.actor, "wallet.create", std::nullopt, std::nullopt, ""));
  return txn.commit();
}

Result<WalletMeta> SqliteStore::get_wallet() {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare("SELECT sealed_seed, created_at_ms FROM wallet"));
  QTW_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) {
    return make_error(ErrorCode::kNotFound,
                      "no wallet in " + path_.string() + ": run `qtw init` first");
  }
  WalletMeta meta;
  auto b = st.blob(0);
  meta.sealed_seed.assign(b.begin(), b.end());
  meta.created_at_ms = st.int64(1);
  meta.schema_version = kSqliteSchemaVersion;
  return meta;
}

Result<KeyRecord> SqliteStore::add_hodl(const solana::Pubkey& pubkey,
                                        std::span<const std::uint8_t> sealed_secret,
                                        std::string_view label) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
      "INSERT INTO keys (tier, pubkey, state, sealed_secret, label, created_at_ms, "
      "updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  const auto t = now();
  st.bind(1, kTierHodl).bind(2, pubkey.bytes).bind(3, state_int(KeyState::kActive));
  if (sealed_secret.empty()) {
    st.bind_null(4);
  } else {
    st.bind(4, sealed_secret);
  }
  st.bind_text(5, label).bind(6, t).bind(7, t);
  QTW_TRY(unique_or(st.run(), "key already registered"));
  const auto id = db_.last_insert_rowid();
  QTW_TRY(audit_locked(options_.actor, "hodl.add", pubkey, std::nullopt,
                       sealed_secret.empty() ? "watch-only" : "sealed secret"));
  QTW_TRY(txn.commit());
  return get_key_by_id_locked(id);
}

Result<KeyRecord> SqliteStore::add_bank(std::uint32_t bank_index, const solana::Pubkey& pubkey) {
  if (bank_index > kMaxDerivationIndex) {
    return make_error(ErrorCode::kInvalidArgument, "bank index exceeds 2^31-1");
  }
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
      "INSERT INTO keys (tier, pubkey, state, bank_index, created_at_ms, updated_at_ms) "
      "VALUES (?, ?, ?, ?, ?, ?)"));
  const auto t = now();
  st.bind(1, kTierBank).bind(2, pubkey.bytes).bind(3, state_int(KeyState::kActive));
  st.bind(4, static_cast<std::int64_t>(bank_index)).bind(5, t).bind(6, t);
  QTW_TRY(unique_or(st.run(), "bank index or pubkey already registered"));
  const auto id = db_.last_insert_rowid();
  QTW_TRY(audit_locked(options_.actor, "bank.add", pubkey, std::nullopt,
                       "index " + std::to_string(bank_index)));
  QTW_TRY(txn.commit());
  return get_key_by_id_locked(id);
}

Result<std::vector<KeyRecord>> SqliteStore::reserve_explorers(std::int64_t bank_id,
                                                              std::size_t count,
                                                              const DeriveExplorerPubkey& derive) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());
  QTW_ASSIGN_OR_RETURN(KeyRecord bank, get_key_by_id_locked(bank_id));
  if (bank.tier != KeyTier::Bank || !bank.bank_index) {
    return make_error(ErrorCode::kInvalidArgument,
                      "key " + std::to_string(bank_id) + " is not a Bank");
  }
  const std::uint64_t first = bank.next_child_index;
  if (first + count > std::uint64_t{kMaxDerivationIndex} + 1) {
    return make_error(ErrorCode::kInvalidArgument, "explorer indexes of this Bank exhausted");
  }
  // The records are built here from what was inserted (no read back), and
  // the batch writes one audit row (store/batch_audit.h).
  std::vector<KeyRecord> out;
  std::vector<solana::Pubkey> keys;
  out.reserve(count);
  keys.reserve(count);
  const auto t = now();
  for (std::size_t k = 0; k < count; ++k) {
    const auto index = static_cast<std::uint32_t>(first + k);
    QTW_ASSIGN_OR_RETURN(solana::Pubkey pk, derive(index));
    QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
        "INSERT INTO keys (tier, pubkey, state, bank_index, explorer_index, funding_bank_id, "
        "created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    st.bind(1, kTierExplorer).bind(2, pk.bytes).bind(3, state_int(KeyState::kPending));
    st.bind(4, static_cast<std::int64_t>(*bank.bank_index))
        .bind(5, static_cast<std::int64_t>(index))
        .bind(6, bank_id)
        .bind(7, t)
        .bind(8, t);
    QTW_TRY(unique_or(st.run(), "explorer pubkey or index already registered"));
    KeyRecord r;
    r.id = db_.last_insert_rowid();
    r.tier = KeyTier::Explorer;
    r.pubkey = pk;
    r.state = KeyState::kPending;
    r.bank_index = bank.bank_index;
    r.explorer_index = index;
    r.funding_bank_id = bank_id;
    r.created_at_ms = t;
    r.updated_at_ms = t;
    out.push_back(std::move(r));
    keys.push_back(pk);
  }
  if (!keys.empty()) {
    QTW_TRY(audit_locked(options_.actor, "explorer.reserve", keys.front(), std::nullopt,
                         reserve_audit_detail(*bank.bank_index, first, keys)));
  }
  QTW_ASSIGN_OR_RETURN(Stmt up, db_.prepare(
      "UPDATE keys SET next_child_index = ?, updated_at_ms = ? WHERE id = ? AND "
      "next_child_index = ?"));
  up.bind(1, static_cast<std::int64_t>(first + count)).bind(2, t).bind(3, bank_id);
  up.bind(4, static_cast<std::int64_t>(first));
  QTW_TRY(up.run());
  if (db_.changes() != 1) {
    return make_error(ErrorCode::kConflict, "bank next index changed concurrently");
  }
  QTW_TRY(txn.commit());
  return out;
}

Result<KeyRecord> SqliteStore::get_key(const solana::Pubkey& pubkey) {
  std::lock_guard lock(mu_);
  return get_key_locked(pubkey);
}

Result<KeyRecord> SqliteStore::get_key_by_id(std::int64_t id) {
  std::lock_guard lock(mu_);
  return get_key_by_id_locked(id);
}

Result<std::vector<KeyRecord>> SqliteStore::list_keys(const KeyFilter& filter) {
  std::string sql = std::string("SELECT ") + kKeyColumns + " FROM keys WHERE 1=1";
  if (filter.tier) sql += " AND tier = ?1";
  if (filter.state) sql += " AND state = ?2";
  if (filter.funding_bank_id) sql += " AND funding_bank_id = ?3";
  sql += " ORDER BY id";
  if (filter.limit > 0) sql += " LIMIT ?4";
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(sql));
  if (filter.tier) st.bind(1, static_cast<std::int64_t>(*filter.tier));
  if (filter.state) st.bind(2, state_int(*filter.state));
  if (filter.funding_bank_id) st.bind(3, *filter.funding_bank_id);
  if (filter.limit > 0) st.bind(4, static_cast<std::int64_t>(filter.limit));
  std::vector<KeyRecord> out;
  while (true) {
    QTW_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    out.push_back(read_key(st));
  }
  return out;
}

Result<std::vector<KeyCount>> SqliteStore::count_keys() {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
      "SELECT tier, state, COUNT(*) FROM keys GROUP BY tier, state ORDER BY tier, state"));
  std::vector<KeyCount> out;
  while (true) {
    QTW_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    out.push_back(KeyCount{static_cast<KeyTier>(st.int64(0)), static_cast<KeyState>(st.int64(1)),
                           static_cast<std::uint64_t>(st.int64(2))});
  }
  return out;
}

Result<std::uint64_t> SqliteStore::count_keys_in(KeyTier tier, KeyState state) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare("SELECT COUNT(*) FROM keys WHERE tier = ? AND state = ?"));
  st.bind(1, static_cast<std::int64_t>(tier)).bind(2, state_int(state));
  QTW_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) return make_error(ErrorCode::kInternal, "COUNT(*) returned no row");
  return static_cast<std::uint64_t>(st.int64(0));
}

Result<KeyRecord> SqliteStore::funding_bank_of(const solana::Pubkey& explorer) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(KeyRecord r, get_key_locked(explorer));
  if (r.tier != KeyTier::Explorer || !r.funding_bank_id) {
    return make_error(ErrorCode::kInvalidArgument,
                      explorer_name(explorer) + " is not an Explorer");
  }
  return get_key_by_id_locked(*r.funding_bank_id);
}

Status SqliteStore::transition(const solana::Pubkey& explorer, KeyState from, KeyState to,
                               std::string_view reason) {
  return transition_many({&explorer, 1}, from, to, reason);
}

Status SqliteStore::transition_many(std::span<const solana::Pubkey> explorers, KeyState from,
                                    KeyState to, std::string_view reason) {
  QTW_TRY(check_batch_transition(from, to));
  if (explorers.empty()) return {};
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());
  for (const auto& pk : explorers) QTW_TRY(move_row_locked(pk, from, to, reason));
  // One audit row for the batch (store/batch_audit.h).
  QTW_TRY(audit_locked(options_.actor, "explorer.transition", explorers.front(), std::nullopt,
                       transition_audit_detail(from, to, reason, explorers)));
  return txn.commit();
}

Status SqliteStore::remove_hodl(const solana::Pubkey& pubkey) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());
  QTW_ASSIGN_OR_RETURN(Stmt q, db_.prepare("SELECT tier FROM keys WHERE pubkey = ?"));
  q.bind(1, pubkey.bytes);
  QTW_ASSIGN_OR_RETURN(bool row, q.step());
  if (!row) return make_error(ErrorCode::kNotFound, pubkey.to_base58() + " is not registered");
  if (q.int64(0) != kTierHodl) {
    return make_error(ErrorCode::kInvalidArgument, pubkey.to_base58() + " is not a HODL key");
  }
  QTW_ASSIGN_OR_RETURN(Stmt del, db_.prepare("DELETE FROM keys WHERE pubkey = ? AND tier = ?"));
  del.bind(1, pubkey.bytes).bind(2, kTierHodl);
  QTW_TRY(del.run());
  QTW_TRY(audit_locked(options_.actor, "hodl.remove", pubkey, std::nullopt, ""));
  return txn.commit();
}

Status SqliteStore::move_locked(const solana::Pubkey& pk, KeyState from, KeyState to,
                                const std::string& actor, std::string_view reason) {
  QTW_TRY(move_row_locked(pk, from, to, reason));
  return audit_locked(actor, "explorer.transition", pk, std::nullopt,
                      transition_audit_detail(from, to, reason, {&pk, 1}));
}

Status SqliteStore::move_row_locked(const solana::Pubkey& pk, KeyState from, KeyState to,
                                    std::string_view reason) {
  QTW_TRY(check_transition(from, to));
  QTW_ASSIGN_OR_RETURN(Stmt sel, db_.prepare("SELECT id, tier, state FROM keys WHERE pubkey = ?"));
  sel.bind(1, pk.bytes);
  QTW_ASSIGN_OR_RETURN(bool row, sel.step());
  if (!row) return make_error(ErrorCode::kNotFound, explorer_name(pk) + " is not in the store");
  QTW_TRY(check_move_row(pk, sel.int64(1), static_cast<KeyState>(sel.int64(2)), from, to));
  const auto id = sel.int64(0);
  const char* sql =
      from == KeyState::kLeased
          ? "UPDATE keys SET state = ?, updated_at_ms = ?, lease_host = NULL, lease_pid = NULL, "
            "lease_instance = NULL, lease_id = NULL, lease_deadline_ms = NULL "
            "WHERE id = ? AND state = ?"
      : to == KeyState::kStranded
          ? "UPDATE keys SET state = ?, updated_at_ms = ?, stranded_reason = ? "
            "WHERE id = ? AND state = ?"
          : "UPDATE keys SET state = ?, updated_at_ms = ? WHERE id = ? AND state = ?";
  QTW_ASSIGN_OR_RETURN(Stmt up, db_.prepare(sql));
  if (to == KeyState::kStranded) {
    up.bind(1, state_int(to)).bind(2, now()).bind_text(3, reason).bind(4, id);
    up.bind(5, state_int(from));
  } else {
    up.bind(1, state_int(to)).bind(2, now()).bind(3, id).bind(4, state_int(from));
  }
  QTW_TRY(up.run());
  if (db_.changes() != 1) {
    return make_error(ErrorCode::kIllegalTransition, explorer_name(pk) + " changed state "
                                                                         "concurrently");
  }
  return {};
}

Result<KeyRecord> SqliteStore::get_key_locked(const solana::Pubkey& pubkey) {
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(std::string("SELECT ") + kKeyColumns +
                                            " FROM keys WHERE pubkey = ?"));
  st.bind(1, pubkey.bytes);
  QTW_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) return make_error(ErrorCode::kNotFound, explorer_name(pubkey) + " is not managed");
  return read_key(st);
}

Result<KeyRecord> SqliteStore::get_key_by_id_locked(std::int64_t id) {
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(std::string("SELECT ") + kKeyColumns +
                                            " FROM keys WHERE id = ?"));
  st.bind(1, id);
  QTW_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) return make_error(ErrorCode::kNotFound, "no key with id " + std::to_string(id));
  return read_key(st);
}

}  // namespace qtw::store::sqlite

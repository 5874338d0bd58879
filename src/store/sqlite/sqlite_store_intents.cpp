// SQLite store: transaction intents, durable nonce accounts and HODL top-up
// requests.
#include "store/sqlite/sqlite_store_impl.h"

namespace qtw::store::sqlite {

Result<std::int64_t> SqliteStore::insert_intent(const IntentRecord& intent) {
  QTW_TRY(check_new_intent(intent));
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
      "INSERT INTO intents (kind, status, fee_payer, signature, blockhash, "
      "last_valid_block_height, wire, error, created_at_ms, updated_at_ms, fee_lamports) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  const auto t = now();
  st.bind(1, static_cast<std::int64_t>(intent.kind));
  st.bind(2, static_cast<std::int64_t>(IntentStatus::kPrepared));
  st.bind(3, intent.fee_payer.bytes).bind(4, intent.signature.bytes);
  st.bind(5, intent.blockhash.bytes);
  st.bind(6, static_cast<std::int64_t>(intent.last_valid_block_height));
  st.bind(7, intent.wire).bind_text(8, intent.error).bind(9, t).bind(10, t);
  if (intent.fee_lamports) QTW_TRY(check_i64(*intent.fee_lamports, "fee_lamports"));
  st.bind_opt(11, intent.fee_lamports);
  QTW_TRY(unique_or(st.run(), "an intent with this signature is already recorded"));
  const auto id = db_.last_insert_rowid();
  for (std::size_t i = 0; i < intent.transfers.size(); ++i) {
    const auto& tr = intent.transfers[i];
    QTW_ASSIGN_OR_RETURN(Stmt ins, db_.prepare(
        "INSERT INTO intent_transfers (intent_id, seq, from_pubkey, to_pubkey, lamports) "
        "VALUES (?, ?, ?, ?, ?)"));
    ins.bind(1, id).bind(2, static_cast<std::int64_t>(i)).bind(3, tr.from.bytes);
    ins.bind(4, tr.to.bytes).bind(5, static_cast<std::int64_t>(tr.lamports));
    QTW_TRY(ins.run());
  }
  QTW_TRY(audit_locked(options_.actor, "intent.prepare", std::nullopt, id,
                       std::string(intent_kind_name(intent.kind))));
  QTW_TRY(txn.commit());
  return id;
}

Status SqliteStore::update_intent(std::int64_t id, IntentStatus from, IntentStatus to,
                                  const IntentOutcome& outcome) {
  QTW_TRY(check_intent_transition(from, to));
  if (outcome.slot) QTW_TRY(check_i64(*outcome.slot, "slot"));
  if (outcome.fee_lamports) QTW_TRY(check_i64(*outcome.fee_lamports, "fee_lamports"));
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());
  QTW_ASSIGN_OR_RETURN(Stmt up, db_.prepare(
      "UPDATE intents SET status = ?, slot = COALESCE(?, slot), "
      "fee_lamports = COALESCE(?, fee_lamports), error = ?, updated_at_ms = ? "
      "WHERE id = ? AND status = ?"));
  up.bind(1, static_cast<std::int64_t>(to)).bind_opt(2, outcome.slot);
  up.bind_opt(3, outcome.fee_lamports).bind_text(4, outcome.error).bind(5, now());
  up.bind(6, id).bind(7, static_cast<std::int64_t>(from));
  QTW_TRY(up.run());
  if (db_.changes() != 1) {
    QTW_ASSIGN_OR_RETURN(IntentRecord cur, get_intent_locked(id));
    return make_error(ErrorCode::kIllegalTransition,
                      "intent " + std::to_string(id) + " is " +
                          std::string(intent_status_name(cur.status)) + ", not " +
                          std::string(intent_status_name(from)));
  }
  QTW_TRY(audit_locked(options_.actor, "intent.status", std::nullopt, id,
                       std::string(intent_status_name(from)) + " -> " +
                           std::string(intent_status_name(to)) +
                           (outcome.error.empty() ? "" : ": " + outcome.error)));
  return txn.commit();
}

Result<IntentRecord> SqliteStore::get_intent(std::int64_t id) {
  std::lock_guard lock(mu_);
  return get_intent_locked(id);
}

Result<IntentRecord> SqliteStore::get_intent_by_signature(const solana::Signature& signature) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare("SELECT id FROM intents WHERE signature = ?"));
  st.bind(1, signature.bytes);
  QTW_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) return make_error(ErrorCode::kNotFound, "no intent with that signature");
  return get_intent_locked(st.int64(0));
}

Result<std::vector<IntentRecord>> SqliteStore::list_unresolved_intents() {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
      "SELECT id FROM intents WHERE status IN (?, ?) ORDER BY id"));
  st.bind(1, static_cast<std::int64_t>(IntentStatus::kPrepared));
  st.bind(2, static_cast<std::int64_t>(IntentStatus::kSent));
  return intents_from_ids(st);
}

Result<std::vector<IntentRecord>> SqliteStore::list_intents_for_key(const solana::Pubkey& pubkey) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
      "SELECT DISTINCT intent_id FROM intent_transfers WHERE from_pubkey = ?1 OR "
      "to_pubkey = ?1 ORDER BY intent_id"));
  st.bind(1, pubkey.bytes);
  return intents_from_ids(st);
}

Result<std::uint64_t> SqliteStore::outflow_since(const solana::Pubkey& from, IntentKind kind,
                                                 std::int64_t since_ms) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
      // The sender's transfers from the first intent of the window on
      // (index intent_transfers_from_intent), not its whole history. The
      // window's first id comes from intents_created: left to itself,
      // SQLite finds MIN(id) by walking ids from the oldest intent (its
      // min/max optimisation), i.e. through the whole history again.
      "SELECT COALESCE(SUM(t.lamports), 0) FROM intent_transfers t JOIN intents i "
      "ON i.id = t.intent_id WHERE t.from_pubkey = ?1 AND t.intent_id >= "
      "(SELECT MIN(id) FROM intents INDEXED BY intents_created WHERE created_at_ms >= ?3) "
      "AND i.kind = ?2 AND i.created_at_ms >= ?3 AND i.status IN (?4, ?5, ?6)"));
  st.bind(1, from.bytes).bind(2, static_cast<std::int64_t>(kind)).bind(3, since_ms);
  st.bind(4, static_cast<std::int64_t>(IntentStatus::kPrepared));
  st.bind(5, static_cast<std::int64_t>(IntentStatus::kSent));
  st.bind(6, static_cast<std::int64_t>(IntentStatus::kConfirmed));
  QTW_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) return std::uint64_t{0};
  return static_cast<std::uint64_t>(st.int64(0));
}

Result<std::int64_t> SqliteStore::add_nonce_account(const NonceAccountRecord& r) {
  QTW_TRY(check_i64(r.lamports, "lamports"));
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());
  QTW_ASSIGN_OR_RETURN(KeyRecord hodl, get_key_locked(r.hodl));
  if (hodl.tier != KeyTier::Hodl) {
    return make_error(ErrorCode::kInvalidArgument, r.hodl.to_base58() + " is not a HODL key");
  }
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
      "INSERT INTO nonce_accounts (hodl_pubkey, address, funding_bank, seed, lamports, status, "
      "created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  const auto t = now();
  st.bind(1, r.hodl.bytes).bind(2, r.address.bytes).bind(3, r.funding_bank.bytes);
  st.bind_text(4, r.seed).bind(5, static_cast<std::int64_t>(r.lamports));
  st.bind(6, static_cast<std::int64_t>(r.status)).bind(7, t).bind(8, t);
  QTW_TRY(unique_or(st.run(), "nonce account already registered"));
  const auto id = db_.last_insert_rowid();
  QTW_TRY(audit_locked(options_.actor, "nonce.add", r.address, std::nullopt,
                       "authority " + r.hodl.to_base58() + ", seed " + r.seed));
  QTW_TRY(txn.commit());
  return id;
}

Status SqliteStore::set_nonce_account_status(const solana::Pubkey& address, NonceAccountStatus from,
                                             NonceAccountStatus to) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());
  QTW_ASSIGN_OR_RETURN(Stmt up, db_.prepare(
      "UPDATE nonce_accounts SET status = ?, updated_at_ms = ? WHERE address = ? AND status = ?"));
  up.bind(1, static_cast<std::int64_t>(to)).bind(2, now()).bind(3, address.bytes);
  up.bind(4, static_cast<std::int64_t>(from));
  QTW_TRY(up.run());
  if (db_.changes() != 1) {
    return make_error(ErrorCode::kIllegalTransition,
                      "nonce account " + address.to_base58() + " is unknown or not " +
                          std::string(nonce_account_status_name(from)));
  }
  QTW_TRY(audit_locked(options_.actor, "nonce.status", address, std::nullopt,
                       std::string(nonce_account_status_name(from)) + " -> " +
                           std::string(nonce_account_status_name(to))));
  return txn.commit();
}

Result<std::vector<NonceAccountRecord>> SqliteStore::list_nonce_accounts() {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
      "SELECT id, hodl_pubkey, address, funding_bank, seed, lamports, status, created_at_ms, "
      "updated_at_ms FROM nonce_accounts ORDER BY id"));
  std::vector<NonceAccountRecord> out;
  while (true) {
    QTW_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    NonceAccountRecord r;
    r.id = st.int64(0);
    r.hodl = pubkey_col(st, 1);
    r.address = pubkey_col(st, 2);
    r.funding_bank = pubkey_col(st, 3);
    r.seed = st.text(4);
    r.lamports = static_cast<std::uint64_t>(st.int64(5));
    r.status = static_cast<NonceAccountStatus>(st.int64(6));
    r.created_at_ms = st.int64(7);
    r.updated_at_ms = st.int64(8);
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::int64_t> SqliteStore::insert_topup_request(const TopupRequestRecord& r) {
  QTW_TRY(check_new_topup_request(r));
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
      "INSERT INTO topup_requests (hodl_pubkey, nonce_account, nonce_value, message, status, "
      "detail, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  const auto t = now();
  st.bind(1, r.hodl.bytes).bind(2, r.nonce_account.bytes).bind(3, r.nonce_value.bytes);
  st.bind(4, r.message).bind(5, static_cast<std::int64_t>(TopupStatus::kPending));
  st.bind_text(6, r.detail).bind(7, t).bind(8, t);
  QTW_TRY(st.run());
  const auto id = db_.last_insert_rowid();
  for (std::size_t i = 0; i < r.transfers.size(); ++i) {
    QTW_ASSIGN_OR_RETURN(Stmt ins, db_.prepare(
        "INSERT INTO topup_transfers (request_id, seq, to_pubkey, lamports) VALUES (?, ?, ?, ?)"));
    ins.bind(1, id).bind(2, static_cast<std::int64_t>(i)).bind(3, r.transfers[i].to.bytes);
    ins.bind(4, static_cast<std::int64_t>(r.transfers[i].lamports));
    QTW_TRY(ins.run());
  }
  QTW_TRY(audit_locked(options_.actor, "topup.request", r.hodl, std::nullopt,
                       "request " + std::to_string(id) + ": " +
                           std::to_string(r.transfers.size()) + " Bank(s), nonce account " +
                           r.nonce_account.to_base58()));
  QTW_TRY(txn.commit());
  return id;
}

Result<TopupRequestRecord> SqliteStore::get_topup_request(std::int64_t id) {
  std::lock_guard lock(mu_);
  return get_topup_locked(id);
}

Result<std::vector<TopupRequestRecord>> SqliteStore::list_topup_requests(
    std::optional<TopupStatus> status) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
      status ? "SELECT id FROM topup_requests WHERE status = ? ORDER BY id"
             : "SELECT id FROM topup_requests ORDER BY id"));
  if (status) st.bind(1, static_cast<std::int64_t>(*status));
  return records_from_ids(st, [&](std::int64_t id) { return get_topup_locked(id); });
}

Status SqliteStore::update_topup_request(std::int64_t id, TopupStatus from, TopupStatus to,
                                         std::optional<solana::Signature> signature,
                                         std::optional<std::int64_t> intent_id,
                                         std::string_view detail) {
  QTW_TRY(check_topup_transition(from, to));
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());
  QTW_ASSIGN_OR_RETURN(Stmt up, db_.prepare(
      "UPDATE topup_requests SET status = ?, signature = COALESCE(?, signature), "
      "intent_id = COALESCE(?, intent_id), detail = ?, updated_at_ms = ? "
      "WHERE id = ? AND status = ?"));
  up.bind(1, static_cast<std::int64_t>(to));
  if (signature) {
    up.bind(2, signature->bytes);
  } else {
    up.bind_null(2);
  }
  up.bind_opt(3, intent_id).bind_text(4, detail).bind(5, now()).bind(6, id);
  up.bind(7, static_cast<std::int64_t>(from));
  QTW_TRY(up.run());
  if (db_.changes() != 1) {
    QTW_ASSIGN_OR_RETURN(auto cur, get_topup_locked(id));
    return make_error(ErrorCode::kIllegalTransition,
                      "top-up request " + std::to_string(id) + " is " +
                          std::string(topup_status_name(cur.status)) + ", not " +
                          std::string(topup_status_name(from)));
  }
  QTW_TRY(audit_locked(options_.actor, "topup.status", std::nullopt, intent_id,
                       "request " + std::to_string(id) + ": " +
                           std::string(topup_status_name(from)) + " -> " +
                           std::string(topup_status_name(to)) +
                           (detail.empty() ? "" : ": " + std::string(detail))));
  return txn.commit();
}

Result<TopupRequestRecord> SqliteStore::get_topup_locked(std::int64_t id) {
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
      "SELECT id, hodl_pubkey, nonce_account, nonce_value, message, status, signature, "
      "intent_id, detail, created_at_ms, updated_at_ms FROM topup_requests WHERE id = ?"));
  st.bind(1, id);
  QTW_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) {
    return make_error(ErrorCode::kNotFound, "no top-up request " + std::to_string(id) +
                                                " (see `qtw hodl requests`)");
  }
  TopupRequestRecord r;
  r.id = st.int64(0);
  r.hodl = pubkey_col(st, 1);
  r.nonce_account = pubkey_col(st, 2);
  r.nonce_value.bytes = to_array<solana::kHashSize>(st.blob(3));
  auto m = st.blob(4);
  r.message.assign(m.begin(), m.end());
  r.status = static_cast<TopupStatus>(st.int64(5));
  if (!st.is_null(6)) {
    solana::Signature sig;
    sig.bytes = to_array<solana::kSignatureSize>(st.blob(6));
    r.signature = sig;
  }
  if (!st.is_null(7)) r.intent_id = st.int64(7);
  r.detail = st.text(8);
  r.created_at_ms = st.int64(9);
  r.updated_at_ms = st.int64(10);
  QTW_ASSIGN_OR_RETURN(Stmt tr, db_.prepare(
      "SELECT to_pubkey, lamports FROM topup_transfers WHERE request_id = ? ORDER BY seq"));
  tr.bind(1, id);
  while (true) {
    QTW_ASSIGN_OR_RETURN(bool more, tr.step());
    if (!more) break;
    r.transfers.push_back(
        IntentTransfer{r.hodl, pubkey_col(tr, 0), static_cast<std::uint64_t>(tr.int64(1))});
  }
  return r;
}

Result<IntentRecord> SqliteStore::get_intent_locked(std::int64_t id) {
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
      "SELECT id, kind, status, fee_payer, signature, blockhash, last_valid_block_height, "
      "wire, slot, fee_lamports, error, created_at_ms, updated_at_ms FROM intents WHERE id = ?"));
  st.bind(1, id);
  QTW_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) return make_error(ErrorCode::kNotFound, "no intent " + std::to_string(id));
  IntentRecord r;
  r.id = st.int64(0);
  r.kind = static_cast<IntentKind>(st.int64(1));
  r.status = static_cast<IntentStatus>(st.int64(2));
  r.fee_payer = pubkey_col(st, 3);
  r.signature.bytes = to_array<solana::kSignatureSize>(st.blob(4));
  r.blockhash.bytes = to_array<solana::kHashSize>(st.blob(5));
  r.last_valid_block_height = static_cast<std::uint64_t>(st.int64(6));
  auto w = st.blob(7);
  r.wire.assign(w.begin(), w.end());
  if (!st.is_null(8)) r.slot = static_cast<std::uint64_t>(st.int64(8));
  if (!st.is_null(9)) r.fee_lamports = static_cast<std::uint64_t>(st.int64(9));
  r.error = st.text(10);
  r.created_at_ms = st.int64(11);
  r.updated_at_ms = st.int64(12);
  QTW_ASSIGN_OR_RETURN(Stmt tr, db_.prepare(
      "SELECT from_pubkey, to_pubkey, lamports FROM intent_transfers WHERE intent_id = ? "
      "ORDER BY seq"));
  tr.bind(1, id);
  while (true) {
    QTW_ASSIGN_OR_RETURN(bool more, tr.step());
    if (!more) break;
    r.transfers.push_back(IntentTransfer{pubkey_col(tr, 0), pubkey_col(tr, 1),
                                         static_cast<std::uint64_t>(tr.int64(2))});
  }
  return r;
}

Result<std::vector<IntentRecord>> SqliteStore::intents_from_ids(Stmt& st) {
  return records_from_ids(st, [&](std::int64_t id) { return get_intent_locked(id); });
}

}  // namespace qtw::store::sqlite

// PostgreSQL store: transaction intents, durable nonce accounts and HODL
// top-up requests.
#include "store/postgres/postgres_store_impl.h"

namespace qtw::store::pg {

Result<std::int64_t> PgStore::insert_intent(const IntentRecord& intent) {
  QTW_TRY(check_new_intent(intent));
  return run("insert_intent", true, [&]() -> Result<std::int64_t> {
    const auto t = now();
    std::int64_t id = 0;
    try {
      auto r = s().exec(
          "INSERT INTO intents (kind, status, fee_payer, signature, blockhash, "
          "last_valid_block_height, wire, error, created_at_ms, updated_at_ms, fee_lamports) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10::bigint) RETURNING id",
          {P(static_cast<std::int64_t>(intent.kind)),
           P(static_cast<std::int64_t>(IntentStatus::kPrepared)), P(intent.fee_payer.bytes),
           P(intent.signature.bytes), P(intent.blockhash.bytes),
           P(static_cast<std::int64_t>(intent.last_valid_block_height)), P(intent.wire),
           P(intent.error), P(t),
           intent.fee_lamports ? P(static_cast<std::int64_t>(*intent.fee_lamports)) : Param{}});
      id = i64(r[0][0]);
    } catch (const pqxx::unique_violation&) {
      return make_error(ErrorCode::kAlreadyExists,
                        "an intent with this signature is already recorded");
    }
    for (std::size_t i = 0; i < intent.transfers.size(); ++i) {
      const auto& tr = intent.transfers[i];
      s().exec(
          "INSERT INTO intent_transfers (intent_id, seq, from_pubkey, to_pubkey, lamports) "
          "VALUES ($1, $2, $3, $4, $5)",
          {P(id), P(static_cast<std::int64_t>(i)), P(tr.from.bytes), P(tr.to.bytes),
           P(static_cast<std::int64_t>(tr.lamports))});
    }
    QTW_TRY(audit(options_.actor, "intent.prepare", std::nullopt, id,
                  std::string(intent_kind_name(intent.kind))));
    return id;
  });
}

Status PgStore::update_intent(std::int64_t id, IntentStatus from, IntentStatus to,
                              const IntentOutcome& outcome) {
  QTW_TRY(check_intent_transition(from, to));
  if (outcome.slot) QTW_TRY(check_i64(*outcome.slot, "slot"));
  if (outcome.fee_lamports) QTW_TRY(check_i64(*outcome.fee_lamports, "fee_lamports"));
  return run("update_intent", true, [&]() -> Status {
    auto up = s().exec(
        "UPDATE intents SET status = $1, slot = COALESCE($2::bigint, slot), "
        "fee_lamports = COALESCE($3::bigint, fee_lamports), error = $4, updated_at_ms = $5 "
        "WHERE id = $6 AND status = $7",
        {P(static_cast<std::int64_t>(to)),
         outcome.slot ? P(static_cast<std::int64_t>(*outcome.slot)) : Param{},
         outcome.fee_lamports ? P(static_cast<std::int64_t>(*outcome.fee_lamports)) : Param{},
         P(outcome.error), P(now()), P(id), P(static_cast<std::int64_t>(from))});
    if (up.affected_rows() != 1) {
      QTW_ASSIGN_OR_RETURN(IntentRecord cur, intent_by_id(id));
      return make_error(ErrorCode::kIllegalTransition,
                        "intent " + std::to_string(id) + " is " +
                            std::string(intent_status_name(cur.status)) + ", not " +
                            std::string(intent_status_name(from)));
    }
    return audit(options_.actor, "intent.status", std::nullopt, id,
                 std::string(intent_status_name(from)) + " -> " +
                     std::string(intent_status_name(to)) +
                     (outcome.error.empty() ? "" : ": " + outcome.error));
  });
}

Result<IntentRecord> PgStore::get_intent(std::int64_t id) {
  return run("get_intent", true, [&]() { return intent_by_id(id); });
}

Result<IntentRecord> PgStore::get_intent_by_signature(const solana::Signature& signature) {
  return run("get_intent_by_signature", true, [&]() -> Result<IntentRecord> {
    auto r = s().exec("SELECT id FROM intents WHERE signature = $1", {P(signature.bytes)});
    if (r.empty()) return make_error(ErrorCode::kNotFound, "no intent with that signature");
    return intent_by_id(i64(r[0][0]));
  });
}

Result<std::vector<IntentRecord>> PgStore::list_unresolved_intents() {
  return run("list_unresolved_intents", true, [&]() {
    return intents_of(s().exec("SELECT id FROM intents WHERE status IN ($1, $2) ORDER BY id",
                               {P(static_cast<std::int64_t>(IntentStatus::kPrepared)),
                                P(static_cast<std::int64_t>(IntentStatus::kSent))}));
  });
}

Result<std::vector<IntentRecord>> PgStore::list_intents_for_key(const solana::Pubkey& pubkey) {
  return run("list_intents_for_key", true, [&]() {
    return intents_of(s().exec(
        "SELECT DISTINCT intent_id FROM intent_transfers WHERE from_pubkey = $1 OR "
        "to_pubkey = $1 ORDER BY intent_id",
        {P(pubkey.bytes)}));
  });
}

Result<std::uint64_t> PgStore::outflow_since(const solana::Pubkey& from, IntentKind kind,
                                             std::int64_t since_ms) {
  return run("outflow_since", true, [&]() -> Result<std::uint64_t> {
    // SUM(bigint) is numeric in PostgreSQL: cast back (lamports fit).
    auto r = s().exec(
        // The sender's transfers from the first intent of the window on
        // (index intent_transfers_from_intent), not its whole history. The
        // window's first id comes from intents_created: OFFSET 0 keeps the
        // planner from answering MIN(id) by walking the primary key from
        // the oldest intent with a filter (ids and times are correlated,
        // which its estimate does not know: that walk is the whole history).
        "SELECT COALESCE(SUM(t.lamports), 0)::BIGINT FROM intent_transfers t JOIN intents i "
        "ON i.id = t.intent_id WHERE t.from_pubkey = $1 AND t.intent_id >= "
        "(SELECT MIN(w.id) FROM (SELECT id FROM intents WHERE created_at_ms >= $3 OFFSET 0) w) "
        "AND i.kind = $2 AND i.created_at_ms >= $3 AND i.status IN ($4, $5, $6)",
        {P(from.bytes), P(static_cast<std::int64_t>(kind)), P(since_ms),
         P(static_cast<std::int64_t>(IntentStatus::kPrepared)),
         P(static_cast<std::int64_t>(IntentStatus::kSent)),
         P(static_cast<std::int64_t>(IntentStatus::kConfirmed))});
    return static_cast<std::uint64_t>(i64(r[0][0]));
  });
}

Result<std::int64_t> PgStore::add_nonce_account(const NonceAccountRecord& r) {
  QTW_TRY(check_i64(r.lamports, "lamports"));
  return run("add_nonce_account", true, [&]() -> Result<std::int64_t> {
    QTW_ASSIGN_OR_RETURN(KeyRecord hodl, key_by_pubkey(r.hodl, false));
    if (hodl.tier != KeyTier::Hodl) {
      return make_error(ErrorCode::kInvalidArgument, r.hodl.to_base58() + " is not a HODL key");
    }
    const auto t = now();
    std::int64_t id = 0;
    try {
      auto res = s().exec(
          "INSERT INTO nonce_accounts (hodl_pubkey, address, funding_bank, seed, lamports, "
          "status, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) "
          "RETURNING id",
          {P(r.hodl.bytes), P(r.address.bytes), P(r.funding_bank.bytes), P(r.seed),
           P(static_cast<std::int64_t>(r.lamports)), P(static_cast<std::int64_t>(r.status)),
           P(t)});
      id = i64(res[0][0]);
    } catch (const pqxx::unique_violation&) {
      return make_error(ErrorCode::kAlreadyExists, "nonce account already registered");
    }
    QTW_TRY(audit(options_.actor, "nonce.add", r.address, std::nullopt,
                  "authority " + r.hodl.to_base58() + ", seed " + r.seed));
    return id;
  });
}

Status PgStore::set_nonce_account_status(const solana::Pubkey& address, NonceAccountStatus from,
                                         NonceAccountStatus to) {
  return run("set_nonce_account_status", true, [&]() -> Status {
    auto up = s().exec(
        "UPDATE nonce_accounts SET status = $1, updated_at_ms = $2 WHERE address = $3 AND "
        "status = $4",
        {P(static_cast<std::int64_t>(to)), P(now()), P(address.bytes),
         P(static_cast<std::int64_t>(from))});
    if (up.affected_rows() != 1) {
      return make_error(ErrorCode::kIllegalTransition,
                        "nonce account " + address.to_base58() + " is unknown or not " +
                            std::string(nonce_account_status_name(from)));
    }
    return audit(options_.actor, "nonce.status", address, std::nullopt,
                 std::string(nonce_account_status_name(from)) + " -> " +
                     std::string(nonce_account_status_name(to)));
  });
}

Result<std::vector<NonceAccountRecord>> PgStore::list_nonce_accounts() {
  return run("list_nonce_accounts", true, [&]() -> Result<std::vector<NonceAccountRecord>> {
    auto res = s().exec(
        "SELECT id, hodl_pubkey, address, funding_bank, seed, lamports, status, created_at_ms, "
        "updated_at_ms FROM nonce_accounts ORDER BY id");
    std::vector<NonceAccountRecord> out;
    for (const auto& row : res) {
      NonceAccountRecord r;
      r.id = i64(row[0]);
      r.hodl = pubkey_of(row[1]);
      r.address = pubkey_of(row[2]);
      r.funding_bank = pubkey_of(row[3]);
      r.seed = row[4].c_str();
      r.lamports = static_cast<std::uint64_t>(i64(row[5]));
      r.status = static_cast<NonceAccountStatus>(i64(row[6]));
      r.created_at_ms = i64(row[7]);
      r.updated_at_ms = i64(row[8]);
      out.push_back(std::move(r));
    }
    return out;
  });
}

Result<std::int64_t> PgStore::insert_topup_request(const TopupRequestRecord& r) {
  QTW_TRY(check_new_topup_request(r));
  return run("insert_topup_request", true, [&]() -> Result<std::int64_t> {
    const auto t = now();
    auto res = s().exec(
        "INSERT INTO topup_requests (hodl_pubkey, nonce_account, nonce_value, message, status, "
        "detail, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) "
        "RETURNING id",
        {P(r.hodl.bytes), P(r.nonce_account.bytes), P(r.nonce_value.bytes), P(r.message),
         P(static_cast<std::int64_t>(TopupStatus::kPending)), P(r.detail), P(t)});
    const std::int64_t id = i64(res[0][0]);
    for (std::size_t i = 0; i < r.transfers.size(); ++i) {
      s().exec(
          "INSERT INTO topup_transfers (request_id, seq, to_pubkey, lamports) VALUES ($1, $2, "
          "$3, $4)",
          {P(id), P(static_cast<std::int64_t>(i)), P(r.transfers[i].to.bytes),
           P(static_cast<std::int64_t>(r.transfers[i].lamports))});
    }
    QTW_TRY(audit(options_.actor, "topup.request", r.hodl, std::nullopt,
                  "request " + std::to_string(id) + ": " + std::to_string(r.transfers.size()) +
                      " Bank(s), nonce account " + r.nonce_account.to_base58()));
    return id;
  });
}

Result<TopupRequestRecord> PgStore::get_topup_request(std::int64_t id) {
  return run("get_topup_request", true, [&]() { return topup_by_id(id); });
}

Result<std::vector<TopupRequestRecord>> PgStore::list_topup_requests(
    std::optional<TopupStatus> status) {
  return run("list_topup_requests", true, [&]() -> Result<std::vector<TopupRequestRecord>> {
    auto ids = status ? s().exec("SELECT id FROM topup_requests WHERE status = $1 ORDER BY id",
                                 {P(static_cast<std::int64_t>(*status))})
                      : s().exec("SELECT id FROM topup_requests ORDER BY id");
    std::vector<TopupRequestRecord> out;
    for (const auto& row : ids) {
      QTW_ASSIGN_OR_RETURN(auto r, topup_by_id(i64(row[0])));
      out.push_back(std::move(r));
    }
    return out;
  });
}

Status PgStore::update_topup_request(std::int64_t id, TopupStatus from, TopupStatus to,
                                     std::optional<solana::Signature> signature,
                                     std::optional<std::int64_t> intent_id,
                                     std::string_view detail) {
  QTW_TRY(check_topup_transition(from, to));
  return run("update_topup_request", true, [&]() -> Status {
    auto up = s().exec(
        "UPDATE topup_requests SET status = $1, signature = COALESCE($2::bytea, signature), "
        "intent_id = COALESCE($3::bigint, intent_id), detail = $4, updated_at_ms = $5 "
        "WHERE id = $6 AND status = $7",
        {P(static_cast<std::int64_t>(to)), signature ? P(signature->bytes) : Param{},
         intent_id ? P(*intent_id) : Param{}, P(detail), P(now()), P(id),
         P(static_cast<std::int64_t>(from))});
    if (up.affected_rows() != 1) {
      QTW_ASSIGN_OR_RETURN(auto cur, topup_by_id(id));
      return make_error(ErrorCode::kIllegalTransition,
                        "top-up request " + std::to_string(id) + " is " +
                            std::string(topup_status_name(cur.status)) + ", not " +
                            std::string(topup_status_name(from)));
    }
    return audit(options_.actor, "topup.status", std::nullopt, intent_id,
                 "request " + std::to_string(id) + ": " + std::string(topup_status_name(from)) +
                     " -> " + std::string(topup_status_name(to)) +
                     (detail.empty() ? "" : ": " + std::string(detail)));
  });
}

Result<TopupRequestRecord> PgStore::topup_by_id(std::int64_t id) {
  auto res = s().exec(
      "SELECT id, hodl_pubkey, nonce_account, nonce_value, message, status, signature, "
      "intent_id, detail, created_at_ms, updated_at_ms FROM topup_requests WHERE id = $1",
      {P(id)});
  if (res.empty()) {
    return make_error(ErrorCode::kNotFound, "no top-up request " + std::to_string(id) +
                                                " (see `qtw hodl requests`)");
  }
  const auto& row = res[0];
  TopupRequestRecord r;
  r.id = i64(row[0]);
  r.hodl = pubkey_of(row[1]);
  r.nonce_account = pubkey_of(row[2]);
  r.nonce_value.bytes = fixed<solana::kHashSize>(row[3]);
  r.message = bytea(row[4]);
  r.status = static_cast<TopupStatus>(i64(row[5]));
  if (!row[6].is_null()) {
    solana::Signature sig;
    sig.bytes = fixed<solana::kSignatureSize>(row[6]);
    r.signature = sig;
  }
  if (!row[7].is_null()) r.intent_id = i64(row[7]);
  r.detail = row[8].c_str();
  r.created_at_ms = i64(row[9]);
  r.updated_at_ms = i64(row[10]);
  auto tr = s().exec(
      "SELECT to_pubkey, lamports FROM topup_transfers WHERE request_id = $1 ORDER BY seq",
      {P(id)});
  for (const auto& t : tr) {
    r.transfers.push_back(
        IntentTransfer{r.hodl, pubkey_of(t[0]), static_cast<std::uint64_t>(i64(t[1]))});
  }
  return r;
}

Result<IntentRecord> PgStore::intent_by_id(std::int64_t id) {
  auto r = s().exec(
      "SELECT id, kind, status, fee_payer, signature, blockhash, last_valid_block_height, "
      "wire, slot, fee_lamports, error, created_at_ms, updated_at_ms FROM intents WHERE id = $1",
      {P(id)});
  if (r.empty()) return make_error(ErrorCode::kNotFound, "no intent " + std::to_string(id));
  const auto& row = r[0];
  IntentRecord in;
  in.id = i64(row[0]);
  in.kind = static_cast<IntentKind>(i64(row[1]));
  in.status = static_cast<IntentStatus>(i64(row[2]));
  in.fee_payer = pubkey_of(row[3]);
  in.signature.bytes = fixed<solana::kSignatureSize>(row[4]);
  in.blockhash.bytes = fixed<solana::kHashSize>(row[5]);
  in.last_valid_block_height = static_cast<std::uint64_t>(i64(row[6]));
  in.wire = bytea(row[7]);
  if (!row[8].is_null()) in.slot = static_cast<std::uint64_t>(i64(row[8]));
  if (!row[9].is_null()) in.fee_lamports = static_cast<std::uint64_t>(i64(row[9]));
  in.error = row[10].c_str();
  in.created_at_ms = i64(row[11]);
  in.updated_at_ms = i64(row[12]);
  auto tr = s().exec(
      "SELECT from_pubkey, to_pubkey, lamports FROM intent_transfers WHERE intent_id = $1 "
      "ORDER BY seq",
      {P(id)});
  for (const auto& t : tr) {
    in.transfers.push_back(IntentTransfer{pubkey_of(t[0]), pubkey_of(t[1]),
                                          static_cast<std::uint64_t>(i64(t[2]))});
  }
  return in;
}

Result<std::vector<IntentRecord>> PgStore::intents_of(const pqxx::result& ids) {
  std::vector<IntentRecord> out;
  out.reserve(ids.size());
  for (const auto& row : ids) {
    QTW_ASSIGN_OR_RETURN(IntentRecord r, intent_by_id(i64(row[0])));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace qtw::store::pg

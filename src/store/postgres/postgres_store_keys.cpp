// PostgreSQL store: the wallet row, HODL/Bank/Explorer keys and their state
// transitions.
#include "store/batch_audit.h"
#include "store/postgres/postgres_store_impl.h"

namespace qtw::store::pg {

KeyRecord read_key(const pqxx::row& row) {
  KeyRecord r;
  r.id = i64(row[0]);
  r.tier = static_cast<KeyTier>(i64(row[1]));
  r.pubkey = pubkey_of(row[2]);
  r.state = static_cast<KeyState>(i64(row[3]));
  if (!row[4].is_null()) r.bank_index = static_cast<std::uint32_t>(i64(row[4]));
  if (!row[5].is_null()) r.explorer_index = static_cast<std::uint32_t>(i64(row[5]));
  if (!row[6].is_null()) r.funding_bank_id = i64(row[6]);
  if (!row[7].is_null()) r.sealed_secret = bytea(row[7]);
  r.label = row[8].c_str();
  r.next_child_index = static_cast<std::uint32_t>(i64(row[9]));
  if (!row[13].is_null()) {
    Lease lease;
    lease.owner.host = row[10].c_str();
    lease.owner.pid = i64(row[11]);
    lease.owner.instance = row[12].c_str();
    lease.lease_id = static_cast<std::uint64_t>(i64(row[13]));
    lease.deadline_ms = i64(row[14]);
    r.lease = std::move(lease);
  }
  r.sign_count = static_cast<std::uint32_t>(i64(row[15]));
  if (!row[16].is_null()) r.signed_at_ms = i64(row[16]);
  r.created_at_ms = i64(row[17]);
  r.updated_at_ms = i64(row[18]);
  if (!row[19].is_null()) r.stranded_reason = row[19].c_str();
  return r;
}

Status PgStore::create_wallet(std::span<const std::uint8_t> sealed_seed) {
  if (sealed_seed.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "sealed seed is empty");
  }
  return run("create_wallet", true, [&]() -> Status {
    auto r = s().exec("INSERT INTO wallet (id, sealed_seed, created_at_ms) VALUES (1, $1, $2) "
                      "ON CONFLICT (id) DO NOTHING",
                      {P(sealed_seed), P(now())});
    if (r.affected_rows() != 1) {
      return make_error(ErrorCode::kAlreadyExists,
                        "a wallet already exists in " + describe() +
                            " (refusing to replace its master seed)");
    }
    return audit(options_.actor, "wallet.create", std::nullopt, std::nullopt, "");
  });
}

Result<WalletMeta> PgStore::get_wallet() {
  return run("get_wallet", true, [&]() -> Result<WalletMeta> {
    auto r = s().exec("SELECT sealed_seed, created_at_ms FROM wallet");
    if (r.empty()) {
      return make_error(ErrorCode::kNotFound,
                        "no wallet in " + describe() + ": run `qtw init` first");
    }
    WalletMeta meta;
    meta.sealed_seed = bytea(r[0][0]);
    meta.created_at_ms = i64(r[0][1]);
    meta.schema_version = kPostgresSchemaVersion;
    return meta;
  });
}

Result<KeyRecord> PgStore::add_hodl(const solana::Pubkey& pubkey,
                                    std::span<const std::uint8_t> sealed_secret,
                                    std::string_view label) {
  return run("add_hodl", true, [&]() -> Result<KeyRecord> {
    const auto t = now();
    std::int64_t id = 0;
    try {
      auto r = s().exec(
          "INSERT INTO keys (tier, pubkey, state, sealed_secret, label, created_at_ms, "
          "updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
          {P(kTierHodl), P(pubkey.bytes), P(state_int(KeyState::kActive)),
           sealed_secret.empty() ? Param{} : P(sealed_secret), P(label), P(t), P(t)});
      id = i64(r[0][0]);
    } catch (const pqxx::unique_violation&) {
      return make_error(ErrorCode::kAlreadyExists, "key already registered");
    }
    QTW_TRY(audit(options_.actor, "hodl.add", pubkey, std::nullopt,
                  sealed_secret.empty() ? "watch-only" : "sealed secret"));
    return key_by_id(id);
  });
}

Result<KeyRecord> PgStore::add_bank(std::uint32_t bank_index, const solana::Pubkey& pubkey) {
  if (bank_index > kMaxDerivationIndex) {
    return make_error(ErrorCode::kInvalidArgument, "bank index exceeds 2^31-1");
  }
  return run("add_bank", true, [&]() -> Result<KeyRecord> {
    const auto t = now();
    std::int64_t id = 0;
    try {
      auto r = s().exec(
          "INSERT INTO keys (tier, pubkey, state, bank_index, created_at_ms, updated_at_ms) "
          "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
          {P(kTierBank), P(pubkey.bytes), P(state_int(KeyState::kActive)),
           P(static_cast<std::int64_t>(bank_index)), P(t), P(t)});
      id = i64(r[0][0]);
    } catch (const pqxx::unique_violation&) {
      return make_error(ErrorCode::kAlreadyExists, "bank index or pubkey already registered");
    }
    QTW_TRY(audit(options_.actor, "bank.add", pubkey, std::nullopt,
                  "index " + std::to_string(bank_index)));
    return key_by_id(id);
  });
}

Result<std::vector<KeyRecord>> PgStore::reserve_explorers(std::int64_t bank_id, std::size_t count,
                                                          const DeriveExplorerPubkey& derive) {
  return run("reserve_explorers", true, [&]() -> Result<std::vector<KeyRecord>> {
    // Lock the Bank row: two hosts reserving under one Bank take turns, so
    // an index is never handed to both.
    auto b = s().exec(std::string("SELECT ") + kKeyColumns + " FROM keys WHERE id = $1 FOR UPDATE",
                      {P(bank_id)});
    if (b.empty()) return make_error(ErrorCode::kNotFound, "no key with id " + std::to_string(bank_id));
    const KeyRecord bank = read_key(b[0]);
    if (bank.tier != KeyTier::Bank || !bank.bank_index) {
      return make_error(ErrorCode::kInvalidArgument,
                        "key " + std::to_string(bank_id) + " is not a Bank");
    }
    const std::uint64_t first = bank.next_child_index;
    if (first + count > std::uint64_t{kMaxDerivationIndex} + 1) {
      return make_error(ErrorCode::kInvalidArgument, "explorer indexes of this Bank exhausted");
    }
    const auto t = now();
    std::vector<KeyRecord> out;
    std::vector<solana::Pubkey> keys;
    out.reserve(count);
    keys.reserve(count);
    for (std::size_t k = 0; k < count; ++k) {
      const auto index = static_cast<std::uint32_t>(first + k);
      QTW_ASSIGN_OR_RETURN(solana::Pubkey pk, derive(index));
      try {
        auto r = s().exec(
            std::string("INSERT INTO keys (tier, pubkey, state, bank_index, explorer_index, "
                        "funding_bank_id, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, "
                        "$5, $6, $7, $8) RETURNING ") + kKeyColumns,
            {P(kTierExplorer), P(pk.bytes), P(state_int(KeyState::kPending)),
             P(static_cast<std::int64_t>(*bank.bank_index)), P(static_cast<std::int64_t>(index)),
             P(bank_id), P(t), P(t)});
        out.push_back(read_key(r[0]));
      } catch (const pqxx::unique_violation&) {
        return make_error(ErrorCode::kAlreadyExists,
                          "explorer pubkey or index already registered");
      }
      keys.push_back(pk);
    }
    // One audit row for the batch (store/batch_audit.h).
    if (!keys.empty()) {
      QTW_TRY(audit(options_.actor, "explorer.reserve", keys.front(), std::nullopt,
                    reserve_audit_detail(*bank.bank_index, first, keys)));
    }
    auto up = s().exec(
        "UPDATE keys SET next_child_index = $1, updated_at_ms = $2 WHERE id = $3 AND "
        "next_child_index = $4",
        {P(static_cast<std::int64_t>(first + count)), P(t), P(bank_id),
         P(static_cast<std::int64_t>(first))});
    if (up.affected_rows() != 1) {
      return make_error(ErrorCode::kConflict, "bank next index changed concurrently");
    }
    return out;
  });
}

Result<KeyRecord> PgStore::get_key(const solana::Pubkey& pubkey) {
  return run("get_key", true, [&]() { return key_by_pubkey(pubkey, false); });
}

Result<KeyRecord> PgStore::get_key_by_id(std::int64_t id) {
  return run("get_key_by_id", true, [&]() { return key_by_id(id); });
}

Result<std::vector<KeyRecord>> PgStore::list_keys(const KeyFilter& filter) {
  return run("list_keys", true, [&]() -> Result<std::vector<KeyRecord>> {
    // NULL parameters switch a condition off: one statement text for
    // every filter combination.
    auto r = s().exec(
        std::string("SELECT ") + kKeyColumns +
            " FROM keys WHERE ($1::smallint IS NULL OR tier = $1) AND ($2::smallint IS NULL OR "
            "state = $2) AND ($3::bigint IS NULL OR funding_bank_id = $3) ORDER BY id LIMIT $4",
        {filter.tier ? P(static_cast<std::int64_t>(*filter.tier)) : Param{},
         filter.state ? P(state_int(*filter.state)) : Param{},
         P(filter.funding_bank_id),
         filter.limit > 0 ? P(static_cast<std::int64_t>(filter.limit)) : Param{}});
    std::vector<KeyRecord> out;
    out.reserve(r.size());
    for (const auto& row : r) out.push_back(read_key(row));
    return out;
  });
}

Result<std::vector<KeyCount>> PgStore::count_keys() {
  return run("count_keys", true, [&]() -> Result<std::vector<KeyCount>> {
    auto r = s().exec(
        "SELECT tier, state, COUNT(*) FROM keys GROUP BY tier, state ORDER BY tier, state");
    std::vector<KeyCount> out;
    for (const auto& row : r) {
      out.push_back(KeyCount{static_cast<KeyTier>(i64(row[0])),
                             static_cast<KeyState>(i64(row[1])),
                             static_cast<std::uint64_t>(i64(row[2]))});
    }
    return out;
  });
}

Result<std::uint64_t> PgStore::count_keys_in(KeyTier tier, KeyState state) {
  return run("count_keys_in", true, [&]() -> Result<std::uint64_t> {
    auto r = s().exec("SELECT COUNT(*) FROM keys WHERE tier = $1 AND state = $2",
                      {P(static_cast<std::int64_t>(tier)), P(state_int(state))});
    return static_cast<std::uint64_t>(i64(r[0][0]));
  });
}

Result<KeyRecord> PgStore::funding_bank_of(const solana::Pubkey& explorer) {
  return run("funding_bank_of", true, [&]() -> Result<KeyRecord> {
    QTW_ASSIGN_OR_RETURN(KeyRecord r, key_by_pubkey(explorer, false));
    if (r.tier != KeyTier::Explorer || !r.funding_bank_id) {
      return make_error(ErrorCode::kInvalidArgument,
                        explorer_name(explorer) + " is not an Explorer");
    }
    return key_by_id(*r.funding_bank_id);
  });
}

Status PgStore::transition(const solana::Pubkey& explorer, KeyState from, KeyState to,
                           std::string_view reason) {
  return transition_many({&explorer, 1}, from, to, reason);
}

Status PgStore::transition_many(std::span<const solana::Pubkey> explorers, KeyState from,
                                KeyState to, std::string_view reason) {
  QTW_TRY(check_batch_transition(from, to));
  if (explorers.empty()) return {};
  return run("transition", true, [&]() -> Status {
    for (const auto& pk : explorers) QTW_TRY(move_row(pk, from, to, reason));
    // One audit row for the batch (store/batch_audit.h).
    return audit(options_.actor, "explorer.transition", explorers.front(), std::nullopt,
                 transition_audit_detail(from, to, reason, explorers));
  });
}

Status PgStore::remove_hodl(const solana::Pubkey& pubkey) {
  return run("remove_hodl", true, [&]() -> Status {
    QTW_ASSIGN_OR_RETURN(KeyRecord k, key_by_pubkey(pubkey, true));
    if (k.tier != KeyTier::Hodl) {
      return make_error(ErrorCode::kInvalidArgument, pubkey.to_base58() + " is not a HODL key");
    }
    s().exec("DELETE FROM keys WHERE id = $1", {P(k.id)});
    return audit(options_.actor, "hodl.remove", pubkey, std::nullopt, "");
  });
}

Result<KeyRecord> PgStore::key_by_id(std::int64_t id) {
  auto r = s().exec(std::string("SELECT ") + kKeyColumns + " FROM keys WHERE id = $1", {P(id)});
  if (r.empty()) return make_error(ErrorCode::kNotFound, "no key with id " + std::to_string(id));
  return read_key(r[0]);
}

Result<KeyRecord> PgStore::key_by_pubkey(const solana::Pubkey& pk, bool for_update) {
  auto r = s().exec(std::string("SELECT ") + kKeyColumns + " FROM keys WHERE pubkey = $1" +
                        (for_update ? " FOR UPDATE" : ""),
                    {P(pk.bytes)});
  if (r.empty()) return make_error(ErrorCode::kNotFound, explorer_name(pk) + " is not managed");
  return read_key(r[0]);
}

Status PgStore::move(const solana::Pubkey& pk, KeyState from, KeyState to, const std::string& actor,
                     std::string_view reason) {
  QTW_TRY(move_row(pk, from, to, reason));
  return audit(actor, "explorer.transition", pk, std::nullopt,
               transition_audit_detail(from, to, reason, {&pk, 1}));
}

Status PgStore::move_row(const solana::Pubkey& pk, KeyState from, KeyState to,
                         std::string_view reason) {
  QTW_TRY(check_transition(from, to));
  auto sel = s().exec("SELECT id, tier, state FROM keys WHERE pubkey = $1 FOR UPDATE",
                      {P(pk.bytes)});
  if (sel.empty()) return make_error(ErrorCode::kNotFound, explorer_name(pk) + " is not in the store");
  QTW_TRY(check_move_row(pk, i64(sel[0][1]), static_cast<KeyState>(i64(sel[0][2])), from, to));
  const char* sql =
      from == KeyState::kLeased
          ? "UPDATE keys SET state = $1, updated_at_ms = $2, lease_host = NULL, lease_pid = NULL, "
            "lease_instance = NULL, lease_id = NULL, lease_deadline_ms = NULL "
            "WHERE id = $3 AND state = $4"
          : "UPDATE keys SET state = $1, updated_at_ms = $2, stranded_reason = $5 "
            "WHERE id = $3 AND state = $4";
  Param stranded_reason;
  if (to == KeyState::kStranded) stranded_reason = std::string(reason);
  auto up = s().exec(sql, from == KeyState::kLeased
                              ? std::vector<Param>{P(state_int(to)), P(now()), P(i64(sel[0][0])),
                                                   P(state_int(from))}
                              : std::vector<Param>{P(state_int(to)), P(now()), P(i64(sel[0][0])),
                                                   P(state_int(from)), stranded_reason});
  if (up.affected_rows() != 1) {
    return make_error(ErrorCode::kIllegalTransition,
                      explorer_name(pk) + " changed state concurrently");
  }
  return {};
}

}  // namespace qtw::store::pg

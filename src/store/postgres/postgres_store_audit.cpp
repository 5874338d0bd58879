// PostgreSQL store: the hash-chained audit log, and settings (rows of the
// counters table).
#include "qtw/store/audit_chain.h"
#include "store/postgres/postgres_store_impl.h"

namespace qtw::store::pg {

AuditRecord read_audit(const pqxx::row& row) {
  AuditRecord a;
  a.id = i64(row[0]);
  a.at_ms = i64(row[1]);
  a.actor = row[2].c_str();
  a.action = row[3].c_str();
  if (!row[4].is_null()) a.pubkey = pubkey_of(row[4]);
  if (!row[5].is_null()) a.intent_id = i64(row[5]);
  a.detail = row[6].c_str();
  return a;
}

Result<std::int64_t> PgStore::append_audit(const AuditRecord& record) {
  return run("append_audit", true, [&]() -> Result<std::int64_t> {
    return audit_id(record.actor.empty() ? options_.actor : record.actor, record.action,
                    record.pubkey, record.intent_id, record.detail);
  });
}

Result<std::vector<AuditEntry>> PgStore::list_audit_entries(std::int64_t after_id,
                                                            std::size_t limit) {
  return run("list_audit_entries", true, [&]() -> Result<std::vector<AuditEntry>> {
    return read_audit_entries(s().exec(
        "SELECT id, at_ms, actor, action, pubkey, intent_id, detail, prev_hash, hash FROM audit "
        "WHERE id > $1 ORDER BY id LIMIT $2",
        {P(after_id), limit == 0 ? Param{} : P(static_cast<std::int64_t>(limit))}));
  });
}

Result<std::vector<AuditEntry>> PgStore::list_audit_tail(std::size_t count) {
  return run("list_audit_tail", true, [&]() -> Result<std::vector<AuditEntry>> {
    return read_audit_entries(s().exec(
        "SELECT * FROM (SELECT id, at_ms, actor, action, pubkey, intent_id, detail, prev_hash, "
        "hash FROM audit ORDER BY id DESC LIMIT $1) t ORDER BY id",
        {P(static_cast<std::int64_t>(count))}));
  });
}

std::vector<AuditEntry> PgStore::read_audit_entries(const pqxx::result& r) {
  std::vector<AuditEntry> out;
  out.reserve(r.size());
  for (const auto& row : r) {
    AuditEntry e;
    e.record = read_audit(row);
    e.chained = !row[7].is_null() && !row[8].is_null();
    if (e.chained) {
      e.prev_hash = fixed<32>(row[7]);
      e.hash = fixed<32>(row[8]);
    }
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<AuditRecord>> PgStore::list_audit(std::int64_t after_id, std::size_t limit) {
  return run("list_audit", true, [&]() -> Result<std::vector<AuditRecord>> {
    auto r = s().exec(
        "SELECT id, at_ms, actor, action, pubkey, intent_id, detail FROM audit WHERE id > $1 "
        "ORDER BY id LIMIT $2",
        {P(after_id), limit == 0 ? Param{} : P(static_cast<std::int64_t>(limit))});
    std::vector<AuditRecord> out;
    out.reserve(r.size());
    for (const auto& row : r) out.push_back(read_audit(row));
    return out;
  });
}

Status PgStore::audit(const std::string& actor, std::string_view action,
                      const std::optional<solana::Pubkey>& pubkey,
                      std::optional<std::int64_t> intent_id, std::string_view detail) {
  return audit_id(actor, action, pubkey, intent_id, detail).map([](std::int64_t) {});
}

Result<std::int64_t> PgStore::audit_id(const std::string& actor, std::string_view action,
                                       const std::optional<solana::Pubkey>& pubkey,
                                       std::optional<std::int64_t> intent_id,
                                       std::string_view detail) {
  // Appends are serialised across sessions and hosts: the lock is held
  // from the tail read to this transaction's COMMIT, and the row's id is
  // drawn under it, so id order is chain order and the chain never forks.
  s().exec("SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
           {P(kAuditLockClass)});
  auto tail = s().exec("SELECT hash FROM audit ORDER BY id DESC LIMIT 1");
  AuditHash prev{};
  if (!tail.empty() && !tail[0][0].is_null()) prev = fixed<32>(tail[0][0]);
  const AuditRecord rec = audit_record(now(), actor, action, pubkey, intent_id, detail);
  const AuditHash hash = audit_entry_hash(rec, prev);
  auto r = s().exec(
      "INSERT INTO audit (at_ms, actor, action, pubkey, intent_id, detail, prev_hash, hash) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
      {P(rec.at_ms), P(actor), P(action), pubkey ? P(pubkey->bytes) : Param{}, P(intent_id),
       P(detail), P(prev), P(hash)});
  return i64(r[0][0]);
}

Result<std::optional<std::int64_t>> PgStore::get_setting(std::string_view name) {
  return run("get_setting", true, [&]() -> Result<std::optional<std::int64_t>> {
    auto r = s().exec("SELECT value FROM counters WHERE name = $1", {P(std::string(name))});
    if (r.empty()) return std::optional<std::int64_t>{};
    return std::optional<std::int64_t>(i64(r[0][0]));
  });
}

Status PgStore::put_setting(std::string_view name, std::int64_t value) {
  QTW_TRY(check_setting_name(name));
  return run("put_setting", true, [&]() -> Status {
    s().exec("INSERT INTO counters (name, value) VALUES ($1, $2) "
             "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
             {P(std::string(name)), P(value)});
    return {};
  });
}

}  // namespace qtw::store::pg

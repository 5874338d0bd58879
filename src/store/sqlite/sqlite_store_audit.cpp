// SQLite store: the hash-chained audit log, and settings (rows of the
// counters table).
#include "qtw/store/audit_chain.h"
#include "store/sqlite/sqlite_store_impl.h"

namespace qtw::store::sqlite {

AuditRecord read_audit(const Stmt& st) {
  AuditRecord a;
  a.id = st.int64(0);
  a.at_ms = st.int64(1);
  a.actor = st.text(2);
  a.action = st.text(3);
  if (!st.is_null(4)) a.pubkey = pubkey_col(st, 4);
  if (!st.is_null(5)) a.intent_id = st.int64(5);
  a.detail = st.text(6);
  return a;
}

Result<std::int64_t> SqliteStore::append_audit(const AuditRecord& record) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());  // the tail read and the insert: one writer
  QTW_TRY(audit_locked(record.actor.empty() ? options_.actor : record.actor, record.action,
                       record.pubkey, record.intent_id, record.detail));
  const auto id = db_.last_insert_rowid();
  QTW_TRY(txn.commit());
  return id;
}

Result<std::vector<AuditEntry>> SqliteStore::list_audit_entries(std::int64_t after_id,
                                                                std::size_t limit) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
      "SELECT id, at_ms, actor, action, pubkey, intent_id, detail, prev_hash, hash FROM audit "
      "WHERE id > ? ORDER BY id LIMIT ?"));
  st.bind(1, after_id).bind(2, limit == 0 ? -1 : static_cast<std::int64_t>(limit));
  return read_audit_entries(st);
}

Result<std::vector<AuditEntry>> SqliteStore::list_audit_tail(std::size_t count) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
      "SELECT * FROM (SELECT id, at_ms, actor, action, pubkey, intent_id, detail, prev_hash, "
      "hash FROM audit ORDER BY id DESC LIMIT ?) ORDER BY id"));
  st.bind(1, static_cast<std::int64_t>(count));
  return read_audit_entries(st);
}

Result<std::vector<AuditRecord>> SqliteStore::list_audit(std::int64_t after_id, std::size_t limit) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
      "SELECT id, at_ms, actor, action, pubkey, intent_id, detail FROM audit WHERE id > ? "
      "ORDER BY id LIMIT ?"));
  st.bind(1, after_id).bind(2, limit == 0 ? -1 : static_cast<std::int64_t>(limit));
  std::vector<AuditRecord> out;
  while (true) {
    QTW_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    out.push_back(read_audit(st));
  }
  return out;
}

Status SqliteStore::audit_locked(const std::string& actor, std::string_view action,
                                 const std::optional<solana::Pubkey>& pubkey,
                                 std::optional<std::int64_t> intent_id, std::string_view detail) {
  const AuditRecord rec = audit_record(now(), actor, action, pubkey, intent_id, detail);
  AuditHash prev{};
  {
    QTW_ASSIGN_OR_RETURN(Stmt tail, db_.prepare("SELECT hash FROM audit ORDER BY id DESC LIMIT 1"));
    QTW_ASSIGN_OR_RETURN(bool row, tail.step());
    if (row && !tail.is_null(0)) prev = to_array<32>(tail.blob(0));
  }
  const AuditHash hash = audit_entry_hash(rec, prev);
  QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
      "INSERT INTO audit (at_ms, actor, action, pubkey, intent_id, detail, prev_hash, hash) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  st.bind(1, rec.at_ms).bind_text(2, actor).bind_text(3, action);
  if (pubkey) {
    st.bind(4, pubkey->bytes);
  } else {
    st.bind_null(4);
  }
  st.bind_opt(5, intent_id).bind_text(6, detail).bind(7, prev).bind(8, hash);
  return st.run();
}

Result<std::vector<AuditEntry>> SqliteStore::read_audit_entries(Stmt& st) {
  std::vector<AuditEntry> out;
  while (true) {
    QTW_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    AuditEntry e;
    e.record = read_audit(st);
    e.chained = !st.is_null(7) && !st.is_null(8);
    if (e.chained) {
      e.prev_hash = to_array<32>(st.blob(7));
      e.hash = to_array<32>(st.blob(8));
    }
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::optional<std::int64_t>> SqliteStore::get_setting(std::string_view name) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Stmt sel, db_.prepare("SELECT value FROM counters WHERE name = ?"));
  sel.bind_text(1, name);
  QTW_ASSIGN_OR_RETURN(bool row, sel.step());
  if (!row) return std::optional<std::int64_t>{};
  return std::optional<std::int64_t>(sel.int64(0));
}

Status SqliteStore::put_setting(std::string_view name, std::int64_t value) {
  QTW_TRY(check_setting_name(name));
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Stmt up, db_.prepare(
      "INSERT INTO counters (name, value) VALUES (?, ?) "
      "ON CONFLICT (name) DO UPDATE SET value = excluded.value"));
  up.bind_text(1, name).bind(2, value);
  return up.run();
}

}  // namespace qtw::store::sqlite

// SQLite store: the schema and its migrations, opening a store file, and the
// transaction levels every call runs in.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iterator>

#include "qtw/store/audit_chain.h"
#include "store/sqlite/sqlite_store_impl.h"

namespace qtw::store::sqlite {

SqliteStore::SqliteStore(Db db, std::filesystem::path path, SqliteStoreOptions options)
    : db_(std::move(db)), path_(std::move(path)), options_(std::move(options)) {
  if (!options_.clock_ms) {
    options_.clock_ms = system_clock_ms;
  }
  if (options_.actor.empty()) options_.actor = default_actor();
}

SqliteStore::~SqliteStore() {
  for (const auto& held : instance_locks_) ::close(held.second);
}

Status SqliteStore::transact(const std::function<Status()>& body) {
  std::lock_guard lock(mu_);
  QTW_ASSIGN_OR_RETURN(Txn txn, begin());
  QTW_TRY(body());
  return txn.commit();
}

Result<SqliteStore::Txn> SqliteStore::begin() {
  const int level = depth_;
  if (level == 0) {
    QTW_TRY(db_.exec("BEGIN IMMEDIATE"));
  } else {
    QTW_TRY(db_.exec("SAVEPOINT sp" + std::to_string(level)));
  }
  depth_ = level + 1;
  return Txn(this, level);
}

}  // namespace qtw::store::sqlite

namespace qtw::store {
namespace {

using sqlite::Db;
using sqlite::SqliteStore;
using sqlite::Stmt;

// Migration N brings the schema from version N-1 to N. Append only; never
// edit a shipped migration.
constexpr const char* kMigrations[] = {
    // v1
    R"sql(
CREATE TABLE wallet (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  sealed_seed BLOB NOT NULL,
  created_at_ms INTEGER NOT NULL
);
CREATE TABLE counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('next_lease_id', 1);
CREATE TABLE keys (
  id INTEGER PRIMARY KEY,
  tier INTEGER NOT NULL CHECK (tier IN (0, 1, 2)),
  pubkey BLOB NOT NULL UNIQUE CHECK (length(pubkey) = 32),
  state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 7),
  bank_index INTEGER CHECK (bank_index BETWEEN 0 AND 2147483647),
  explorer_index INTEGER CHECK (explorer_index BETWEEN 0 AND 2147483647),
  funding_bank_id INTEGER REFERENCES keys(id),
  sealed_secret BLOB,
  label TEXT NOT NULL DEFAULT '',
  next_child_index INTEGER NOT NULL DEFAULT 0,
  lease_host TEXT,
  lease_pid INTEGER,
  lease_instance TEXT,
  lease_id INTEGER,
  lease_deadline_ms INTEGER,
  sign_count INTEGER NOT NULL DEFAULT 0,
  signed_at_ms INTEGER,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  CHECK ((tier = 2) = (explorer_index IS NOT NULL AND funding_bank_id IS NOT NULL)),
  CHECK (tier = 0 OR sealed_secret IS NULL),
  CHECK ((state = 2) = (lease_id IS NOT NULL))
);
CREATE UNIQUE INDEX keys_bank_index ON keys (bank_index) WHERE tier = 1;
CREATE UNIQUE INDEX keys_explorer_index ON keys (bank_index, explorer_index) WHERE tier = 2;
CREATE UNIQUE INDEX keys_lease_id ON keys (lease_id) WHERE lease_id IS NOT NULL;
CREATE INDEX keys_tier_state ON keys (tier, state, id);
CREATE INDEX keys_funding_bank ON keys (funding_bank_id);
CREATE INDEX keys_lease_deadline ON keys (lease_deadline_ms) WHERE state = 2;
CREATE TABLE intents (
  id INTEGER PRIMARY KEY,
  kind INTEGER NOT NULL,
  status INTEGER NOT NULL,
  fee_payer BLOB NOT NULL CHECK (length(fee_payer) = 32),
  signature BLOB NOT NULL UNIQUE CHECK (length(signature) = 64),
  blockhash BLOB NOT NULL CHECK (length(blockhash) = 32),
  last_valid_block_height INTEGER NOT NULL,
  wire BLOB NOT NULL,
  slot INTEGER,
  fee_lamports INTEGER,
  error TEXT NOT NULL DEFAULT '',
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE INDEX intents_status ON intents (status, id);
CREATE TABLE intent_transfers (
  intent_id INTEGER NOT NULL REFERENCES intents(id),
  seq INTEGER NOT NULL,
  from_pubkey BLOB NOT NULL CHECK (length(from_pubkey) = 32),
  to_pubkey BLOB NOT NULL CHECK (length(to_pubkey) = 32),
  lamports INTEGER NOT NULL CHECK (lamports >= 0),
  PRIMARY KEY (intent_id, seq)
);
CREATE INDEX intent_transfers_from ON intent_transfers (from_pubkey);
CREATE INDEX intent_transfers_to ON intent_transfers (to_pubkey);
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  pubkey BLOB,
  intent_id INTEGER,
  detail TEXT NOT NULL DEFAULT ''
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TABLE leader (
  name TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  instance TEXT NOT NULL,
  deadline_ms INTEGER NOT NULL
);
)sql",
    // v2: the audit log is hash-chained (qtw/store/audit_chain.h). The rows
    // already there are chained by chain_unchained_audit_rows() in the same
    // transaction.
    R"sql(
ALTER TABLE audit ADD COLUMN prev_hash BLOB CHECK (prev_hash IS NULL OR length(prev_hash) = 32);
ALTER TABLE audit ADD COLUMN hash BLOB CHECK (hash IS NULL OR length(hash) = 32);
)sql",
    // v3: cold HODL (docs/COLD_HODL.md): durable nonce accounts whose
    // authority is a HODL key, and the unsigned top-up requests built on them.
    R"sql(
CREATE TABLE nonce_accounts (
  id INTEGER PRIMARY KEY,
  hodl_pubkey BLOB NOT NULL CHECK (length(hodl_pubkey) = 32),
  address BLOB NOT NULL UNIQUE CHECK (length(address) = 32),
  funding_bank BLOB NOT NULL CHECK (length(funding_bank) = 32),
  seed TEXT NOT NULL CHECK (length(seed) <= 32),
  lamports INTEGER NOT NULL CHECK (lamports >= 0),
  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 2),
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE TABLE topup_requests (
  id INTEGER PRIMARY KEY,
  hodl_pubkey BLOB NOT NULL CHECK (length(hodl_pubkey) = 32),
  nonce_account BLOB NOT NULL CHECK (length(nonce_account) = 32),
  nonce_value BLOB NOT NULL CHECK (length(nonce_value) = 32),
  message BLOB NOT NULL,
  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 4),
  signature BLOB CHECK (signature IS NULL OR length(signature) = 64),
  intent_id INTEGER REFERENCES intents(id),
  detail TEXT NOT NULL DEFAULT '',
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE INDEX topup_requests_status ON topup_requests (status, id);
CREATE TABLE topup_transfers (
  request_id INTEGER NOT NULL REFERENCES topup_requests(id),
  seq INTEGER NOT NULL,
  to_pubkey BLOB NOT NULL CHECK (length(to_pubkey) = 32),
  lamports INTEGER NOT NULL CHECK (lamports > 0),
  PRIMARY KEY (request_id, seq)
);
)sql",
    // v4: Explorer state 8 (stranded) and the reason it was stranded. SQLite
    // cannot alter a CHECK constraint, so `keys` is rebuilt with the same
    // columns plus stranded_reason (the documented 12-step table change:
    // new table, copy, drop, rename, indexes). The self-reference of
    // funding_bank_id names the new table, which the rename makes `keys`
    // again; rows keep their ids, so every reference stays valid.
    R"sql(
CREATE TABLE keys_v2 (
  id INTEGER PRIMARY KEY,
  tier INTEGER NOT NULL CHECK (tier IN (0, 1, 2)),
  pubkey BLOB NOT NULL UNIQUE CHECK (length(pubkey) = 32),
  state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 8),
  bank_index INTEGER CHECK (bank_index BETWEEN 0 AND 2147483647),
  explorer_index INTEGER CHECK (explorer_index BETWEEN 0 AND 2147483647),
  funding_bank_id INTEGER REFERENCES keys_v2(id),
  sealed_secret BLOB,
  label TEXT NOT NULL DEFAULT '',
  next_child_index INTEGER NOT NULL DEFAULT 0,
  lease_host TEXT,
  lease_pid INTEGER,
  lease_instance TEXT,
  lease_id INTEGER,
  lease_deadline_ms INTEGER,
  sign_count INTEGER NOT NULL DEFAULT 0,
  signed_at_ms INTEGER,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  stranded_reason TEXT,
  CHECK ((tier = 2) = (explorer_index IS NOT NULL AND funding_bank_id IS NOT NULL)),
  CHECK (tier = 0 OR sealed_secret IS NULL),
  CHECK ((state = 2) = (lease_id IS NOT NULL)),
  CHECK ((state = 8) = (stranded_reason IS NOT NULL))
);
INSERT INTO keys_v2 (id, tier, pubkey, state, bank_index, explorer_index, funding_bank_id,
                     sealed_secret, label, next_child_index, lease_host, lease_pid,
                     lease_instance, lease_id, lease_deadline_ms, sign_count, signed_at_ms,
                     created_at_ms, updated_at_ms)
  SELECT id, tier, pubkey, state, bank_index, explorer_index, funding_bank_id, sealed_secret,
         label, next_child_index, lease_host, lease_pid, lease_instance, lease_id,
         lease_deadline_ms, sign_count, signed_at_ms, created_at_ms, updated_at_ms
  FROM keys ORDER BY id;
DROP TABLE keys;
ALTER TABLE keys_v2 RENAME TO keys;
CREATE UNIQUE INDEX keys_bank_index ON keys (bank_index) WHERE tier = 1;
CREATE UNIQUE INDEX keys_explorer_index ON keys (bank_index, explorer_index) WHERE tier = 2;
CREATE UNIQUE INDEX keys_lease_id ON keys (lease_id) WHERE lease_id IS NOT NULL;
CREATE INDEX keys_tier_state ON keys (tier, state, id);
CREATE INDEX keys_funding_bank ON keys (funding_bank_id);
CREATE INDEX keys_lease_deadline ON keys (lease_deadline_ms) WHERE state = 2;
)sql",
    // v5: the hourly outflow cap (I7) sums one key's transfers of the last
    // hour every balancer cycle (outflow_since). These indexes bound that
    // query to the hour's intents and that key's transfers among them,
    // instead of the key's whole history; the new transfer index also
    // serves every lookup by sender the old one did.
    R"sql(
CREATE INDEX IF NOT EXISTS intents_created ON intents (created_at_ms);
CREATE INDEX IF NOT EXISTS intent_transfers_from_intent ON intent_transfers (from_pubkey, intent_id);
DROP INDEX IF EXISTS intent_transfers_from;
)sql",
};
// The migration that added the audit chain (see chain_unchained_audit_rows).
constexpr int kAuditChainVersion = kSqliteAuditChainVersion;
static_assert(std::size(kMigrations) == kSqliteSchemaVersion);

// The migration to kAuditChainVersion: chains the rows written before it, in
// id order, inside the migration's transaction. The append-only trigger is
// dropped for the update and recreated exactly as migration 1 made it.
Status chain_unchained_audit_rows(Db& db) {
  QTW_TRY(db.exec("DROP TRIGGER audit_no_update;"));
  QTW_ASSIGN_OR_RETURN(Stmt sel, db.prepare(
      "SELECT id, at_ms, actor, action, pubkey, intent_id, detail FROM audit ORDER BY id"));
  std::vector<AuditRecord> rows;
  while (true) {
    QTW_ASSIGN_OR_RETURN(bool row, sel.step());
    if (!row) break;
    rows.push_back(sqlite::read_audit(sel));
  }
  AuditHash prev{};
  for (const auto& a : rows) {
    const AuditHash hash = audit_entry_hash(a, prev);
    QTW_ASSIGN_OR_RETURN(Stmt up, db.prepare("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?"));
    up.bind(1, prev).bind(2, hash).bind(3, a.id);
    QTW_TRY(up.run());
    prev = hash;
  }
  return db.exec(
      "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit\n"
      "  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;");
}

Status create_file_0600(const std::filesystem::path& path) {
  // O_EXCL: never adopt a file someone else created between our checks.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    const int err = errno;
    return make_error(err == EEXIST ? ErrorCode::kAlreadyExists : ErrorCode::kIo,
                      "cannot create " + path.string() + ": " + std::strerror(err), err);
  }
  ::close(fd);
  return {};
}

}  // namespace

Result<std::unique_ptr<KeyStore>> open_sqlite_store(const std::filesystem::path& path,
                                                    const SqliteStoreOptions& options) {
  std::error_code ec;
  const bool exists = std::filesystem::exists(path, ec);
  bool created = false;
  if (!exists) {
    if (!options.create_if_missing) {
      return make_error(ErrorCode::kNotFound,
                        "no store at " + path.string() + ": run `qtw init` (or pass --store)");
    }
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    QTW_TRY(create_file_0600(path));
    created = true;
  } else {
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec && size == 0) {
      return make_error(ErrorCode::kCorrupt,
                        path.string() + " is empty: not a qtw store (truncated?). Restore it from "
                                        "a backup, or remove it if an interrupted `qtw init` "
                                        "left it");
    }
  }

  auto fail = [&](Error e) -> Result<std::unique_ptr<KeyStore>> {
    // Remove only a file this call created and left without a schema.
    if (created) {
      std::filesystem::remove(path, ec);
    }
    return tl::unexpected(std::move(e));
  };

  auto db = Db::open(path);
  if (!db) return fail(db.error());

  // Everything up to the migration only reads: a foreign, newer or corrupt
  // file is reported and left exactly as it was.
  if (auto s = db->exec("PRAGMA busy_timeout = " + std::to_string(options.busy_timeout_ms)); !s) {
    return fail(s.error());
  }
  auto version = db->query_int("PRAGMA user_version");
  if (!version) return fail(with_context(version.error(), path.string() + " is not a qtw store"));
  auto app_id = db->query_int("PRAGMA application_id");
  if (!app_id) return fail(app_id.error());
  if (!created) {
    auto tables = db->query_int("SELECT COUNT(*) FROM sqlite_master");
    if (!tables) return fail(with_context(tables.error(), path.string()));
    if (*app_id != kSqliteApplicationId && (*app_id != 0 || *tables > 0)) {
      return fail(Error{ErrorCode::kCorrupt,
                        path.string() + " is an SQLite database but not a qtw store", 0});
    }
  }
  if (*version > kSqliteSchemaVersion) {
    return fail(Error{ErrorCode::kSchemaTooNew,
                      path.string() + " has schema version " + std::to_string(*version) +
                          ", newer than this qtw understands (" +
                          std::to_string(kSqliteSchemaVersion) +
                          "): upgrade qtw; the store was not changed",
                      0});
  }
  if (options.integrity_check && !created) {
    auto st = db->prepare("PRAGMA integrity_check");
    if (!st) return fail(st.error());
    std::string problems;
    while (true) {
      auto row = st->step();
      if (!row) return fail(with_context(row.error(), "integrity check of " + path.string()));
      if (!*row) break;
      const auto line = st->text(0);
      if (line == "ok") continue;
      if (problems.size() < 400) problems += (problems.empty() ? "" : "; ") + line;
    }
    if (!problems.empty()) {
      return fail(Error{ErrorCode::kCorrupt,
                        path.string() + " failed PRAGMA integrity_check: " + problems +
                            " (restore from a backup or run `qtw rescue`)",
                        0});
    }
  }

  for (const char* pragma : {"PRAGMA journal_mode = WAL", "PRAGMA foreign_keys = ON",
                             "PRAGMA synchronous = FULL"}) {
    if (auto s = db->exec(pragma); !s) return fail(s.error());
  }
  for (auto v = *version; v < kSqliteSchemaVersion; ++v) {
    std::string sql = "BEGIN IMMEDIATE;\n";
    sql += kMigrations[v];
    sql += "PRAGMA user_version = " + std::to_string(v + 1) + ";\n";
    sql += "PRAGMA application_id = " + std::to_string(kSqliteApplicationId) + ";\n";
    auto s = db->exec(sql);
    if (s && v + 1 == kAuditChainVersion) s = chain_unchained_audit_rows(*db);
    if (s) s = db->exec("COMMIT;");
    if (!s) {
      (void)db->exec("ROLLBACK");
      return fail(with_context(s.error(), "migrating to schema " + std::to_string(v + 1)));
    }
  }
  return std::unique_ptr<KeyStore>(new SqliteStore(std::move(*db), path, options));
}


}  // namespace qtw::store

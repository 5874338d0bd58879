#include "qtw/store/sqlite_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <iterator>
#include <cstring>
#include <limits>
#include <mutex>
#include <set>
#include <type_traits>
#include <utility>

#include "qtw/store/audit_chain.h"
#include "store/batch_audit.h"
#include "store/sqlite/sqlite_db.h"

namespace qtw::store {
namespace {

using sqlite::Db;
using sqlite::Stmt;

constexpr std::int64_t kTierHodl = static_cast<std::int64_t>(KeyTier::Hodl);
constexpr std::int64_t kTierBank = static_cast<std::int64_t>(KeyTier::Bank);
constexpr std::int64_t kTierExplorer = static_cast<std::int64_t>(KeyTier::Explorer);
constexpr std::uint32_t kMaxDerivationIndex = 0x7fff'ffffu;  // hardened range, docs/KEYS.md

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
};
// The migration that added the audit chain (see chain_unchained_audit_rows).
constexpr int kAuditChainVersion = kSqliteAuditChainVersion;
static_assert(std::size(kMigrations) == kSqliteSchemaVersion);

constexpr const char* kKeyColumns =
    "id, tier, pubkey, state, bank_index, explorer_index, funding_bank_id, sealed_secret, label, "
    "next_child_index, lease_host, lease_pid, lease_instance, lease_id, lease_deadline_ms, "
    "sign_count, signed_at_ms, created_at_ms, updated_at_ms, stranded_reason";

template <std::size_t N>
std::array<std::uint8_t, N> to_array(std::span<const std::uint8_t> b) {
  std::array<std::uint8_t, N> out{};
  if (b.size() == N) std::memcpy(out.data(), b.data(), N);
  return out;
}

solana::Pubkey pubkey_col(const Stmt& st, int col) {
  solana::Pubkey pk;
  pk.bytes = to_array<solana::kPubkeySize>(st.blob(col));
  return pk;
}

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

std::string owner_string(const LeaseOwner& o) {
  return o.host + ":" + std::to_string(o.pid) + ":" + o.instance;
}

// An audit row from columns id, at_ms, actor, action, pubkey, intent_id,
// detail (in that order, from column 0).
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

Status check_i64(std::uint64_t v, std::string_view what) {
  if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return make_error(ErrorCode::kInvalidArgument, std::string(what) + " exceeds 2^63-1");
  }
  return {};
}

std::string default_actor() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "unknown");
  return std::string(host) + ":" + std::to_string(::getpid());
}

class SqliteStore final : public KeyStore {
 public:
  SqliteStore(Db db, std::filesystem::path path, SqliteStoreOptions options)
      : db_(std::move(db)), path_(std::move(path)), options_(std::move(options)) {
    if (!options_.clock_ms) {
      options_.clock_ms = [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
      };
    }
    if (options_.actor.empty()) options_.actor = default_actor();
  }

  int schema_version() const noexcept override { return kSqliteSchemaVersion; }
  std::string describe() const override { return "sqlite:" + path_.string(); }

  Status transact(const std::function<Status()>& body) override {
    std::lock_guard lock(mu_);
    QTW_ASSIGN_OR_RETURN(Txn txn, begin());
    QTW_TRY(body());
    return txn.commit();
  }

  // ---- wallet ----
  Status create_wallet(std::span<const std::uint8_t> sealed_seed) override {
    if (sealed_seed.empty()) {
      return make_error(ErrorCode::kInvalidArgument, "sealed seed is empty");
    }
    std::lock_guard lock(mu_);
    QTW_ASSIGN_OR_RETURN(Txn txn, begin());
    QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
        "INSERT INTO wallet (id, sealed_seed, created_at_ms) VALUES (1, ?, ?)"));
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

  Result<WalletMeta> get_wallet() override {
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

  // ---- keys ----
  Result<KeyRecord> add_hodl(const solana::Pubkey& pubkey,
                             std::span<const std::uint8_t> sealed_secret,
                             std::string_view label) override {
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

  Result<KeyRecord> add_bank(std::uint32_t bank_index, const solana::Pubkey& pubkey) override {
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

  Result<std::vector<KeyRecord>> reserve_explorers(std::int64_t bank_id, std::size_t count,
                                                   const DeriveExplorerPubkey& derive) override {
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

  Result<KeyRecord> get_key(const solana::Pubkey& pubkey) override {
    std::lock_guard lock(mu_);
    return get_key_locked(pubkey);
  }

  Result<KeyRecord> get_key_by_id(std::int64_t id) override {
    std::lock_guard lock(mu_);
    return get_key_by_id_locked(id);
  }

  Result<std::vector<KeyRecord>> list_keys(const KeyFilter& filter) override {
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

  Result<std::vector<KeyCount>> count_keys() override {
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

  Result<KeyRecord> funding_bank_of(const solana::Pubkey& explorer) override {
    std::lock_guard lock(mu_);
    QTW_ASSIGN_OR_RETURN(KeyRecord r, get_key_locked(explorer));
    if (r.tier != KeyTier::Explorer || !r.funding_bank_id) {
      return make_error(ErrorCode::kInvalidArgument,
                        explorer_name(explorer) + " is not an Explorer");
    }
    return get_key_by_id_locked(*r.funding_bank_id);
  }

  // ---- state machine ----
  Status transition(const solana::Pubkey& explorer, KeyState from, KeyState to,
                    std::string_view reason) override {
    return transition_many({&explorer, 1}, from, to, reason);
  }

  Status transition_many(std::span<const solana::Pubkey> explorers, KeyState from, KeyState to,
                         std::string_view reason) override {
    if (from == KeyState::kLeased || to == KeyState::kLeased) {
      return make_error(ErrorCode::kInvalidArgument,
                        "leases change only through claim_explorers / release_explorer / "
                        "expire_leases");
    }
    QTW_TRY(check_transition(from, to));
    if (explorers.empty()) return {};
    std::lock_guard lock(mu_);
    QTW_ASSIGN_OR_RETURN(Txn txn, begin());
    for (const auto& pk : explorers) QTW_TRY(move_row_locked(pk, from, to, reason));
    // One audit row for the batch (store/batch_audit.h).
    QTW_TRY(audit_locked(options_.actor, "explorer.transition", explorers.front(), std::nullopt,
                         transition_audit_detail(from, to, reason, explorers)));
    return txn.commit();
  }

  // ---- leases ----
  Result<std::vector<KeyRecord>> claim_explorers(const LeaseOwner& owner, std::size_t max,
                                                 std::int64_t lease_deadline_ms) override {
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

  Result<std::size_t> renew_leases(const LeaseOwner& owner,
                                   std::int64_t lease_deadline_ms) override {
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

  Status release_explorer(const solana::Pubkey& explorer, std::uint64_t lease_id,
                          bool retire) override {
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

  Status release_explorers(const LeaseOwner& owner, std::span<const solana::Pubkey> explorers,
                           bool retire) override {
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

  Result<std::vector<solana::Pubkey>> expire_leases(std::int64_t now_ms) override {
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

  Result<std::vector<solana::Pubkey>> expire_owner(const LeaseOwner& owner,
                                                   std::string_view reason) override {
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

  Result<std::vector<LeaseOwner>> list_lease_owners() override {
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

  Status mark_signed(const solana::Pubkey& explorer, std::uint64_t lease_id) override {
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

  Result<std::vector<solana::Pubkey>> record_signed(
      std::span<const SignedLease> signed_leases) override {
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

  // ---- leader ----
  Result<bool> try_acquire_leader(const LeaseOwner& owner, std::int64_t deadline_ms) override {
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

  Status release_leader(const LeaseOwner& owner) override {
    std::lock_guard lock(mu_);
    QTW_ASSIGN_OR_RETURN(Stmt del, db_.prepare(
        "DELETE FROM leader WHERE name = 'balancer' AND host = ? AND instance = ?"));
    del.bind_text(1, owner.host).bind_text(2, owner.instance);
    return del.run();
  }

  // ---- instance lock ----
  Status lock_instance(const LeaseOwner& owner) override {
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

  // ---- settings: rows of the counters table beside next_lease_id ----
  Result<std::optional<std::int64_t>> get_setting(std::string_view name) override {
    std::lock_guard lock(mu_);
    QTW_ASSIGN_OR_RETURN(Stmt sel, db_.prepare("SELECT value FROM counters WHERE name = ?"));
    sel.bind_text(1, name);
    QTW_ASSIGN_OR_RETURN(bool row, sel.step());
    if (!row) return std::optional<std::int64_t>{};
    return std::optional<std::int64_t>(sel.int64(0));
  }

  Status put_setting(std::string_view name, std::int64_t value) override {
    QTW_TRY(check_setting_name(name));
    std::lock_guard lock(mu_);
    QTW_ASSIGN_OR_RETURN(Stmt up, db_.prepare(
        "INSERT INTO counters (name, value) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value"));
    up.bind_text(1, name).bind(2, value);
    return up.run();
  }

  // ---- intents ----
  Result<std::int64_t> insert_intent(const IntentRecord& intent) override {
    if (intent.status != IntentStatus::kPrepared) {
      return make_error(ErrorCode::kInvalidArgument, "a new intent must be `prepared`");
    }
    if (std::all_of(intent.signature.bytes.begin(), intent.signature.bytes.end(),
                    [](std::uint8_t b) { return b == 0; })) {
      return make_error(ErrorCode::kInvalidArgument, "intent has no signature");
    }
    QTW_TRY(check_i64(intent.last_valid_block_height, "last_valid_block_height"));
    for (const auto& t : intent.transfers) QTW_TRY(check_i64(t.lamports, "lamports"));
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

  Status update_intent(std::int64_t id, IntentStatus from, IntentStatus to,
                       const IntentOutcome& outcome) override {
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

  Result<IntentRecord> get_intent(std::int64_t id) override {
    std::lock_guard lock(mu_);
    return get_intent_locked(id);
  }

  Result<IntentRecord> get_intent_by_signature(const solana::Signature& signature) override {
    std::lock_guard lock(mu_);
    QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare("SELECT id FROM intents WHERE signature = ?"));
    st.bind(1, signature.bytes);
    QTW_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) return make_error(ErrorCode::kNotFound, "no intent with that signature");
    return get_intent_locked(st.int64(0));
  }

  Result<std::vector<IntentRecord>> list_unresolved_intents() override {
    std::lock_guard lock(mu_);
    QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
        "SELECT id FROM intents WHERE status IN (?, ?) ORDER BY id"));
    st.bind(1, static_cast<std::int64_t>(IntentStatus::kPrepared));
    st.bind(2, static_cast<std::int64_t>(IntentStatus::kSent));
    return intents_from_ids(st);
  }

  Result<std::vector<IntentRecord>> list_intents_for_key(const solana::Pubkey& pubkey) override {
    std::lock_guard lock(mu_);
    QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
        "SELECT DISTINCT intent_id FROM intent_transfers WHERE from_pubkey = ?1 OR "
        "to_pubkey = ?1 ORDER BY intent_id"));
    st.bind(1, pubkey.bytes);
    return intents_from_ids(st);
  }

  Status remove_hodl(const solana::Pubkey& pubkey) override {
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

  Result<std::int64_t> add_nonce_account(const NonceAccountRecord& r) override {
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

  Status set_nonce_account_status(const solana::Pubkey& address, NonceAccountStatus from,
                                  NonceAccountStatus to) override {
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

  Result<std::vector<NonceAccountRecord>> list_nonce_accounts() override {
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

  Result<std::int64_t> insert_topup_request(const TopupRequestRecord& r) override {
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

  Result<TopupRequestRecord> get_topup_request(std::int64_t id) override {
    std::lock_guard lock(mu_);
    return get_topup_locked(id);
  }

  Result<std::vector<TopupRequestRecord>> list_topup_requests(
      std::optional<TopupStatus> status) override {
    std::lock_guard lock(mu_);
    QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
        status ? "SELECT id FROM topup_requests WHERE status = ? ORDER BY id"
               : "SELECT id FROM topup_requests ORDER BY id"));
    if (status) st.bind(1, static_cast<std::int64_t>(*status));
    return records_from_ids(st, [&](std::int64_t id) { return get_topup_locked(id); });
  }

  Status update_topup_request(std::int64_t id, TopupStatus from, TopupStatus to,
                              std::optional<solana::Signature> signature,
                              std::optional<std::int64_t> intent_id,
                              std::string_view detail) override {
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

  // ---- audit ----
  Result<std::int64_t> append_audit(const AuditRecord& record) override {
    std::lock_guard lock(mu_);
    QTW_ASSIGN_OR_RETURN(Txn txn, begin());  // the tail read and the insert: one writer
    QTW_TRY(audit_locked(record.actor.empty() ? options_.actor : record.actor, record.action,
                         record.pubkey, record.intent_id, record.detail));
    const auto id = db_.last_insert_rowid();
    QTW_TRY(txn.commit());
    return id;
  }

  Result<std::vector<AuditEntry>> list_audit_entries(std::int64_t after_id,
                                                     std::size_t limit) override {
    std::lock_guard lock(mu_);
    QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
        "SELECT id, at_ms, actor, action, pubkey, intent_id, detail, prev_hash, hash FROM audit "
        "WHERE id > ? ORDER BY id LIMIT ?"));
    st.bind(1, after_id).bind(2, limit == 0 ? -1 : static_cast<std::int64_t>(limit));
    return read_audit_entries(st);
  }

  Result<std::vector<AuditEntry>> list_audit_tail(std::size_t count) override {
    std::lock_guard lock(mu_);
    QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(
        "SELECT * FROM (SELECT id, at_ms, actor, action, pubkey, intent_id, detail, prev_hash, "
        "hash FROM audit ORDER BY id DESC LIMIT ?) ORDER BY id"));
    st.bind(1, static_cast<std::int64_t>(count));
    return read_audit_entries(st);
  }

  Result<std::vector<AuditRecord>> list_audit(std::int64_t after_id, std::size_t limit) override {
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

 private:
  // Depth-counted transaction guard: the outermost level is BEGIN IMMEDIATE
  // (take the write lock up front: a deferred read->write upgrade in WAL mode
  // fails with SQLITE_BUSY_SNAPSHOT instead of waiting), inner levels are
  // savepoints. Rolls back unless commit() succeeded. Requires mu_.
  class Txn {
   public:
    Txn(SqliteStore* store, int level) : store_(store), level_(level) {}
    Txn(Txn&& o) noexcept : store_(std::exchange(o.store_, nullptr)), level_(o.level_) {}
    Txn& operator=(Txn&&) = delete;
    ~Txn() {
      if (store_ == nullptr) return;
      // Nothing useful to do if the rollback itself fails: the connection
      // will roll back on close, and the caller already has an error.
      if (level_ == 0) {
        (void)store_->db_.exec("ROLLBACK");
      } else {
        const auto sp = "sp" + std::to_string(level_);
        (void)store_->db_.exec("ROLLBACK TO " + sp + "; RELEASE " + sp);
      }
      store_->depth_ = level_;
    }
    Status commit() {
      if (!store_->db_.in_transaction()) {
        // SQLite rolled the whole transaction back itself (I/O error, full
        // disk...): report it instead of committing a partial unit.
        return make_error(ErrorCode::kStore, "transaction was rolled back by SQLite");
      }
      const auto sql = level_ == 0 ? std::string("COMMIT") : "RELEASE sp" + std::to_string(level_);
      QTW_TRY(store_->db_.exec(sql));
      store_->depth_ = level_;
      store_ = nullptr;
      return {};
    }

   private:
    SqliteStore* store_;
    int level_;
  };

  Result<Txn> begin() {
    const int level = depth_;
    if (level == 0) {
      QTW_TRY(db_.exec("BEGIN IMMEDIATE"));
    } else {
      QTW_TRY(db_.exec("SAVEPOINT sp" + std::to_string(level)));
    }
    depth_ = level + 1;
    return Txn(this, level);
  }

  std::int64_t now() const { return options_.clock_ms(); }
  static std::int64_t state_int(KeyState s) { return static_cast<std::int64_t>(s); }
  static std::string explorer_name(const solana::Pubkey& pk) {
    // Base58, as every message names a key.
    return "Explorer " + pk.to_base58();
  }

  static Status unique_or(Status s, std::string_view what) {
    if (!s && s.error().code == ErrorCode::kAlreadyExists) {
      return make_error(ErrorCode::kAlreadyExists, std::string(what), s.error().native_code);
    }
    return s;
  }

  static Status check_owner(const LeaseOwner& owner) {
    if (owner.host.empty() || owner.instance.empty()) {
      return make_error(ErrorCode::kInvalidArgument, "lease owner needs host and instance");
    }
    return {};
  }

  static Status check_release(const KeyRecord& r, bool retire) {
    if (r.tier != KeyTier::Explorer) {
      return make_error(ErrorCode::kInvalidArgument, explorer_name(r.pubkey) +
                                                         " is not an Explorer");
    }
    if (r.state != KeyState::kLeased || !r.lease) {
      return make_error(ErrorCode::kConflict,
                        explorer_name(r.pubkey) + " is " + std::string(key_state_name(r.state)) +
                            ", not leased (an expired lease counts as used)");
    }
    if (!retire && r.sign_count > 0) {
      return make_error(ErrorCode::kConflict, explorer_name(r.pubkey) +
                                                  " signed once: it cannot be returned for "
                                                  "reuse, only retired (single use, I2)");
    }
    return {};
  }

  // Compare-and-set of one Explorer's state, with check_transition and an
  // audit row. Clears lease columns when leaving kLeased. Requires mu_ and
  // an open transaction.
  Status move_locked(const solana::Pubkey& pk, KeyState from, KeyState to,
                     const std::string& actor, std::string_view reason) {
    QTW_TRY(move_row_locked(pk, from, to, reason));
    return audit_locked(actor, "explorer.transition", pk, std::nullopt,
                        transition_audit_detail(from, to, reason, {&pk, 1}));
  }

  // move_locked without its audit row (a batch writes one for all); the
  // reason is kept in the row when it strands the Explorer.
  Status move_row_locked(const solana::Pubkey& pk, KeyState from, KeyState to,
                         std::string_view reason) {
    QTW_TRY(check_transition(from, to));
    QTW_ASSIGN_OR_RETURN(Stmt sel, db_.prepare("SELECT id, tier, state FROM keys WHERE pubkey = ?"));
    sel.bind(1, pk.bytes);
    QTW_ASSIGN_OR_RETURN(bool row, sel.step());
    if (!row) return make_error(ErrorCode::kNotFound, explorer_name(pk) + " is not in the store");
    if (sel.int64(1) != kTierExplorer) {
      return make_error(ErrorCode::kInvalidArgument, explorer_name(pk) + " is not an Explorer");
    }
    const auto cur = static_cast<KeyState>(sel.int64(2));
    if (cur != from) {
      return make_error(ErrorCode::kIllegalTransition,
                        explorer_name(pk) + " is " + std::string(key_state_name(cur)) + ", not " +
                            std::string(key_state_name(from)) + " (wanted " +
                            std::string(key_state_name(from)) + " -> " +
                            std::string(key_state_name(to)) + ")");
    }
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

  // Appends one chained audit row. Requires mu_ and an open transaction
  // (BEGIN IMMEDIATE: the one writer of the file), so the tail read here is
  // the tail the row is inserted after.
  Status audit_locked(const std::string& actor, std::string_view action,
                      const std::optional<solana::Pubkey>& pubkey,
                      std::optional<std::int64_t> intent_id, std::string_view detail) {
    AuditRecord rec;
    rec.at_ms = now();
    rec.actor = actor;
    rec.action = std::string(action);
    rec.pubkey = pubkey;
    rec.intent_id = intent_id;
    rec.detail = std::string(detail);
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

  static Result<std::vector<AuditEntry>> read_audit_entries(Stmt& st) {
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

  Result<KeyRecord> get_key_locked(const solana::Pubkey& pubkey) {
    QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(std::string("SELECT ") + kKeyColumns +
                                              " FROM keys WHERE pubkey = ?"));
    st.bind(1, pubkey.bytes);
    QTW_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) return make_error(ErrorCode::kNotFound, explorer_name(pubkey) + " is not managed");
    return read_key(st);
  }

  Result<KeyRecord> get_key_by_id_locked(std::int64_t id) {
    QTW_ASSIGN_OR_RETURN(Stmt st, db_.prepare(std::string("SELECT ") + kKeyColumns +
                                              " FROM keys WHERE id = ?"));
    st.bind(1, id);
    QTW_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) return make_error(ErrorCode::kNotFound, "no key with id " + std::to_string(id));
    return read_key(st);
  }

  Result<TopupRequestRecord> get_topup_locked(std::int64_t id) {
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

  Result<IntentRecord> get_intent_locked(std::int64_t id) {
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

  Result<std::vector<IntentRecord>> intents_from_ids(Stmt& st) {
    return records_from_ids(st, [&](std::int64_t id) { return get_intent_locked(id); });
  }

  // Runs `st` (one id column), then `get(id)` for each row once the
  // statement is done (the getters prepare statements of their own).
  template <class Get>
  auto records_from_ids(Stmt& st, const Get& get)
      -> Result<std::vector<typename std::invoke_result_t<Get, std::int64_t>::value_type>> {
    std::vector<std::int64_t> ids;
    while (true) {
      QTW_ASSIGN_OR_RETURN(bool row, st.step());
      if (!row) break;
      ids.push_back(st.int64(0));
    }
    std::vector<typename std::invoke_result_t<Get, std::int64_t>::value_type> out;
    out.reserve(ids.size());
    for (auto id : ids) {
      QTW_ASSIGN_OR_RETURN(auto r, get(id));
      out.push_back(std::move(r));
    }
    return out;
  }


  static Result<std::vector<solana::Pubkey>> collect_pubkeys(Stmt& st) {
    std::vector<solana::Pubkey> out;
    while (true) {
      QTW_ASSIGN_OR_RETURN(bool row, st.step());
      if (!row) break;
      out.push_back(pubkey_col(st, 0));
    }
    return out;
  }

  // [A-Za-z0-9._-] kept, anything else as %XX: a file name from any instance.
  static std::string safe_file_name(const std::string& name) {
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

 public:
  ~SqliteStore() override {
    for (const auto& held : instance_locks_) ::close(held.second);
  }

 private:
  Db db_;
  const std::filesystem::path path_;
  SqliteStoreOptions options_;
  std::vector<std::pair<LeaseOwner, int>> instance_locks_;  // guarded by mu_; flock'ed fds
  std::recursive_mutex mu_;  // guards db_ and depth_; held across transact() bodies
  int depth_ = 0;            // open transaction levels on db_
};

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
    rows.push_back(read_audit(sel));
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

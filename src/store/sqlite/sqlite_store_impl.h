#pragma once
// The SQLite KeyStore's class, shared by the files that implement it (see
// qtw/store/sqlite_store.h for the contract):
//   sqlite_store_schema.cpp   migrations (kMigrations), open_sqlite_store, transactions
//   sqlite_store_keys.cpp     the wallet row, HODL/Bank/Explorer keys, state transitions
//   sqlite_store_leases.cpp   claims, leases, signing marks, the leader slot, instance locks
//   sqlite_store_intents.cpp  intents, nonce accounts, HODL top-up requests
//   sqlite_store_audit.cpp    the hash-chained audit log, settings
// One connection, one writer: every public call takes mu_ and runs in a
// transaction level (BEGIN IMMEDIATE, or a savepoint inside transact()).
#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "qtw/store/sqlite_store.h"
#include "store/backend_common.h"
#include "store/sqlite/sqlite_db.h"

namespace qtw::store::sqlite {

template <std::size_t N>
std::array<std::uint8_t, N> to_array(std::span<const std::uint8_t> b) {
  std::array<std::uint8_t, N> out{};
  if (b.size() == N) std::memcpy(out.data(), b.data(), N);
  return out;
}

inline solana::Pubkey pubkey_col(const Stmt& st, int col) {
  solana::Pubkey pk;
  pk.bytes = to_array<solana::kPubkeySize>(st.blob(col));
  return pk;
}

// An audit row from columns id, at_ms, actor, action, pubkey, intent_id,
// detail (in that order, from column 0).
AuditRecord read_audit(const Stmt& st);

class SqliteStore final : public KeyStore {
 public:
  SqliteStore(Db db, std::filesystem::path path, SqliteStoreOptions options);

  int schema_version() const noexcept override { return kSqliteSchemaVersion; }
  std::string describe() const override { return "sqlite:" + path_.string(); }

  Status transact(const std::function<Status()>& body) override;

  // ---- wallet ----
  Status create_wallet(std::span<const std::uint8_t> sealed_seed) override;

  Result<WalletMeta> get_wallet() override;

  // ---- keys ----
  Result<KeyRecord> add_hodl(const solana::Pubkey& pubkey,
                             std::span<const std::uint8_t> sealed_secret,
                             std::string_view label) override;

  Result<KeyRecord> add_bank(std::uint32_t bank_index, const solana::Pubkey& pubkey) override;

  Result<std::vector<KeyRecord>> reserve_explorers(std::int64_t bank_id, std::size_t count,
                                                   const DeriveExplorerPubkey& derive) override;

  Result<KeyRecord> get_key(const solana::Pubkey& pubkey) override;

  Result<KeyRecord> get_key_by_id(std::int64_t id) override;

  Result<std::vector<KeyRecord>> list_keys(const KeyFilter& filter) override;

  Result<std::vector<KeyCount>> count_keys() override;

  Result<std::uint64_t> count_keys_in(KeyTier tier, KeyState state) override;

  Result<KeyRecord> funding_bank_of(const solana::Pubkey& explorer) override;

  // ---- state machine ----
  Status transition(const solana::Pubkey& explorer, KeyState from, KeyState to,
                    std::string_view reason) override;

  Status transition_many(std::span<const solana::Pubkey> explorers, KeyState from, KeyState to,
                         std::string_view reason) override;

  // ---- leases ----
  Result<std::vector<KeyRecord>> claim_explorers(const LeaseOwner& owner, std::size_t max,
                                                 std::int64_t lease_deadline_ms) override;

  Result<std::size_t> renew_leases(const LeaseOwner& owner,
                                   std::int64_t lease_deadline_ms) override;

  Status release_explorer(const solana::Pubkey& explorer, std::uint64_t lease_id,
                          bool retire) override;

  Status release_explorers(const LeaseOwner& owner, std::span<const solana::Pubkey> explorers,
                           bool retire) override;

  Result<std::vector<solana::Pubkey>> expire_leases(std::int64_t now_ms) override;

  Result<std::vector<solana::Pubkey>> expire_owner(const LeaseOwner& owner,
                                                   std::string_view reason) override;

  Result<std::vector<LeaseOwner>> list_lease_owners() override;

  Status mark_signed(const solana::Pubkey& explorer, std::uint64_t lease_id) override;

  Result<std::vector<solana::Pubkey>> record_signed(
      std::span<const SignedLease> signed_leases) override;

  // ---- leader ----
  Result<bool> try_acquire_leader(const LeaseOwner& owner, std::int64_t deadline_ms) override;

  Status release_leader(const LeaseOwner& owner) override;

  // ---- instance lock ----
  Status lock_instance(const LeaseOwner& owner) override;

  // ---- settings: rows of the counters table beside next_lease_id ----
  Result<std::optional<std::int64_t>> get_setting(std::string_view name) override;

  Status put_setting(std::string_view name, std::int64_t value) override;

  // ---- intents ----
  Result<std::int64_t> insert_intent(const IntentRecord& intent) override;

  Status update_intent(std::int64_t id, IntentStatus from, IntentStatus to,
                       const IntentOutcome& outcome) override;

  Result<IntentRecord> get_intent(std::int64_t id) override;

  Result<IntentRecord> get_intent_by_signature(const solana::Signature& signature) override;

  Result<std::vector<IntentRecord>> list_unresolved_intents() override;

  Result<std::vector<IntentRecord>> list_intents_for_key(const solana::Pubkey& pubkey) override;

  Status remove_hodl(const solana::Pubkey& pubkey) override;

  Result<std::int64_t> add_nonce_account(const NonceAccountRecord& r) override;

  Status set_nonce_account_status(const solana::Pubkey& address, NonceAccountStatus from,
                                  NonceAccountStatus to) override;

  Result<std::vector<NonceAccountRecord>> list_nonce_accounts() override;

  Result<std::int64_t> insert_topup_request(const TopupRequestRecord& r) override;

  Result<TopupRequestRecord> get_topup_request(std::int64_t id) override;

  Result<std::vector<TopupRequestRecord>> list_topup_requests(
      std::optional<TopupStatus> status) override;

  Status update_topup_request(std::int64_t id, TopupStatus from, TopupStatus to,
                              std::optional<solana::Signature> signature,
                              std::optional<std::int64_t> intent_id,
                              std::string_view detail) override;

  // ---- audit ----
  Result<std::int64_t> append_audit(const AuditRecord& record) override;

  Result<std::vector<AuditEntry>> list_audit_entries(std::int64_t after_id,
                                                     std::size_t limit) override;

  Result<std::vector<AuditEntry>> list_audit_tail(std::size_t count) override;

  Result<std::vector<AuditRecord>> list_audit(std::int64_t after_id, std::size_t limit) override;

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

  Result<Txn> begin();

  std::int64_t now() const { return options_.clock_ms(); }

  static Status unique_or(Status s, std::string_view what) {
    if (!s && s.error().code == ErrorCode::kAlreadyExists) {
      return make_error(ErrorCode::kAlreadyExists, std::string(what), s.error().native_code);
    }
    return s;
  }

  // Compare-and-set of one Explorer's state, with check_transition and an
  // audit row. Clears lease columns when leaving kLeased. Requires mu_ and
  // an open transaction.
  Status move_locked(const solana::Pubkey& pk, KeyState from, KeyState to,
                     const std::string& actor, std::string_view reason);

  // move_locked without its audit row (a batch writes one for all); the
  // reason is kept in the row when it strands the Explorer.
  Status move_row_locked(const solana::Pubkey& pk, KeyState from, KeyState to,
                         std::string_view reason);

  // Appends one chained audit row. Requires mu_ and an open transaction
  // (BEGIN IMMEDIATE: the one writer of the file), so the tail read here is
  // the tail the row is inserted after.
  Status audit_locked(const std::string& actor, std::string_view action,
                      const std::optional<solana::Pubkey>& pubkey,
                      std::optional<std::int64_t> intent_id, std::string_view detail);

  static Result<std::vector<AuditEntry>> read_audit_entries(Stmt& st);

  Result<KeyRecord> get_key_locked(const solana::Pubkey& pubkey);

  Result<KeyRecord> get_key_by_id_locked(std::int64_t id);

  Result<TopupRequestRecord> get_topup_locked(std::int64_t id);

  Result<IntentRecord> get_intent_locked(std::int64_t id);

  Result<std::vector<IntentRecord>> intents_from_ids(Stmt& st);

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

  static Result<std::vector<solana::Pubkey>> collect_pubkeys(Stmt& st);

  // [A-Za-z0-9._-] kept, anything else as %XX: a file name from any instance.
  static std::string safe_file_name(const std::string& name);

 public:
  ~SqliteStore() override;

 private:
  Db db_;
  const std::filesystem::path path_;
  SqliteStoreOptions options_;
  std::vector<std::pair<LeaseOwner, int>> instance_locks_;  // guarded by mu_; flock'ed fds
  std::recursive_mutex mu_;  // guards db_ and depth_; held across transact() bodies
  int depth_ = 0;            // open transaction levels on db_
};

}  // namespace qtw::store::sqlite

#pragma once
// The PostgreSQL KeyStore's class, shared by the files that implement it (see
// qtw/store/postgres_store.h for the contract):
//   postgres_store_session.cpp  connections, the session pool, transaction levels
//   postgres_store_schema.cpp   migrations (kMigrations), open_postgres_store
//   postgres_store_keys.cpp     the wallet row, HODL/Bank/Explorer keys, state transitions
//   postgres_store_leases.cpp   claims, leases, signing marks, the leader slot, instance locks
//   postgres_store_intents.cpp  intents, nonce accounts, HODL top-up requests
//   postgres_store_audit.cpp    the hash-chained audit log, settings
//
// Every public call runs through run(): it takes a pooled session, makes sure
// it is connected, opens a transaction level (BEGIN, or SAVEPOINT inside
// transact()), runs the operation, and commits or rolls back that level. All
// SQL is parameterised ($n); binary columns travel as bytea hex text.
#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "qtw/store/postgres_store.h"
#include "store/backend_common.h"

namespace qtw::store::pg {

constexpr std::int32_t kMigrationLockClass = kPostgresLeaderLockClass + 1;
// +2 is kPostgresInstanceLockClass. Audit appends: one transaction at a time.
constexpr std::int32_t kAuditLockClass = kPostgresLeaderLockClass + 3;

// ---- parameters: every value goes as text (NULL = nullopt) ----
using Param = std::optional<std::string>;

std::string hex_bytea(std::span<const std::uint8_t> b);

inline Param P(std::span<const std::uint8_t> b) { return hex_bytea(b); }
template <std::size_t N>
Param P(const std::array<std::uint8_t, N>& b) {
  return hex_bytea(std::span<const std::uint8_t>(b.data(), N));
}
inline Param P(const std::vector<std::uint8_t>& b) { return hex_bytea(b); }
inline Param P(std::string_view s) { return std::string(s); }
inline Param P(const std::string& s) { return s; }
inline Param P(std::int64_t v) { return std::to_string(v); }
inline Param P(int v) { return std::to_string(v); }
inline Param P(std::optional<std::int64_t> v) {
  return v ? Param(std::to_string(*v)) : std::nullopt;
}

// bytea arrives in hex output format ("\x0a1b..."), the server default.
std::vector<std::uint8_t> bytea(const pqxx::field& f);

template <std::size_t N>
std::array<std::uint8_t, N> fixed(const pqxx::field& f) {
  std::array<std::uint8_t, N> out{};
  const auto v = bytea(f);
  if (v.size() == N) std::memcpy(out.data(), v.data(), N);
  return out;
}

inline solana::Pubkey pubkey_of(const pqxx::field& f) {
  solana::Pubkey pk;
  pk.bytes = fixed<solana::kPubkeySize>(f);
  return pk;
}

inline std::int64_t i64(const pqxx::field& f) { return f.as<std::int64_t>(); }

// A key row from the columns of kKeyColumns, in that order.
KeyRecord read_key(const pqxx::row& row);

// An audit row from columns id, at_ms, actor, action, pubkey, intent_id,
// detail (in that order, from column 0).
AuditRecord read_audit(const pqxx::row& row);

// One libpq session with a long-lived nontransaction: transaction control is
// ours (BEGIN/SAVEPOINT/COMMIT as plain statements), so nested levels of
// transact() map onto savepoints exactly as in the SQLite backend.
struct Session {
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<pqxx::nontransaction> work;

  bool open() const { return conn && work && conn->is_open(); }
  void drop() noexcept {
    try {
      work.reset();
    } catch (...) {
    }
    try {
      if (conn) conn->disconnect();
    } catch (...) {
    }
    conn.reset();
  }
  pqxx::result exec(const std::string& sql, const std::vector<Param>& params = {}) {
    std::vector<const char*> ptrs;
    ptrs.reserve(params.size());
    for (const auto& p : params) ptrs.push_back(p ? p->c_str() : nullptr);
    return work->exec_params(sql, pqxx::prepare::make_dynamic_params(ptrs));
  }
};

// The store's Error for a server error (SQLSTATE kept as the native code).
Error map_sql_error(const pqxx::sql_error& e, std::string_view context);

// Serialization failure or deadlock: the server rolled the transaction back.
bool is_retryable_sqlstate(const std::string& s);

// One pooled data session and its transaction state.
struct Slot {
  Session data;
  int depth = 0;          // open transaction levels on data
  bool poisoned = false;  // the connection died under an open outer level
};

class PgStore;
// Which slot this thread holds, per store (a thread may use several stores).
struct Binding {
  const PgStore* store;
  Slot* slot;
};
inline thread_local std::vector<Binding> t_bindings;

class PgStore final : public KeyStore {
 public:
  PgStore(std::string uri, PostgresStoreOptions options, Session session);

  ~PgStore() override;

  int schema_version() const noexcept override { return kPostgresSchemaVersion; }
  std::string describe() const override { return redact_postgres_uri(uri_); }

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

  Result<std::optional<std::int64_t>> get_setting(std::string_view name) override;

  Status put_setting(std::string_view name, std::int64_t value) override;

  Status release_leader(const LeaseOwner& owner) override;

  // ---- instance lock ----
  // A session-level advisory lock keyed by (schema, host, instance) on a
  // connection of its own that does nothing else: the server frees it when
  // the process dies (its socket closes) or the connection is lost (TCP
  // keepalives), never while the process lives and the network holds.
  Status lock_instance(const LeaseOwner& owner) override;

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

  static std::vector<AuditEntry> read_audit_entries(const pqxx::result& r);

  Result<std::vector<AuditRecord>> list_audit(std::int64_t after_id, std::size_t limit) override;

  // application_name of our sessions: "qtw <actor>", within NAMEDATALEN.
  static std::string session_name(const std::string& actor);

  // Used by open_postgres_store and the leader session.
  static Result<Session> connect(const std::string& uri, const PostgresStoreOptions& o,
                                 int extra_idle_timeout_ms = 0);

 private:
  // The session this thread holds (only valid inside run()).
  Session& s() { return bound()->data; }
  std::int64_t now() const { return options_.clock_ms(); }

  // ---- the transaction machinery ----

  Slot* bound() const {
    for (const auto& b : t_bindings) {
      if (b.store == this) return b.slot;
    }
    return nullptr;
  }

  // Takes an idle session, or opens a new slot while under pool_size, or
  // waits for one to be returned.
  Slot* checkout();

  void checkin(Slot* slot);

  // The slot of this thread's outermost run(), bound for its duration.
  class SlotHold {
   public:
    explicit SlotHold(PgStore& store) : store_(store), slot_(store.bound()) {
      if (slot_ == nullptr) {
        slot_ = store_.checkout();
        outer_ = true;
        t_bindings.push_back(Binding{&store_, slot_});
      }
    }
    ~SlotHold() {
      if (!outer_) return;
      std::erase_if(t_bindings, [&](const Binding& b) { return b.store == &store_; });
      store_.checkin(slot_);
    }
    SlotHold(const SlotHold&) = delete;
    SlotHold& operator=(const SlotHold&) = delete;
    Slot& slot() { return *slot_; }

   private:
    PgStore& store_;
    Slot* slot_;
    bool outer_ = false;
  };

  // Runs `op` as one transaction level. Outermost level: BEGIN ... COMMIT,
  // retried (when `retry_safe`) if the connection broke before COMMIT was
  // sent or the server aborted it as a deadlock/serialization victim: the
  // server rolled it back, so nothing can apply twice. Inner levels (inside
  // transact()): SAVEPOINT ... RELEASE, a failure rolls back to the
  // savepoint only; a lost connection fails the whole outer unit.
  template <class F>
  auto run(std::string_view what, bool retry_safe, F&& op) -> decltype(op()) {
    using R = decltype(op());
    // The outermost call of this thread takes a session from the pool and
    // keeps it until it returns: calls nested in a transact() body run on it
    // (savepoints); other threads run on other sessions concurrently.
    SlotHold hold(*this);
    Slot& slot = hold.slot();
    const int level = slot.depth;
    if (level > 0 && slot.poisoned) {
      return make_error(ErrorCode::kUnavailable,
                        std::string(what) + ": the connection to " + describe() +
                            " was lost in this transaction; it was rolled back");
    }
    int backoff_ms = std::max(1, options_.reconnect_backoff_ms);
    for (int attempt = 0;; ++attempt) {
      bool commit_sent = false;
      bool began = false;
      auto retry_or = [&](Error e) -> std::optional<R> {
        if (level == 0 && retry_safe && attempt < options_.reconnect_attempts) return std::nullopt;
        return R(tl::unexpected(std::move(e)));
      };
      try {
        if (level == 0 && !slot.data.open()) {
          slot.data.drop();
          auto sess = connect(uri_, options_);
          if (!sess) {
            if (auto r = retry_or(sess.error())) return std::move(*r);
            sleep_backoff(backoff_ms);
            continue;
          }
          slot.data = std::move(*sess);
        }
        slot.data.exec(level == 0 ? std::string("BEGIN") : "SAVEPOINT sp" + std::to_string(level));
        began = true;
        ++slot.depth;
        R result = op();
        --slot.depth;
        if (slot.poisoned) {
          // A nested level lost the connection; the server rolled all back.
          if (level == 0) slot.poisoned = false;
          if (result) {
            result = R(tl::unexpected(Error{ErrorCode::kUnavailable,
                                            std::string(what) + ": connection to " + describe() +
                                                " lost during the transaction; rolled back",
                                            0}));
          }
          return result;
        }
        if (!result) {
          rollback_level(slot, level);
          return result;
        }
        if (level == 0) {
          commit_sent = true;
          slot.data.exec("COMMIT");
        } else {
          slot.data.exec("RELEASE sp" + std::to_string(level));
        }
        return result;
      } catch (const pqxx::broken_connection& e) {
        if (began && slot.depth > level) --slot.depth;
        slot.data.drop();
        if (level > 0) {
          slot.poisoned = true;
          return make_error(ErrorCode::kUnavailable,
                            std::string(what) + ": connection to " + describe() +
                                " lost; the transaction was rolled back by the server");
        }
        slot.poisoned = false;
        if (commit_sent) {
          // The COMMIT may or may not have been applied: never blindly
          // retry a write whose outcome is unknown.
          return make_error(ErrorCode::kUnavailable,
                            std::string(what) + ": connection to " + describe() +
                                " lost during COMMIT: outcome unknown, re-read before retrying");
        }
        if (auto r = retry_or(Error{ErrorCode::kUnavailable,
                                    std::string(what) + ": connection to " + describe() +
                                        " lost (" + e.what() + "); nothing was committed",
                                    0})) {
          return std::move(*r);
        }
        sleep_backoff(backoff_ms);
      } catch (const pqxx::in_doubt_error& e) {
        slot.data.drop();
        if (began && slot.depth > level) --slot.depth;
        if (level > 0) slot.poisoned = true;
        return make_error(ErrorCode::kUnavailable, std::string(what) + ": outcome unknown: " +
                                                       e.what());
      } catch (const pqxx::sql_error& e) {
        if (began && slot.depth > level) --slot.depth;
        const bool conn_ok = slot.data.open();
        if (began && conn_ok) rollback_level(slot, level);
        if (!conn_ok) {
          slot.data.drop();
          if (level > 0) {
            slot.poisoned = true;
          } else if (!commit_sent) {
            if (auto r = retry_or(map_sql_error(e, what))) return std::move(*r);
            sleep_backoff(backoff_ms);
            continue;
          }
          return tl::unexpected(map_sql_error(e, what));
        }
        if (level == 0 && !commit_sent && is_retryable_sqlstate(e.sqlstate())) {
          if (auto r = retry_or(map_sql_error(e, what))) return std::move(*r);
          sleep_backoff(backoff_ms);
          continue;
        }
        return tl::unexpected(map_sql_error(e, what));
      } catch (const std::exception& e) {
        if (began && slot.depth > level) --slot.depth;
        if (began && slot.data.open()) rollback_level(slot, level);
        if (commit_sent) {
          slot.data.drop();
          return make_error(ErrorCode::kUnavailable,
                            std::string(what) + ": COMMIT outcome unknown: " + e.what());
        }
        return make_error(ErrorCode::kStore, std::string(what) + ": " + e.what());
      }
    }
  }

  void sleep_backoff(int& backoff_ms);

  void rollback_level(Slot& slot, int level) noexcept;

  // ---- helpers (inside run) ----
  Result<KeyRecord> key_by_id(std::int64_t id);

  Result<KeyRecord> key_by_pubkey(const solana::Pubkey& pk, bool for_update);

  // Compare-and-set of one Explorer's state with check_transition and an
  // audit row; clears the lease columns when leaving kLeased.
  Status move(const solana::Pubkey& pk, KeyState from, KeyState to, const std::string& actor,
              std::string_view reason);

  // move() without its audit row (a batch writes one for all); the reason
  // is kept in the row when it strands the Explorer.
  Status move_row(const solana::Pubkey& pk, KeyState from, KeyState to,
                  std::string_view reason);

  // leased -> used for every lease matching `cond` (which uses $3), one
  // statement: rows another session holds locked are skipped (they are being
  // released or expired there) and picked up by the next pass.
  Result<std::vector<solana::Pubkey>> expire_where(const std::string& cond, Param arg,
                                                   const std::string& detail,
                                                   bool one_audit_row = false);

  Status audit(const std::string& actor, std::string_view action,
               const std::optional<solana::Pubkey>& pubkey, std::optional<std::int64_t> intent_id,
               std::string_view detail);

  Result<std::int64_t> audit_id(const std::string& actor, std::string_view action,
                                const std::optional<solana::Pubkey>& pubkey,
                                std::optional<std::int64_t> intent_id, std::string_view detail);

  Result<TopupRequestRecord> topup_by_id(std::int64_t id);

  Result<IntentRecord> intent_by_id(std::int64_t id);

  Result<std::vector<IntentRecord>> intents_of(const pqxx::result& ids);

  // ---- leader session (requires leader_mu_) ----
  Status ensure_leader_session();

  void unlock_leader();

  void leader_lost() noexcept;

  // Pings the leader session so the server's idle_session_timeout never
  // ends a live leader, notices a dead session early (leadership is then
  // lost: the next try_acquire_leader decides again), and gives the lock up
  // when the local leader's deadline passed without a renewal.
  void heartbeat_loop();

  const std::string uri_;
  PostgresStoreOptions options_;

  // Data sessions: up to options_.pool_size, connected lazily. A thread
  // holds one from its outermost run() to that call's return (a transact()
  // body holds it throughout); nobody else touches a held slot.
  std::mutex pool_mu_;  // guards slots_, idle_
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Slot*> idle_;

  std::mutex instance_mu_;  // guards instance_, instance_locks_
  Session instance_;         // holds the instance locks; does nothing else
  std::vector<LeaseOwner> instance_locks_;

  std::mutex leader_mu_;  // guards everything below
  Session leader_;
  bool lock_held_ = false;
  std::optional<LeaseOwner> local_leader_;
  std::int64_t local_deadline_ms_ = 0;
  bool stop_ = false;
  std::condition_variable leader_cv_;
  std::thread heartbeat_;
};

}  // namespace qtw::store::pg

#pragma once
// The shared KeyStore backend: one PostgreSQL database, many hosts
// (docs/MULTI_HOST.md).
//
// Schema: the tables of the SQLite backend (wallet, keys, intents,
// intent_transfers, audit, leader) with PostgreSQL types, created by
// numbered migrations recorded in a `schema_version` table (one row per
// applied migration). Lease ids come from a sequence (`lease_ids`) instead of
// SQLite's counters row, so claims on different hosts never queue on one row.
// The tables live in the first schema of the connection's search_path
// (default `public`); several wallets may share one database in different
// schemas (`?options=-csearch_path%3Dwallet2` in the URI).
//
// On open: a store written by a newer qtw is kSchemaTooNew and nothing is
// changed; a database whose schema holds tables but no qtw schema_version is
// kCorrupt ("not a qtw store"); migrations take an advisory transaction lock,
// so hosts starting together migrate once.
//
// Claims: `SELECT ... FOR UPDATE SKIP LOCKED` over available Explorers, so
// concurrent claims from many hosts never wait for each other nor hand out
// the same key.
//
// Leader: try_acquire_leader() takes a session-level
// `pg_try_advisory_lock(0x51545731, hashtext(current_schema()))` on a
// dedicated leader connection, and within the process holding it the
// `leader` row (owner + deadline, same rules as SQLite) decides between
// owners. The leader connection pings the server every heartbeat_interval_ms
// and sets `idle_session_timeout`, so when the leader process dies, hangs or
// loses its network the server ends that session and releases the lock; a
// new leader is accepted once the lock is free AND the old owner's deadline
// has passed (a partitioned leader that has not noticed yet stops acting at
// its own deadline: this is the fence). The heartbeat also gives the lock up
// when the local leader's deadline passes without a renewal. Hosts' clocks
// must agree (NTP) to well under the leader interval.
//
// Audit chain: a transaction that appends an audit row holds the chain (an
// advisory transaction lock) from that append to its COMMIT, so another
// session's audited write waits for it: keep transactions that write short
// (every KeyStore call is; transact() bodies must not wait on other threads).
//
// Thread safety: safe from any thread. A pool of up to pool_size data
// sessions per store, opened on demand: a thread takes one for its outermost
// call and keeps it until that call returns (a transact() body, and every
// call nested in it, runs on that one session), so one slow query holds one
// session, not every lease of the process; a thread finding all sessions
// busy waits for one. Threads, processes and hosts run concurrently, their
// isolation is PostgreSQL's (READ COMMITTED, compare-and-set UPDATEs and row
// locks). The leader connection is separate from the pool, with its own
// mutex and heartbeat thread.
//
// Connection loss: every error from a lost connection is kUnavailable. A
// call made outside transact() that fails because the connection dropped
// BEFORE its COMMIT was sent is retried on a new connection (the server rolled
// it back, so a retry cannot apply it twice), up to reconnect_attempts times
// with backoff. A lost COMMIT result is never retried: the unit may or may
// not have committed, so the call returns kUnavailable saying the outcome is
// unknown and the caller re-reads (e.g. a claim whose COMMIT was lost leaves
// leases that expire to kUsed, I2: never a key handed out twice). Inside
// transact() nothing is retried: the whole unit fails and was rolled back by
// the server. The next call reconnects automatically.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "qtw/result.h"
#include "qtw/store/key_store.h"

namespace qtw::store {

// Schema version the PostgreSQL backend writes (rows in schema_version).
inline constexpr int kPostgresSchemaVersion = 6;
// The migration that added the audit hash chain (qtw/store/audit_chain.h):
// opening an older store chains the rows it already holds.
inline constexpr int kPostgresAuditChainVersion = 3;
// First key of the leader advisory lock: "QTW1".
inline constexpr std::int32_t kPostgresLeaderLockClass = 0x51545731;
// First key of the instance locks (KeyStore::lock_instance); the second is
// hashtext(schema/host/instance). (+1 is the migration lock.)
inline constexpr std::int32_t kPostgresInstanceLockClass = kPostgresLeaderLockClass + 2;

struct PostgresStoreOptions {
  // Create the schema when the database holds no qtw tables yet. Default
  // false: an empty database is kNotFound ("run qtw init").
  bool create_if_missing = false;
  // libpq connect_timeout for every (re)connection. Default 5 s.
  int connect_timeout_ms = 5'000;
  // statement_timeout set on every session; a statement running longer is
  // cancelled by the server and the call fails with kTimeout. Default 10 s.
  int statement_timeout_ms = 10'000;
  // lock_timeout: how long a statement waits for a row lock held by another
  // session (claims never wait: SKIP LOCKED). Default 5 s.
  int lock_timeout_ms = 5'000;
  // How often a call tries to reconnect after the connection is lost, and
  // the pause before the first retry (doubled each time, capped at 2 s).
  // Defaults 5 attempts, 100 ms: a server restart of ~3 s is ridden out.
  int reconnect_attempts = 5;
  int reconnect_backoff_ms = 100;
  // Data sessions per store (the leader session is extra). Default 4; >= 1.
  int pool_size = 4;
  // Leader session: ping period, and the idle_session_timeout the server
  // enforces on it (a leader that stops pinging loses the lock after this).
  // Defaults 1 s and 5 s. heartbeat_interval_ms must be < leader_idle_timeout_ms.
  int heartbeat_interval_ms = 1'000;
  int leader_idle_timeout_ms = 5'000;
  // Leader failover without waiting for a dead leader's deadline: when the
  // lock is free and no session of the holder's process is left (sessions
  // are named "qtw <host>:<pid>" unless the URI sets application_name), the
  // holder died and try_acquire_leader takes over at once. Needs LeaseOwners
  // whose host/pid are the real process's (KeyManager's are). Default false:
  // the deadline fence alone.
  bool take_over_dead_leader = false;
  // Wall clock for bookkeeping timestamps and leader deadlines (Unix ms).
  // Default system_clock.
  std::function<std::int64_t()> clock_ms;
  // Written as `actor` in audit rows the store appends itself. Default
  // "<hostname>:<pid>".
  std::string actor;
};

// Opens the store in the database named by `uri` (libpq URI or key=value
// string; a password in it is never echoed by describe() or errors).
// Errors: kUnavailable (server unreachable), kNotFound (no schema and
// !create_if_missing), kCorrupt, kSchemaTooNew, kInvalidArgument (bad
// options), kStore.
[[nodiscard]] Result<std::unique_ptr<KeyStore>> open_postgres_store(
    std::string_view uri, const PostgresStoreOptions& options = {});

// The URI without its password (for logs, describe()).
[[nodiscard]] std::string redact_postgres_uri(std::string_view uri);

}  // namespace qtw::store

#pragma once
// The embedded KeyStore backend: one SQLite file (docs/ARCHITECTURE.md, The store).
//
// - WAL journal, foreign_keys=ON, busy_timeout, synchronous=FULL: in WAL mode
//   NORMAL may lose the last commits on power loss, and a lost commit after
//   lamports were sent breaks I1 (persist, then fund) and I2. We handle
//   money; an fsync per commit is cheap next to an RPC round trip.
// - Numbered migrations recorded in PRAGMA user_version; application_id
//   marks the file as a qtw store.
// - On open: a store from a newer qtw is kSchemaTooNew, a file that fails
//   PRAGMA integrity_check (or is empty, or not SQLite) is kCorrupt; in both
//   cases nothing is written to the file.
// - The file (and so its -wal/-shm, which SQLite creates with the same mode)
//   is created 0600.
//
// Thread safety: one connection, one writer. A recursive mutex serialises
// every call; transact() holds it for the whole body. Several processes may
// open the same file (the CLI beside the daemon): write transactions begin
// IMMEDIATE and wait up to busy_timeout_ms for each other.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "qtw/result.h"
#include "qtw/store/key_store.h"

namespace qtw::store {

// Schema version the SQLite backend writes (PRAGMA user_version).
inline constexpr int kSqliteSchemaVersion = 5;
// The migration that added the audit hash chain: opening an older store
// chains the rows it already holds (qtw/store/audit_chain.h).
inline constexpr int kSqliteAuditChainVersion = 2;
// PRAGMA application_id of a qtw store: "QTW1".
inline constexpr std::int32_t kSqliteApplicationId = 0x51545731;

struct SqliteStoreOptions {
  // Create the file (mode 0600) and schema if the path does not exist.
  // Default false: a missing store is kNotFound ("run qtw init").
  bool create_if_missing = false;
  // How long a write waits for another process's write lock. Default 5 s.
  int busy_timeout_ms = 5'000;
  // Run the full PRAGMA integrity_check on open (O(file size)). Default true.
  bool integrity_check = true;
  // Wall clock for bookkeeping timestamps (Unix ms). Default system_clock.
  std::function<std::int64_t()> clock_ms;
  // Written as `actor` in audit rows the store appends itself. Default
  // "<hostname>:<pid>".
  std::string actor;
};

// Opens (or creates) the store at `path`. Errors: kNotFound, kCorrupt,
// kSchemaTooNew, kPermission, kStore, kIo.
[[nodiscard]] Result<std::unique_ptr<KeyStore>> open_sqlite_store(
    const std::filesystem::path& path, const SqliteStoreOptions& options = {});

struct SqliteBackupOptions {
  // Replace `out` if it exists. Default false: kAlreadyExists.
  bool overwrite = false;
  // How long to wait, in total, while another connection holds a lock the
  // copy needs (rare in WAL mode: readers never wait for the writer).
  int busy_timeout_ms = 10'000;
  // Called with the path of the finished copy (closed, not yet checked nor
  // in place) before it is published; an error discards the copy. qtw
  // backup ends the copy's Explorer leases here. Default: none.
  std::function<Status(const std::filesystem::path& copy)> before_publish;
};

struct SqliteBackupReport {
  std::uint64_t pages = 0;
  std::uint64_t bytes = 0;
};

// A consistent online copy of the store at `store` into the new file `out`
// (qtw backup), with SQLite's backup API: one read transaction on the
// source, so the copy is the store as of one instant, while the daemon
// keeps writing (WAL: the writer is never blocked). The copy is written to
// a temporary file beside `out`, created mode 0600 with O_EXCL, checked with
// PRAGMA integrity_check, switched to a single-file journal and fsync'ed,
// then renamed into place (without `overwrite`, never over an existing
// file: renameat2 RENAME_NOREPLACE). A failure leaves no file behind.
// Errors: kNotFound (no store), kAlreadyExists, kCorrupt (the copy fails
// its check), kIo, kStore.
[[nodiscard]] Result<SqliteBackupReport> backup_sqlite_store(const std::filesystem::path& store,
                                                             const std::filesystem::path& out,
                                                             const SqliteBackupOptions& options = {});

}  // namespace qtw::store

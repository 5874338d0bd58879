#pragma once
// The embedded KeyStore backend: one SQLite file (DESIGN §6).
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
inline constexpr int kSqliteSchemaVersion = 2;
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

}  // namespace qtw::store

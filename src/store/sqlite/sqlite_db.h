#pragma once
// The one wrapper around the sqlite3 C API (internal to src/). Move-only
// RAII types: Db (connection), Stmt (prepared statement with a binder).
// Transactions are managed by SqliteStore (depth-counted BEGIN/SAVEPOINT).
//
// Db keeps the statements it prepared in a cache keyed by their SQL text:
// a Stmt, when destroyed, is reset, its bindings cleared, and handed back
// for the next prepare() of the same text, so the hot paths (the sign-once
// guard, claims, audit rows) parse each statement once per connection
// instead of once per call (the parser was ~6 % of the daemon's CPU).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "qtw/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace qtw::store::sqlite {

// Maps a SQLite result code to our error: CORRUPT/NOTADB -> kCorrupt,
// CONSTRAINT_UNIQUE/PRIMARYKEY -> kAlreadyExists, everything else kStore.
// native_code is the extended SQLite code.
[[nodiscard]] Error sqlite_error(sqlite3* db, int rc, std::string_view what);

class StmtCache;

class Stmt {
 public:
  Stmt() = default;
  // free_list: where the statement goes back when this Stmt is destroyed
  // (a slot of the connection's cache); nullptr = finalize it.
  Stmt(sqlite3* db, sqlite3_stmt* stmt, StmtCache* cache = nullptr,
       std::vector<sqlite3_stmt*>* free_list = nullptr)
      : db_(db), stmt_(stmt), cache_(cache), free_list_(free_list) {}
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  // Parameters are 1-based, as in SQLite. Blobs and text are copied
  // (SQLITE_TRANSIENT) so the caller's buffers need not outlive the call.
  Stmt& bind(int index, std::int64_t value);
  Stmt& bind(int index, std::span<const std::uint8_t> blob);
  Stmt& bind_text(int index, std::string_view text);
  Stmt& bind_null(int index);
  template <class T>
  Stmt& bind_opt(int index, const std::optional<T>& value) {
    return value ? bind(index, static_cast<std::int64_t>(*value)) : bind_null(index);
  }

  // true = a row is ready; false = done. Bind errors surface here.
  [[nodiscard]] Result<bool> step();
  // Steps to completion (for statements that return no rows).
  [[nodiscard]] Status run();

  [[nodiscard]] bool is_null(int col) const;
  [[nodiscard]] std::int64_t int64(int col) const;
  [[nodiscard]] std::span<const std::uint8_t> blob(int col) const;
  [[nodiscard]] std::string text(int col) const;

 private:
  void release() noexcept;

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  StmtCache* cache_ = nullptr;
  std::vector<sqlite3_stmt*>* free_list_ = nullptr;
  int bind_rc_ = 0;  // first bind failure, reported by step()
};

class Db {
 public:
  Db();
  Db(Db&& other) noexcept;
  Db& operator=(Db&& other) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  // Opens an existing file read-write (never creates it: the caller creates
  // it with mode 0600 first). Extended result codes on.
  [[nodiscard]] static Result<Db> open(const std::filesystem::path& path);

  // One statement (no ';' inside) runs through the statement cache;
  // several (a migration) through sqlite3_exec.
  [[nodiscard]] Status exec(std::string_view sql);
  // From the cache when this text was prepared before and is not in use.
  // A connection caches at most kMaxCachedSql distinct texts (the store's
  // SQL is a fixed set; the rest is prepared and finalized as before).
  [[nodiscard]] Result<Stmt> prepare(std::string_view sql);
  static constexpr std::size_t kMaxCachedSql = 256;
  // Distinct SQL texts in the cache (for tests).
  [[nodiscard]] std::size_t cached_sql_count() const noexcept;
  // First column of the first row as an integer (PRAGMA user_version, ...).
  [[nodiscard]] Result<std::int64_t> query_int(std::string_view sql);
  [[nodiscard]] std::int64_t last_insert_rowid() const;
  [[nodiscard]] int changes() const;
  // False when SQLite is in autocommit mode (no transaction open).
  [[nodiscard]] bool in_transaction() const;
  [[nodiscard]] sqlite3* get() const noexcept { return db_; }

 private:
  explicit Db(sqlite3* db);
  void close() noexcept;

  sqlite3* db_ = nullptr;
  std::unique_ptr<StmtCache> cache_;  // heap: Stmts point into it across moves
};

}  // namespace qtw::store::sqlite

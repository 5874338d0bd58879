#pragma once
// The one wrapper around the sqlite3 C API (internal to src/). Move-only
// RAII types: Db (connection), Stmt (prepared statement with a binder).
// Transactions are managed by SqliteStore (depth-counted BEGIN/SAVEPOINT).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "qtw/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace qtw::store::sqlite {

// Maps a SQLite result code to our error: CORRUPT/NOTADB -> kCorrupt,
// CONSTRAINT_UNIQUE/PRIMARYKEY -> kAlreadyExists, everything else kStore.
// native_code is the extended SQLite code.
[[nodiscard]] Error sqlite_error(sqlite3* db, int rc, std::string_view what);

class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
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
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  int bind_rc_ = 0;  // first bind failure, reported by step()
};

class Db {
 public:
  Db() = default;
  Db(Db&& other) noexcept;
  Db& operator=(Db&& other) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  // Opens an existing file read-write (never creates it: the caller creates
  // it with mode 0600 first). Extended result codes on.
  [[nodiscard]] static Result<Db> open(const std::filesystem::path& path);

  [[nodiscard]] Status exec(std::string_view sql);
  [[nodiscard]] Result<Stmt> prepare(std::string_view sql);
  // First column of the first row as an integer (PRAGMA user_version, ...).
  [[nodiscard]] Result<std::int64_t> query_int(std::string_view sql);
  [[nodiscard]] std::int64_t last_insert_rowid() const;
  [[nodiscard]] int changes() const;
  // False when SQLite is in autocommit mode (no transaction open).
  [[nodiscard]] bool in_transaction() const;
  [[nodiscard]] sqlite3* get() const noexcept { return db_; }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

}  // namespace qtw::store::sqlite

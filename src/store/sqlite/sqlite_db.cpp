#include "store/sqlite/sqlite_db.h"

#include <sqlite3.h>

#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace qtw::store::sqlite {

// SQL text -> its idle prepared statements. Node-based map: a slot's
// address is stable, so a Stmt can hold it; slots are never erased while
// the connection lives. The mutex covers Stmts released on any thread.
class StmtCache {
 public:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::mutex mu;
  std::unordered_map<std::string, std::vector<sqlite3_stmt*>, Hash, std::equal_to<>> slots;
};

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  const int ext = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  const int primary = rc & 0xff;
  ErrorCode code = ErrorCode::kStore;
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
    code = ErrorCode::kCorrupt;
  } else if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY) {
    code = ErrorCode::kAlreadyExists;
  }
  std::string msg(what);
  msg += ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Error{code, std::move(msg), ext};
}

Stmt::Stmt(Stmt&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      stmt_(std::exchange(other.stmt_, nullptr)),
      cache_(std::exchange(other.cache_, nullptr)),
      free_list_(std::exchange(other.free_list_, nullptr)),
      bind_rc_(other.bind_rc_) {}

Stmt& Stmt::operator=(Stmt&& other) noexcept {
  if (this != &other) {
    release();
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
    cache_ = std::exchange(other.cache_, nullptr);
    free_list_ = std::exchange(other.free_list_, nullptr);
    bind_rc_ = other.bind_rc_;
  }
  return *this;
}

Stmt::~Stmt() { release(); }

void Stmt::release() noexcept {
  if (stmt_ == nullptr) return;
  if (free_list_ == nullptr) {
    sqlite3_finalize(stmt_);
  } else {
    // Reset ends its read of the database now, as finalize did; its error
    // code (the last step's) was already reported by step().
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    // The owning Db is alive: Stmts never outlive their connection.
    std::lock_guard lock(cache_->mu);
    free_list_->push_back(stmt_);
  }
  stmt_ = nullptr;
  cache_ = nullptr;
  free_list_ = nullptr;
}

Stmt& Stmt::bind(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_rc_ == 0) bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::bind(int index, std::span<const std::uint8_t> blob) {
  // An empty span still binds a zero-length blob (not NULL).
  static const std::uint8_t kEmpty = 0;
  const int rc = sqlite3_bind_blob64(stmt_, index, blob.empty() ? &kEmpty : blob.data(),
                                     blob.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_rc_ == 0) bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::bind_text(int index, std::string_view text) {
  const int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT,
                                     SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_rc_ == 0) bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::bind_null(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_rc_ == 0) bind_rc_ = rc;
  return *this;
}

Result<bool> Stmt::step() {
  if (bind_rc_ != 0) return tl::unexpected(sqlite_error(db_, bind_rc_, "binding parameters"));
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return tl::unexpected(sqlite_error(db_, rc, sqlite3_sql(stmt_)));
}

Status Stmt::run() {
  while (true) {
    QTW_ASSIGN_OR_RETURN(bool row, step());
    if (!row) return {};
  }
}

bool Stmt::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
std::int64_t Stmt::int64(int col) const { return sqlite3_column_int64(stmt_, col); }

std::span<const std::uint8_t> Stmt::blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  const int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr || n <= 0) return {};
  return {static_cast<const std::uint8_t*>(p), static_cast<std::size_t>(n)};
}

std::string Stmt::text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  const int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
}

Db::Db() = default;
Db::Db(sqlite3* db) : db_(db), cache_(std::make_unique<StmtCache>()) {}

Db::Db(Db&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), cache_(std::move(other.cache_)) {}

Db& Db::operator=(Db&& other) noexcept {
  if (this != &other) {
    close();
    db_ = std::exchange(other.db_, nullptr);
    cache_ = std::move(other.cache_);
  }
  return *this;
}

Db::~Db() { close(); }

void Db::close() noexcept {
  if (cache_) {
    for (auto& [sql, idle] : cache_->slots) {
      for (auto* st : idle) sqlite3_finalize(st);
    }
    cache_.reset();
  }
  if (db_ != nullptr) sqlite3_close_v2(db_);
  db_ = nullptr;
}

std::size_t Db::cached_sql_count() const noexcept {
  if (!cache_) return 0;
  std::lock_guard lock(cache_->mu);
  return cache_->slots.size();
}

Result<Db> Db::open(const std::filesystem::path& path) {
  sqlite3* raw = nullptr;
  // NOFOLLOW: a symlink planted at the store path is refused.
  const int rc = sqlite3_open_v2(path.c_str(), &raw,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX |
                                     SQLITE_OPEN_NOFOLLOW,
                                 nullptr);
  Db db(raw);  // closes on every path below
  if (rc != SQLITE_OK) {
    return tl::unexpected(sqlite_error(raw, rc, "opening " + path.string()));
  }
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

Status Db::exec(std::string_view sql) {
  if (sql.find_first_not_of(" \t\r\n") == std::string_view::npos) return {};
  if (sql.find(';') == std::string_view::npos) {
    QTW_ASSIGN_OR_RETURN(Stmt st, prepare(sql));
    return st.run();
  }
  char* err = nullptr;
  const std::string s(sql);
  const int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (err != nullptr) sqlite3_free(err);
  if (rc != SQLITE_OK) return tl::unexpected(sqlite_error(db_, rc, s));
  return {};
}

Result<Stmt> Db::prepare(std::string_view sql) {
  if (cache_) {
    std::lock_guard lock(cache_->mu);
    auto it = cache_->slots.find(sql);
    if (it != cache_->slots.end() && !it->second.empty()) {
      sqlite3_stmt* idle = it->second.back();
      it->second.pop_back();
      return Stmt(db_, idle, cache_.get(), &it->second);
    }
  }
  sqlite3_stmt* stmt = nullptr;
  // PERSISTENT: the statement is kept for the connection's life (SQLite
  // allocates it outside its short-lived lookaside memory).
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    cache_ ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, nullptr);
  if (rc != SQLITE_OK) return tl::unexpected(sqlite_error(db_, rc, sql));
  if (stmt == nullptr) {
    // Only whitespace or a comment: nothing to run.
    return make_error(ErrorCode::kStore, std::string(sql) + ": empty statement");
  }
  if (cache_) {
    std::lock_guard lock(cache_->mu);
    auto it = cache_->slots.find(sql);
    if (it == cache_->slots.end() && cache_->slots.size() < kMaxCachedSql) {
      it = cache_->slots.emplace(std::string(sql), std::vector<sqlite3_stmt*>{}).first;
    }
    if (it != cache_->slots.end()) return Stmt(db_, stmt, cache_.get(), &it->second);
  }
  return Stmt(db_, stmt);
}

Result<std::int64_t> Db::query_int(std::string_view sql) {
  QTW_ASSIGN_OR_RETURN(Stmt st, prepare(sql));
  QTW_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) return make_error(ErrorCode::kStore, std::string(sql) + ": no row");
  return st.int64(0);
}

std::int64_t Db::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int Db::changes() const { return sqlite3_changes(db_); }
bool Db::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

}  // namespace qtw::store::sqlite

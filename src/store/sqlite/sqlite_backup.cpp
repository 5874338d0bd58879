// qtw backup for SQLite stores (see qtw/store/sqlite_store.h).
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>

#include "qtw/store/sqlite_store.h"

namespace qtw::store {
namespace {

// Closes a sqlite3 handle on scope exit.
struct DbCloser {
  sqlite3* db = nullptr;
  ~DbCloser() {
    if (db != nullptr) sqlite3_close_v2(db);
  }
};

// Removes the temporary copy unless released.
struct TempFile {
  std::string path;
  bool keep = false;
  ~TempFile() {
    if (!keep && !path.empty()) {
      ::unlink(path.c_str());
      ::unlink((path + "-wal").c_str());
      ::unlink((path + "-shm").c_str());
      ::unlink((path + "-journal").c_str());
    }
  }
};

Error sql_error(sqlite3* db, int rc, const std::string& what) {
  return Error{rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB ? ErrorCode::kCorrupt : ErrorCode::kStore,
               what + ": " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)), rc};
}

Status exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return {};
  std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  return make_error(ErrorCode::kStore, std::string(sql) + ": " + msg, rc);
}

}  // namespace

Result<SqliteBackupReport> backup_sqlite_store(const std::filesystem::path& store,
                                               const std::filesystem::path& out,
                                               const SqliteBackupOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(store, ec)) {
    return make_error(ErrorCode::kNotFound, "no SQLite store at " + store.string());
  }
  if (!options.overwrite && std::filesystem::symlink_status(out, ec).type() !=
                                std::filesystem::file_type::not_found) {
    return make_error(ErrorCode::kAlreadyExists,
                      out.string() + " exists; refusing to overwrite it (--force replaces it)");
  }
  // The source, read only: the copy never writes to the live store.
  DbCloser src;
  int rc = sqlite3_open_v2(store.c_str(), &src.db, SQLITE_OPEN_READONLY, nullptr);
  if (rc != SQLITE_OK) return tl::unexpected(sql_error(src.db, rc, "opening " + store.string()));
  sqlite3_busy_timeout(src.db, options.busy_timeout_ms);

  // The destination: a fresh 0600 file beside `out` (same filesystem, so the
  // final rename is atomic), created before SQLite opens it.
  TempFile tmp;
  tmp.path = out.string() + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(tmp.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    const int err = errno;
    tmp.path.clear();
    return make_error(ErrorCode::kIo, "cannot create " + out.string() + ".tmp-*: " + std::strerror(err), err);
  }
  ::close(fd);
  DbCloser dst;
  rc = sqlite3_open_v2(tmp.path.c_str(), &dst.db, SQLITE_OPEN_READWRITE, nullptr);
  if (rc != SQLITE_OK) return tl::unexpected(sql_error(dst.db, rc, "opening " + tmp.path));

  sqlite3_backup* b = sqlite3_backup_init(dst.db, "main", src.db, "main");
  if (b == nullptr) return tl::unexpected(sql_error(dst.db, sqlite3_errcode(dst.db), "backup"));
  // All pages in one step: one read transaction, so one consistent snapshot.
  // BUSY/LOCKED (a checkpoint holding a lock) is retried.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options.busy_timeout_ms);
  do {
    rc = sqlite3_backup_step(b, -1);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      if (std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
  SqliteBackupReport report;
  report.pages = static_cast<std::uint64_t>(sqlite3_backup_pagecount(b));
  const int finish = sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) return tl::unexpected(sql_error(src.db, rc, "copying " + store.string()));
  if (finish != SQLITE_OK) return tl::unexpected(sql_error(dst.db, finish, "finishing the copy"));
  if (options.before_publish) {
    sqlite3_close_v2(dst.db);
    dst.db = nullptr;
    QTW_TRY(options.before_publish(tmp.path));
    rc = sqlite3_open_v2(tmp.path.c_str(), &dst.db, SQLITE_OPEN_READWRITE, nullptr);
    if (rc != SQLITE_OK) return tl::unexpected(sql_error(dst.db, rc, "reopening " + tmp.path));
  }

  // One self-contained file (no -wal beside it), checked, on disk.
  QTW_TRY(exec(dst.db, "PRAGMA journal_mode = DELETE"));
  sqlite3_stmt* st = nullptr;
  rc = sqlite3_prepare_v2(dst.db, "PRAGMA integrity_check", -1, &st, nullptr);
  if (rc != SQLITE_OK) return tl::unexpected(sql_error(dst.db, rc, "checking the copy"));
  std::string problems;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const auto* line = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    if (line != nullptr && std::strcmp(line, "ok") != 0 && problems.size() < 300) {
      problems += std::string(problems.empty() ? "" : "; ") + line;
    }
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return tl::unexpected(sql_error(dst.db, rc, "checking the copy"));
  if (!problems.empty()) {
    return make_error(ErrorCode::kCorrupt, "the copy failed PRAGMA integrity_check: " + problems);
  }
  sqlite3_close_v2(dst.db);
  dst.db = nullptr;
  const int sync_fd = ::open(tmp.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (sync_fd < 0 || ::fsync(sync_fd) != 0) {
    const int err = errno;
    if (sync_fd >= 0) ::close(sync_fd);
    return make_error(ErrorCode::kIo, "fsync " + tmp.path + ": " + std::strerror(err), err);
  }
  ::close(sync_fd);
  report.bytes = std::filesystem::file_size(tmp.path, ec);

  const unsigned flags = options.overwrite ? 0u : RENAME_NOREPLACE;
  if (::renameat2(AT_FDCWD, tmp.path.c_str(), AT_FDCWD, out.c_str(), flags) != 0) {
    const int err = errno;
    return make_error(err == EEXIST ? ErrorCode::kAlreadyExists : ErrorCode::kIo,
                      "cannot move the copy to " + out.string() + ": " + std::strerror(err), err);
  }
  tmp.keep = true;
  // The rename is durable once the directory is.
  const auto dir = out.has_parent_path() ? out.parent_path() : std::filesystem::path(".");
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return report;
}

}  // namespace qtw::store

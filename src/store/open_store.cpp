#include "qtw/store/open_store.h"

#include <filesystem>
#include <string>

#include "qtw/store/sqlite_store.h"
#ifdef QTW_WITH_POSTGRES
#include "qtw/store/postgres_store.h"
#endif

namespace qtw::store {

bool is_postgres_location(std::string_view location) noexcept {
  return location.starts_with("postgresql://") || location.starts_with("postgres://") ||
         location.find("dbname=") != std::string_view::npos;
}

Result<std::unique_ptr<KeyStore>> open_store(std::string_view location,
                                             const OpenStoreOptions& options) {
  if (location.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "no store given: pass --store PATH|postgresql://... or set [store] path");
  }
  if (is_postgres_location(location)) {
#ifdef QTW_WITH_POSTGRES
    PostgresStoreOptions pg;
    pg.create_if_missing = options.create_if_missing;
    pg.take_over_dead_leader = options.take_over_dead_leader;
    pg.pool_size = options.postgres_pool_size;
    return open_postgres_store(location, pg);
#else
    return make_error(ErrorCode::kUnavailable,
                      "this qtw was built without the PostgreSQL store (QTW_WITH_POSTGRES=OFF)");
#endif
  }
  if (location.starts_with("sqlite:")) location.remove_prefix(7);
  SqliteStoreOptions sqlite;
  sqlite.create_if_missing = options.create_if_missing;
  return open_sqlite_store(std::filesystem::path(std::string(location)), sqlite);
}

}  // namespace qtw::store

#pragma once
// Opens the store a location names: "postgresql://..." / "postgres://..." or
// a libpq key=value string with "dbname=" selects PostgreSQL; anything else
// is a SQLite file path ("sqlite:" prefix optional). See README.md, Default locations.
#include <memory>
#include <string_view>

#include "qtw/result.h"
#include "qtw/store/key_store.h"

namespace qtw::store {

struct OpenStoreOptions {
  // Create the file/schema when missing (qtw init, qtw rescue). Default false:
  // a missing store is kNotFound with a hint to run `qtw init`.
  bool create_if_missing = false;
  // PostgreSQL: PostgresStoreOptions::take_over_dead_leader (the CLI and the
  // daemon set it: their lease owners are real processes).
  bool take_over_dead_leader = false;
};

// True when `location` names a PostgreSQL database.
[[nodiscard]] bool is_postgres_location(std::string_view location) noexcept;

// Errors: as open_sqlite_store / open_postgres_store; kUnavailable when a
// PostgreSQL location is given to a build without the PostgreSQL backend.
[[nodiscard]] Result<std::unique_ptr<KeyStore>> open_store(std::string_view location,
                                                           const OpenStoreOptions& options = {});

}  // namespace qtw::store

#include "store_backends.h"

#include "qtw/store/sqlite_store.h"

namespace qtw::store::testing {

std::vector<StoreBackend> store_backends() {
  std::vector<StoreBackend> out;
  out.push_back({"sqlite", [](const std::filesystem::path& scratch, TestClock& clock) {
                   SqliteStoreOptions options;
                   options.create_if_missing = true;
                   options.clock_ms = clock.fn();
                   options.actor = "test";
                   return open_sqlite_store(scratch / "qtw.db", options);
                 }});
  // PostgreSQL joins here (guarded by its server being available).
  return out;
}

}  // namespace qtw::store::testing

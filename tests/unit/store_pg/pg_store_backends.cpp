// The PostgreSQL entry of the shared KeyStore suite: this binary runs
// tests/unit/store/key_store_suite_test.cpp, unchanged, against PostgreSQL
// (store_test runs the same file against SQLite). Each store is a fresh
// schema of the shared test cluster.
#include "qtw/store/postgres_store.h"
#include "store_backends.h"
#include "support/pg_cluster.h"

namespace qtw::store::testing {

std::vector<StoreBackend> store_backends() {
  std::vector<StoreBackend> out;
  out.push_back({"postgres",
                 [](const std::filesystem::path&, TestClock& clock)
                     -> Result<std::unique_ptr<KeyStore>> {
                   auto* cluster = qtw::testing::PgCluster::shared();
                   if (cluster == nullptr) {
                     return make_error(ErrorCode::kUnavailable, "no PostgreSQL test cluster");
                   }
                   QTW_ASSIGN_OR_RETURN(std::string uri, cluster->fresh_schema_uri());
                   PostgresStoreOptions options;
                   options.create_if_missing = true;
                   options.clock_ms = clock.fn();
                   options.actor = "test";
                   return open_postgres_store(uri, options);
                 }});
  return out;
}

}  // namespace qtw::store::testing

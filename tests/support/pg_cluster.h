#pragma once
// A real PostgreSQL server for tests (docs/ARCHITECTURE.md, Test rig), run by
// scripts/pg-test-cluster: initdb in a temporary directory as an
// unprivileged user, a free loopback port, removed on destruction.
//
// PgCluster::shared() is the one cluster of a test process: the one a ctest
// fixture started (env QTW_PG_STATE names the script's state file: URI, dir)
// or, when the binary runs alone, one it starts itself and stops at exit.
// Tests that restart or break the server start a private one with start().
//
// Thread safety: fresh_schema_uri() may be called from any thread; restart()
// and destruction only from the owning thread.
#include <memory>
#include <string>

#include "qtw/result.h"

namespace qtw::testing {

class PgCluster {
 public:
  // Starts a new cluster (about 3-5 s: initdb + start). kUnavailable if the
  // PostgreSQL binaries are missing or the server does not come up.
  static Result<std::unique_ptr<PgCluster>> start();
  // The process-wide cluster (see above); nullptr and a message on stderr
  // when none can be started.
  static PgCluster* shared();

  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;
  ~PgCluster();  // stops and removes the cluster if this object started it

  // Superuser URI of the `qtw` database, e.g. postgresql://qtw@127.0.0.1:5xxxx/qtw.
  const std::string& uri() const { return uri_; }
  const std::string& dir() const { return dir_; }
  // pg_ctl restart -m fast (every session is dropped; same port).
  Status restart();
  // Creates an empty schema with a unique name and returns a URI whose
  // search_path selects it: one fresh, isolated store per call.
  Result<std::string> fresh_schema_uri();
  // Runs one SQL statement as superuser on the qtw database (test set-up,
  // pg_terminate_backend, ...). Returns the first column of the first row
  // ("" when none).
  Result<std::string> sql(const std::string& statement);

 private:
  PgCluster(std::string uri, std::string dir, bool owned)
      : uri_(std::move(uri)), dir_(std::move(dir)), owned_(owned) {}
  std::string uri_;
  std::string dir_;
  bool owned_ = false;
};

}  // namespace qtw::testing

#include "support/pg_cluster.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <pqxx/pqxx>
#include <random>

namespace qtw::testing {
namespace {

std::string script() { return std::string(QTW_SOURCE_DIR) + "/scripts/pg-test-cluster"; }

Result<std::pair<std::string, std::string>> read_state(const std::string& path) {
  std::ifstream in(path);
  std::string uri, dir;
  if (!std::getline(in, uri) || !std::getline(in, dir) || uri.empty() || dir.empty()) {
    return make_error(ErrorCode::kNotFound, "no cluster state in " + path);
  }
  return std::pair{uri, dir};
}

}  // namespace

Result<std::unique_ptr<PgCluster>> PgCluster::start() {
  char tmpl[] = "/tmp/qtw-pg-state-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  if (fd < 0) return make_error(ErrorCode::kIo, "mkstemp failed");
  ::close(fd);
  const std::string state = tmpl;
  const std::string cmd = script() + " start --state " + state + " >/dev/null";
  const int rc = std::system(cmd.c_str());
  auto st = read_state(state);
  std::remove(state.c_str());
  if (rc != 0 || !st) {
    return make_error(ErrorCode::kUnavailable, "scripts/pg-test-cluster start failed (rc " +
                                                   std::to_string(rc) + ")");
  }
  return std::unique_ptr<PgCluster>(new PgCluster(st->first, st->second, true));
}

PgCluster* PgCluster::shared() {
  static std::once_flag once;
  static std::unique_ptr<PgCluster> cluster;  // destroyed (stopped) at exit
  std::call_once(once, [] {
    if (const char* state = std::getenv("QTW_PG_STATE"); state != nullptr && *state != '\0') {
      if (auto st = read_state(state)) {
        cluster.reset(new PgCluster(st->first, st->second, false));
        return;
      }
      std::cerr << "QTW_PG_STATE=" << state << " has no cluster; starting one\n";
    }
    auto c = start();
    if (!c) {
      std::cerr << to_string(c.error()) << "\n";
      return;
    }
    cluster = std::move(*c);
  });
  return cluster.get();
}

PgCluster::~PgCluster() {
  if (!owned_) return;
  const std::string cmd = script() + " stop " + dir_ + " >/dev/null 2>&1";
  (void)std::system(cmd.c_str());
}

Status PgCluster::restart() {
  const std::string cmd = script() + " restart " + dir_;
  if (std::system(cmd.c_str()) != 0) return make_error(ErrorCode::kUnavailable, "restart failed");
  return {};
}

Result<std::string> PgCluster::sql(const std::string& statement) {
  try {
    pqxx::connection c(uri_);
    pqxx::nontransaction w(c);
    auto r = w.exec(statement);
    if (r.empty() || r.columns() == 0 || r[0][0].is_null()) return std::string();
    return std::string(r[0][0].c_str());
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kStore, e.what());
  }
}

Result<std::string> PgCluster::fresh_schema_uri() {
  static std::atomic<int> counter{0};
  static const auto salt = std::random_device{}();
  const std::string name = "t" + std::to_string(::getpid()) + "_" + std::to_string(salt % 100000) +
                           "_" + std::to_string(counter++);
  QTW_TRY(sql("CREATE SCHEMA " + name));
  return uri_ + (uri_.find('?') == std::string::npos ? "?" : "&") +
         "options=-csearch_path%3D" + name;
}

}  // namespace qtw::testing

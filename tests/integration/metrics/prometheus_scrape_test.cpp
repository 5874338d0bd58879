// A real Prometheus server scrapes WalletMetrics' exposition over HTTP; the
// test reads the series back through Prometheus's HTTP query API and checks
// names, labels (including escaped label values) and values exactly, then
// changes a counter and waits for the next scrape to show it.
// Bounded: Prometheus must report the series within kDeadline.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "qtw/metrics/prometheus_text.h"
#include "qtw/metrics/wallet_metrics.h"

namespace qtw::metrics {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
constexpr auto kDeadline = std::chrono::seconds(25);

// A free loopback TCP port (bind to 0, read it back, close). Prometheus takes
// a fixed --web.listen-address, so a tiny race with other processes remains.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// The prometheus child process; SIGTERM then SIGKILL on destruction.
class PrometheusProcess {
 public:
  PrometheusProcess(const fs::path& dir, int web_port, int target_port) : dir_(dir) {
    std::ofstream(dir / "prometheus.yml") << "global:\n"
                                             "  scrape_interval: 1s\n"
                                             "  evaluation_interval: 1s\n"
                                             "scrape_configs:\n"
                                             "  - job_name: qtw\n"
                                             "    scrape_interval: 1s\n"
                                             "    scrape_timeout: 1s\n"
                                             "    static_configs:\n"
                                             "      - targets: ['127.0.0.1:"
                                          << target_port << "']\n";
    const std::string config = "--config.file=" + (dir / "prometheus.yml").string();
    const std::string storage = "--storage.tsdb.path=" + (dir / "data").string();
    const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(web_port);
    const std::string log = (dir / "prometheus.log").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (out >= 0) {
        ::dup2(out, 1);
        ::dup2(out, 2);
      }
      ::execlp("prometheus", "prometheus", config.c_str(), storage.c_str(), listen.c_str(),
               "--log.level=warn", "--storage.tsdb.retention.time=1h", static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~PrometheusProcess() { stop(); }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  [[nodiscard]] bool running() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }
  [[nodiscard]] std::string log() const {
    std::ifstream f(dir_ / "prometheus.log");
    return std::string(std::istreambuf_iterator<char>(f), {});
  }

 private:
  fs::path dir_;
  pid_t pid_ = -1;
};

// "name{k="v",...}" with labels sorted, job/instance dropped -> value string.
std::map<std::string, std::string> query_all(httplib::Client& client) {
  std::map<std::string, std::string> out;
  const httplib::Params params{{"query", R"({job="qtw",__name__=~"qtrade_wallets_.*"})"}};
  auto res = client.Get("/api/v1/query", params, httplib::Headers{});
  if (!res || res->status != 200) return out;
  const json body = json::parse(res->body, nullptr, false);
  if (!body.is_object() || body.value("status", "") != "success") return out;
  for (const auto& r : body["data"]["result"]) {
    std::map<std::string, std::string> labels =
        r["metric"].get<std::map<std::string, std::string>>();
    std::string key = labels["__name__"];
    labels.erase("__name__");
    labels.erase("job");
    labels.erase("instance");
    if (!labels.empty()) {
      key += "{";
      bool first = true;
      for (const auto& [k, v] : labels) {
        key += (first ? "" : ",") + k + "=" + v;
        first = false;
      }
      key += "}";
    }
    out[key] = r["value"][1].get<std::string>();
  }
  return out;
}

TEST(PrometheusScrape, RealServerSeesExactValues) {
  if (std::system("command -v prometheus >/dev/null 2>&1") != 0) {
    FAIL() << "prometheus is not installed; run scripts/install-deps";
  }
  WalletMetrics m;
  m.explorer_keys_acquired().inc(5);
  m.explorer_keys_created().inc(20);
  m.total_sol_recovered().inc(17'990'000);
  m.set_keys("explorer", "available", 15);
  m.set_keys("bank", "available", 2);
  const std::uint64_t balances[] = {0, 10'000'000, 10'005'000, 2'000'000'000'000};
  m.record_key_balances("explorer", balances);
  m.rpc_request("getMultipleAccounts");
  m.rpc_error("weird\"method\\x\ny", "transport");

  httplib::Server server;
  std::atomic<int> scrapes{0};
  server.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    ++scrapes;
    res.set_content(write_prometheus_text(m.registry()),
                    std::string(kPrometheusContentType).c_str());
  });
  const int target_port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(target_port, 0);
  std::thread server_thread([&] { server.listen_after_bind(); });

  const fs::path dir = fs::temp_directory_path() / ("qtw_prom_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const int web_port = free_port();
  ASSERT_GT(web_port, 0);
  auto prom = std::make_unique<PrometheusProcess>(dir, web_port, target_port);
  httplib::Client client("127.0.0.1", web_port);
  client.set_connection_timeout(1, 0);
  client.set_read_timeout(2, 0);

  const std::map<std::string, std::string> want = {
      {"qtrade_wallets_explorer_keys_acquired_total", "5"},
      {"qtrade_wallets_explorer_keys_created_total", "20"},
      {"qtrade_wallets_explorer_keys_retired_total", "0"},
      {"qtrade_wallets_total_sol_recovered_total", "17990000"},
      {"qtrade_wallets_keys{state=available,tier=explorer}", "15"},
      {"qtrade_wallets_keys{state=available,tier=bank}", "2"},
      {"qtrade_wallets_key_balance_lamports_count{tier=explorer}", "4"},
      {"qtrade_wallets_key_balance_lamports_sum{tier=explorer}", "2000020005000"},
      {"qtrade_wallets_key_balance_lamports_bucket{le=0,tier=explorer}", "1"},
      {"qtrade_wallets_key_balance_lamports_bucket{le=1e+07,tier=explorer}", "2"},
      {"qtrade_wallets_key_balance_lamports_bucket{le=5e+07,tier=explorer}", "3"},
      {"qtrade_wallets_key_balance_lamports_bucket{le=1e+11,tier=explorer}", "3"},
      {"qtrade_wallets_key_balance_lamports_bucket{le=+Inf,tier=explorer}", "4"},
      {"qtrade_wallets_balancer_cycle_duration_seconds_count", "0"},
      {"qtrade_wallets_rpc_requests_total{method=getMultipleAccounts}", "1"},
      {"qtrade_wallets_rpc_errors_total{error=transport,method=weird\"method\\x\ny}", "1"},
  };
  const auto start = std::chrono::steady_clock::now();
  std::map<std::string, std::string> got;
  auto matches = [&](const std::map<std::string, std::string>& expected) {
    for (const auto& [k, v] : expected) {
      auto it = got.find(k);
      if (it == got.end() || it->second != v) return false;
    }
    return true;
  };
  while (std::chrono::steady_clock::now() - start < kDeadline && prom->running()) {
    got = query_all(client);
    if (matches(want)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  const auto first_seen = std::chrono::steady_clock::now() - start;
  for (const auto& [k, v] : want) {
    auto it = got.find(k);
    EXPECT_TRUE(it != got.end() && it->second == v)
        << k << " want " << v << " got " << (it == got.end() ? "<missing>" : it->second);
  }
  EXPECT_GT(scrapes.load(), 0);

  // Live: a change shows up on a later scrape.
  m.explorer_keys_acquired().inc(37);
  const std::map<std::string, std::string> want2 = {
      {"qtrade_wallets_explorer_keys_acquired_total", "42"}};
  while (std::chrono::steady_clock::now() - start < kDeadline && prom->running()) {
    got = query_all(client);
    if (matches(want2)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_TRUE(matches(want2)) << "counter change not scraped";
  std::cout << "prometheus: series visible after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(first_seen).count() << " ms, "
            << scrapes.load() << " scrapes\n";
  if (::testing::Test::HasFailure()) std::cout << "prometheus log:\n" << prom->log();

  prom->stop();
  server.stop();
  server_thread.join();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace qtw::metrics

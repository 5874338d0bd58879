#include "qtw/metrics/prometheus_text.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>

#include "qtw/metrics/wallet_metrics.h"

namespace qtw::metrics {
namespace {

TEST(PrometheusText, NamesAndEscaping) {
  EXPECT_EQ(prometheus_name("qtrade.wallets.keys"), "qtrade_wallets_keys");
  EXPECT_EQ(prometheus_name("a:b_c"), "a:b_c");
  EXPECT_EQ(prometheus_name("9x"), "_9x");
  EXPECT_EQ(escape_label_value(R"(a\b"c)"
                               "\n"
                               "d"),
            R"(a\\b\"c\nd)");
  EXPECT_EQ(format_double(0.25), "0.25");
  EXPECT_EQ(format_double(1), "1");
  EXPECT_EQ(format_double(890880), "890880");
  EXPECT_EQ(format_double(1e11), "1e+11");  // Go strconv 'g' form, what client_golang writes
  EXPECT_EQ(format_double(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_double(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_double(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(PrometheusText, Golden) {
  Registry registry;
  auto requests = *registry.counter_family("qtrade.wallets.rpc_requests", "JSON-RPC requests",
                                           "{request}", {"method"});
  (*requests->with({"getMultipleAccounts"}))->inc(3);
  (*requests->with({"getBalance"}))->inc();
  auto already_total = *registry.counter_family("x.done_total", "Has the suffix already", "");
  (*already_total->with(std::span<const std::string_view>{}))->inc(7);
  auto keys = *registry.gauge_family("qtrade.wallets.keys", "Keys by tier\\state\nsecond line", "",
                                     {"tier", "state"});
  (*keys->with({"explorer", "available"}))->set(12);
  (*keys->with({"bank", "weird \"q\" \\ \n"}))->set(-1);
  auto cycle = *registry.histogram_family("b.cycle_seconds", "Cycle time", "s", {0.5, 1, 2.5});
  Histogram& h = **cycle->with(std::span<const std::string_view>{});
  h.observe(0.25);
  h.observe(0.5);
  h.observe(2);
  h.observe(7);
  auto empty = *registry.gauge_family("c.empty", "No samples yet", "", {"k"});
  (void)empty;

  const std::string expected =
      "# HELP b_cycle_seconds Cycle time\n"
      "# TYPE b_cycle_seconds histogram\n"
      "b_cycle_seconds_bucket{le=\"0.5\"} 2\n"
      "b_cycle_seconds_bucket{le=\"1\"} 2\n"
      "b_cycle_seconds_bucket{le=\"2.5\"} 3\n"
      "b_cycle_seconds_bucket{le=\"+Inf\"} 4\n"
      "b_cycle_seconds_sum 9.75\n"
      "b_cycle_seconds_count 4\n"
      "# HELP c_empty No samples yet\n"
      "# TYPE c_empty gauge\n"
      "# HELP qtrade_wallets_keys Keys by tier\\\\state\\nsecond line\n"
      "# TYPE qtrade_wallets_keys gauge\n"
      "qtrade_wallets_keys{tier=\"bank\",state=\"weird \\\"q\\\" \\\\ \\n\"} -1\n"
      "qtrade_wallets_keys{tier=\"explorer\",state=\"available\"} 12\n"
      "# HELP qtrade_wallets_rpc_requests_total JSON-RPC requests\n"
      "# TYPE qtrade_wallets_rpc_requests_total counter\n"
      "qtrade_wallets_rpc_requests_total{method=\"getBalance\"} 1\n"
      "qtrade_wallets_rpc_requests_total{method=\"getMultipleAccounts\"} 3\n"
      "# HELP x_done_total Has the suffix already\n"
      "# TYPE x_done_total counter\n"
      "x_done_total 7\n";
  EXPECT_EQ(write_prometheus_text(registry), expected);
}

TEST(PrometheusText, LabelledHistogramPutsLeLast) {
  Registry registry;
  auto fam = *registry.histogram_family("h", "h", "", {10}, {"tier"});
  (*fam->with({"bank"}))->observe(3);
  EXPECT_EQ(write_prometheus_text(registry),
            "# HELP h h\n# TYPE h histogram\n"
            "h_bucket{tier=\"bank\",le=\"10\"} 1\n"
            "h_bucket{tier=\"bank\",le=\"+Inf\"} 1\n"
            "h_sum{tier=\"bank\"} 3\n"
            "h_count{tier=\"bank\"} 1\n");
}

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

// Runs `promtool check metrics` with text on stdin; returns exit code and output.
CommandResult promtool_check(const std::string& text) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto path = dir / ("qtw_promtool_" + std::to_string(::getpid()) + ".txt");
  {
    std::ofstream f(path, std::ios::binary);
    f << text;
  }
  CommandResult r;
  const std::string cmd = "promtool check metrics < '" + path.string() + "' 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), p) != nullptr) r.output += buf.data();
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::filesystem::remove(path);
  return r;
}

WalletMetrics& populated(WalletMetrics& m) {
  m.explorer_keys_acquired().inc(5);
  m.explorer_keys_retired().inc(2);
  m.explorer_keys_created().inc(20);
  m.explorer_keys_funds_recovered().inc(2);
  m.bank_keys_funded().inc(1);
  m.total_sol_recovered().inc(17'990'000);
  m.fees_paid_lamports().inc(110'000);
  m.set_keys("explorer", "available", 15);
  m.set_keys("explorer", "leased", 3);
  m.set_keys("bank", "available", 2);
  const std::uint64_t balances[] = {0, 10'000'000, 10'005'000, 100'000'000};
  m.record_key_balances("explorer", balances);
  m.record_balancer_cycle(0.042);
  m.rpc_request("getMultipleAccounts");
  m.rpc_request("sendTransaction");
  m.rpc_error("sendTransaction", "rpc");
  m.rpc_error("get\"weird\\method\n", "transport");
  return m;
}

TEST(PrometheusText, PromtoolAcceptsWalletMetrics) {
  WalletMetrics m;
  const std::string text = write_prometheus_text(populated(m).registry());
  const auto r = promtool_check(text);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n---\n" << text;
  EXPECT_EQ(r.output, "") << text;
}

TEST(PrometheusText, PromtoolRejectsBrokenText) {
  // Shows the check above can fail: an unescaped quote in a label value and a
  // counter without _total are reported.
  EXPECT_EQ(promtool_check("# TYPE a counter\na{x=\"\"\"} 1\n").exit_code, 1);
  EXPECT_NE(promtool_check("# HELP a h\n# TYPE a counter\na 1\n").exit_code, 0);
}

}  // namespace
}  // namespace qtw::metrics

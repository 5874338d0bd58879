#include "qtw/metrics/wallet_metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "qtw/metrics/prometheus_text.h"

namespace qtw::metrics {
namespace {

const FamilySnapshot* find(const std::vector<FamilySnapshot>& families, std::string_view name) {
  for (const auto& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

TEST(WalletMetrics, SeedNamesAreRegisteredWithTheRightKinds) {
  WalletMetrics m;
  const auto families = m.registry().collect();
  struct Want {
    const char* name;
    MetricKind kind;
    std::vector<std::string> labels;
    const char* unit;
  };
  const Want wants[] = {
      {"qtrade.wallets.explorer_keys_acquired", MetricKind::kCounter, {}, "{key}"},
      {"qtrade.wallets.explorer_keys_retired", MetricKind::kCounter, {}, "{key}"},
      {"qtrade.wallets.explorer_keys_created", MetricKind::kCounter, {}, "{key}"},
      {"qtrade.wallets.explorer_keys_funds_recovered", MetricKind::kCounter, {}, "{key}"},
      {"qtrade.wallets.bank_keys_funded", MetricKind::kCounter, {}, "{key}"},
      {"qtrade.wallets.total_sol_recovered", MetricKind::kCounter, {}, "lamports"},
      {"qtrade.wallets.fees_paid_lamports", MetricKind::kCounter, {}, "lamports"},
      {"qtrade.wallets.explorers_stranded", MetricKind::kCounter, {}, "{key}"},
      {"qtrade.wallets.tokens_recovered", MetricKind::kCounter, {"mint"}, "{token}"},
      {"qtrade.wallets.token_accounts_closed", MetricKind::kCounter, {}, "{account}"},
      {"qtrade.wallets.rent_recovered_lamports", MetricKind::kCounter, {}, "lamports"},
      {"qtrade.wallets.keys", MetricKind::kGauge, {"tier", "state"}, "{key}"},
      {"qtrade.wallets.key_balance_lamports", MetricKind::kHistogram, {"tier"}, "lamports"},
      {"qtrade.wallets.balancer_cycle_duration_seconds", MetricKind::kHistogram, {}, "s"},
      {"qtrade.wallets.rpc_requests", MetricKind::kCounter, {"method"}, "{request}"},
      {"qtrade.wallets.rpc_errors", MetricKind::kCounter, {"method", "error"}, "{error}"},
      {"qtrade.wallets.key_lamports", MetricKind::kGauge, {"tier", "pubkey"}, "lamports"},
      {"qtrade.wallets.balancer_cycles_failed", MetricKind::kCounter, {}, "{cycle}"},
      {"qtrade.wallets.lease_renewals_failed", MetricKind::kCounter, {}, "{renewal}"},
      {"qtrade.wallets.sign_records_refused", MetricKind::kCounter, {}, "{record}"},
      {"qtrade.wallets.cap_hits", MetricKind::kCounter, {"cap"}, "{event}"},
      {"qtrade.wallets.sign_refused", MetricKind::kCounter, {"rule"}, "{request}"},
      {"qtrade.wallets.rpc_http_requests", MetricKind::kCounter, {"method"}, "{request}"},
  };
  EXPECT_EQ(families.size(), std::size(wants));
  for (const auto& w : wants) {
    const auto* f = find(families, w.name);
    ASSERT_NE(f, nullptr) << w.name;
    EXPECT_EQ(f->kind, w.kind) << w.name;
    EXPECT_EQ(f->label_names, w.labels) << w.name;
    EXPECT_EQ(f->unit, w.unit) << w.name;
  }
}

TEST(WalletMetrics, CountersMatchWhatWasDoneExactly) {
  WalletMetrics m;
  constexpr int kThreads = 6;
  constexpr int kPerThread = 50'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < kPerThread; ++i) {
        m.explorer_keys_acquired().inc();
        if (i % 10 == 0) m.explorer_keys_retired().inc();
        m.total_sol_recovered().inc(5'000);
        m.rpc_request(t % 2 == 0 ? "getBalance" : "sendTransaction");
        if (i % 100 == 0) m.rpc_error("sendTransaction", "timeout");
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(m.explorer_keys_acquired().value(), 300'000u);
  EXPECT_EQ(m.explorer_keys_retired().value(), 30'000u);
  EXPECT_EQ(m.total_sol_recovered().value(), 1'500'000'000u);
  EXPECT_EQ(m.rpc_requests_value("getBalance"), 150'000u);
  EXPECT_EQ(m.rpc_requests_value("sendTransaction"), 150'000u);
  EXPECT_EQ(m.rpc_errors_value("sendTransaction", "timeout"), 3'000u);
  EXPECT_EQ(m.rpc_errors_value("getBalance", "timeout"), 0u);
  EXPECT_EQ(m.explorer_keys_created().value(), 0u);
}

TEST(WalletMetrics, GaugesAndHistograms) {
  WalletMetrics m;
  m.set_keys("explorer", "available", 40);
  m.keys("explorer", "available").add(-3);
  m.set_keys("bank", "available", 2);
  EXPECT_EQ(m.keys_value("explorer", "available"), 37);
  EXPECT_EQ(m.keys_value("bank", "available"), 2);
  EXPECT_EQ(m.keys_value("hodl", "available"), 0);

  // Bounds: 0, 5000, 890880, 1e6, 1e7, 5e7, 1e8, 1e9, 1e10, 1e11.
  const std::uint64_t balances[] = {0, 0, 5'000, 10'000'000, 10'000'001, 2'000'000'000'000};
  m.record_key_balances("explorer", balances);
  const auto s = m.key_balance("explorer").snapshot();
  ASSERT_EQ(s.bucket_counts.size(), 11u);
  EXPECT_EQ(s.bucket_counts, std::vector<std::uint64_t>({2, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1}));
  EXPECT_EQ(s.count, 6u);
  EXPECT_EQ(s.sum, 2'000'020'005'001.0);
  EXPECT_EQ(m.key_balance("bank").count(), 0u);

  m.record_balancer_cycle(0.3);
  m.record_balancer_cycle(0.01);
  EXPECT_EQ(m.balancer_cycle_duration().count(), 2u);
  EXPECT_DOUBLE_EQ(m.balancer_cycle_duration().sum(), 0.31);
}

TEST(WalletMetrics, PrometheusSeedNames) {
  WalletMetrics m;
  m.explorer_keys_acquired().inc(3);
  m.total_sol_recovered().inc(1234);
  const std::string text = write_prometheus_text(m.registry());
  EXPECT_NE(text.find("\nqtrade_wallets_explorer_keys_acquired_total 3\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("\nqtrade_wallets_total_sol_recovered_total 1234\n"), std::string::npos);
  EXPECT_NE(text.find("\nqtrade_wallets_balancer_cycle_duration_seconds_count 0\n"),
            std::string::npos);
}

TEST(WalletMetrics, PerKeyLamportGaugesCapHitsAndFailedCycles) {
  WalletMetrics m;
  // Every cap is exported at 0 before its first hit.
  std::string text = write_prometheus_text(m.registry());
  for (std::string_view cap : kCapNames) {
    EXPECT_NE(text.find("qtrade_wallets_cap_hits_total{cap=\"" + std::string(cap) + "\"} 0\n"),
              std::string::npos)
        << cap << "\n"
        << text;
  }
  EXPECT_NE(text.find("\nqtrade_wallets_balancer_cycles_failed_total 0\n"), std::string::npos);

  m.set_key_lamports("hodl", "HodL1111", 20'000'000'000);
  m.set_key_lamports("bank", "Bank1111", 5);
  m.set_key_lamports("bank", "Bank1111", 900'000'000);  // the last read wins
  m.cap_hits("bank_outflow").inc();
  m.balancer_cycles_failed().inc(2);
  EXPECT_EQ(m.key_lamports("bank", "Bank1111").value(), 900'000'000);
  text = write_prometheus_text(m.registry());
  EXPECT_NE(text.find("qtrade_wallets_key_lamports{tier=\"hodl\",pubkey=\"HodL1111\"} "
                      "20000000000\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("qtrade_wallets_key_lamports{tier=\"bank\",pubkey=\"Bank1111\"} 900000000\n"),
            std::string::npos);
  EXPECT_NE(text.find("qtrade_wallets_cap_hits_total{cap=\"bank_outflow\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("\nqtrade_wallets_balancer_cycles_failed_total 2\n"), std::string::npos);
}

// The recovery metrics of issues 12 and 13, under the names the issues give.
TEST(WalletMetrics, RecoveryAndTokenNames) {
  WalletMetrics m;
  m.explorers_stranded().inc(3);
  m.tokens_recovered("So11111111111111111111111111111111111111112").inc(50);
  m.tokens_recovered("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v").inc(7);
  m.token_accounts_closed().inc(4);
  m.rent_recovered_lamports().inc(8157120);
  const std::string text = write_prometheus_text(m.registry());
  for (const char* line :
       {"\nqtrade_wallets_explorers_stranded_total 3\n",
        "\nqtrade_wallets_tokens_recovered_total{mint=\"So11111111111111111111111111111111111111112\"} 50\n",
        "\nqtrade_wallets_tokens_recovered_total{mint=\"EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v\"} 7\n",
        "\nqtrade_wallets_token_accounts_closed_total 4\n",
        "\nqtrade_wallets_rent_recovered_lamports_total 8157120\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << " in\n" << text;
  }
}

}  // namespace
}  // namespace qtw::metrics

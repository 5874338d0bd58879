// OTLP/HTTP export, end to end: OtlpPusher POSTs to otlp_receiver.mjs, which
// decodes the body with protobufjs and the official opentelemetry-proto
// definitions; these tests assert on the decoded structure field by field.
#include "qtw/metrics/otlp.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "qtw/metrics/wallet_metrics.h"
#include "support/localnet.h"

namespace qtw::metrics {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

class OtlpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("qtw_otlp_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const char* node = std::getenv("QTW_NODE");
    auto proc = test::ReadyProcess::spawn(
        {node != nullptr ? node : "node", test::source_path("tests/unit/metrics/otlp_receiver.mjs"),
         "--out-dir", dir_.string(), "--port", "0"},
        20'000);
    ASSERT_TRUE(proc) << to_string(proc.error());
    receiver_ = std::move(*proc);
  }
  void TearDown() override {
    if (receiver_) receiver_->stop();
    fs::remove_all(dir_);
  }

  // The n-th decoded request (1-based), waiting up to timeout for it.
  json request(int n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto path = dir_ / ("request-" + std::to_string(n) + ".json");
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!fs::exists(path) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::ifstream f(path);
    if (!f) return json();
    return json::parse(f, nullptr, false);
  }
  int count_files(std::string_view prefix) {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().filename().string().starts_with(prefix)) ++n;
    }
    return n;
  }

  fs::path dir_;
  std::unique_ptr<test::ReadyProcess> receiver_;
};

const json* find_metric(const json& req, std::string_view name) {
  for (const auto& m : req["resource_metrics"][0]["scope_metrics"][0]["metrics"]) {
    if (m["name"] == name) return &m;
  }
  return nullptr;
}

// Attributes array -> {key: string_value}, checking each value is a string.
std::map<std::string, std::string> attrs(const json& list) {
  std::map<std::string, std::string> out;
  for (const auto& kv : list) {
    EXPECT_EQ(kv["value"]["value"], "string_value");
    out[kv["key"].get<std::string>()] = kv["value"]["string_value"].get<std::string>();
  }
  return out;
}

TEST_F(OtlpTest, PushDecodesWithOfficialDefinitions) {
  WalletMetrics m;
  m.explorer_keys_acquired().inc(5);
  m.explorer_keys_created().inc(20);
  m.total_sol_recovered().inc(17'990'000);
  m.set_keys("explorer", "available", 15);
  m.set_keys("bank", "available", 2);
  const std::uint64_t balances[] = {0, 10'000'000, 10'005'000, 2'000'000'000'000};
  m.record_key_balances("explorer", balances);
  m.rpc_request("getMultipleAccounts");
  m.rpc_request("getMultipleAccounts");
  m.rpc_error("sendTransaction", "rpc");

  OtlpPusherOptions options;
  options.endpoint = receiver_->url() + "/";  // a trailing slash is tolerated
  options.resource.service_name = "qtw-test";
  options.resource.service_version = "0.1.0";
  options.resource.service_instance_id = "host-a";
  options.resource.attributes = {{"deployment.environment", "test"}};
  auto pusher = OtlpPusher::create(m.registry(), options);
  ASSERT_TRUE(pusher) << to_string(pusher.error());
  const auto before_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  auto pushed = (*pusher)->push_now();
  ASSERT_TRUE(pushed) << to_string(pushed.error());
  EXPECT_EQ((*pusher)->stats().pushes_ok, 1u);
  EXPECT_EQ((*pusher)->stats().pushes_failed, 0u);

  const json req = request(1);
  ASSERT_TRUE(req.is_object()) << "no decoded request";
  ASSERT_EQ(req["resource_metrics"].size(), 1u);
  const json& rm = req["resource_metrics"][0];
  EXPECT_EQ(attrs(rm["resource"]["attributes"]),
            (std::map<std::string, std::string>{{"service.name", "qtw-test"},
                                                {"service.version", "0.1.0"},
                                                {"service.instance.id", "host-a"},
                                                {"deployment.environment", "test"}}));
  ASSERT_EQ(rm["scope_metrics"].size(), 1u);
  EXPECT_EQ(rm["scope_metrics"][0]["scope"]["name"], "qtw.metrics");
  EXPECT_EQ(rm["scope_metrics"][0]["scope"]["version"], "0.1.0");

  // Every registered family with at least one child is exported: the 13 plain
  // counters (balancer_cycles_failed, lease_renewals_failed,
  // sign_records_refused and the 3 recovery ones among them), keys,
  // key_balance_lamports, balancer_cycle_duration_seconds, rpc_requests,
  // rpc_errors and cap_hits (every cap pre-registered at 0). Families with no
  // child yet (key_lamports, rpc_http_requests, sign_refused, tokens_recovered)
  // are not.
  EXPECT_EQ(rm["scope_metrics"][0]["metrics"].size(), 19u);

  // A plain counter: monotonic cumulative Sum with one int point.
  const json* acquired = find_metric(req, "qtrade.wallets.explorer_keys_acquired");
  ASSERT_NE(acquired, nullptr);
  EXPECT_EQ((*acquired)["data"], "sum");
  EXPECT_EQ((*acquired)["unit"], "{key}");
  EXPECT_EQ((*acquired)["description"], "Explorer keys handed out to a lander");
  EXPECT_EQ((*acquired)["sum"]["is_monotonic"], true);
  EXPECT_EQ((*acquired)["sum"]["aggregation_temporality"], "AGGREGATION_TEMPORALITY_CUMULATIVE");
  ASSERT_EQ((*acquired)["sum"]["data_points"].size(), 1u);
  const json& p = (*acquired)["sum"]["data_points"][0];
  EXPECT_EQ(p["value"], "as_int");
  EXPECT_EQ(p["as_int"], "5");
  EXPECT_FALSE(p.contains("attributes") && !p["attributes"].empty());
  const auto start_ns = std::stoll(p["start_time_unix_nano"].get<std::string>());
  const auto time_ns = std::stoll(p["time_unix_nano"].get<std::string>());
  EXPECT_LE(start_ns, before_ns);
  EXPECT_GE(time_ns, before_ns);
  EXPECT_LT(time_ns - before_ns, 60'000'000'000LL);

  const json* recovered = find_metric(req, "qtrade.wallets.total_sol_recovered");
  ASSERT_NE(recovered, nullptr);
  EXPECT_EQ((*recovered)["unit"], "lamports");
  EXPECT_EQ((*recovered)["sum"]["data_points"][0]["as_int"], "17990000");
  // Zero-valued counters still carry an explicit as_int (oneof presence).
  const json* funded = find_metric(req, "qtrade.wallets.bank_keys_funded");
  ASSERT_NE(funded, nullptr);
  EXPECT_EQ((*funded)["sum"]["data_points"][0]["value"], "as_int");
  EXPECT_EQ((*funded)["sum"]["data_points"][0]["as_int"], "0");

  // Gauge with tier/state attributes, ordered by label values.
  const json* keys = find_metric(req, "qtrade.wallets.keys");
  ASSERT_NE(keys, nullptr);
  EXPECT_EQ((*keys)["data"], "gauge");
  const json& gp = (*keys)["gauge"]["data_points"];
  ASSERT_EQ(gp.size(), 2u);
  EXPECT_EQ(attrs(gp[0]["attributes"]),
            (std::map<std::string, std::string>{{"tier", "bank"}, {"state", "available"}}));
  EXPECT_EQ(gp[0]["as_int"], "2");
  EXPECT_EQ(attrs(gp[1]["attributes"]),
            (std::map<std::string, std::string>{{"tier", "explorer"}, {"state", "available"}}));
  EXPECT_EQ(gp[1]["as_int"], "15");

  // Histogram: cumulative, explicit bounds, per-bucket (non-cumulative) counts.
  const json* bal = find_metric(req, "qtrade.wallets.key_balance_lamports");
  ASSERT_NE(bal, nullptr);
  EXPECT_EQ((*bal)["data"], "histogram");
  EXPECT_EQ((*bal)["histogram"]["aggregation_temporality"], "AGGREGATION_TEMPORALITY_CUMULATIVE");
  ASSERT_EQ((*bal)["histogram"]["data_points"].size(), 1u);
  const json& hp = (*bal)["histogram"]["data_points"][0];
  EXPECT_EQ(attrs(hp["attributes"]), (std::map<std::string, std::string>{{"tier", "explorer"}}));
  EXPECT_EQ(hp["count"], "4");
  EXPECT_EQ(hp["sum"].get<double>(), 2'000'020'005'000.0);
  EXPECT_EQ(hp["explicit_bounds"],
            json::array({0.0, 5000.0, 890880.0, 1e6, 1e7, 5e7, 1e8, 1e9, 1e10, 1e11}));
  EXPECT_EQ(hp["bucket_counts"],
            json::array({"1", "0", "0", "0", "1", "1", "0", "0", "0", "0", "1"}));

  // Empty histogram child (no observation yet) is exported with zero counts.
  const json* cycle = find_metric(req, "qtrade.wallets.balancer_cycle_duration_seconds");
  ASSERT_NE(cycle, nullptr);
  EXPECT_EQ((*cycle)["unit"], "s");
  EXPECT_EQ((*cycle)["histogram"]["data_points"][0]["count"], "0");

  const json* rpc = find_metric(req, "qtrade.wallets.rpc_requests");
  ASSERT_NE(rpc, nullptr);
  ASSERT_EQ((*rpc)["sum"]["data_points"].size(), 1u);
  EXPECT_EQ(attrs((*rpc)["sum"]["data_points"][0]["attributes"]),
            (std::map<std::string, std::string>{{"method", "getMultipleAccounts"}}));
  EXPECT_EQ((*rpc)["sum"]["data_points"][0]["as_int"], "2");
  const json* errs = find_metric(req, "qtrade.wallets.rpc_errors");
  ASSERT_NE(errs, nullptr);
  EXPECT_EQ(attrs((*errs)["sum"]["data_points"][0]["attributes"]),
            (std::map<std::string, std::string>{{"method", "sendTransaction"}, {"error", "rpc"}}));
  EXPECT_EQ((*errs)["sum"]["data_points"][0]["as_int"], "1");
  EXPECT_EQ(count_files("error-"), 0);
}

TEST_F(OtlpTest, BackgroundThreadPushesOnIntervalAndOnStop) {
  WalletMetrics m;
  OtlpPusherOptions options;
  options.endpoint = receiver_->url();
  options.interval_ms = 100;
  auto pusher = OtlpPusher::create(m.registry(), options);
  ASSERT_TRUE(pusher);
  m.explorer_keys_acquired().inc();
  (*pusher)->start();
  (*pusher)->start();  // idempotent
  ASSERT_TRUE(request(2).is_object()) << "no second periodic push";
  m.explorer_keys_acquired().inc(41);
  (*pusher)->stop();
  (*pusher)->stop();  // idempotent
  const auto stats = (*pusher)->stats();
  EXPECT_EQ(stats.pushes_failed, 0u);
  EXPECT_EQ(static_cast<int>(stats.pushes_ok), count_files("request-"));
  // The final push on stop carries the last value.
  const json last = request(static_cast<int>(stats.pushes_ok));
  const json* acquired = find_metric(last, "qtrade.wallets.explorer_keys_acquired");
  ASSERT_NE(acquired, nullptr);
  EXPECT_EQ((*acquired)["sum"]["data_points"][0]["as_int"], "42");
}

TEST_F(OtlpTest, FailuresAreReportedAndCounted) {
  WalletMetrics m;
  OtlpPusherOptions options;
  options.endpoint = receiver_->url() + "/wrong-prefix";  // receiver answers 404
  auto pusher = OtlpPusher::create(m.registry(), options);
  ASSERT_TRUE(pusher);
  auto r = (*pusher)->push_now();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kHttp);
  EXPECT_EQ(r.error().native_code, 404);

  // A port nobody listens on (the receiver's, after it stopped).
  const std::string dead = receiver_->url();
  receiver_->stop();
  options.endpoint = dead;
  options.timeout_ms = 2'000;
  auto pusher2 = OtlpPusher::create(m.registry(), options);
  ASSERT_TRUE(pusher2);
  auto r2 = (*pusher2)->push_now();
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, ErrorCode::kTransport);
  EXPECT_EQ((*pusher2)->stats().pushes_failed, 1u);
  EXPECT_FALSE((*pusher2)->stats().last_error.empty());
  EXPECT_EQ((*pusher)->stats().pushes_failed, 1u);
  EXPECT_EQ((*pusher)->stats().pushes_ok, 0u);
}

TEST(OtlpPusherOptions, RejectsBadOptions) {
  Registry registry;
  OtlpPusherOptions bad_scheme;
  bad_scheme.endpoint = "ftp://127.0.0.1:4318";
  EXPECT_FALSE(OtlpPusher::create(registry, bad_scheme));
  OtlpPusherOptions bad_interval;
  bad_interval.interval_ms = 0;
  EXPECT_FALSE(OtlpPusher::create(registry, bad_interval));
  OtlpPusherOptions bad_timeout;
  bad_timeout.timeout_ms = -1;
  EXPECT_FALSE(OtlpPusher::create(registry, bad_timeout));
}

TEST(OtlpEncoding, WireBytesOfASmallRequest) {
  // Hand-checked against the protobuf encoding rules: a counter "c" = 1 with
  // no labels, service.name "s", times 1 and 2 ns.
  Registry registry;
  (*(*registry.counter_family("c", "", ""))->with(std::span<const std::string_view>{}))->inc();
  const std::string bytes =
      encode_otlp_metrics(registry.collect(), OtlpResource{"s", "", "", {}}, 1, 2);
  auto hex = [](std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
    return out;
  };
  // Spaces separate tag, length and value bytes for reading; they are removed.
  auto h = [](std::string_view spaced) {
    std::string out;
    for (char ch : spaced) {
      if (ch != ' ') out += ch;
    }
    return out;
  };
  // NumberDataPoint: start_time (2, fixed64) = 1, time (3) = 2, as_int (6, sfixed64) = 1.
  const std::string point = h("11 0100000000000000 19 0200000000000000 31 0100000000000000");
  // Sum: data_points (1) = point (27 bytes), temporality (2) = CUMULATIVE, is_monotonic (3).
  const std::string sum = h("0a 1b") + point + h("10 02 18 01");
  // Metric: name (1) = "c", sum (7) (33 bytes).
  const std::string metric = h("0a 01 63 3a 21") + sum;
  // InstrumentationScope: name (1) = "qtw.metrics", version (2) = "0.1.0".
  const std::string scope = h("0a 0b 71 74 77 2e 6d 65 74 72 69 63 73 12 05 30 2e 31 2e 30");
  // ScopeMetrics: scope (1) (20 bytes), metrics (2) (38 bytes).
  const std::string scope_metrics = h("0a 14") + scope + h("12 26") + metric;
  // Resource: attributes (1) = KeyValue{key (1) = "service.name", value (2) = AnyValue{string_value
  // (1) = "s"}}.
  const std::string resource = h("0a 13 0a 0c 73 65 72 76 69 63 65 2e 6e 61 6d 65 12 03 0a 01 73");
  // ResourceMetrics: resource (1) (21 bytes), scope_metrics (2) (62 bytes).
  const std::string rm = h("0a 15") + resource + h("12 3e") + scope_metrics;
  // ExportMetricsServiceRequest: resource_metrics (1) (87 bytes).
  const std::string want = h("0a 57") + rm;
  EXPECT_EQ(hex(bytes), want);
}

}  // namespace
}  // namespace qtw::metrics

// Metrics hot paths: a cached counter increment (one relaxed atomic add, also
// contended from several threads), a labelled lookup + increment
// (WalletMetrics::rpc_request), a histogram observation, and the cost of
// rendering a populated WalletMetrics as Prometheus text and as an OTLP
// protobuf request. items_processed = one operation per iteration.
#include <benchmark/benchmark.h>

#include <string>

#include "qtw/metrics/otlp.h"
#include "qtw/metrics/prometheus_text.h"
#include "qtw/metrics/wallet_metrics.h"

namespace {

using namespace qtw::metrics;

WalletMetrics& shared_metrics() {
  static WalletMetrics m;
  return m;
}

void populate(WalletMetrics& m) {
  for (const char* method : {"getMultipleAccounts", "getSignatureStatuses", "sendTransaction",
                             "getLatestBlockhash", "getBalance"}) {
    m.rpc_request(method);
    m.rpc_error(method, "transport");
  }
  for (const char* tier : {"hodl", "bank", "explorer"}) {
    for (const char* state : {"available", "leased", "used", "draining"})
      m.set_keys(tier, state, 7);
  }
  std::uint64_t balances[100];
  for (int i = 0; i < 100; ++i) balances[i] = 10'000'000 + static_cast<std::uint64_t>(i);
  m.record_key_balances("explorer", balances);
  m.record_balancer_cycle(0.2);
}

void BM_CounterInc(benchmark::State& state) {
  Counter& c = shared_metrics().explorer_keys_acquired();
  for (auto _ : state) c.inc();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CounterInc)->Threads(1)->Threads(2);

void BM_RpcRequestLookupAndInc(benchmark::State& state) {
  WalletMetrics& m = shared_metrics();
  for (auto _ : state) m.rpc_request("getMultipleAccounts");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RpcRequestLookupAndInc)->Threads(1)->Threads(2);

void BM_HistogramObserve(benchmark::State& state) {
  Histogram& h = shared_metrics().key_balance("explorer");
  double v = 0;
  for (auto _ : state) {
    h.observe(v);
    v += 100'003;
    if (v > 2e9) v = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramObserve);

void BM_PrometheusText(benchmark::State& state) {
  WalletMetrics m;
  populate(m);
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string text = write_prometheus_text(m.registry());
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_PrometheusText);

void BM_OtlpEncode(benchmark::State& state) {
  WalletMetrics m;
  populate(m);
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string body = encode_otlp_metrics(m.registry().collect(), OtlpResource{}, 1, 2);
    bytes = body.size();
    benchmark::DoNotOptimize(body);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_OtlpEncode);

}  // namespace

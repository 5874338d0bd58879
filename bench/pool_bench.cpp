// ExplorerPool: the in-process acquire + return round trip behind the seed's
// get_explorer_keypair / return_explorer_keypair (docs/ARCHITECTURE.md, Explorer state machine: after a durable
// batch claim, acquire/return are in memory).
//   BM_AcquireReturnInMemory  the in-memory path (acquire, return unused)
//   BM_AcquireReturn          acquire + return(retire), amortising the slow
//                             path: a batch claim of 64 keys (each copied
//                             into sodium_malloc memory) and a flush every
//                             1,024 returns
//   BM_SourceClaim64          that key-material cost alone
//   BM_AcquireRetirePreDerived acquire + return(retire) with keys derived
//                             before timing (the source moves them out of a
//                             stock), 1 and 4 threads; counter
//                             flush_us_per_key: the later flush of those
//                             retirements (wiping each secret), per key
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <vector>

#include "qtw/wallet/explorer_pool.h"

namespace {

using namespace qtw;

// Hands out keys from a ring of pre-generated keypairs; claims never run dry.
class RingSource final : public wallet::ExplorerSource {
 public:
  explicit RingSource(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) keys_.push_back(solana::Keypair::generate());
  }
  Result<std::vector<wallet::ClaimedExplorer>> claim(std::size_t max) override {
    std::lock_guard lock(mu_);
    std::vector<wallet::ClaimedExplorer> out;
    for (std::size_t i = 0; i < max; ++i) {
      const auto& kp = keys_[next_++ % keys_.size()];
      auto copy = solana::Keypair::from_bytes(kp.to_bytes().span());
      out.push_back(wallet::ClaimedExplorer{std::move(*copy), 0, static_cast<std::uint32_t>(next_)});
    }
    return out;
  }
  Result<std::chrono::steady_clock::time_point> renew() override {
    return std::chrono::steady_clock::time_point::max();
  }
  Result<std::vector<solana::Pubkey>> write(std::span<const store::SignedLease>,
                                            std::span<const solana::Pubkey>) override {
    return std::vector<solana::Pubkey>{};
  }
  Status unclaim(std::span<const solana::Pubkey>) override { return {}; }

 private:
  std::mutex mu_;
  std::vector<solana::Keypair> keys_;
  std::size_t next_ = 0;
};

// Every ring key must be distinct among the keys live in the pool at once:
// 4096 >> claim batch x threads.
RingSource& source() {
  static RingSource s(4096);
  return s;
}

void BM_AcquireReturn(benchmark::State& state) {
  static wallet::ExplorerPool* pool = nullptr;
  if (state.thread_index() == 0) {
    wallet::ExplorerPoolOptions o;
    o.claim_batch = 64;
    pool = new wallet::ExplorerPool(source(), o);
  }
  std::uint64_t n = 0;
  for (auto _ : state) {
    auto lease = pool->acquire();
    if (!lease) {
      state.SkipWithError(lease.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(lease->keypair.get());
    if (!pool->release(lease->pubkey, /*retire=*/true)) {
      state.SkipWithError("release failed");
      break;
    }
    if ((++n & 1023) == 0) (void)pool->flush();
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    (void)pool->shutdown();
    delete pool;
    pool = nullptr;
  }
}
BENCHMARK(BM_AcquireReturn)->UseRealTime();

// The in-memory path alone (what get_explorer_keypair costs once KeyManager's
// maintenance thread has claimed and derived ahead): acquire, then return
// unused, so the pool never needs the slow path.
void BM_AcquireReturnInMemory(benchmark::State& state) {
  static wallet::ExplorerPool* pool = nullptr;
  if (state.thread_index() == 0) {
    wallet::ExplorerPoolOptions o;
    o.claim_batch = 64;
    pool = new wallet::ExplorerPool(source(), o);
    (void)pool->prefill(64);
  }
  for (auto _ : state) {
    auto lease = pool->acquire();
    if (!lease) {
      state.SkipWithError(lease.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(lease->keypair.get());
    if (!pool->release(lease->pubkey, /*retire=*/false)) {
      state.SkipWithError("release failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    (void)pool->shutdown();
    delete pool;
    pool = nullptr;
  }
}
BENCHMARK(BM_AcquireReturnInMemory)->Threads(1)->Threads(4)->UseRealTime();

}  // namespace

namespace {
// The durable-claim slow path's key material cost alone (64 keypairs copied
// into secure memory), for comparison.
void BM_SourceClaim64(benchmark::State& state) {
  for (auto _ : state) {
    auto c = source().claim(64);
    benchmark::DoNotOptimize(c);
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_SourceClaim64);
}  // namespace

namespace {
// Keys derived before the timed loop; claim() moves them out, so the loop
// measures the pool's acquire + release(retire) (with the batch claims of
// pre-derived keys amortised), not key creation. Flushing the retirements
// (store write + wiping each secret) is timed apart as the flush_us_per_key
// counter: KeyManager's maintenance thread does it off the Landers' path.
// Stock per run:
// kPreDerivedIterations per thread; each key is a sodium_malloc region of
// several mappings, so the stock is kept under vm.max_map_count.
constexpr std::int64_t kPreDerivedIterations = 2'000;

class StockSource final : public wallet::ExplorerSource {
 public:
  explicit StockSource(std::size_t n) {
    stock_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) stock_.push_back(solana::Keypair::generate());
  }
  Result<std::vector<wallet::ClaimedExplorer>> claim(std::size_t max) override {
    std::lock_guard lock(mu_);
    std::vector<wallet::ClaimedExplorer> out;
    while (out.size() < max && !stock_.empty()) {
      out.push_back(wallet::ClaimedExplorer{std::move(stock_.back()), 0, 0});
      stock_.pop_back();
    }
    return out;
  }
  Result<std::chrono::steady_clock::time_point> renew() override {
    return std::chrono::steady_clock::time_point::max();
  }
  Result<std::vector<solana::Pubkey>> write(std::span<const store::SignedLease>,
                                            std::span<const solana::Pubkey>) override {
    return std::vector<solana::Pubkey>{};
  }
  Status unclaim(std::span<const solana::Pubkey>) override { return {}; }

 private:
  std::mutex mu_;
  std::vector<solana::Keypair> stock_;
};

void BM_AcquireRetirePreDerived(benchmark::State& state) {
  static StockSource* src = nullptr;
  static wallet::ExplorerPool* pool = nullptr;
  if (state.thread_index() == 0) {
    // Runs before the threads' start barrier: not timed. Margin: each
    // thread's claim may leave up to one batch unused.
    src = new StockSource(
        static_cast<std::size_t>((kPreDerivedIterations + 64) * state.threads() + 64));
    wallet::ExplorerPoolOptions o;
    o.claim_batch = 64;
    pool = new wallet::ExplorerPool(*src, o);
  }
  // Thread 0 plays KeyManager's maintenance thread too: a flush every 256
  // of its iterations, with its own timer paused (the others keep running
  // against it), so slots are recycled as in steady state.
  double flush_us = 0;
  std::size_t flushed = 0;
  auto timed_flush = [&] {
    flushed += pool->stats().retiring;
    const auto t0 = std::chrono::steady_clock::now();
    if (!pool->flush()) state.SkipWithError("flush failed");
    flush_us +=
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  };
  std::uint64_t n = 0;
  for (auto _ : state) {
    auto lease = pool->acquire();
    if (!lease) {
      state.SkipWithError(lease.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(lease->keypair.get());
    if (!pool->release(lease->pubkey, /*retire=*/true)) {
      state.SkipWithError("release failed");
      break;
    }
    if (state.thread_index() == 0 && (++n & 255) == 0) {
      state.PauseTiming();
      timed_flush();
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    timed_flush();
    state.counters["flush_us_per_key"] = flushed > 0 ? flush_us / static_cast<double>(flushed) : 0.0;
    (void)pool->shutdown();
    delete pool;
    delete src;
    pool = nullptr;
    src = nullptr;
  }
}
BENCHMARK(BM_AcquireRetirePreDerived)
    ->Iterations(kPreDerivedIterations)
    ->Threads(1)
    ->Threads(4)
    ->UseRealTime();
}  // namespace

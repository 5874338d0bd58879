// ExplorerPool (DESIGN §3): in-memory hand-out after durable batch claims.
// The source below stands in for the store's side of the interface the pool
// consumes (claim / mark_used / unclaim) and records every call, so the tests
// can check exactly what would be written durably. The real store path is
// covered end to end by the lifecycle tests (tests/integration/lifecycle).
#include "qtw/wallet/explorer_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

namespace qtw::wallet {
namespace {

using solana::Keypair;
using solana::Pubkey;

class RecordingSource final : public ExplorerSource {
 public:
  explicit RecordingSource(std::size_t stock) : stock_(stock) {}
  Result<std::vector<ClaimedExplorer>> claim(std::size_t max) override {
    std::lock_guard lock(mu_);
    ++claims;
    std::vector<ClaimedExplorer> out;
    while (out.size() < max && stock_ > 0) {
      --stock_;
      out.push_back(ClaimedExplorer{Keypair::generate(), 0, next_index_++});
    }
    return out;
  }
  Status mark_used(std::span<const Pubkey> keys) override {
    std::lock_guard lock(mu_);
    if (fail_writes) return make_error(ErrorCode::kStore, "disk full");
    used.insert(used.end(), keys.begin(), keys.end());
    return {};
  }
  Status unclaim(std::span<const Pubkey> keys) override {
    std::lock_guard lock(mu_);
    if (fail_writes) return make_error(ErrorCode::kStore, "disk full");
    unclaimed.insert(unclaimed.end(), keys.begin(), keys.end());
    return {};
  }
  std::mutex mu_;
  std::size_t stock_;
  std::uint32_t next_index_ = 0;
  int claims = 0;
  bool fail_writes = false;
  std::vector<Pubkey> used, unclaimed;
};

struct FakeClock {
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  ExplorerPool::Clock fn() {
    return [this] { return now; };
  }
};

ExplorerPoolOptions opts(std::size_t batch, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  ExplorerPoolOptions o;
  o.claim_batch = batch;
  o.lease_timeout = timeout;
  return o;
}

TEST(ExplorerPool, HandsOutDistinctKeysClaimingInBatches) {
  RecordingSource src(100);
  ExplorerPool pool(src, opts(8));
  std::set<Pubkey> seen;
  for (int i = 0; i < 20; ++i) {
    auto l = pool.acquire();
    ASSERT_TRUE(l) << l.error().message;
    EXPECT_EQ(l->keypair->pubkey(), l->pubkey);
    EXPECT_TRUE(seen.insert(l->pubkey).second);
  }
  EXPECT_EQ(src.claims, 3) << "20 keys in batches of 8";
  EXPECT_EQ(pool.stats().leased, 20u);
}

TEST(ExplorerPool, EmptySourceIsPoolEmpty) {
  RecordingSource src(1);
  ExplorerPool pool(src, opts(8));
  ASSERT_TRUE(pool.acquire());
  auto none = pool.acquire();
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kPoolEmpty);
}

TEST(ExplorerPool, RetireQueuesThenFlushMarksExactlyThoseUsed) {
  RecordingSource src(10);
  ExplorerPool pool(src, opts(4));
  auto a = pool.acquire();
  auto b = pool.acquire();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(pool.release(a->pubkey, true));
  EXPECT_TRUE(src.used.empty()) << "nothing written before flush";
  EXPECT_EQ(pool.stats().retiring, 1u);
  ASSERT_TRUE(pool.flush());
  EXPECT_EQ(src.used, std::vector<Pubkey>{a->pubkey});
  // Keep: back in the pool, handed out again, never marked used.
  ASSERT_TRUE(pool.release(b->pubkey, false));
  EXPECT_EQ(pool.stats().available, 3u);
  ASSERT_TRUE(pool.flush());
  EXPECT_EQ(src.used.size(), 1u);
}

TEST(ExplorerPool, ReleaseErrors) {
  RecordingSource src(10);
  ExplorerPool pool(src, opts(4));
  auto a = pool.acquire();
  ASSERT_TRUE(a);
  ASSERT_TRUE(pool.release(a->pubkey, true));
  EXPECT_EQ(pool.release(a->pubkey, true).error().code, ErrorCode::kConflict);
  EXPECT_EQ(pool.release(a->pubkey, false).error().code, ErrorCode::kConflict);
  EXPECT_EQ(pool.release(Keypair::generate().pubkey(), true).error().code, ErrorCode::kNotFound);
}

TEST(ExplorerPool, ExpiredLeaseCountsAsUsedAndALateReturnIsRefused) {
  RecordingSource src(10);
  FakeClock clock;
  ExplorerPool pool(src, opts(4, std::chrono::seconds(5)), clock.fn());
  auto a = pool.acquire();
  auto b = pool.acquire();
  ASSERT_TRUE(a && b);
  clock.now += std::chrono::seconds(6);
  // A late "keep" is refused and the key counts as used (I2).
  EXPECT_EQ(pool.release(a->pubkey, false).error().code, ErrorCode::kConflict);
  ASSERT_TRUE(pool.flush());  // also expires b
  EXPECT_EQ(std::set<Pubkey>(src.used.begin(), src.used.end()),
            (std::set<Pubkey>{a->pubkey, b->pubkey}));
  EXPECT_EQ(pool.release(b->pubkey, true).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(pool.stats().expired_total, 2u);
}

TEST(ExplorerPool, FailedFlushKeepsTheQueueForRetry) {
  RecordingSource src(10);
  ExplorerPool pool(src, opts(4));
  auto a = pool.acquire();
  ASSERT_TRUE(a);
  ASSERT_TRUE(pool.release(a->pubkey, true));
  src.fail_writes = true;
  EXPECT_FALSE(pool.flush());
  EXPECT_EQ(pool.stats().retiring, 1u);
  src.fail_writes = false;
  ASSERT_TRUE(pool.flush());
  EXPECT_EQ(src.used, std::vector<Pubkey>{a->pubkey});
}

TEST(ExplorerPool, ShutdownUsesLeasedAndUnclaimsTheRest) {
  RecordingSource src(10);
  ExplorerPool pool(src, opts(4));
  auto a = pool.acquire();  // claims 4: 1 leased, 3 available
  ASSERT_TRUE(a);
  ASSERT_TRUE(pool.shutdown());
  EXPECT_EQ(src.used, std::vector<Pubkey>{a->pubkey});
  EXPECT_EQ(src.unclaimed.size(), 3u);
  EXPECT_EQ(pool.stats().available, 0u);
}

TEST(ExplorerPool, ConcurrentLandersNeverShareAKey) {
  RecordingSource src(8 * 500);
  ExplorerPool pool(src, opts(16));
  std::vector<std::vector<Pubkey>> got(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        auto l = pool.acquire();
        if (!l) continue;
        got[static_cast<std::size_t>(t)].push_back(l->pubkey);
        EXPECT_TRUE(pool.release(l->pubkey, true));
        if (i % 64 == 0) {
          EXPECT_TRUE(pool.flush());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(pool.flush());
  std::set<Pubkey> all;
  std::size_t n = 0;
  for (const auto& v : got) {
    n += v.size();
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(n, 4000u);
  EXPECT_EQ(all.size(), n) << "a key was handed out twice";
  EXPECT_EQ(src.used.size(), n);
  const auto s = pool.stats();
  EXPECT_EQ(s.acquired_total, 4000u);
  EXPECT_EQ(s.retired_total, 4000u);
  EXPECT_EQ(s.leased, 0u);
}

// Sign-once bookkeeping around the durable guard: one signature per lease,
// none after a return or the deadline, and a key that signed never goes
// back to the pool.
TEST(ExplorerPool, SignsOncePerLeaseAndNeverAfterItEnds) {
  RecordingSource src(10);
  FakeClock clock;
  ExplorerPool pool(src, opts(4, std::chrono::seconds(5)), clock.fn());
  auto a = pool.acquire();
  ASSERT_TRUE(a);
  auto t = pool.begin_sign(a->pubkey);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->keypair->pubkey(), a->pubkey);
  EXPECT_EQ(pool.begin_sign(a->pubkey).error().code, ErrorCode::kConflict);  // signing
  EXPECT_EQ(pool.release(a->pubkey, false).error().code, ErrorCode::kConflict);
  pool.end_sign(a->pubkey, /*signed_now=*/true);
  EXPECT_EQ(pool.begin_sign(a->pubkey).error().code, ErrorCode::kConflict);  // signed
  EXPECT_EQ(pool.release(a->pubkey, false).error().code, ErrorCode::kConflict);
  ASSERT_TRUE(pool.release(a->pubkey, true));
  EXPECT_EQ(pool.begin_sign(a->pubkey).error().code, ErrorCode::kConflict);  // returned

  // A guard that was not written (signed_now=false) leaves the lease usable.
  auto b = pool.acquire();
  ASSERT_TRUE(b);
  ASSERT_TRUE(pool.begin_sign(b->pubkey));
  pool.end_sign(b->pubkey, false);
  ASSERT_TRUE(pool.begin_sign(b->pubkey));
  pool.end_sign(b->pubkey, false);
  ASSERT_TRUE(pool.release(b->pubkey, false));  // signed nothing: back in the pool
  EXPECT_EQ(pool.begin_sign(b->pubkey).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(pool.release(b->pubkey, false).error().code, ErrorCode::kNotFound);

  auto c = pool.acquire();
  ASSERT_TRUE(c);
  clock.now += std::chrono::seconds(6);
  EXPECT_EQ(pool.begin_sign(c->pubkey).error().code, ErrorCode::kConflict);  // expired
  EXPECT_EQ(pool.begin_sign(Keypair::generate().pubkey()).error().code, ErrorCode::kNotFound);
}

// Adopted leases (a restart) are handed-out leases: they sign (once, unless
// they already did), return, and are never handed out again meanwhile.
TEST(ExplorerPool, AdoptedLeasesKeepTheirSignOnceState) {
  RecordingSource src(0);
  ExplorerPool pool(src, opts(4));
  std::vector<ClaimedExplorer> held;
  held.push_back(ClaimedExplorer{Keypair::generate(), 0, 1, 11, false});
  held.push_back(ClaimedExplorer{Keypair::generate(), 0, 2, 12, true});
  const Pubkey fresh = held[0].keypair.pubkey();
  const Pubkey used = held[1].keypair.pubkey();
  pool.adopt(std::move(held));
  EXPECT_EQ(pool.stats().leased, 2u);
  EXPECT_EQ(pool.acquire().error().code, ErrorCode::kPoolEmpty);
  auto t = pool.begin_sign(fresh);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->store_lease_id, 11u);
  EXPECT_EQ(pool.begin_sign(used).error().code, ErrorCode::kConflict);
  EXPECT_EQ(pool.release(used, false).error().code, ErrorCode::kConflict);
  ASSERT_TRUE(pool.release(used, true));
}

// keep_leases_on_shutdown: handed-out leases are not written as used (the
// next start adopts them); unused keys still go back.
TEST(ExplorerPool, ShutdownKeepsHandedOutLeasesWhenAsked) {
  RecordingSource src(4);
  auto o = opts(4);
  o.keep_leases_on_shutdown = true;
  ExplorerPool pool(src, o);
  auto a = pool.acquire();
  ASSERT_TRUE(a);
  ASSERT_TRUE(pool.shutdown());
  EXPECT_TRUE(src.used.empty());
  EXPECT_EQ(src.unclaimed.size(), 3u);
}

// An idle pool gives back what it claimed but never handed out; leases in
// hand stay; a store error keeps the keys claimed (and usable) here.
TEST(ExplorerPool, ReleaseUnusedGivesBackOnlyIdleKeys) {
  RecordingSource src(8);
  ExplorerPool pool(src, opts(4));
  auto a = pool.acquire();
  ASSERT_TRUE(a);
  src.fail_writes = true;
  EXPECT_FALSE(pool.release_unused());
  EXPECT_EQ(pool.stats().available, 3u);
  src.fail_writes = false;
  auto back = pool.release_unused();
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, 3u);
  EXPECT_EQ(src.unclaimed.size(), 3u);
  EXPECT_EQ(pool.stats().available, 0u);
  EXPECT_EQ(pool.stats().leased, 1u);
  for (const auto& k : src.unclaimed) EXPECT_NE(k, a->pubkey);
  ASSERT_TRUE(pool.release(a->pubkey, true));
  auto b = pool.acquire();  // claims again
  ASSERT_TRUE(b);
}

}  // namespace
}  // namespace qtw::wallet

// ExplorerPool (docs/ARCHITECTURE.md, Explorer state machine): in-memory hand-out after durable batch claims.
// The source below stands in for the store's side of the interface the pool
// consumes (claim / mark_used / unclaim) and records every call, so the tests
// can check exactly what would be written durably. The real store path is
// covered end to end by the lifecycle tests (tests/integration/lifecycle).
#include "qtw/wallet/explorer_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <set>
#include <thread>

namespace qtw::wallet {
namespace {

using solana::Keypair;
using solana::Pubkey;

struct FakeClock {
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  ExplorerPool::Clock fn() {
    return [this] { return now; };
  }
};

class RecordingSource final : public ExplorerSource {
 public:
  explicit RecordingSource(std::size_t stock) : stock_(stock) {}
  Result<std::vector<ClaimedExplorer>> claim(std::size_t max) override {
    std::lock_guard lock(mu_);
    ++claims;
    std::vector<ClaimedExplorer> out;
    while (out.size() < max && stock_ > 0) {
      --stock_;
      ClaimedExplorer c{Keypair::generate(), 0, next_index_++, 100 + next_index_};
      if (safe_for) c.valid_until = clock->now + *safe_for;
      out.push_back(std::move(c));
    }
    return out;
  }
  Result<std::chrono::steady_clock::time_point> renew() override {
    std::lock_guard lock(mu_);
    ++renewals;
    if (fail_renewals) return make_error(ErrorCode::kUnavailable, "store unreachable");
    if (!safe_for) return std::chrono::steady_clock::time_point::max();
    return clock->now + *safe_for;
  }
  Result<std::vector<Pubkey>> write(std::span<const store::SignedLease> signed_leases,
                                    std::span<const Pubkey> keys) override {
    std::lock_guard lock(mu_);
    if (fail_writes) return make_error(ErrorCode::kStore, "disk full");
    ++writes;
    records.insert(records.end(), signed_leases.begin(), signed_leases.end());
    used.insert(used.end(), keys.begin(), keys.end());
    return std::vector<Pubkey>{};
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
  int renewals = 0;
  int writes = 0;
  bool fail_writes = false;
  bool fail_renewals = false;
  // Set: claimed keys (and each renewal) are safe for this long from the
  // clock's now, as a store source computes store_lease - margin.
  std::optional<std::chrono::milliseconds> safe_for;
  const FakeClock* clock = nullptr;
  std::vector<Pubkey> used, unclaimed;
  std::vector<store::SignedLease> records;
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

// A signature is recorded after the fact: end_sign queues its record (store
// lease id included), flush writes it in the same call as the retirements,
// and a key still signing is not retired before its record can be written.
TEST(ExplorerPool, SignRecordsAreWrittenWithTheRetirementsAndNeverAfterThem) {
  RecordingSource src(10);
  ExplorerPool pool(src, opts(4));
  auto a = pool.acquire();
  auto b = pool.acquire();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(pool.begin_sign(a->pubkey));
  pool.end_sign(a->pubkey, true);
  EXPECT_TRUE(src.records.empty()) << "no store write on the signing path";
  EXPECT_EQ(pool.stats().sign_records, 1u);
  ASSERT_TRUE(pool.release(a->pubkey, true));
  // b retires while its signature is in flight: it waits for end_sign.
  ASSERT_TRUE(pool.begin_sign(b->pubkey));
  ASSERT_TRUE(pool.release(b->pubkey, true));
  ASSERT_TRUE(pool.flush());
  EXPECT_EQ(src.writes, 1);
  ASSERT_EQ(src.records.size(), 1u);
  EXPECT_EQ(src.records[0].explorer, a->pubkey);
  EXPECT_EQ(src.records[0].lease_id, a->lease_id);
  EXPECT_EQ(src.used, std::vector<Pubkey>{a->pubkey});
  pool.end_sign(b->pubkey, true);
  ASSERT_TRUE(pool.flush());
  ASSERT_EQ(src.records.size(), 2u);
  EXPECT_EQ(src.records[1].explorer, b->pubkey);
  EXPECT_EQ(src.used, (std::vector<Pubkey>{a->pubkey, b->pubkey}));
  // A failed write keeps the records for the next flush.
  auto c = pool.acquire();
  ASSERT_TRUE(c);
  ASSERT_TRUE(pool.begin_sign(c->pubkey));
  pool.end_sign(c->pubkey, true);
  src.fail_writes = true;
  EXPECT_FALSE(pool.flush());
  src.fail_writes = false;
  ASSERT_TRUE(pool.flush());
  ASSERT_EQ(src.records.size(), 3u);
  EXPECT_EQ(src.records[2].explorer, c->pubkey);
}

// The store lease's safe time (store_lease - margin after the last
// successful claim or renewal): past it a key is never handed out and never
// signs, and a renewal that succeeds later does not bring it back (another
// process may have expired and recovered it meanwhile).
TEST(ExplorerPool, KeysPastTheirStoreLeaseSafeTimeAreRefusedForGood) {
  RecordingSource src(100);
  FakeClock clock;
  src.clock = &clock;
  src.safe_for = std::chrono::seconds(20);
  ExplorerPool pool(src, opts(4, std::chrono::minutes(10)), clock.fn());
  auto a = pool.acquire();  // claims 4, safe until now + 20 s
  ASSERT_TRUE(a);
  clock.now += std::chrono::seconds(15);
  ASSERT_TRUE(pool.renew());  // safe until now + 20 s again
  clock.now += std::chrono::seconds(15);
  ASSERT_TRUE(pool.begin_sign(a->pubkey)) << "renewed: still safe";
  pool.end_sign(a->pubkey, false);
  auto b = pool.acquire();
  ASSERT_TRUE(b);
  // Renewals fail from here: 5 s later the safe time is over.
  src.fail_renewals = true;
  EXPECT_FALSE(pool.renew());
  clock.now += std::chrono::seconds(5);
  auto refused = pool.begin_sign(a->pubkey);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_EQ(pool.begin_sign(b->pubkey).error().code, ErrorCode::kConflict);
  // A keep return of a stale key counts as used.
  EXPECT_EQ(pool.release(b->pubkey, false).error().code, ErrorCode::kConflict);
  // acquire skips the 2 stale available keys (they count as used) and
  // claims a fresh batch.
  const int claims_before = src.claims;
  auto c = pool.acquire();
  ASSERT_TRUE(c);
  EXPECT_EQ(src.claims, claims_before + 1);
  EXPECT_NE(c->pubkey, a->pubkey);
  EXPECT_EQ(pool.stats().stale_total, 2u);
  // The store comes back: the stale keys stay refused; the fresh one signs.
  src.fail_renewals = false;
  ASSERT_TRUE(pool.renew());
  EXPECT_EQ(pool.begin_sign(a->pubkey).error().code, ErrorCode::kConflict);
  ASSERT_TRUE(pool.begin_sign(c->pubkey));
  pool.end_sign(c->pubkey, true);
  ASSERT_TRUE(pool.release(a->pubkey, true));
  ASSERT_TRUE(pool.flush());
  // Written as used: a (returned), b (late keep), the 2 stale available
  // keys; never unclaimed (they may be someone else's by now).
  EXPECT_EQ(src.used.size(), 4u);
  EXPECT_TRUE(src.unclaimed.empty());
  ASSERT_EQ(src.records.size(), 1u);
  EXPECT_EQ(src.records[0].explorer, c->pubkey);
  // Idle release and shutdown never unclaim a stale key either.
  clock.now += std::chrono::seconds(30);
  EXPECT_EQ(*pool.release_unused(), 0u);
  ASSERT_TRUE(pool.shutdown());
  EXPECT_TRUE(src.unclaimed.empty());
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

// Beyond its share of a scarce pool a busy process gives back all but
// `keep` unused keys: the ones it would hand out next stay, none twice.
TEST(ExplorerPool, ReleaseUnusedKeepsTheNextToHandOut) {
  RecordingSource src(16);
  ExplorerPool pool(src, opts(8));
  auto a = pool.acquire();  // claims 8, hands out 1
  ASSERT_TRUE(a);
  EXPECT_EQ(*pool.release_unused(7), 0u);  // nothing beyond 7 unused
  auto back = pool.release_unused(3);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, 4u);
  EXPECT_EQ(src.unclaimed.size(), 4u);
  EXPECT_EQ(pool.stats().available, 3u);
  std::set<Pubkey> seen(src.unclaimed.begin(), src.unclaimed.end());
  seen.insert(a->pubkey);
  for (int i = 0; i < 3; ++i) {
    auto l = pool.acquire();
    ASSERT_TRUE(l);
    EXPECT_TRUE(seen.insert(l->pubkey).second) << "handed out a key it gave back";
  }
  EXPECT_EQ(src.claims, 1);  // the kept three came from memory
}

}  // namespace
}  // namespace qtw::wallet

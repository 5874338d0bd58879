// ExplorerPool over the real SQLite KeyStore (docs/ARCHITECTURE.md, Explorer state machine): the pool's durable
// side is the store's lease methods, so what the pool does in memory must
// show up as the right Explorer states on disk: claimed keys `leased` to
// this process, retired keys `used` only after flush, kept and never handed
// out keys `available` again after a clean shutdown, an expired lease `used`,
// and two processes' pools over one file never share a key.
//
// StoreSource below is the small adapter the pool consumes (KeyManager has
// its own, which also derives keys from the sealed seed; here the keys are
// generated when reserved and looked up on claim, so the test needs no vault).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <mutex>
#include <set>
#include <thread>

#include "qtw/store/sqlite_store.h"
#include "qtw/wallet/explorer_pool.h"

namespace qtw::wallet {
namespace {

using solana::Keypair;
using solana::Pubkey;
using store::KeyState;
using store::LeaseOwner;

// Keys reserved in the store, with their secrets kept by the test.
class Keyring {
 public:
  Result<Pubkey> make() {
    auto kp = Keypair::generate();
    const Pubkey pk = kp.pubkey();
    std::lock_guard lock(mu_);
    keys_.emplace(pk, std::move(kp));
    return pk;
  }
  Result<Keypair> copy(const Pubkey& pk) {
    std::lock_guard lock(mu_);
    const auto it = keys_.find(pk);
    if (it == keys_.end()) return make_error(ErrorCode::kNotFound, "unknown " + pk.to_base58());
    return Keypair::from_bytes(it->second.to_bytes().span());
  }

 private:
  std::mutex mu_;
  std::map<Pubkey, Keypair> keys_;
};

// ExplorerSource over a KeyStore: claim_explorers / release_explorers for one
// LeaseOwner. Counts calls so tests can see the batching.
class StoreSource final : public ExplorerSource {
 public:
  StoreSource(store::KeyStore& s, Keyring& ring, LeaseOwner owner)
      : store_(s), ring_(ring), owner_(std::move(owner)) {}

  Result<std::vector<ClaimedExplorer>> claim(std::size_t max) override {
    ++claims;
    // The store lease is long: the pool's own lease_timeout is what expires
    // keys in these tests; the store's deadline is for a dead process.
    QTW_ASSIGN_OR_RETURN(auto records, store_.claim_explorers(owner_, max, kFarFutureMs));
    std::vector<ClaimedExplorer> out;
    for (const auto& r : records) {
      QTW_ASSIGN_OR_RETURN(Keypair kp, ring_.copy(r.pubkey));
      out.push_back(ClaimedExplorer{std::move(kp), r.bank_index.value_or(0),
                                    r.explorer_index.value_or(0),
                                    r.lease ? r.lease->lease_id : 0});
    }
    return out;
  }
  Result<std::chrono::steady_clock::time_point> renew() override {
    QTW_TRY(store_.renew_leases(owner_, kFarFutureMs));
    return std::chrono::steady_clock::time_point::max();
  }
  Result<std::vector<Pubkey>> write(std::span<const store::SignedLease> signed_leases,
                                    std::span<const Pubkey> explorers) override {
    std::vector<Pubkey> refused;
    QTW_TRY(store_.transact([&]() -> Status {
      QTW_ASSIGN_OR_RETURN(refused, store_.record_signed(signed_leases));
      return store_.release_explorers(owner_, explorers, /*retire=*/true);
    }));
    return refused;
  }
  Status unclaim(std::span<const Pubkey> explorers) override {
    if (before_unclaim) before_unclaim();
    if (fail_unclaim) return make_error(ErrorCode::kStore, "injected: disk I/O error");
    return store_.release_explorers(owner_, explorers, /*retire=*/false);
  }

  std::atomic<int> claims{0};
  // Fault injection: runs just before the store write of unclaim(), i.e.
  // while the pool's shutdown is between deciding which keys are unused and
  // making them available again.
  std::function<void()> before_unclaim;
  std::atomic<bool> fail_unclaim{false};

 private:
  static constexpr std::int64_t kFarFutureMs = 4'000'000'000'000;
  store::KeyStore& store_;
  Keyring& ring_;
  LeaseOwner owner_;
};

class ExplorerPoolStore : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qtw-pool-store-XXXXXX";
    const char* dir = ::mkdtemp(tmpl);
    ASSERT_NE(dir, nullptr);
    dir_ = dir;
    store::SqliteStoreOptions o;
    o.create_if_missing = true;
    o.actor = "explorer_pool_store_test";
    auto s = store::open_sqlite_store(dir_ / "qtw.db", o);
    ASSERT_TRUE(s) << to_string(s.error());
    store_ = std::move(*s);
    const std::vector<std::uint8_t> sealed = {1, 2, 3};
    ASSERT_TRUE(store_->create_wallet(sealed));
    auto bank = store_->add_bank(0, Keypair::generate().pubkey());
    ASSERT_TRUE(bank) << to_string(bank.error());
    bank_id_ = bank->id;
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Reserves `n` Explorers and confirms their funding (pending -> available).
  std::vector<Pubkey> available(std::size_t n) {
    auto reserved = store_->reserve_explorers(bank_id_, n, [this](std::uint32_t) { return ring_.make(); });
    EXPECT_TRUE(reserved) << to_string(reserved.error());
    std::vector<Pubkey> out;
    if (!reserved) return out;
    for (const auto& r : *reserved) out.push_back(r.pubkey);
    EXPECT_TRUE(store_->transition_many(out, KeyState::kPending, KeyState::kAvailable, "funded"));
    return out;
  }

  KeyState state_of(const Pubkey& pk) {
    auto r = store_->get_key(pk);
    EXPECT_TRUE(r) << to_string(r.error());
    return r ? r->state : KeyState::kActive;
  }

  std::size_t count(KeyState state) {
    store::KeyFilter f;
    f.tier = store::KeyTier::Explorer;
    f.state = state;
    auto keys = store_->list_keys(f);
    EXPECT_TRUE(keys);
    return keys ? keys->size() : 0;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::KeyStore> store_;
  std::int64_t bank_id_ = 0;
  Keyring ring_;
};

ExplorerPoolOptions opts(std::size_t batch,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  ExplorerPoolOptions o;
  o.claim_batch = batch;
  o.lease_timeout = timeout;
  return o;
}

const LeaseOwner kOwner{"host-a", 4242, "0123456789abcdef"};

TEST_F(ExplorerPoolStore, RetiredKeyIsUsedOnDiskOnlyAfterFlushAndShutdownUnclaimsTheRest) {
  const auto keys = available(10);
  StoreSource src(*store_, ring_, kOwner);
  ExplorerPool pool(src, opts(4));

  auto a = pool.acquire();
  auto b = pool.acquire();
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->pubkey, b->pubkey);
  EXPECT_EQ(src.claims.load(), 1) << "two acquires from one batch of 4";
  EXPECT_EQ(count(KeyState::kLeased), 4u) << "the whole batch is leased durably before use";
  EXPECT_EQ(count(KeyState::kAvailable), 6u);
  auto rec = store_->get_key(a->pubkey);
  ASSERT_TRUE(rec);
  ASSERT_TRUE(rec->lease);
  EXPECT_EQ(rec->lease->owner, kOwner);

  ASSERT_TRUE(pool.release(a->pubkey, /*retire=*/true));
  EXPECT_EQ(state_of(a->pubkey), KeyState::kLeased) << "not written before flush (still counts as used)";
  ASSERT_TRUE(pool.flush());
  EXPECT_EQ(state_of(a->pubkey), KeyState::kUsed);

  ASSERT_TRUE(pool.release(b->pubkey, /*retire=*/false));  // signed nothing: keep
  ASSERT_TRUE(pool.flush());
  EXPECT_EQ(state_of(b->pubkey), KeyState::kLeased) << "kept in memory, still claimed";

  // A lease still out at shutdown may have signed: used. The rest: available.
  auto c = pool.acquire();
  ASSERT_TRUE(c);
  ASSERT_TRUE(pool.shutdown());
  EXPECT_EQ(state_of(c->pubkey), KeyState::kUsed);
  EXPECT_EQ(count(KeyState::kUsed), 2u);
  EXPECT_EQ(count(KeyState::kLeased), 0u);
  EXPECT_EQ(count(KeyState::kAvailable), 8u);
  EXPECT_EQ(count(KeyState::kAvailable) + count(KeyState::kUsed), keys.size());
}

// A signature is written to the store after the fact, with the
// retirements: until the flush the key is `leased` with sign_count 0 (which
// already counts as used after a crash), then `used` with sign_count 1 and
// one explorer.sign audit row naming its lease. A crash before the flush:
// the next start of the owner ends every lease it held as used.
TEST_F(ExplorerPoolStore, SignRecordFollowsTheSignatureAndARestartEndsHeldLeasesUsed) {
  available(6);
  StoreSource src(*store_, ring_, kOwner);
  std::optional<ExplorerPool> pool(std::in_place, src, opts(3));
  auto a = pool->acquire();
  auto b = pool->acquire();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(pool->begin_sign(a->pubkey));
  pool->end_sign(a->pubkey, true);
  ASSERT_TRUE(pool->release(a->pubkey, true));
  EXPECT_EQ(store_->get_key(a->pubkey)->sign_count, 0u) << "nothing written on the signing path";
  EXPECT_EQ(state_of(a->pubkey), KeyState::kLeased);
  ASSERT_TRUE(pool->flush());
  auto rec = store_->get_key(a->pubkey);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->state, KeyState::kUsed);
  EXPECT_EQ(rec->sign_count, 1u);
  auto tail = store_->list_audit_tail(2);
  ASSERT_TRUE(tail);
  ASSERT_EQ(tail->size(), 2u);
  EXPECT_EQ((*tail)[0].record.action, "explorer.sign");
  EXPECT_EQ((*tail)[0].record.detail, "lease " + std::to_string(a->lease_id));
  EXPECT_EQ((*tail)[1].record.detail, "leased -> used: returned, retire");

  // b signs, and the process dies before the flush (the pool is dropped
  // without shutdown): the store still shows b and the unused claimed key
  // leased to kOwner, b with sign_count 0.
  ASSERT_TRUE(pool->begin_sign(b->pubkey));
  pool->end_sign(b->pubkey, true);
  pool.reset();
  EXPECT_EQ(count(KeyState::kLeased), 2u);
  // The restart of the same owner: every key it held ends used, one audit
  // row; none is available to anyone again.
  auto ended = store_->expire_owner(kOwner, "restart");
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->size(), 2u);
  EXPECT_EQ(state_of(b->pubkey), KeyState::kUsed);
  EXPECT_EQ(count(KeyState::kLeased), 0u);
  EXPECT_EQ(count(KeyState::kAvailable), 3u) << "only the never-claimed keys";
  auto last = store_->list_audit_tail(1);
  ASSERT_TRUE(last);
  EXPECT_NE((*last)[0].record.detail.find("restart (2 Explorers:"), std::string::npos)
      << (*last)[0].record.detail;
  StoreSource src2(*store_, ring_, kOwner);
  ExplorerPool pool2(src2, opts(8));
  for (int i = 0; i < 3; ++i) {
    auto l = pool2.acquire();
    ASSERT_TRUE(l);
    EXPECT_NE(l->pubkey, b->pubkey);
    EXPECT_NE(l->pubkey, a->pubkey);
  }
  EXPECT_EQ(pool2.acquire().error().code, ErrorCode::kPoolEmpty);
  ASSERT_TRUE(pool2.shutdown());
}

TEST_F(ExplorerPoolStore, ExpiredLeaseIsUsedOnDisk) {
  available(3);
  StoreSource src(*store_, ring_, kOwner);
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  ExplorerPool pool(src, opts(3, std::chrono::seconds(5)), [&now] { return now; });
  auto a = pool.acquire();
  ASSERT_TRUE(a);
  now += std::chrono::seconds(6);
  ASSERT_TRUE(pool.flush());
  EXPECT_EQ(state_of(a->pubkey), KeyState::kUsed);
  EXPECT_FALSE(pool.release(a->pubkey, /*retire=*/false)) << "a late return is refused";
  EXPECT_EQ(state_of(a->pubkey), KeyState::kUsed);
  ASSERT_TRUE(pool.shutdown());
  EXPECT_EQ(count(KeyState::kAvailable), 2u);
}

TEST_F(ExplorerPoolStore, EmptyStoreIsPoolEmptyUntilTheBalancerAddsKeys) {
  StoreSource src(*store_, ring_, kOwner);
  ExplorerPool pool(src, opts(4));
  auto none = pool.acquire();
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kPoolEmpty);
  available(1);
  auto one = pool.acquire();
  ASSERT_TRUE(one) << one.error().message;
  ASSERT_TRUE(pool.release(one->pubkey, true));
  ASSERT_TRUE(pool.shutdown());
  EXPECT_EQ(count(KeyState::kUsed), 1u);
}

// A Lander asking for a key while the daemon shuts down: whatever shutdown
// makes `available` on disk must not be in a Lander's hands, or another
// process can claim and hand out the same key (I2). After shutdown the pool
// refuses to hand out or claim anything (it would hold keys no one returns).
TEST_F(ExplorerPoolStore, AcquireDuringShutdownNeverGetsAKeyMadeAvailableAgain) {
  available(6);
  StoreSource src(*store_, ring_, kOwner);
  ExplorerPool pool(src, opts(4));
  auto a = pool.acquire();  // claims 4: 1 leased, 3 in memory
  ASSERT_TRUE(a);
  std::optional<Result<ExplorerLease>> during;
  src.before_unclaim = [&] { during = pool.acquire(); };
  ASSERT_TRUE(pool.shutdown());
  ASSERT_TRUE(during.has_value()) << "shutdown had keys to unclaim";
  if (*during) {
    EXPECT_NE(state_of((*during)->pubkey), KeyState::kAvailable)
        << "handed out in memory and available on disk: two owners can use it";
  } else {
    EXPECT_EQ(during->error().code, ErrorCode::kUnavailable);
  }
  EXPECT_EQ(state_of(a->pubkey), KeyState::kUsed);
  EXPECT_EQ(count(KeyState::kAvailable), 5u);
  EXPECT_EQ(count(KeyState::kLeased), 0u);

  src.before_unclaim = nullptr;
  auto after = pool.acquire();
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(pool.prefill(4).error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(count(KeyState::kLeased), 0u) << "nothing claimed after shutdown";
  EXPECT_TRUE(pool.shutdown()) << "a second shutdown has nothing to do";
}

// A failed unclaim at shutdown keeps the keys for a retry (they stay leased
// on disk meanwhile, so nothing is lost, and none is handed out).
TEST_F(ExplorerPoolStore, FailedUnclaimAtShutdownCanBeRetried) {
  available(4);
  StoreSource src(*store_, ring_, kOwner);
  ExplorerPool pool(src, opts(4));
  auto a = pool.acquire();
  ASSERT_TRUE(a);
  ASSERT_TRUE(pool.release(a->pubkey, /*retire=*/false));
  src.fail_unclaim = true;
  EXPECT_FALSE(pool.shutdown());
  EXPECT_EQ(count(KeyState::kLeased), 4u);
  auto none = pool.acquire();
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kUnavailable);
  src.fail_unclaim = false;
  ASSERT_TRUE(pool.shutdown());
  EXPECT_EQ(count(KeyState::kAvailable), 4u);
  EXPECT_EQ(pool.stats().available, 0u);
}

// A source that returns a key the pool already holds (a store bug) must
// not make the pool hand that key out twice.
class DuplicatingSource final : public ExplorerSource {
 public:
  Result<std::vector<ClaimedExplorer>> claim(std::size_t) override {
    std::vector<ClaimedExplorer> out;
    auto copy = Keypair::from_bytes(key_.to_bytes().span());
    if (!copy) return tl::make_unexpected(copy.error());
    out.push_back(ClaimedExplorer{std::move(*copy), 0, 0});
    if (++calls_ == 2) out.push_back(ClaimedExplorer{Keypair::generate(), 0, 1});
    return out;
  }
  Result<std::chrono::steady_clock::time_point> renew() override {
    return std::chrono::steady_clock::time_point::max();
  }
  Result<std::vector<Pubkey>> write(std::span<const store::SignedLease>,
                                    std::span<const Pubkey>) override {
    return std::vector<Pubkey>{};
  }
  Status unclaim(std::span<const Pubkey>) override { return {}; }
  Keypair key_ = Keypair::generate();
  int calls_ = 0;
};

TEST(ExplorerPoolSource, AKeyClaimedTwiceIsHandedOutOnce) {
  DuplicatingSource src;
  ExplorerPool pool(src, opts(1));
  auto a = pool.acquire();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->pubkey, src.key_.pubkey());
  // The second claim returns the same key again (plus a new one).
  auto b = pool.acquire();
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, ErrorCode::kInternal);
  auto c = pool.acquire();  // the new key, which the bad claim also brought
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_NE(c->pubkey, a->pubkey);
  ASSERT_TRUE(pool.release(a->pubkey, true));
  EXPECT_EQ(pool.release(a->pubkey, true).error().code, ErrorCode::kConflict);
  EXPECT_EQ(pool.stats().leased, 1u);
}

// Two processes' pools (two lease owners) on one store file, two threads
// each: every key is handed out once in total, and all end `used`.
TEST_F(ExplorerPoolStore, TwoOwnersOnOneStoreNeverShareAKey) {
  constexpr std::size_t kKeys = 120;
  available(kKeys);
  StoreSource src_a(*store_, ring_, kOwner);
  StoreSource src_b(*store_, ring_, LeaseOwner{"host-b", 7, "fedcba9876543210"});
  ExplorerPool pool_a(src_a, opts(8));
  ExplorerPool pool_b(src_b, opts(8));
  std::mutex mu;
  std::vector<Pubkey> seen;
  auto lander = [&](ExplorerPool& pool) {
    for (;;) {
      auto l = pool.acquire();
      if (!l) {
        EXPECT_EQ(l.error().code, ErrorCode::kPoolEmpty);
        return;
      }
      {
        std::lock_guard lock(mu);
        seen.push_back(l->pubkey);
      }
      EXPECT_TRUE(pool.release(l->pubkey, true));
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back(lander, std::ref(pool_a));
    threads.emplace_back(lander, std::ref(pool_b));
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(pool_a.shutdown());
  ASSERT_TRUE(pool_b.shutdown());
  EXPECT_EQ(seen.size(), kKeys);
  EXPECT_EQ(std::set<Pubkey>(seen.begin(), seen.end()).size(), seen.size())
      << "a key was handed out twice";
  EXPECT_EQ(count(KeyState::kUsed), kKeys);
  EXPECT_EQ(count(KeyState::kLeased), 0u);
  EXPECT_GT(src_a.claims.load(), 0);
  EXPECT_GT(src_b.claims.load(), 0);
}

}  // namespace
}  // namespace qtw::wallet

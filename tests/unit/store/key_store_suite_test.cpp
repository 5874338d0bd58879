// One KeyStore suite, run against every backend in store_backends().
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <set>
#include <thread>

#include "qtw/store/audit_chain.h"
#include "qtw/store/key_store.h"
#include "store_backends.h"

namespace qtw::store {
namespace {

KeyFilter filter(std::optional<KeyTier> tier, std::optional<KeyState> state = std::nullopt,
                 std::optional<std::int64_t> bank = std::nullopt, std::size_t limit = 0) {
  KeyFilter f;
  f.tier = tier;
  f.state = state;
  f.funding_bank_id = bank;
  f.limit = limit;
  return f;
}

using testing::StoreBackend;
using testing::TestClock;

solana::Pubkey pk(std::uint32_t n, std::uint8_t salt = 0) {
  solana::Pubkey p;
  for (std::size_t i = 0; i < p.bytes.size(); ++i) {
    p.bytes[i] = static_cast<std::uint8_t>((n >> ((i % 4) * 8)) ^ (i * 31) ^ salt);
  }
  p.bytes[31] = 0xA5;  // never all-zero
  return p;
}

solana::Signature sig(std::uint32_t n) {
  solana::Signature s;
  for (std::size_t i = 0; i < s.bytes.size(); ++i) {
    s.bytes[i] = static_cast<std::uint8_t>(n + i + 1);
  }
  return s;
}

const LeaseOwner kOwnerA{"host-a", 100, "aaaa"};
const LeaseOwner kOwnerB{"host-b", 200, "bbbb"};

class KeyStoreSuite : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override { store_ = fresh(); }

  std::unique_ptr<KeyStore> fresh() {
    char tmpl[] = "/tmp/qtw-store-test-XXXXXX";
    const char* dir = ::mkdtemp(tmpl);
    EXPECT_NE(dir, nullptr);
    dirs_.emplace_back(dir);
    auto s = GetParam().make(dirs_.back(), clock_);
    EXPECT_TRUE(s.has_value()) << (s ? "" : to_string(s.error()));
    return s ? std::move(*s) : nullptr;
  }

  void TearDown() override {
    store_.reset();
    for (const auto& d : dirs_) std::filesystem::remove_all(d);
  }

  // A Bank with `n` Explorers reserved (pending).
  std::pair<KeyRecord, std::vector<KeyRecord>> bank_with(KeyStore& s, std::uint32_t bank_index,
                                                         std::size_t n) {
    auto bank = s.add_bank(bank_index, pk(1'000'000 + bank_index));
    EXPECT_TRUE(bank.has_value()) << to_string(bank.error());
    if (!bank) return {};
    auto ex = s.reserve_explorers(bank->id, n, [bank_index](std::uint32_t j) -> Result<solana::Pubkey> {
      return pk(bank_index * 100'000 + j, 7);
    });
    EXPECT_TRUE(ex.has_value()) << to_string(ex.error());
    if (!ex) return {*bank, {}};
    return {*bank, *ex};
  }

  std::vector<solana::Pubkey> make_available(KeyStore& s, std::size_t n, std::uint32_t bank = 0) {
    auto [b, ex] = bank_with(s, bank, n);
    std::vector<solana::Pubkey> keys;
    for (const auto& r : ex) keys.push_back(r.pubkey);
    EXPECT_TRUE(s.transition_many(keys, KeyState::kPending, KeyState::kAvailable, "funded"));
    return keys;
  }

  // Brings one fresh Explorer to `state` along legal transitions. Returns
  // its pubkey and, when leased, its lease id.
  std::pair<solana::Pubkey, std::uint64_t> drive_to(KeyStore& s, KeyState state,
                                                     std::uint32_t bank_index = 0) {
    auto [b, ex] = bank_with(s, bank_index, 1);
    if (ex.empty()) return {};
    const auto key = ex.at(0).pubkey;
    using S = KeyState;
    auto go = [&](S from, S to) {
      auto st = s.transition(key, from, to, "setup");
      EXPECT_TRUE(st.has_value()) << to_string(st.error());
    };
    std::uint64_t lease = 0;
    switch (state) {
      case S::kPending: break;
      case S::kAvailable: go(S::kPending, S::kAvailable); break;
      case S::kLeased: {
        go(S::kPending, S::kAvailable);
        auto c = s.claim_explorers(kOwnerA, 1, clock_.now_ms + 60'000);
        EXPECT_TRUE(c.has_value() && c->size() == 1);
        lease = c->at(0).lease->lease_id;
        break;
      }
      case S::kUsed: go(S::kPending, S::kAvailable); go(S::kAvailable, S::kUsed); break;
      case S::kDraining:
        go(S::kPending, S::kAvailable);
        go(S::kAvailable, S::kUsed);
        go(S::kUsed, S::kDraining);
        break;
      case S::kRetired:
        go(S::kPending, S::kAvailable);
        go(S::kAvailable, S::kUsed);
        go(S::kUsed, S::kRetired);
        break;
      case S::kDropped: go(S::kPending, S::kDropped); break;
      case S::kStranded:
        go(S::kPending, S::kAvailable);
        go(S::kAvailable, S::kUsed);
        go(S::kUsed, S::kStranded);
        break;
      case S::kActive: ADD_FAILURE() << "explorers are never active"; break;
    }
    EXPECT_EQ(s.get_key(key)->state, state);
    return {key, lease};
  }

  TestClock clock_;
  std::unique_ptr<KeyStore> store_;
  std::vector<std::filesystem::path> dirs_;
};

// The legal transitions, written independently of check_transition from
// The state machine of docs/ARCHITECTURE.md plus the additions documented in key_store.h.
const std::set<std::pair<KeyState, KeyState>> kLegal = {
    {KeyState::kPending, KeyState::kAvailable}, {KeyState::kPending, KeyState::kDropped},
    {KeyState::kAvailable, KeyState::kLeased},  {KeyState::kAvailable, KeyState::kUsed},
    {KeyState::kLeased, KeyState::kAvailable},  {KeyState::kLeased, KeyState::kUsed},
    {KeyState::kUsed, KeyState::kDraining},     {KeyState::kUsed, KeyState::kRetired},
    {KeyState::kDraining, KeyState::kRetired},  {KeyState::kDraining, KeyState::kUsed},
    {KeyState::kDropped, KeyState::kUsed},      {KeyState::kUsed, KeyState::kStranded},
    {KeyState::kDraining, KeyState::kStranded},
};
constexpr KeyState kExplorerStates[] = {KeyState::kPending,  KeyState::kAvailable,
                                        KeyState::kLeased,   KeyState::kUsed,
                                        KeyState::kDraining, KeyState::kRetired,
                                        KeyState::kDropped,  KeyState::kStranded};

TEST(CheckTransition, MatchesTheTableForEveryPair) {
  const KeyState all[] = {KeyState::kPending,  KeyState::kAvailable, KeyState::kLeased,
                          KeyState::kUsed,     KeyState::kDraining,  KeyState::kRetired,
                          KeyState::kDropped,  KeyState::kActive,    KeyState::kStranded};
  int legal = 0;
  for (auto from : all) {
    for (auto to : all) {
      const bool want = kLegal.count({from, to}) > 0;
      auto st = check_transition(from, to);
      EXPECT_EQ(st.has_value(), want) << key_state_name(from) << " -> " << key_state_name(to);
      if (!st) {
        EXPECT_EQ(st.error().code, ErrorCode::kIllegalTransition);
        EXPECT_NE(st.error().message.find(std::string(key_state_name(from))), std::string::npos);
      }
      legal += want;
    }
  }
  EXPECT_EQ(legal, 13);
}

TEST(CheckTransition, IntentStatuses) {
  using S = IntentStatus;
  const std::set<std::pair<S, S>> legal = {{S::kPrepared, S::kSent},  {S::kPrepared, S::kAbandoned},
                                           {S::kPrepared, S::kFailed}, {S::kSent, S::kConfirmed},
                                           {S::kSent, S::kFailed},     {S::kSent, S::kExpired},
                                           {S::kExpired, S::kConfirmed}};
  for (int f = 0; f < 6; ++f) {
    for (int t = 0; t < 6; ++t) {
      const auto from = static_cast<S>(f);
      const auto to = static_cast<S>(t);
      EXPECT_EQ(check_intent_transition(from, to).has_value(), legal.count({from, to}) > 0)
          << intent_status_name(from) << " -> " << intent_status_name(to);
    }
  }
}

TEST(Names, RoundTrip) {
  for (int i = 0; i < 9; ++i) {
    const auto s = static_cast<KeyState>(i);
    EXPECT_EQ(*parse_key_state(key_state_name(s)), s);
  }
  for (int i = 0; i < 3; ++i) {
    const auto t = static_cast<KeyTier>(i);
    EXPECT_EQ(*parse_key_tier(key_tier_name(t)), t);
  }
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(*parse_intent_kind(intent_kind_name(static_cast<IntentKind>(i))),
              static_cast<IntentKind>(i));
    EXPECT_EQ(*parse_intent_status(intent_status_name(static_cast<IntentStatus>(i))),
              static_cast<IntentStatus>(i));
  }
  EXPECT_EQ(parse_key_tier("cold").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(key_tier_name(KeyTier::Explorer), "explorer");
}

TEST_P(KeyStoreSuite, WalletIsCreatedOnceAndNeverReplaced) {
  EXPECT_EQ(store_->get_wallet().error().code, ErrorCode::kNotFound);
  const std::vector<std::uint8_t> sealed = {1, 2, 3, 4, 5};
  ASSERT_TRUE(store_->create_wallet(sealed));
  auto w = store_->get_wallet();
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->sealed_seed, sealed);
  EXPECT_EQ(w->created_at_ms, clock_.now_ms.load());
  EXPECT_EQ(w->schema_version, store_->schema_version());
  const std::vector<std::uint8_t> other = {9, 9};
  EXPECT_EQ(store_->create_wallet(other).error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(store_->get_wallet()->sealed_seed, sealed);
}

TEST_P(KeyStoreSuite, HodlAndBankRegistration) {
  const std::vector<std::uint8_t> sealed = {7, 7, 7};
  auto hot = store_->add_hodl(pk(1), sealed, "cold-1");
  ASSERT_TRUE(hot.has_value()) << to_string(hot.error());
  EXPECT_EQ(hot->tier, KeyTier::Hodl);
  EXPECT_EQ(hot->state, KeyState::kActive);
  EXPECT_EQ(hot->sealed_secret, sealed);
  EXPECT_EQ(hot->label, "cold-1");
  EXPECT_FALSE(hot->watch_only());
  auto watch = store_->add_hodl(pk(2), {}, "");
  ASSERT_TRUE(watch.has_value());
  EXPECT_TRUE(watch->watch_only());
  EXPECT_EQ(store_->add_hodl(pk(1), {}, "again").error().code, ErrorCode::kAlreadyExists);

  auto bank = store_->add_bank(0, pk(10));
  ASSERT_TRUE(bank.has_value());
  EXPECT_EQ(bank->tier, KeyTier::Bank);
  EXPECT_EQ(bank->bank_index, 0u);
  EXPECT_TRUE(bank->sealed_secret.empty());
  EXPECT_EQ(store_->add_bank(0, pk(11)).error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(store_->add_bank(1, pk(1)).error().code, ErrorCode::kAlreadyExists);  // HODL's key
  EXPECT_EQ(store_->add_bank(0x8000'0000u, pk(12)).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->get_key(pk(10))->id, bank->id);
  EXPECT_EQ(store_->get_key_by_id(bank->id)->pubkey, pk(10));
  EXPECT_EQ(store_->get_key(pk(999)).error().code, ErrorCode::kNotFound);
}

TEST_P(KeyStoreSuite, ReserveExplorersPersistsConsecutiveIndexesAtomically) {
  auto [bank, first] = bank_with(*store_, 3, 5);
  ASSERT_EQ(first.size(), 5u);
  for (std::uint32_t j = 0; j < 5; ++j) {
    EXPECT_EQ(first[j].tier, KeyTier::Explorer);
    EXPECT_EQ(first[j].state, KeyState::kPending);
    EXPECT_EQ(first[j].bank_index, 3u);
    EXPECT_EQ(first[j].explorer_index, j);
    EXPECT_EQ(first[j].funding_bank_id, bank.id);
    EXPECT_EQ(first[j].pubkey, pk(300'000 + j, 7));
  }
  EXPECT_EQ(store_->get_key_by_id(bank.id)->next_child_index, 5u);

  // A derivation failure in the middle leaves nothing behind.
  auto bad = store_->reserve_explorers(bank.id, 3, [](std::uint32_t j) -> Result<solana::Pubkey> {
    if (j == 6) return make_error(ErrorCode::kCrypto, "derivation failed");
    return pk(900'000 + j);
  });
  EXPECT_EQ(bad.error().code, ErrorCode::kCrypto);
  EXPECT_EQ(store_->get_key_by_id(bank.id)->next_child_index, 5u);
  EXPECT_EQ(store_->get_key(pk(900'005)).error().code, ErrorCode::kNotFound);

  // A pubkey collision also rolls everything back.
  auto dup = store_->reserve_explorers(bank.id, 2, [](std::uint32_t j) -> Result<solana::Pubkey> {
    return j == 5 ? pk(800'000) : pk(300'000, 7);
  });
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(store_->get_key(pk(800'000)).error().code, ErrorCode::kNotFound);

  auto more = store_->reserve_explorers(bank.id, 2, [](std::uint32_t j) -> Result<solana::Pubkey> {
    return pk(700'000 + j);
  });
  ASSERT_TRUE(more.has_value());
  EXPECT_EQ(more->at(0).explorer_index, 5u);
  EXPECT_EQ(more->at(1).explorer_index, 6u);
  EXPECT_EQ(store_->get_key_by_id(bank.id)->next_child_index, 7u);

  auto hodl = store_->add_hodl(pk(5), {}, "");
  EXPECT_EQ(store_->reserve_explorers(hodl->id, 1, [](std::uint32_t) { return pk(1); })
                .error()
                .code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->reserve_explorers(123456, 1, [](std::uint32_t) { return pk(1); }).error().code,
            ErrorCode::kNotFound);

  auto funding = store_->funding_bank_of(first[2].pubkey);
  ASSERT_TRUE(funding.has_value());
  EXPECT_EQ(funding->id, bank.id);
  EXPECT_EQ(store_->funding_bank_of(bank.pubkey).error().code, ErrorCode::kInvalidArgument);
}

// Every (from, to) pair of Explorer states, on a fresh store each: the legal
// ones apply, the illegal ones fail with kIllegalTransition and change nothing.
TEST_P(KeyStoreSuite, EveryExplorerTransitionLegalAndIllegal) {
  int applied = 0;
  for (auto from : kExplorerStates) {
    for (auto to : kExplorerStates) {
      SCOPED_TRACE(std::string(key_state_name(from)) + " -> " + std::string(key_state_name(to)));
      auto s = fresh();
      ASSERT_NE(s, nullptr);
      auto [key, lease] = drive_to(*s, from);
      const bool legal = kLegal.count({from, to}) > 0;
      Status st;
      if (from == KeyState::kLeased && (to == KeyState::kAvailable || to == KeyState::kUsed)) {
        st = s->release_explorer(key, lease, /*retire=*/to == KeyState::kUsed);
      } else if (to == KeyState::kLeased && from == KeyState::kAvailable) {
        auto c = s->claim_explorers(kOwnerB, 1, clock_.now_ms + 1000);
        st = c ? Status{} : Status(tl::unexpected(c.error()));
        if (c) {
          EXPECT_EQ(c->size(), 1u);
        }
      } else {
        st = s->transition(key, from, to, "test");
        if (!st && (from == KeyState::kLeased || to == KeyState::kLeased)) {
          // The generic path refuses lease states outright.
          EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
          if (to == KeyState::kLeased && from != KeyState::kAvailable) {
            // And a claim never picks a key that is not available.
            auto c = s->claim_explorers(kOwnerB, 10, clock_.now_ms + 1000);
            ASSERT_TRUE(c.has_value());
            EXPECT_TRUE(c->empty());
          }
        } else if (!st) {
          EXPECT_EQ(st.error().code, ErrorCode::kIllegalTransition) << st.error().message;
        }
      }
      EXPECT_EQ(st.has_value(), legal) << (st ? "" : st.error().message);
      EXPECT_EQ(s->get_key(key)->state, legal ? to : from);
      applied += legal && st.has_value();
    }
  }
  EXPECT_EQ(applied, 13);
}

// Stranded is terminal and keeps its reason; other states carry none.
TEST_P(KeyStoreSuite, StrandedKeepsItsReason) {
  auto [key, lease] = drive_to(*store_, KeyState::kUsed);
  EXPECT_TRUE(store_->get_key(key)->stranded_reason.empty());
  ASSERT_TRUE(store_->transition(key, KeyState::kUsed, KeyState::kStranded,
                                 "owner changed to Vote111 (Assign)")
                  .has_value());
  auto k = store_->get_key(key);
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->state, KeyState::kStranded);
  EXPECT_EQ(k->stranded_reason, "owner changed to Vote111 (Assign)");
  KeyFilter f;
  f.state = KeyState::kStranded;
  auto listed = store_->list_keys(f);
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->at(0).stranded_reason, "owner changed to Vote111 (Assign)");
  for (auto to : kExplorerStates) {
    if (to == KeyState::kLeased) continue;
    EXPECT_FALSE(store_->transition(key, KeyState::kStranded, to, "retry").has_value())
        << key_state_name(to);
  }
}

TEST_P(KeyStoreSuite, TransitionIsCompareAndSet) {
  auto [key, lease] = drive_to(*store_, KeyState::kUsed);
  // Caller believes it is draining; it is used: nothing is written.
  auto st = store_->transition(key, KeyState::kDraining, KeyState::kRetired, "stale view");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kIllegalTransition);
  EXPECT_EQ(store_->get_key(key)->state, KeyState::kUsed);
  EXPECT_EQ(store_->transition(pk(4242), KeyState::kUsed, KeyState::kRetired, "").error().code,
            ErrorCode::kNotFound);
  auto bank = store_->get_key_by_id(*store_->get_key(key)->funding_bank_id);
  EXPECT_EQ(store_->transition(bank->pubkey, KeyState::kUsed, KeyState::kRetired, "").error().code,
            ErrorCode::kInvalidArgument);

  // transition_many is all or nothing.
  auto keys = make_available(*store_, 3, 5);
  ASSERT_TRUE(store_->transition(keys[1], KeyState::kAvailable, KeyState::kUsed, "sweep"));
  auto many = store_->transition_many(keys, KeyState::kAvailable, KeyState::kUsed, "sweep");
  EXPECT_EQ(many.error().code, ErrorCode::kIllegalTransition);
  EXPECT_EQ(store_->get_key(keys[0])->state, KeyState::kAvailable);
  EXPECT_EQ(store_->get_key(keys[2])->state, KeyState::kAvailable);
}

TEST_P(KeyStoreSuite, ClaimRenewExpireRelease) {
  auto keys = make_available(*store_, 10);
  const auto t0 = clock_.now_ms.load();
  auto a = store_->claim_explorers(kOwnerA, 4, t0 + 10'000);
  ASSERT_TRUE(a.has_value());
  ASSERT_EQ(a->size(), 4u);
  std::set<std::uint64_t> lease_ids;
  for (const auto& r : *a) {
    EXPECT_EQ(r.state, KeyState::kLeased);
    ASSERT_TRUE(r.lease.has_value());
    EXPECT_EQ(r.lease->owner, kOwnerA);
    EXPECT_EQ(r.lease->deadline_ms, t0 + 10'000);
    lease_ids.insert(r.lease->lease_id);
  }
  EXPECT_EQ(lease_ids.size(), 4u);
  auto b = store_->claim_explorers(kOwnerB, 100, t0 + 1'000);
  ASSERT_EQ(b->size(), 6u);
  EXPECT_TRUE(store_->claim_explorers(kOwnerB, 5, t0)->empty());
  EXPECT_EQ(store_->claim_explorers(LeaseOwner{}, 1, t0).error().code,
            ErrorCode::kInvalidArgument);

  auto owners = store_->list_lease_owners();
  ASSERT_EQ(owners->size(), 2u);

  // A heartbeat moves only A's deadlines.
  EXPECT_EQ(*store_->renew_leases(kOwnerA, t0 + 20'000), 4u);
  EXPECT_EQ(store_->get_key(a->at(0).pubkey)->lease->deadline_ms, t0 + 20'000);

  // B's leases ran out: used (I2), returned in claim order.
  auto expired = store_->expire_leases(t0 + 5'000);
  ASSERT_EQ(expired->size(), 6u);
  for (const auto& r : *b) {
    EXPECT_EQ(store_->get_key(r.pubkey)->state, KeyState::kUsed);
    EXPECT_FALSE(store_->get_key(r.pubkey)->lease.has_value());
    // A late return after expiry is refused: the key counts as used.
    EXPECT_EQ(store_->release_explorer(r.pubkey, r.lease->lease_id, false).error().code,
              ErrorCode::kConflict);
  }
  EXPECT_EQ(*store_->renew_leases(kOwnerB, t0 + 99'000), 0u);  // no revival

  // Keep: back to available, claimable again with a new lease id.
  const auto& k0 = a->at(0);
  EXPECT_EQ(store_->release_explorer(k0.pubkey, k0.lease->lease_id + 1000, false).error().code,
            ErrorCode::kConflict);
  ASSERT_TRUE(store_->release_explorer(k0.pubkey, k0.lease->lease_id, false));
  EXPECT_EQ(store_->get_key(k0.pubkey)->state, KeyState::kAvailable);
  auto again = store_->claim_explorers(kOwnerB, 1, t0 + 50'000);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ(again->at(0).pubkey, k0.pubkey);
  EXPECT_GT(again->at(0).lease->lease_id, *lease_ids.rbegin());

  // Retire: used.
  const auto& k1 = a->at(1);
  ASSERT_TRUE(store_->release_explorer(k1.pubkey, k1.lease->lease_id, true));
  EXPECT_EQ(store_->get_key(k1.pubkey)->state, KeyState::kUsed);
  EXPECT_EQ(store_->release_explorer(k1.pubkey, k1.lease->lease_id, true).error().code,
            ErrorCode::kConflict);

  // Batch release: wrong owner refuses all, nothing changes.
  std::vector<solana::Pubkey> rest = {a->at(2).pubkey, again->at(0).pubkey};
  EXPECT_EQ(store_->release_explorers(kOwnerA, rest, true).error().code, ErrorCode::kConflict);
  EXPECT_EQ(store_->get_key(a->at(2).pubkey)->state, KeyState::kLeased);
  std::vector<solana::Pubkey> mine = {a->at(2).pubkey};
  ASSERT_TRUE(store_->release_explorers(kOwnerA, mine, false));
  EXPECT_EQ(store_->get_key(a->at(2).pubkey)->state, KeyState::kAvailable);

  // Owner died: its leases are used.
  auto dead = store_->expire_owner(kOwnerA, "died");
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ(dead->at(0), a->at(3).pubkey);
  EXPECT_EQ(store_->get_key(a->at(3).pubkey)->state, KeyState::kUsed);
  EXPECT_EQ(store_->list_lease_owners()->size(), 1u);  // B holds `again`
}

TEST_P(KeyStoreSuite, SignOnceGuardIsDurable) {
  make_available(*store_, 2);
  auto c = store_->claim_explorers(kOwnerA, 2, clock_.now_ms + 60'000);
  ASSERT_EQ(c->size(), 2u);
  const auto& k = c->at(0);
  EXPECT_EQ(store_->mark_signed(k.pubkey, k.lease->lease_id + 77).error().code,
            ErrorCode::kConflict);
  ASSERT_TRUE(store_->mark_signed(k.pubkey, k.lease->lease_id));
  auto rec = store_->get_key(k.pubkey);
  EXPECT_EQ(rec->sign_count, 1u);
  EXPECT_EQ(rec->signed_at_ms, clock_.now_ms.load());
  auto second = store_->mark_signed(k.pubkey, k.lease->lease_id);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kConflict);
  EXPECT_NE(second.error().message.find("already signed"), std::string::npos);
  // A signed key cannot go back to the pool, only be retired.
  EXPECT_EQ(store_->release_explorer(k.pubkey, k.lease->lease_id, false).error().code,
            ErrorCode::kConflict);
  ASSERT_TRUE(store_->release_explorer(k.pubkey, k.lease->lease_id, true));
  EXPECT_EQ(store_->mark_signed(k.pubkey, k.lease->lease_id).error().code, ErrorCode::kConflict);
  // Not leased at all: refused.
  auto [avail, unused] = drive_to(*store_, KeyState::kAvailable, 9);
  EXPECT_EQ(store_->mark_signed(avail, 1).error().code, ErrorCode::kConflict);
  EXPECT_EQ(store_->get_key(avail)->sign_count, 0u);
}

// The daemon's sign records, written after the signatures in one batch:
// current leases get sign_count 1 and one explorer.sign audit row names
// each Explorer and lease; a lease that ended (expired elsewhere) or a key
// that already signed is skipped and returned; a non-Explorer writes nothing.
TEST_P(KeyStoreSuite, RecordSignedWritesCurrentLeasesAndReturnsTheRest) {
  make_available(*store_, 4);
  auto c = store_->claim_explorers(kOwnerA, 4, clock_.now_ms + 60'000);
  ASSERT_EQ(c->size(), 4u);
  ASSERT_TRUE(store_->mark_signed(c->at(2).pubkey, c->at(2).lease->lease_id));
  ASSERT_TRUE(store_->release_explorer(c->at(3).pubkey, c->at(3).lease->lease_id, true));
  const std::vector<store::SignedLease> batch = {
      {c->at(0).pubkey, c->at(0).lease->lease_id},
      {c->at(1).pubkey, c->at(1).lease->lease_id},
      {c->at(2).pubkey, c->at(2).lease->lease_id},  // already signed
      {c->at(3).pubkey, c->at(3).lease->lease_id},  // lease ended
  };
  auto refused = store_->record_signed(batch);
  ASSERT_TRUE(refused) << to_string(refused.error());
  EXPECT_EQ(*refused, (std::vector<solana::Pubkey>{c->at(2).pubkey, c->at(3).pubkey}));
  EXPECT_EQ(store_->get_key(c->at(0).pubkey)->sign_count, 1u);
  EXPECT_EQ(store_->get_key(c->at(1).pubkey)->sign_count, 1u);
  EXPECT_EQ(store_->get_key(c->at(1).pubkey)->signed_at_ms, clock_.now_ms.load());
  EXPECT_EQ(store_->get_key(c->at(3).pubkey)->sign_count, 0u);
  auto tail = store_->list_audit_tail(1);
  ASSERT_TRUE(tail);
  EXPECT_EQ(tail->at(0).record.action, "explorer.sign");
  EXPECT_EQ(tail->at(0).record.pubkey, c->at(0).pubkey);
  const auto& d = tail->at(0).record.detail;
  EXPECT_NE(d.find("(2 Explorers: " + c->at(0).pubkey.to_base58() + " lease " +
                   std::to_string(c->at(0).lease->lease_id)),
            std::string::npos)
      << d;
  EXPECT_NE(d.find(c->at(1).pubkey.to_base58() + " lease " + std::to_string(c->at(1).lease->lease_id)),
            std::string::npos)
      << d;
  // Signed keys only retire.
  EXPECT_EQ(store_->release_explorer(c->at(0).pubkey, c->at(0).lease->lease_id, false).error().code,
            ErrorCode::kConflict);
  // Nothing to write: no transaction, nothing refused.
  EXPECT_TRUE(store_->record_signed({})->empty());
  // Not an Explorer: kInvalidArgument, nothing written for the batch.
  store::KeyFilter banks;
  banks.tier = store::KeyTier::Bank;
  auto bank = store_->list_keys(banks);
  ASSERT_TRUE(bank);
  ASSERT_FALSE(bank->empty());
  const std::vector<store::SignedLease> bad = {{c->at(1).pubkey, 1}, {bank->at(0).pubkey, 1}};
  EXPECT_EQ(store_->record_signed(bad).error().code, ErrorCode::kInvalidArgument);
}

TEST_P(KeyStoreSuite, ConcurrentClaimsNeverShareAKey) {
  constexpr std::size_t kKeys = 300;
  auto keys = make_available(*store_, kKeys);
  constexpr int kThreads = 8;
  std::vector<std::vector<KeyRecord>> got(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const LeaseOwner owner{"host", 1000 + t, "inst" + std::to_string(t)};
      while (true) {
        auto c = store_->claim_explorers(owner, 3, clock_.now_ms + 60'000);
        if (!c) {
          ++errors;
          return;
        }
        if (c->empty()) return;
        for (auto& r : *c) got[t].push_back(std::move(r));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  std::set<solana::Pubkey> seen;
  std::set<std::uint64_t> leases;
  std::size_t total = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (const auto& r : got[t]) {
      EXPECT_TRUE(seen.insert(r.pubkey).second) << "key handed out twice";
      EXPECT_TRUE(leases.insert(r.lease->lease_id).second);
      EXPECT_EQ(store_->get_key(r.pubkey)->lease->owner.pid, 1000 + t);
      ++total;
    }
  }
  EXPECT_EQ(total, kKeys);
}

IntentRecord sample_intent(std::uint32_t n) {
  IntentRecord in;
  in.kind = IntentKind::kFundExplorers;
  in.fee_payer = pk(1);
  in.transfers = {{pk(1), pk(2), 10'000'000}, {pk(1), pk(3), 10'000'001}};
  in.signature = sig(n);
  in.blockhash.bytes.fill(0x42);
  in.last_valid_block_height = 1234 + n;
  in.wire = {1, 2, 3, static_cast<std::uint8_t>(n)};
  return in;
}

TEST_P(KeyStoreSuite, IntentLog) {
  auto id = store_->insert_intent(sample_intent(1));
  ASSERT_TRUE(id.has_value()) << to_string(id.error());
  auto got = store_->get_intent(*id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status, IntentStatus::kPrepared);
  EXPECT_EQ(got->kind, IntentKind::kFundExplorers);
  EXPECT_EQ(got->fee_payer, pk(1));
  ASSERT_EQ(got->transfers.size(), 2u);
  EXPECT_EQ(got->transfers[1].to, pk(3));
  EXPECT_EQ(got->transfers[1].lamports, 10'000'001u);
  EXPECT_EQ(got->signature, sig(1));
  EXPECT_EQ(got->last_valid_block_height, 1235u);
  EXPECT_EQ(got->wire, (std::vector<std::uint8_t>{1, 2, 3, 1}));
  EXPECT_FALSE(got->slot.has_value());
  EXPECT_EQ(store_->get_intent_by_signature(sig(1))->id, *id);
  EXPECT_EQ(store_->get_intent_by_signature(sig(99)).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->insert_intent(sample_intent(1)).error().code, ErrorCode::kAlreadyExists);

  auto bad = sample_intent(2);
  bad.status = IntentStatus::kSent;
  EXPECT_EQ(store_->insert_intent(bad).error().code, ErrorCode::kInvalidArgument);
  bad = sample_intent(2);
  bad.transfers[0].lamports = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(store_->insert_intent(bad).error().code, ErrorCode::kInvalidArgument);
  bad = sample_intent(2);
  bad.signature = {};
  EXPECT_EQ(store_->insert_intent(bad).error().code, ErrorCode::kInvalidArgument);

  auto id2 = store_->insert_intent(sample_intent(2));
  auto id3 = store_->insert_intent(sample_intent(3));
  ASSERT_TRUE(id2 && id3);
  ASSERT_TRUE(store_->update_intent(*id, IntentStatus::kPrepared, IntentStatus::kSent, {}));
  ASSERT_TRUE(store_->update_intent(*id, IntentStatus::kSent, IntentStatus::kConfirmed,
                                    IntentOutcome{777, 5000, ""}));
  got = store_->get_intent(*id);
  EXPECT_EQ(got->status, IntentStatus::kConfirmed);
  EXPECT_EQ(got->slot, 777u);
  EXPECT_EQ(got->fee_lamports, 5000u);
  // Final states stay final; a stale `from` is refused.
  EXPECT_EQ(store_->update_intent(*id, IntentStatus::kConfirmed, IntentStatus::kSent, {})
                .error()
                .code,
            ErrorCode::kIllegalTransition);
  EXPECT_EQ(store_->update_intent(*id2, IntentStatus::kSent, IntentStatus::kExpired, {})
                .error()
                .code,
            ErrorCode::kIllegalTransition);
  EXPECT_EQ(store_->get_intent(*id2)->status, IntentStatus::kPrepared);
  EXPECT_EQ(store_->update_intent(4242, IntentStatus::kPrepared, IntentStatus::kSent, {})
                .error()
                .code,
            ErrorCode::kNotFound);
  ASSERT_TRUE(store_->update_intent(*id3, IntentStatus::kPrepared, IntentStatus::kSent, {}));
  ASSERT_TRUE(store_->update_intent(*id3, IntentStatus::kSent, IntentStatus::kExpired,
                                    IntentOutcome{std::nullopt, std::nullopt, "block height exceeded"}));
  EXPECT_EQ(store_->get_intent(*id3)->error, "block height exceeded");

  auto open = store_->list_unresolved_intents();
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ(open->at(0).id, *id2);
  auto for_key = store_->list_intents_for_key(pk(3));
  EXPECT_EQ(for_key->size(), 3u);
  EXPECT_TRUE(store_->list_intents_for_key(pk(77))->empty());
}

TEST_P(KeyStoreSuite, CountsByTierAndState) {
  ASSERT_TRUE(store_->add_hodl(pk(1), {}, ""));
  auto keys = make_available(*store_, 5);
  ASSERT_TRUE(store_->transition(keys[0], KeyState::kAvailable, KeyState::kUsed, ""));
  auto [b2, pending] = bank_with(*store_, 1, 2);
  auto counts = store_->count_keys();
  ASSERT_TRUE(counts.has_value());
  std::vector<std::tuple<KeyTier, KeyState, std::uint64_t>> got;
  for (const auto& c : *counts) got.emplace_back(c.tier, c.state, c.count);
  const std::vector<std::tuple<KeyTier, KeyState, std::uint64_t>> want = {
      {KeyTier::Hodl, KeyState::kActive, 1},
      {KeyTier::Bank, KeyState::kActive, 2},
      {KeyTier::Explorer, KeyState::kPending, 2},
      {KeyTier::Explorer, KeyState::kAvailable, 4},
      {KeyTier::Explorer, KeyState::kUsed, 1},
  };
  EXPECT_EQ(got, want);
  EXPECT_EQ(*store_->count_keys_in(KeyTier::Explorer, KeyState::kAvailable), 4u);
  EXPECT_EQ(*store_->count_keys_in(KeyTier::Explorer, KeyState::kPending), 2u);
  EXPECT_EQ(*store_->count_keys_in(KeyTier::Bank, KeyState::kActive), 2u);
  EXPECT_EQ(*store_->count_keys_in(KeyTier::Explorer, KeyState::kRetired), 0u);

  EXPECT_EQ(store_->list_keys(filter(KeyTier::Explorer))->size(), 7u);
  EXPECT_EQ(store_->list_keys(filter(KeyTier::Explorer, KeyState::kAvailable))->size(),
            4u);
  EXPECT_EQ(store_->list_keys(filter(std::nullopt, std::nullopt, b2.id))->size(), 2u);
  EXPECT_EQ(store_->list_keys(filter(std::nullopt, std::nullopt, std::nullopt, 3))->size(), 3u);
  EXPECT_EQ(store_->list_keys({})->size(), 10u);
}

TEST_P(KeyStoreSuite, TransactRollsBackEverythingOnError) {
  auto st = store_->transact([&]() -> Status {
    QTW_TRY(store_->add_bank(0, pk(10)));
    QTW_TRY(store_->add_hodl(pk(11), {}, ""));
    return make_error(ErrorCode::kRpc, "send failed");
  });
  EXPECT_EQ(st.error().code, ErrorCode::kRpc);
  EXPECT_EQ(store_->get_key(pk(10)).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->get_key(pk(11)).error().code, ErrorCode::kNotFound);

  // A failing inner call that the body tolerates does not poison the rest.
  ASSERT_TRUE(store_->transact([&]() -> Status {
    QTW_TRY(store_->add_bank(0, pk(10)));
    EXPECT_FALSE(store_->add_bank(0, pk(12)));  // duplicate index, rolled back alone
    return store_->transact([&]() -> Status { return store_->add_hodl(pk(11), {}, "").map([](auto&&) {}); });
  }));
  EXPECT_TRUE(store_->get_key(pk(10)).has_value());
  EXPECT_TRUE(store_->get_key(pk(11)).has_value());
  EXPECT_EQ(store_->get_key(pk(12)).error().code, ErrorCode::kNotFound);
}

// A batch (reserve of N, transition of N) writes one chained audit row that
// names its count and every key; the records a reserve returns are the rows
// as stored.
TEST_P(KeyStoreSuite, BatchesWriteOneAuditRowNamingEveryKey) {
  auto before = store_->list_audit(0, 0);
  ASSERT_TRUE(before.has_value());
  auto bank = store_->add_bank(3, pk(42));
  ASSERT_TRUE(bank.has_value());
  auto ex = store_->reserve_explorers(bank->id, 5, [](std::uint32_t j) -> Result<solana::Pubkey> {
    return pk(700 + j, 9);
  });
  ASSERT_TRUE(ex.has_value()) << to_string(ex.error());
  ASSERT_EQ(ex->size(), 5u);
  for (std::size_t i = 0; i < ex->size(); ++i) {
    auto stored = store_->get_key((*ex)[i].pubkey);
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->id, (*ex)[i].id);
    EXPECT_EQ((*ex)[i].tier, KeyTier::Explorer);
    EXPECT_EQ((*ex)[i].state, KeyState::kPending);
    EXPECT_EQ((*ex)[i].bank_index, stored->bank_index);
    EXPECT_EQ((*ex)[i].explorer_index, stored->explorer_index);
    EXPECT_EQ((*ex)[i].explorer_index, std::optional<std::uint32_t>(static_cast<std::uint32_t>(i)));
    EXPECT_EQ((*ex)[i].funding_bank_id, stored->funding_bank_id);
    EXPECT_EQ((*ex)[i].created_at_ms, stored->created_at_ms);
    EXPECT_EQ((*ex)[i].updated_at_ms, stored->updated_at_ms);
    EXPECT_FALSE((*ex)[i].lease);
  }
  auto rows = store_->list_audit(0, 0);
  ASSERT_TRUE(rows.has_value());
  ASSERT_EQ(rows->size(), before->size() + 2);  // bank.add + one explorer.reserve
  const auto& reserve = rows->back();
  EXPECT_EQ(reserve.action, "explorer.reserve");
  EXPECT_EQ(reserve.pubkey, ex->front().pubkey);
  EXPECT_EQ(reserve.detail,
            "bank 3 indexes 0..4 (5 Explorers, last " + ex->back().pubkey.to_base58() + ")");

  std::vector<solana::Pubkey> keys;
  for (const auto& r : *ex) keys.push_back(r.pubkey);
  ASSERT_TRUE(store_->transition_many(keys, KeyState::kPending, KeyState::kAvailable, "funded"));
  rows = store_->list_audit(0, 0);
  ASSERT_TRUE(rows.has_value());
  ASSERT_EQ(rows->size(), before->size() + 3);
  const auto& moved = rows->back();
  EXPECT_EQ(moved.action, "explorer.transition");
  EXPECT_EQ(moved.pubkey, keys.front());
  EXPECT_EQ(moved.detail.rfind("pending -> available: funded (5 Explorers: ", 0), 0u) << moved.detail;
  for (const auto& k : keys) EXPECT_NE(moved.detail.find(k.to_base58()), std::string::npos);
  for (const auto& k : keys) EXPECT_EQ(store_->get_key(k)->state, KeyState::kAvailable);

  // A batch that fails on one key changes none and logs nothing.
  ASSERT_TRUE(store_->transition(keys[2], KeyState::kAvailable, KeyState::kUsed, "one"));
  const auto n_before = store_->list_audit(0, 0)->size();
  auto bad = store_->transition_many(keys, KeyState::kAvailable, KeyState::kUsed, "all");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kIllegalTransition);
  EXPECT_EQ(store_->list_audit(0, 0)->size(), n_before);
  EXPECT_EQ(store_->get_key(keys[0])->state, KeyState::kAvailable);

  auto verified = verify_audit_chain(*store_);
  ASSERT_TRUE(verified.has_value());
  EXPECT_FALSE(verified->first_bad_id) << verified->problem;
}

TEST_P(KeyStoreSuite, AuditLogRecordsTransitions) {
  auto id = store_->append_audit(AuditRecord{0, 0, "cli", "wallet.init", std::nullopt, std::nullopt, "banks=2"});
  ASSERT_TRUE(id.has_value());
  auto keys = make_available(*store_, 1);
  auto rows = store_->list_audit(0, 0);
  ASSERT_TRUE(rows.has_value());
  ASSERT_GE(rows->size(), 4u);  // init, bank.add, explorer.reserve, transition
  EXPECT_EQ(rows->front().action, "wallet.init");
  EXPECT_EQ(rows->front().actor, "cli");
  EXPECT_EQ(rows->front().at_ms, clock_.now_ms.load());
  const auto& last = rows->back();
  EXPECT_EQ(last.action, "explorer.transition");
  EXPECT_EQ(last.pubkey, keys[0]);
  EXPECT_NE(last.detail.find("pending -> available"), std::string::npos);
  for (std::size_t i = 1; i < rows->size(); ++i) EXPECT_GT((*rows)[i].id, (*rows)[i - 1].id);
  EXPECT_EQ(store_->list_audit(rows->at(1).id, 1)->size(), 1u);
}

TEST_P(KeyStoreSuite, OneLeaderAtATime) {
  const auto t0 = clock_.now_ms.load();
  EXPECT_TRUE(*store_->try_acquire_leader(kOwnerA, t0 + 10'000));
  EXPECT_FALSE(*store_->try_acquire_leader(kOwnerB, t0 + 10'000));
  EXPECT_TRUE(*store_->try_acquire_leader(kOwnerA, t0 + 20'000));  // renewal
  ASSERT_TRUE(store_->release_leader(kOwnerB));                    // not leader: no-op
  EXPECT_FALSE(*store_->try_acquire_leader(kOwnerB, t0 + 10'000));
  clock_.now_ms = t0 + 20'001;  // A stopped renewing
  EXPECT_TRUE(*store_->try_acquire_leader(kOwnerB, t0 + 40'000));
  EXPECT_FALSE(*store_->try_acquire_leader(kOwnerA, t0 + 40'000));
  ASSERT_TRUE(store_->release_leader(kOwnerB));
  EXPECT_TRUE(*store_->try_acquire_leader(kOwnerA, t0 + 40'000));
}

TEST_P(KeyStoreSuite, LeaderSlotBelongsToHostAndInstanceNotPid) {
  // A daemon restarted with the same --instance (new pid) takes its own slot
  // back at once, before the old deadline; any other instance waits for it.
  const auto t0 = clock_.now_ms.load();
  const LeaseOwner before{"host-a", 100, "qtw-serve"};
  const LeaseOwner restarted{"host-a", 101, "qtw-serve"};
  const LeaseOwner other_instance{"host-a", 102, "qtw-serve-2"};
  const LeaseOwner other_host{"host-b", 100, "qtw-serve"};
  EXPECT_TRUE(*store_->try_acquire_leader(before, t0 + 15'000));
  EXPECT_FALSE(*store_->try_acquire_leader(other_instance, t0 + 15'000));
  EXPECT_FALSE(*store_->try_acquire_leader(other_host, t0 + 15'000));
  EXPECT_TRUE(*store_->try_acquire_leader(restarted, t0 + 15'000));
  EXPECT_FALSE(*store_->try_acquire_leader(other_instance, t0 + 15'000));
  ASSERT_TRUE(store_->release_leader(before));  // same host + instance: releases it
  EXPECT_TRUE(*store_->try_acquire_leader(other_instance, t0 + 15'000));
}

TEST_P(KeyStoreSuite, InstanceLockIsIdempotentAndPerInstance) {
  const LeaseOwner a{"host-a", 1, "serve-a"};
  ASSERT_TRUE(store_->lock_instance(a));
  ASSERT_TRUE(store_->lock_instance(LeaseOwner{"host-a", 2, "serve-a"}));  // held here already
  ASSERT_TRUE(store_->lock_instance(LeaseOwner{"host-a", 1, "serve-b"}));
  EXPECT_EQ(store_->lock_instance(LeaseOwner{"", 1, "x"}).error().code, ErrorCode::kInvalidArgument);
}

TEST_P(KeyStoreSuite, AuditLogIsHashChained) {
  ASSERT_TRUE(store_->append_audit(AuditRecord{0, 0, "cli", "wallet.init", std::nullopt, std::nullopt, "x"}));
  make_available(*store_, 3);
  auto entries = store_->list_audit_entries(0, 0);
  ASSERT_TRUE(entries.has_value());
  ASSERT_GE(entries->size(), 4u);  // init, bank.add, one reserve row, one transition row
  AuditHash prev{};
  for (const auto& e : *entries) {
    ASSERT_TRUE(e.chained);
    EXPECT_EQ(e.prev_hash, prev) << "entry " << e.record.id;
    EXPECT_EQ(e.hash, audit_entry_hash(e.record, e.prev_hash)) << "entry " << e.record.id;
    prev = e.hash;
  }
  auto report = verify_audit_chain(*store_, 2);  // small pages: links across pages too
  ASSERT_TRUE(report.has_value());
  EXPECT_FALSE(report->first_bad_id);
  EXPECT_EQ(report->entries, entries->size());
  EXPECT_EQ(report->tail_id, entries->back().record.id);
  EXPECT_EQ(report->tail_hash, entries->back().hash);
  auto tail = store_->list_audit_tail(2);
  ASSERT_TRUE(tail.has_value());
  ASSERT_EQ(tail->size(), 2u);
  EXPECT_EQ(tail->back().record.id, entries->back().record.id);
  EXPECT_LT(tail->front().record.id, tail->back().record.id);
  // Any change to a hashed field changes the hash.
  auto r = entries->front().record;
  const auto h = audit_entry_hash(r, AuditHash{});
  r.detail += " ";
  EXPECT_NE(audit_entry_hash(r, AuditHash{}), h);
}

TEST_P(KeyStoreSuite, RemoveHodlOnlyRemovesHodlKeys) {
  ASSERT_TRUE(store_->add_hodl(pk(1), {}, "watch-only"));
  ASSERT_TRUE(store_->add_bank(0, pk(10)));
  EXPECT_EQ(store_->remove_hodl(pk(10)).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->remove_hodl(pk(99)).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(store_->remove_hodl(pk(1)));
  EXPECT_EQ(store_->get_key(pk(1)).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store_->get_key(pk(10)));
  // It can be registered again.
  EXPECT_TRUE(store_->add_hodl(pk(1), {}, "again"));
  auto audit = store_->list_audit(0, 0);
  ASSERT_TRUE(audit);
  EXPECT_TRUE(std::any_of(audit->begin(), audit->end(),
                          [](const AuditRecord& a) { return a.action == "hodl.remove"; }));
}

TEST_P(KeyStoreSuite, NonceAccountsAndTopupRequests) {
  ASSERT_TRUE(store_->add_hodl(pk(1), {}, "watch-only"));
  ASSERT_TRUE(store_->add_bank(0, pk(10)));
  NonceAccountRecord n;
  n.hodl = pk(1);
  n.address = pk(50);
  n.funding_bank = pk(10);
  n.seed = "qtw-nonce-0";
  n.lamports = 1'447'680;
  auto nid = store_->add_nonce_account(n);
  ASSERT_TRUE(nid) << to_string(nid.error());
  EXPECT_EQ(store_->add_nonce_account(n).error().code, ErrorCode::kAlreadyExists);
  NonceAccountRecord not_hodl = n;
  not_hodl.hodl = pk(10);
  not_hodl.address = pk(51);
  EXPECT_EQ(store_->add_nonce_account(not_hodl).error().code, ErrorCode::kInvalidArgument);
  ASSERT_TRUE(store_->set_nonce_account_status(pk(50), NonceAccountStatus::kCreating,
                                               NonceAccountStatus::kActive));
  EXPECT_EQ(store_->set_nonce_account_status(pk(50), NonceAccountStatus::kCreating,
                                             NonceAccountStatus::kFailed)
                .error()
                .code,
            ErrorCode::kIllegalTransition);
  auto nonces = store_->list_nonce_accounts();
  ASSERT_TRUE(nonces);
  ASSERT_EQ(nonces->size(), 1u);
  EXPECT_EQ((*nonces)[0].id, *nid);
  EXPECT_EQ((*nonces)[0].status, NonceAccountStatus::kActive);
  EXPECT_EQ((*nonces)[0].seed, "qtw-nonce-0");
  EXPECT_EQ((*nonces)[0].lamports, 1'447'680u);
  EXPECT_EQ((*nonces)[0].funding_bank, pk(10));

  TopupRequestRecord r;
  r.hodl = pk(1);
  r.nonce_account = pk(50);
  r.nonce_value.bytes.fill(7);
  r.message = {1, 2, 3, 4};
  r.transfers = {IntentTransfer{pk(1), pk(10), 5'000}, IntentTransfer{pk(1), pk(11), 6'000}};
  // Malformed requests are refused whole.
  auto bad = r;
  bad.transfers[1].from = pk(2);
  EXPECT_EQ(store_->insert_topup_request(bad).error().code, ErrorCode::kInvalidArgument);
  bad = r;
  bad.transfers.clear();
  EXPECT_EQ(store_->insert_topup_request(bad).error().code, ErrorCode::kInvalidArgument);
  bad = r;
  bad.transfers[0].lamports = 0;
  EXPECT_EQ(store_->insert_topup_request(bad).error().code, ErrorCode::kInvalidArgument);
  bad = r;
  bad.status = TopupStatus::kSubmitted;
  EXPECT_EQ(store_->insert_topup_request(bad).error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(store_->list_topup_requests(std::nullopt)->empty());

  auto id = store_->insert_topup_request(r);
  ASSERT_TRUE(id) << to_string(id.error());
  auto got = store_->get_topup_request(*id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, TopupStatus::kPending);
  EXPECT_EQ(got->message, r.message);
  EXPECT_EQ(got->nonce_value, r.nonce_value);
  ASSERT_EQ(got->transfers.size(), 2u);
  EXPECT_EQ(got->transfers[1].to, pk(11));
  EXPECT_EQ(got->transfers[1].lamports, 6'000u);
  EXPECT_EQ(got->transfers[1].from, pk(1));
  EXPECT_FALSE(got->signature);
  EXPECT_EQ(store_->get_topup_request(*id + 100).error().code, ErrorCode::kNotFound);

  // pending -> landed skips submitted: refused; CAS on the status.
  EXPECT_EQ(store_->update_topup_request(*id, TopupStatus::kPending, TopupStatus::kLanded,
                                         std::nullopt, std::nullopt, "")
                .error()
                .code,
            ErrorCode::kIllegalTransition);
  EXPECT_EQ(store_->update_topup_request(*id, TopupStatus::kSubmitted, TopupStatus::kLanded,
                                         std::nullopt, std::nullopt, "")
                .error()
                .code,
            ErrorCode::kIllegalTransition);
  IntentRecord intent;
  intent.kind = IntentKind::kFundBank;
  intent.fee_payer = pk(1);
  intent.signature = sig(9);
  intent.wire = {9};
  intent.transfers = r.transfers;
  auto intent_id = store_->insert_intent(intent);
  ASSERT_TRUE(intent_id);
  ASSERT_TRUE(store_->update_topup_request(*id, TopupStatus::kPending, TopupStatus::kSubmitted,
                                           sig(9), *intent_id, ""));
  ASSERT_TRUE(store_->update_topup_request(*id, TopupStatus::kSubmitted, TopupStatus::kLanded,
                                           std::nullopt, std::nullopt, "confirmed"));
  got = store_->get_topup_request(*id);
  EXPECT_EQ(got->status, TopupStatus::kLanded);
  EXPECT_EQ(got->signature, sig(9));
  EXPECT_EQ(got->intent_id, *intent_id);
  EXPECT_EQ(got->detail, "confirmed");
  EXPECT_EQ(store_->update_topup_request(*id, TopupStatus::kLanded, TopupStatus::kStale,
                                         std::nullopt, std::nullopt, "")
                .error()
                .code,
            ErrorCode::kIllegalTransition);

  auto id2 = store_->insert_topup_request(r);
  ASSERT_TRUE(id2);
  ASSERT_TRUE(store_->update_topup_request(*id2, TopupStatus::kPending, TopupStatus::kStale,
                                           std::nullopt, std::nullopt, "nonce advanced"));
  EXPECT_EQ(store_->list_topup_requests(TopupStatus::kStale)->size(), 1u);
  EXPECT_EQ(store_->list_topup_requests(TopupStatus::kPending)->size(), 0u);
  EXPECT_EQ(store_->list_topup_requests(std::nullopt)->size(), 2u);

  // All of it inside a failed transaction leaves nothing behind.
  auto rolled = store_->transact([&]() -> Status {
    QTW_TRY(store_->insert_topup_request(r).map([](auto) {}));
    return make_error(ErrorCode::kInternal, "boom");
  });
  EXPECT_FALSE(rolled);
  EXPECT_EQ(store_->list_topup_requests(std::nullopt)->size(), 2u);
}

// Named settings (the funding pause a sweep sets): absent until put,
// replaced in place, rolled back with their transaction, and the lease
// counter's own row stays out of reach.
TEST_P(KeyStoreSuite, SettingsPutGetReplaceAndRollBack) {
  auto absent = store_->get_setting("funding_paused_at_ms");
  ASSERT_TRUE(absent.has_value()) << absent.error().message;
  EXPECT_FALSE(absent->has_value());
  ASSERT_TRUE(store_->put_setting("funding_paused_at_ms", 1234));
  EXPECT_EQ(**store_->get_setting("funding_paused_at_ms"), 1234);
  ASSERT_TRUE(store_->put_setting("funding_paused_at_ms", 0));
  EXPECT_EQ(**store_->get_setting("funding_paused_at_ms"), 0);
  auto rolled = store_->transact([&]() -> Status {
    QTW_TRY(store_->put_setting("funding_paused_at_ms", 99));
    return make_error(ErrorCode::kRpc, "later step failed");
  });
  EXPECT_FALSE(rolled);
  EXPECT_EQ(**store_->get_setting("funding_paused_at_ms"), 0);
  EXPECT_EQ(store_->put_setting("next_lease_id", 1).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->put_setting("", 1).error().code, ErrorCode::kInvalidArgument);
  // Claims still count leases from their own counter.
  auto keys = make_available(*store_, 2);
  auto a = store_->claim_explorers(kOwnerA, 1, clock_.now_ms.load() + 1000);
  auto b = store_->claim_explorers(kOwnerA, 1, clock_.now_ms.load() + 1000);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->front().lease->lease_id, b->front().lease->lease_id);
}

INSTANTIATE_TEST_SUITE_P(Backends, KeyStoreSuite,
                         ::testing::ValuesIn(testing::store_backends()),
                         [](const ::testing::TestParamInfo<StoreBackend>& p) { return p.param.name; });

}  // namespace
}  // namespace qtw::store

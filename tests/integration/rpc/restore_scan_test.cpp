// The chain scan a restored store runs before it creates any Explorer
// (qtw/wallet/chain_scan.h), on the real local node: a store that knows the
// Banks but none of the Explorers the wallet created after it was copied
// finds every one of them at its own index, reserves the indexes and puts
// each where the chain says, in a few batched HTTP requests; with the node
// unreachable it writes nothing and stays marked.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>

#include "qtw/solana/transaction.h"
#include "qtw/store/open_store.h"
#include "qtw/wallet/chain_scan.h"
#include "qtw/wallet/tx_plan.h"
#include "support/wallet_rig.h"

namespace qtw::test {
namespace {

using store::KeyState;
using store::KeyTier;

WalletRigOptions rig_options() {
  WalletRigOptions o;
  o.slot_ms = 100;
  o.banks = 2;
  o.balancer.params.min_explorer_keys = 10;
  o.balancer.params.explorer_keys_to_create = 10;
  o.balancer.params.lamports_per_explorer = 2'000'000;
  o.balancer.params.lamports_per_bank = 1'000'000'000;
  o.balancer.sender.poll_interval_ms = 100;
  // Exact counts: the scans below follow each index one by one.
  o.balancer.fill_funding_transactions = false;
  return o;
}

std::vector<store::KeyRecord> keys_of(store::KeyStore& s, KeyTier tier) {
  store::KeyFilter f;
  f.tier = tier;
  auto keys = s.list_keys(f);
  EXPECT_TRUE(keys);
  return keys ? *keys : std::vector<store::KeyRecord>{};
}
std::vector<store::KeyRecord> explorers_of(store::KeyStore& s) {
  return keys_of(s, KeyTier::Explorer);
}
std::vector<store::KeyRecord> banks_of(store::KeyStore& s) {
  return keys_of(s, KeyTier::Bank);
}

// Hot keys for a Balancer on the copy (no HODL key: the copy tops up no Bank).
class HotSigner final : public wallet::KeySigner {
 public:
  explicit HotSigner(const vault::HotKeys& hot) : hot_(hot) {}
  Result<solana::Keypair> bank_keypair(std::uint32_t i) override { return hot_.bank_keypair(i); }
  Result<solana::Keypair> explorer_keypair(std::uint32_t i, std::uint32_t j) override {
    return hot_.explorer_keypair(i, j);
  }
  const solana::Keypair* hodl_keypair(const solana::Pubkey&) override { return nullptr; }

 private:
  const vault::HotKeys& hot_;
};

class RestoreScan : public ::testing::Test {
 protected:
  void SetUp() override {
    auto rig = WalletRig::start(rig_options());
    ASSERT_TRUE(rig) << to_string(rig.error());
    rig_ = std::move(*rig);
    dir_ =
        std::filesystem::temp_directory_path() / ("qtw-restore-scan-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    // The copy: taken when the wallet had its Banks and no Explorer yet.
    store::OpenStoreOptions create;
    create.create_if_missing = true;
    auto copy = store::open_store((dir_ / "copy.db").string(), create);
    ASSERT_TRUE(copy) << to_string(copy.error());
    copy_ = std::move(*copy);
    for (const auto& b : banks_of(rig_->store())) {
      ASSERT_TRUE(copy_->add_bank(*b.bank_index, b.pubkey));
    }

    // After the copy the wallet creates 10 Explorers, 6 are used (drained
    // and retired by the next cycle) and the pool is refilled: 20 in all.
    auto first = rig_->balancer().run_cycle();
    ASSERT_TRUE(first) << to_string(first.error());
    ASSERT_EQ(first->explorers_created, 10u);
    ASSERT_EQ(*rig_->use_explorers(6), 6u);
    auto second = rig_->balancer().run_cycle();
    ASSERT_TRUE(second) << to_string(second.error());
    ASSERT_EQ(second->explorers_recovered, 6u);
  }
  void TearDown() override {
    copy_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  wallet::BankExplorerPubkeyOf derive() {
    return
        [this](std::uint32_t i, std::uint32_t j) { return rig_->hot_keys().explorer_pubkey(i, j); };
  }

  std::unique_ptr<WalletRig> rig_;
  std::filesystem::path dir_;
  std::unique_ptr<store::KeyStore> copy_;
};

TEST_F(RestoreScan, FindsEveryExplorerCreatedAfterTheCopyInAFewRequests) {
  auto mark = wallet::mark_store_restored(*copy_, "test", "at the copy", 1'000);
  ASSERT_TRUE(mark) << to_string(mark.error());
  auto since = wallet::restored_since(*copy_);
  ASSERT_TRUE(since && *since);
  EXPECT_EQ(**since, 1'000);

  rig_->counter().reset();
  auto scan = wallet::reconcile_restored_store(*copy_, rig_->rpc(), derive(), 100);
  ASSERT_TRUE(scan) << to_string(scan.error());
  ASSERT_TRUE(*scan);
  // Two Banks, each: its Explorers and a gap of 100 unseen after them, read
  // with getMultipleAccounts (100 a call) and getSignaturesForAddress for
  // the empty ones, all as JSON-RPC batches (16 calls a request).
  std::cout << "restore scan, 2 Banks, gap 100: " << rig_->counter().http_total
            << " HTTP requests for " << rig_->counter().calls["getSignaturesForAddress"]
            << " getSignaturesForAddress and " << rig_->counter().calls["getMultipleAccounts"]
            << " getMultipleAccounts calls\n";
  EXPECT_LE(rig_->counter().http_total, 24u) << rig_->counter().http_summary();
  EXPECT_FALSE(*wallet::restored_since(*copy_)) << "the mark is cleared";

  // Every Explorer of the live store, at the same index; used ones drained
  // are retired, funded ones are used (to be drained: nobody knows whether
  // they signed), none available.
  const auto live = explorers_of(rig_->store());
  const auto restored = explorers_of(*copy_);
  ASSERT_EQ(live.size(), 20u);
  std::map<solana::Pubkey, store::KeyRecord> by_pk;
  for (const auto& k : restored) by_pk[k.pubkey] = k;
  std::uint32_t funded = 0, retired = 0;
  for (const auto& k : live) {
    if (k.state == KeyState::kDropped) continue;
    auto it = by_pk.find(k.pubkey);
    ASSERT_NE(it, by_pk.end()) << k.pubkey.to_base58() << " not found";
    EXPECT_EQ(it->second.bank_index, k.bank_index);
    EXPECT_EQ(it->second.explorer_index, k.explorer_index);
    if (k.state == KeyState::kRetired) {
      EXPECT_EQ(it->second.state, KeyState::kRetired);
      ++retired;
    } else {
      EXPECT_EQ(it->second.state, KeyState::kUsed) << store::key_state_name(k.state);
      ++funded;
    }
  }
  EXPECT_EQ(retired, 6u);
  EXPECT_EQ(funded, 14u);
  // The Banks hand out the next index after the live ones.
  for (const auto& b : banks_of(rig_->store())) {
    auto c = copy_->get_key(b.pubkey);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->next_child_index, b.next_child_index);
  }
  std::uint32_t reserved = 0;
  for (const auto& b : (*scan)->banks) reserved += b.reserved;
  EXPECT_EQ(reserved, live.size());
  // Scanning again finds nothing to do: the mark is gone.
  auto again = wallet::reconcile_restored_store(*copy_, rig_->rpc(), derive(), 100);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
}

TEST_F(RestoreScan, NodeUnreachableWritesNothingAndKeepsTheMark) {
  ASSERT_TRUE(wallet::mark_store_restored(*copy_, "test", "at the copy", 1'000));
  rpc::RpcClientOptions o;
  o.retry.max_attempts = 1;
  auto dead = rpc::RpcClient::connect("http://127.0.0.1:9", o);
  ASSERT_TRUE(dead);
  auto scan = wallet::reconcile_restored_store(*copy_, **dead, derive(), 100);
  ASSERT_FALSE(scan);
  EXPECT_EQ(scan.error().code, ErrorCode::kTransport);
  EXPECT_TRUE(explorers_of(*copy_).empty());
  auto since = wallet::restored_since(*copy_);
  ASSERT_TRUE(since && *since);
}

TEST_F(RestoreScan, MarkEndsLeasesAndTakesAvailableOutOfService) {
  // On the live store itself (as `qtw end-leases --yes` would): one lease,
  // the rest available.
  store::LeaseOwner owner{"host", 1, "test"};
  auto claimed = rig_->store().claim_explorers(owner, 1, 1LL << 50);
  ASSERT_TRUE(claimed);
  ASSERT_EQ(claimed->size(), 1u);
  auto mark = wallet::mark_store_restored(rig_->store(), "test", "at the copy", 5);
  ASSERT_TRUE(mark) << to_string(mark.error());
  EXPECT_EQ(mark->leases_ended, 1u);
  EXPECT_EQ(mark->available_ended, 13u);
  for (const auto& k : explorers_of(rig_->store())) {
    EXPECT_NE(k.state, KeyState::kAvailable);
    EXPECT_NE(k.state, KeyState::kLeased);
  }
  // The next cycle scans (nothing after the live indexes), clears the mark,
  // drains the fourteen and creates new Explorers beyond every index used.
  std::map<std::uint32_t, std::uint32_t> next_before;
  for (const auto& b : banks_of(rig_->store())) next_before[*b.bank_index] = b.next_child_index;
  auto cycle = rig_->balancer().run_cycle();
  ASSERT_TRUE(cycle) << to_string(cycle.error());
  ASSERT_TRUE(cycle->restore_scan);
  for (const auto& b : cycle->restore_scan->banks) EXPECT_EQ(b.reserved, 0u);
  EXPECT_EQ(cycle->explorers_recovered, 14u);
  EXPECT_EQ(cycle->explorers_created, 10u);
  EXPECT_FALSE(*wallet::restored_since(rig_->store()));
  std::set<std::pair<std::uint32_t, std::uint32_t>> seen;
  for (const auto& k : explorers_of(rig_->store())) {
    EXPECT_TRUE(seen.emplace(*k.bank_index, *k.explorer_index).second) << "index twice";
    if (k.state == KeyState::kAvailable) {
      EXPECT_GE(*k.explorer_index, next_before[*k.bank_index]);
    }
  }
}

// A funding in flight when the copy was taken (its Explorers pending, its
// intent persisted): the live wallet may have confirmed, leased and signed
// with them after the copy. In the marked copy the funding that lands makes
// them used (and drained), never available; the cycle then scans past them
// and creates new Explorers beyond every index the live wallet used.
TEST_F(RestoreScan, FundingInFlightAtTheCopyEndsUsedNotAvailable) {
  const auto banks = banks_of(*copy_);
  const auto& bank = banks.front();
  auto bank_kp = rig_->hot_keys().bank_keypair(*bank.bank_index);
  ASSERT_TRUE(bank_kp);
  // Indexes the copy reserves itself: past the live wallet's (as if the
  // copy's Bank had been ahead); the scan starts after them.
  auto live_bank = rig_->store().get_key(bank.pubkey);
  ASSERT_TRUE(live_bank);
  auto latest = rig_->rpc().get_latest_blockhash();
  ASSERT_TRUE(latest);
  std::vector<solana::Pubkey> pending;
  std::uint32_t skip = live_bank->next_child_index;
  ASSERT_TRUE(copy_->transact([&]() -> Status {
    // Indexes 0..skip-1 are the live wallet's: reserved and dropped in the
    // copy (as if its own fundings of them had expired), so the copy's
    // in-flight funding is for the next ones.
    QTW_ASSIGN_OR_RETURN(auto old, copy_->reserve_explorers(bank.id, skip, [&](std::uint32_t j) {
      return rig_->hot_keys().explorer_pubkey(*bank.bank_index, j);
    }));
    std::vector<solana::Pubkey> old_keys;
    for (const auto& k : old) old_keys.push_back(k.pubkey);
    QTW_TRY(copy_->transition_many(old_keys, KeyState::kPending, KeyState::kDropped, "test"));
    QTW_ASSIGN_OR_RETURN(auto fresh, copy_->reserve_explorers(bank.id, 3, [&](std::uint32_t j) {
      return rig_->hot_keys().explorer_pubkey(*bank.bank_index, j);
    }));
    std::vector<store::IntentTransfer> transfers;
    for (const auto& k : fresh) {
      pending.push_back(k.pubkey);
      transfers.push_back({bank.pubkey, k.pubkey, 2'000'000});
    }
    QTW_ASSIGN_OR_RETURN(auto msg, wallet::build_funding_message(bank.pubkey, pending, 2'000'000,
                                                                 latest->blockhash));
    auto tx = solana::Transaction::from_message(std::move(msg));
    const solana::Keypair* signers[] = {&*bank_kp};
    QTW_TRY(tx.sign(signers));
    store::IntentRecord intent;
    intent.kind = store::IntentKind::kFundExplorers;
    intent.status = store::IntentStatus::kPrepared;
    intent.fee_payer = bank.pubkey;
    intent.transfers = transfers;
    intent.signature = tx.id();
    intent.blockhash = latest->blockhash;
    intent.last_valid_block_height = latest->last_valid_block_height;
    QTW_ASSIGN_OR_RETURN(intent.wire, tx.serialize());
    intent.fee_lamports = 5'000;
    return copy_->insert_intent(intent).map([](auto) {});
  }));
  ASSERT_TRUE(wallet::mark_store_restored(*copy_, "test", "at the copy", 1'000));

  HotSigner signer(rig_->hot_keys());
  wallet::BalancerOptions o = rig_options().balancer;
  wallet::Balancer balancer(*copy_, rig_->rpc(), signer, o);
  auto cycle = balancer.run_cycle();
  ASSERT_TRUE(cycle) << to_string(cycle.error());
  EXPECT_EQ(cycle->intents_resumed, 1u);
  ASSERT_TRUE(cycle->restore_scan);
  EXPECT_FALSE(*wallet::restored_since(*copy_));
  for (const auto& pk : pending) {
    auto k = copy_->get_key(pk);
    ASSERT_TRUE(k);
    EXPECT_NE(k->state, KeyState::kAvailable) << "funded in flight at the copy, handed out again";
  }
  // Every index is used once; what is available now lies beyond the live
  // wallet's indexes and the in-flight ones.
  std::set<std::pair<std::uint32_t, std::uint32_t>> seen;
  for (const auto& k : explorers_of(*copy_)) {
    EXPECT_TRUE(seen.emplace(*k.bank_index, *k.explorer_index).second) << "index twice";
    if (k.state == KeyState::kAvailable && *k.bank_index == *bank.bank_index) {
      EXPECT_GE(*k.explorer_index, skip + 3);
    }
  }
  std::cout << "first cycle on the copy: " << cycle->explorers_recovered << " recovered, "
            << cycle->explorers_created << " created\n";
}

}  // namespace
}  // namespace qtw::test

// What a balancer cycle costs in HTTP requests, on the real local node:
// counted by the RpcClient's observer, so the figures are exact, not timed.
//   - steady state: one read request (balances, block height, blockhash when
//     due, all in one JSON-RPC batch), one send request (every transaction
//     of the cycle), and one request per confirmation poll; no fee quote
//     (the fee rule is local, checked once against the node), no standalone
//     blockhash request while the cached one is young;
//   - the fee each intent records is the fee the chain charged, with and
//     without a priority fee (conservation, I6).
#include <gtest/gtest.h>

#include "qtw/rpc/rpc_client.h"
#include "support/wallet_rig.h"

namespace qtw::test {
namespace {

constexpr int kSlotMs = 200;  // blockhash reuse window: 50 blocks = 10 s

WalletRigOptions rig_options(std::uint64_t cu_price = 0) {
  WalletRigOptions o;
  o.slot_ms = kSlotMs;
  o.banks = 2;
  o.balancer.params.min_explorer_keys = 30;
  o.balancer.params.explorer_keys_to_create = 30;
  o.balancer.params.lamports_per_explorer = 2'000'000;
  o.balancer.params.lamports_per_bank = 1'000'000'000;
  o.balancer.priority.cu_price_micro_lamports = cu_price;
  o.balancer.sender.poll_interval_ms = kSlotMs;
  o.balancer.sender.timeout_ms = 60'000;
  // Exact counts: the request and fee figures below are per 30 Explorers.
  o.balancer.fill_funding_transactions = false;
  return o;
}

// Sum of the fees the chain charged for `signatures`.
std::uint64_t charged(rpc::RpcClient& rpc, const std::vector<std::string>& signatures) {
  std::uint64_t total = 0;
  for (const auto& s : signatures) {
    auto tx = rpc.get_transaction(*solana::Signature::from_base58(s));
    EXPECT_TRUE(tx && *tx) << s;
    if (tx && *tx) total += (*tx)->fee_lamports;
  }
  return total;
}

TEST(BalancerRequests, SteadyCycleIsOneReadOneSendAndItsPolls) {
  auto rig = WalletRig::start(rig_options());
  ASSERT_TRUE(rig) << to_string(rig.error());
  auto& r = **rig;

  // Bootstrap: Banks topped up from HODL, then 30 Explorers created.
  auto first = r.balancer().run_cycle();
  ASSERT_TRUE(first) << to_string(first.error());
  EXPECT_EQ(first->banks_funded, 2u);
  EXPECT_EQ(first->explorers_created, 30u);
  // The fee rule was checked against the node once, and only once.
  EXPECT_EQ(r.counter().calls["getFeeForMessage"], 1u);
  EXPECT_EQ(first->fees_lamports, charged(r.observer_rpc(), first->signatures));
  // The creation step (funding transactions only, Bank balances known) went
  // without preflight; every Explorer it funded landed.
  EXPECT_TRUE(first->preflight_skipped);
  EXPECT_EQ(first->transactions_failed, 0u);

  for (int cycle = 0; cycle < 3; ++cycle) {
    SCOPED_TRACE("steady cycle " + std::to_string(cycle));
    // Landers that signed System transfers only: no token-account read.
    ASSERT_EQ(*r.use_explorers(30, /*system_only=*/true), 30u);
    r.counter().reset();
    auto report = r.balancer().run_cycle();
    ASSERT_TRUE(report) << to_string(report.error());
    EXPECT_EQ(report->explorers_recovered, 30u);
    EXPECT_EQ(report->explorers_created, 30u);
    EXPECT_EQ(report->transactions_confirmed, report->transactions_sent);
    // Drains and fundings in one step: preflight kept.
    EXPECT_FALSE(report->preflight_skipped);
    // 30 fundings (21 a transaction) + 30 drains (up to 10 a transaction,
    // per funding Bank: 21 + 9 -> 3 + 1).
    EXPECT_EQ(report->transactions_sent, 2u + 4u);
    EXPECT_EQ(report->fees_lamports, charged(r.observer_rpc(), report->signatures));
    EXPECT_EQ(report->fees_lamports, 30u * 5'000u + 2u * 5'000u);

    auto& c = r.counter();
    EXPECT_EQ(c.calls["getFeeForMessage"], 0u);
    EXPECT_EQ(c.http["getLatestBlockhash"], 0u) << c.http_summary();
    EXPECT_EQ(c.http["getMultipleAccounts"], 1u) << c.http_summary();
    EXPECT_EQ(c.http["sendTransaction"], 1u) << c.http_summary();
    EXPECT_EQ(c.calls["sendTransaction"], report->transactions_sent);
    const std::uint64_t polls = c.http["getSignatureStatuses"];
    EXPECT_GE(polls, 1u);
    // Each poll carries its block height: no request beyond read + send + polls.
    EXPECT_EQ(c.calls["getBlockHeight"], polls + 1) << c.http_summary();
    EXPECT_EQ(c.http_total, 2u + polls) << c.http_summary();
    EXPECT_EQ(c.calls["getTokenAccountsByOwner"], 0u) << c.http_summary();
  }

  // Explorers whose messages the signer did not see (or that invoked other
  // programs) may own token accounts: two getTokenAccountsByOwner each (SPL
  // Token and Token-2022), in batches of max_batch_requests (16).
  ASSERT_EQ(*r.use_explorers(30), 30u);
  r.counter().reset();
  auto report = r.balancer().run_cycle();
  ASSERT_TRUE(report) << to_string(report.error());
  EXPECT_EQ(report->explorers_recovered, 30u);
  auto& c = r.counter();
  EXPECT_EQ(c.calls["getTokenAccountsByOwner"], 60u) << c.http_summary();
  EXPECT_EQ(c.http["getTokenAccountsByOwner"], 4u) << c.http_summary();  // 2 x ceil(30 / 16)
  EXPECT_EQ(c.http_total, 6u + c.http["getSignatureStatuses"]) << c.http_summary();
}

TEST(BalancerRequests, RecordedFeesMatchTheChainWithAPriorityFee) {
  auto rig = WalletRig::start(rig_options(/*cu_price=*/25'000));
  ASSERT_TRUE(rig) << to_string(rig.error());
  auto& r = **rig;
  auto first = r.balancer().run_cycle();
  ASSERT_TRUE(first) << to_string(first.error());
  EXPECT_TRUE(first->warnings.empty()) << first->warnings.front();
  EXPECT_EQ(first->fees_lamports, charged(r.observer_rpc(), first->signatures));
  ASSERT_EQ(*r.use_explorers(30), 30u);
  auto second = r.balancer().run_cycle();
  ASSERT_TRUE(second) << to_string(second.error());
  EXPECT_EQ(second->explorers_recovered, 30u);
  EXPECT_EQ(second->fees_lamports, charged(r.observer_rpc(), second->signatures));
  // The priority fee is on top of the signatures.
  EXPECT_GT(second->fees_lamports, 30u * 5'000u + 2u * 5'000u);
}

}  // namespace
}  // namespace qtw::test

namespace qtw::test {
namespace {

// fill_funding_transactions: the count a creation asks for is a minimum; its
// last funding transaction is filled up to 21 transfers (one fee either way)
// with what the Bank spares above its refill threshold, under its hourly cap.
WalletRigOptions fill_options(std::uint64_t lamports_per_bank) {
  WalletRigOptions o = rig_options();
  o.balancer.params.min_explorer_keys = 5;
  o.balancer.params.explorer_keys_to_create = 5;
  o.balancer.params.lamports_per_bank = lamports_per_bank;
  o.balancer.fill_funding_transactions = true;
  return o;
}

std::uint64_t funding_transactions(const wallet::BalanceReport& r) {
  return r.transactions_sent - r.banks_funded;  // nothing to recover in these cycles
}

TEST(BalancerFill, FillsTheLastFundingTransactionWhenTheBankCanSpareIt) {
  auto rig = WalletRig::start(fill_options(1'000'000'000));
  ASSERT_TRUE(rig) << to_string(rig.error());
  auto report = (*rig)->balancer().run_cycle();
  ASSERT_TRUE(report) << to_string(report.error());
  // 5 asked for, one funding transaction: filled to 21 for the same fee.
  EXPECT_EQ(report->explorers_created, 21u);
  EXPECT_EQ(funding_transactions(*report), 1u);
  EXPECT_EQ(report->bank_outflow_caps_hit, 0u);
  EXPECT_EQ(report->fees_lamports, charged((*rig)->observer_rpc(), report->signatures));
  // 21 ready: nothing more until fewer than 5 are.
  auto again = (*rig)->balancer().run_cycle();
  ASSERT_TRUE(again) << to_string(again.error());
  EXPECT_EQ(again->explorers_created, 0u);
}

TEST(BalancerFill, OffCreatesExactlyTheCountAskedFor) {
  auto o = fill_options(1'000'000'000);
  o.balancer.fill_funding_transactions = false;
  auto rig = WalletRig::start(o);
  ASSERT_TRUE(rig) << to_string(rig.error());
  auto report = (*rig)->balancer().run_cycle();
  ASSERT_TRUE(report) << to_string(report.error());
  EXPECT_EQ(report->explorers_created, 5u);
  EXPECT_EQ(funding_transactions(*report), 1u);
}

TEST(BalancerFill, NeverTakesABankBelowItsRefillThreshold) {
  // Banks of 0.04 SOL refill below 0.02 SOL. 5 Explorers of 0.002 SOL take
  // 0.01; the Bank keeps its rent-exempt minimum (890,880) and the fee
  // (5,000): it spares 39,104,120 - 10,000,000 - 20,000,000 = 9,104,120
  // lamports above the threshold, 4 Explorers' worth.
  constexpr std::uint64_t kBank = 40'000'000;
  auto rig = WalletRig::start(fill_options(kBank));
  ASSERT_TRUE(rig) << to_string(rig.error());
  auto& r = **rig;
  auto report = r.balancer().run_cycle();
  ASSERT_TRUE(report) << to_string(report.error());
  ASSERT_EQ(report->banks_funded, 2u);
  EXPECT_EQ(report->explorers_created, 9u);
  EXPECT_EQ(funding_transactions(*report), 1u);
  store::KeyFilter f;
  f.tier = store::KeyTier::Bank;
  auto banks = r.store().list_keys(f);
  ASSERT_TRUE(banks);
  for (const auto& b : *banks) {
    auto lamports = r.observer_rpc().get_balance(b.pubkey);
    ASSERT_TRUE(lamports);
    EXPECT_GE(*lamports, kBank / 2) << "the fill took a Bank below its refill threshold";
  }
  // So the next cycle tops up no Bank (9 ready >= 5: nothing created either).
  auto again = r.balancer().run_cycle();
  ASSERT_TRUE(again) << to_string(again.error());
  EXPECT_EQ(again->banks_funded, 0u);
  EXPECT_EQ(again->explorers_created, 0u);
}

TEST(BalancerFill, StaysUnderTheBankCapAndNeverFillsACappedCreation) {
  // 7 Explorers' worth an hour per Bank: 5 asked for, filled to 7 (not 21)
  // with no cap hit. Then the other Bank (the one with more lamports) does
  // the same, and once both are at their cap a creation gets nothing.
  auto o = fill_options(1'000'000'000);
  o.balancer.max_bank_outflow_lamports_per_hour = 7 * 2'000'000;
  auto rig = WalletRig::start(o);
  ASSERT_TRUE(rig) << to_string(rig.error());
  auto& r = **rig;
  auto report = r.balancer().run_cycle();
  ASSERT_TRUE(report) << to_string(report.error());
  EXPECT_EQ(report->explorers_created, 7u);
  EXPECT_EQ(report->bank_outflow_caps_hit, 0u);
  ASSERT_EQ(*r.use_explorers(7, /*system_only=*/true), 7u);
  // 0 ready: 5 asked for. The other Bank (never funded any) gives 5 + 2.
  auto second = r.balancer().run_cycle();
  ASSERT_TRUE(second) << to_string(second.error());
  EXPECT_EQ(second->explorers_created, 7u);
  EXPECT_EQ(second->bank_outflow_caps_hit, 0u);
  ASSERT_EQ(*r.use_explorers(7, /*system_only=*/true), 7u);
  // Both Banks at their cap: 5 asked for, none allowed, no fill.
  auto third = r.balancer().run_cycle();
  ASSERT_TRUE(third) << to_string(third.error());
  EXPECT_EQ(third->explorers_created, 0u);
  EXPECT_GE(third->bank_outflow_caps_hit, 1u);
}

}  // namespace
}  // namespace qtw::test

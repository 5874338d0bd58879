// Transaction packing (docs/ARCHITECTURE.md, The balancer cycle), the parts tx_plan_test.cpp leaves out:
// who signs and the exact header counts, real signatures that verify (and
// stop verifying when one byte changes), the wire round trip of every kind
// of message, compute-budget instructions on recovery (tight and explicit
// limits), duplicate keys refused (a doubled drain cannot land and a doubled
// recipient is double funding), and even_chunks over a whole range.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <numeric>
#include <set>

#include "qtw/solana/programs.h"
#include "qtw/solana/transaction.h"
#include "qtw/wallet/tx_plan.h"

namespace qtw::wallet {
namespace {

using solana::Keypair;
using solana::Pubkey;

std::uint64_t le(const std::vector<std::uint8_t>& d, std::size_t at, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = n; i-- > 0;) v = (v << 8) | d.at(at + i);
  return v;
}

const solana::Hash kBlockhash = [] {
  solana::Hash h;
  h.bytes.fill(0x42);
  return h;
}();

std::vector<Keypair> keys(std::size_t n) {
  std::vector<Keypair> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(Keypair::generate());
  return out;
}

// Compute-budget settings of a message: {limit, price}, 0 when absent.
struct Budget {
  std::size_t instructions = 0;
  std::uint64_t limit = 0;
  std::uint64_t price = 0;
};
Budget budget_of(const solana::Message& m) {
  Budget b;
  for (const auto& ix : m.decompile()) {
    if (ix.program_id != solana::compute_budget_program_id()) continue;
    ++b.instructions;
    EXPECT_TRUE(ix.accounts.empty());
    if (ix.data.at(0) == 2) {  // SetComputeUnitLimit(u32)
      EXPECT_EQ(ix.data.size(), 5u);
      b.limit = le(ix.data, 1, 4);
    } else if (ix.data.at(0) == 3) {  // SetComputeUnitPrice(u64)
      EXPECT_EQ(ix.data.size(), 9u);
      b.price = le(ix.data, 1, 8);
    } else {
      ADD_FAILURE() << "unexpected compute-budget instruction " << int{ix.data.at(0)};
    }
  }
  return b;
}

// Signs with real keys, checks the signatures, serializes, parses the wire
// back and checks it is the same message and still verifies. Returns the
// wire size.
std::size_t sign_verify_round_trip(const solana::Message& m,
                                   const std::vector<const Keypair*>& signers) {
  auto tx = solana::Transaction::from_message(m);
  EXPECT_FALSE(tx.is_fully_signed());
  EXPECT_TRUE(tx.sign(signers));
  EXPECT_TRUE(tx.is_fully_signed());
  EXPECT_TRUE(tx.verify());
  auto wire = tx.serialize();
  EXPECT_TRUE(wire);
  if (!wire) return 0;
  EXPECT_EQ(wire->size(), tx.serialized_size());
  auto back = solana::Transaction::deserialize(*wire);
  EXPECT_TRUE(back) << (back ? "" : back.error().message);
  if (!back) return 0;
  EXPECT_EQ(back->message, m);
  EXPECT_EQ(back->signatures, tx.signatures);
  EXPECT_TRUE(back->verify());
  // One changed byte in the message (the last lamports byte of the last
  // instruction) must break a signature.
  auto tampered = *back;
  tampered.message.instructions.back().data.back() ^= 1;
  EXPECT_FALSE(tampered.verify());
  return wire->size();
}

TEST(TxPlanWire, RecoveryEveryExplorerSignsBankIsWritableNonSigner) {
  auto bank = Keypair::generate();
  auto ex = keys(3);
  std::vector<Drain> drains = {
      {ex[0].pubkey(), 2'000'000}, {ex[1].pubkey(), 3'000'000}, {ex[2].pubkey(), 5'000}};
  auto m = build_recovery_message(bank.pubkey(), drains, 5'000, kBlockhash);
  ASSERT_TRUE(m) << m.error().message;
  // 3 writable signers (Explorers), then the Bank (writable, unsigned), then
  // the System Program (readonly, unsigned).
  EXPECT_EQ(m->header.num_required_signatures, 3);
  EXPECT_EQ(m->header.num_readonly_signed_accounts, 0);
  EXPECT_EQ(m->header.num_readonly_unsigned_accounts, 1);
  ASSERT_EQ(m->account_keys.size(), 5u);
  EXPECT_EQ(m->fee_payer(), ex[1].pubkey()) << "richest pays";
  std::set<Pubkey> signers(m->account_keys.begin(), m->account_keys.begin() + 3);
  EXPECT_EQ(signers, (std::set<Pubkey>{ex[0].pubkey(), ex[1].pubkey(), ex[2].pubkey()}));
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(m->is_signer(i));
    EXPECT_TRUE(m->is_writable(i));
  }
  EXPECT_EQ(m->account_keys[3], bank.pubkey());
  EXPECT_FALSE(m->is_signer(3));
  EXPECT_TRUE(m->is_writable(3));
  EXPECT_EQ(m->account_keys[4], solana::system_program_id());
  EXPECT_FALSE(m->is_writable(4));
  EXPECT_EQ(m->recent_blockhash, kBlockhash);

  // Only the payer's transfer is short by the fee, even for the Explorer
  // whose balance equals the fee.
  std::map<Pubkey, std::uint64_t> moved;
  for (const auto& ix : m->decompile()) {
    ASSERT_EQ(ix.program_id, solana::system_program_id());
    ASSERT_EQ(le(ix.data, 0, 4), 2u);  // SystemInstruction::Transfer
    EXPECT_EQ(ix.accounts.at(1).pubkey, bank.pubkey());
    EXPECT_TRUE(ix.accounts.at(0).is_signer);
    moved[ix.accounts.at(0).pubkey] += le(ix.data, 4, 8);
  }
  EXPECT_EQ(moved[ex[0].pubkey()], 2'000'000u);
  EXPECT_EQ(moved[ex[1].pubkey()], 3'000'000u - 5'000u);
  EXPECT_EQ(moved[ex[2].pubkey()], 5'000u);

  std::vector<const Keypair*> all = {&ex[0], &ex[1], &ex[2]};
  EXPECT_LE(sign_verify_round_trip(*m, all), solana::kPacketDataSize);
  // Two of three signatures is not a sendable transaction.
  auto partial = solana::Transaction::from_message(*m);
  std::vector<const Keypair*> two = {&ex[0], &ex[1]};
  EXPECT_TRUE(partial.sign(two));
  EXPECT_FALSE(partial.is_fully_signed());
  // The Bank is not a signer of a recovery.
  std::vector<const Keypair*> wrong = {&bank};
  EXPECT_FALSE(partial.sign(wrong));
}

TEST(TxPlanWire, RecoveryPayerHoldingExactlyTheFeeEndsAtZero) {
  auto bank = Keypair::generate();
  auto ex = keys(1);
  std::vector<Drain> drains = {{ex[0].pubkey(), 5'000}};
  auto m = build_recovery_message(bank.pubkey(), drains, 5'000, kBlockhash);
  ASSERT_TRUE(m) << m.error().message;
  auto ixs = m->decompile();
  ASSERT_EQ(ixs.size(), 1u);
  EXPECT_EQ(le(ixs[0].data, 4, 8), 0u) << "5,000 - fee 5,000 = transfer 0, balance 0";
  EXPECT_EQ(build_recovery_message(bank.pubkey(), drains, 5'001, kBlockhash).error().code,
            ErrorCode::kInsufficientFunds);
}

TEST(TxPlanWire, DuplicateKeysAreRefused) {
  auto bank = Keypair::generate();
  auto ex = keys(2);
  // The same Explorer twice would transfer its balance twice: the
  // transaction fails on chain and still burns the fee.
  std::vector<Drain> twice = {{ex[0].pubkey(), 1'000'000}, {ex[1].pubkey(), 10}, {ex[0].pubkey(), 1'000'000}};
  auto r = build_recovery_message(bank.pubkey(), twice, 5'000, kBlockhash);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  // The same recipient twice is double funding.
  std::vector<Pubkey> recipients = {ex[0].pubkey(), ex[1].pubkey(), ex[0].pubkey()};
  auto f = build_funding_message(bank.pubkey(), recipients, 1'000, kBlockhash);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, ErrorCode::kInvalidArgument);
  // A Bank funding itself, or draining into an Explorer that is the Bank.
  std::vector<Pubkey> self = {bank.pubkey()};
  EXPECT_EQ(build_funding_message(bank.pubkey(), self, 1'000, kBlockhash).error().code,
            ErrorCode::kInvalidArgument);
}

TEST(TxPlanWire, FundingOneSignerRoundTrip) {
  auto bank = Keypair::generate();
  auto r = keys(3);
  std::vector<Pubkey> recipients = {r[0].pubkey(), r[1].pubkey(), r[2].pubkey()};
  auto m = build_funding_message(bank.pubkey(), recipients, 7'777, kBlockhash);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->header, (solana::MessageHeader{1, 0, 1}));
  EXPECT_EQ(m->fee_payer(), bank.pubkey());
  ASSERT_EQ(m->account_keys.size(), 5u);  // bank, 3 recipients, System Program
  std::uint64_t total = 0;
  for (const auto& ix : m->decompile()) {
    EXPECT_EQ(ix.accounts.at(0).pubkey, bank.pubkey());
    EXPECT_FALSE(ix.accounts.at(1).is_signer);
    EXPECT_TRUE(ix.accounts.at(1).is_writable);
    total += le(ix.data, 4, 8);
  }
  EXPECT_EQ(total, 3u * 7'777u);
  EXPECT_LE(sign_verify_round_trip(*m, {&bank}), solana::kPacketDataSize);
  // A recipient's key cannot sign a funding transaction.
  auto tx = solana::Transaction::from_message(*m);
  std::vector<const Keypair*> wrong = {&r[0]};
  EXPECT_FALSE(tx.sign(wrong));

  auto t = build_transfer_message(bank.pubkey(), r[0].pubkey(), 42, kBlockhash);
  ASSERT_TRUE(t);
  auto ixs = t->decompile();
  ASSERT_EQ(ixs.size(), 1u);
  EXPECT_EQ(le(ixs[0].data, 4, 8), 42u);
  EXPECT_EQ(ixs[0].accounts.at(1).pubkey, r[0].pubkey());
  EXPECT_LE(sign_verify_round_trip(*t, {&bank}), solana::kPacketDataSize);
}

TEST(TxPlanWire, ComputeBudgetOnlyWithAPriceAndWithTheRightLimit) {
  auto bank = Keypair::generate();
  auto ex = keys(4);
  std::vector<Drain> drains;
  std::vector<const Keypair*> signers;
  for (auto& k : ex) {
    drains.push_back({k.pubkey(), 1'000'000});
    signers.push_back(&k);
  }
  // No price: no compute-budget instruction, even with a limit configured.
  for (const PriorityFee p : {PriorityFee{}, PriorityFee{0, 99'999}}) {
    auto m = build_recovery_message(bank.pubkey(), drains, 5'000, kBlockhash, p);
    ASSERT_TRUE(m);
    EXPECT_EQ(budget_of(*m).instructions, 0u);
    EXPECT_EQ(m->header.num_readonly_unsigned_accounts, 1);
  }
  // Price, limit 0: (4 transfers + 2 budget) x 150 CU.
  {
    auto m = build_recovery_message(bank.pubkey(), drains, 5'000, kBlockhash, PriorityFee{2'500, 0});
    ASSERT_TRUE(m);
    const auto b = budget_of(*m);
    EXPECT_EQ(b.instructions, 2u);
    EXPECT_EQ(b.limit, 6u * kComputeUnitsPerInstruction);
    EXPECT_EQ(b.price, 2'500u);
    EXPECT_EQ(m->header.num_readonly_unsigned_accounts, 2) << "System + Compute Budget programs";
    EXPECT_EQ(m->header.num_required_signatures, 4);
    EXPECT_LE(sign_verify_round_trip(*m, signers), solana::kPacketDataSize);
  }
  // Price, explicit limit: used as given.
  {
    auto m = build_recovery_message(bank.pubkey(), drains, 5'000, kBlockhash,
                                    PriorityFee{1, 12'345});
    ASSERT_TRUE(m);
    const auto b = budget_of(*m);
    EXPECT_EQ(b.limit, 12'345u);
    EXPECT_EQ(b.price, 1u);
  }
  // Funding: (n recipients + 2) x 150.
  std::vector<Pubkey> recipients;
  for (std::size_t i = 0; i < 7; ++i) recipients.push_back(Keypair::generate().pubkey());
  auto f = build_funding_message(bank.pubkey(), recipients, 1, kBlockhash, PriorityFee{10, 0});
  ASSERT_TRUE(f);
  EXPECT_EQ(budget_of(*f).limit, 9u * kComputeUnitsPerInstruction);
  EXPECT_EQ(budget_of(*f).price, 10u);
}

TEST(TxPlanWire, MaximaArePlausibleAndPriorityCostsRoom) {
  const std::size_t d0 = max_drains_per_transaction();
  const std::size_t d1 = max_drains_per_transaction(PriorityFee{1, 0});
  const std::size_t r0 = max_recipients_per_transaction();
  const std::size_t r1 = max_recipients_per_transaction(PriorityFee{1, 0});
  // Header comment: about 10/21 without compute budget, 9/20 with.
  EXPECT_GE(d0, 8u);
  EXPECT_LE(d0, 12u);
  EXPECT_GE(r0, 18u);
  EXPECT_LE(r0, 24u);
  EXPECT_LE(d1, d0);
  EXPECT_LE(r1, r0);
  EXPECT_GE(d1 + 1, d0);
  EXPECT_GE(r1 + 2, r0);
  // A configured limit does not change the size (both instructions always
  // carry the same fixed-size data).
  EXPECT_EQ(max_drains_per_transaction(PriorityFee{1, 1'400'000}), d1);
  std::printf("max drains %zu (%zu with priority), max recipients %zu (%zu with priority)\n", d0,
              d1, r0, r1);
}

TEST(TxPlanWire, EvenChunksOverARange) {
  EXPECT_TRUE(even_chunks(5, 0).empty());
  EXPECT_TRUE(even_chunks(0, 0).empty());
  EXPECT_EQ(even_chunks(9, 9), std::vector<std::size_t>{9});
  EXPECT_EQ(even_chunks(27, 9), (std::vector<std::size_t>{9, 9, 9}));
  EXPECT_EQ(even_chunks(1, 1), std::vector<std::size_t>{1});
  EXPECT_EQ(even_chunks(3, 1), (std::vector<std::size_t>{1, 1, 1}));
  EXPECT_EQ(even_chunks(50, 21), (std::vector<std::size_t>{17, 17, 16}));
  for (std::size_t count = 0; count <= 200; ++count) {
    for (std::size_t max = 1; max <= 25; ++max) {
      const auto c = even_chunks(count, max);
      ASSERT_EQ(c.size(), (count + max - 1) / max) << count << "/" << max;
      ASSERT_EQ(std::accumulate(c.begin(), c.end(), std::size_t{0}), count);
      if (c.empty()) continue;
      const auto [lo, hi] = std::minmax_element(c.begin(), c.end());
      ASSERT_LE(*hi, max);
      ASSERT_GE(*lo, 1u);
      ASSERT_LE(*hi - *lo, 1u) << count << "/" << max;
    }
  }
}

}  // namespace
}  // namespace qtw::wallet

// Transaction packing for the balancer (docs/ARCHITECTURE.md, The balancer cycle), checked by decoding what
// it builds: every drain empties its Explorer to exactly 0 with the richest
// paying the fee, funding pays each recipient once from one signer, the
// per-transaction maxima fit in 1,232 signed bytes and one more does not,
// and 50 Explorers take <= 7 recovery / <= 3 funding transactions.
#include "qtw/wallet/tx_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "qtw/solana/programs.h"
#include "qtw/solana/transaction.h"

namespace qtw::wallet {
namespace {

using solana::Keypair;
using solana::Pubkey;

std::uint64_t le64(const std::vector<std::uint8_t>& d, std::size_t at) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | d[at + static_cast<std::size_t>(i)];
  return v;
}

struct Transfer {
  Pubkey from, to;
  std::uint64_t lamports;
};

// The System transfers of a message, in order (System Program Transfer: u32
// LE 2, then u64 LE lamports; accounts [from, to]).
std::vector<Transfer> transfers_of(const solana::Message& m) {
  std::vector<Transfer> out;
  for (const auto& ix : m.decompile()) {
    if (ix.program_id != solana::system_program_id()) continue;
    EXPECT_EQ(ix.data.size(), 12u);
    EXPECT_EQ(ix.data[0], 2);
    out.push_back({ix.accounts.at(0).pubkey, ix.accounts.at(1).pubkey, le64(ix.data, 4)});
  }
  return out;
}

std::vector<Keypair> keys(std::size_t n) {
  std::vector<Keypair> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(Keypair::generate());
  return out;
}

const solana::Hash kBlockhash = [] {
  solana::Hash h;
  h.bytes.fill(7);
  return h;
}();

// Signs with every key the message needs and returns the wire size.
std::size_t signed_size(solana::Message message, const std::vector<const Keypair*>& signers) {
  auto tx = solana::Transaction::from_message(std::move(message));
  EXPECT_TRUE(tx.sign(signers));
  auto wire = tx.serialize();
  EXPECT_TRUE(wire) << (wire ? "" : wire.error().message);
  if (!wire) return 0;
  auto back = solana::Transaction::deserialize(*wire);
  EXPECT_TRUE(back);
  if (back) {
    EXPECT_EQ(back->message.serialize(), tx.message.serialize());
  }
  return wire->size();
}

TEST(TxPlan, RecoveryDrainsEveryExplorerToZeroRichestPays) {
  const auto bank = Keypair::generate().pubkey();
  auto ex = keys(4);
  std::vector<Drain> drains = {{ex[0].pubkey(), 9'000'000},
                               {ex[1].pubkey(), 12'345'678},
                               {ex[2].pubkey(), 10'000},
                               {ex[3].pubkey(), 1}};
  const std::uint64_t fee = 20'000;
  auto m = build_recovery_message(bank, drains, fee, kBlockhash);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->fee_payer(), ex[1].pubkey()) << "the richest Explorer pays the fee";
  EXPECT_EQ(m->header.num_required_signatures, 4);
  auto t = transfers_of(*m);
  ASSERT_EQ(t.size(), 4u);
  std::uint64_t moved = 0;
  for (const auto& d : drains) {
    auto it = std::find_if(t.begin(), t.end(), [&](const Transfer& x) { return x.from == d.explorer; });
    ASSERT_NE(it, t.end());
    EXPECT_EQ(it->to, bank);
    // Balance after = balance - amount - (fee if payer) = 0.
    const std::uint64_t fee_share = d.explorer == m->fee_payer() ? fee : 0;
    EXPECT_EQ(d.lamports - it->lamports - fee_share, 0u);
    moved += it->lamports;
  }
  EXPECT_EQ(moved + fee, 9'000'000u + 12'345'678u + 10'000u + 1u);
  std::vector<const Keypair*> signers;
  for (const auto& k : ex) signers.push_back(&k);
  EXPECT_LE(signed_size(*m, signers), solana::kPacketDataSize);
}

TEST(TxPlan, RecoveryRejectsWhatCannotBeDrained) {
  const auto bank = Keypair::generate().pubkey();
  auto ex = keys(2);
  EXPECT_EQ(build_recovery_message(bank, {}, 5000, kBlockhash).error().code,
            ErrorCode::kInvalidArgument);
  std::vector<Drain> zero = {{ex[0].pubkey(), 0}};
  EXPECT_EQ(build_recovery_message(bank, zero, 5000, kBlockhash).error().code,
            ErrorCode::kInvalidArgument);
  std::vector<Drain> dust = {{ex[0].pubkey(), 4'999}, {ex[1].pubkey(), 100}};
  EXPECT_EQ(build_recovery_message(bank, dust, 5000, kBlockhash).error().code,
            ErrorCode::kInsufficientFunds);
  std::vector<Drain> self = {{bank, 10'000}};
  EXPECT_EQ(build_recovery_message(bank, self, 5000, kBlockhash).error().code,
            ErrorCode::kInvalidArgument);
}

TEST(TxPlan, FundingPaysEachRecipientOnceFromTheBank) {
  auto bank = Keypair::generate();
  auto r = keys(5);
  std::vector<Pubkey> recipients;
  for (const auto& k : r) recipients.push_back(k.pubkey());
  auto m = build_funding_message(bank.pubkey(), recipients, 10'000'000, kBlockhash);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->fee_payer(), bank.pubkey());
  EXPECT_EQ(m->header.num_required_signatures, 1) << "one signature, one fee for all";
  auto t = transfers_of(*m);
  ASSERT_EQ(t.size(), 5u);
  for (std::size_t i = 0; i < t.size(); ++i) {
    EXPECT_EQ(t[i].from, bank.pubkey());
    EXPECT_EQ(t[i].to, recipients[i]);
    EXPECT_EQ(t[i].lamports, 10'000'000u);
  }
  EXPECT_EQ(build_funding_message(bank.pubkey(), {}, 1, kBlockhash).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(build_funding_message(bank.pubkey(), recipients, 0, kBlockhash).error().code,
            ErrorCode::kInvalidArgument);
}

TEST(TxPlan, PriorityFeeAddsComputeBudgetWithATightLimit) {
  auto bank = Keypair::generate();
  std::vector<Pubkey> recipients = {Keypair::generate().pubkey(), Keypair::generate().pubkey()};
  auto plain = build_funding_message(bank.pubkey(), recipients, 1'000'000, kBlockhash);
  ASSERT_TRUE(plain);
  for (const auto& ix : plain->decompile()) EXPECT_EQ(ix.program_id, solana::system_program_id());
  PriorityFee p{1'000, 0};
  auto m = build_funding_message(bank.pubkey(), recipients, 1'000'000, kBlockhash, p);
  ASSERT_TRUE(m);
  auto ixs = m->decompile();
  ASSERT_EQ(ixs.size(), 4u);
  std::size_t budget = 0;
  for (const auto& ix : ixs) {
    if (ix.program_id != solana::compute_budget_program_id()) continue;
    ++budget;
    if (ix.data[0] == 2) {  // SetComputeUnitLimit(u32)
      const std::uint32_t limit = ix.data[1] | ix.data[2] << 8 | ix.data[3] << 16 |
                                  static_cast<std::uint32_t>(ix.data[4]) << 24;
      EXPECT_EQ(limit, 4 * kComputeUnitsPerInstruction);
    } else {
      EXPECT_EQ(ix.data[0], 3);  // SetComputeUnitPrice(u64)
      EXPECT_EQ(le64(ix.data, 1), 1'000u);
    }
  }
  EXPECT_EQ(budget, 2u);
}

// The maxima fit once signed; one more does not.
TEST(TxPlan, PerTransactionMaximaAreTight) {
  for (const PriorityFee p : {PriorityFee{}, PriorityFee{5'000, 0}}) {
    const std::size_t drains_max = max_drains_per_transaction(p);
    const std::size_t recipients_max = max_recipients_per_transaction(p);
    ASSERT_GE(drains_max, 2u);
    ASSERT_GE(recipients_max, 2u);
    const auto bank = Keypair::generate();
    auto ex = keys(drains_max + 1);
    std::vector<Drain> drains;
    std::vector<const Keypair*> signers;
    for (std::size_t i = 0; i < drains_max; ++i) {
      drains.push_back({ex[i].pubkey(), 1'000'000 + i});
      signers.push_back(&ex[i]);
    }
    auto fits = build_recovery_message(bank.pubkey(), drains, 5'000 * drains_max, kBlockhash, p);
    ASSERT_TRUE(fits) << fits.error().message;
    EXPECT_LE(signed_size(*fits, signers), solana::kPacketDataSize);
    drains.push_back({ex[drains_max].pubkey(), 7});
    EXPECT_EQ(build_recovery_message(bank.pubkey(), drains, 5'000, kBlockhash, p).error().code,
              ErrorCode::kTooLarge);

    auto r = keys(recipients_max + 1);
    std::vector<Pubkey> recipients;
    for (std::size_t i = 0; i < recipients_max; ++i) recipients.push_back(r[i].pubkey());
    auto fund = build_funding_message(bank.pubkey(), recipients, 1'000'000, kBlockhash, p);
    ASSERT_TRUE(fund) << fund.error().message;
    EXPECT_LE(signed_size(*fund, {&bank}), solana::kPacketDataSize);
    recipients.push_back(r[recipients_max].pubkey());
    EXPECT_EQ(build_funding_message(bank.pubkey(), recipients, 1'000'000, kBlockhash, p)
                  .error()
                  .code,
              ErrorCode::kTooLarge);
  }
}

TEST(TxPlan, FiftyExplorersTakeAtMostSevenRecoveriesAndThreeFundings) {
  for (const PriorityFee p : {PriorityFee{}, PriorityFee{5'000, 0}}) {
    EXPECT_LE(even_chunks(50, max_drains_per_transaction(p)).size(), 7u);
    EXPECT_LE(even_chunks(50, max_recipients_per_transaction(p)).size(), 3u);
  }
}

TEST(TxPlan, EvenChunks) {
  auto c = even_chunks(50, 9);
  EXPECT_EQ(c.size(), 6u);
  EXPECT_EQ(std::accumulate(c.begin(), c.end(), std::size_t{0}), 50u);
  const auto [lo, hi] = std::minmax_element(c.begin(), c.end());
  EXPECT_LE(*hi - *lo, 1u);
  EXPECT_LE(*hi, 9u);
  EXPECT_TRUE(even_chunks(0, 9).empty());
  EXPECT_EQ(even_chunks(1, 9), std::vector<std::size_t>{1});
  EXPECT_EQ(even_chunks(18, 9), (std::vector<std::size_t>{9, 9}));
  EXPECT_EQ(even_chunks(10, 9), (std::vector<std::size_t>{5, 5}));
}

}  // namespace
}  // namespace qtw::wallet

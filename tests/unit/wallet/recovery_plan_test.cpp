// The token-aware recovery planner (plan_recovery, plan_bank_atas), driven
// by tables and checked by decoding what it builds: every Explorer signs in
// exactly one transaction, ends at 0 lamports, moves each token balance to
// the Bank's associated token account and closes every token account into
// the Bank; the fee is the local formula and every message fits in 1,232
// bytes.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <set>

#include "qtw/solana/programs.h"
#include "qtw/solana/token.h"
#include "qtw/solana/transaction.h"
#include "qtw/wallet/tx_plan.h"

namespace qtw::wallet {
namespace {

using solana::Pubkey;

Pubkey key(std::uint32_t n, std::uint8_t tag) {
  Pubkey p;
  for (int i = 0; i < 4; ++i) p.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n >> (8 * i));
  p.bytes[31] = tag;
  return p;
}

const Pubkey kBank = key(0, 0xbb);

// An Explorer with `accounts` token accounts: a balance on even ones (SPL
// Token), empty Token-2022 ones on odd, and wrapped SOL as the third.
ExplorerRecovery explorer(std::uint32_t n, std::uint64_t lamports, std::size_t accounts,
                          std::size_t mints = 2) {
  ExplorerRecovery e;
  e.explorer = key(n, 0xee);
  e.lamports = lamports;
  for (std::size_t t = 0; t < accounts; ++t) {
    TokenRecovery tok;
    tok.account = key(n * 16 + static_cast<std::uint32_t>(t), 0xac);
    if (t == 2) {
      tok.mint = solana::native_mint();
      tok.token_program = solana::token_program_id();
      tok.lamports = 2'039'280 + 50'000;
    } else {
      tok.mint = key(static_cast<std::uint32_t>(t % mints), 0x33);
      tok.token_program = t % 2 == 0 ? solana::token_program_id() : solana::token_2022_program_id();
      tok.amount = t % 2 == 0 ? 1000 + n : 0;
      tok.decimals = 6;
      tok.lamports = t % 2 == 0 ? 2'039'280 : 2'074'080;
    }
    e.tokens.push_back(tok);
  }
  return e;
}

struct Decoded {
  std::map<Pubkey, std::uint64_t> lamports_to_bank;     // System/nonce drains by Explorer
  std::map<Pubkey, std::uint64_t> tokens_to;            // TransferChecked amount by source
  std::map<Pubkey, Pubkey> token_dest;                  // source -> destination
  std::set<Pubkey> closed;                              // closed into the Bank
  std::set<Pubkey> signers;
};

Decoded decode(const solana::Message& m) {
  Decoded d;
  for (std::size_t i = 0; i < m.header.num_required_signatures; ++i) d.signers.insert(m.account_keys[i]);
  for (const auto& ix : m.decompile()) {
    auto u64 = [&](std::size_t at) {
      std::uint64_t v = 0;
      for (int b = 7; b >= 0; --b) v = (v << 8) | ix.data[at + static_cast<std::size_t>(b)];
      return v;
    };
    if (ix.program_id == solana::system_program_id()) {
      if (ix.data[0] == 2) {
        EXPECT_EQ(ix.accounts[1].pubkey, kBank);
        d.lamports_to_bank[ix.accounts[0].pubkey] += u64(4);
      } else if (ix.data[0] == 5) {
        EXPECT_EQ(ix.accounts[1].pubkey, kBank);
        EXPECT_EQ(ix.accounts[4].pubkey, ix.accounts[0].pubkey);  // its own authority
        d.lamports_to_bank[ix.accounts[0].pubkey] += u64(4);
      }
    } else if (solana::is_token_program(ix.program_id)) {
      if (ix.data[0] == solana::token::kTransferChecked) {
        d.tokens_to[ix.accounts[0].pubkey] += u64(1);
        d.token_dest[ix.accounts[0].pubkey] = ix.accounts[2].pubkey;
      } else if (ix.data[0] == solana::token::kCloseAccount) {
        EXPECT_EQ(ix.accounts[1].pubkey, kBank);
        EXPECT_FALSE(d.closed.count(ix.accounts[0].pubkey));
        d.closed.insert(ix.accounts[0].pubkey);
      }
    }
  }
  return d;
}

struct Case {
  const char* name;
  std::vector<ExplorerRecovery> explorers;
  PriorityFee priority;
  std::size_t max_transactions;
};

TEST(RecoveryPlan, EveryExplorerOnceEverythingToTheBank) {
  std::vector<Case> cases;
  {
    Case c{"plain drains", {}, {}, 2};
    for (std::uint32_t i = 1; i <= 20; ++i) c.explorers.push_back(explorer(i, 5'000'000 + i, 0));
    cases.push_back(std::move(c));
  }
  {
    Case c{"one token account each", {}, {}, 4};
    for (std::uint32_t i = 1; i <= 20; ++i) c.explorers.push_back(explorer(i, 5'000'000, 1));
    cases.push_back(std::move(c));
  }
  {
    Case c{"1-3 accounts, both programs, wrapped SOL", {}, {}, 8};
    for (std::uint32_t i = 1; i <= 20; ++i) c.explorers.push_back(explorer(i, 3'000'000, 1 + i % 3));
    cases.push_back(std::move(c));
  }
  {
    Case c{"with a priority fee", {}, {}, 8};
    c.priority.cu_price_micro_lamports = 10'000;
    for (std::uint32_t i = 1; i <= 20; ++i) c.explorers.push_back(explorer(i, 3'000'000, 1 + i % 3));
    cases.push_back(std::move(c));
  }
  {
    Case c{"0-lamport Explorers: the Bank pays", {}, {}, 2};
    for (std::uint32_t i = 1; i <= 3; ++i) c.explorers.push_back(explorer(i, 0, 2));
    cases.push_back(std::move(c));
  }
  {
    Case c{"a nonce Explorer withdraws, another pays", {}, {}, 1};
    c.explorers.push_back(explorer(1, 1'447'680, 0));
    c.explorers.back().nonce_account = true;
    c.explorers.push_back(explorer(2, 1'000'000, 0));
    cases.push_back(std::move(c));
  }
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto plan = plan_recovery(kBank, c.explorers, solana::Hash{}, c.priority);
    ASSERT_TRUE(plan.has_value()) << plan.error().message;
    EXPECT_LE(plan->size(), c.max_transactions);
    std::map<std::size_t, int> seen;
    std::uint64_t fees = 0;
    for (const auto& tx : *plan) {
      EXPECT_LE(solana::Transaction::from_message(tx.message).serialized_size(), 1232u);
      EXPECT_EQ(tx.fee_lamports, local_fee_lamports(tx.message));
      const std::uint64_t signature_fees =
          kLamportsPerSignature * (tx.members.size() + (tx.bank_signs ? 1 : 0));
      if (c.priority.enabled()) {
        EXPECT_GT(tx.fee_lamports, signature_fees);
      } else {
        EXPECT_EQ(tx.fee_lamports, signature_fees);
      }
      fees += tx.fee_lamports;
      const auto d = decode(tx.message);
      EXPECT_EQ(d.signers.count(kBank), tx.bank_signs ? 1u : 0u);
      EXPECT_EQ(d.signers.size(), tx.members.size() + (tx.bank_signs ? 1 : 0));
      std::uint64_t paid_by_members = 0;
      for (const auto& sh : tx.members) {
        ++seen[sh.index];
        const auto& e = c.explorers[sh.index];
        EXPECT_TRUE(sh.complete);
        EXPECT_TRUE(d.signers.count(e.explorer));
        const std::uint64_t drained = d.lamports_to_bank.count(e.explorer) ? d.lamports_to_bank.at(e.explorer) : 0;
        EXPECT_EQ(drained, sh.drained_lamports);
        paid_by_members += e.lamports - drained;
        for (const auto& t : e.tokens) {
          EXPECT_TRUE(d.closed.count(t.account)) << "every token account is closed";
          if (t.amount > 0) {
            EXPECT_EQ(d.tokens_to.at(t.account), t.amount);
            EXPECT_EQ(d.token_dest.at(t.account),
                      *solana::associated_token_address(kBank, t.mint, t.token_program));
          } else {
            EXPECT_FALSE(d.tokens_to.count(t.account));
          }
        }
      }
      // Each Explorer ends at 0: what it did not drain is exactly the fee.
      EXPECT_EQ(paid_by_members, tx.bank_signs ? 0 : tx.fee_lamports);
    }
    EXPECT_EQ(seen.size(), c.explorers.size());
    for (const auto& [i, n] : seen) EXPECT_EQ(n, 1) << "Explorer " << i << " signs once";
    if (!c.priority.enabled()) {
      std::size_t bank_sigs = 0;
      for (const auto& tx : *plan) bank_sigs += tx.bank_signs;
      EXPECT_EQ(fees, kLamportsPerSignature * (c.explorers.size() + bank_sigs))
          << "the protocol minimum: one signature per Explorer";
    }
  }
}

TEST(RecoveryPlan, PacksAsManyAsFit) {
  std::vector<ExplorerRecovery> plain, one_token;
  for (std::uint32_t i = 1; i <= 60; ++i) {
    plain.push_back(explorer(i, 5'000'000, 0));
    one_token.push_back(explorer(i, 5'000'000, 1));
  }
  auto a = plan_recovery(kBank, plain, solana::Hash{});
  auto b = plan_recovery(kBank, one_token, solana::Hash{});
  ASSERT_TRUE(a && b);
  // The drain-only maximum matches the existing packer's.
  EXPECT_EQ(a->front().members.size(), max_drains_per_transaction());
  EXPECT_LE(a->size(), (60 + max_drains_per_transaction() - 1) / max_drains_per_transaction());
  // Greedy and full: adding the next Explorer to any transaction but the
  // last would overflow it.
  for (std::size_t t = 0; t + 1 < b->size(); ++t) {
    std::vector<ExplorerRecovery> more;
    for (const auto& sh : (*b)[t].members) more.push_back(one_token[sh.index]);
    more.push_back(one_token[(*b)[t + 1].members.front().index]);
    auto one = plan_recovery(kBank, more, solana::Hash{});
    ASSERT_TRUE(one.has_value());
    EXPECT_EQ(one->size(), 2u);
  }
  std::cout << "recovery per transaction: " << a->front().members.size() << " drains, "
            << b->front().members.size() << " with one token account each\n";
}

TEST(RecoveryPlan, AnExplorerWithTooManyAccountsRecoversWhatFits) {
  ExplorerRecovery e = explorer(1, 5'000'000, 0);
  for (std::uint32_t t = 0; t < 30; ++t) {
    TokenRecovery tok;
    tok.account = key(1000 + t, 0xac);
    tok.mint = key(500 + t, 0x33);
    tok.token_program = solana::token_program_id();
    tok.amount = 1;
    tok.lamports = 2'039'280;
    e.tokens.push_back(tok);
  }
  const ExplorerRecovery one[] = {e};
  auto plan = plan_recovery(kBank, one, solana::Hash{});
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  ASSERT_EQ(plan->size(), 1u);
  const auto& sh = plan->front().members.front();
  EXPECT_FALSE(sh.complete);
  EXPECT_GT(sh.tokens_done, 0u);
  EXPECT_LT(sh.tokens_done, 30u);
  EXPECT_TRUE(plan->front().bank_signs) << "a partial Explorer keeps its lamports; the Bank pays";
  EXPECT_EQ(sh.drained_lamports, 0u);
}

TEST(RecoveryPlan, Refusals) {
  auto e = explorer(1, 1000, 0);
  std::vector<ExplorerRecovery> twice = {e, e};
  EXPECT_EQ(plan_recovery(kBank, twice, solana::Hash{}).error().code, ErrorCode::kInvalidArgument);
  auto self = e;
  self.explorer = kBank;
  EXPECT_FALSE(plan_recovery(kBank, std::vector{self}, solana::Hash{}).has_value());
  auto empty = explorer(2, 0, 0);
  EXPECT_FALSE(plan_recovery(kBank, std::vector{empty}, solana::Hash{}).has_value());
  auto bad_program = explorer(3, 1000, 1);
  bad_program.tokens[0].token_program = solana::system_program_id();
  EXPECT_FALSE(plan_recovery(kBank, std::vector{bad_program}, solana::Hash{}).has_value());
  EXPECT_TRUE(plan_recovery(kBank, std::vector<ExplorerRecovery>{}, solana::Hash{})->empty());
}

TEST(RecoveryPlan, BankAtasArePackedAndPaidByTheBank) {
  std::vector<std::pair<Pubkey, Pubkey>> mints;
  for (std::uint32_t i = 0; i < 20; ++i) {
    mints.emplace_back(key(i, 0x33), i % 2 ? solana::token_2022_program_id() : solana::token_program_id());
  }
  auto plan = plan_bank_atas(kBank, kBank, mints, solana::Hash{});
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  std::size_t covered = 0;
  for (const auto& tx : *plan) {
    EXPECT_LE(solana::Transaction::from_message(tx.message).serialized_size(), 1232u);
    EXPECT_EQ(tx.message.header.num_required_signatures, 1);
    EXPECT_EQ(tx.message.fee_payer(), kBank);
    EXPECT_EQ(tx.fee_lamports, 5000u);
    covered += tx.mints.size();
    for (const auto& ix : tx.message.decompile()) {
      EXPECT_EQ(ix.program_id, solana::associated_token_program_id());
    }
  }
  EXPECT_EQ(covered, 20u);
  EXPECT_GT(plan->size(), 1u);
}

}  // namespace
}  // namespace qtw::wallet

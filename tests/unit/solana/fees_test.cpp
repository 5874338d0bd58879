// The local fee rule against agave's cases (fee/src/lib.rs,
// compute_budget_limits.rs, the fee-structure docs example) and the
// localnet's own computation for the wallet's message shapes.
#include "qtw/solana/fees.h"

#include <gtest/gtest.h>

#include <vector>

#include "qtw/solana/programs.h"

namespace qtw::solana {
namespace {

Pubkey pk(std::uint8_t fill) {
  Pubkey p;
  p.bytes.fill(fill);
  return p;
}

Message compile(const Pubkey& payer, std::vector<Instruction> ixs) {
  return *Message::compile(payer, ixs, Hash{});
}

TEST(Fees, OneSignatureTransferIsFiveThousand) {
  auto m = compile(pk(1), {system_program::transfer(pk(1), pk(2), 49)});
  auto d = fee_details(m);
  ASSERT_TRUE(d) << to_string(d.error());
  EXPECT_EQ(d->signatures, 1u);
  EXPECT_EQ(d->cu_limit, 3'000u);  // one builtin instruction, no limit set
  EXPECT_EQ(d->prioritization_fee_lamports, 0u);
  EXPECT_EQ(d->total_lamports, 5'000u);
}

TEST(Fees, EverySignerPays) {
  // A recovery shape: 9 Explorers sign one transaction.
  std::vector<Instruction> ixs;
  for (std::uint8_t i = 0; i < 9; ++i) ixs.push_back(system_program::transfer(pk(10 + i), pk(1), 7));
  auto m = compile(pk(10), ixs);
  EXPECT_EQ(*fee_lamports(m), 45'000u);
  FeeRules half;
  half.lamports_per_signature = 2'500;
  EXPECT_EQ(*fee_lamports(m, half), 22'500u);
}

TEST(Fees, PriorityFeeOnTheRequestedLimit) {
  // fee-structure.mdx: price 1, limit 300,000 -> 1 lamport; total 5,001.
  auto m = compile(pk(1), {compute_budget::set_compute_unit_limit(300'000),
                           compute_budget::set_compute_unit_price(1),
                           system_program::transfer(pk(1), pk(2), 1)});
  auto d = *fee_details(m);
  EXPECT_EQ(d.cu_limit, 300'000u);
  EXPECT_EQ(d.prioritization_fee_lamports, 1u);
  EXPECT_EQ(d.total_lamports, 5'001u);
  // agave: (200 micro-lamports, 100,000 CU) -> 20.
  m = compile(pk(1), {compute_budget::set_compute_unit_limit(100'000),
                      compute_budget::set_compute_unit_price(200),
                      system_program::transfer(pk(1), pk(2), 1)});
  EXPECT_EQ(*fee_lamports(m), 5'020u);
  // Rounds up: 1,000,001 x 1 -> 2.
  m = compile(pk(1), {compute_budget::set_compute_unit_limit(1),
                      compute_budget::set_compute_unit_price(1'000'001),
                      system_program::transfer(pk(1), pk(2), 1)});
  EXPECT_EQ(*fee_lamports(m), 5'002u);
}

TEST(Fees, DefaultLimitCountsComputeBudgetInstructionsAsBuiltins) {
  // transfer + SetComputeUnitPrice, no limit: 2 builtins x 3,000 = 6,000 CU.
  auto m = compile(pk(1), {compute_budget::set_compute_unit_price(1'000'000),
                           system_program::transfer(pk(1), pk(2), 1)});
  auto d = *fee_details(m);
  EXPECT_EQ(d.cu_limit, 6'000u);
  EXPECT_EQ(d.total_lamports, 5'000u + 6'000u);
}

TEST(Fees, LimitIsCappedAtTheMaximum) {
  auto m = compile(pk(1), {compute_budget::set_compute_unit_limit(4'000'000),
                           compute_budget::set_compute_unit_price(1'000'000),
                           system_program::transfer(pk(1), pk(2), 1)});
  EXPECT_EQ(fee_details(m)->cu_limit, 1'400'000u);
  EXPECT_EQ(*fee_lamports(m), 5'000u + 1'400'000u);
}

TEST(Fees, SaturatesInsteadOfOverflowing) {
  auto m = compile(pk(1), {compute_budget::set_compute_unit_limit(1'400'000),
                           compute_budget::set_compute_unit_price(UINT64_MAX),
                           system_program::transfer(pk(1), pk(2), 1)});
  EXPECT_EQ(*fee_lamports(m), UINT64_MAX);
}

TEST(Fees, PrecompileSignaturesCount) {
  Instruction ed;
  ed.program_id = *Pubkey::from_base58("Ed25519SigVerify111111111111111111111111111");
  ed.data = {2, 0};  // verifies two signatures
  auto m = compile(pk(1), {ed, system_program::transfer(pk(1), pk(2), 1)});
  EXPECT_EQ(fee_details(m)->signatures, 3u);
  EXPECT_EQ(*fee_lamports(m), 15'000u);
}

TEST(Fees, UnknownProgramWithPriceAndNoLimitNeedsTheNode) {
  Instruction other;
  other.program_id = pk(77);
  other.data = {1};
  auto m = compile(pk(1), {compute_budget::set_compute_unit_price(5), other});
  auto d = fee_details(m);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::kUnavailable);
  // Without a price the limit does not matter: 5,000.
  m = compile(pk(1), {other});
  EXPECT_EQ(*fee_lamports(m), 5'000u);
  // With an explicit limit it is certain again.
  m = compile(pk(1), {compute_budget::set_compute_unit_limit(10'000),
                      compute_budget::set_compute_unit_price(1'000'000), other});
  EXPECT_EQ(*fee_lamports(m), 15'000u);
}

TEST(Fees, MalformedComputeBudgetIsRefused) {
  auto a = compute_budget::set_compute_unit_limit(10);
  auto b = compute_budget::set_compute_unit_limit(20);
  auto m = compile(pk(1), {a, b, system_program::transfer(pk(1), pk(2), 1)});
  EXPECT_EQ(fee_details(m).error().code, ErrorCode::kInvalidArgument);
  auto bad = compute_budget::set_compute_unit_price(1);
  bad.data.pop_back();
  m = compile(pk(1), {bad, system_program::transfer(pk(1), pk(2), 1)});
  EXPECT_EQ(fee_details(m).error().code, ErrorCode::kInvalidArgument);
  m = compile(pk(1), {system_program::transfer(pk(1), pk(2), 1)});
  m.instructions[0].program_id_index = 200;
  EXPECT_EQ(fee_details(m).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace qtw::solana

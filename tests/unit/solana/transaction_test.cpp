// Message compile order, transaction wire format and strict parsing.
#include "qtw/solana/transaction.h"

#include <gtest/gtest.h>

#include <vector>

#include "qtw/solana/encoding.h"
#include "qtw/solana/programs.h"

namespace qtw::solana {
namespace {

Keypair key(std::uint8_t fill) {
  return *Keypair::from_seed(std::vector<std::uint8_t>(32, fill));
}

Hash blockhash(std::uint8_t fill) {
  Hash h;
  h.bytes.fill(fill);
  return h;
}

TEST(Programs, InstructionDataMatchesSdk) {
  const auto a = key(1), b = key(2);
  // solana-facts §2: Transfer of 49 lamports = 02000000 3100000000000000.
  EXPECT_EQ(hex_encode(system_program::transfer(a.pubkey(), b.pubkey(), 49).data),
            "020000003100000000000000");
  // CreateAccount 2,000,000 lamports, space 80.
  auto ca =
      system_program::create_account(a.pubkey(), b.pubkey(), 2'000'000, 80, system_program_id());
  EXPECT_EQ(hex_encode(std::span(ca.data).first(20)), "0000000080841e00000000005000000000000000");
  EXPECT_EQ(ca.data.size(), 52u);
  EXPECT_TRUE(ca.accounts[1].is_signer);
  EXPECT_EQ(hex_encode(system_program::assign(a.pubkey(), b.pubkey()).data).substr(0, 8),
            "01000000");
  // Compute budget: tag 2 + u32 LE, tag 3 + u64 LE (solana-sdk compute-budget-interface).
  EXPECT_EQ(hex_encode(compute_budget::set_compute_unit_limit(300'000).data), "02e0930400");
  EXPECT_EQ(hex_encode(compute_budget::set_compute_unit_price(1).data), "030100000000000000");
  EXPECT_TRUE(compute_budget::set_compute_unit_limit(1).accounts.empty());
}

TEST(Programs, PrioritizationFeeRoundsUpAndSaturates) {
  // agave compute-budget/src/compute_budget_limits.rs tests.
  using compute_budget::prioritization_fee_lamports;
  EXPECT_EQ(prioritization_fee_lamports(999'999, 1), 1u);
  EXPECT_EQ(prioritization_fee_lamports(1'000'000, 1), 1u);
  EXPECT_EQ(prioritization_fee_lamports(1'000'001, 1), 2u);
  EXPECT_EQ(prioritization_fee_lamports(200, 100'000), 20u);
  EXPECT_EQ(prioritization_fee_lamports(1, 300'000), 1u);  // fee-structure.mdx example
  EXPECT_EQ(prioritization_fee_lamports(0, 1'400'000), 0u);
  EXPECT_EQ(prioritization_fee_lamports(UINT64_MAX, UINT64_MAX), UINT64_MAX);
  EXPECT_EQ(prioritization_fee_lamports(3'000'000, 1'400'000), 4'200'000u);
}

TEST(Message, MinimalTransferIs215Bytes) {
  // solana-sdk transaction/src/lib.rs test_transaction_minimum_serialized_size.
  const auto from = key(1), to = key(2);
  const Instruction ix = system_program::transfer(from.pubkey(), to.pubkey(), 1);
  auto msg = Message::compile(from.pubkey(), std::span(&ix, 1), blockhash(9));
  ASSERT_TRUE(msg);
  auto tx = Transaction::from_message(*msg);
  const Keypair* signers[] = {&from};
  ASSERT_TRUE(tx.sign(signers));
  auto wire = tx.serialize();
  ASSERT_TRUE(wire);
  EXPECT_EQ(wire->size(), 215u);
  EXPECT_EQ(tx.serialized_size(), 215u);
  EXPECT_EQ(msg->account_keys[0], from.pubkey());
  EXPECT_EQ(msg->account_keys[2], system_program_id());
  EXPECT_EQ(msg->header, (MessageHeader{1, 0, 1}));
}

TEST(Message, OrdersGroupsAndMergesRoles) {
  const auto payer = key(9), s1 = key(1), s2 = key(2), w = key(3);
  // s2 is a readonly signer in one ix and a writable non-signer in another:
  // merged to writable signer. Program ids are readonly non-signers.
  Instruction a{system_program_id(), {{s2.pubkey(), true, false}, {w.pubkey(), false, true}}, {1}};
  Instruction b{
      compute_budget_program_id(), {{s2.pubkey(), false, true}, {s1.pubkey(), true, false}}, {2}};
  const Instruction ixs[] = {a, b};
  auto msg = Message::compile(payer.pubkey(), ixs, blockhash(1));
  ASSERT_TRUE(msg);
  ASSERT_EQ(msg->account_keys.size(), 6u);
  EXPECT_EQ(msg->account_keys[0], payer.pubkey());
  EXPECT_EQ(msg->account_keys[1], s2.pubkey());  // writable signer
  EXPECT_EQ(msg->account_keys[2], s1.pubkey());  // readonly signer
  EXPECT_EQ(msg->account_keys[3], w.pubkey());   // writable non-signer
  EXPECT_EQ(msg->header, (MessageHeader{3, 1, 2}));
  // Readonly non-signers sorted by raw bytes: system (all zero) first.
  EXPECT_EQ(msg->account_keys[4], system_program_id());
  EXPECT_EQ(msg->account_keys[5], compute_budget_program_id());
  EXPECT_TRUE(msg->is_writable(1));
  EXPECT_FALSE(msg->is_writable(2));
  EXPECT_TRUE(msg->is_writable(3));
  EXPECT_FALSE(msg->is_writable(4));
  auto back = msg->decompile();
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].accounts[0].pubkey, s2.pubkey());
  EXPECT_TRUE(back[0].accounts[0].is_writable);  // merged role
}

TEST(Transaction, RoundTripSignVerifyAndTamper) {
  const auto payer = key(5), other = key(6), to = key(7);
  const Instruction ixs[] = {compute_budget::set_compute_unit_limit(600),
                             compute_budget::set_compute_unit_price(1000),
                             system_program::transfer(payer.pubkey(), to.pubkey(), 123),
                             system_program::transfer(other.pubkey(), to.pubkey(), 456)};
  auto tx = Transaction::from_message(*Message::compile(payer.pubkey(), ixs, blockhash(3)));
  EXPECT_FALSE(tx.is_fully_signed());
  const Keypair* first[] = {&payer};
  ASSERT_TRUE(tx.sign(first));
  EXPECT_FALSE(tx.is_fully_signed());
  EXPECT_FALSE(tx.verify());
  const Keypair* second[] = {&other};
  ASSERT_TRUE(tx.sign(second));
  EXPECT_TRUE(tx.is_fully_signed());
  EXPECT_TRUE(tx.verify());
  const auto stranger = key(8);
  const Keypair* wrong[] = {&stranger};
  EXPECT_FALSE(tx.sign(wrong));
  auto wire = *tx.serialize();
  auto back = Transaction::deserialize(wire);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, tx);
  EXPECT_TRUE(back->verify());
  wire[wire.size() - 1] ^= 1;  // flip a bit of the last instruction's data
  auto tampered = Transaction::deserialize(wire);
  ASSERT_TRUE(tampered);
  EXPECT_FALSE(tampered->verify());
}

TEST(Transaction, DeserializeRejectsMalformedInput) {
  const auto payer = key(5), to = key(7);
  const Instruction ix = system_program::transfer(payer.pubkey(), to.pubkey(), 1);
  auto tx =
      Transaction::from_message(*Message::compile(payer.pubkey(), std::span(&ix, 1), blockhash(3)));
  const Keypair* s[] = {&payer};
  ASSERT_TRUE(tx.sign(s));
  const auto wire = *tx.serialize();
  // Every truncation is rejected.
  for (std::size_t n = 0; n < wire.size(); ++n) {
    EXPECT_FALSE(Transaction::deserialize(std::span(wire).first(n))) << n;
  }
  auto trailing = wire;
  trailing.push_back(0);
  EXPECT_FALSE(Transaction::deserialize(trailing));
  auto two_sigs = wire;  // count says 2, header says 1
  two_sigs[0] = 2;
  EXPECT_FALSE(Transaction::deserialize(two_sigs));
  auto v0 = wire;  // message starts with the 0x80 version prefix
  v0[65] = 0x80;
  auto r = Transaction::deserialize(v0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("versioned"), std::string::npos);
  auto bad_index = wire;  // program id index beyond the keys
  bad_index[wire.size() - 16] = 9;
  EXPECT_FALSE(Transaction::deserialize(bad_index));
  EXPECT_FALSE(Transaction::deserialize(std::vector<std::uint8_t>(1233, 0)));
}

// Builds the unsigned wire form of a hand-made message (bypassing compile).
std::vector<std::uint8_t> wire_of(const Message& m) {
  std::vector<std::uint8_t> out{m.header.num_required_signatures};
  out.resize(1 + 64 * m.header.num_required_signatures, 0);
  const auto body = m.serialize();
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

TEST(Transaction, DeserializeNamesEachRejection) {
  const auto payer = key(5), to = key(7);
  const Instruction ix = system_program::transfer(payer.pubkey(), to.pubkey(), 1);
  const Message good = *Message::compile(payer.pubkey(), std::span(&ix, 1), blockhash(3));
  ASSERT_TRUE(Transaction::deserialize(wire_of(good)));
  auto expect_reason = [](const Message& m, std::string_view reason) {
    auto r = Transaction::deserialize(wire_of(m));
    ASSERT_FALSE(r) << reason;
    EXPECT_EQ(r.error().code, ErrorCode::kParse);
    EXPECT_NE(r.error().message.find(reason), std::string::npos) << r.error().message;
  };
  Message dup = good;  // the recipient listed twice
  dup.account_keys[2] = dup.account_keys[1];
  expect_reason(dup, "account key twice");
  Message no_writable_signer = good;
  no_writable_signer.header.num_readonly_signed_accounts = 1;
  expect_reason(no_writable_signer, "no writable signer");
  Message counts = good;
  counts.header.num_readonly_unsigned_accounts = 3;
  expect_reason(counts, "exceed the account keys");
  Message payer_program = good;
  payer_program.instructions[0].program_id_index = 0;
  expect_reason(payer_program, "program id index");
  Message bad_account = good;
  bad_account.instructions[0].accounts[1] = 3;
  expect_reason(bad_account, "account index out of range");

  // An instruction count the remaining bytes cannot hold is refused before
  // any allocation: 0xffff instructions declared, none present.
  auto wire = wire_of(good);
  const std::size_t ix_count_at = 1 + 64 + 3 + 1 + 3 * 32 + 32;
  ASSERT_EQ(wire[ix_count_at], 1);
  wire.resize(ix_count_at);
  wire.insert(wire.end(), {0xff, 0xff, 0x03});
  auto r = Transaction::deserialize(wire);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("truncated in instructions"), std::string::npos)
      << r.error().message;
}

TEST(Transaction, SignAndVerifyRefuseInconsistentMessages) {
  const auto payer = key(5);
  Message m;
  m.header.num_required_signatures = 2;  // more signers than keys
  m.account_keys = {payer.pubkey()};
  auto tx = Transaction::from_message(m);
  const Keypair* s[] = {&payer};
  EXPECT_FALSE(tx.sign(s));
  EXPECT_FALSE(tx.verify());
  const Keypair* null_signer[] = {nullptr};
  auto tx2 = Transaction::from_message(*Message::compile(payer.pubkey(), {}, blockhash(1)));
  EXPECT_FALSE(tx2.sign(null_signer));
}

TEST(Transaction, OverPacketLimitIsAClearError) {
  const auto payer = key(5);
  std::vector<Instruction> ixs;
  for (int i = 0; i < 30; ++i) {
    Pubkey to;
    to.bytes[0] = static_cast<std::uint8_t>(i + 1);
    ixs.push_back(system_program::transfer(payer.pubkey(), to, 1));
  }
  auto tx = Transaction::from_message(*Message::compile(payer.pubkey(), ixs, blockhash(1)));
  auto wire = tx.serialize();
  ASSERT_FALSE(wire);
  EXPECT_EQ(wire.error().code, ErrorCode::kTooLarge);
  EXPECT_NE(wire.error().message.find("1232"), std::string::npos);
}

}  // namespace
}  // namespace qtw::solana

// Cold HODL: the top-up message, the offline signer's checks (every tamper
// refused with its reason), HODL address refusals, and the on-chain HODL
// check against the real local node.
#include "qtw/wallet/cold_hodl.h"

#include <gtest/gtest.h>

#include "qtw/solana/nonce.h"
#include "qtw/solana/programs.h"
#include "support/localnet.h"

namespace qtw::wallet {
namespace {

using solana::Pubkey;

solana::Keypair key(std::uint8_t fill) {
  return *solana::Keypair::from_seed(std::vector<std::uint8_t>(32, fill));
}

struct Fixture {
  solana::Keypair hodl = key(1);
  Pubkey nonce = key(2).pubkey();
  Pubkey bank0 = key(3).pubkey();
  Pubkey bank1 = key(4).pubkey();
  solana::Hash value;
  TopupClaim claim() const {
    TopupClaim c;
    c.hodl = hodl.pubkey();
    c.nonce_account = nonce;
    c.nonce_value = value;
    c.banks = {bank0, bank1};
    c.transfers = {store::IntentTransfer{hodl.pubkey(), bank0, 81'000'000},
                   store::IntentTransfer{hodl.pubkey(), bank1, 100'000'000}};
    return c;
  }
  Fixture() { value.bytes.fill(9); }
};

std::vector<std::uint8_t> message_of(const TopupClaim& c) {
  return build_topup_message(c.hodl, c.nonce_account, c.nonce_value, c.transfers)->serialize();
}

TEST(ColdHodl, TopupMessageShape) {
  Fixture f;
  auto m = build_topup_message(f.hodl.pubkey(), f.nonce, f.value, f.claim().transfers);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->header.num_required_signatures, 1);
  EXPECT_EQ(m->fee_payer(), f.hodl.pubkey());
  EXPECT_EQ(m->recent_blockhash, f.value);
  auto ixs = m->decompile();
  ASSERT_EQ(ixs.size(), 3u);
  // Decompiled flags follow the message (the HODL is the writable fee payer),
  // so compare program, accounts and data.
  const auto adv = solana::system_program::advance_nonce_account(f.nonce, f.hodl.pubkey());
  EXPECT_EQ(ixs[0].program_id, adv.program_id);
  EXPECT_EQ(ixs[0].data, adv.data);
  ASSERT_EQ(ixs[0].accounts.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(ixs[0].accounts[i].pubkey, adv.accounts[i].pubkey);
  EXPECT_EQ(ixs[2], solana::system_program::transfer(f.hodl.pubkey(), f.bank1, 100'000'000));
  // kMaxBanksPerTopup fits one packet.
  std::vector<store::IntentTransfer> many;
  for (std::uint8_t i = 0; i < kMaxBanksPerTopup; ++i) {
    many.push_back({f.hodl.pubkey(), key(static_cast<std::uint8_t>(100 + i)).pubkey(), 1});
  }
  EXPECT_TRUE(build_topup_message(f.hodl.pubkey(), f.nonce, f.value, many));
  EXPECT_FALSE(build_topup_message(f.hodl.pubkey(), f.nonce, f.value, {}));
  std::vector<store::IntentTransfer> foreign = {{f.bank0, f.bank1, 1}};
  EXPECT_FALSE(build_topup_message(f.hodl.pubkey(), f.nonce, f.value, foreign));
}

TEST(ColdHodl, CheckAcceptsTheExactRequest) {
  Fixture f;
  auto c = f.claim();
  auto checked = check_topup_message(message_of(c), c);
  ASSERT_TRUE(checked) << checked.error().message;
  EXPECT_EQ(checked->total_lamports, 181'000'000u);
  ASSERT_EQ(checked->transfers.size(), 2u);
  EXPECT_EQ(checked->transfers[0].to, f.bank0);
}

void expect_refused(const std::vector<std::uint8_t>& message, const TopupClaim& claim,
                    const std::string& reason) {
  auto r = check_topup_message(message, claim);
  ASSERT_FALSE(r) << "accepted; wanted: " << reason;
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find(reason), std::string::npos) << r.error().message;
}

TEST(ColdHodl, CheckRefusesEveryTamper) {
  Fixture f;
  const auto c = f.claim();
  const solana::Keypair attacker = key(66);
  // Amount changed in the message.
  auto t = c;
  t.transfers[0].lamports += 1;
  expect_refused(message_of(t), c, "lamports where the request lists");
  // Destination not a listed Bank.
  t = c;
  t.transfers[1].to = attacker.pubkey();
  expect_refused(message_of(t), c, "not a Bank listed in the request");
  // Destinations swapped between listed Banks.
  t = c;
  std::swap(t.transfers[0].to, t.transfers[1].to);
  expect_refused(message_of(t), c, "where the request lists");
  // An added transfer.
  t = c;
  t.transfers.push_back(t.transfers[0]);
  expect_refused(message_of(t), c, "instruction(s) after the nonce advance");
  // Another nonce account, another nonce value, another fee payer.
  t = c;
  t.nonce_account = attacker.pubkey();
  expect_refused(message_of(t), c, "not the request's nonce account");
  t = c;
  t.nonce_value.bytes.fill(1);
  expect_refused(message_of(t), c, "is not the request's nonce value");
  // Another program after the nonce advance.
  std::vector<solana::Instruction> ixs = {
      solana::system_program::advance_nonce_account(c.nonce_account, c.hodl),
      solana::system_program::transfer(c.hodl, f.bank0, 81'000'000),
      solana::compute_budget::set_compute_unit_price(1)};
  auto with_cb = solana::Message::compile(c.hodl, ixs, c.nonce_value)->serialize();
  expect_refused(with_cb, c, "");
  // A second signer (the attacker pays the fee).
  ixs = {solana::system_program::advance_nonce_account(c.nonce_account, c.hodl),
         solana::system_program::transfer(c.hodl, f.bank0, 81'000'000),
         solana::system_program::transfer(c.hodl, f.bank1, 100'000'000)};
  auto two_signers = solana::Message::compile(attacker.pubkey(), ixs, c.nonce_value)->serialize();
  expect_refused(two_signers, c, "signers");
  // No nonce advance first.
  ixs = {solana::system_program::transfer(c.hodl, f.bank0, 81'000'000),
         solana::system_program::transfer(c.hodl, f.bank1, 100'000'000)};
  auto no_advance = solana::Message::compile(c.hodl, ixs, c.nonce_value)->serialize();
  expect_refused(no_advance, c, "is not AdvanceNonceAccount");
  // Garbage and trailing bytes.
  expect_refused({1, 2, 3}, c, "does not decode");
  auto trailing = message_of(c);
  trailing.push_back(0);
  expect_refused(trailing, c, "");
}

TEST(ColdHodl, RefusesReservedAddresses) {
  for (const char* id :
       {"11111111111111111111111111111111", "ComputeBudget111111111111111111111111111111",
        "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
        "SysvarC1ock11111111111111111111111111111111",
        "SysvarRent111111111111111111111111111111111",
        "BPFLoaderUpgradeab1e11111111111111111111111",
        "1nc1nerator11111111111111111111111111111111"}) {
    auto pk = Pubkey::from_base58(id);
    ASSERT_TRUE(pk) << id;
    auto r = check_hodl_address(*pk);
    EXPECT_FALSE(r) << id;
    if (!r) {
      EXPECT_NE(r.error().message.find("not a wallet"), std::string::npos);
    }
  }
  EXPECT_TRUE(check_hodl_address(key(5).pubkey()));
  // Off-curve (a PDA, e.g. a multisig vault) stays allowed.
  auto pda = Pubkey::from_base58("H8bQHca6EfHnUCnTp7vysPabSVXokP85SNz7Y5xaz74x");
  ASSERT_TRUE(pda);
  EXPECT_FALSE(solana::is_on_curve(*pda));
  EXPECT_TRUE(check_hodl_address(*pda));
}

TEST(ColdHodl, OnChainCheckOnTheLocalNode) {
  auto node = test::LocalNode::start();
  ASSERT_TRUE(node) << node.error().message;
  auto rpc = rpc::RpcClient::connect((*node)->url());
  ASSERT_TRUE(rpc);
  // An executable account (the SPL Token program, loaded by the node) is
  // refused by the chain check itself, whatever the static list says.
  auto token = Pubkey::from_base58("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
  auto r = check_hodl_on_chain(**rpc, *token);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("executable"), std::string::npos);
  // A fresh key: allowed, with the does-not-exist warning.
  auto w = check_hodl_on_chain(**rpc, key(7).pubkey());
  ASSERT_TRUE(w) << w.error().message;
  ASSERT_EQ(w->size(), 1u);
  EXPECT_NE((*w)[0].find("does not exist"), std::string::npos);
  // A sysvar exists, is not executable, is owned by Sysvar1111...: warned.
  auto clock = Pubkey::from_base58("SysvarC1ock11111111111111111111111111111111");
  auto wc = check_hodl_on_chain(**rpc, *clock);
  ASSERT_TRUE(wc);
  EXPECT_NE((*wc)[0].find("not the System Program"), std::string::npos);
  // Off-curve: warned, not refused.
  auto pda = Pubkey::from_base58("H8bQHca6EfHnUCnTp7vysPabSVXokP85SNz7Y5xaz74x");
  auto wp = check_hodl_on_chain(**rpc, *pda);
  ASSERT_TRUE(wp);
  EXPECT_NE(wp->back().find("off-curve"), std::string::npos);
}

}  // namespace
}  // namespace qtw::wallet

// Durable-nonce builders and the nonce account layout, against vectors from
// solana-sdk's own tests and from accounts the real runtime (LiteSVM, the
// local node) wrote.
#include "qtw/solana/nonce.h"

#include <gtest/gtest.h>

#include "qtw/solana/encoding.h"
#include "qtw/solana/programs.h"

namespace qtw::solana {
namespace {

Pubkey pk(const char* b58) {
  return *Pubkey::from_base58(b58);
}

TEST(Nonce, CreateWithSeedMatchesSdkVector) {
  // solana-sdk pubkey/src/lib.rs test_create_with_seed, and @solana/kit
  // createAddressWithSeed for the second.
  EXPECT_EQ(create_with_seed(Pubkey{}, "limber chicken: 4/45", Pubkey{})->to_base58(),
            "9h1HyLCW5dZnBVap8C5egQ9Z6pHyjsh5MNy83iPqqRuq");
  EXPECT_EQ(create_with_seed(sysvar_rent_id(), "qtw-nonce-0", system_program_id())->to_base58(),
            "EFPQWFEfbNpAL4t9T7R2SobcxCwuFixRShUcJVdRamLi");
  EXPECT_FALSE(create_with_seed(Pubkey{}, std::string(33, 'x'), Pubkey{}));
  EXPECT_TRUE(create_with_seed(Pubkey{}, std::string(32, 'x'), Pubkey{}));
  Pubkey pda_owner;
  const std::string marker = "ProgramDerivedAddress";
  std::copy(marker.begin(), marker.end(), pda_owner.bytes.end() - marker.size());
  EXPECT_FALSE(create_with_seed(Pubkey{}, "s", pda_owner));
}

TEST(Nonce, InstructionLayouts) {
  const Pubkey nonce = pk("EFPQWFEfbNpAL4t9T7R2SobcxCwuFixRShUcJVdRamLi");
  const Pubkey auth = sysvar_rent_id();
  auto adv = system_program::advance_nonce_account(nonce, auth);
  EXPECT_EQ(hex_encode(adv.data), "04000000");
  ASSERT_EQ(adv.accounts.size(), 3u);
  EXPECT_EQ(adv.accounts[0], (AccountMeta{nonce, false, true}));
  EXPECT_EQ(adv.accounts[1].pubkey.to_base58(), "SysvarRecentB1ockHashes11111111111111111111");
  EXPECT_EQ(adv.accounts[2], (AccountMeta{auth, true, false}));

  auto init = system_program::initialize_nonce_account(nonce, auth);
  EXPECT_EQ(hex_encode(std::span(init.data).first(4)), "06000000");
  EXPECT_EQ(init.data.size(), 36u);
  EXPECT_EQ(init.accounts[2].pubkey, sysvar_rent_id());

  const Pubkey bank = pk("9h1HyLCW5dZnBVap8C5egQ9Z6pHyjsh5MNy83iPqqRuq");
  auto cws = system_program::create_account_with_seed(bank, nonce, bank, "ab", 1'447'680, 80,
                                                      system_program_id());
  // variant 3 | base | seed len u64 = 2 | "ab" | lamports | space | owner
  EXPECT_EQ(hex_encode(std::span(cws.data).first(4)), "03000000");
  EXPECT_EQ(cws.data.size(), 4u + 32 + 8 + 2 + 8 + 8 + 32);
  EXPECT_EQ(hex_encode(std::span(cws.data).subspan(36, 10)), "02000000000000006162");
  EXPECT_EQ(hex_encode(std::span(cws.data).subspan(46, 16)),
            "0017160000000000"
            "5000000000000000");
  EXPECT_EQ(cws.accounts.size(), 2u);  // base == from: listed once
  auto cws2 =
      system_program::create_account_with_seed(bank, nonce, auth, "ab", 1, 80, system_program_id());
  EXPECT_EQ(cws2.accounts.size(), 3u);
  EXPECT_EQ(cws2.accounts[2], (AccountMeta{auth, true, false}));
}

TEST(Nonce, DecodesAccountWrittenByTheRuntime) {
  // Data of a nonce account after InitializeNonceAccount on LiteSVM
  // (tools/localnet), lamports_per_signature 5000.
  const auto data = *hex_decode(
      "0100000001000000930358db5bd33eb27d3d52a40d5aa1981f0dda11768f0469ff2ff19fed5c099b4a18e975f0"
      "f2004e108861bd18a11a2271f32977fc279db6f33ec80a0b60c8e08813000000000000");
  auto st = decode_nonce_account(data);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(st->version, 1u);
  EXPECT_TRUE(st->initialized);
  EXPECT_EQ(hex_encode(st->authority.bytes),
            "930358db5bd33eb27d3d52a40d5aa1981f0dda11768f0469ff2ff19fed5c099b");
  EXPECT_EQ(hex_encode(st->durable_nonce.bytes),
            "4a18e975f0f2004e108861bd18a11a2271f32977fc279db6f33ec80a0b60c8e0");
  EXPECT_EQ(st->lamports_per_signature, 5000u);
}

TEST(Nonce, RefusesWhatIsNotANonceAccount) {
  EXPECT_FALSE(decode_nonce_account(std::vector<std::uint8_t>(79, 0)));
  EXPECT_FALSE(decode_nonce_account(std::vector<std::uint8_t>(81, 0)));
  std::vector<std::uint8_t> bad_version(80, 0);
  bad_version[0] = 2;
  EXPECT_FALSE(decode_nonce_account(bad_version));
  std::vector<std::uint8_t> bad_state(80, 0);
  bad_state[4] = 2;
  EXPECT_FALSE(decode_nonce_account(bad_state));
  auto uninit = decode_nonce_account(std::vector<std::uint8_t>(80, 0));
  ASSERT_TRUE(uninit);
  EXPECT_FALSE(uninit->initialized);
}

}  // namespace
}  // namespace qtw::solana

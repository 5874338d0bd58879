// Token instructions, program-derived addresses and token-account parsing.
// ATA vectors: computed with @solana/kit 8.4.0 getProgramDerivedAddress
// (seeds owner, token program, mint under the ATA program), including bumps
// below 255 so the off-curve search is exercised.
#include "qtw/solana/token.h"

#include <gtest/gtest.h>

#include "qtw/solana/programs.h"

namespace qtw::solana {
namespace {

Pubkey pk(const char* b58) { return *Pubkey::from_base58(b58); }

struct AtaVector {
  const char* owner;
  const char* mint;
  const char* program;
  const char* ata;
  int bump;
};

constexpr AtaVector kAtaVectors[] = {
    {"11111111111111111111111111111111", "So11111111111111111111111111111111111111112",
     "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", "aqxoAhCwpy3oB1BpNw9hL1HdLYLgPpbPjzxDrrQj3Fs",
     254},
    {"4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
     "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", "F8biqkCRK2tHR6EncrcXDGgVTkGRrtojqyW39w41Qspn",
     252},
    {"9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM", "So11111111111111111111111111111111111111112",
     "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb", "DSEcUmCSeNX75D53mJSj2kxvbJYSoAxcLfVcEifzuTV1",
     252},
    {"CiDwVBFgWV9E5MvXWoLgnEgn2hK7rJikbvfWavzAQz3", "2b1kV6DkPAnxd5ixfnxCpjxmKwqjjaYmCZfHsFu24GXo",
     "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb", "G7dHXdPWHT6cxQR3zUmLn62Xtb7NBdCVcMURwS1gqjPz",
     255},
};

TEST(Token, AssociatedTokenAddressMatchesKit) {
  for (const auto& v : kAtaVectors) {
    SCOPED_TRACE(v.ata);
    auto ata = associated_token_address(pk(v.owner), pk(v.mint), pk(v.program));
    ASSERT_TRUE(ata.has_value()) << ata.error().message;
    EXPECT_EQ(ata->to_base58(), v.ata);
    const Pubkey owner = pk(v.owner), program = pk(v.program), mint = pk(v.mint);
    const std::span<const std::uint8_t> seeds[] = {owner.bytes, program.bytes, mint.bytes};
    auto found = find_program_address(seeds, associated_token_program_id());
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->second, v.bump);
    EXPECT_FALSE(is_on_curve(found->first));
  }
}

TEST(Token, ProgramAddressRefusals) {
  const Pubkey system{};
  EXPECT_EQ(associated_token_address(system, native_mint(), system_program_id()).error().code,
            ErrorCode::kInvalidArgument);
  std::array<std::uint8_t, 33> long_seed{};
  const std::span<const std::uint8_t> too_long[] = {long_seed};
  EXPECT_EQ(create_program_address(too_long, token_program_id()).error().code,
            ErrorCode::kInvalidArgument);
  std::array<std::uint8_t, 1> s{};
  std::vector<std::span<const std::uint8_t>> many(16, std::span<const std::uint8_t>(s));
  // 16 seeds are allowed for create, but leave no room for a bump.
  EXPECT_FALSE(find_program_address(many, token_program_id()).has_value());
  many.push_back(s);
  EXPECT_FALSE(create_program_address(many, token_program_id()).has_value());
}

TEST(Token, InstructionBytes) {
  const Pubkey a = pk("4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T");
  const Pubkey b = pk("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM");
  const Pubkey mint = pk("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v");
  const Pubkey owner = pk("CiDwVBFgWV9E5MvXWoLgnEgn2hK7rJikbvfWavzAQz3");
  auto t = token::transfer_checked(token_2022_program_id(), a, mint, b, owner, 0x0102030405060708,
                                   6);
  EXPECT_EQ(t.program_id, token_2022_program_id());
  EXPECT_EQ(t.data, (std::vector<std::uint8_t>{12, 8, 7, 6, 5, 4, 3, 2, 1, 6}));
  ASSERT_EQ(t.accounts.size(), 4u);
  EXPECT_EQ(t.accounts[0], (AccountMeta{a, false, true}));
  EXPECT_EQ(t.accounts[1], (AccountMeta{mint, false, false}));
  EXPECT_EQ(t.accounts[2], (AccountMeta{b, false, true}));
  EXPECT_EQ(t.accounts[3], (AccountMeta{owner, true, false}));
  auto c = token::close_account(token_program_id(), a, b, owner);
  EXPECT_EQ(c.data, std::vector<std::uint8_t>{9});
  EXPECT_EQ(c.accounts, (std::vector<AccountMeta>{{a, false, true}, {b, false, true},
                                                  {owner, true, false}}));
  auto sn = token::sync_native(token_program_id(), a);
  EXPECT_EQ(sn.data, std::vector<std::uint8_t>{17});
  auto ata = associated_token::create_idempotent(b, owner, mint, token_program_id());
  ASSERT_TRUE(ata.has_value());
  EXPECT_EQ(ata->program_id, associated_token_program_id());
  EXPECT_EQ(ata->data, std::vector<std::uint8_t>{1});
  ASSERT_EQ(ata->accounts.size(), 6u);
  EXPECT_EQ(ata->accounts[0], (AccountMeta{b, true, true}));
  EXPECT_EQ(ata->accounts[1].pubkey, *associated_token_address(owner, mint, token_program_id()));
  EXPECT_EQ(ata->accounts[4].pubkey, system_program_id());
  EXPECT_EQ(ata->accounts[5], (AccountMeta{token_program_id(), false, false}));
}

// A token account laid out as token state.rs packs it.
std::vector<std::uint8_t> account_bytes(const Pubkey& mint, const Pubkey& owner,
                                        std::uint64_t amount, std::uint8_t state,
                                        std::optional<std::uint64_t> native) {
  std::vector<std::uint8_t> d;
  auto u = [&](std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) d.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  };
  d.insert(d.end(), mint.bytes.begin(), mint.bytes.end());
  d.insert(d.end(), owner.bytes.begin(), owner.bytes.end());
  u(amount, 8);
  u(0, 4);
  d.resize(d.size() + 32);  // no delegate
  d.push_back(state);
  u(native ? 1 : 0, 4);
  u(native.value_or(0), 8);
  u(0, 8);
  u(0, 4);
  d.resize(d.size() + 32);  // no close authority
  return d;
}

TEST(Token, ParsesTokenAccountsWithExtensions) {
  const Pubkey mint = pk("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v");
  const Pubkey owner = pk("CiDwVBFgWV9E5MvXWoLgnEgn2hK7rJikbvfWavzAQz3");
  auto plain = account_bytes(mint, owner, 42, 1, std::nullopt);
  ASSERT_EQ(plain.size(), kTokenAccountLen);
  auto a = parse_token_account(plain);
  ASSERT_TRUE(a.has_value()) << a.error().message;
  EXPECT_EQ(a->mint, mint);
  EXPECT_EQ(a->owner, owner);
  EXPECT_EQ(a->amount, 42u);
  EXPECT_EQ(a->state, TokenAccountState::kInitialized);
  EXPECT_FALSE(a->native_rent_reserve);
  EXPECT_TRUE(a->extensions.empty());

  auto frozen_native = account_bytes(native_mint(), owner, 7, 2, 2039280);
  auto b = parse_token_account(frozen_native);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->state, TokenAccountState::kFrozen);
  EXPECT_EQ(b->native_rent_reserve, 2039280u);

  // Token-2022: type byte 2, ImmutableOwner (empty), TransferFeeAmount (u64).
  auto ext = plain;
  ext.push_back(2);
  ext.insert(ext.end(), {7, 0, 0, 0, 2, 0, 8, 0, 0x10, 0x27, 0, 0, 0, 0, 0, 0});
  auto c = parse_token_account(ext);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_TRUE(c->has(TokenExtension::kImmutableOwner));
  EXPECT_TRUE(c->has(TokenExtension::kTransferFeeAmount));
  EXPECT_EQ(c->withheld_fee_amount, 10000u);
}

TEST(Token, RefusesMalformedAccountsWithoutReadingPast) {
  const Pubkey mint = pk("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v");
  auto good = account_bytes(mint, mint, 1, 1, std::nullopt);
  for (std::size_t n : {0u, 1u, 64u, 164u}) {
    EXPECT_EQ(parse_token_account(std::span(good).first(n)).error().code, ErrorCode::kParse) << n;
  }
  auto bad_state = good;
  bad_state[108] = 3;
  EXPECT_NE(parse_token_account(bad_state).error().message.find("state"), std::string::npos);
  auto bad_tag = good;
  bad_tag[72] = 2;  // delegate COption tag
  EXPECT_NE(parse_token_account(bad_tag).error().message.find("delegate"), std::string::npos);
  auto wrong_type = good;
  wrong_type.push_back(1);  // a mint's type byte on an account
  EXPECT_FALSE(parse_token_account(wrong_type).has_value());
  auto overrun = good;
  overrun.push_back(2);
  overrun.insert(overrun.end(), {2, 0, 200, 0, 1, 2});
  EXPECT_NE(parse_token_account(overrun).error().message.find("runs past"), std::string::npos);
}

TEST(Token, ParsesMints) {
  std::vector<std::uint8_t> m(kMintLen, 0);
  m[0] = 1;       // mint authority: some
  m[36] = 0xe8;   // supply 1000
  m[37] = 0x03;
  m[44] = 6;      // decimals
  m[45] = 1;      // initialized
  auto mint = parse_mint(m);
  ASSERT_TRUE(mint.has_value()) << mint.error().message;
  EXPECT_EQ(mint->supply, 1000u);
  EXPECT_EQ(mint->decimals, 6);
  EXPECT_TRUE(mint->initialized);
  EXPECT_FALSE(mint->freeze_authority);
  // Token-2022 mint: padded to 165, type 1, TransferFeeConfig (108 bytes), TransferHook (64).
  auto ext = m;
  ext.resize(kTokenAccountLen, 0);
  ext.push_back(1);
  ext.insert(ext.end(), {1, 0, 108, 0});
  ext.resize(ext.size() + 108, 0);
  ext.insert(ext.end(), {14, 0, 64, 0});
  ext.resize(ext.size() + 64, 0);
  auto e = parse_mint(ext);
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_TRUE(e->has(TokenExtension::kTransferFeeConfig));
  EXPECT_TRUE(e->has(TokenExtension::kTransferHook));
  EXPECT_FALSE(e->has(TokenExtension::kNonTransferable));
  EXPECT_EQ(parse_mint(std::span(m).first(81)).error().code, ErrorCode::kParse);
  auto no_room = m;
  no_room.resize(100, 0);
  EXPECT_FALSE(parse_mint(no_room).has_value());
}

}  // namespace
}  // namespace qtw::solana

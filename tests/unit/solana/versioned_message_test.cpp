// VersionedMessage: v0 (and legacy) parsing from untrusted bytes. The v0
// vector was compiled by @solana/kit 8.4.0 (compileTransactionMessage after
// compressTransactionMessageUsingAddressLookupTables): a System transfer and
// an SPL Token instruction whose two non-signer accounts are loaded from one
// table (writable index 0, readonly index 1). Every rejection reason has a
// case; every strict prefix of the vector is refused as truncated.
#include "qtw/solana/versioned_message.h"

#include <gtest/gtest.h>

#include "qtw/solana/encoding.h"
#include "qtw/solana/programs.h"

namespace qtw::solana {
namespace {

constexpr const char* kKitV0Hex =
    "8001000203c136a23101c4c7bd76a82fa608471c424b27c57244be9baa5b887c9f3f8ff29a00000000000000000000"
    "0000000000000000000000000000000000000000000006ddf6e1d765a193d9cbe146ceeb79ac1cb485ed5f5b37913a"
    "8cf5857eff00a9cc490e928cd2e3873bb343fc95da33179ca60f4dbf46c2c36e91299d55d4e6b902010200030c0200"
    "0000e803000000000000020203040903010000000000000001321cfa5add185e8893a5fd88013ec4d7e122ded46354"
    "cadff50d956395e75b6001000101";

std::vector<std::uint8_t> kit_v0() { return *hex_decode(kKitV0Hex); }

MessageParseError reason_of(const std::vector<std::uint8_t>& bytes) {
  MessageParseError why = MessageParseError::kTruncated;
  auto m = VersionedMessage::deserialize(bytes, &why);
  EXPECT_FALSE(m);
  if (!m) {
    EXPECT_EQ(m.error().code, ErrorCode::kParse);
  }
  return why;
}

TEST(VersionedMessage, ParsesKitV0WithALookupTable) {
  const auto bytes = kit_v0();
  auto m = VersionedMessage::deserialize(bytes);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->version, VersionedMessage::Version::kV0);
  EXPECT_EQ(m->header.num_required_signatures, 1);
  ASSERT_EQ(m->static_keys.size(), 3u);
  EXPECT_EQ(m->static_keys[1], system_program_id());
  EXPECT_EQ(m->static_keys[2], token_program_id());
  ASSERT_EQ(m->lookups.size(), 1u);
  EXPECT_EQ(m->lookups[0].account_key.to_base58(), "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T");
  EXPECT_EQ(m->lookups[0].writable_indexes, std::vector<std::uint8_t>{0});
  EXPECT_EQ(m->lookups[0].readonly_indexes, std::vector<std::uint8_t>{1});
  EXPECT_EQ(m->num_accounts(), 5u);
  ASSERT_EQ(m->instructions.size(), 2u);
  EXPECT_EQ(m->instructions[0].accounts, (std::vector<std::uint8_t>{0, 3}));
  EXPECT_TRUE(m->is_writable(3));   // loaded writable
  EXPECT_FALSE(m->is_writable(4));  // loaded readonly
  EXPECT_FALSE(m->is_static(3));
  EXPECT_EQ(m->static_key(3), nullptr);
  EXPECT_EQ(m->serialize(), bytes);
}

TEST(VersionedMessage, LegacyParsesAsBefore) {
  auto legacy = Message::compile(Keypair::generate().pubkey(),
                                 std::vector<Instruction>{system_program::transfer(
                                     Keypair::generate().pubkey(), Keypair::generate().pubkey(), 5)},
                                 Hash{});
  ASSERT_TRUE(legacy);
  const auto bytes = legacy->serialize();
  auto m = VersionedMessage::deserialize(bytes);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->version, VersionedMessage::Version::kLegacy);
  EXPECT_EQ(*m, VersionedMessage::from_legacy(*legacy));
  EXPECT_EQ(m->serialize(), bytes);
}

TEST(VersionedMessage, EveryPrefixIsTruncated) {
  const auto bytes = kit_v0();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    std::vector<std::uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    const auto why = reason_of(cut);
    EXPECT_TRUE(why == MessageParseError::kTruncated || why == MessageParseError::kBadShortVec ||
                why == MessageParseError::kNoWritableSigner)
        << n << ": " << message_parse_error_name(why);
  }
}

TEST(VersionedMessage, EachRejectionHasItsReason) {
  const auto v0 = kit_v0();
  auto mutate = [&](auto f) {
    auto m = *VersionedMessage::deserialize(v0);
    f(m);
    return m.serialize();
  };
  auto b = v0;
  b[0] = 0x81;
  EXPECT_EQ(reason_of(b), MessageParseError::kUnknownVersion);
  b = v0;
  b.push_back(0);
  EXPECT_EQ(reason_of(b), MessageParseError::kTrailingBytes);
  EXPECT_EQ(reason_of(mutate([](auto& m) { m.lookups[0].writable_indexes.clear(); m.lookups[0].readonly_indexes.clear(); })),
            MessageParseError::kEmptyLookup);
  EXPECT_EQ(reason_of(mutate([](auto& m) { m.instructions[1].program_id_index = 3; })),
            MessageParseError::kProgramIndex);  // a program loaded from a table
  EXPECT_EQ(reason_of(mutate([](auto& m) { m.instructions[1].program_id_index = 0; })),
            MessageParseError::kProgramIndex);  // the fee payer as a program
  EXPECT_EQ(reason_of(mutate([](auto& m) { m.instructions[0].accounts[1] = 5; })),
            MessageParseError::kAccountIndex);
  EXPECT_EQ(reason_of(mutate([](auto& m) { m.static_keys[2] = m.static_keys[1]; })),
            MessageParseError::kDuplicateKey);
  EXPECT_EQ(reason_of(mutate([](auto& m) { m.header.num_readonly_signed_accounts = 1; })),
            MessageParseError::kNoWritableSigner);
  EXPECT_EQ(reason_of(mutate([](auto& m) { m.header.num_readonly_unsigned_accounts = 3; })),
            MessageParseError::kHeaderCounts);
  EXPECT_EQ(reason_of(mutate([](auto& m) { m.lookups[0].readonly_indexes.assign(255, 1); })),
            MessageParseError::kTooManyAccounts);
  // A non-canonical short_vec (0x80 0x00 aliases 0).
  b = v0;
  b.insert(b.begin() + 4, 0x80);
  b[4] = 0x83;
  b[5] = 0x00;
  EXPECT_EQ(reason_of(b), MessageParseError::kBadShortVec);
  // A huge instruction count with nothing behind it.
  b = std::vector<std::uint8_t>(v0.begin(), v0.begin() + 4 + 3 * 32 + 32);
  b.push_back(0xff);
  b.push_back(0x7f);
  EXPECT_EQ(reason_of(b), MessageParseError::kTruncated);
}

}  // namespace
}  // namespace qtw::solana

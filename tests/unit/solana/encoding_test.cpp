// base58, base64, short_vec against public vectors, and their rejections.
#include "qtw/solana/encoding.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "qtw/solana/short_vec.h"
#include "qtw/solana/types.h"

namespace qtw::solana {
namespace {

// bitcoin/bitcoin src/test/data/base58_encode_decode.json (solana-facts T2.a).
const std::pair<const char*, const char*> kBitcoinBase58[] = {
    {"", ""},
    {"61", "2g"},
    {"626262", "a3gV"},
    {"636363", "aPEr"},
    {"73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"},
    {"00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"},
    {"516b6fcd0f", "ABnLTmg"},
    {"bf4f89001e670274dd", "3SEo3LWLoPntC"},
    {"572e4794", "3EFU7m"},
    {"ecac89cad93923c02321", "EJDM8drfXA6uyA"},
    {"10c8511e", "Rt5zm"},
    {"00000000000000000000", "1111111111"},
    {"000111d38e5fc9071ffcd20b4a763cc9ae4f252bb4e48fd66a835e252ada93ff480d6dd43dc62a641155a5",
     "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"},
    {"271f359e", "zzzzy"},
    {"271f359f", "zzzzz"},
    {"271f35a0", "211111"},
    {"271f35a1", "211112"},
};

TEST(Base58, BitcoinCoreVectorsBothWays) {
  for (const auto& [h, b58] : kBitcoinBase58) {
    const auto bytes = *hex_decode(h);
    EXPECT_EQ(base58_encode(bytes), b58) << h;
    auto decoded = base58_decode(b58);
    ASSERT_TRUE(decoded) << b58;
    EXPECT_EQ(hex_encode(*decoded), h);
  }
}

TEST(Base58, KitPubkeyVector) {
  // anza-xyz/kit packages/codecs-strings/src/__tests__/base58-test.ts.
  const std::vector<std::uint8_t> bytes = {5,  19,  4,  94,  5,   47,  73,  25,  182, 8,  150,
                                           61, 231, 60, 102, 110, 6,   114, 224, 110, 40, 20,
                                           10, 184, 65, 191, 241, 204, 131, 161, 120, 181};
  auto pk = Pubkey::from_base58("LorisCg1FTs89a32VSrFskYDgiRbNQzct1WxyZb7nuA");
  ASSERT_TRUE(pk);
  EXPECT_EQ(std::vector<std::uint8_t>(pk->bytes.begin(), pk->bytes.end()), bytes);
  EXPECT_EQ(Pubkey::from_base58("11111111111111111111111111111111")->is_zero(), true);
  EXPECT_EQ(base58_encode(std::vector<std::uint8_t>{255, 255}), "LUv");
}

TEST(Base58, ProgramIdsDecodeToKnownHex) {
  // solana-facts T2.d.
  EXPECT_EQ(hex_encode(Pubkey::from_base58("ComputeBudget111111111111111111111111111111")->bytes),
            "0306466fe5211732ffecadba72c39be7bc8ce5bbc5f7126b2c439b3a40000000");
  EXPECT_EQ(hex_encode(Pubkey::from_base58("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")->bytes),
            "06ddf6e1d765a193d9cbe146ceeb79ac1cb485ed5f5b37913a8cf5857eff00a9");
}

TEST(Base58, RejectsBadCharactersAndLengths) {
  for (const char* bad : {"0", "O", "I", "l", "abc!", "2g ", "INVALID_INPUT"}) {
    auto r = base58_decode(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kParse);
    EXPECT_NE(r.error().message.find("invalid base58 character"), std::string::npos);
  }
  // Wrong lengths for a pubkey: 31 bytes, 33 bytes, 45 characters, empty.
  EXPECT_FALSE(Pubkey::from_base58(base58_encode(std::vector<std::uint8_t>(31, 7))));
  EXPECT_FALSE(Pubkey::from_base58(base58_encode(std::vector<std::uint8_t>(33, 7))));
  EXPECT_FALSE(Pubkey::from_base58(std::string(45, '2')));
  EXPECT_FALSE(Pubkey::from_base58(""));
  auto r = Pubkey::from_base58(base58_encode(std::vector<std::uint8_t>(31, 7)));
  EXPECT_NE(r.error().message.find("31 bytes, expected 32"), std::string::npos)
      << r.error().message;
  EXPECT_FALSE(Signature::from_base58("2g"));
}

TEST(Base64, RoundTripAndRejects) {
  const std::vector<std::uint8_t> data = {0, 1, 2, 250, 251, 252, 253};
  const auto text = base64_encode(data);
  EXPECT_EQ(text, "AAEC+vv8/Q==");
  EXPECT_EQ(*base64_decode(text), data);
  EXPECT_FALSE(base64_decode("AAEC+vv8/Q=!"));
  EXPECT_FALSE(base64_decode("A"));
}

TEST(ShortVec, SdkEncodeVectors) {
  // solana-sdk short-vec/src/lib.rs test_short_vec_encode_len; kit short-u16-test.ts.
  const std::pair<std::uint16_t, std::vector<std::uint8_t>> cases[] = {
      {0x0, {0x00}},
      {0x7f, {0x7f}},
      {0x80, {0x80, 0x01}},
      {0xff, {0xff, 0x01}},
      {0x100, {0x80, 0x02}},
      {0x7fff, {0xff, 0xff, 0x01}},
      {0xffff, {0xff, 0xff, 0x03}},
      {42, {0x2a}},
      {16383, {0xff, 0x7f}},
      {16384, {0x80, 0x80, 0x01}},
      {0xfffe, {0xfe, 0xff, 0x03}},
  };
  for (const auto& [value, bytes] : cases) {
    std::vector<std::uint8_t> out;
    short_vec_encode(value, out);
    EXPECT_EQ(out, bytes) << value;
    EXPECT_EQ(short_vec_encoded_size(value), bytes.size());
    auto d = short_vec_decode(bytes);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->value, value);
    EXPECT_EQ(d->bytes_read, bytes.size());
  }
}

TEST(ShortVec, SdkRejectsAliasesTruncationAndOverflow) {
  // solana-sdk short-vec/src/lib.rs test_deserialize (bad cases) and
  // test_short_vec_aliased_length.
  const std::vector<std::vector<std::uint8_t>> bad = {
      {0x80, 0x00},
      {0x80, 0x80, 0x00},
      {0xff, 0x00},
      {0xff, 0x80, 0x00},
      {0x80, 0x81, 0x00},
      {0xff, 0x81, 0x00},
      {0x80, 0x82, 0x00},
      {0xff, 0x8f, 0x00},
      {0xff, 0xff, 0x00},
      {},
      {0x80},
      {0x80, 0x80, 0x80, 0x00},
      {0x80, 0x80, 0x04},
      {0x80, 0x80, 0x06},
      {0x81, 0x80, 0x00, 0x00},
  };
  for (const auto& b : bad) EXPECT_FALSE(short_vec_decode(b)) << hex_encode(b);
}

}  // namespace
}  // namespace qtw::solana

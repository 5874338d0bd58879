// Ed25519 and SLIP-0010 against public vectors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "qtw/solana/encoding.h"
#include "qtw/solana/slip10.h"
#include "qtw/solana/types.h"

namespace qtw::solana {
namespace {

std::vector<std::uint8_t> hex(std::string_view s) {
  return *hex_decode(s);
}

struct Rfc8032 {
  const char* seed;
  const char* pub;
  const char* msg;
  const char* sig;
};

// RFC 8032 §7.1 TEST 1, TEST 2, TEST 3 (https://www.rfc-editor.org/rfc/rfc8032#section-7.1),
// the vectors Solana's ed25519 must reproduce.
const Rfc8032 kRfc8032[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b"
     "46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11"
     "d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc"
     "6594a7c15e9716ed28dc027beceea1ec40a"},
};

TEST(Ed25519, Rfc8032Vectors) {
  for (const auto& v : kRfc8032) {
    auto kp = Keypair::from_seed(hex(v.seed));
    ASSERT_TRUE(kp);
    EXPECT_EQ(hex_encode(kp->pubkey().bytes), v.pub);
    const auto msg = hex(v.msg);
    const Signature sig = kp->sign(msg);
    EXPECT_EQ(hex_encode(sig.bytes), v.sig);
    EXPECT_TRUE(verify(kp->pubkey(), msg, sig));
    auto bad = msg;
    bad.push_back(0);
    EXPECT_FALSE(verify(kp->pubkey(), bad, sig));
  }
}

TEST(Ed25519, SoldersSignHello) {
  // solders tests/test_keypair.py test_sign_message: seed [1]*32, "hello".
  std::vector<std::uint8_t> seed(32, 1);
  auto kp = Keypair::from_seed(seed);
  ASSERT_TRUE(kp);
  const std::string msg = "hello";
  const auto sig =
      kp->sign(std::span(reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()));
  EXPECT_EQ(hex_encode(sig.bytes),
            "e1430c6ebd0d53573b5c803452174f8991ef5955e0906a09e8fdc7310459e9c82a402526748c3431fe7f0e"
            "5faafbf7e703234789734063ee42be17af16438d08");
  // solders test_str: base58 of the 64-byte keypair.
  EXPECT_EQ(
      base58_encode(kp->to_bytes().span()),
      "2AXDGYSE4f2sz7tvMMzyHvUfcoJmxudvdhBcmiUSo6iuCXagjUCKEQF21awZnUGxmwD4m9vGXuC3qieHXJQHAcT");
}

TEST(Ed25519, Web3KeypairVectors) {
  // solana-web3.js test/keypair.test.ts.
  auto secret = *base64_decode(
      "mdqVWeFekT7pqy5T49+tV12jO0m+ESW7ki4zSU9JiCgbL0kJbj5dvQ/PqcDAzZLZqzshVEs01d1KZdmLh4uZIg==");
  auto kp = Keypair::from_bytes(secret);
  ASSERT_TRUE(kp);
  EXPECT_EQ(kp->pubkey().to_base58(), "2q7pyhPwAwZ3QMfZrnAbDhnh9mDUqycszcpf86VgQxhF");
  // The same bytes with the last pubkey byte changed must be rejected (the
  // web3.js "invalid secret key" case).
  auto bad = secret;
  bad.back() ^= 0x02;
  auto rejected = Keypair::from_bytes(bad);
  ASSERT_FALSE(rejected);
  EXPECT_NE(rejected.error().message.find("same pubkey"), std::string::npos);
  std::vector<std::uint8_t> eights(32, 8);
  EXPECT_EQ(Keypair::from_seed(eights)->pubkey().to_base58(),
            "2KW2XRd9kwqet15Aha2oK3tYvd3nWbTFH1MBiRAv1BE1");
  EXPECT_FALSE(Keypair::from_seed(std::vector<std::uint8_t>(31, 0)));
}

TEST(Ed25519, GeneratedKeysDifferAndRoundTrip) {
  auto a = Keypair::generate();
  auto b = Keypair::generate();
  EXPECT_NE(a.pubkey(), b.pubkey());
  auto again = Keypair::from_bytes(a.to_bytes().span());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->pubkey(), a.pubkey());
  EXPECT_TRUE(is_on_curve(a.pubkey()));
}

struct Slip10Step {
  const char* path;
  const char* chain_code;
  const char* priv;
  const char* pub;  // 00 || Ed25519 public key
};

// satoshilabs/slips slip-0010.md, test vector 1 for ed25519, seed 000102..0f.
const Slip10Step kTv1[] = {
    {"m", "90046a93de5380a72b5e45010748567d5ea02bbf6522f979e05c0d8d8ca9fffb",
     "2b4be7f19ee27bbf30c667b642d5f4aa69fd169872f8fc3059c08ebae2eb19e7",
     "00a4b2856bfec510abab89753fac1ac0e1112364e7d250545963f135f2a33188ed"},
    {"m/0'", "8b59aa11380b624e81507a27fedda59fea6d0b779a778918a2fd3590e16e9c69",
     "68e0fe46dfb67e368c75379acec591dad19df3cde26e63b93a8e704f1dade7a3",
     "008c8a13df77a28f3445213a0f432fde644acaa215fc72dcdf300d5efaa85d350c"},
    {"m/0'/1'", "a320425f77d1b5c2505a6b1b27382b37368ee640e3557c315416801243552f14",
     "b1d0bad404bf35da785a64ca1ac54b2617211d2777696fbffaf208f746ae84f2",
     "001932a5270f335bed617d5b935c80aedb1a35bd9fc1e31acafd5372c30f5c1187"},
    {"m/0'/1'/2'", "2e69929e00b5ab250f49c3fb1c12f252de4fed2c1db88387094a0f8c4c9ccd6c",
     "92a5b23c0b8a99e37d07df3fb9966917f5d06e02ddbd909c7e184371463e9fc9",
     "00ae98736566d30ed0e9d2f4486a64bc95740d89c7db33f52121f8ea8f76ff0fc1"},
    {"m/0'/1'/2'/2'", "8f6d87f93d750e0efccda017d662a1b31a266e4a6f5993b15f5c1f07f74dd5cc",
     "30d1dc7e5fc04c31219ab25a27ae00b50f6fd66622f6e9c913253d6511d1e662",
     "008abae2d66361c879b900d204ad2cc4984fa2aa344dd7ddc46007329ac76c429c"},
    {"m/0'/1'/2'/2'/1000000000'",
     "68789923a0cac2cd5a29172a475fe9e0fb14cd6adb5ad98a3fa70333e7afa230",
     "8f94d394a8e8fd6b1bc2f3f49f5c47e385281d5c17e65324b0f62483e37e8793",
     "003c24da049451555d51a7014a37337aa4e12d41e485abccfa46b47dfb2af54b7a"},
};

// Test vector 2 for ed25519 (same file).
const Slip10Step kTv2[] = {
    {"m", "ef70a74db9c3a5af931b5fe73ed8e1a53464133654fd55e7a66f8570b8e33c3b",
     "171cb88b1b3c1db25add599712e36245d75bc65a1a5c9e18d76f9f2b1eab4012",
     "008fe9693f8fa62a4305a140b9764c5ee01e455963744fe18204b4fb948249308a"},
    {"m/0'/2147483647'", "138f0b2551bcafeca6ff2aa88ba8ed0ed8de070841f0c4ef0165df8181eaad7f",
     "ea4f5bfe8694d8bb74b7b59404632fd5968b774ed545e810de9c32a4fb4192f4",
     "005ba3b9ac6e90e83effcd25ac4e58a1365a9e35a3d3ae5eb07b9e4d90bcf7506d"},
    {"m/0'/2147483647'/1'/2147483646'/2'",
     "5d70af781f3a37b829f0d060924d5e960bdc02e85423494afc0b1a41bbe196d4",
     "551d333177df541ad876a60ea71f00447931c0a9da16f227c11ea080d7391b8d",
     "0047150c75db263559a70d5778bf36abbab30fb061ad69f69ece61a72b0cfa4fc0"},
};

void check_slip10(const char* seed_hex, std::span<const Slip10Step> steps) {
  const auto seed = hex(seed_hex);
  for (const auto& s : steps) {
    SCOPED_TRACE(s.path);
    auto path = parse_derivation_path(s.path);
    ASSERT_TRUE(path) << path.error().message;
    auto k = slip10_derive(seed, *path);
    ASSERT_TRUE(k);
    EXPECT_EQ(hex_encode(k->chain_code.span()), s.chain_code);
    EXPECT_EQ(hex_encode(k->key.span()), s.priv);
    auto kp = Keypair::from_seed(k->key.span());
    EXPECT_EQ("00" + hex_encode(kp->pubkey().bytes), s.pub);
  }
}

TEST(Slip10, TestVector1) {
  check_slip10("000102030405060708090a0b0c0d0e0f", kTv1);
}

TEST(Slip10, TestVector2) {
  check_slip10(
      "fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a29f9c999693908d8a8784817e7b"
      "7875726f6c696663605d5a5754514e4b484542",
      kTv2);
}

TEST(Slip10, RejectsNonHardenedAndBadPaths) {
  const auto seed = hex("000102030405060708090a0b0c0d0e0f");
  auto master = slip10_master(seed);
  ASSERT_TRUE(master);
  EXPECT_FALSE(slip10_child(*master, 5));
  for (const char* bad : {"", "x/0'", "m/0", "m/0'/", "m/2147483648'", "m//1'", "m/a'"}) {
    EXPECT_FALSE(parse_derivation_path(bad)) << bad;
  }
  EXPECT_FALSE(slip10_master(std::vector<std::uint8_t>(15, 0)));
}

}  // namespace
}  // namespace qtw::solana

namespace qtw::solana {
namespace {

// is_on_curve: the 32-byte value [y, 0, ..., 0] for y = 0..11. Expected
// values are what @solana/addresses 8.4.0 isOffCurveAddress (kit, the
// reference implementation of Solana's PDA curve test) returns for them, and
// match a direct Euler-criterion computation in Python. The conformance test
// (tests/conformance) repeats the comparison against kit on random keys.
TEST(Curve, SmallYValuesMatchKit) {
  const bool kOnCurve[] = {true, true,  false, true, true, true,
                           true, false, false, true, true, false};
  for (std::size_t y = 0; y < std::size(kOnCurve); ++y) {
    Pubkey k;
    k.bytes[0] = static_cast<std::uint8_t>(y);
    EXPECT_EQ(is_on_curve(k), kOnCurve[y]) << "y=" << y << " " << k.to_base58();
  }
}

TEST(Curve, SignBitDoesNotMatterAndKeysAreOnCurve) {
  for (int i = 0; i < 32; ++i) {
    const auto kp = Keypair::generate();
    EXPECT_TRUE(is_on_curve(kp.pubkey()));
    Pubkey flipped = kp.pubkey();
    flipped.bytes[31] ^= 0x80;  // -x: same y, still on the curve
    EXPECT_TRUE(is_on_curve(flipped));
  }
  // y = p - 1 (the order-2 point (0, -1)) and y = p + 1 (non-canonical 1).
  Pubkey minus_one;
  minus_one.bytes.fill(0xff);
  minus_one.bytes[0] = 0xec;
  minus_one.bytes[31] = 0x7f;
  EXPECT_TRUE(is_on_curve(minus_one));
}

}  // namespace
}  // namespace qtw::solana

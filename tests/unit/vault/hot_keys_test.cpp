#include "qtw/vault/hot_keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "qtw/solana/encoding.h"

namespace qtw::vault {
namespace {

std::unique_ptr<HotKeys> fixed() {
  SecureBytes seed(kMasterSeedSize);
  for (std::size_t i = 0; i < seed.size(); ++i) seed.data()[i] = static_cast<std::uint8_t>(i);
  auto hk = HotKeys::create(std::move(seed));
  EXPECT_TRUE(hk.has_value());
  return std::move(*hk);
}

// Vectors: master seed 00 01 02 .. 1f. Computed independently with Python
// (hmac/hashlib SLIP-0010 + `cryptography` Ed25519; the same script
// reproduces SLIP-0010 ed25519 test vector 1, m/0' private key 68e0fe46..).
struct BankVector {
  std::uint32_t i;
  const char* pubkey;
};
struct ExplorerVector {
  std::uint32_t i, j;
  const char* pubkey;
};
constexpr BankVector kBanks[] = {
    {0, "9iPsPavwxhtv7m1fmSZ44CXJdf7ADthRJjKyM8d7Jwjq"},
    {1, "2SUcHTt46NZRV8cLvZjW9eFWAjtZpAu3XsRDo957xMES"},
    {7, "4JH5zeJNE8sWitryEyAJeJ4ApbhBemGYVgBxLzAZpLYJ"},
};
constexpr ExplorerVector kExplorers[] = {
    {0, 0, "78yzazqDtSok3AYCGo22hrCcTzxcZWMYH67r6u5u1wuR"},
    {0, 1, "CgwcR5DitmdiixgydBJjPZzkQKZqnxj8HVdiJDpR3EGb"},
    {1, 0, "CWdYySNygaPc5N5uSm4HoiBaVVtguC1jDduiKUgx6PPa"},
    {3, 99, "ETGEP5pBpuVw3RtXruXPzNkgtuni4oLWYQiSu3D1XWdC"},
    {0, 2147483647, "32PcV7D77hMEQA8bTePuKxTDo7p3aAVk6w7KcinYAEsy"},
};

TEST(HotKeys, BankVectors) {
  auto hk = fixed();
  for (const auto& v : kBanks) {
    auto kp = hk->bank_keypair(v.i);
    ASSERT_TRUE(kp.has_value()) << to_string(kp.error());
    EXPECT_EQ(kp->pubkey().to_base58(), v.pubkey) << "bank " << v.i;
  }
}

TEST(HotKeys, ExplorerVectors) {
  auto hk = fixed();
  for (const auto& v : kExplorers) {
    auto kp = hk->explorer_keypair(v.i, v.j);
    ASSERT_TRUE(kp.has_value()) << to_string(kp.error());
    EXPECT_EQ(kp->pubkey().to_base58(), v.pubkey) << "explorer " << v.i << "/" << v.j;
    // Cached and uncached paths agree, and the text path is the same path.
    auto again = hk->explorer_keypair(v.i, v.j);
    EXPECT_EQ(again->pubkey(), kp->pubkey());
    auto parsed = solana::parse_derivation_path(explorer_path_string(v.i, v.j));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, *explorer_path(v.i, v.j));
    auto direct = solana::slip10_derive(hk->master_seed().span(), *parsed);
    EXPECT_EQ(solana::Keypair::from_seed(direct->key.span())->pubkey(), kp->pubkey());
    // The pubkey-only path (no secret materialised in a Keypair) agrees.
    auto pk = hk->explorer_pubkey(v.i, v.j);
    ASSERT_TRUE(pk.has_value()) << to_string(pk.error());
    EXPECT_EQ(pk->to_base58(), v.pubkey);
  }
  EXPECT_EQ(*solana::parse_derivation_path(bank_path_string(7)), *bank_path(7));
}

TEST(HotKeys, KeysAreDistinctAcrossTiersAndIndexes) {
  auto hk = fixed();
  std::set<solana::Pubkey> seen;
  for (std::uint32_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(seen.insert(hk->bank_keypair(i)->pubkey()).second);
    for (std::uint32_t j = 0; j < 20; ++j) {
      EXPECT_TRUE(seen.insert(hk->explorer_keypair(i, j)->pubkey()).second);
    }
  }
}

TEST(HotKeys, RejectsBadInput) {
  EXPECT_EQ(HotKeys::create(SecureBytes(16)).error().code, ErrorCode::kInvalidArgument);
  auto hk = fixed();
  EXPECT_EQ(hk->bank_keypair(0x8000'0000u).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(hk->explorer_keypair(0, 0x8000'0000u).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(hk->explorer_keypair(0x8000'0000u, 0).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(hk->explorer_pubkey(0, 0x8000'0000u).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(hk->explorer_pubkey(0x8000'0000u, 0).error().code, ErrorCode::kInvalidArgument);
  auto parent = solana::slip10_derive(hk->master_seed().span(), std::vector<std::uint32_t>{});
  EXPECT_EQ(solana::slip10_child_pubkey(*parent, 5).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(solana::slip10_child_keypair(*parent, 5).error().code, ErrorCode::kInvalidArgument);
}

// The stack-only child keypair (one guarded allocation) is the very key the
// two-step path derives: same seed, same pubkey, same signature.
TEST(HotKeys, ChildKeypairMatchesChildThenFromSeed) {
  auto hk = fixed();
  auto parent = solana::slip10_derive(hk->master_seed().span(), *explorer_path(3, 0));
  ASSERT_TRUE(parent);
  const std::uint8_t msg[] = {1, 2, 3};
  for (std::uint32_t j : {0u, 1u, 77u, 0x7fff'ffffu}) {
    const std::uint32_t idx = j | 0x8000'0000u;
    auto fast = solana::slip10_child_keypair(*parent, idx);
    auto node = solana::slip10_child(*parent, idx);
    ASSERT_TRUE(fast && node);
    auto slow = solana::Keypair::from_seed(node->key.span());
    ASSERT_TRUE(slow);
    EXPECT_EQ(fast->pubkey(), slow->pubkey());
    EXPECT_TRUE(std::equal(fast->seed().begin(), fast->seed().end(), slow->seed().begin()));
    EXPECT_EQ(fast->sign(msg).bytes, slow->sign(msg).bytes);
    EXPECT_EQ(fast->pubkey(), *solana::slip10_child_pubkey(*parent, idx));
  }
}

TEST(HotKeys, GeneratedSeedsDiffer) {
  auto a = generate_master_seed();
  auto b = generate_master_seed();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_FALSE(a.equals(b.span()));
}

}  // namespace
}  // namespace qtw::vault

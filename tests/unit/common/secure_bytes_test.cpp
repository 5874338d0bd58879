#include "qtw/secure_bytes.h"

#include <gtest/gtest.h>

#include <array>

namespace qtw {
namespace {

TEST(SecureBytes, StartsZeroedAndCopies) {
  SecureBytes b(32);
  ASSERT_EQ(b.size(), 32u);
  for (auto c : b.span()) EXPECT_EQ(c, 0);
  std::array<std::uint8_t, 3> src{1, 2, 3};
  auto c = SecureBytes::copy_of(src);
  EXPECT_TRUE(c.equals(src));
  EXPECT_FALSE(c.equals(std::array<std::uint8_t, 3>{1, 2, 4}));
}

TEST(SecureBytes, MoveLeavesSourceEmpty) {
  auto a = SecureBytes::copy_of(std::array<std::uint8_t, 2>{7, 8});
  SecureBytes b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_EQ(b.size(), 2u);
  auto c = b.clone();
  EXPECT_TRUE(c.equals(b.span()));
  EXPECT_NE(c.data(), b.data());
}

}  // namespace
}  // namespace qtw

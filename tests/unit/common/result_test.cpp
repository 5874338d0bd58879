#include "qtw/result.h"

#include <gtest/gtest.h>

#include <set>

namespace qtw {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return make_error(ErrorCode::kInvalidArgument, "must be positive");
  return v;
}

Result<int> doubled(int v) {
  QTW_ASSIGN_OR_RETURN(int x, parse_positive(v));
  return 2 * x;
}

TEST(Result, AssignOrReturnPropagatesError) {
  EXPECT_EQ(*doubled(4), 8);
  auto bad = doubled(-1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(to_string(bad.error()), "invalid_argument: must be positive");
}

TEST(Result, ExitCodesSplitInputFromOperationalFailures) {
  EXPECT_EQ(exit_code_for(ErrorCode::kParse), 2);
  EXPECT_EQ(exit_code_for(ErrorCode::kInvalidArgument), 2);
  EXPECT_EQ(exit_code_for(ErrorCode::kTransport), 1);
  EXPECT_EQ(exit_code_for(ErrorCode::kExpired), 1);
}

TEST(Result, EveryCodeHasADistinctName) {
  std::set<std::string_view> names;
  for (int c = 0; c <= static_cast<int>(ErrorCode::kPolicyRefused); ++c) {
    names.insert(error_code_name(static_cast<ErrorCode>(c)));
  }
  EXPECT_EQ(names.size(), static_cast<std::size_t>(ErrorCode::kPolicyRefused) + 1);
}

}  // namespace
}  // namespace qtw

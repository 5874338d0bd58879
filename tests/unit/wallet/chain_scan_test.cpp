// The pure parts of qtw/wallet/chain_scan.h: the restore scan's default gap
// and how its findings read (the scan itself runs on the local node:
// tests/integration/rpc/restore_scan_test.cpp).
#include "qtw/wallet/chain_scan.h"

#include <gtest/gtest.h>

namespace qtw::wallet {
namespace {

TEST(RestoreGap, FourCyclesWorthOfCreationsAtLeastAHundred) {
  struct Case {
    std::uint32_t min_explorer_keys, explorer_keys_to_create, want;
  };
  const Case cases[] = {
      {5, 3, 100},                                         // defaults: the floor
      {25, 3, 100},                                        // 4 x 25 = 100
      {30, 8, 120},                                        // the larger of the two, times 4
      {8, 200, 800}, {4'000'000'000u, 1, 4'294'967'295u},  // saturates, never wraps
  };
  for (const auto& c : cases) {
    EXPECT_EQ(default_restore_explorer_gap(c.min_explorer_keys, c.explorer_keys_to_create), c.want)
        << c.min_explorer_keys << ", " << c.explorer_keys_to_create;
  }
}

// A balancer that fills its last funding transaction (up to 21 Explorers)
// creates up to the next multiple of 21 per cycle: the gap covers that.
TEST(RestoreGap, CoversFilledFundingTransactions) {
  EXPECT_EQ(default_restore_explorer_gap(5, 3, 21), 100u);     // 4 x 21 = 84: the floor
  EXPECT_EQ(default_restore_explorer_gap(64, 64, 21), 336u);   // 4 x 84, not 4 x 64
  EXPECT_EQ(default_restore_explorer_gap(64, 64, 0), 256u);    // no fill: as before
  EXPECT_EQ(default_restore_explorer_gap(42, 42, 21), 168u);   // already whole
  EXPECT_EQ(default_restore_explorer_gap(4'000'000'000u, 1, 21), 4'294'967'295u);
}

TEST(RestoreGap, DescribesEachBank) {
  RestoreScanReport r;
  r.gap = 100;
  RestoredBank found;
  found.bank_index = 0;
  found.first_index = 12;
  found.reserved = 26;
  found.funded = 20;
  found.retired = 5;
  found.dropped = 1;
  RestoredBank none;
  none.bank_index = 1;
  none.first_index = 8;
  r.banks = {found, none};
  const auto lines = describe_restore_scan(r);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            "bank 0: Explorers 12..37 found after the copy (20 holding lamports -> used, 5 drained "
            "-> retired, 1 never funded -> dropped)");
  EXPECT_EQ(lines[1], "bank 1: nothing at or after index 8");
}

}  // namespace
}  // namespace qtw::wallet

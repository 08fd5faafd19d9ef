#include "aztp/base/duration.h"

#include <gtest/gtest.h>

namespace aztp {
namespace {

TEST(Duration, ParsesEachUnit) {
  EXPECT_EQ(*ParseDuration("90s"), 90);
  EXPECT_EQ(*ParseDuration("15m"), 900);
  EXPECT_EQ(*ParseDuration("1h"), 3600);
  EXPECT_EQ(*ParseDuration("30d"), 30 * 86400);
}

TEST(Duration, RejectsEverythingElse) {
  for (const char* bad : {"", "s", "0s", "01h", "-1h", "+1h", "1", "1w", "1 h",
                          "1.5h", "1H", "99999999999999d", "h1"}) {
    auto r = ParseDuration(bad);
    EXPECT_FALSE(r.has_value()) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
    }
  }
}

// A zero is written with its unit, where a setting takes one; a bare
// number stays refused (issue 13: one duration syntax everywhere).
TEST(Duration, ZeroOnlyWhereAskedForAndWithItsUnit) {
  for (const char* zero : {"0s", "0m", "0h", "0d"}) {
    EXPECT_EQ(*ParseDurationOrZero(zero), 0) << zero;
    EXPECT_FALSE(ParseDuration(zero)) << zero;
  }
  EXPECT_EQ(*ParseDurationOrZero("30s"), 30);
  for (const char* bad : {"0", "00s", "0x", "", "10", "-0s"}) {
    EXPECT_FALSE(ParseDurationOrZero(bad)) << bad;
  }
}

TEST(Duration, FormatsInLargestUnit) {
  EXPECT_EQ(FormatDuration(86400 * 2), "2d");
  EXPECT_EQ(FormatDuration(7200), "2h");
  EXPECT_EQ(FormatDuration(120), "2m");
  EXPECT_EQ(FormatDuration(61), "61s");
}

}  // namespace
}  // namespace aztp

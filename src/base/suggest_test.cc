#include "aztp/base/suggest.h"

#include <gtest/gtest.h>

namespace aztp {
namespace {

TEST(Suggest, EditDistanceCountsEachKindOfEdit) {
  EXPECT_EQ(EditDistance("verify", "verify"), 0u);
  EXPECT_EQ(EditDistance("verfy", "verify"), 1u);    // a deletion
  EXPECT_EQ(EditDistance("verrify", "verify"), 1u);  // an insertion
  EXPECT_EQ(EditDistance("verifx", "verify"), 1u);   // a substitution
  EXPECT_EQ(EditDistance("verfiy", "verify"), 1u);   // two bytes swapped
  EXPECT_EQ(EditDistance("", "deny"), 4u);
  EXPECT_EQ(EditDistance("deny", ""), 4u);
  EXPECT_EQ(EditDistance("denied", "deny"), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("ab", "ba"), 1u);
  EXPECT_EQ(EditDistance("abc", "ca"), 3u);  // no edit of a swapped pair
}

TEST(Suggest, NearestIsTheClosestWithinTheLimit) {
  const std::vector<std::string> commands = {"issue", "verify"};
  EXPECT_EQ(Nearest("verfy", commands, 1), "verify");
  EXPECT_EQ(Nearest("isue", commands, 1), "issue");
  EXPECT_EQ(Nearest("frobnicate", commands, 2), std::nullopt);
  EXPECT_EQ(Nearest("anything", {}, 100), std::nullopt);
  // The first of equals wins, so that the answer does not depend on
  // anything but the list.
  EXPECT_EQ(Nearest("ab", {"aa", "bb"}, 1), "aa");
  EXPECT_EQ(Nearest("proxy", {"identity.", "proxy."}, 10), "proxy.");
}

TEST(Suggest, TypoDistanceGrowsWithTheWord) {
  EXPECT_EQ(TypoDistance(""), 1u);
  EXPECT_EQ(TypoDistance("ls"), 1u);
  EXPECT_EQ(TypoDistance("svd"), 1u);
  EXPECT_EQ(TypoDistance("verfy"), 2u);
  EXPECT_EQ(TypoDistance("set-federaton"), 5u);
}

TEST(Suggest, JoinWordsReadsAsAList) {
  EXPECT_EQ(JoinWords({}), "");
  EXPECT_EQ(JoinWords({"allow"}), "allow");
  EXPECT_EQ(JoinWords({"allow", "deny"}), "allow or deny");
  EXPECT_EQ(JoinWords({"allow", "deny", "audit"}), "allow, deny or audit");
}

}  // namespace
}  // namespace aztp

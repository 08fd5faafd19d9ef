// Percent-encoding and forms: one encoder, one decoder (http/form.h).
#include "aztp/http/form.h"

#include <gtest/gtest.h>

namespace aztp::http {
namespace {

TEST(Form, EncodesAllButUnreserved) {
  EXPECT_EQ(PercentEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(PercentEncode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
  EXPECT_EQ(PercentEncode(std::string("\0+", 2)), "%00%2B");
}

TEST(Form, DecodesEscapesAndPlus) {
  EXPECT_EQ(PercentDecode("a%20b+c%2b%C3%A9"), "a b c+é");
  for (const char* bad : {"%", "%2", "%zz", "a%g0"}) {
    EXPECT_FALSE(PercentDecode(bad).has_value()) << bad;
  }
}

TEST(Form, RoundTripsPairsInOrder) {
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"b", "2"}, {"a b", "x&y=z"}, {"empty", ""}};
  const std::string text = FormEncode(pairs);
  EXPECT_EQ(text, "b=2&a%20b=x%26y%3Dz&empty=");
  std::map<std::string, std::string> back;
  ASSERT_TRUE(ParseForm(text, back));
  EXPECT_EQ(back, (std::map<std::string, std::string>{
                      {"b", "2"}, {"a b", "x&y=z"}, {"empty", ""}}));
}

TEST(Form, ParsesTheWayQueriesAreWritten) {
  std::map<std::string, std::string> q;
  ASSERT_TRUE(ParseForm("a=1&&a=2&flag&=v", q));
  EXPECT_EQ(q, (std::map<std::string, std::string>{
                   {"a", "2"}, {"flag", ""}, {"", "v"}}));
  EXPECT_FALSE(ParseForm("a=%zz", q));
}

TEST(Form, WithQueryAppendsToAnyQuery) {
  EXPECT_EQ(WithQuery("https://a.example/cb", {{"state", "s t"}}),
            "https://a.example/cb?state=s%20t");
  EXPECT_EQ(WithQuery("https://a.example/cb?from=x", {{"a", "&"}}),
            "https://a.example/cb?from=x&a=%26");
}

// RFC 6749 §3.1: an OAuth parameter sent twice is refused, even when an
// escape hides the repeat.
TEST(Form, OAuthParametersComeOnce) {
  std::map<std::string, std::string> q;
  EXPECT_TRUE(ParseFormOnce("grant_type=x&scope=a%20b", q));
  EXPECT_EQ(q["scope"], "a b");
  for (const char* twice : {"scope=a&scope=b", "scope=a&sc%6Fpe=b", "a&a"}) {
    std::map<std::string, std::string> r;
    EXPECT_FALSE(ParseFormOnce(twice, r)) << twice;
  }
}

}  // namespace
}  // namespace aztp::http

#include "aztp/encoding/json.h"

#include <gtest/gtest.h>

namespace aztp {
namespace {

TEST(Json, ParsesObjectsInOrder) {
  auto v = ParseJson(R"({"b":1,"a":[true,null,"x"],"c":{"d":-2}})");
  ASSERT_TRUE(v.has_value()) << v.error().message();
  EXPECT_EQ(DumpJson(*v), R"({"b":1,"a":[true,null,"x"],"c":{"d":-2}})");
}

TEST(Json, RejectsDuplicateMembersAtAnyDepth) {
  auto top = ParseJson(R"({"a":1,"a":2})");
  ASSERT_FALSE(top.has_value());
  EXPECT_EQ(top.error().code(), Code::kMalformed);
  EXPECT_NE(top.error().message().find("duplicate"), std::string::npos);
  EXPECT_FALSE(ParseJson(R"({"x":{"k":1,"k":1}})").has_value());
  EXPECT_FALSE(ParseJson(R"([{"k":1},{"k":1,"j":0,"k":2}])").has_value());
  // The same name in sibling objects is fine.
  EXPECT_TRUE(ParseJson(R"([{"k":1},{"k":2}])").has_value());
  // Escapes that decode to the same name are duplicates too.
  EXPECT_FALSE(ParseJson(R"({"a":1,"\u0061":2})").has_value());
}

TEST(Json, RejectsInvalidUtf8AndLoneSurrogates) {
  EXPECT_FALSE(ParseJson("\"\xff\"").has_value());
  EXPECT_FALSE(ParseJson("\"\xc0\xaf\"").has_value());      // overlong
  EXPECT_FALSE(ParseJson("\"\xed\xa0\x80\"").has_value());  // surrogate
  EXPECT_FALSE(ParseJson(R"("\ud800")").has_value());
  EXPECT_FALSE(ParseJson(R"("\udc00\ud800")").has_value());
  EXPECT_TRUE(ParseJson(R"("\ud83d\ude00")").has_value());
  EXPECT_TRUE(ParseJson("\"\xc3\xa9\"").has_value());
}

TEST(Json, RejectsBomTrailingDataAndNonJson) {
  EXPECT_FALSE(ParseJson("\xEF\xBB\xBF{}").has_value());
  EXPECT_FALSE(ParseJson("{} {}").has_value());
  EXPECT_FALSE(ParseJson("{}x").has_value());
  EXPECT_FALSE(ParseJson("").has_value());
  EXPECT_FALSE(ParseJson("{'a':1}").has_value());
  EXPECT_FALSE(ParseJson("[1,]").has_value());
  EXPECT_FALSE(ParseJson("NaN").has_value());
  EXPECT_FALSE(ParseJson("01").has_value());
  EXPECT_FALSE(ParseJson("/* c */ {}").has_value());
  EXPECT_TRUE(ParseJson(" {}\n").has_value());
}

TEST(Json, EnforcesDepthAndSizeLimits) {
  std::string deep(33, '[');
  deep += std::string(33, ']');
  auto r = ParseJson(deep);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kTooLarge);
  std::string ok(32, '[');
  ok += std::string(32, ']');
  EXPECT_TRUE(ParseJson(ok).has_value());
  JsonLimits small;
  small.max_bytes = 8;
  EXPECT_EQ(ParseJson("[1,2,3,4,5]", small).error().code(), Code::kTooLarge);
}

TEST(Json, TypedAccessors) {
  auto v = *ParseJson(R"({"s":"x","i":7,"f":1.5,"u":18446744073709551615})");
  EXPECT_EQ(*GetString(v, "s"), "x");
  EXPECT_EQ(*GetInt(v, "i"), 7);
  EXPECT_FALSE(GetInt(v, "f").has_value());
  EXPECT_FALSE(GetInt(v, "u").has_value());
  EXPECT_FALSE(GetString(v, "i").has_value());
  EXPECT_FALSE(GetString(v, "missing").has_value());
  EXPECT_FALSE(GetOptionalString(v, "missing")->has_value());
  EXPECT_FALSE(GetOptionalInt(v, "s").has_value());
}

}  // namespace
}  // namespace aztp

namespace aztp {
namespace {

TEST(Json, ErrorsNeverEchoTheInput) {
  std::string doc = "\"" + std::string(5000, 'S') + "\x01\"";
  auto r = ParseJson(doc);
  ASSERT_FALSE(r.has_value());
  EXPECT_LT(r.error().message().size(), 200u);
  EXPECT_EQ(r.error().message().find("SSSS"), std::string::npos);
}

}  // namespace
}  // namespace aztp

namespace aztp {
namespace {

TEST(Json, RejectsDuplicatesInLargeObjects) {
  std::string doc = "{";
  for (int i = 0; i < 40; ++i)
    doc += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  std::string ok = doc + "\"last\":0}";
  EXPECT_TRUE(ParseJson(ok).has_value());
  for (int dup : {0, 15, 16, 17, 39}) {
    std::string bad = doc + "\"k" + std::to_string(dup) + "\":0}";
    EXPECT_FALSE(ParseJson(bad).has_value()) << dup;
  }
}

}  // namespace
}  // namespace aztp

#include "aztp/chain/capability.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

namespace aztp {
namespace {

Capability Cap(const char* text) { return *Capability::Parse(text); }

CapabilitySet Set(const std::vector<std::string>& items) {
  auto set = CapabilitySet::FromStrings(items);
  EXPECT_TRUE(set.has_value()) << set.error().message();
  return *set;
}

TEST(CapabilityTest, ParsesValidCapabilities) {
  for (const char* ok :
       {"calendar", "calendar:read", "payments:refund:eur", "*", "payments:*",
        "a:b:c:*", "A-Z.a_z-09", "x.y:z_w-v", "-", "..", "a:.:b"}) {
    auto c = Capability::Parse(ok);
    ASSERT_TRUE(c.has_value()) << ok << ": " << c.error().message();
    EXPECT_EQ(c->str(), ok);
  }
  EXPECT_TRUE(Cap("payments:*").IsWildcard());
  EXPECT_TRUE(Cap("*").IsWildcard());
  EXPECT_FALSE(Cap("payments").IsWildcard());
}

TEST(CapabilityTest, RejectsMalformedCapabilities) {
  for (const char* bad :
       {"",     ":",           "a:",   ":a",    "a::b", "*:a",  "a:*:b",
        "a*",   "a:b*",        "*a",   "a:**",  "**",   "a b",  "a/b",
        "a:b:", "caf\xc3\xa9", "a\nb", "a:*:*", "a,b",  "\"a\""}) {
    auto c = Capability::Parse(bad);
    ASSERT_FALSE(c.has_value()) << bad;
    EXPECT_EQ(c.error().code(), Code::kMalformed) << bad;
  }
}

TEST(CapabilityTest, EnforcesLengthLimit) {
  std::string max(256, 'a');
  EXPECT_TRUE(Capability::Parse(max).has_value());
  std::string too_long(257, 'a');
  auto c = Capability::Parse(too_long);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code(), Code::kTooLarge);
  // Messages repeat a bounded, escaped prefix of the input only.
  EXPECT_LT(c.error().message().size(), 200u);
}

TEST(CapabilityTest, ErrorMessagesEscapeInput) {
  auto c = Capability::Parse(std::string("a\x01:b", 4));
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message().find("\\x01"), std::string::npos)
      << c.error().message();
}

TEST(CapabilityTest, CoverageRules) {
  struct Case {
    const char* parent;
    const char* child;
    bool covers;
  };
  const Case cases[] = {
      // Equality.
      {"calendar:read", "calendar:read", true},
      {"payments", "payments", true},
      {"payments:*", "payments:*", true},
      {"*", "*", true},
      // `*` covers everything.
      {"*", "payments", true},
      {"*", "payments:refund:eur", true},
      {"*", "payments:*", true},
      // `p:*` covers one or more further segments.
      {"payments:*", "payments:refund", true},
      {"payments:*", "payments:refund:eur", true},
      {"payments:*", "payments:x:*", true},
      {"a:b:*", "a:b:c:d:e", true},
      // ... but not `p` itself, nor siblings, nor wider wildcards.
      {"payments:*", "payments", false},
      {"payments:*", "paymentsx:refund", false},
      {"payments:*", "payment:refund", false},
      {"payments:*", "*", false},
      {"payments:refund:*", "payments:*", false},
      {"payments:refund:*", "payments:refund", false},
      {"payments:refund:*", "payments:refunds:eur", false},
      // No wildcard means exact only.
      {"payments", "payments:refund", false},
      {"payments:refund", "payments", false},
      {"payments:refund", "payments:*", false},
      {"calendar:read", "calendar:write", false},
      // Case matters.
      {"Payments:*", "payments:refund", false},
      {"a:*", "A:b", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Cap(c.parent).Covers(Cap(c.child)), c.covers)
        << c.parent << " covers " << c.child;
  }
}

TEST(CapabilityTest, CoverageIsReflexiveAndTransitive) {
  const std::vector<const char*> all = {"*",     "a",   "a:*", "a:b", "a:b:*",
                                        "a:b:c", "a:c", "b:*", "b",   "ab:*"};
  for (const char* x : all) {
    EXPECT_TRUE(Cap(x).Covers(Cap(x))) << x;
    for (const char* y : all) {
      if (Cap(x).Covers(Cap(y)) && Cap(y).Covers(Cap(x))) {
        EXPECT_EQ(Cap(x), Cap(y)) << x << " " << y;
      }
      for (const char* z : all) {
        if (Cap(x).Covers(Cap(y)) && Cap(y).Covers(Cap(z))) {
          EXPECT_TRUE(Cap(x).Covers(Cap(z))) << x << " " << y << " " << z;
        }
      }
    }
  }
}

TEST(CapabilityTest, IsAnOrderedHashableValue) {
  EXPECT_EQ(Cap("a:b"), Cap("a:b"));
  EXPECT_NE(Cap("a:b"), Cap("a:c"));
  EXPECT_LT(Cap("a:b"), Cap("a:c"));
  std::set<Capability> ordered = {Cap("b"), Cap("a"), Cap("a")};
  EXPECT_EQ(ordered.size(), 2u);
  EXPECT_EQ(ordered.begin()->str(), "a");
  std::unordered_set<Capability> hashed = {Cap("x"), Cap("x"), Cap("y")};
  EXPECT_EQ(hashed.size(), 2u);
}

TEST(CapabilitySetTest, ParsesJsonArraysInOrder) {
  auto set = CapabilitySet::FromJson(
      Json::parse(R"(["payments:*", "calendar:read", "*"])"));
  ASSERT_TRUE(set.has_value()) << set.error().message();
  ASSERT_EQ(set->size(), 3u);
  EXPECT_EQ(set->items()[0].str(), "payments:*");
  EXPECT_EQ(set->Strings(),
            (std::vector<std::string>{"payments:*", "calendar:read", "*"}));
  EXPECT_EQ(set->ToJson(),
            Json::parse(R"(["payments:*","calendar:read","*"])"));
  auto back = CapabilitySet::FromJson(set->ToJson());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, *set);
}

TEST(CapabilitySetTest, AcceptsEmptySet) {
  auto set = CapabilitySet::FromJson(Json::array());
  ASSERT_TRUE(set.has_value());
  EXPECT_TRUE(set->empty());
  EXPECT_EQ(set->ToJson(), Json::array());
  EXPECT_FALSE(set->Covers(Cap("a")));
  EXPECT_EQ(*set, CapabilitySet());
}

TEST(CapabilitySetTest, RejectsMalformedJson) {
  for (const char* bad :
       {R"({})", R"("a")", R"(null)", R"([1])", R"(["a", null])",
        R"(["a", "a"])", R"(["a:*", "b", "a:*"])", R"([""])", R"(["a:"])",
        R"([["a"]])"}) {
    auto set = CapabilitySet::FromJson(Json::parse(bad));
    ASSERT_FALSE(set.has_value()) << bad;
    EXPECT_EQ(set.error().code(), Code::kMalformed) << bad;
  }
}

TEST(CapabilitySetTest, EnforcesCountLimit) {
  std::vector<std::string> items;
  for (int i = 0; i < 64; ++i) items.push_back("c" + std::to_string(i));
  EXPECT_TRUE(CapabilitySet::FromStrings(items).has_value());
  items.push_back("c64");
  auto set = CapabilitySet::FromStrings(items);
  ASSERT_FALSE(set.has_value());
  EXPECT_EQ(set.error().code(), Code::kTooLarge);
  Json array = Json::array();
  for (const auto& s : items) array.push_back(s);
  auto from_json = CapabilitySet::FromJson(array);
  ASSERT_FALSE(from_json.has_value());
  EXPECT_EQ(from_json.error().code(), Code::kTooLarge);
  auto long_item = CapabilitySet::FromStrings({std::string(300, 'a')});
  ASSERT_FALSE(long_item.has_value());
  EXPECT_EQ(long_item.error().code(), Code::kTooLarge);
}

TEST(CapabilitySetTest, ErrorsNameTheItem) {
  auto set = CapabilitySet::FromStrings({"a", "b", "c::d"});
  ASSERT_FALSE(set.has_value());
  EXPECT_NE(set.error().message().find("cap[2]"), std::string::npos)
      << set.error().message();
  auto dup = CapabilitySet::FromStrings({"a", "b", "a"});
  ASSERT_FALSE(dup.has_value());
  EXPECT_NE(dup.error().message().find("duplicate"), std::string::npos);
}

TEST(CapabilitySetTest, CoversIfAnyMemberCovers) {
  CapabilitySet set = Set({"calendar:read", "payments:refund:*"});
  EXPECT_TRUE(set.Covers(Cap("calendar:read")));
  EXPECT_TRUE(set.Covers(Cap("payments:refund:eur")));
  EXPECT_FALSE(set.Covers(Cap("payments:refund")));
  EXPECT_FALSE(set.Covers(Cap("calendar:write")));
  EXPECT_TRUE(Set({"*"}).Covers(Cap("anything:at:all")));
}

TEST(CapabilitySetTest, AttenuationChecks) {
  struct Case {
    std::vector<std::string> parent;
    std::vector<std::string> child;
    std::optional<std::string> first_uncovered;
  };
  const std::vector<Case> cases = {
      {{"payments:*"}, {"payments:refund:eur"}, std::nullopt},
      {{"payments:*"}, {"payments:refund", "payments:x:*"}, std::nullopt},
      {{"payments:*", "calendar:read"}, {"calendar:read"}, std::nullopt},
      {{"*"}, {"a", "b:*", "*"}, std::nullopt},
      {{"a", "b"}, {"b", "a"}, std::nullopt},
      {{"a"}, {}, std::nullopt},
      {{}, {}, std::nullopt},
      {{}, {"a"}, "a"},
      {{"payments:refund:*"},
       {"payments:refund:eur", "payments:*"},
       "payments:*"},
      {{"payments:*"}, {"payments"}, "payments"},
      {{"calendar:read"},
       {"calendar:read", "calendar:write", "mail:send"},
       "calendar:write"},
      {{"a:*"}, {"*"}, "*"},
  };
  for (const auto& c : cases) {
    auto got = Set(c.parent).FirstUncovered(Set(c.child));
    if (c.first_uncovered) {
      ASSERT_TRUE(got.has_value());
      EXPECT_EQ(got->str(), *c.first_uncovered);
    } else {
      EXPECT_FALSE(got.has_value()) << got->str();
    }
  }
}

}  // namespace
}  // namespace aztp

#include "aztp/chain/constraints.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace aztp {
namespace {

SpiffeId Id(const char* s) { return *SpiffeId::Parse(s); }

AudiencePattern Pat(const char* s) {
  auto p = AudiencePattern::Parse(s);
  EXPECT_TRUE(p.has_value()) << s << ": " << p.error().message();
  return *p;
}

Constraints Cns(const char* json) {
  auto c = Constraints::FromJson(Json::parse(json));
  EXPECT_TRUE(c.has_value()) << json << ": " << c.error().message();
  return c.has_value() ? *c : Constraints();
}

TEST(AudiencePatternTest, ParsesExactAndPrefixPatterns) {
  auto exact = AudiencePattern::Parse("spiffe://example.org/tools/db");
  ASSERT_TRUE(exact.has_value());
  EXPECT_FALSE(exact->IsPrefix());
  EXPECT_EQ(exact->str(), "spiffe://example.org/tools/db");
  EXPECT_EQ(exact->base(), Id("spiffe://example.org/tools/db"));

  auto prefix = AudiencePattern::Parse("spiffe://example.org/tools/*");
  ASSERT_TRUE(prefix.has_value());
  EXPECT_TRUE(prefix->IsPrefix());
  EXPECT_EQ(prefix->str(), "spiffe://example.org/tools/*");
  EXPECT_EQ(prefix->base(), Id("spiffe://example.org/tools"));

  auto domain = AudiencePattern::Parse("spiffe://example.org/*");
  ASSERT_TRUE(domain.has_value());
  EXPECT_EQ(domain->base(), Id("spiffe://example.org"));
  EXPECT_EQ(AudiencePattern::Below(Id("spiffe://example.org")), *domain);
  EXPECT_EQ(AudiencePattern::Exact(Id("spiffe://example.org/tools/db")),
            *exact);
}

TEST(AudiencePatternTest, RejectsBadPatterns) {
  for (const char* bad :
       {"", "*", "/*", "spiffe://*", "spiffe:///*", "spiffe://example.org/",
        "spiffe://example.org//*", "spiffe://example.org/a*",
        "spiffe://example.org/a/*/*", "spiffe://example.org/*/a",
        "spiffe://example.org/a/**", "spiffe://Example.org/a",
        "aztp://example.org/a", "example.org/a", "spiffe://example.org/a/./*",
        "spiffe://example.org/a?x=1"}) {
    auto p = AudiencePattern::Parse(bad);
    ASSERT_FALSE(p.has_value()) << bad;
    EXPECT_EQ(p.error().code(), Code::kMalformed) << bad;
  }
}

TEST(AudiencePatternTest, MatchRules) {
  struct Case {
    const char* pattern;
    const char* id;
    bool matches;
  };
  const Case cases[] = {
      {"spiffe://td/a", "spiffe://td/a", true},
      {"spiffe://td/a", "spiffe://td/a/x", false},
      {"spiffe://td/a", "spiffe://td/ab", false},
      {"spiffe://td/a", "spiffe://other/a", false},
      {"spiffe://td/a/*", "spiffe://td/a/x", true},
      {"spiffe://td/a/*", "spiffe://td/a/x/y", true},
      {"spiffe://td/a/*", "spiffe://td/a", false},
      {"spiffe://td/a/*", "spiffe://td/ab", false},
      {"spiffe://td/a/*", "spiffe://td/ab/x", false},
      {"spiffe://td/a/*", "spiffe://td/b/x", false},
      {"spiffe://td/a/*", "spiffe://other/a/x", false},
      {"spiffe://td/a/b/*", "spiffe://td/a/b/c", true},
      {"spiffe://td/a/b/*", "spiffe://td/a/c/d", false},
      {"spiffe://td/*", "spiffe://td/x", true},
      {"spiffe://td/*", "spiffe://td/x/y/z", true},
      {"spiffe://td/*", "spiffe://td", false},
      {"spiffe://td/*", "spiffe://tdx/x", false},
      {"spiffe://td/*", "spiffe://td.org/x", false},
      {"spiffe://td", "spiffe://td", true},
      {"spiffe://td", "spiffe://td/x", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Pat(c.pattern).Matches(Id(c.id)), c.matches)
        << c.pattern << " matches " << c.id;
  }
}

TEST(AudiencePatternTest, CoverageRules) {
  struct Case {
    const char* wider;
    const char* narrower;
    bool covers;
  };
  const Case cases[] = {
      // Exact patterns cover themselves only.
      {"spiffe://td/a", "spiffe://td/a", true},
      {"spiffe://td/a", "spiffe://td/b", false},
      {"spiffe://td/a", "spiffe://td/a/*", false},
      {"spiffe://td/a", "spiffe://td/a/x", false},
      // A prefix covers exact IDs below it.
      {"spiffe://td/a/*", "spiffe://td/a/x", true},
      {"spiffe://td/a/*", "spiffe://td/a/x/y", true},
      {"spiffe://td/a/*", "spiffe://td/a", false},
      {"spiffe://td/a/*", "spiffe://td/ab", false},
      // A prefix covers itself and prefixes below it.
      {"spiffe://td/a/*", "spiffe://td/a/*", true},
      {"spiffe://td/a/*", "spiffe://td/a/x/*", true},
      {"spiffe://td/*", "spiffe://td/a/*", true},
      {"spiffe://td/*", "spiffe://td/a/b/c/*", true},
      // ... but not wider or sibling prefixes.
      {"spiffe://td/a/*", "spiffe://td/*", false},
      {"spiffe://td/a/x/*", "spiffe://td/a/*", false},
      {"spiffe://td/a/*", "spiffe://td/ab/*", false},
      {"spiffe://td/a/*", "spiffe://td/b/*", false},
      {"spiffe://td/*", "spiffe://other/*", false},
      {"spiffe://td/*", "spiffe://other/a", false},
      {"spiffe://td/*", "spiffe://td", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Pat(c.wider).Covers(Pat(c.narrower)), c.covers)
        << c.wider << " covers " << c.narrower;
  }
}

TEST(AudiencePatternTest, CoverageAgreesWithMatching) {
  // Whenever a pattern covers another, every sample ID the narrower one
  // matches is matched by the wider one.
  const std::vector<const char*> patterns = {
      "spiffe://td/*",     "spiffe://td/a/*",   "spiffe://td/a",
      "spiffe://td/a/b/*", "spiffe://td/a/b",   "spiffe://td/ab/*",
      "spiffe://td",       "spiffe://other/a/*"};
  const std::vector<const char*> ids = {
      "spiffe://td",       "spiffe://td/a",     "spiffe://td/a/b",
      "spiffe://td/a/b/c", "spiffe://td/ab",    "spiffe://td/ab/c",
      "spiffe://td/b",     "spiffe://other/a/x"};
  for (const char* w : patterns) {
    for (const char* n : patterns) {
      if (!Pat(w).Covers(Pat(n))) continue;
      for (const char* id : ids) {
        if (Pat(n).Matches(Id(id))) {
          EXPECT_TRUE(Pat(w).Matches(Id(id))) << w << " " << n << " " << id;
        }
      }
    }
  }
}

TEST(ConstraintsTest, ParsesAndRoundTrips) {
  const char* json =
      R"({"tds":["example.org","partner.net"],)"
      R"("auds":["spiffe://example.org/tools/*","spiffe://partner.net/api"]})";
  Constraints c = Cns(json);
  EXPECT_FALSE(c.empty());
  ASSERT_TRUE(c.tds().has_value());
  EXPECT_EQ(c.tds()->size(), 2u);
  EXPECT_EQ((*c.tds())[1].name(), "partner.net");
  ASSERT_TRUE(c.auds().has_value());
  EXPECT_TRUE((*c.auds())[0].IsPrefix());
  EXPECT_EQ(c.ToJson(), Json::parse(json));
  auto back = Constraints::FromJson(c.ToJson());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, c);
}

TEST(ConstraintsTest, OmitsAbsentMembers) {
  Constraints none = Cns("{}");
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none, Constraints());
  EXPECT_EQ(none.ToJson(), Json::object());
  Constraints only_tds = Cns(R"({"tds":["example.org"]})");
  EXPECT_FALSE(only_tds.auds().has_value());
  EXPECT_EQ(only_tds.ToJson(), Json::parse(R"({"tds":["example.org"]})"));
  Constraints only_auds = Cns(R"({"auds":["spiffe://example.org/a"]})");
  EXPECT_FALSE(only_auds.tds().has_value());
  EXPECT_FALSE(only_auds.ToJson().contains("tds"));
}

TEST(ConstraintsTest, RejectsMalformedDocuments) {
  for (
      const char* bad : {
          R"([])",
          R"("tds")",
          R"(null)",
          R"({"tds":"example.org"})",
          R"({"tds":[]})",
          R"({"auds":[]})",
          R"({"tds":[1]})",
          R"({"tds":["Example.org"]})",
          R"({"tds":["spiffe://example.org"]})",
          R"({"tds":["example.org/a"]})",
          R"({"tds":["example.org","example.org"]})",
          R"({"auds":"spiffe://example.org/a"})",
          R"({"auds":["spiffe://example.org/a","spiffe://example.org/a"]})",
          R"({"auds":["spiffe://example.org/a/*","spiffe://example.org/a/*"]})",
          R"({"auds":["*"]})",
          R"({"auds":["spiffe://example.org/a*"]})",
          R"({"auds":[null]})",
          R"({"tds":["example.org"],"extra":1})",
          R"({"aud":["spiffe://example.org/a"]})",
          R"({"tds":null})",
      }) {
    auto c = Constraints::FromJson(Json::parse(bad));
    ASSERT_FALSE(c.has_value()) << bad;
    EXPECT_EQ(c.error().code(), Code::kMalformed) << bad;
  }
}

TEST(ConstraintsTest, AcceptsExactAndPrefixOfSameBase) {
  // `spiffe://td/a` and `spiffe://td/a/*` are different patterns.
  Constraints c =
      Cns(R"({"auds":["spiffe://example.org/a","spiffe://example.org/a/*"]})");
  EXPECT_EQ(c.auds()->size(), 2u);
}

TEST(ConstraintsTest, EnforcesCountLimits) {
  Json tds = Json::array();
  Json auds = Json::array();
  for (int i = 0; i < 32; ++i) {
    tds.push_back("td" + std::to_string(i) + ".org");
    auds.push_back("spiffe://example.org/a" + std::to_string(i));
  }
  EXPECT_TRUE(Constraints::FromJson({{"tds", tds}, {"auds", auds}}));
  tds.push_back("td32.org");
  auds.push_back("spiffe://example.org/a32");
  for (const Json& doc : {Json{{"tds", tds}}, Json{{"auds", auds}}}) {
    auto c = Constraints::FromJson(doc);
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().code(), Code::kTooLarge);
  }
}

TEST(ConstraintsTest, CreateValidatesLikeFromJson) {
  auto ok = Constraints::Create(
      std::vector<TrustDomain>{*TrustDomain::Parse("example.org")},
      std::vector<AudiencePattern>{Pat("spiffe://example.org/*")});
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, Cns(R"({"tds":["example.org"],
                         "auds":["spiffe://example.org/*"]})"));
  auto empty = Constraints::Create(std::vector<TrustDomain>{}, std::nullopt);
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code(), Code::kMalformed);
  auto dup = Constraints::Create(
      std::nullopt,
      std::vector<AudiencePattern>{Pat("spiffe://td/a"), Pat("spiffe://td/a")});
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code(), Code::kMalformed);
  auto none = Constraints::Create(std::nullopt, std::nullopt);
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
}

TEST(ConstraintsTest, PermitRules) {
  struct Case {
    const char* cns;
    const char* iss;
    const char* aud;
    bool permitted;
    const char* rule;  // substring of the message when refused
  };
  const Case cases[] = {
      // No constraints permit everything.
      {"{}", "spiffe://a.org/x", "spiffe://b.org/y", true, ""},
      // tds: both iss and aud must be in a listed domain.
      {R"({"tds":["a.org"]})", "spiffe://a.org/x", "spiffe://a.org/y", true,
       ""},
      {R"({"tds":["a.org","b.org"]})", "spiffe://a.org/x", "spiffe://b.org/y",
       true, ""},
      {R"({"tds":["a.org"]})", "spiffe://a.org/x", "spiffe://b.org/y", false,
       "cns.tds: audience"},
      {R"({"tds":["a.org"]})", "spiffe://b.org/x", "spiffe://a.org/y", false,
       "cns.tds: issuer"},
      {R"({"tds":["a.org"]})", "spiffe://a.org.evil/x", "spiffe://a.org/y",
       false, "cns.tds: issuer"},
      // auds: aud must match one pattern; iss is not checked by auds.
      {R"({"auds":["spiffe://a.org/tools/*"]})", "spiffe://z.org/x",
       "spiffe://a.org/tools/db", true, ""},
      {R"({"auds":["spiffe://a.org/tools/*"]})", "spiffe://a.org/x",
       "spiffe://a.org/tools", false, "cns.auds"},
      {R"({"auds":["spiffe://a.org/tools/*"]})", "spiffe://a.org/x",
       "spiffe://a.org/toolsx/db", false, "cns.auds"},
      {R"({"auds":["spiffe://a.org/db","spiffe://a.org/tools/*"]})",
       "spiffe://a.org/x", "spiffe://a.org/db", true, ""},
      {R"({"auds":["spiffe://a.org/db"]})", "spiffe://a.org/x",
       "spiffe://a.org/db/replica", false, "cns.auds"},
      // Both members must hold.
      {R"({"tds":["a.org"],"auds":["spiffe://b.org/*"]})", "spiffe://a.org/x",
       "spiffe://b.org/y", false, "cns.tds"},
      {R"({"tds":["a.org","b.org"],"auds":["spiffe://b.org/*"]})",
       "spiffe://a.org/x", "spiffe://b.org/y", true, ""},
      {R"({"tds":["a.org","b.org"],"auds":["spiffe://b.org/*"]})",
       "spiffe://a.org/x", "spiffe://a.org/y", false, "cns.auds"},
  };
  for (const auto& c : cases) {
    Status s = Cns(c.cns).Permits(Id(c.iss), Id(c.aud));
    EXPECT_EQ(s.has_value(), c.permitted)
        << c.cns << " " << c.iss << " -> " << c.aud;
    if (!s.has_value()) {
      EXPECT_EQ(s.error().code(), Code::kConstraintViolation);
      EXPECT_NE(s.error().message().find(c.rule), std::string::npos)
          << s.error().message();
    }
  }
}

TEST(ConstraintsTest, NarrowingRules) {
  struct Case {
    const char* earlier;
    const char* later;
    bool ok;
    const char* rule;  // substring of the message when refused
  };
  const Case cases[] = {
      // Nothing to keep: anything may be added.
      {"{}", "{}", true, ""},
      {"{}", R"({"tds":["a.org"]})", true, ""},
      {"{}", R"({"auds":["spiffe://a.org/*"]})", true, ""},
      // Repeating is fine, in any order.
      {R"({"tds":["a.org","b.org"]})", R"({"tds":["b.org","a.org"]})", true,
       ""},
      // Narrowing tds to a subset is fine.
      {R"({"tds":["a.org","b.org"]})", R"({"tds":["a.org"]})", true, ""},
      // Widening or dropping tds is not.
      {R"({"tds":["a.org"]})", R"({"tds":["a.org","b.org"]})", false,
       "cns.tds: widened"},
      {R"({"tds":["a.org"]})", R"({"tds":["b.org"]})", false,
       "cns.tds: widened"},
      {R"({"tds":["a.org"]})", "{}", false, "cns.tds: dropped"},
      {R"({"tds":["a.org"]})", R"({"auds":["spiffe://a.org/x"]})", false,
       "cns.tds: dropped"},
      // Adding auds next to kept tds is fine.
      {R"({"tds":["a.org"]})",
       R"({"tds":["a.org"],"auds":["spiffe://a.org/x"]})", true, ""},
      // auds: narrower patterns are fine.
      {R"({"auds":["spiffe://a.org/*"]})", R"({"auds":["spiffe://a.org/x/*"]})",
       true, ""},
      {R"({"auds":["spiffe://a.org/*"]})", R"({"auds":["spiffe://a.org/x"]})",
       true, ""},
      {R"({"auds":["spiffe://a.org/x/*","spiffe://b.org/y"]})",
       R"({"auds":["spiffe://b.org/y","spiffe://a.org/x/z"]})", true, ""},
      {R"({"auds":["spiffe://a.org/x"]})", R"({"auds":["spiffe://a.org/x"]})",
       true, ""},
      // auds: wider, sibling or extra patterns are not.
      {R"({"auds":["spiffe://a.org/x/*"]})", R"({"auds":["spiffe://a.org/*"]})",
       false, "cns.auds: widened"},
      {R"({"auds":["spiffe://a.org/x"]})", R"({"auds":["spiffe://a.org/x/*"]})",
       false, "cns.auds: widened"},
      {R"({"auds":["spiffe://a.org/x/*"]})", R"({"auds":["spiffe://a.org/x"]})",
       false, "cns.auds: widened"},
      {R"({"auds":["spiffe://a.org/x/*"]})",
       R"({"auds":["spiffe://a.org/x/y","spiffe://a.org/z"]})", false,
       "cns.auds: widened"},
      {R"({"auds":["spiffe://a.org/x"]})", R"({"tds":["a.org"]})", false,
       "cns.auds: dropped"},
      // Both members are checked.
      {R"({"tds":["a.org"],"auds":["spiffe://a.org/*"]})",
       R"({"tds":["a.org"],"auds":["spiffe://a.org/x"]})", true, ""},
      {R"({"tds":["a.org"],"auds":["spiffe://a.org/*"]})",
       R"({"tds":["a.org"]})", false, "cns.auds: dropped"},
  };
  for (const auto& c : cases) {
    Status s = Cns(c.earlier).CheckNarrowing(Cns(c.later));
    EXPECT_EQ(s.has_value(), c.ok) << c.earlier << " -> " << c.later;
    if (!s.has_value()) {
      EXPECT_EQ(s.error().code(), Code::kConstraintViolation);
      EXPECT_NE(s.error().message().find(c.rule), std::string::npos)
          << s.error().message();
    }
  }
}

TEST(ConstraintsTest, NarrowingIsReflexive) {
  for (const char* json :
       {"{}", R"({"tds":["a.org"]})", R"({"auds":["spiffe://a.org/*"]})",
        R"({"tds":["a.org","b.org"],"auds":["spiffe://a.org/x",
             "spiffe://b.org/y/*"]})"}) {
    Constraints c = Cns(json);
    EXPECT_TRUE(c.CheckNarrowing(c).has_value()) << json;
  }
}

TEST(ConstraintsTest, MessagesBoundLongIds) {
  std::string long_path(1500, 'p');
  auto aud = SpiffeId::Parse("spiffe://a.org/" + long_path);
  ASSERT_TRUE(aud.has_value());
  Status s = Cns(R"({"auds":["spiffe://a.org/x"]})")
                 .Permits(Id("spiffe://a.org/i"), *aud);
  ASSERT_FALSE(s.has_value());
  EXPECT_LT(s.error().message().size(), 200u);
}

}  // namespace
}  // namespace aztp

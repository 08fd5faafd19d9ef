#include "aztp/spiffeid/spiffe_id.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "aztp/spiffeid/trust_domain.h"

namespace aztp {
namespace {

constexpr std::string_view kBadTrustDomainChar =
    "trust domain characters are limited to lowercase letters, numbers, "
    "dots, dashes, and underscores";
constexpr std::string_view kBadPathChar =
    "path segment characters are limited to letters, numbers, dots, dashes, "
    "and underscores";
constexpr std::string_view kBadScheme = "scheme is missing or invalid";
constexpr std::string_view kMissingTrustDomain = "trust domain is missing";
constexpr std::string_view kEmptySegment = "path cannot contain empty segments";
constexpr std::string_view kDotSegment = "path cannot contain dot segments";
constexpr std::string_view kTrailingSlash = "path cannot have a trailing slash";

bool IsTrustDomainByte(int b) {
  return (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '.' ||
         b == '-' || b == '_';
}

bool IsPathByte(int b) {
  return IsTrustDomainByte(b) || (b >= 'A' && b <= 'Z');
}

// FailsWith checks that `r` is an error with `code` whose message contains
// `phrase`.
template <typename T>
testing::AssertionResult FailsWith(const Result<T>& r, Code code,
                                   std::string_view phrase) {
  if (r.has_value()) {
    return testing::AssertionFailure() << "unexpectedly accepted";
  }
  if (r.error().code() != code) {
    return testing::AssertionFailure()
           << "code " << r.error().reason() << ", want " << ReasonString(code)
           << " (" << r.error().message() << ")";
  }
  if (r.error().message().find(phrase) == std::string::npos) {
    return testing::AssertionFailure() << "message \"" << r.error().message()
                                       << "\" lacks \"" << phrase << "\"";
  }
  return testing::AssertionSuccess();
}

// IdOfLength returns a valid ID of exactly `size` bytes in scheme `scheme`.
std::string IdOfLength(std::string_view scheme, size_t size) {
  std::string id(scheme);
  id += "example.org/";
  // Segments of 100 bytes keep the ID realistic; the last one fills up.
  while (id.size() < size) {
    const size_t room = size - id.size();
    if (room > 101) {
      id += std::string(100, 'a') + "/";
    } else {
      id += std::string(room, 'b');
    }
  }
  return id;
}

TrustDomain Td(std::string_view name) { return *TrustDomain::Parse(name); }
SpiffeId Id(std::string_view id) { return *SpiffeId::Parse(id); }

// ---- SpiffeId::Parse -------------------------------------------------------

TEST(SpiffeId, ParsesWorkloadIdIntoParts) {
  auto id = SpiffeId::Parse("spiffe://example.org/ns/prod/sa/planner");
  ASSERT_TRUE(id.has_value()) << id.error().message();
  EXPECT_EQ(id->str(), "spiffe://example.org/ns/prod/sa/planner");
  EXPECT_EQ(id->trust_domain().name(), "example.org");
  EXPECT_EQ(id->path(), "/ns/prod/sa/planner");
  EXPECT_TRUE(id->IsWorkload());
}

TEST(SpiffeId, ParsesIdWithoutPathAsNonWorkload) {
  auto id = SpiffeId::Parse("spiffe://example.org");
  ASSERT_TRUE(id.has_value()) << id.error().message();
  EXPECT_EQ(id->str(), "spiffe://example.org");
  EXPECT_EQ(id->trust_domain().name(), "example.org");
  EXPECT_EQ(id->path(), "");
  EXPECT_FALSE(id->IsWorkload());
}

TEST(SpiffeId, RejectsEmptyInput) {
  EXPECT_TRUE(
      FailsWith(SpiffeId::Parse(""), Code::kMalformed, "cannot be empty"));
  EXPECT_TRUE(FailsWith(SpiffeId::ParseUserInput(""), Code::kMalformed,
                        "cannot be empty"));
}

TEST(SpiffeId, AcceptsOnlyTrustDomainCharactersInTrustDomain) {
  for (int b = 0; b <= 0xff; ++b) {
    SCOPED_TRACE(testing::Message() << "byte 0x" << std::hex << b);
    const char c = static_cast<char>(b);
    const std::string td = std::string("a") + c + "b";
    auto id = SpiffeId::Parse("spiffe://" + td + "/path");
    if (IsTrustDomainByte(b)) {
      ASSERT_TRUE(id.has_value()) << id.error().message();
      EXPECT_EQ(id->trust_domain().name(), td);
      EXPECT_EQ(id->path(), "/path");
    } else if (c == '/') {
      // The slash ends the trust domain: this is `a` with path `/b/path`.
      ASSERT_TRUE(id.has_value()) << id.error().message();
      EXPECT_EQ(id->trust_domain().name(), "a");
      EXPECT_EQ(id->path(), "/b/path");
    } else {
      EXPECT_TRUE(FailsWith(id, Code::kMalformed, kBadTrustDomainChar));
    }
    // A trust domain that is a single byte.
    auto single = SpiffeId::Parse(std::string("spiffe://") + c);
    if (IsTrustDomainByte(b)) {
      EXPECT_TRUE(single.has_value());
    } else if (c == '/') {
      EXPECT_TRUE(FailsWith(single, Code::kMalformed, kMissingTrustDomain));
    } else {
      EXPECT_TRUE(FailsWith(single, Code::kMalformed, kBadTrustDomainChar));
    }
  }
}

TEST(SpiffeId, AcceptsOnlyPathCharactersInPath) {
  for (int b = 0; b <= 0xff; ++b) {
    SCOPED_TRACE(testing::Message() << "byte 0x" << std::hex << b);
    const char c = static_cast<char>(b);
    const std::string path = std::string("/a") + c + "b";
    auto id = SpiffeId::Parse("spiffe://example.org" + path);
    auto user = SpiffeId::ParseUserInput("aztp://example.org" + path);
    if (IsPathByte(b) || c == '/') {
      ASSERT_TRUE(id.has_value()) << id.error().message();
      EXPECT_EQ(id->path(), path);
      EXPECT_EQ(id->trust_domain().name(), "example.org");
      ASSERT_TRUE(user.has_value()) << user.error().message();
      EXPECT_EQ(*user, *id);
    } else {
      EXPECT_TRUE(FailsWith(id, Code::kMalformed, kBadPathChar));
      EXPECT_TRUE(FailsWith(user, Code::kMalformed, kBadPathChar));
    }
  }
}

TEST(SpiffeId, RejectsUppercaseInTrustDomain) {
  for (std::string_view in :
       {"spiffe://Example.org/a", "spiffe://EXAMPLE.ORG",
        "spiffe://exAmple.org", "spiffe://example.orG/a"}) {
    SCOPED_TRACE(in);
    EXPECT_TRUE(
        FailsWith(SpiffeId::Parse(in), Code::kMalformed, kBadTrustDomainChar));
  }
}

TEST(SpiffeId, KeepsUppercaseInPathWithoutNormalising) {
  auto upper = SpiffeId::Parse("spiffe://example.org/Agents/PLANNER");
  ASSERT_TRUE(upper.has_value()) << upper.error().message();
  EXPECT_EQ(upper->path(), "/Agents/PLANNER");
  EXPECT_NE(*upper, Id("spiffe://example.org/agents/planner"));
}

TEST(SpiffeId, RejectsEmptySegments) {
  for (std::string_view in :
       {"spiffe://example.org//", "spiffe://example.org//a",
        "spiffe://example.org/a//b", "spiffe://example.org/a///b"}) {
    SCOPED_TRACE(in);
    EXPECT_TRUE(
        FailsWith(SpiffeId::Parse(in), Code::kMalformed, kEmptySegment));
  }
}

TEST(SpiffeId, RejectsDotSegments) {
  for (std::string_view in :
       {"spiffe://example.org/.", "spiffe://example.org/..",
        "spiffe://example.org/./a", "spiffe://example.org/../a",
        "spiffe://example.org/a/./b", "spiffe://example.org/a/../b",
        "spiffe://example.org/a/.", "spiffe://example.org/a/.."}) {
    SCOPED_TRACE(in);
    EXPECT_TRUE(FailsWith(SpiffeId::Parse(in), Code::kMalformed, kDotSegment));
  }
}

TEST(SpiffeId, AcceptsSegmentsThatAreNotExactlyDotOrDotDot) {
  for (std::string_view path : {"/.a", "/..a", "/...", "/a.", "/a..",
                                "/.a/..b/...", "/-", "/_", "/.well-known"}) {
    SCOPED_TRACE(path);
    auto id = SpiffeId::Parse("spiffe://example.org" + std::string(path));
    ASSERT_TRUE(id.has_value()) << id.error().message();
    EXPECT_EQ(id->path(), path);
  }
}

TEST(SpiffeId, RejectsTrailingSlash) {
  for (std::string_view in :
       {"spiffe://example.org/", "spiffe://example.org/a/",
        "spiffe://example.org/a/b/"}) {
    SCOPED_TRACE(in);
    EXPECT_TRUE(
        FailsWith(SpiffeId::Parse(in), Code::kMalformed, kTrailingSlash));
  }
}

TEST(SpiffeId, RejectsPercentEncoding) {
  EXPECT_TRUE(FailsWith(SpiffeId::Parse("spiffe://ex%61mple.org/a"),
                        Code::kMalformed, kBadTrustDomainChar));
  EXPECT_TRUE(FailsWith(SpiffeId::Parse("spiffe://example.org/a%20b"),
                        Code::kMalformed, kBadPathChar));
  EXPECT_TRUE(FailsWith(SpiffeId::Parse("spiffe://example.org/%2e"),
                        Code::kMalformed, kBadPathChar));
  EXPECT_TRUE(FailsWith(SpiffeId::Parse("spiffe://example.org/a%2Fb"),
                        Code::kMalformed, kBadPathChar));
}

TEST(SpiffeId, RejectsSchemeVariants) {
  for (std::string_view in :
       {"Spiffe://example.org/a", "SPIFFE://example.org/a",
        "spiffe:/example.org/a", "spiffe:example.org/a", "spiffe:", "spiffe",
        "spiffe:/", "spiffe//example.org/a", "spiffe ://example.org/a",
        " spiffe://example.org/a", "https://example.org/a", "//example.org/a",
        "example.org/a", "/a", "aztp://example.org/a",
        "urn:spiffe:example.org"}) {
    SCOPED_TRACE(in);
    EXPECT_TRUE(FailsWith(SpiffeId::Parse(in), Code::kMalformed, kBadScheme));
  }
}

TEST(SpiffeId, RejectsMissingTrustDomain) {
  for (std::string_view in :
       {"spiffe://", "spiffe:///", "spiffe:///a", "spiffe:////a"}) {
    SCOPED_TRACE(in);
    EXPECT_TRUE(
        FailsWith(SpiffeId::Parse(in), Code::kMalformed, kMissingTrustDomain));
  }
}

TEST(SpiffeId, RejectsQueryFragmentPortAndUserinfo) {
  for (std::string_view in :
       {"spiffe://example.org/a?x=1", "spiffe://example.org/a#frag",
        "spiffe://example.org/a?", "spiffe://example.org/a#"}) {
    SCOPED_TRACE(in);
    EXPECT_TRUE(FailsWith(SpiffeId::Parse(in), Code::kMalformed, kBadPathChar));
  }
  for (std::string_view in :
       {"spiffe://example.org?x=1", "spiffe://example.org#frag",
        "spiffe://example.org:8443/a", "spiffe://example.org:/a",
        "spiffe://user@example.org/a", "spiffe://user:pw@example.org",
        "spiffe://@example.org", "spiffe://[::1]/a", "spiffe://[fe80::1]"}) {
    SCOPED_TRACE(in);
    EXPECT_TRUE(
        FailsWith(SpiffeId::Parse(in), Code::kMalformed, kBadTrustDomainChar));
  }
}

TEST(SpiffeId, AcceptsTrustDomainThatLooksLikeIpv4) {
  auto id = SpiffeId::Parse("spiffe://192.168.0.1/a");
  ASSERT_TRUE(id.has_value()) << id.error().message();
  EXPECT_EQ(id->trust_domain().name(), "192.168.0.1");
}

TEST(SpiffeId, AcceptsIdOfExactly2048Bytes) {
  const std::string in = IdOfLength("spiffe://", 2048);
  ASSERT_EQ(in.size(), 2048u);
  auto id = SpiffeId::Parse(in);
  ASSERT_TRUE(id.has_value()) << id.error().message();
  EXPECT_EQ(id->str(), in);
}

TEST(SpiffeId, RejectsIdOf2049BytesAsTooLarge) {
  const std::string in = IdOfLength("spiffe://", 2049);
  ASSERT_EQ(in.size(), 2049u);
  auto id = SpiffeId::Parse(in);
  EXPECT_TRUE(FailsWith(id, Code::kTooLarge, "2048-byte limit"));
  EXPECT_TRUE(FailsWith(SpiffeId::ParseUserInput(in), Code::kTooLarge,
                        "2048-byte limit"));
  // Far longer input is rejected the same way.
  EXPECT_TRUE(FailsWith(SpiffeId::Parse(IdOfLength("spiffe://", 100000)),
                        Code::kTooLarge, "2048-byte limit"));
}

TEST(SpiffeId, ErrorMessagesQuoteAtMost64InputBytes) {
  // Every byte of the input is distinct from the message text around it.
  std::string in = "spiffe://example.org/" + std::string(200, 'q') + "%";
  auto id = SpiffeId::Parse(in);
  ASSERT_FALSE(id.has_value());
  const std::string& message = id.error().message();
  EXPECT_NE(message.find(in.substr(0, 64)), std::string::npos) << message;
  EXPECT_EQ(message.find(in.substr(0, 65)), std::string::npos) << message;
  EXPECT_LT(message.size(), 64u + 200u);

  auto big = SpiffeId::Parse(IdOfLength("spiffe://", 5000));
  ASSERT_FALSE(big.has_value());
  EXPECT_LT(big.error().message().size(), 64u + 200u);
}

TEST(SpiffeId, ErrorMessagesEscapeControlAndNonAsciiBytes) {
  auto id =
      SpiffeId::Parse(std::string("spiffe://example.org/a\n\x00\xff", 25));
  ASSERT_FALSE(id.has_value());
  const std::string& message = id.error().message();
  EXPECT_EQ(message.find('\n'), std::string::npos);
  EXPECT_EQ(message.find('\0'), std::string::npos);
  EXPECT_EQ(message.find('\xff'), std::string::npos);
  EXPECT_NE(message.find("\\x0a\\x00\\xff"), std::string::npos) << message;
}

TEST(SpiffeId, AcceptsTrustDomainOf255BytesAndRejects256AsTooLarge) {
  const std::string ok(255, 'a');
  auto id = SpiffeId::Parse("spiffe://" + ok + "/x");
  ASSERT_TRUE(id.has_value()) << id.error().message();
  EXPECT_EQ(id->trust_domain().name(), ok);
  EXPECT_TRUE(FailsWith(SpiffeId::Parse("spiffe://" + std::string(256, 'a')),
                        Code::kTooLarge, "255-byte limit"));
}

// ---- SpiffeId::ParseUserInput ---------------------------------------------

TEST(SpiffeId, ParseUserInputConvertsAztpAliasToSpiffeForm) {
  auto id = SpiffeId::ParseUserInput("aztp://example.org/agents/planner");
  ASSERT_TRUE(id.has_value()) << id.error().message();
  EXPECT_EQ(id->str(), "spiffe://example.org/agents/planner");
  EXPECT_EQ(id->trust_domain().name(), "example.org");
  EXPECT_EQ(id->path(), "/agents/planner");
  EXPECT_EQ(*id, Id("spiffe://example.org/agents/planner"));

  auto bare = SpiffeId::ParseUserInput("aztp://example.org");
  ASSERT_TRUE(bare.has_value()) << bare.error().message();
  EXPECT_EQ(bare->str(), "spiffe://example.org");
  EXPECT_FALSE(bare->IsWorkload());
}

TEST(SpiffeId, ParseAcceptsAztpAliasOnlyThroughParseUserInput) {
  EXPECT_TRUE(FailsWith(SpiffeId::Parse("aztp://example.org/a"),
                        Code::kMalformed, kBadScheme));
  EXPECT_TRUE(SpiffeId::ParseUserInput("aztp://example.org/a").has_value());
}

TEST(SpiffeId, ParseUserInputAcceptsSpiffeForm) {
  auto id = SpiffeId::ParseUserInput("spiffe://example.org/a");
  ASSERT_TRUE(id.has_value()) << id.error().message();
  EXPECT_EQ(id->str(), "spiffe://example.org/a");
}

TEST(SpiffeId, ParseUserInputAppliesTheSameRulesToTheAlias) {
  EXPECT_TRUE(FailsWith(SpiffeId::ParseUserInput("Aztp://example.org/a"),
                        Code::kMalformed, kBadScheme));
  EXPECT_TRUE(FailsWith(SpiffeId::ParseUserInput("aztp:/example.org/a"),
                        Code::kMalformed, kBadScheme));
  EXPECT_TRUE(FailsWith(SpiffeId::ParseUserInput("aztp:example.org"),
                        Code::kMalformed, kBadScheme));
  EXPECT_TRUE(FailsWith(SpiffeId::ParseUserInput("aztp://"), Code::kMalformed,
                        kMissingTrustDomain));
  EXPECT_TRUE(FailsWith(SpiffeId::ParseUserInput("aztp://Example.org/a"),
                        Code::kMalformed, kBadTrustDomainChar));
  EXPECT_TRUE(FailsWith(SpiffeId::ParseUserInput("aztp://example.org/a/"),
                        Code::kMalformed, kTrailingSlash));
  EXPECT_TRUE(FailsWith(SpiffeId::ParseUserInput("aztp://example.org/a/../b"),
                        Code::kMalformed, kDotSegment));
  EXPECT_TRUE(FailsWith(SpiffeId::ParseUserInput("aztp://example.org//a"),
                        Code::kMalformed, kEmptySegment));
  EXPECT_TRUE(FailsWith(SpiffeId::ParseUserInput("aztp://example.org/a?b"),
                        Code::kMalformed, kBadPathChar));
}

TEST(SpiffeId, ParseUserInputLimitsTheConvertedLength) {
  // The spiffe:// form is two bytes longer than the aztp:// form.
  const std::string fits = IdOfLength("aztp://", 2046);
  auto id = SpiffeId::ParseUserInput(fits);
  ASSERT_TRUE(id.has_value()) << id.error().message();
  EXPECT_EQ(id->str().size(), 2048u);
  EXPECT_TRUE(FailsWith(SpiffeId::ParseUserInput(IdOfLength("aztp://", 2047)),
                        Code::kTooLarge, "2048-byte limit"));
}

// ---- SpiffeId::FromSegments ------------------------------------------------

TEST(SpiffeId, FromSegmentsBuildsIdFromTrustDomainAndPath) {
  const TrustDomain td = Td("example.org");
  auto id = SpiffeId::FromSegments(td, "/a/b");
  ASSERT_TRUE(id.has_value()) << id.error().message();
  EXPECT_EQ(id->str(), "spiffe://example.org/a/b");
  EXPECT_EQ(id->path(), "/a/b");
  EXPECT_EQ(*id, Id("spiffe://example.org/a/b"));

  auto root = SpiffeId::FromSegments(td, "");
  ASSERT_TRUE(root.has_value()) << root.error().message();
  EXPECT_EQ(root->str(), "spiffe://example.org");
  EXPECT_FALSE(root->IsWorkload());
}

TEST(SpiffeId, FromSegmentsRejectsBadPaths) {
  const TrustDomain td = Td("example.org");
  EXPECT_TRUE(FailsWith(SpiffeId::FromSegments(td, "a"), Code::kMalformed,
                        "path must have a leading slash"));
  EXPECT_TRUE(FailsWith(SpiffeId::FromSegments(td, "/"), Code::kMalformed,
                        kTrailingSlash));
  EXPECT_TRUE(FailsWith(SpiffeId::FromSegments(td, "/a//b"), Code::kMalformed,
                        kEmptySegment));
  EXPECT_TRUE(FailsWith(SpiffeId::FromSegments(td, "/a/.."), Code::kMalformed,
                        kDotSegment));
  EXPECT_TRUE(FailsWith(SpiffeId::FromSegments(td, "/a b"), Code::kMalformed,
                        kBadPathChar));
  EXPECT_TRUE(FailsWith(SpiffeId::FromSegments(td, "/a%2f"), Code::kMalformed,
                        kBadPathChar));
}

TEST(SpiffeId, FromSegmentsEnforcesThe2048ByteLimit) {
  const TrustDomain td = Td("example.org");
  const std::string full = IdOfLength("spiffe://", 2048);
  const std::string path =
      full.substr(std::string("spiffe://example.org").size());
  auto id = SpiffeId::FromSegments(td, path);
  ASSERT_TRUE(id.has_value()) << id.error().message();
  EXPECT_EQ(id->str(), full);
  EXPECT_TRUE(FailsWith(SpiffeId::FromSegments(td, path + "c"), Code::kTooLarge,
                        "2048-byte limit"));
}

// ---- Membership, equality, ordering, hashing -------------------------------

TEST(SpiffeId, MemberOfComparesTrustDomains) {
  const SpiffeId id = Id("spiffe://example.org/a");
  EXPECT_TRUE(id.MemberOf(Td("example.org")));
  EXPECT_FALSE(id.MemberOf(Td("example.com")));
  EXPECT_FALSE(id.MemberOf(Td("example.org.evil")));
  EXPECT_FALSE(id.MemberOf(Td("org")));
  EXPECT_TRUE(Id("spiffe://example.org").MemberOf(Td("example.org")));
}

TEST(SpiffeId, EqualityIsByteWise) {
  EXPECT_EQ(Id("spiffe://example.org/a"), Id("spiffe://example.org/a"));
  EXPECT_NE(Id("spiffe://example.org/a"), Id("spiffe://example.org/A"));
  EXPECT_NE(Id("spiffe://example.org/a"), Id("spiffe://example.org/a/b"));
  EXPECT_NE(Id("spiffe://example.org/a"), Id("spiffe://example.com/a"));
  EXPECT_NE(Id("spiffe://example.org"), Id("spiffe://example.org/a"));
  // Moving the trust domain boundary changes the ID even though the bytes
  // after the scheme would otherwise be close.
  EXPECT_NE(Id("spiffe://a.b/c").trust_domain(),
            Id("spiffe://a/b.c").trust_domain());
}

TEST(SpiffeId, OrdersByStringAndWorksAsMapKey) {
  EXPECT_LT(Id("spiffe://a.org/x"), Id("spiffe://b.org/a"));
  EXPECT_LT(Id("spiffe://a.org"), Id("spiffe://a.org/x"));
  EXPECT_LT(Id("spiffe://a.org/X"), Id("spiffe://a.org/x"));
  EXPECT_TRUE((Id("spiffe://a.org/x") <=> Id("spiffe://a.org/x")) == 0);
  std::map<SpiffeId, int> m;
  m.emplace(Id("spiffe://b.org/a"), 2);
  m.emplace(Id("spiffe://a.org/z"), 1);
  m.emplace(*SpiffeId::ParseUserInput("aztp://a.org/z"), 3);  // same key
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m.begin()->first.str(), "spiffe://a.org/z");
  EXPECT_EQ(m.begin()->second, 1);
}

TEST(SpiffeId, HashIsConsistentWithEquality) {
  std::hash<SpiffeId> hash;
  EXPECT_EQ(hash(Id("spiffe://example.org/a")),
            hash(*SpiffeId::ParseUserInput("aztp://example.org/a")));
  std::unordered_set<SpiffeId> set;
  set.insert(Id("spiffe://example.org/a"));
  set.insert(Id("spiffe://example.org/a"));
  set.insert(Id("spiffe://example.org/b"));
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.contains(*SpiffeId::FromSegments(Td("example.org"), "/b")));
}

TEST(SpiffeId, CopiesKeepTheirOwnPath) {
  SpiffeId a = Id("spiffe://example.org/first");
  const SpiffeId b = a;
  a = Id("spiffe://other.org/second/x");
  EXPECT_EQ(b.path(), "/first");
  EXPECT_EQ(a.path(), "/second/x");
  EXPECT_EQ(a.trust_domain().name(), "other.org");
}

// ---- TrustDomain -----------------------------------------------------------

TEST(TrustDomain, ParsesBareName) {
  auto td = TrustDomain::Parse("example.org");
  ASSERT_TRUE(td.has_value()) << td.error().message();
  EXPECT_EQ(td->name(), "example.org");
  EXPECT_EQ(td->IdString(), "spiffe://example.org");
}

TEST(TrustDomain, ParsesSpiffeIdWithoutPath) {
  auto td = TrustDomain::Parse("spiffe://example.org");
  ASSERT_TRUE(td.has_value()) << td.error().message();
  EXPECT_EQ(td->name(), "example.org");
  EXPECT_EQ(*td, Td("example.org"));
}

TEST(TrustDomain, RejectsSpiffeIdWithPath) {
  for (std::string_view in : {"spiffe://example.org/", "spiffe://example.org/a",
                              "spiffe://example.org//"}) {
    SCOPED_TRACE(in);
    EXPECT_TRUE(FailsWith(TrustDomain::Parse(in), Code::kMalformed,
                          "cannot have a path"));
  }
}

TEST(TrustDomain, RejectsEmptyAndMissingNames) {
  EXPECT_TRUE(
      FailsWith(TrustDomain::Parse(""), Code::kMalformed, kMissingTrustDomain));
  EXPECT_TRUE(FailsWith(TrustDomain::Parse("spiffe://"), Code::kMalformed,
                        kMissingTrustDomain));
  EXPECT_TRUE(FailsWith(TrustDomain::Parse("spiffe:///a"), Code::kMalformed,
                        kMissingTrustDomain));
}

TEST(TrustDomain, AcceptsOnlyTrustDomainCharacters) {
  for (int b = 0; b <= 0xff; ++b) {
    SCOPED_TRACE(testing::Message() << "byte 0x" << std::hex << b);
    const std::string name = std::string("a") + static_cast<char>(b) + "b";
    auto td = TrustDomain::Parse(name);
    if (IsTrustDomainByte(b)) {
      ASSERT_TRUE(td.has_value()) << td.error().message();
      EXPECT_EQ(td->name(), name);
    } else {
      EXPECT_TRUE(FailsWith(td, Code::kMalformed, kBadTrustDomainChar));
    }
    auto single = TrustDomain::Parse(std::string(1, static_cast<char>(b)));
    EXPECT_EQ(single.has_value(), IsTrustDomainByte(b));
  }
}

TEST(TrustDomain, RejectsUppercasePercentAndSchemeVariants) {
  for (std::string_view in :
       {"Example.org", "EXAMPLE.ORG", "ex%61mple.org", "example.org:443",
        "user@example.org", "Spiffe://example.org", "spiffe:/example.org",
        "aztp://example.org", "example.org/a", " example.org",
        "example.org "}) {
    SCOPED_TRACE(in);
    EXPECT_TRUE(FailsWith(TrustDomain::Parse(in), Code::kMalformed,
                          kBadTrustDomainChar));
  }
}

TEST(TrustDomain, Accepts255BytesAndRejects256AsTooLarge) {
  const std::string ok(255, 'x');
  auto td = TrustDomain::Parse(ok);
  ASSERT_TRUE(td.has_value()) << td.error().message();
  EXPECT_EQ(td->name(), ok);
  EXPECT_TRUE(TrustDomain::Parse("spiffe://" + ok).has_value());
  EXPECT_TRUE(FailsWith(TrustDomain::Parse(std::string(256, 'x')),
                        Code::kTooLarge, "255-byte limit"));
  EXPECT_TRUE(FailsWith(TrustDomain::Parse("spiffe://" + std::string(256, 'x')),
                        Code::kTooLarge, "255-byte limit"));
}

TEST(TrustDomain, EqualityOrderingAndHashFollowTheName) {
  EXPECT_EQ(Td("example.org"), Td("example.org"));
  EXPECT_NE(Td("example.org"), Td("example.com"));
  EXPECT_LT(Td("a.org"), Td("b.org"));
  EXPECT_GT(Td("a.org.x"), Td("a.org"));
  EXPECT_EQ(
      std::hash<TrustDomain>{}(Td("example.org")),
      std::hash<TrustDomain>{}(*TrustDomain::Parse("spiffe://example.org")));

  std::map<TrustDomain, int> ordered;
  ordered.emplace(Td("b.org"), 2);
  ordered.emplace(Td("a.org"), 1);
  ordered.emplace(Td("a.org"), 3);  // same key
  ASSERT_EQ(ordered.size(), 2u);
  EXPECT_EQ(ordered.begin()->first.name(), "a.org");
  EXPECT_EQ(ordered.begin()->second, 1);

  std::unordered_map<TrustDomain, int> hashed;
  hashed[Td("a.org")] = 1;
  hashed[Td("a.org")] = 2;
  hashed[Td("b.org")] = 3;
  EXPECT_EQ(hashed.size(), 2u);
  EXPECT_EQ(hashed.at(Td("a.org")), 2);
}

TEST(TrustDomain, MatchesTheTrustDomainOfItsOwnId) {
  const TrustDomain td = Td("example.org");
  auto id = SpiffeId::Parse(td.IdString());
  ASSERT_TRUE(id.has_value()) << id.error().message();
  EXPECT_EQ(id->trust_domain(), td);
  EXPECT_TRUE(id->MemberOf(td));
  EXPECT_FALSE(id->IsWorkload());
}

}  // namespace
}  // namespace aztp

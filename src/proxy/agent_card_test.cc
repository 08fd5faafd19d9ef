// A2A Agent Cards signed with an X.509-SVID (agent_card.h).
#include "aztp/proxy/agent_card.h"

#include <gtest/gtest.h>

#include <string>

#include "aztp/encoding/base64.h"
#include "testing/trust_domains.h"

namespace aztp {
namespace {

using test_support::TestDomains;

constexpr UnixTime kNow = 1'800'000'000;
constexpr char kPlanner[] = "spiffe://org-a.example/agents/planner";
constexpr char kCard[] = R"({
  "name": "Planner",
  "description": "Plans trips",
  "version": "1.0.0",
  "supportedInterfaces": [{"url": "https://planner.org-a.example:9443/a2a",
                           "protocolBinding": "JSONRPC",
                           "protocolVersion": "1.0"}],
  "capabilities": {"streaming": true},
  "defaultInputModes": ["text/plain"],
  "defaultOutputModes": ["text/plain"],
  "skills": [{"id": "plan", "name": "Plan", "description": "Plans a trip",
              "tags": ["travel", "é\u0001\"\\/"]}]
})";

class AgentCardTest : public ::testing::Test {
 protected:
  AgentCardTest() : domains_(kNow) {
    domains_.AddDomain("org-a.example");
    domains_.AddDomain("org-b.example");
  }
  Json Signed(const std::string& id = kPlanner) {
    auto card = ParseAgentCard(kCard);
    EXPECT_TRUE(card.has_value()) << card.error().message();
    auto out = SignAgentCard(*card, domains_.Signer(id));
    EXPECT_TRUE(out.has_value()) << out.error().message();
    return *out;
  }
  Result<VerifiedAgentCard> Verify(const Json& card,
                                   const std::string& id = kPlanner) {
    return VerifyAgentCard(card, *SpiffeId::Parse(id), *domains_.Bundles(),
                           kNow);
  }
  TestDomains domains_;
};

TEST_F(AgentCardTest, ASignedCardVerifiesForItsOwnSpiffeIdOnly) {
  Json card = Signed();
  ASSERT_EQ(card["signatures"].size(), 1u);
  auto verified = Verify(card);
  ASSERT_TRUE(verified.has_value()) << verified.error().message();
  EXPECT_EQ(verified->id().str(), kPlanner);
  // The card another agent presents as the planner's.
  auto other = Verify(Signed("spiffe://org-a.example/agents/impostor"));
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code(), Code::kPermissionDenied);
  // A trust domain the verifier does not trust.
  auto foreign =
      VerifyAgentCard(Signed("spiffe://org-b.example/agents/planner"),
                      *SpiffeId::Parse("spiffe://org-b.example/agents/planner"),
                      BundleSet(), kNow);
  EXPECT_FALSE(foreign.has_value());
}

TEST_F(AgentCardTest, AnyChangeToTheCardBreaksTheSignature) {
  const Json card = Signed();
  Json forged = card;
  forged["supportedInterfaces"][0]["url"] = "https://evil.example/a2a";
  EXPECT_EQ(Verify(forged).error().code(), Code::kBadSignature);
  forged = card;
  forged["skills"][0]["tags"].push_back("refunds");
  EXPECT_EQ(Verify(forged).error().code(), Code::kBadSignature);
  forged = card;
  forged["extra"] = 1;
  EXPECT_FALSE(Verify(forged).has_value());
  // Member order and whitespace are not part of what is signed.
  auto reordered = ParseJson(DumpJson(card));
  ASSERT_TRUE(reordered.has_value());
  EXPECT_TRUE(Verify(*reordered).has_value());
  // A signature moved onto another card.
  Json moved = *ParseAgentCard(R"({"name": "Other"})");
  moved["signatures"] = card["signatures"];
  EXPECT_EQ(Verify(moved).error().code(), Code::kBadSignature);
  Json none = card;
  none.erase("signatures");
  EXPECT_EQ(Verify(none).error().code(), Code::kMalformed);
  Json junk = card;
  junk["signatures"] = Json::array({"x", Json{{"protected", "e30"}}});
  EXPECT_FALSE(Verify(junk).has_value());
}

TEST_F(AgentCardTest, TheProtectedHeaderIsWhatA2aAsks) {
  Json card = Signed();
  auto header = ParseJson(std::string([&] {
    auto b =
        Base64UrlDecode(card["signatures"][0]["protected"].get<std::string>());
    return std::string(b->begin(), b->end());
  }()));
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ((*header)["typ"], "JOSE");
  EXPECT_EQ((*header)["alg"], "ES256");
  EXPECT_TRUE((*header)["kid"].is_string());
  EXPECT_EQ((*header)["x5c"].size(), 1u);
}

TEST(AgentCard, CanonicalFormIsJcs) {
  // RFC 8785: keys by UTF-16 code units (U+10000 sorts before U+E000),
  // minimal escapes, no whitespace, signatures left out.
  auto c = CanonicalAgentCard(*ParseJson(
      "{\"b\": [1, -2, true], \"\xee\x80\x80\": 1, \"\xf0\x90\x80\x80\": 2, "
      "\"a\": \"\\u0001\\\"/\\u007f\", \"signatures\": [1]}"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(*c,
            "{\"a\":\"\\u0001\\\"/\x7f\",\"b\":[1,-2,true],"
            "\"\xf0\x90\x80\x80\":2,\"\xee\x80\x80\":1}");
  EXPECT_FALSE(CanonicalAgentCard(*ParseJson(R"({"x": 1.5})")).has_value());
  EXPECT_FALSE(
      CanonicalAgentCard(*ParseJson(R"({"x": 9007199254740993})")).has_value());
}

TEST(AgentCard, ParseRefusesWhatVerifiersWouldReadDifferently) {
  EXPECT_TRUE(ParseAgentCard(R"({"name": "A"})").has_value());
  struct Case {
    const char* text;
    const char* says;
  };
  const Case cases[] = {
      {R"([])", "object"},
      {R"({"description": "x"})", "name"},
      {R"({"name": "A", "signatures": [{}]})", "signs"},
      {R"({"name": "A", "iconUrl": ""})", "card.iconUrl is an empty string"},
      {R"({"name": "A", "skills": []})", "card.skills is empty"},
      {R"({"name": "A", "x": {"y": null}})", "card.x.y is null"},
      {R"({"name": "A", "n": 0.5})", "card.n must be an integer"},
  };
  for (const Case& c : cases) {
    auto r = ParseAgentCard(c.text);
    ASSERT_FALSE(r.has_value()) << c.text;
    EXPECT_NE(r.error().message().find(c.says), std::string::npos)
        << r.error().message();
  }
  EXPECT_EQ(ParseAgentCard(R"({"name": "A", "name": "B"})").error().code(),
            Code::kMalformed);
  EXPECT_EQ(
      ParseAgentCard(std::string(kMaxAgentCardBytes + 1, ' ')).error().code(),
      Code::kTooLarge);
}

}  // namespace
}  // namespace aztp

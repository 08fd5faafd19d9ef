// §5.3: the person at the root of a chain is vouched for by a control
// plane, never asserted by an agent. A root's `sub` is its own signer, or
// oidc:<issuer>#<subject> signed by spiffe://<td>/aztpd of a trusted
// domain; anything else is unvouched_subject at hop 0.
#include <gtest/gtest.h>

#include "aztp/chain/builder.h"
#include "aztp/chain/verifier.h"
#include "testing/trust_domains.h"

namespace aztp {
namespace {

using test_support::Must;

constexpr UnixTime kNow = 1'800'000'000;
constexpr char kAgent[] = "spiffe://org-a.example/agents/assistant";
constexpr char kTool[] = "spiffe://org-b.example/tools/payments";
constexpr char kPlaneA[] = "spiffe://org-a.example/aztpd";
constexpr char kPlaneB[] = "spiffe://org-b.example/aztpd";
constexpr char kAlice[] = "oidc:https://login.example.com#alice";

class PersonRootTest : public ::testing::Test {
 protected:
  PersonRootTest() : domains_(kNow), clock_(kNow) {
    domains_.AddDomain("org-a.example");
    domains_.AddDomain("org-b.example");
  }

  Result<VerifiedChain> Verify(const std::string& chain, const char* at,
                               ChainVerifierOptions o = {}) {
    o.audience = Must(SpiffeId::Parse(at));
    o.bundles = domains_.Bundles();
    o.clock = &clock_;
    return Must(ChainVerifier::Create(std::move(o)))->Verify(chain);
  }
  std::string Root(const char* signer, const char* aud,
                   std::optional<std::string> subject) {
    MintOptions o;
    o.audience = Must(SpiffeId::Parse(aud));
    o.capabilities = Must(CapabilitySet::FromStrings({"payments:*"}));
    o.subject = std::move(subject);
    return Must(MintChain(domains_.Signer(signer), o, kNow));
  }
  // Forged signs a root with any `sub`, as an attacker with its own SVID
  // and a JWS library would; MintChain refuses to.
  std::string Forged(const char* signer, const char* aud, std::string sub) {
    return Must(
        domains_.Signer(signer).Sign(RootClaims(signer, aud, std::move(sub))));
  }
  // RootClaims are a root's claims, signed by hand.
  static HopClaims RootClaims(const char* signer, const char* aud,
                              std::string sub) {
    HopClaims c{Must(SpiffeId::Parse(signer)), std::move(sub),
                Must(SpiffeId::Parse(aud))};
    c.iat = kNow;
    c.exp = kNow + 300;
    c.jti = "AAAAAAAAAAAAAAAAAAAAAA";
    c.txn = "txn-forged";
    c.dep = 0;
    c.max = 15;
    c.cap = Must(CapabilitySet::FromStrings({"payments:*"}));
    return c;
  }
  static void ExpectUnvouched(const Result<VerifiedChain>& v) {
    ASSERT_FALSE(v.has_value());
    EXPECT_EQ(v.error().code(), Code::kUnvouchedSubject) << v.error().message();
    EXPECT_EQ(v.error().hop(), std::optional<int>(0));
  }

  test_support::TestDomains domains_;
  FixedClock clock_;
};

TEST_F(PersonRootTest, AnAgentActsForItself) {
  auto v = Verify(Root(kAgent, kTool, std::nullopt), kTool);
  ASSERT_TRUE(v.has_value()) << v.error().message();
  EXPECT_EQ(v->subject(), kAgent);
}

// The attack of issue 15: an ordinary agent names a person as its subject.
TEST_F(PersonRootTest, AnAgentCannotClaimAPerson) {
  ExpectUnvouched(Verify(Forged(kAgent, kTool, kAlice), kTool));
  // Nor does the library mint it.
  MintOptions o;
  o.audience = Must(SpiffeId::Parse(kTool));
  o.subject = kAlice;
  auto minted = MintChain(domains_.Signer(kAgent), o, kNow);
  ASSERT_FALSE(minted.has_value());
  EXPECT_EQ(minted.error().code(), Code::kUnvouchedSubject);
}

TEST_F(PersonRootTest, NorAnotherWorkload) {
  ExpectUnvouched(Verify(
      Forged(kAgent, kTool, "spiffe://org-a.example/agents/boss"), kTool));
  // A control plane vouches for people, not for other workloads.
  ExpectUnvouched(Verify(
      Forged(kPlaneA, kTool, "spiffe://org-a.example/agents/boss"), kTool));
}

// A control plane's name in another trust domain's path is no control
// plane: spiffe://org-a.example/x/aztpd, or org-b's aztpd signing as org-a.
TEST_F(PersonRootTest, OnlyTheExactControlPlaneIdVouches) {
  ExpectUnvouched(
      Verify(Forged("spiffe://org-a.example/x/aztpd", kTool, kAlice), kTool));
  ExpectUnvouched(
      Verify(Forged("spiffe://org-a.example/aztpd/x", kTool, kAlice), kTool));
  // Paths compare byte for byte: /AZTPD is a workload like any other.
  ExpectUnvouched(
      Verify(Forged("spiffe://org-a.example/AZTPD", kTool, kAlice), kTool));
  // Nor is the agent's own ID in another case its own subject.
  ExpectUnvouched(Verify(
      Forged(kAgent, kTool, "spiffe://org-a.example/agents/Assistant"), kTool));
}

TEST_F(PersonRootTest, AControlPlaneVouchesForAPerson) {
  std::string root = Root(kPlaneA, kAgent, kAlice);
  auto at_agent = Verify(root, kAgent);
  ASSERT_TRUE(at_agent.has_value()) << at_agent.error().message();
  EXPECT_EQ(at_agent->subject(), kAlice);
  // The agent extends it across organisations; the person stays where
  // org-b believes org-a's control plane for that issuer.
  ExtendOptions e;
  e.audience = Must(SpiffeId::Parse(kTool));
  std::string chain =
      Must(ExtendChain(*at_agent, domains_.Signer(kAgent), e, kNow));
  ChainVerifierOptions at_b;
  at_b.person_issuers["org-a.example"] = {"https://login.example.com"};
  auto at_tool = Verify(chain, kTool, at_b);
  ASSERT_TRUE(at_tool.has_value()) << at_tool.error().message();
  EXPECT_EQ(at_tool->subject(), kAlice);
  // org-b's own control plane vouches at org-b without any listing.
  EXPECT_TRUE(Verify(Root(kPlaneB, kTool, kAlice), kTool).has_value());
}

// H1 of the review: a partner's control plane is not believed for people
// by default, only for the issuers the verifier lists for it.
TEST_F(PersonRootTest, AForeignControlPlaneVouchesOnlyForListedIssuers) {
  const std::string root = Root(kPlaneA, kTool, kAlice);
  ExpectUnvouched(Verify(root, kTool));
  ChainVerifierOptions o;
  o.person_issuers["org-a.example"] = {"https://corp.example.org"};
  ExpectUnvouched(Verify(root, kTool, o));
  // A prefix or a case change of the listed issuer is another issuer.
  o.person_issuers["org-a.example"] = {"https://login.example.co",
                                       "https://LOGIN.example.com"};
  ExpectUnvouched(Verify(root, kTool, o));
  o.person_issuers["org-a.example"].push_back("https://login.example.com");
  EXPECT_TRUE(Verify(root, kTool, o).has_value());
  ChainVerifierOptions any;
  any.person_issuers["org-a.example"] = {std::string(kAnyPersonIssuer)};
  EXPECT_TRUE(Verify(root, kTool, any).has_value());
  // Listing org-b (the verifier's own) says nothing about org-a.
  ChainVerifierOptions own;
  own.person_issuers["org-b.example"] = {std::string(kAnyPersonIssuer)};
  ExpectUnvouched(Verify(root, kTool, own));
}

TEST_F(PersonRootTest, AVerifierMayNarrowItsOwnDomainsIssuers) {
  const std::string root = Root(kPlaneA, kAgent, kAlice);
  ChainVerifierOptions o;
  o.person_issuers["org-a.example"] = {"https://corp.example.org"};
  ExpectUnvouched(Verify(root, kAgent, o));
  o.person_issuers["org-a.example"].push_back("https://login.example.com");
  EXPECT_TRUE(Verify(root, kAgent, o).has_value());
  // An empty list believes the own control plane for nobody.
  o.person_issuers["org-a.example"].clear();
  ExpectUnvouched(Verify(root, kAgent, o));
  // Another domain's list does not restrict org-a's control plane.
  ChainVerifierOptions other;
  other.person_issuers["org-b.example"] = {};
  EXPECT_TRUE(Verify(root, kAgent, other).has_value());
}

TEST_F(PersonRootTest, AVerifierRefusesMalformedIssuerLists) {
  auto refused = [&](PersonIssuerMap m) {
    ChainVerifierOptions o;
    o.audience = Must(SpiffeId::Parse(kTool));
    o.bundles = domains_.Bundles();
    o.person_issuers = std::move(m);
    auto v = ChainVerifier::Create(std::move(o));
    ASSERT_FALSE(v.has_value());
    EXPECT_EQ(v.error().code(), Code::kInvalidArgument);
  };
  refused({{"Org-A.example", {"https://login.example.com"}}});
  // The name alone: spiffe://org-a.example would never match a signer's
  // domain, and a narrowing written so would silently not narrow.
  refused({{"spiffe://org-a.example", {"https://login.example.com"}}});
  refused({{"org-a.example/", {"https://login.example.com"}}});
  refused({{"org-a.example", {"https://login.example.com#x"}}});
  refused({{"org-a.example", {""}}});
  refused({{"org-a.example", {"https://login example.com"}}});
  refused({{"org-a.example", std::vector<std::string>(65, "*")}});
  EXPECT_TRUE(CheckPersonIssuers({{"org-a.example", {"*"}}}).has_value());
}

// §5.2 `prs`: the control plane's claims of the person reach every hop.
TEST_F(PersonRootTest, ThePersonsClaimsTravelWithTheChain) {
  PersonClaims p;
  p.email = "alice@example.com";
  p.email_verified = true;
  p.groups = {"finance"};
  p.acr = "urn:aztp:acr:mfa";
  p.auth_time = kNow - 30;
  MintOptions o;
  o.audience = Must(SpiffeId::Parse(kAgent));
  o.capabilities = Must(CapabilitySet::FromStrings({"payments:*"}));
  o.subject = kAlice;
  o.person = p;
  auto at_agent =
      Verify(Must(MintChain(domains_.Signer(kPlaneA), o, kNow)), kAgent);
  ASSERT_TRUE(at_agent.has_value()) << at_agent.error().message();
  EXPECT_EQ(at_agent->person(), p);
  ExtendOptions e;
  e.audience = Must(SpiffeId::Parse(kTool));
  ChainVerifierOptions at_b;
  at_b.person_issuers["org-a.example"] = {std::string(kAnyPersonIssuer)};
  auto at_tool =
      Verify(Must(ExtendChain(*at_agent, domains_.Signer(kAgent), e, kNow)),
             kTool, at_b);
  ASSERT_TRUE(at_tool.has_value()) << at_tool.error().message();
  EXPECT_EQ(at_tool->person(), p);
  // An agent's chain has none, and cannot be given any.
  EXPECT_FALSE(Verify(Root(kAgent, kTool, std::nullopt), kTool)->person());
  MintOptions own = o;
  own.subject.reset();
  auto minted = MintChain(domains_.Signer(kAgent), own, kNow);
  ASSERT_FALSE(minted.has_value());
  EXPECT_EQ(minted.error().code(), Code::kInvalidArgument);
}

TEST(PersonClaimsTest, ParsingIsStrictAndBounded) {
  auto parse = [](const char* text) {
    return PersonClaims::FromJson(Json::parse(text));
  };
  auto ok =
      parse(R"({"email":"a@example.com","email_verified":true,"name":"A",)"
            R"("groups":["g1","g2"],"acr":"x","amr":["pwd"],"auth_time":5})");
  ASSERT_TRUE(ok.has_value()) << ok.error().message();
  EXPECT_EQ(Must(PersonClaims::FromJson(ok->ToJson())), *ok);
  struct Case {
    const char* json;
    Code code;
  };
  const std::string long_name = "{\"name\":\"" + std::string(257, 'x') + "\"}";
  const std::string long_group =
      "{\"groups\":[\"" + std::string(257, 'x') + "\"]}";
  std::string many = "{\"groups\":[";
  for (int i = 0; i < 33; ++i)
    many += (i ? ",\"g" : "\"g") + std::to_string(i) + "\"";
  many += "]}";
  const Case cases[] = {
      {R"([])", Code::kMalformed},
      {R"({"phone":"1"})", Code::kMalformed},
      {R"({"email":""})", Code::kMalformed},
      {R"({"email":1})", Code::kMalformed},
      {R"({"email_verified":"yes"})", Code::kMalformed},
      {R"({"groups":"finance"})", Code::kMalformed},
      {R"({"groups":["a","a"]})", Code::kMalformed},
      {R"({"groups":[""]})", Code::kMalformed},
      {R"({"groups":[1]})", Code::kMalformed},
      {R"({"auth_time":-1})", Code::kMalformed},
      {R"({"auth_time":1.5})", Code::kMalformed},
      {long_name.c_str(), Code::kTooLarge},
      {long_group.c_str(), Code::kTooLarge},
      {many.c_str(), Code::kTooLarge},
  };
  for (const Case& c : cases) {
    auto r = parse(c.json);
    ASSERT_FALSE(r.has_value()) << c.json;
    EXPECT_EQ(r.error().code(), c.code)
        << c.json << ": " << r.error().message();
  }
}

TEST_F(PersonRootTest, PrsOnlyInAPersonsRoot) {
  // An agent's own root with prs, and prs on a later token, are malformed
  // before any signature is looked at.
  HopClaims c = RootClaims(kAgent, kTool, kAgent);
  c.prs = PersonClaims{};
  auto v = Verify(Must(domains_.Signer(kAgent).Sign(c)), kTool);
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().code(), Code::kMalformed) << v.error().message();
  // A person's root, and the agent's next token claiming other person
  // claims (a group it would like her to be in).
  const std::string root = Root(kPlaneA, kAgent, kAlice);
  const VerifiedChain at_agent = Must(Verify(root, kAgent));
  HopClaims next = RootClaims(kAgent, kTool, kAlice);
  next.dep = 1;
  next.max = at_agent.max_depth();
  next.txn = at_agent.txn();
  next.jti = "BBBBBBBBBBBBBBBBBBBBBA";
  next.prv = TokenDigest(root);
  next.prs = PersonClaims{};
  next.prs->groups = {"finance"};
  ChainVerifierOptions at_b;
  at_b.person_issuers["org-a.example"] = {std::string(kAnyPersonIssuer)};
  auto later = Verify(root + "," + Must(domains_.Signer(kAgent).Sign(next)),
                      kTool, at_b);
  ASSERT_FALSE(later.has_value());
  EXPECT_EQ(later.error().code(), Code::kMalformed) << later.error().message();
  EXPECT_EQ(later.error().hop(), std::optional<int>(1));
  // Without the prs, that very chain verifies: the refusal is the prs's.
  next.prs.reset();
  auto plain = Verify(root + "," + Must(domains_.Signer(kAgent).Sign(next)),
                      kTool, at_b);
  EXPECT_TRUE(plain.has_value()) << plain.error().message();
}

TEST(PersonSubjectTest, BuildsOnlyWellFormedSubjects) {
  EXPECT_EQ(Must(PersonSubject("https://idp.example", "alice")),
            "oidc:https://idp.example#alice");
  EXPECT_EQ(*PersonIssuer("oidc:https://idp.example#a#b"),
            "https://idp.example");
  EXPECT_FALSE(PersonIssuer("spiffe://org-a.example/x").has_value());
  EXPECT_FALSE(PersonIssuer("oidc:no-hash").has_value());
  // One grammar: what PersonSubject builds, ParsePersonSubject splits, and
  // nothing else.
  auto name = ParsePersonSubject("oidc:https://idp.example#a#b");
  ASSERT_TRUE(name.has_value());
  EXPECT_EQ(name->issuer, "https://idp.example");
  EXPECT_EQ(name->subject, "a#b");
  for (const std::string& bad : std::vector<std::string>{
           "oidc:#a", "oidc:https://i#", "oidc:https://i# a",
           "OIDC:https://i#a", "oidc:https://i\x7f#a",
           "oidc:https://i#" + std::string(2034, 'a')}) {
    EXPECT_FALSE(ParsePersonSubject(bad).has_value()) << bad;
  }
  EXPECT_TRUE(ParsePersonSubject("oidc:https://i#" + std::string(2033, 'a'))
                  .has_value());
  for (auto [iss, sub] : std::vector<std::pair<std::string, std::string>>{
           {"", "a"},
           {"https://i", ""},
           {"https://i#x", "a"},
           {"https://i", "a b"},
           {"https://i", "\x01"}}) {
    EXPECT_FALSE(PersonSubject(iss, sub).has_value()) << iss << " " << sub;
  }
}

}  // namespace
}  // namespace aztp

// PersonService: a person's root only after a valid ID token, for an agent
// allowed to exchange it, with exactly the capabilities the agent's
// policies allow for that person; every root and refusal on the record.
#include "aztp/services/people.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>

#include "aztp/chain/verifier.h"
#include "aztp/crypto/key.h"
#include "aztp/encoding/base64.h"
#include "aztp/jose/jwk.h"
#include "aztp/jose/jws.h"
#include "aztp/services/identities.h"
#include "aztp/services/policies.h"
#include "services/services_fixture.h"
#include "testing/fake_openid_provider.h"
#include "testing/trust_domains.h"

namespace aztp::services {
namespace {

using test_support::Must;

constexpr char kIssuer[] = "https://login.example.com";
constexpr char kApp[] = "travel-app";
constexpr char kAgent[] = "spiffe://org-a.example/agents/assistant";
constexpr char kOther[] = "spiffe://org-a.example/agents/other";
constexpr char kPlane[] = "spiffe://org-a.example/aztpd";

class PersonServiceTest : public ServiceTest {
 protected:
  PersonServiceTest() : domains_(kServiceTestNow) {
    domains_.AddDomain("org-a.example");
    PersonProvider p =
        test_support::FakeOpenIdProvider::Provider(idp_, "corp", kIssuer);
    p.exchange_clients[kApp] = {Id(kAgent)};
    signer_ = std::make_shared<HopSigner>(domains_.Signer(kPlane));
    people_ = std::make_unique<PersonService>(
        ctx_, std::vector<PersonProvider>{p}, [this] { return signer_; });
    IdentityService ids(ctx_);
    for (const char* id : {kAgent, kOther}) {
      NewIdentity n{Id(id)};
      EXPECT_TRUE(ids.Register(admin_, n).has_value());
    }
    PolicyService policies(ctx_);
    auto created = policies.Create(
        admin_, NewPolicy{"finance", "", Must(ParsePolicy(R"({"Statement":[
        {"Sid":"Quotes","Effect":"Allow","Action":"payments:quote"},
        {"Sid":"FinanceWithMfa","Effect":"Allow","Action":"payments:refund",
         "Condition":{"ForAnyValue:StringEquals":{"aztp:PersonGroups":"finance"},
                      "StringEquals":{"aztp:PersonAcr":"mfa"}}}]})"))});
    EXPECT_TRUE(created.has_value());
    EXPECT_TRUE(policies.Attach(admin_, created->id, Id(kAgent)).has_value());
  }

  Json Claims(std::vector<std::string> groups = {"finance"}) const {
    return Json{{"iss", kIssuer},
                {"sub", "alice"},
                {"aud", kApp},
                {"exp", kServiceTestNow + 300},
                {"iat", kServiceTestNow - 5},
                {"email", "alice@example.com"},
                {"email_verified", true},
                {"groups", groups},
                {"acr", "mfa"},
                {"auth_time", kServiceTestNow - 20}};
  }
  std::string IdToken(const Json& claims) const { return idp_->Sign(claims); }
  Result<PersonRoot> Exchange(const std::string& token,
                              std::vector<std::string> caps,
                              const char* agent = kAgent) {
    PersonRootRequest r;
    r.provider = "corp";
    r.subject_token = SecretBytes(std::string_view(token));
    r.capabilities = std::move(caps);
    return people_->Exchange(Principal::Workload(Id(agent)), std::move(r));
  }
  Result<VerifiedChain> VerifyAtAgent(const std::string& chain) {
    ChainVerifierOptions o;
    o.audience = Id(kAgent);
    o.bundles = domains_.Bundles();
    o.clock = &clock_;
    return Must(ChainVerifier::Create(std::move(o)))->Verify(chain);
  }
  static Code CodeOf(const Result<PersonRoot>& r) {
    EXPECT_FALSE(r.has_value());
    return r ? Code::kInternal : r.error().code();
  }

  test_support::TestDomains domains_;
  std::shared_ptr<test_support::FakeOpenIdProvider> idp_ =
      std::make_shared<test_support::FakeOpenIdProvider>(&clock_);
  std::shared_ptr<const HopSigner> signer_;
  std::unique_ptr<PersonService> people_;
};

TEST_F(PersonServiceTest, AnExchangeStartsAChainAtThePerson) {
  auto root =
      Exchange(IdToken(Claims()), {"payments:quote", "payments:refund"});
  ASSERT_TRUE(root.has_value()) << root.error().message();
  EXPECT_EQ(root->subject, "oidc:https://login.example.com#alice");
  EXPECT_EQ(root->expires_at, kServiceTestNow + kPersonRootTtl);
  auto v = VerifyAtAgent(root->chain);
  ASSERT_TRUE(v.has_value()) << v.error().message();
  EXPECT_EQ(v->subject(), root->subject);
  EXPECT_EQ(v->path().front().str(), kPlane);
  EXPECT_EQ(v->capabilities().Strings(),
            (std::vector<std::string>{"payments:quote", "payments:refund"}));
  ASSERT_TRUE(v->person().has_value());
  EXPECT_EQ(v->person()->groups, std::vector<std::string>{"finance"});
  EXPECT_EQ(v->person()->acr, "mfa");
  EXPECT_EQ(v->person()->email, "alice@example.com");
  std::vector<AuditRecord> audit = Audit();
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit.back().action, "person.root");
  EXPECT_EQ(audit.back().decision, "allow");
  EXPECT_EQ(audit.back().actor, kAgent);
  // The record names the person, never the token.
  const std::string details = DumpJson(audit.back().details);
  EXPECT_NE(details.find("#alice"), std::string::npos) << details;
  EXPECT_EQ(details.find("eyJ"), std::string::npos) << details;
}

TEST_F(PersonServiceTest, PoliciesDecideWhatThePersonMayGrant) {
  // Not in group finance: no refund, and the refusal is on the record.
  auto r = Exchange(IdToken(Claims({"staff"})),
                    {"payments:quote", "payments:refund"});
  EXPECT_EQ(CodeOf(r), Code::kPolicyDenied);
  EXPECT_NE(r.error().message().find("payments:refund"), std::string::npos);
  EXPECT_EQ(Audit().back().decision, "deny");
  // Nothing attached allows calendar:read.
  EXPECT_EQ(CodeOf(Exchange(IdToken(Claims()), {"calendar:read"})),
            Code::kPolicyDenied);
  // A wildcard could cover what a Deny names: refused before deciding.
  EXPECT_EQ(CodeOf(Exchange(IdToken(Claims()), {"payments:*"})),
            Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(Exchange(IdToken(Claims()), {})), Code::kInvalidArgument);
}

TEST_F(PersonServiceTest, OnlyListedAgentsExchangeAnAppsTokens) {
  // kOther holds a valid SVID but is not listed for travel-app's tokens.
  EXPECT_EQ(CodeOf(Exchange(IdToken(Claims()), {"payments:quote"}, kOther)),
            Code::kPermissionDenied);
  // An API key is no actor.
  PersonRootRequest req;
  req.provider = "corp";
  req.subject_token = SecretBytes(std::string_view(IdToken(Claims())));
  req.capabilities = {"payments:quote"};
  EXPECT_EQ(CodeOf(people_->Exchange(admin_, req)), Code::kPermissionDenied);
  req.provider = "elsewhere";
  EXPECT_EQ(CodeOf(people_->Exchange(Principal::Workload(Id(kAgent)), req)),
            Code::kNotFound);
}

TEST_F(PersonServiceTest, TheTokenMustBeValidForTheListedClient) {
  Json aztpd_token = Claims();
  aztpd_token["aud"] = "aztpd";  // issued to aztpd, not to the app
  EXPECT_EQ(CodeOf(Exchange(IdToken(aztpd_token), {"payments:quote"})),
            Code::kAudienceMismatch);
  Json expired = Claims();
  expired["exp"] = kServiceTestNow - 60;
  EXPECT_EQ(CodeOf(Exchange(IdToken(expired), {"payments:quote"})),
            Code::kExpired);
  Json other_issuer = Claims();
  other_issuer["iss"] = "https://login.example.org";
  EXPECT_EQ(CodeOf(Exchange(IdToken(other_issuer), {"payments:quote"})),
            Code::kIssuerMismatch);
  // Signed by a key that is not the provider's.
  PrivateKey stranger = Must(PrivateKey::Generate(KeyType::kEcP256));
  std::string forged = Must(SignCompact(Json{{"alg", "ES256"}, {"kid", "k1"}},
                                        AsBytes(DumpJson(Claims())), stranger));
  EXPECT_EQ(CodeOf(Exchange(forged, {"payments:quote"})), Code::kBadSignature);
  // No root was signed for any of them; each refusal is on the record.
  int refusals = 0;
  for (const AuditRecord& a : Audit()) {
    if (a.action != "person.root") continue;
    EXPECT_EQ(a.decision, "deny");
    ++refusals;
  }
  EXPECT_EQ(refusals, 4);
}

TEST_F(PersonServiceTest, ARevokedAgentGetsNoRoot) {
  IdentityService ids(ctx_);
  ASSERT_TRUE(ids.Revoke(admin_, Id(kAgent), "gone").has_value());
  EXPECT_EQ(CodeOf(Exchange(IdToken(Claims()), {"payments:quote"})),
            Code::kRevoked);
}

// M4 of the review: an ID token is a bearer credential; one exchange, soon
// after the login.
TEST_F(PersonServiceTest, AnIdTokenIsExchangedOnceAndOnlyWhileFresh) {
  const std::string token = IdToken(Claims());
  ASSERT_TRUE(Exchange(token, {"payments:quote"}).has_value());
  auto again = Exchange(token, {"payments:quote"});
  EXPECT_EQ(CodeOf(again), Code::kReplay);
  EXPECT_EQ(again.error().message().find("eyJ"), std::string::npos);
  // Whatever the first exchange's outcome, and whoever asks again.
  const std::string denied = IdToken(Claims({"staff"}));
  EXPECT_EQ(CodeOf(Exchange(denied, {"payments:refund"})), Code::kPolicyDenied);
  EXPECT_EQ(CodeOf(Exchange(denied, {"payments:quote"})), Code::kReplay);
  // Issued 10 min + skew ago: still fresh; a second more: too old, though
  // it has not expired.
  Json old = Claims();
  old["exp"] = kServiceTestNow + 3000;
  old["iat"] = kServiceTestNow - 630;
  EXPECT_TRUE(Exchange(IdToken(old), {"payments:quote"}).has_value());
  old["iat"] = kServiceTestNow - 631;
  EXPECT_EQ(CodeOf(Exchange(IdToken(old), {"payments:quote"})), Code::kExpired);
}

// An ECDSA signature (r, s) has a twin (r, n - s) that verifies too: the
// token's signed part, not its text, is what is used up.
TEST_F(PersonServiceTest, ATwinSignatureIsTheSameToken) {
  auto twin = [](const std::string& token) {
    const std::size_t dot = token.rfind('.');
    Bytes sig = Must(Base64UrlDecode(token.substr(dot + 1)));
    EXPECT_EQ(sig.size(), 64u);
    BIGNUM* n = nullptr;
    EXPECT_GT(BN_hex2bn(&n,
                        "FFFFFFFF00000000FFFFFFFFFFFFFFFF"
                        "BCE6FAADA7179E84F3B9CAC2FC632551"),
              0);
    BIGNUM* s = BN_bin2bn(sig.data() + 32, 32, nullptr);
    BN_sub(s, n, s);
    EXPECT_EQ(BN_bn2binpad(s, sig.data() + 32, 32), 32);
    BN_free(s);
    BN_free(n);
    return token.substr(0, dot + 1) + Base64UrlEncode(sig);
  };
  // The twin alone is a good token: it is exchanged.
  const std::string first = IdToken(Claims());
  ASSERT_NE(twin(first), first);
  ASSERT_TRUE(Exchange(twin(first), {"payments:quote"}).has_value());
  EXPECT_EQ(CodeOf(Exchange(first, {"payments:quote"})), Code::kReplay);
  const std::string second = IdToken(Claims());
  ASSERT_TRUE(Exchange(second, {"payments:quote"}).has_value());
  EXPECT_EQ(CodeOf(Exchange(twin(second), {"payments:quote"})), Code::kReplay);
}

// Two replicas over one store (a second PersonService, as another aztpd
// on the same database): a token exchanged at one is a replay at the
// other, and the mark survives the first being gone.
TEST_F(PersonServiceTest, AnExchangeIsSingleUseAcrossReplicas) {
  PersonProvider p =
      test_support::FakeOpenIdProvider::Provider(idp_, "corp", kIssuer);
  p.exchange_clients[kApp] = {Id(kAgent)};
  PersonService other(ctx_, std::vector<PersonProvider>{p},
                      [this] { return signer_; });
  const std::string token = IdToken(Claims());
  ASSERT_TRUE(Exchange(token, {"payments:quote"}).has_value());
  people_.reset();
  PersonRootRequest r;
  r.provider = "corp";
  r.subject_token = SecretBytes(std::string_view(token));
  r.capabilities = {"payments:quote"};
  EXPECT_EQ(CodeOf(other.Exchange(Principal::Workload(Id(kAgent)), r)),
            Code::kReplay);
}

// A request refused for its own sake leaves the token for a right one;
// refusals of the token are on the record.
TEST_F(PersonServiceTest, ABadRequestDoesNotUseUpTheToken) {
  const std::string token = IdToken(Claims());
  EXPECT_EQ(CodeOf(Exchange(token, {"payments:*"})), Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(Exchange(token, {})), Code::kInvalidArgument);
  EXPECT_TRUE(Exchange(token, {"payments:quote"}).has_value());
  EXPECT_EQ(CodeOf(Exchange(token, {"payments:quote"})), Code::kReplay);
  const AuditRecord last = Audit().back();
  EXPECT_EQ(last.action, "person.root");
  EXPECT_EQ(last.decision, "deny");
  EXPECT_EQ(last.reason, "replay");
  EXPECT_EQ(DumpJson(last.details), R"({"provider":"corp"})");
}

TEST_F(PersonServiceTest, EmptyClaimsAreLeftOutOfTheRoot) {
  Json c = Claims();
  c["name"] = "";
  c["acr"] = "";
  auto root = Exchange(IdToken(c), {"payments:quote"});
  ASSERT_TRUE(root.has_value()) << root.error().message();
  EXPECT_FALSE(root->person.name.has_value());
  EXPECT_FALSE(root->person.acr.has_value());
  ASSERT_TRUE(VerifyAtAgent(root->chain).has_value());
  // An empty group is no set member to leave out: refused, as a verifier
  // would refuse the root.
  c = Claims({"finance", ""});
  EXPECT_EQ(CodeOf(Exchange(IdToken(c), {"payments:quote"})), Code::kMalformed);
}

TEST_F(PersonServiceTest, TooManyGroupsAreRefusedNotTruncated) {
  std::vector<std::string> groups;
  for (int i = 0; i < 33; ++i) groups.push_back("g" + std::to_string(i));
  EXPECT_EQ(CodeOf(Exchange(IdToken(Claims(groups)), {"payments:quote"})),
            Code::kTooLarge);
}

}  // namespace
}  // namespace aztp::services

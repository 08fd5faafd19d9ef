// ValidateIdToken against every check of OpenID Connect Core 1.0 §3.1.3.7
// it makes, and the attacks on ID tokens that RFC 8725 lists: each test
// changes one thing of a good token.
#include "aztp/oidc/id_token.h"

#include <gtest/gtest.h>

#include <limits>

#include "aztp/encoding/base64.h"
#include "aztp/jose/jws.h"

namespace aztp {
namespace {

constexpr UnixTime kNow = 1'800'000'000;
constexpr char kIssuer[] = "https://login.example.com";
constexpr char kClient[] = "aztpd-org-a";
constexpr char kNonce[] = "n-0S6_WzA2Mj";

class IdTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rules_.issuer = kIssuer;
    rules_.client_id = kClient;
    ASSERT_TRUE(keys_.Add(Kid(key_, "k1")).has_value());
  }

  static PrivateKey NewKey(KeyType type = KeyType::kEcP256) {
    return PrivateKey::Generate(type).value();
  }
  static Jwk Kid(const PrivateKey& key, const std::string& kid) {
    Json j = Jwk::FromPublicKey(key.public_key()).ToJson();
    j["kid"] = kid;
    return Jwk::Parse(j).value();
  }
  // Claims are those of a good token: the provider's, for aztpd, now.
  static Json Claims() {
    return Json{{"iss", kIssuer},
                {"sub", "248289761001"},
                {"aud", kClient},
                {"exp", kNow + 300},
                {"iat", kNow - 10},
                {"nonce", kNonce},
                {"email", "alice@example.com"},
                {"email_verified", true},
                {"name", "Alice"},
                {"groups", {"finance", "staff"}},
                {"acr", "mfa"},
                {"amr", {"pwd", "otp"}},
                {"auth_time", kNow - 20}};
  }
  static std::string Sign(const Json& claims, const PrivateKey& key,
                          const std::string& kid = "k1") {
    Json header{{"alg", std::string(AlgorithmName(
                            AlgorithmForKeyType(key.type()).value()))}};
    if (!kid.empty()) header["kid"] = kid;
    return SignCompact(header, AsBytes(DumpJson(claims)), key).value();
  }
  std::string Good() { return Sign(Claims(), key_); }
  // Unsigned builds header.payload.signature by hand, for headers no
  // signer of the library would write.
  static std::string Unsigned(const Json& header, const Json& claims,
                              const std::string& signature = "c2ln") {
    return Base64UrlEncode(DumpJson(header)) + "." +
           Base64UrlEncode(DumpJson(claims)) + "." + signature;
  }
  Result<VerifiedIdToken> Validate(const std::string& token,
                                   std::string_view nonce = kNonce,
                                   UnixTime now = kNow) {
    return ValidateIdToken(token, rules_, keys_, nonce, now);
  }
  static Code CodeOf(const Result<VerifiedIdToken>& r) {
    EXPECT_FALSE(r.has_value());
    return r ? Code::kInternal : r.error().code();
  }

  IdTokenRules rules_;
  PrivateKey key_ = NewKey();
  Jwks keys_;
};

TEST_F(IdTokenTest, AGoodTokenYieldsThePerson) {
  auto v = Validate(Good());
  ASSERT_TRUE(v.has_value()) << v.error().message();
  const IdTokenPerson& p = v->person();
  EXPECT_EQ(p.issuer, kIssuer);
  EXPECT_EQ(p.subject, "248289761001");
  EXPECT_EQ(p.email, "alice@example.com");
  EXPECT_TRUE(p.email_verified);
  EXPECT_EQ(p.name, "Alice");
  EXPECT_EQ(p.groups, (std::vector<std::string>{"finance", "staff"}));
  EXPECT_EQ(p.acr, "mfa");
  EXPECT_EQ(p.amr, (std::vector<std::string>{"pwd", "otp"}));
  EXPECT_EQ(p.auth_time, kNow - 20);
  EXPECT_EQ(v->kid(), "k1");
  EXPECT_EQ(v->expires_at(), kNow + 300);
  EXPECT_EQ(v->claims()["nonce"], kNonce);
}

TEST_F(IdTokenTest, AlgNoneAndHmacAreRefusedWhateverTheKey) {
  // HS256 "signed" with the provider's public key as the secret is the
  // classic confusion (RFC 8725 §2.1): the algorithm alone refuses it.
  for (const char* alg : {"none", "HS256", "HS384", "RS512", "ES512"}) {
    EXPECT_EQ(
        CodeOf(Validate(Unsigned({{"alg", alg}, {"kid", "k1"}}, Claims()))),
        Code::kAlgNotAllowed)
        << alg;
  }
  // The unsecured form proper: "none" and an empty signature.
  EXPECT_FALSE(Validate(Unsigned({{"alg", "none"}}, Claims(), "")).has_value());
}

TEST_F(IdTokenTest, AnAlgorithmTheProviderDoesNotUseIsRefused) {
  rules_.algorithms = {SignatureAlgorithm::kRS256};
  EXPECT_EQ(CodeOf(Validate(Good())), Code::kAlgNotAllowed);
}

TEST_F(IdTokenTest, TheKeyMustBeTheIssuers) {
  // Signed by another key that claims the issuer's kid.
  EXPECT_EQ(CodeOf(Validate(Sign(Claims(), NewKey()))), Code::kBadSignature);
  // A kid the provider's set lacks: the caller refreshes the set once.
  EXPECT_EQ(CodeOf(Validate(Sign(Claims(), NewKey(), "k2"))), Code::kNotFound);
  // No kid: the only key that may verify ES256 is used.
  auto v = Validate(Sign(Claims(), key_, ""));
  ASSERT_TRUE(v.has_value()) << v.error().message();
  EXPECT_EQ(v->kid(), "");
  // No kid, and two candidate keys: ambiguous, refused.
  ASSERT_TRUE(keys_.Add(Kid(NewKey(), "k2")).has_value());
  EXPECT_EQ(CodeOf(Validate(Sign(Claims(), key_, ""))), Code::kMalformed);
  // A token that brings its own key (jwk, jku, x5c in the header; RFC 8725
  // §3.10) is checked with the issuer's key only, and fails.
  PrivateKey attacker = NewKey();
  Json header{{"alg", "ES256"},
              {"jwk", Jwk::FromPublicKey(attacker.public_key()).ToJson()},
              {"jku", "https://evil.example/keys"}};
  Jwks one;
  ASSERT_TRUE(one.Add(Kid(key_, "k1")).has_value());
  auto own_key = SignCompact(header, AsBytes(DumpJson(Claims())), attacker);
  ASSERT_TRUE(own_key.has_value());
  auto r = ValidateIdToken(*own_key, rules_, one, kNonce, kNow);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kBadSignature);
  // An Ed25519 key of the set never verifies an ES256 header.
  Jwks ed;
  PrivateKey ed_key = NewKey(KeyType::kEd25519);
  ASSERT_TRUE(ed.Add(Kid(ed_key, "k1")).has_value());
  EXPECT_FALSE(ValidateIdToken(Good(), rules_, ed, kNonce, kNow).has_value());
}

TEST_F(IdTokenTest, TheIssuerMatchesExactly) {
  for (const char* iss :
       {"https://login.example.com/", "https://LOGIN.example.com",
        "http://login.example.com", "https://login.example.co"}) {
    Json c = Claims();
    c["iss"] = iss;
    EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kIssuerMismatch) << iss;
  }
}

TEST_F(IdTokenTest, TheAudienceIsThisClient) {
  Json c = Claims();
  c["aud"] = "another-client";
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kAudienceMismatch);
  // Several audiences: only trusted ones, and azp names this client.
  c["aud"] = {kClient, "another-client"};
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kAudienceMismatch);
  rules_.trusted_audiences = {"another-client"};
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kAudienceMismatch);
  c["azp"] = kClient;
  EXPECT_TRUE(Validate(Sign(c, key_)).has_value());
  c["azp"] = "another-client";
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kAudienceMismatch);
  c.erase("aud");
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kMalformed);
  c["aud"] = Json::array();
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kMalformed);
}

TEST_F(IdTokenTest, TimesAreCheckedWithTheSkew) {
  EXPECT_TRUE(Validate(Good(), kNonce, kNow + 300 + 29).has_value());
  EXPECT_EQ(CodeOf(Validate(Good(), kNonce, kNow + 300 + 30)), Code::kExpired);
  Json c = Claims();
  c["iat"] = kNow + 31;
  c["exp"] = kNow + 600;
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kNotYetValid);
  c = Claims();
  c["nbf"] = kNow + 60;
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kNotYetValid);
  c = Claims();
  c["exp"] = kNow - 10 + 86401;
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kLifetimeExceeded);
  c = Claims();
  c["exp"] = "soon";
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kMalformed);
  c = Claims();
  c.erase("iat");
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kMalformed);
  // Times whose arithmetic would overflow are no times: a provider's
  // token issued "at -2^63" would otherwise pass the lifetime bound.
  c = Claims();
  c["iat"] = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kMalformed);
  c = Claims();
  c["exp"] = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kMalformed);
  c = Claims();
  c["nbf"] = -1;
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kMalformed);
}

TEST_F(IdTokenTest, TheNonceIsTheLogins) {
  EXPECT_EQ(CodeOf(Validate(Good(), "another-nonce")), Code::kRequestMismatch);
  Json c = Claims();
  c.erase("nonce");
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kRequestMismatch);
  // A token exchange sent no nonce, and compares none.
  EXPECT_TRUE(Validate(Sign(c, key_), "").has_value());
}

TEST_F(IdTokenTest, AcrAndAuthTimeFollowTheRules) {
  rules_.accepted_acr = {"mfa", "phr"};
  EXPECT_TRUE(Validate(Good()).has_value());
  Json c = Claims();
  c["acr"] = "pwd";
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kPolicyDenied);
  c.erase("acr");
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kPolicyDenied);
  rules_.accepted_acr.clear();
  rules_.max_auth_age_seconds = 60;
  EXPECT_TRUE(Validate(Good()).has_value());
  EXPECT_EQ(CodeOf(Validate(Good(), kNonce, kNow + 100)), Code::kPolicyDenied);
  c = Claims();
  c.erase("auth_time");
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kPolicyDenied);
}

TEST_F(IdTokenTest, SubjectAndClaimsAreBounded) {
  for (const std::string& sub :
       {std::string(), std::string(256, 'a'), std::string("caf\xc3\xa9")}) {
    Json c = Claims();
    c["sub"] = sub;
    EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kMalformed);
  }
  Json c = Claims();
  c["sub"] = std::string(255, 'a');
  EXPECT_TRUE(Validate(Sign(c, key_)).has_value());
  c["email"] = std::string(257, 'e');
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kTooLarge);
  c = Claims();
  c["groups"] = Json::array();
  for (int i = 0; i < 65; ++i) c["groups"].push_back("g");
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kTooLarge);
  c = Claims();
  c["groups"] = {"finance", 7};
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kMalformed);
  c = Claims();
  c["email_verified"] = "true";
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kMalformed);
}

TEST_F(IdTokenTest, OnlyIdTokensAreAccepted) {
  // An access token (RFC 9068) or a logout token signed by the same key.
  for (const char* typ : {"at+jwt", "logout+jwt", "secevent+jwt"}) {
    Json header{{"alg", "ES256"}, {"kid", "k1"}, {"typ", typ}};
    auto token = SignCompact(header, AsBytes(DumpJson(Claims())), key_);
    ASSERT_TRUE(token.has_value());
    EXPECT_EQ(CodeOf(Validate(*token)), Code::kMalformed) << typ;
  }
  Json header{{"alg", "ES256"}, {"kid", "k1"}, {"typ", "jwt"}};
  auto token = SignCompact(header, AsBytes(DumpJson(Claims())), key_);
  EXPECT_TRUE(Validate(*token).has_value());
  // Claims that are not an object.
  auto array = SignCompact(Json{{"alg", "ES256"}, {"kid", "k1"}},
                           AsBytes(std::string_view("[1,2]")), key_);
  EXPECT_EQ(CodeOf(Validate(*array)), Code::kMalformed);
}

TEST_F(IdTokenTest, OversizedTokensAreRefusedBeforeParsing) {
  Json c = Claims();
  c["padding"] = std::string(20000, 'x');
  EXPECT_EQ(CodeOf(Validate(Sign(c, key_))), Code::kTooLarge);
}

TEST_F(IdTokenTest, ErrorsNeverCarryTheTokenOrTheNonce) {
  const std::string token = Good();
  auto r = Validate(token, "other");
  ASSERT_FALSE(r.has_value());
  const std::string& message = r.error().message();
  EXPECT_EQ(message.find(token.substr(token.rfind('.') + 1)),
            std::string::npos);
  EXPECT_EQ(message.find(kNonce), std::string::npos);
}

}  // namespace
}  // namespace aztp

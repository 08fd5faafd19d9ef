// ParseProviderMetadata: the discovery document is believed only for the
// issuer it was fetched for, with https endpoints and a code flow aztp can
// use (OpenID Connect Discovery 1.0 §3, §4.3; RFC 8414 §2).
#include "aztp/oidc/provider_metadata.h"

#include <gtest/gtest.h>

#include "aztp/encoding/json.h"

namespace aztp {
namespace {

constexpr char kIssuer[] = "https://login.example.com";

Json Document() {
  return Json{{"issuer", kIssuer},
              {"authorization_endpoint", "https://login.example.com/auth"},
              {"token_endpoint", "https://login.example.com/token"},
              {"jwks_uri", "https://keys.example.com/jwks"},
              {"response_types_supported", {"code", "id_token"}},
              {"subject_types_supported", {"public"}},
              {"id_token_signing_alg_values_supported",
               {"RS256", "HS256", "none", "PS256"}},
              {"code_challenge_methods_supported", {"plain", "S256"}},
              {"token_endpoint_auth_methods_supported",
               {"client_secret_basic", "private_key_jwt"}}};
}

Result<ProviderMetadata> Parse(const Json& doc, bool loopback = false,
                               std::string issuer = kIssuer) {
  ProviderMetadataRules rules;
  rules.issuer = std::move(issuer);
  rules.allow_loopback_http = loopback;
  return ParseProviderMetadata(DumpJson(doc), rules);
}

Code CodeOf(const Result<ProviderMetadata>& r) {
  EXPECT_FALSE(r.has_value());
  return r ? Code::kInternal : r.error().code();
}

TEST(ProviderMetadata, ReadsWhatAztpUses) {
  auto m = Parse(Document());
  ASSERT_TRUE(m.has_value()) << m.error().message();
  EXPECT_EQ(m->issuer, kIssuer);
  EXPECT_EQ(m->authorization_endpoint, "https://login.example.com/auth");
  EXPECT_EQ(m->token_endpoint, "https://login.example.com/token");
  EXPECT_EQ(m->jwks_uri, "https://keys.example.com/jwks");
  // HS256 and none are dropped, never offered to the validator.
  EXPECT_EQ(m->id_token_algorithms,
            (std::vector<SignatureAlgorithm>{SignatureAlgorithm::kRS256,
                                             SignatureAlgorithm::kPS256}));
  EXPECT_EQ(m->token_endpoint_auth_methods.size(), 2u);
}

TEST(ProviderMetadata, IsBelievedOnlyForItsOwnIssuer) {
  // Another provider's document served at this issuer's URL.
  Json doc = Document();
  doc["issuer"] = "https://evil.example.com";
  EXPECT_EQ(CodeOf(Parse(doc)), Code::kIssuerMismatch);
  for (const char* near :
       {"https://login.example.com/", "https://Login.example.com",
        "http://login.example.com"}) {
    doc["issuer"] = near;
    EXPECT_EQ(CodeOf(Parse(doc)), Code::kIssuerMismatch) << near;
  }
  doc.erase("issuer");
  EXPECT_EQ(CodeOf(Parse(doc)), Code::kMalformed);
}

TEST(ProviderMetadata, EndpointsAreHttps) {
  for (const char* member :
       {"authorization_endpoint", "token_endpoint", "jwks_uri"}) {
    for (const char* url : {"http://login.example.com/x", "ftp://h/x",
                            "https://user@login.example.com/x",
                            "https://login.example.com:99999/x", "", "/x"}) {
      Json doc = Document();
      doc[member] = url;
      EXPECT_EQ(CodeOf(Parse(doc)), Code::kMalformed) << member << " " << url;
    }
    Json doc = Document();
    doc.erase(member);
    EXPECT_EQ(CodeOf(Parse(doc)), Code::kMalformed) << member;
  }
}

TEST(ProviderMetadata, LoopbackHttpOnlyForALoopbackTestProvider) {
  const std::string local = "http://127.0.0.1:3000";
  Json doc = Document();
  doc["issuer"] = local;
  doc["authorization_endpoint"] = local + "/auth";
  doc["token_endpoint"] = local + "/token";
  doc["jwks_uri"] = local + "/jwks";
  EXPECT_TRUE(Parse(doc, /*loopback=*/true, local).has_value());
  EXPECT_EQ(CodeOf(Parse(doc, /*loopback=*/false, local)), Code::kMalformed);
  // Even then, http elsewhere than the issuer's loopback host is refused.
  doc["jwks_uri"] = "http://keys.example.com/jwks";
  EXPECT_EQ(CodeOf(Parse(doc, true, local)), Code::kMalformed);
  doc["jwks_uri"] = "http://[::1]:3000/jwks";
  EXPECT_EQ(CodeOf(Parse(doc, true, local)), Code::kMalformed);
}

TEST(ProviderMetadata, NeedsACodeFlowAztpCanUse) {
  Json doc = Document();
  doc["response_types_supported"] = {"id_token", "token id_token"};
  EXPECT_EQ(CodeOf(Parse(doc)), Code::kUnsupported);
  doc = Document();
  doc["id_token_signing_alg_values_supported"] = {"HS256", "none", "RS512"};
  EXPECT_EQ(CodeOf(Parse(doc)), Code::kUnsupported);
  doc = Document();
  doc["code_challenge_methods_supported"] = {"plain"};
  EXPECT_EQ(CodeOf(Parse(doc)), Code::kUnsupported);
  // Silence about PKCE is allowed (RFC 8414 §2); aztp sends S256 anyway.
  doc.erase("code_challenge_methods_supported");
  EXPECT_TRUE(Parse(doc).has_value());
}

TEST(ProviderMetadata, BadDocumentsAreMalformedOrTooLarge) {
  ProviderMetadataRules rules;
  rules.issuer = kIssuer;
  EXPECT_EQ(CodeOf(ParseProviderMetadata("[]", rules)), Code::kMalformed);
  EXPECT_EQ(CodeOf(ParseProviderMetadata("{", rules)), Code::kMalformed);
  Json doc = Document();
  doc["response_types_supported"] = "code";
  EXPECT_EQ(CodeOf(Parse(doc)), Code::kMalformed);
  doc = Document();
  doc["padding"] = std::string(70000, 'x');
  EXPECT_EQ(CodeOf(Parse(doc)), Code::kTooLarge);
}

}  // namespace
}  // namespace aztp

// The pure parts of the code flow: secrets, PKCE (with the example of RFC
// 7636 Appendix B), the authorization URL, the token request and response.
#include "aztp/oidc/login.h"

#include <gtest/gtest.h>

#include <map>

#include "aztp/encoding/base64.h"
#include "aztp/http/form.h"

namespace aztp {
namespace {

std::string Text(const SecretBytes& s) {
  return std::string(s.View(InsecureSecretAccess::Get()));
}

TEST(OidcLogin, SecretsAreFreshUnreservedAnd43Characters) {
  auto a = NewLoginSecrets();
  auto b = NewLoginSecrets();
  ASSERT_TRUE(a.has_value() && b.has_value());
  for (const std::string& v : {a->state, a->nonce, Text(a->code_verifier)}) {
    EXPECT_EQ(v.size(), 43u);
    EXPECT_EQ(http::PercentEncode(v), v) << "only unreserved characters";
  }
  EXPECT_NE(a->state, b->state);
  EXPECT_NE(a->nonce, b->nonce);
  EXPECT_NE(a->state, a->nonce);
  EXPECT_FALSE(a->code_verifier == b->code_verifier);
}

// RFC 6749 §3.3: scope tokens are separated by spaces; runs of spaces
// and spaces at the ends make no empty token.
TEST(OidcLogin, ScopesSplitAndJoinAtSpaces) {
  EXPECT_EQ(ScopeWords("  a:b   c:d "),
            (std::vector<std::string>{"a:b", "c:d"}));
  EXPECT_TRUE(ScopeWords("").empty());
  EXPECT_TRUE(ScopeWords("   ").empty());
  EXPECT_EQ(ScopeString({"openid", "email"}), "openid email");
  EXPECT_EQ(ScopeWords(ScopeString({"x", "y:z"})),
            (std::vector<std::string>{"x", "y:z"}));
}

TEST(OidcLogin, PkceS256MatchesRfc7636AppendixB) {
  EXPECT_EQ(PkceChallenge(SecretBytes(std::string_view(
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"))),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(OidcLogin, TheAuthorizationUrlCarriesTheWholeRequest) {
  AuthorizationRequest r;
  r.client_id = "aztpd org-a";
  r.redirect_uri = "https://aztpd.example/v1/oidc/callback";
  r.scopes = {"openid", "email", "groups"};
  r.state = "st";
  r.nonce = "no";
  r.code_challenge = "ch";
  r.max_age = 600;
  r.acr_values = {"mfa"};
  auto url = AuthorizationUrl("https://login.example.com/auth", r);
  ASSERT_TRUE(url.has_value());
  const std::string prefix = "https://login.example.com/auth?";
  ASSERT_EQ(url->substr(0, prefix.size()), prefix);
  std::map<std::string, std::string> q;
  ASSERT_TRUE(http::ParseForm(url->substr(prefix.size()), q));
  EXPECT_EQ(q, (std::map<std::string, std::string>{
                   {"response_type", "code"},
                   {"client_id", "aztpd org-a"},
                   {"redirect_uri", "https://aztpd.example/v1/oidc/callback"},
                   {"scope", "openid email groups"},
                   {"state", "st"},
                   {"nonce", "no"},
                   {"code_challenge", "ch"},
                   {"code_challenge_method", "S256"},
                   {"max_age", "600"},
                   {"acr_values", "mfa"}}));
  // An endpoint with a query of its own keeps it.
  auto with_query = AuthorizationUrl("https://login.example.com/auth?p=1", r);
  EXPECT_EQ(with_query->rfind("https://login.example.com/auth?p=1&", 0), 0u);
}

TEST(OidcLogin, AnIncompleteAuthorizationRequestIsRefused) {
  AuthorizationRequest r{"c", "https://x/cb", {"openid"}, "s", "n", "ch"};
  EXPECT_TRUE(AuthorizationUrl("https://x/auth", r).has_value());
  r.scopes = {"email", "openid"};
  EXPECT_FALSE(AuthorizationUrl("https://x/auth", r).has_value());
  r.scopes = {"openid"};
  r.state.clear();
  EXPECT_FALSE(AuthorizationUrl("https://x/auth", r).has_value());
}

TEST(OidcLogin, TheTokenRequestAndClientAuthentication) {
  SecretBytes body = TokenRequestBody("c0de&x", "https://x/cb",
                                      SecretBytes(std::string_view("v")), "id");
  std::map<std::string, std::string> form;
  ASSERT_TRUE(http::ParseForm(Text(body), form));
  EXPECT_EQ(form, (std::map<std::string, std::string>{
                      {"grant_type", "authorization_code"},
                      {"code", "c0de&x"},
                      {"redirect_uri", "https://x/cb"},
                      {"code_verifier", "v"},
                      {"client_id", "id"}}));
  // RFC 6749 §2.3.1: form-encode, then base64 "id:secret".
  SecretBytes basic =
      ClientSecretBasic("my client", SecretBytes(std::string_view("s:3cr+t")));
  EXPECT_EQ(Text(basic), "Basic " + Base64Encode(AsBytes(std::string_view(
                                        "my%20client:s%3A3cr%2Bt"))));
}

TEST(OidcLogin, TokenResponses) {
  auto ok = ParseTokenResponse(
      200, R"({"id_token":"a.b.c","access_token":"at","token_type":"bearer",)"
           R"("expires_in":3600})");
  ASSERT_TRUE(ok.has_value()) << ok.error().message();
  EXPECT_EQ(Text(ok->id_token), "a.b.c");
  EXPECT_EQ(Text(*ok->access_token), "at");
  EXPECT_EQ(ok->expires_in, 3600);
  // RFC 6749 §5.2: the error code is named, the description is not.
  auto refused = ParseTokenResponse(
      400, R"({"error":"invalid_grant","error_description":"<script>"})");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), Code::kUnauthenticated);
  EXPECT_NE(refused.error().message().find("invalid_grant"), std::string::npos);
  EXPECT_EQ(refused.error().message().find("script"), std::string::npos);
  EXPECT_EQ(ParseTokenResponse(500, "{}").error().code(), Code::kIo);
  EXPECT_EQ(ParseTokenResponse(200, "[]").error().code(), Code::kMalformed);
  EXPECT_EQ(
      ParseTokenResponse(200, R"({"access_token":"at","token_type":"Bearer"})")
          .error()
          .code(),
      Code::kMalformed);
  EXPECT_EQ(ParseTokenResponse(200, R"({"id_token":"a","token_type":"MAC"})")
                .error()
                .code(),
            Code::kUnsupported);
}

}  // namespace
}  // namespace aztp

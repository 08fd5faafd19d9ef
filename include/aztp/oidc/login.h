// The authorization code flow with PKCE, as a relying party runs it for a
// browser (OpenID Connect Core 1.0 §3.1.2 and §3.1.3; RFC 7636 with S256
// only; OAuth 2.1 rules: no implicit flow, no plain PKCE). These are the
// pure parts: the secrets of one login, the URL the browser is sent to,
// the token request and the token response. Fetching and storing belong
// to the caller.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/base/secret.h"

namespace aztp {

// LoginSecrets are what one login must keep until its callback: `state`
// binds the callback to the login (§3.1.2.1), `nonce` the ID token to it
// (§3.1.2.1), the PKCE code verifier the code to it (RFC 7636 §4.1). Each
// is 32 bytes from the CSPRNG, base64url: 43 characters.
struct LoginSecrets {
  std::string state;
  std::string nonce;
  SecretBytes code_verifier;
};
Result<LoginSecrets> NewLoginSecrets();

// PkceChallenge is BASE64URL(SHA256(ASCII(verifier))) (RFC 7636 §4.2).
std::string PkceChallenge(const SecretBytes& verifier);

// AuthorizationRequest is the browser's request to the provider.
struct AuthorizationRequest {
  std::string client_id;
  std::string redirect_uri;  // aztpd's callback, registered at the provider
  std::vector<std::string> scopes = {"openid"};  // "openid" must be first
  std::string state;
  std::string nonce;
  std::string code_challenge;
  std::optional<int64_t> max_age;       // seconds (§3.1.2.1)
  std::vector<std::string> acr_values;  // preferred, in order
};

// AuthorizationUrl is `endpoint` with the request as its query
// (response_type=code, code_challenge_method=S256); kInvalidArgument when
// "openid" is not the first scope or a value is empty.
Result<std::string> AuthorizationUrl(std::string_view endpoint,
                                     const AuthorizationRequest& request);

// The token exchange of RFC 8693 as aztpd serves it (docs/oidc.md): its
// grant type (§2.1), the subject token's type (an ID token, §3), and the
// issued token's type, an Aztp-Chain value.
inline constexpr std::string_view kTokenExchangeGrant =
    "urn:ietf:params:oauth:grant-type:token-exchange";
inline constexpr std::string_view kIdTokenType =
    "urn:ietf:params:oauth:token-type:id_token";
inline constexpr std::string_view kChainTokenType = "urn:aztp:token-type:chain";

// ScopeString joins OAuth scope tokens with single spaces (RFC 6749 §3.3;
// also acr_values); ScopeWords splits a scope at spaces, dropping empty
// tokens.
std::string ScopeString(const std::vector<std::string>& words);
std::vector<std::string> ScopeWords(std::string_view scope);

// TokenRequestBody is the form body of the code's exchange at the token
// endpoint (RFC 6749 §4.1.3 with RFC 7636 §4.5). A secret in it is the
// verifier, so the body is a secret too.
SecretBytes TokenRequestBody(std::string_view code,
                             std::string_view redirect_uri,
                             const SecretBytes& code_verifier,
                             std::string_view client_id);

// ClientSecretBasic is the Authorization header value of client_secret_basic
// (RFC 6749 §2.3.1: both parts form-encoded, then base64).
SecretBytes ClientSecretBasic(std::string_view client_id,
                              const SecretBytes& secret);

// TokenResponse is the part of a successful token response aztp uses
// (RFC 6749 §5.1; OpenID Connect Core 1.0 §3.1.3.3).
struct TokenResponse {
  SecretBytes id_token;
  std::optional<SecretBytes> access_token;
  std::string token_type;  // "Bearer" (compared case-insensitively)
  std::optional<int64_t> expires_in;
};

// ParseTokenResponse reads the token endpoint's answer. A 400 or 401 with
// an RFC 6749 §5.2 error is kUnauthenticated naming the error code (never
// the description, which the provider writes); any other status, a body
// that is not a JSON object, or no id_token is kMalformed or kIo.
Result<TokenResponse> ParseTokenResponse(int status, std::string_view body);

}  // namespace aztp

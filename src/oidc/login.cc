#include "aztp/oidc/login.h"

#include <algorithm>
#include <cctype>

#include "aztp/crypto/digest.h"
#include "aztp/encoding/base64.h"
#include "aztp/encoding/json.h"
#include "aztp/http/form.h"

namespace aztp {

namespace {

Result<std::string> RandomText() {
  AZTP_ASSIGN_OR_RETURN(Bytes bytes, RandomBytes(32));
  return Base64UrlEncode(bytes);
}

// TokenError reads an RFC 6749 §5.2 error answer.
Error TokenError(int status, const Json* body) {
  std::string code = "(none)";
  if (body != nullptr) {
    auto it = body->find("error");
    if (it != body->end() && it->is_string()) {
      code = QuoteInput(it->get<std::string>());
    }
  }
  return Error(Code::kUnauthenticated, "the provider refused the code (HTTP " +
                                           std::to_string(status) + ", error " +
                                           code + ")");
}

}  // namespace

Result<LoginSecrets> NewLoginSecrets() {
  LoginSecrets s;
  AZTP_ASSIGN_OR_RETURN(s.state, RandomText());
  AZTP_ASSIGN_OR_RETURN(s.nonce, RandomText());
  AZTP_ASSIGN_OR_RETURN(std::string verifier, RandomText());
  s.code_verifier = SecretBytes(verifier);
  std::fill(verifier.begin(), verifier.end(), '\0');
  return s;
}

std::string PkceChallenge(const SecretBytes& verifier) {
  return Base64UrlEncode(Sha256(verifier.Bytes(InsecureSecretAccess::Get())));
}

Result<std::string> AuthorizationUrl(std::string_view endpoint,
                                     const AuthorizationRequest& r) {
  if (r.scopes.empty() || r.scopes.front() != "openid") {
    return Error(Code::kInvalidArgument, "the first scope must be openid");
  }
  for (const std::string* v :
       {&r.client_id, &r.redirect_uri, &r.state, &r.nonce, &r.code_challenge}) {
    if (v->empty()) {
      return Error(Code::kInvalidArgument,
                   "an authorization request needs every value");
    }
  }
  std::vector<std::pair<std::string, std::string>> q = {
      {"response_type", "code"},
      {"client_id", r.client_id},
      {"redirect_uri", r.redirect_uri},
      {"scope", ScopeString(r.scopes)},
      {"state", r.state},
      {"nonce", r.nonce},
      {"code_challenge", r.code_challenge},
      {"code_challenge_method", "S256"}};
  if (r.max_age) q.emplace_back("max_age", std::to_string(*r.max_age));
  if (!r.acr_values.empty())
    q.emplace_back("acr_values", ScopeString(r.acr_values));
  return http::WithQuery(endpoint, q);
}

std::string ScopeString(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

std::vector<std::string> ScopeWords(std::string_view scope) {
  std::vector<std::string> out;
  while (!scope.empty()) {
    const std::size_t space = scope.find(' ');
    if (space != 0) out.emplace_back(scope.substr(0, space));
    if (space == std::string_view::npos) break;
    scope.remove_prefix(space + 1);
  }
  return out;
}

SecretBytes TokenRequestBody(std::string_view code,
                             std::string_view redirect_uri,
                             const SecretBytes& code_verifier,
                             std::string_view client_id) {
  std::string body = http::FormEncode(
      {{"grant_type", "authorization_code"},
       {"code", std::string(code)},
       {"redirect_uri", std::string(redirect_uri)},
       {"code_verifier",
        std::string(code_verifier.View(InsecureSecretAccess::Get()))},
       {"client_id", std::string(client_id)}});
  SecretBytes out(body);
  std::fill(body.begin(), body.end(), '\0');
  return out;
}

SecretBytes ClientSecretBasic(std::string_view client_id,
                              const SecretBytes& secret) {
  std::string pair =
      http::PercentEncode(client_id) + ":" +
      http::PercentEncode(secret.View(InsecureSecretAccess::Get()));
  std::string header = "Basic " + Base64Encode(AsBytes(pair));
  SecretBytes out(header);
  std::fill(pair.begin(), pair.end(), '\0');
  std::fill(header.begin(), header.end(), '\0');
  return out;
}

Result<TokenResponse> ParseTokenResponse(int status, std::string_view body) {
  auto parsed = ParseJson(body);
  const Json* doc = parsed && parsed->is_object() ? &*parsed : nullptr;
  if (status == 400 || status == 401) return TokenError(status, doc);
  if (status != 200) {
    return Error(Code::kIo,
                 "the token endpoint answered HTTP " + std::to_string(status));
  }
  if (doc == nullptr) {
    return Error(Code::kMalformed, "the token response is not a JSON object");
  }
  TokenResponse out;
  AZTP_ASSIGN_OR_RETURN(std::string id_token, GetString(*doc, "id_token"));
  out.id_token = SecretBytes(id_token);
  AZTP_ASSIGN_OR_RETURN(auto access, GetOptionalString(*doc, "access_token"));
  if (access) out.access_token = SecretBytes(*access);
  AZTP_ASSIGN_OR_RETURN(out.token_type, GetString(*doc, "token_type"));
  std::string lower = out.token_type;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (lower != "bearer") {
    return Error(Code::kUnsupported, "token_type must be Bearer, not " +
                                         QuoteInput(out.token_type));
  }
  AZTP_ASSIGN_OR_RETURN(out.expires_in, GetOptionalInt(*doc, "expires_in"));
  return out;
}

}  // namespace aztp

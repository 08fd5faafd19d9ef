#include "testing/fake_openid_provider.h"

#include "aztp/http/form.h"
#include "aztp/oidc/login.h"

namespace aztp::test_support {

std::string FakeOpenIdProvider::Answer(
    const std::map<std::string, std::string>& authorization, Json claims,
    const std::string& code) {
  auto sent = [&](const char* name) {
    auto it = authorization.find(name);
    return it == authorization.end() ? std::string() : it->second;
  };
  if (!claims.contains("aud")) claims["aud"] = "aztpd";
  if (!claims.contains("nonce")) claims["nonce"] = sent("nonce");
  IssueCode(code, Sign(claims), sent("code_challenge"));
  return http::FormEncode({{"state", sent("state")}, {"code", code}});
}

Result<SecretBytes> FakeOpenIdProvider::RedeemCode(
    std::string_view code, std::string_view, const SecretBytes& verifier) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = codes_.find(std::string(code));
  // invalid_grant, as a provider answers a used or unknown code.
  if (it == codes_.end()) {
    return Error(Code::kUnauthenticated, "token endpoint: invalid_grant");
  }
  auto [token, challenge] = it->second;
  codes_.erase(it);
  if (PkceChallenge(verifier) != challenge) {
    return Error(Code::kUnauthenticated, "token endpoint: invalid_grant");
  }
  ++redeemed_;
  return SecretBytes(std::string_view(token));
}

}  // namespace aztp::test_support

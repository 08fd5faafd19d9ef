// The token exchange of docs/oidc.md, for an agent's SDK: the agent's
// credentials authenticate it, the person's ID token is the subject.
#include "aztp/client/client.h"
#include "aztp/http/form.h"
#include "aztp/oidc/login.h"
#include "client_internal.h"

namespace aztp {
namespace {

Result<PersonRoot> ParsePersonRoot(const Json& doc) {
  PersonRoot out;
  AZTP_ASSIGN_OR_RETURN(std::string type, GetString(doc, "issued_token_type"));
  if (type != "urn:aztp:token-type:chain") {
    return Error(Code::kMalformed, "issued_token_type is not a chain");
  }
  AZTP_ASSIGN_OR_RETURN(out.chain, GetString(doc, "access_token"));
  AZTP_ASSIGN_OR_RETURN(out.subject, GetString(doc, "subject"));
  AZTP_ASSIGN_OR_RETURN(out.expires_in, GetInt(doc, "expires_in"));
  AZTP_ASSIGN_OR_RETURN(std::string scope, GetString(doc, "scope"));
  out.capabilities = ScopeWords(scope);
  return out;
}

}  // namespace

Result<PersonRoot> Client::ExchangeIdToken(
    const SecretBytes& id_token, const std::vector<std::string>& capabilities,
    std::string_view provider) {
  std::vector<std::pair<std::string, std::string>> form = {
      {"grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"},
      {"subject_token",
       std::string(id_token.View(InsecureSecretAccess::Get()))},
      {"subject_token_type", "urn:ietf:params:oauth:token-type:id_token"},
      {"scope", ScopeString(capabilities)}};
  if (!provider.empty()) form.emplace_back("provider", std::string(provider));
  std::string body = http::FormEncode(form);
  internal::WipeMemory(form[1].second.data(), form[1].second.size());
  auto answer =
      impl_->Parsed("POST", "/v1/oidc/token", body, /*idempotent=*/false,
                    ParsePersonRoot, "application/x-www-form-urlencoded");
  internal::WipeMemory(body.data(), body.size());
  return answer;
}

}  // namespace aztp

// People in an agent's SDK (docs/oidc.md): the token exchange (the agent's
// credentials authenticate it, the person's ID token is the subject), and
// aztpd's own login, started and redeemed by the agent or its manager.
#include "aztp/client/client.h"
#include "aztp/http/form.h"
#include "aztp/oidc/login.h"
#include "client_internal.h"

namespace aztp {
namespace {

Result<PersonRoot> ParsePersonRoot(const Json& doc) {
  PersonRoot out;
  AZTP_ASSIGN_OR_RETURN(std::string type, GetString(doc, "issued_token_type"));
  if (type != kChainTokenType) {
    return Error(Code::kMalformed, "issued_token_type is not a chain");
  }
  AZTP_ASSIGN_OR_RETURN(out.chain, GetString(doc, "access_token"));
  AZTP_ASSIGN_OR_RETURN(out.subject, GetString(doc, "subject"));
  AZTP_ASSIGN_OR_RETURN(out.expires_in, GetInt(doc, "expires_in"));
  AZTP_ASSIGN_OR_RETURN(std::string scope, GetString(doc, "scope"));
  out.capabilities = ScopeWords(scope);
  return out;
}

Result<StartedLogin> ParseStartedLogin(const Json& doc) {
  StartedLogin out;
  AZTP_ASSIGN_OR_RETURN(out.redirect_url, GetString(doc, "redirect_url"));
  AZTP_ASSIGN_OR_RETURN(out.state, GetString(doc, "state"));
  AZTP_ASSIGN_OR_RETURN(out.expires_at, GetInt(doc, "expires_at"));
  return out;
}

Result<RedeemedLogin> ParseRedeemedLogin(const Json& doc) {
  RedeemedLogin out;
  AZTP_ASSIGN_OR_RETURN(out.agent, GetString(doc, "agent"));
  AZTP_ASSIGN_OR_RETURN(out.provider, GetString(doc, "provider"));
  const Json* person = client_internal::Member(doc, "person");
  if (person == nullptr || !person->is_object()) {
    return WrongMemberType("person", "an object");
  }
  out.person = *person;
  if (client_internal::Member(doc, "chain") != nullptr) {
    PersonRoot root;
    AZTP_ASSIGN_OR_RETURN(root.chain, GetString(doc, "chain"));
    AZTP_ASSIGN_OR_RETURN(root.subject, GetString(doc, "subject"));
    AZTP_ASSIGN_OR_RETURN(
        root.capabilities,
        client_internal::OptionalStringArray(doc, "capabilities"));
    AZTP_ASSIGN_OR_RETURN(root.expires_in, GetInt(doc, "expires_in"));
    out.root = std::move(root);
  }
  return out;
}

}  // namespace

Result<StartedLogin> Client::StartLogin(const LoginStart& login) {
  Json body{{"provider", login.provider},
            {"agent", login.agent.str()},
            {"return_url", login.return_url}};
  if (!login.capabilities.empty()) body["capabilities"] = login.capabilities;
  return impl_->Parsed("POST", "/v1/oidc/login", DumpJson(body),
                       /*idempotent=*/false, ParseStartedLogin);
}

Result<RedeemedLogin> Client::RedeemLogin(const SecretBytes& token,
                                          std::string_view state) {
  Json request{{"token", token.View(InsecureSecretAccess::Get())},
               {"state", state}};
  std::string body = DumpJson(request);
  auto& copy = request["token"].get_ref<std::string&>();
  internal::WipeMemory(copy.data(), copy.size());
  auto answer = impl_->Parsed("POST", "/v1/oidc/login:redeem", body,
                              /*idempotent=*/false, ParseRedeemedLogin);
  internal::WipeMemory(body.data(), body.size());
  return answer;
}

Result<PersonRoot> Client::ExchangeIdToken(
    const SecretBytes& id_token, const std::vector<std::string>& capabilities,
    std::string_view provider) {
  std::vector<std::pair<std::string, std::string>> form = {
      {"grant_type", std::string(kTokenExchangeGrant)},
      {"subject_token",
       std::string(id_token.View(InsecureSecretAccess::Get()))},
      {"subject_token_type", std::string(kIdTokenType)},
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

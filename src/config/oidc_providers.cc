// ResolveOidcProviders: the `oidc.providers` of aztpd's file turned into
// the PersonService's providers, each validating ID tokens with the keys
// its OidcProviderClient fetches (docs/oidc.md).
#include "aztp/base/file.h"
#include "aztp/config/aztpd_config.h"
#include "aztp/crypto/key.h"
#include "aztp/oidc/provider_client.h"

namespace aztp {
namespace {

constexpr std::size_t kMaxSecretFileBytes = 4 << 10;

// ClientProvider is a provider as the services see it, through the client
// that talks to it.
class ClientProvider final : public services::OpenIdProvider {
 public:
  explicit ClientProvider(std::unique_ptr<OidcProviderClient> client)
      : client_(std::move(client)) {}
  Result<VerifiedIdToken> Validate(std::string_view token,
                                   const IdTokenRules& rules,
                                   std::string_view nonce) override {
    return client_->Validate(token, rules, nonce);
  }
  Result<std::string> AuthorizationEndpoint() override {
    AZTP_ASSIGN_OR_RETURN(ProviderMetadata m, client_->Metadata());
    return m.authorization_endpoint;
  }
  Result<SecretBytes> RedeemCode(std::string_view code,
                                 std::string_view redirect_uri,
                                 const SecretBytes& verifier) override {
    AZTP_ASSIGN_OR_RETURN(TokenResponse r,
                          client_->ExchangeCode(code, redirect_uri, verifier));
    return std::move(r.id_token);
  }

 private:
  std::unique_ptr<OidcProviderClient> client_;
};

// ClientAuth reads the provider's client authentication from its files.
// Their content never appears in an error.
Result<OidcClientAuth> ClientAuth(const OidcProviderEntry& e) {
  OidcClientAuth auth;
  if (!e.client_secret_file.empty()) {
    AZTP_ASSIGN_OR_RETURN(
        auth.client_secret,
        ReadSecretLine(e.client_secret_file, kMaxSecretFileBytes));
    if (auth.client_secret->empty()) {
      return Error(Code::kInvalidArgument,
                   e.client_secret_file + " holds no client secret");
    }
  }
  if (!e.private_key_file.empty()) {
    AZTP_ASSIGN_OR_RETURN(SecretBytes pem, ReadSecretFile(e.private_key_file));
    auto key = PrivateKey::FromPkcs8Pem(pem);
    if (!key) return key.error().WithContext(e.private_key_file);
    auth.private_key = std::move(*key);
    auth.key_id = e.private_key_id;
  }
  return auth;
}

Result<services::PersonProvider> Resolve(const OidcProviderEntry& e,
                                         const Clock* clock) {
  OidcProviderOptions o;
  o.issuer = e.issuer;
  o.client_id = e.client_id;
  o.ca_file = e.ca_file;
  o.keys.min_refresh_seconds = e.keys_min_refresh_seconds;
  AZTP_ASSIGN_OR_RETURN(o.auth, ClientAuth(e));
  AZTP_ASSIGN_OR_RETURN(std::unique_ptr<OidcProviderClient> client,
                        OidcProviderClient::Create(std::move(o), clock));
  services::PersonProvider p;
  p.name = e.name;
  p.rules.issuer = e.issuer;
  p.rules.client_id = e.client_id;
  if (!e.algorithms.empty()) {
    p.rules.algorithms.clear();
    for (const std::string& name : e.algorithms) {
      AZTP_ASSIGN_OR_RETURN(SignatureAlgorithm alg, ParseAlgorithm(name));
      p.rules.algorithms.push_back(alg);
    }
  }
  p.rules.accepted_acr = e.accepted_acr;
  p.rules.max_auth_age_seconds = e.max_auth_age_seconds;
  p.exchange_max_token_age_seconds = e.exchange_max_token_age_seconds;
  for (const OidcExchangeClient& x : e.exchange_clients) {
    std::vector<SpiffeId>& agents = p.exchange_clients[x.client_id];
    for (const std::string& text : x.agents) {
      AZTP_ASSIGN_OR_RETURN(SpiffeId id, SpiffeId::ParseUserInput(text));
      agents.push_back(std::move(id));
    }
  }
  if (!e.scopes.empty()) p.scopes = e.scopes;
  p.idp = std::make_shared<ClientProvider>(std::move(client));
  return p;
}

}  // namespace

Result<std::vector<services::PersonProvider>> ResolveOidcProviders(
    const std::vector<OidcProviderEntry>& entries, const Clock* clock) {
  std::vector<services::PersonProvider> out;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto p = Resolve(entries[i], clock);
    if (!p) {
      return p.error().WithContext("oidc.providers[" + std::to_string(i) + "]");
    }
    out.push_back(std::move(*p));
  }
  return out;
}

services::LoginSettings LoginSettingsOf(const OidcLoginConfig& login) {
  services::LoginSettings out;
  out.callback_url = login.callback_url;
  out.login_ttl_seconds = login.ttl_seconds;
  out.result_ttl_seconds = login.result_ttl_seconds;
  for (const OidcReturnUrls& r : login.return_urls) {
    // Validated: a SPIFFE ID; kept in its spiffe:// form.
    auto id = SpiffeId::ParseUserInput(r.agent);
    if (!id) continue;
    auto& urls = out.return_urls[id->str()];
    urls.insert(urls.end(), r.urls.begin(), r.urls.end());
  }
  return out;
}

}  // namespace aztp

#include "aztp/oidc/provider_client.h"

#include <algorithm>
#include <tuple>
#include <utility>
#include <vector>

#include "aztp/crypto/digest.h"
#include "aztp/encoding/base64.h"
#include "aztp/encoding/json.h"
#include "aztp/http/address.h"
#include "aztp/http/form.h"
#include "aztp/http/http.h"
#include "aztp/jose/jws.h"

namespace aztp {

namespace {

// Discovery §4.1.
constexpr std::string_view kDiscoveryPath = "/.well-known/openid-configuration";
// RFC 7523 §2.2.
constexpr std::string_view kJwtBearer =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
constexpr int64_t kAssertionSeconds = 60;

void Wipe(std::string& text) { internal::WipeMemory(text.data(), text.size()); }

std::string Text(const SecretBytes& secret) {
  return std::string(secret.View(InsecureSecretAccess::Get()));
}

// DiscoveryUrl is where the issuer's document is: the issuer without a
// terminating '/', then the well-known path (Discovery §4.1).
std::string DiscoveryUrl(std::string_view issuer) {
  if (issuer.ends_with('/')) issuer.remove_suffix(1);
  return std::string(issuer) + std::string(kDiscoveryPath);
}

// RefuseRedirect: a redirect is never followed; the provider's document
// names where its endpoints are.
Status RefuseRedirect(int status) {
  if (status < 300 || status >= 400) return Ok();
  return Error(Code::kIo, "answered a redirect (HTTP " +
                              std::to_string(status) +
                              "), which is not followed");
}

// Location is a URL as http::Client takes it: the origin to connect to
// and the request target.
struct Location {
  std::string base;
  std::string target;
  bool tls = true;
};

Result<Location> Locate(std::string_view url) {
  AZTP_ASSIGN_OR_RETURN(http::Url u, http::ParseUrl(url));
  Location out;
  out.base = u.scheme + "://" +
             (u.explicit_port ? u.address.str() : u.address.HostForUrl());
  out.target = u.Target();
  out.tls = u.scheme == "https";
  return out;
}

// ClientOptionsFor is how one request to `where` is made: the provider's
// certificate verified with the configured CAs (the system's when none),
// or, for a loopback test provider, plain http.
http::ClientOptions ClientOptionsFor(const OidcProviderOptions& o,
                                     const Location& where,
                                     const Clock* clock) {
  http::ClientOptions c;
  c.base_url = where.base;
  if (where.tls) {
    c.ca_file = o.ca_file;
    c.ca_pem = o.ca_pem;
    c.system_cas = o.ca_file.empty() && o.ca_pem.empty();
  } else {
    // http::Client admits it on 127.0.0.1 and [::1] only.
    c.allow_loopback_http = o.allow_loopback_http;
  }
  c.timeout_seconds = o.timeout_seconds;
  c.max_response_bytes = o.max_response_bytes;
  c.clock = clock;
  return c;
}

// ClientAssertion is the JWT of private_key_jwt (OpenID Connect Core 1.0
// §9; RFC 7523 §3): the client about itself, for the token endpoint, for a
// minute, with a fresh jti.
Result<SecretBytes> ClientAssertion(const OidcClientAuth& auth,
                                    const std::string& client_id,
                                    const std::string& audience, UnixTime now) {
  AZTP_ASSIGN_OR_RETURN(Bytes jti, RandomBytes(32));
  Json header{
      {"alg", std::string(AlgorithmName(auth.private_key->algorithm()))}};
  if (!auth.key_id.empty()) header["kid"] = auth.key_id;
  const Json claims{{"iss", client_id}, {"sub", client_id},
                    {"aud", audience},  {"jti", Base64UrlEncode(jti)},
                    {"iat", now},       {"exp", now + kAssertionSeconds}};
  AZTP_ASSIGN_OR_RETURN(
      std::string jws,
      SignCompact(header, AsBytes(DumpJson(claims)), *auth.private_key));
  SecretBytes out(jws);
  Wipe(jws);
  return out;
}

// WithAssertion is `form` with the assertion's two fields appended (RFC
// 7521 §4.2).
SecretBytes WithAssertion(const SecretBytes& form,
                          const SecretBytes& assertion) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"client_assertion_type", std::string(kJwtBearer)},
      {"client_assertion", Text(assertion)}};
  std::string whole = Text(form) + "&" + http::FormEncode(fields);
  SecretBytes out(whole);
  Wipe(whole);
  Wipe(fields.back().second);
  return out;
}

Status CheckClientAuth(const OidcClientAuth& auth) {
  const bool secret = auth.client_secret.has_value();
  // Neither: a client that only validates ID tokens (token exchange); its
  // ExchangeCode is refused.
  if (secret && auth.private_key.has_value()) {
    return Error(Code::kInvalidArgument,
                 "an OIDC client has at most one of a client secret and a "
                 "private key");
  }
  if (secret && auth.client_secret->empty()) {
    return Error(Code::kInvalidArgument, "the client secret is empty");
  }
  if (secret && !auth.key_id.empty()) {
    return Error(Code::kInvalidArgument,
                 "a key_id applies only with a private key");
  }
  return Ok();
}

Status CheckOptions(const OidcProviderOptions& o) {
  ProviderMetadataRules rules;
  rules.issuer = o.issuer;
  rules.allow_loopback_http = o.allow_loopback_http;
  if (Status url = CheckProviderUrl(o.issuer, "issuer", rules); !url) {
    return Error(Code::kInvalidArgument, url.error().message());
  }
  if (o.client_id.empty()) {
    return Error(Code::kInvalidArgument, "an OIDC client needs its client_id");
  }
  AZTP_RETURN_IF_ERROR(CheckClientAuth(o.auth));
  if (!o.ca_file.empty() && !o.ca_pem.empty()) {
    return Error(Code::kInvalidArgument,
                 "an OIDC provider takes ca_file or ca_pem, not both");
  }
  if (o.timeout_seconds < 1 || o.max_response_bytes < 1 ||
      o.metadata_max_age_seconds < 1 || o.retry_seconds < 0 ||
      o.keys.max_age_seconds < 1 || o.keys.min_refresh_seconds < 1) {
    return Error(Code::kInvalidArgument,
                 "an OIDC provider's timeout, size bound, maximum ages and "
                 "key refresh interval must be positive");
  }
  return Ok();
}

}  // namespace

OidcProviderClient::OidcProviderClient(OidcProviderOptions options,
                                       const Clock* clock)
    : options_(std::move(options)), clock_(clock) {
  keys_ = std::make_unique<OidcKeyCache>(
      [this]() -> Result<std::string> {
        AZTP_ASSIGN_OR_RETURN(ProviderMetadata metadata, Metadata());
        return Fetch(metadata.jwks_uri, "the JWKS of " + options_.issuer);
      },
      options_.keys, clock_);
}

OidcProviderClient::~OidcProviderClient() = default;

Result<std::unique_ptr<OidcProviderClient>> OidcProviderClient::Create(
    OidcProviderOptions options, const Clock* clock) {
  AZTP_RETURN_IF_ERROR(CheckOptions(options));
  if (clock == nullptr) clock = &SystemClock::Default();
  // The CAs are read now, so that a bad ca_file shows before any login.
  AZTP_ASSIGN_OR_RETURN(Location discovery,
                        Locate(DiscoveryUrl(options.issuer)));
  auto probe =
      http::Client::Create(ClientOptionsFor(options, discovery, clock));
  if (!probe)
    return probe.error().WithContext("OIDC provider " + options.issuer);
  return std::unique_ptr<OidcProviderClient>(
      new OidcProviderClient(std::move(options), clock));
}

Result<OidcProviderClient::Answer> OidcProviderClient::Send(
    const std::string& url, const SecretBytes* form,
    const SecretBytes* authorization) {
  AZTP_ASSIGN_OR_RETURN(Location where, Locate(url));
  AZTP_ASSIGN_OR_RETURN(
      std::unique_ptr<http::Client> client,
      http::Client::Create(ClientOptionsFor(options_, where, clock_)));
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Accept", "application/json"}};
  std::string body;
  if (form != nullptr) {
    headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    body = Text(*form);
  }
  if (authorization != nullptr) {
    headers.emplace_back("Authorization", Text(*authorization));
  }
  fetches_.fetch_add(1);
  auto response = client->Send(form != nullptr ? "POST" : "GET", where.target,
                               body, headers);
  Wipe(body);
  if (authorization != nullptr) Wipe(headers.back().second);
  if (!response) return response.error();
  return Answer{response->status, std::move(response->body)};
}

Result<std::string> OidcProviderClient::Fetch(const std::string& url,
                                              std::string_view what) {
  const std::string who(what);
  auto answer = Send(url, nullptr, nullptr);
  if (!answer) return answer.error().WithContext(who);
  Status followed = RefuseRedirect(answer->status);
  if (!followed) return followed.error().WithContext(who);
  if (answer->status != 200) {
    return Error(Code::kIo,
                 who + ": answered HTTP " + std::to_string(answer->status));
  }
  return std::move(answer->body);
}

void OidcProviderClient::Refresh(std::unique_lock<std::mutex>& lock,
                                 UnixTime now) {
  if (refreshing_) {
    refreshed_.wait(lock, [&] { return !refreshing_; });
    return;
  }
  refreshing_ = true;
  attempted_at_ = now;
  lock.unlock();
  // The network, without the client held.
  const std::string what = "the discovery document of " + options_.issuer;
  Result<ProviderMetadata> parsed = [&]() -> Result<ProviderMetadata> {
    AZTP_ASSIGN_OR_RETURN(std::string body,
                          Fetch(DiscoveryUrl(options_.issuer), what));
    ProviderMetadataRules rules;
    rules.issuer = options_.issuer;
    rules.allow_loopback_http = options_.allow_loopback_http;
    rules.max_document_bytes = options_.max_response_bytes;
    auto document = ParseProviderMetadata(body, rules);
    if (!document) return document.error().WithContext(what);
    return document;
  }();
  lock.lock();
  refreshing_ = false;
  refreshed_.notify_all();
  if (!parsed) {
    last_error_ = parsed.error();
    return;
  }
  metadata_ = std::make_shared<const ProviderMetadata>(std::move(*parsed));
  fetched_at_ = now;
  last_error_.reset();
}

Result<ProviderMetadata> OidcProviderClient::Metadata() {
  std::unique_lock<std::mutex> lock(mu_);
  const UnixTime now = clock_->Now();
  const bool due =
      !metadata_ || now - fetched_at_ >= options_.metadata_max_age_seconds;
  const bool may_try =
      !last_error_ || now - attempted_at_ >= options_.retry_seconds;
  // A failed fetch keeps the last good document (Refresh leaves it); while
  // one is under way, the last good document serves.
  if (due && may_try && !(refreshing_ && metadata_)) Refresh(lock, now);
  if (metadata_) return *metadata_;
  if (last_error_) return *last_error_;
  return Error(Code::kUnavailable,
               "the provider's document could not be fetched yet");
}

Result<VerifiedIdToken> OidcProviderClient::Validate(
    std::string_view id_token, const IdTokenRules& rules,
    std::string_view expected_nonce) {
  IdTokenRules ours = rules;
  // The issuer is this provider's; the audience may be another client of
  // it (an app whose users' tokens agents exchange, docs/oidc.md).
  if (ours.issuer.empty()) ours.issuer = options_.issuer;
  if (ours.client_id.empty()) ours.client_id = options_.client_id;
  if (ours.issuer != options_.issuer) {
    return Error(Code::kInvalidArgument,
                 "the rules' issuer is not the provider's");
  }
  AZTP_ASSIGN_OR_RETURN(ProviderMetadata metadata, Metadata());
  // Only what the provider says it signs with (Discovery §3,
  // id_token_signing_alg_values_supported).
  const auto& listed = metadata.id_token_algorithms;
  std::erase_if(ours.algorithms, [&](SignatureAlgorithm alg) {
    return std::find(listed.begin(), listed.end(), alg) == listed.end();
  });
  return keys_->Validate(id_token, ours, expected_nonce);
}

Result<SecretBytes> OidcProviderClient::TokenRequest(
    const ProviderMetadata& metadata, std::string_view code,
    std::string_view redirect_uri, const SecretBytes& code_verifier,
    std::optional<SecretBytes>& authorization) {
  const OidcClientAuth& auth = options_.auth;
  const std::string method =
      auth.client_secret ? "client_secret_basic" : "private_key_jwt";
  // Discovery §3: a provider that lists no methods takes
  // client_secret_basic.
  std::vector<std::string> listed = metadata.token_endpoint_auth_methods;
  if (listed.empty()) listed.push_back("client_secret_basic");
  if (std::find(listed.begin(), listed.end(), method) == listed.end()) {
    return Error(Code::kUnsupported, options_.issuer +
                                         " does not take client "
                                         "authentication by " +
                                         method);
  }
  SecretBytes form =
      TokenRequestBody(code, redirect_uri, code_verifier, options_.client_id);
  if (auth.client_secret) {
    authorization = ClientSecretBasic(options_.client_id, *auth.client_secret);
    return form;
  }
  // RFC 7523 §3: the audience is the token endpoint.
  AZTP_ASSIGN_OR_RETURN(
      SecretBytes assertion,
      ClientAssertion(auth, options_.client_id, metadata.token_endpoint,
                      clock_->Now()));
  return WithAssertion(form, assertion);
}

Result<TokenResponse> OidcProviderClient::ExchangeCode(
    std::string_view code, std::string_view redirect_uri,
    const SecretBytes& code_verifier) {
  if (code.empty() || redirect_uri.empty() || code_verifier.empty()) {
    return Error(Code::kInvalidArgument,
                 "a code exchange needs the code, the redirect URI and the "
                 "code verifier");
  }
  if (!options_.auth.client_secret && !options_.auth.private_key) {
    return Error(Code::kUnsupported,
                 "no client authentication is configured for " +
                     options_.issuer + ": it validates ID tokens only");
  }
  AZTP_ASSIGN_OR_RETURN(ProviderMetadata metadata, Metadata());
  std::optional<SecretBytes> authorization;
  AZTP_ASSIGN_OR_RETURN(
      SecretBytes form,
      TokenRequest(metadata, code, redirect_uri, code_verifier, authorization));
  const std::string who = "the token endpoint of " + options_.issuer;
  auto answer = Send(metadata.token_endpoint, &form,
                     authorization ? &*authorization : nullptr);
  if (!answer) return answer.error().WithContext(who);
  Status followed = RefuseRedirect(answer->status);
  auto tokens = followed ? ParseTokenResponse(answer->status, answer->body)
                         : Result<TokenResponse>(followed.error());
  Wipe(answer->body);
  if (!tokens) return tokens.error().WithContext(who);
  return tokens;
}

}  // namespace aztp

// The relying party's network side of one OpenID provider: its discovery
// document (OpenID Connect Discovery 1.0 §4), its keys (through
// OidcKeyCache) and its token endpoint (OpenID Connect Core 1.0 §3.1.3),
// each fetched over verified TLS.
//
// Every fetch is one request on a fresh connection: GET for the documents,
// POST for the token endpoint. Redirects are never followed (a 3xx is an
// error), a document must come with status 200, bodies are bounded by
// max_response_bytes before they are read, and the Content-Type the
// provider sends is not trusted: the parsers decide. Errors never carry a
// code, a code verifier, a client secret, an assertion or a token.
//
// Stable error codes: kIo for transport failures and unexpected statuses
// (redirects included), kUnauthenticated for a provider's certificate that
// does not verify and for a refused token request (naming the RFC 6749
// §5.2 error), kTooLarge for an answer over the bound, kMalformed for a
// document that does not parse, kIssuerMismatch for a discovery document
// of another issuer (Discovery §4.3).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/base/secret.h"
#include "aztp/crypto/key.h"
#include "aztp/oidc/id_token.h"
#include "aztp/oidc/key_cache.h"
#include "aztp/oidc/login.h"
#include "aztp/oidc/provider_metadata.h"

namespace aztp {

// OidcClientAuth is how aztpd authenticates to the token endpoint: at most
// one of the two; neither for a provider whose ID tokens aztpd only
// validates (token exchange), whose ExchangeCode is then kUnsupported.
struct OidcClientAuth {
  // client_secret_basic (RFC 6749 §2.3.1).
  std::optional<SecretBytes> client_secret;
  // private_key_jwt (OpenID Connect Core 1.0 §9, RFC 7523 §2.2): a JWT
  // signed with this key (ES256, ES384 or EdDSA), whose public key is
  // registered at the provider...
  std::optional<PrivateKey> private_key;
  // ...under this kid, sent in the assertion's header ("": no kid).
  std::string key_id;
};

struct OidcProviderOptions {
  // The exact issuer; its document is at issuer + "/.well-known/openid-
  // configuration" (Discovery §4.1; a trailing '/' of the issuer dropped).
  std::string issuer;
  std::string client_id;
  OidcClientAuth auth;
  // The CAs that verify the provider's TLS certificates, at most one of
  // the two: a PEM file or PEM text. Neither: the system's CAs (web PKI).
  std::string ca_file;
  std::string ca_pem;
  // allow_loopback_http admits a provider whose issuer is plain http on
  // 127.0.0.1 or [::1], with http only on that host (tests only;
  // ProviderMetadataRules::allow_loopback_http).
  bool allow_loopback_http = false;
  int timeout_seconds = 10;  // per step: connect, handshake, send, receive
  std::size_t max_response_bytes = 256 << 10;
  // The document is fetched again when older than this; a failed fetch is
  // tried again no sooner than retry_seconds later.
  int64_t metadata_max_age_seconds = 86400;
  int64_t retry_seconds = 60;
  OidcKeyCacheOptions keys;
};

// OidcProviderClient talks to one provider, for one client registered
// there. Thread-safe.
class OidcProviderClient {
 public:
  // Create checks the options (kInvalidArgument) and reads the CAs (a
  // ca_file that cannot be read is kIo, PEM that does not parse kMalformed),
  // without any fetch. `clock` (default: the system's) dates the cache and
  // the assertions and checks the ID tokens' times.
  static Result<std::unique_ptr<OidcProviderClient>> Create(
      OidcProviderOptions options, const Clock* clock = nullptr);
  OidcProviderClient(const OidcProviderClient&) = delete;
  OidcProviderClient& operator=(const OidcProviderClient&) = delete;
  ~OidcProviderClient();

  // Metadata is the provider's document, fetched when there is none yet or
  // it is older than metadata_max_age_seconds. A failed fetch keeps the
  // last good document and returns it; with none, the fetch's error (the
  // last one again until retry_seconds have passed). One caller fetches at
  // a time, without holding the client: the others use the last good
  // document meanwhile (or wait for the first fetch).
  Result<ProviderMetadata> Metadata();

  // Validate is ValidateIdToken with the keys of the document's jwks_uri
  // (OidcKeyCache: fetched again once for an unknown kid), the algorithms
  // allowed narrowed to those the document lists. rules.issuer must be
  // this provider's or empty (kInvalidArgument otherwise); rules.client_id
  // may be another client of the provider (an app whose users' ID tokens
  // agents exchange); both are filled in with this client's when empty.
  Result<VerifiedIdToken> Validate(std::string_view id_token,
                                   const IdTokenRules& rules,
                                   std::string_view expected_nonce);

  // ExchangeCode sends the authorization code to the token endpoint (RFC
  // 6749 §4.1.3, RFC 7636 §4.5), authenticated as the options say, and
  // reads the answer (ParseTokenResponse); its ID token is not checked
  // here: pass it to Validate with the login's nonce. A provider whose
  // token_endpoint_auth_methods_supported lacks this client's method (no
  // list means client_secret_basic only, Discovery §3) is kUnsupported,
  // before any request.
  Result<TokenResponse> ExchangeCode(std::string_view code,
                                     std::string_view redirect_uri,
                                     const SecretBytes& code_verifier);

  const std::string& issuer() const { return options_.issuer; }
  // fetches counts the requests tried (documents, keys and tokens), for
  // tests and metrics.
  int64_t fetches() const { return fetches_.load(); }

 private:
  // Answer is the status and body of one request.
  struct Answer {
    int status = 0;
    std::string body;
  };

  OidcProviderClient(OidcProviderOptions options, const Clock* clock);
  // Send sends one request to `url`: a GET, or a POST of the form `form`
  // with `authorization` as its Authorization header when given.
  Result<Answer> Send(const std::string& url, const SecretBytes* form,
                      const SecretBytes* authorization);
  // Fetch GETs a document of the provider; `what` names it in errors.
  Result<std::string> Fetch(const std::string& url, std::string_view what);
  // Refresh fetches and parses the document with `lock` (on mu_) released
  // while it does; on success it replaces metadata_. A caller that finds a
  // fetch under way waits for its outcome instead.
  void Refresh(std::unique_lock<std::mutex>& lock, UnixTime now);
  // TokenRequest is the form body of a code's exchange with this client's
  // authentication in it (private_key_jwt), and the Authorization header
  // (client_secret_basic) as `authorization`.
  Result<SecretBytes> TokenRequest(const ProviderMetadata& metadata,
                                   std::string_view code,
                                   std::string_view redirect_uri,
                                   const SecretBytes& code_verifier,
                                   std::optional<SecretBytes>& authorization);

  const OidcProviderOptions options_;
  const Clock* clock_;
  std::atomic<int64_t> fetches_{0};
  std::unique_ptr<OidcKeyCache> keys_;
  std::mutex mu_;                      // guards what follows
  std::condition_variable refreshed_;  // a fetch ended
  bool refreshing_ = false;
  std::shared_ptr<const ProviderMetadata> metadata_;
  UnixTime fetched_at_ = 0;  // of metadata_
  UnixTime attempted_at_ = 0;
  std::optional<Error> last_error_;  // of the last fetch, when it failed
};

}  // namespace aztp

// LoginService: a person's login run by aztpd itself, for an agent or app
// that has no login of its own (docs/oidc.md, "Browser login"). aztpd is
// the OpenID Connect relying party: authorization code flow with PKCE S256,
// `state` and `nonce` (OpenID Connect Core 1.0 §3.1; OAuth 2.1 rules), its
// own callback, and a one-time result handed to the app's registered
// return URL, which the app redeems for the person (and, when it asked for
// capabilities, the root of a chain that acts for the person).
//
// Pending logins and results are tickets in the store (store/coordination.h):
// single use, short-lived, bounded in number, and shared by the replicas of
// one database, so that a login started at one replica can come back to any
// other (docs/scaling.md). Expired ones are swept by the maintenance leader.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/base/secret.h"
#include "aztp/encoding/json.h"
#include "aztp/services/people.h"

namespace aztp::services {

struct LoginSettings {
  // callback_url: aztpd's GET /v1/oidc/callback as the providers know it
  // (registered there as aztpd's redirect URI).
  std::string callback_url;
  int64_t login_ttl_seconds = 600;          // from Start to the callback
  int64_t result_ttl_seconds = 120;         // from the callback to Redeem
  std::size_t max_pending = 10000;          // logins and results, each
  std::size_t max_pending_per_agent = 100;  // logins awaiting a callback
  // return_urls: per agent (SPIFFE ID), the URLs its logins may return to,
  // compared byte for byte: no prefix, no wildcard, no open redirect.
  std::map<std::string, std::vector<std::string>> return_urls;
};

struct LoginRequest {
  std::string provider;
  SpiffeId agent;  // the login is for this agent (its app)
  std::string return_url;
  // capabilities: when not empty, the result also holds a root for the
  // person with these (PersonService's rules); empty: the person only.
  std::vector<std::string> capabilities;
  // aztp_alias: the return URL names the agent as aztp://<td>/<path>, as
  // the hosted SDK's callers expect (protocol §1.5); else spiffe://.
  bool aztp_alias = false;
};

struct StartedLogin {
  std::string redirect_url;  // the provider's authorization request
  std::string state;         // echoed to the return URL
  UnixTime expires_at = 0;
};

// CallbackRequest is the provider's answer at aztpd's callback (RFC 6749
// §4.1.2 and §4.1.2.1, RFC 9207 `iss`).
struct CallbackRequest {
  std::string state;
  std::string code;
  std::string error;  // set when the provider refused
  std::string iss;    // optional
};

// LoginResult is what the app redeems, once.
struct LoginResult {
  SpiffeId agent;
  std::string state;  // the login's: the app checks it is its user's
  std::string provider;
  IdTokenPerson person;
  std::optional<PersonRoot> root;
};

// LoginReturn is where a callback sends the browser back to: the login's
// registered return URL, to which the route adds `token` (the one-time
// result), `agent`, `provider` and `state`, or `error` and `state`.
struct LoginReturn {
  std::string url;
  std::optional<SecretBytes> token;  // the one-time result, or none and
  std::string error;                 // a stable reason
  SpiffeId agent;
  bool aztp_alias = false;  // name the agent as aztp:// (the hosted SDK's)
  std::string provider;
  std::string state;
};

class LoginService {
 public:
  LoginService(const ServiceContext& ctx, PersonService& people,
               LoginSettings settings);

  // Start begins a login for `request.agent`, by the agent's own SVID or a
  // key that manages it; the return URL must be registered for the agent
  // (kInvalidArgument otherwise), the provider configured (kNotFound).
  Result<StartedLogin> Start(const Principal& who, LoginRequest request);

  // Callback finishes a login at aztpd's callback and says where to send
  // the browser: the login's return URL with the one-time result, or with
  // the reason when the provider refused or the ID token did not validate
  // (audited). An unknown, used or expired state is an error without a URL
  // (kNotFound): nothing is redirected for it.
  Result<LoginReturn> Callback(const CallbackRequest& request);

  // Redeem hands out a login's result once, to the agent's own SVID or a
  // key that manages it (kNotFound for an unknown, used or expired token).
  // With `state`, it must be the login's (kNotFound otherwise, and the
  // result stays): an app that keeps the state in its user's session
  // binds the result to the browser that started the login (no login
  // CSRF, RFC 6749 §10.12).
  Result<LoginResult> Redeem(const Principal& who, const SecretBytes& token,
                             const std::optional<std::string>& state = {});

  const LoginSettings& settings() const { return settings_; }

 private:
  // Finish redeems the code and validates the ID token of a login whose
  // ticket the callback took.
  Result<LoginResult> Finish(const LoginRequest& request,
                             const std::string& nonce,
                             const SecretBytes& code_verifier,
                             const CallbackRequest& r);
  // Keep stores a finished login's result under a new one-time token.
  Result<SecretBytes> Keep(const LoginResult& result, UnixTime now);

  const ServiceContext& ctx_;
  PersonService& people_;
  LoginSettings settings_;
};

// IdTokenPersonJson renders a person as /v1/oidc/login:redeem answers it:
// issuer, subject, and the claims the ID token had.
Json IdTokenPersonJson(const IdTokenPerson& person);
// IdTokenPersonFromJson reads what IdTokenPersonJson wrote (kMalformed).
Result<IdTokenPerson> IdTokenPersonFromJson(const Json& doc);

}  // namespace aztp::services

// A person's chain started on egress (docs/proxy.md "A person's chain"):
// the app hands its proxy what it received for its user, the one-time
// result of aztpd's login (with the login's state) or the user's ID token,
// and the proxy obtains the person's root from its control plane with its
// own SVID. Plain code, no coroutines: the runtime runs StartPersonRoot off
// its connection threads.
#pragma once

#include <boost/beast/http/message.hpp>
#include <optional>
#include <string>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/base/secret.h"
#include "aztp/client/client.h"

namespace aztp::internal {

// kMaxPersonCredentialBytes bounds an Aztp-Login, Aztp-Login-State or
// Aztp-Id-Token value (an ID token is a few KiB; the header is bounded by
// max_header_bytes too).
inline constexpr std::size_t kMaxPersonCredentialBytes = 16 << 10;

// PersonCredential is a person's credential an app passed on egress.
struct PersonCredential {
  enum class Kind { kLogin, kIdToken };
  Kind kind = Kind::kLogin;
  SecretBytes secret;    // the login's one-time token, or the ID token
  std::string state;     // kLogin: the login's state
  std::string provider;  // kIdToken: the provider's name, or empty
};

// PersonCredentialOf reads the credential of an egress request: nullopt
// when it carries none; kInvalidArgument when it carries both kinds, a
// login without its state (or a state alone), a provider without an ID
// token, an ID token without Aztp-Capabilities, one beside Aztp-Txn (a
// transaction already has its subject), or an empty or oversized value.
Result<std::optional<PersonCredential>> PersonCredentialOf(
    const boost::beast::http::request_header<>& req);

// kLoginPath is the egress listener's own route where the app starts a
// person's login for the proxy's identity: POST, origin form, no
// Aztp-Target.
inline constexpr std::string_view kLoginPath = "/aztp/login";
inline constexpr std::size_t kMaxLoginStartBytes = 16 << 10;

// CheckLoginStartHead: the head of POST /aztp/login keeps the egress
// listener's HTTP rules (http_rules.h) and says Content-Type:
// application/json (a form or text/plain body is what a web page can send
// without a CORS preflight).
Status CheckLoginStartHead(const boost::beast::http::request_header<>& req);

// ParseLoginStart reads the body of POST /aztp/login, strict JSON with
// only {"provider", "return_url", "capabilities"?} (strings; an array of
// strings), for the agent `self`; the control plane decides the values.
Result<LoginStart> ParseLoginStart(std::string_view body, const SpiffeId& self);

// StartPersonRoot obtains the person's root from the control plane with
// `client` (the proxy's own SVID): it redeems the login, or exchanges the
// ID token for `capabilities` (required then: concrete capabilities, as
// the token endpoint takes them). Blocking. Errors keep the control
// plane's reason; no part of the secret is in them.
Result<std::string> StartPersonRoot(
    Client& client, const PersonCredential& credential,
    const std::vector<std::string>& capabilities);

}  // namespace aztp::internal

// The token endpoint of RFC 8693 (OAuth 2.0 Token Exchange) for people:
// an agent, authenticated by its own X.509-SVID over mTLS, exchanges a
// person's OpenID Connect ID token for the root of a chain that acts for
// that person (docs/oidc.md). Decodes the form, calls PersonService,
// encodes the answer as RFC 8693 §2.2 describes, errors as RFC 6749 §5.2.
#include <map>
#include <set>

#include "api.h"
#include "aztp/http/form.h"
#include "aztp/oidc/login.h"
#include "routes.h"

namespace aztp::internal {
namespace {

using services::Permission;

// OAuthError is an RFC 6749 §5.2 answer, with aztp's stable reason beside
// the OAuth error code.
Json OAuthError(RouteCall& c, int status, std::string_view error,
                const Error& e) {
  c.reply.status = status;
  return Json{{"error", std::string(error)},
              {"error_description", e.message()},
              {"reason", std::string(e.reason())}};
}

Json OAuthError(RouteCall& c, std::string_view error, std::string message) {
  return OAuthError(c, 400, error,
                    Error(Code::kInvalidArgument, std::move(message)));
}

// ExchangeError maps a service error to its OAuth error (RFC 8693 §2.2.2).
Json ExchangeError(RouteCall& c, const Error& e) {
  switch (e.code()) {
    case Code::kInvalidArgument:
      return OAuthError(c, 400, "invalid_request", e);
    case Code::kPolicyDenied:
      return OAuthError(c, 400, "invalid_scope", e);
    case Code::kPermissionDenied:
    case Code::kRevoked:
      return OAuthError(c, 400, "unauthorized_client", e);
    case Code::kUnavailable:
    case Code::kIo:
    case Code::kInternal:
      return OAuthError(c, 503, "temporarily_unavailable", e);
    default:  // the subject token's own failure: expired, bad_signature, ...
      return OAuthError(c, 400, "invalid_grant", e);
  }
}

// DecodeExchange reads the form of RFC 8693 §2.1; nullopt and an answer in
// `c` when it is not one aztpd serves.
std::optional<services::PersonRootRequest> DecodeExchange(RouteCall& c,
                                                          Json& answer) {
  std::map<std::string, std::string> f;
  if (c.request.Header("content-type")
              .rfind("application/x-www-form-urlencoded", 0) != 0 ||
      !http::ParseFormOnce(c.request.body, f)) {
    answer = OAuthError(c, "invalid_request",
                        "send an application/x-www-form-urlencoded body, "
                        "each parameter once");
    return std::nullopt;
  }
  static const std::set<std::string> kKnown = {
      "grant_type", "subject_token",        "subject_token_type",
      "scope",      "requested_token_type", "audience",
      "provider"};
  for (const auto& [name, value] : f) {
    if (!kKnown.contains(name)) {
      // actor_token and resource included: the actor is the mTLS peer.
      answer = OAuthError(c, "invalid_request",
                          "parameter " + QuoteInput(name) + " is not served");
      return std::nullopt;
    }
  }
  if (f["grant_type"] != kTokenExchangeGrant) {
    answer = OAuthError(
        c, 400, "unsupported_grant_type",
        Error(Code::kInvalidArgument,
              "grant_type must be " + std::string(kTokenExchangeGrant)));
    return std::nullopt;
  }
  if (f["subject_token_type"] != kIdTokenType || f["subject_token"].empty()) {
    answer =
        OAuthError(c, "invalid_request",
                   "subject_token must be an ID token, subject_token_type " +
                       std::string(kIdTokenType));
    return std::nullopt;
  }
  if (f.contains("requested_token_type") &&
      f["requested_token_type"] != kChainTokenType) {
    answer = OAuthError(
        c, "invalid_request",
        "requested_token_type must be " + std::string(kChainTokenType));
    return std::nullopt;
  }
  if (f.contains("audience") && f["audience"] != c.who().svid()->str()) {
    answer = OAuthError(c, 400, "invalid_target",
                        Error(Code::kInvalidArgument,
                              "the root's audience is the calling agent"));
    return std::nullopt;
  }
  services::PersonRootRequest r;
  r.provider = f["provider"];
  r.subject_token = SecretBytes(std::string_view(f["subject_token"]));
  r.capabilities = ScopeWords(f["scope"]);
  return r;
}

Result<services::LoginRequest> DecodeLogin(const http::Request& req,
                                           const TrustDomain& td) {
  AZTP_ASSIGN_OR_RETURN(Json body, BodyObject(req));
  AZTP_RETURN_IF_ERROR(
      OnlyMembers(body, {"provider", "agent", "return_url", "capabilities"}));
  AZTP_ASSIGN_OR_RETURN(SpiffeId agent, WorkloadId(body, "agent", td));
  services::LoginRequest r{"", std::move(agent), "", {}};
  AZTP_ASSIGN_OR_RETURN(r.provider, GetString(body, "provider"));
  AZTP_ASSIGN_OR_RETURN(r.return_url, GetString(body, "return_url"));
  AZTP_ASSIGN_OR_RETURN(
      auto capabilities,
      OptionalStrings(body, "capabilities", services::kMaxPersonCapabilities));
  r.capabilities = capabilities.value_or(std::vector<std::string>());
  return r;
}

// LoginReturnUrl is the login's return URL with its outcome's parameters.
std::string LoginReturnUrl(const services::LoginReturn& back) {
  if (!back.token) {
    return http::WithQuery(back.url,
                           {{"error", back.error}, {"state", back.state}});
  }
  std::string token(back.token->View(InsecureSecretAccess::Get()));
  std::string url = http::WithQuery(
      back.url,
      {{"token", token},
       {"agent", back.aztp_alias ? back.agent.alias() : back.agent.str()},
       {"provider", back.provider},
       {"state", back.state}});
  internal::WipeMemory(token.data(), token.size());
  return url;
}

// LoginResultJson is a redeemed login as /v1/oidc/login:redeem answers it.
Json LoginResultJson(const services::LoginResult& r, UnixTime now) {
  Json out{{"agent", r.agent.str()},
           {"provider", r.provider},
           {"person", services::IdTokenPersonJson(r.person)}};
  if (r.root) {
    out["subject"] = r.root->subject;
    out["chain"] = r.root->chain;
    out["capabilities"] = r.root->capabilities.Strings();
    out["expires_in"] = r.root->expires_at - now;
  }
  return out;
}

}  // namespace

void AddLoginRoutes(RouteTable& t, services::LoginService& s,
                    const TrustDomain& td) {
  // Who may run a login for an agent is the service's rule: the agent's own
  // SVID or a key that manages it.
  t.Add({"POST", "/v1/oidc/login", Permission::kAuthenticated, "",
         [&s, td](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(auto request, DecodeLogin(c.request, td));
           AZTP_ASSIGN_OR_RETURN(auto started,
                                 s.Start(c.who(), std::move(request)));
           return Json{{"redirect_url", std::move(started.redirect_url)},
                       {"state", std::move(started.state)},
                       {"expires_at", started.expires_at}};
         }});
  // The provider sends the browser here: anyone, limited per address.
  t.Add({"GET", "/v1/oidc/callback", Permission::kPublic, "",
         [&s](RouteCall& c) -> Result<Json> {
           const auto& q = c.request.query;
           auto value = [&q](const char* name) {
             auto it = q.find(name);
             return it == q.end() ? std::string() : it->second;
           };
           AZTP_ASSIGN_OR_RETURN(services::LoginReturn back,
                                 s.Callback({value("state"), value("code"),
                                             value("error"), value("iss")}));
           c.reply.location = LoginReturnUrl(back);
           c.reply.status = 303;
           c.reply.no_store = true;
           return Json{{"redirect", true}};
         }});
  t.Add({"POST", "/v1/oidc/login:redeem", Permission::kAuthenticated, "",
         [&s](RouteCall& c) -> Result<Json> {
           c.reply.no_store = true;
           AZTP_ASSIGN_OR_RETURN(Json body, BodyObject(c.request));
           AZTP_RETURN_IF_ERROR(OnlyMembers(body, {"token", "state"}));
           AZTP_ASSIGN_OR_RETURN(std::string token, GetString(body, "token"));
           // The login's state, as the app kept it in its user's session.
           AZTP_ASSIGN_OR_RETURN(std::string state, GetString(body, "state"));
           const SecretBytes secret{std::string_view(token)};
           internal::WipeMemory(token.data(), token.size());
           AZTP_ASSIGN_OR_RETURN(auto result, s.Redeem(c.who(), secret, state));
           return LoginResultJson(result, c.now);
         }});
}

void AddPersonRoutes(RouteTable& t, services::PersonService& s) {
  t.Add({"POST", "/v1/oidc/token", Permission::kWorkloadSvid,
         "a token exchange is made by the agent itself, with its X.509-SVID",
         [&s](RouteCall& c) -> Result<Json> {
           c.reply.no_store = true;  // RFC 6749 §5.1
           Json answer;
           auto request = DecodeExchange(c, answer);
           if (!request) return answer;
           auto root = s.Exchange(c.who(), std::move(*request));
           if (!root) return ExchangeError(c, root.error());
           return Json{{"access_token", std::move(root->chain)},
                       {"issued_token_type", std::string(kChainTokenType)},
                       {"token_type", "N_A"},
                       {"expires_in", root->expires_at - c.now},
                       {"scope", ScopeString(root->capabilities.Strings())},
                       {"subject", root->subject}};
         }});
}

}  // namespace aztp::internal

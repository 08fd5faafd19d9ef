// The hosted SDK's OIDC routes (docs/compat.md, docs/oidc.md): a login
// that aztpd runs for an agent (POST oidc/provider), and the one-time
// result the browser brings back to the app (POST oidc/validate-jwt-token).
// The SDK's OIDC sub-client reads the envelope itself, so the answers carry
// their members beside `data` too.
#include "aztp/services/logins.h"
#include "hosted_routes.h"

namespace aztp::compat::hosted {
namespace {

using services::Permission;

// ReturnUrl is the login's return URL: the body's returnUrl (or
// callbackUrl, as the TypeScript SDK names it), else the agent's only
// registered one.
Result<std::string> ReturnUrl(const Json& body, const Backend& b,
                              const SpiffeId& agent) {
  for (const char* name : {"returnUrl", "callbackUrl"}) {
    AZTP_ASSIGN_OR_RETURN(auto url, StringMember(body, name));
    if (url) return *url;
  }
  const auto& registered = b.services.logins.settings().return_urls;
  auto it = registered.find(agent.str());
  if (it != registered.end() && it->second.size() == 1) {
    return it->second.front();
  }
  return BadInput("returnUrl is required: one of the URLs registered for " +
                  ToAztp(agent.str()));
}

Result<Answer> Provider(const Backend& b, RouteCall& c) {
  AZTP_ASSIGN_OR_RETURN(Json body, Body(c.request));
  body = WithoutNulls(
      body, {"provider", "agent", "stateless", "returnUrl", "callbackUrl"});
  AZTP_ASSIGN_OR_RETURN(auto provider, StringMember(body, "provider"));
  AZTP_ASSIGN_OR_RETURN(auto agent_text, StringMember(body, "agent"));
  if (!provider || !agent_text)
    return BadInput("provider and agent are required");
  AZTP_ASSIGN_OR_RETURN(SpiffeId agent, HostedId(*agent_text, "agent"));
  AZTP_ASSIGN_OR_RETURN(std::string url, ReturnUrl(body, b, agent));
  // `stateless` is accepted and changes nothing: the result is one-time.
  AZTP_ASSIGN_OR_RETURN(
      services::StartedLogin started,
      FromService(b.services.logins.Start(
          c.who(), services::LoginRequest{*provider,
                                          agent,
                                          url,
                                          {},
                                          /*aztp_alias=*/true})));
  Json fields{{"redirectUrl", started.redirect_url},
              {"redirect_url", started.redirect_url},
              {"state", started.state}};
  Answer a = Envelope(200, true, "AZTP-OIDC-S-001", "Login started", fields);
  a.top = std::move(fields);
  return a;
}

Result<Answer> Validate(const Backend& b, RouteCall& c) {
  AZTP_ASSIGN_OR_RETURN(Json body, Body(c.request));
  AZTP_ASSIGN_OR_RETURN(auto token, StringMember(body, "token"));
  if (!token) return BadInput("token is required");
  const SecretBytes secret{std::string_view(*token)};
  auto result = b.services.logins.Redeem(c.who(), secret);
  if (!result) {
    if (result.error().code() != Code::kNotFound) {
      return FromService(result.error());
    }
    Answer a =
        Invalid("AZTP-OIDC-E-001", "unknown, used or expired login token");
    a.top = Json{{"valid", false}};
    return a;
  }
  const IdTokenPerson& p = result->person;
  Json user{{"sub", p.subject},
            // Only an address the provider verified: an app may key
            // accounts by it.
            {"email", p.email && p.email_verified ? Json(*p.email) : Json()},
            {"name", p.name ? Json(*p.name) : Json()},
            {"provider", result->provider},
            {"agent", ToAztp(result->agent.str())},
            {"issuer", p.issuer}};
  Json fields{{"valid", true}, {"user", user}, {"token_type", "aztp_login"}};
  Answer a = Envelope(200, true, "AZTP-OIDC-S-002", "Login valid", fields);
  a.top = std::move(fields);
  return a;
}

}  // namespace

void AddOidcRoutes(RouteTable& t, const Backend& b) {
  // An API key that manages the agent (LoginService's rule).
  constexpr auto any = Permission::kAuthenticated;
  t.Add({"POST", "/astha/v1/oidc/provider", any, "",
         Handler([&b](RouteCall& c) { return Provider(b, c); })});
  t.Add({"POST", "/astha/v1/oidc/validate-jwt-token", any, "",
         Handler([&b](RouteCall& c) { return Validate(b, c); })});
}

}  // namespace aztp::compat::hosted

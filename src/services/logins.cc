#include "aztp/services/logins.h"

#include <algorithm>

#include "aztp/crypto/digest.h"
#include "aztp/encoding/base64.h"
#include "aztp/oidc/login.h"
#include "aztp/services/audit_entry.h"
#include "login_tickets.h"
#include "records.h"

namespace aztp::services {
namespace {

// TokenKey is how a result is kept: the SHA-256 of its token, so that the
// table never holds a redeemable secret.
std::string TokenKey(const SecretBytes& token) {
  return Base64UrlEncode(Sha256(token.Bytes(InsecureSecretAccess::Get())));
}

Status MayActFor(const Principal& who, const SpiffeId& agent) {
  if (who.MayObtainSvid(agent)) return Ok();
  return Error(Code::kPermissionDenied,
               "these credentials may not run logins for " + agent.str());
}

}  // namespace

LoginService::LoginService(const ServiceContext& ctx, PersonService& people,
                           LoginSettings settings)
    : ctx_(ctx), people_(people), settings_(std::move(settings)) {}

Result<StartedLogin> LoginService::Start(const Principal& who,
                                         LoginRequest request) {
  AZTP_RETURN_IF_ERROR(MayActFor(who, request.agent));
  // A revoked agent learns nobody's identity, with or without a root.
  AZTP_RETURN_IF_ERROR(ctx_.store->Read([&](Transaction& tx) -> Status {
    return RequireActive(tx, request.agent);
  }));
  if (settings_.callback_url.empty()) {
    return Error(Code::kUnavailable,
                 "logins need oidc.login.callback_url in aztpd's settings");
  }
  auto registered = settings_.return_urls.find(request.agent.str());
  if (registered == settings_.return_urls.end() ||
      std::find(registered->second.begin(), registered->second.end(),
                request.return_url) == registered->second.end()) {
    return Error(Code::kInvalidArgument,
                 "the return URL is not registered for " + request.agent.str());
  }
  if (!request.capabilities.empty()) {
    AZTP_RETURN_IF_ERROR(PersonCapabilities(request.capabilities));
  }
  AZTP_ASSIGN_OR_RETURN(const PersonProvider* provider,
                        people_.Provider(request.provider));
  AZTP_ASSIGN_OR_RETURN(std::string endpoint,
                        provider->idp->AuthorizationEndpoint());
  AZTP_ASSIGN_OR_RETURN(LoginSecrets secrets, NewLoginSecrets());
  AuthorizationRequest a;
  a.client_id = provider->rules.client_id;
  a.redirect_uri = settings_.callback_url;
  a.scopes = provider->scopes;
  a.state = secrets.state;
  a.nonce = secrets.nonce;
  a.code_challenge = PkceChallenge(secrets.code_verifier);
  if (provider->rules.max_auth_age_seconds > 0) {
    a.max_age = provider->rules.max_auth_age_seconds;
  }
  a.acr_values = provider->rules.accepted_acr;
  StartedLogin out;
  AZTP_ASSIGN_OR_RETURN(out.redirect_url, AuthorizationUrl(endpoint, a));
  out.state = secrets.state;
  const UnixTime now = ctx_.Now();
  out.expires_at = now + settings_.login_ttl_seconds;
  AuditRecord started =
      MakeAudit(now, who.actor(), "person.login.start", request.agent.str(),
                Json{{"provider", request.provider},
                     {"return_url", request.return_url},
                     {"capabilities", request.capabilities}});
  const std::string agent = request.agent.str();
  AZTP_ASSIGN_OR_RETURN(SecretBytes body,
                        login_tickets::EncodePending(
                            {std::move(request), std::move(secrets.nonce),
                             std::move(secrets.code_verifier)}));
  // Counted, kept and on the record in one transaction, or not started.
  AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(int64_t all,
                          tx.CountTickets(login_tickets::kPending, {}, now));
    AZTP_ASSIGN_OR_RETURN(int64_t of_agent,
                          tx.CountTickets(login_tickets::kPending, agent, now));
    if (static_cast<std::size_t>(all) >= settings_.max_pending ||
        static_cast<std::size_t>(of_agent) >= settings_.max_pending_per_agent) {
      return Error(Code::kUnavailable, "too many logins in progress");
    }
    AZTP_RETURN_IF_ERROR(tx.PutTicket(TicketRecord{
        login_tickets::kPending, out.state, agent, body, out.expires_at}));
    return Appended(tx.AppendAudit(started));
  }));
  return out;
}

Result<LoginResult> LoginService::Finish(const LoginRequest& request,
                                         const std::string& nonce,
                                         const SecretBytes& code_verifier,
                                         const CallbackRequest& r) {
  AZTP_ASSIGN_OR_RETURN(const PersonProvider* provider,
                        people_.Provider(request.provider));
  if (!r.error.empty()) {
    // The provider's own error code names what it refused (RFC 6749
    // §4.1.2.1); its description is the provider's text and stays out.
    return Error(Code::kUnauthenticated,
                 "the provider refused the login: " + QuoteInput(r.error));
  }
  // RFC 9207: when the provider names itself, it must be this login's.
  if (!r.iss.empty() && r.iss != provider->rules.issuer) {
    return Error(Code::kIssuerMismatch,
                 "the callback's iss is not the login's provider");
  }
  if (r.code.empty()) return Error(Code::kInvalidArgument, "no code");
  AZTP_ASSIGN_OR_RETURN(
      SecretBytes id_token,
      provider->idp->RedeemCode(r.code, settings_.callback_url, code_verifier));
  AZTP_ASSIGN_OR_RETURN(
      VerifiedIdToken token,
      provider->idp->Validate(id_token.View(InsecureSecretAccess::Get()),
                              provider->rules, nonce));
  LoginResult out{request.agent, r.state, provider->name, token.person(),
                  std::nullopt};
  if (!request.capabilities.empty()) {
    AZTP_ASSIGN_OR_RETURN(CapabilitySet caps,
                          PersonCapabilities(request.capabilities));
    AZTP_ASSIGN_OR_RETURN(
        out.root, people_.Issue("oidc-login:" + provider->name, request.agent,
                                token, caps));
  }
  return out;
}

namespace {

// TakePending takes the pending login of `state` out of the store: single
// use, whatever follows (OpenID Connect Core 1.0 §3.1.2.7).
Result<login_tickets::PendingLogin> TakePending(Store& store,
                                                const std::string& state,
                                                UnixTime now) {
  std::optional<TicketRecord> ticket;
  AZTP_RETURN_IF_ERROR(store.Write([&](Transaction& tx) -> Status {
    if (state.empty()) return Ok();
    AZTP_ASSIGN_OR_RETURN(ticket,
                          tx.GetTicket(login_tickets::kPending, state, now));
    if (!ticket) return Ok();
    return tx.DeleteTicket(login_tickets::kPending, state);
  }));
  if (!ticket) {
    return Error(Code::kNotFound, "no login is waiting for this state");
  }
  return login_tickets::DecodePending(ticket->body);
}

}  // namespace

Result<LoginReturn> LoginService::Callback(const CallbackRequest& r) {
  const UnixTime now = ctx_.Now();
  AZTP_ASSIGN_OR_RETURN(login_tickets::PendingLogin login,
                        TakePending(*ctx_.store, r.state, now));
  const LoginRequest& request = login.request;
  LoginReturn back{request.return_url, std::nullopt,     "",     request.agent,
                   request.aztp_alias, request.provider, r.state};
  auto result = Finish(request, login.nonce, login.code_verifier, r);
  AuditRecord a =
      MakeAudit(now, "oidc-login:" + request.provider, "person.login",
                request.agent.str(), Json{{"provider", request.provider}});
  if (!result) {
    a.decision = "deny";
    a.reason = std::string(result.error().reason());
    back.error = a.reason;
  } else {
    auto person = PersonSubject(result->person.issuer, result->person.subject);
    if (person) a.details["person"] = *person;
  }
  // Every login's outcome is on the record, or the browser is told the
  // login is unavailable (its result is dropped).
  if (!ctx_.store->Write([&](Transaction& tx) -> Status {
        return Appended(tx.AppendAudit(a));
      })) {
    back.error = "unavailable";
    return back;
  }
  if (!result) return back;
  auto token = Keep(*result, now);
  if (!token) {
    back.error = "unavailable";
    return back;
  }
  back.token = std::move(*token);
  return back;
}

Result<SecretBytes> LoginService::Keep(const LoginResult& result,
                                       UnixTime now) {
  // The one-time result is the base64url text of 32 random bytes; the
  // store keeps only its digest.
  AZTP_ASSIGN_OR_RETURN(Bytes random, RandomBytes(32));
  std::string encoded = Base64UrlEncode(random);
  SecretBytes token{std::string_view(encoded)};
  internal::WipeMemory(random.data(), random.size());
  internal::WipeMemory(encoded.data(), encoded.size());
  AZTP_ASSIGN_OR_RETURN(SecretBytes body, login_tickets::EncodeResult(result));
  AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(int64_t all,
                          tx.CountTickets(login_tickets::kResult, {}, now));
    if (static_cast<std::size_t>(all) >= settings_.max_pending) {
      return Error(Code::kUnavailable, "too many login results waiting");
    }
    return tx.PutTicket(TicketRecord{login_tickets::kResult, TokenKey(token),
                                     result.agent.str(), body,
                                     now + settings_.result_ttl_seconds});
  }));
  return token;
}

Result<LoginResult> LoginService::Redeem(
    const Principal& who, const SecretBytes& token,
    const std::optional<std::string>& state) {
  const UnixTime now = ctx_.Now();
  const std::string key = TokenKey(token);
  std::optional<LoginResult> out;
  AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto ticket,
                          tx.GetTicket(login_tickets::kResult, key, now));
    if (!ticket) {
      return Error(Code::kNotFound, "no login result for this token");
    }
    AZTP_ASSIGN_OR_RETURN(LoginResult result,
                          login_tickets::DecodeResult(ticket->body));
    AZTP_RETURN_IF_ERROR(MayActFor(who, result.agent));
    if (state && *state != result.state) {
      return Error(Code::kNotFound, "no login result for this token and state");
    }
    AZTP_RETURN_IF_ERROR(tx.DeleteTicket(login_tickets::kResult, key));
    out = std::move(result);
    return Ok();
  }));
  return std::move(*out);
}

Json IdTokenPersonJson(const IdTokenPerson& p) {
  Json person{{"issuer", p.issuer}, {"subject", p.subject}};
  if (p.email) person["email"] = *p.email;
  person["email_verified"] = p.email_verified;
  if (p.name) person["name"] = *p.name;
  person["groups"] = p.groups;
  if (p.acr) person["acr"] = *p.acr;
  person["amr"] = p.amr;
  if (p.auth_time) person["auth_time"] = *p.auth_time;
  return person;
}

}  // namespace aztp::services

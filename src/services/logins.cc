#include "aztp/services/logins.h"

#include <algorithm>

#include "aztp/crypto/digest.h"
#include "aztp/encoding/base64.h"
#include "aztp/oidc/login.h"
#include "aztp/services/audit_entry.h"
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

void LoginService::Sweep(UnixTime now) {
  std::erase_if(pending_,
                [now](const auto& p) { return p.second.expires_at <= now; });
  std::erase_if(results_,
                [now](const auto& r) { return r.second.expires_at <= now; });
}

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
  std::unique_lock<std::mutex> lock(mu_);
  Sweep(now);
  const auto of_agent = std::count_if(
      pending_.begin(), pending_.end(),
      [&](const auto& p) { return p.second.request.agent == request.agent; });
  if (pending_.size() >= settings_.max_pending ||
      static_cast<std::size_t>(of_agent) >= settings_.max_pending_per_agent) {
    return Error(Code::kUnavailable, "too many logins in progress");
  }
  AuditRecord started =
      MakeAudit(now, who.actor(), "person.login.start", request.agent.str(),
                Json{{"provider", request.provider},
                     {"return_url", request.return_url},
                     {"capabilities", request.capabilities}});
  pending_.emplace(secrets.state,
                   Pending{std::move(request), std::move(secrets.nonce),
                           std::move(secrets.code_verifier), out.expires_at});
  lock.unlock();
  // On the record, or not started.
  auto recorded = ctx_.store->Write([&](Transaction& tx) -> Status {
    return Appended(tx.AppendAudit(started));
  });
  if (!recorded) {
    std::lock_guard<std::mutex> relock(mu_);
    pending_.erase(out.state);
    return recorded.error();
  }
  return out;
}

Result<LoginResult> LoginService::Finish(const Pending& login,
                                         const CallbackRequest& r) {
  AZTP_ASSIGN_OR_RETURN(const PersonProvider* provider,
                        people_.Provider(login.request.provider));
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
      provider->idp->RedeemCode(r.code, settings_.callback_url,
                                login.code_verifier));
  AZTP_ASSIGN_OR_RETURN(
      VerifiedIdToken token,
      provider->idp->Validate(id_token.View(InsecureSecretAccess::Get()),
                              provider->rules, login.nonce));
  LoginResult out{login.request.agent, r.state, provider->name, token.person(),
                  std::nullopt};
  if (!login.request.capabilities.empty()) {
    AZTP_ASSIGN_OR_RETURN(CapabilitySet caps,
                          PersonCapabilities(login.request.capabilities));
    AZTP_ASSIGN_OR_RETURN(out.root,
                          people_.Issue("oidc-login:" + provider->name,
                                        login.request.agent, token, caps));
  }
  return out;
}

Result<LoginReturn> LoginService::Callback(const CallbackRequest& r) {
  const UnixTime now = ctx_.Now();
  std::optional<Pending> found;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Sweep(now);
    auto it = pending_.find(r.state);
    if (r.state.empty() || it == pending_.end()) {
      return Error(Code::kNotFound, "no login is waiting for this state");
    }
    // Single use, whatever follows (OpenID Connect Core 1.0 §3.1.2.7).
    found = std::move(it->second);
    pending_.erase(it);
  }
  const Pending& login = *found;
  LoginReturn back{login.request.return_url,
                   std::nullopt,
                   "",
                   login.request.agent,
                   login.request.aztp_alias,
                   login.request.provider,
                   r.state};
  {
    // Room for the result before anything is signed.
    std::lock_guard<std::mutex> lock(mu_);
    if (results_.size() >= settings_.max_pending) {
      back.error = "unavailable";
      return back;
    }
  }
  auto result = Finish(login, r);
  AuditRecord a = MakeAudit(now, "oidc-login:" + login.request.provider,
                            "person.login", login.request.agent.str(),
                            Json{{"provider", login.request.provider}});
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
  // The one-time result is the base64url text of 32 random bytes.
  AZTP_ASSIGN_OR_RETURN(Bytes random, RandomBytes(32));
  std::string encoded = Base64UrlEncode(random);
  back.token = SecretBytes(std::string_view(encoded));
  internal::WipeMemory(random.data(), random.size());
  internal::WipeMemory(encoded.data(), encoded.size());
  std::lock_guard<std::mutex> lock(mu_);
  if (results_.size() >= settings_.max_pending) {
    back.token.reset();
    back.error = "unavailable";
    return back;
  }
  results_.emplace(TokenKey(*back.token),
                   Finished{*result, now + settings_.result_ttl_seconds});
  return back;
}

Result<LoginResult> LoginService::Redeem(
    const Principal& who, const SecretBytes& token,
    const std::optional<std::string>& state) {
  const UnixTime now = ctx_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  Sweep(now);
  auto it = results_.find(TokenKey(token));
  if (it == results_.end()) {
    return Error(Code::kNotFound, "no login result for this token");
  }
  AZTP_RETURN_IF_ERROR(MayActFor(who, it->second.result.agent));
  if (state && *state != it->second.result.state) {
    return Error(Code::kNotFound, "no login result for this token and state");
  }
  LoginResult out = std::move(it->second.result);
  results_.erase(it);
  return out;
}

}  // namespace aztp::services

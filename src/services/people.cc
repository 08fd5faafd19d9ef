#include "aztp/services/people.h"

#include <algorithm>

#include "aztp/base/bytes.h"
#include "aztp/crypto/digest.h"
#include "aztp/encoding/base64.h"
#include "aztp/jose/jws.h"
#include "aztp/policy/policy.h"
#include "aztp/services/audit_entry.h"
#include "aztp/services/coordination.h"
#include "records.h"

namespace aztp::services {
namespace {

// PersonContext is what the agent's policies decide on: the person's keys
// (policy.h, AddPersonContext), the agent as the target, and the time.
PolicyContext PersonContext(const std::string& subject,
                            const PersonClaims& person, const SpiffeId& agent,
                            UnixTime now) {
  PolicyContext c;
  AddPersonContext(c, subject, person);
  c.SetString("aztp:TargetId", agent.str());
  c.SetTime("aztp:CurrentTime", now);
  return c;
}

// FirstRefused is the first capability the policies do not allow, with the
// decision's reason.
std::optional<std::pair<std::string, std::string>> FirstRefused(
    const Attached& attached, const CapabilitySet& caps,
    const PolicyContext& context) {
  for (const Capability& c : caps.items()) {
    PolicyRequest r;
    r.action = c.str();
    r.context = context;
    Decision d = EvaluateAll(attached.pointers(), r);
    if (!d.allowed()) return std::make_pair(c.str(), d.reason);
  }
  return std::nullopt;
}

}  // namespace

Result<CapabilitySet> PersonCapabilities(
    const std::vector<std::string>& asked) {
  if (asked.empty() || asked.size() > kMaxPersonCapabilities) {
    return Error(Code::kInvalidArgument,
                 "ask for 1 to " + std::to_string(kMaxPersonCapabilities) +
                     " capabilities");
  }
  AZTP_ASSIGN_OR_RETURN(CapabilitySet caps, CapabilitySet::FromStrings(asked));
  for (const Capability& c : caps.items()) {
    // A wildcard could cover an action a Deny statement names: a person's
    // root grants what was decided, action by action.
    if (c.IsWildcard()) {
      return Error(Code::kInvalidArgument,
                   "a person's root grants concrete capabilities, not " +
                       QuoteInput(c.str()));
    }
  }
  return caps;
}

Result<PersonClaims> PersonClaimsOf(const IdTokenPerson& p) {
  // An empty value says nothing: it is left out rather than refused.
  auto said = [](const std::optional<std::string>& v) {
    return v && !v->empty() ? v : std::nullopt;
  };
  PersonClaims out;
  out.email = said(p.email);
  out.email_verified = out.email && p.email_verified;
  out.name = said(p.name);
  out.groups = p.groups;
  out.acr = said(p.acr);
  out.amr = p.amr;
  out.auth_time = p.auth_time;
  // The root's parser refuses duplicates; an ID token's lists are sets.
  for (auto* list : {&out.groups, &out.amr}) {
    std::sort(list->begin(), list->end());
    list->erase(std::unique(list->begin(), list->end()), list->end());
  }
  // The bounds of `prs` are its parser's, applied as every verifier will:
  // too many groups or an oversized value are refused, never truncated
  // (dropping one could hide a group a Deny statement names).
  auto bounded = PersonClaims::FromJson(out.ToJson());
  if (!bounded) return bounded.error().WithContext("the ID token's claims");
  return bounded;
}

PersonService::PersonService(const ServiceContext& ctx,
                             std::vector<PersonProvider> providers,
                             RootSigner signer)
    : ctx_(ctx),
      providers_(std::move(providers)),
      signer_(std::move(signer)),
      exchanged_(std::make_shared<StoreClaims>(ctx.store)) {}

Result<const PersonProvider*> PersonService::Provider(
    std::string_view name) const {
  for (const PersonProvider& p : providers_) {
    if (p.name == name) return &p;
  }
  return Error(Code::kNotFound,
               "no OpenID provider " + QuoteInput(name) + " is configured");
}

Result<const PersonProvider*> PersonService::ProviderOf(
    const SecretBytes& token) const {
  // Only to choose the rules: ValidateIdToken checks `iss` exactly after
  // the signature.
  JwsLimits limits;
  limits.max_compact_bytes = IdTokenRules().max_token_bytes;
  auto jws = ParseCompact(token.View(InsecureSecretAccess::Get()), limits);
  if (!jws) return jws.error().WithContext("subject_token");
  auto claims = ParseJson(AsChars(jws->payload()));
  if (!claims || !claims->is_object()) {
    return Error(Code::kMalformed, "subject_token: claims are no JSON object");
  }
  auto iss = GetString(*claims, "iss");
  if (!iss) return iss.error().WithContext("subject_token");
  for (const PersonProvider& p : providers_) {
    if (p.rules.issuer == *iss) return &p;
  }
  return Error(Code::kNotFound, "no OpenID provider is configured for issuer " +
                                    QuoteInput(*iss));
}

Result<VerifiedIdToken> PersonService::ValidateForAgent(
    const PersonProvider& provider, const SecretBytes& token,
    const SpiffeId& agent) const {
  std::optional<Error> last;
  for (const auto& [client, agents] : provider.exchange_clients) {
    if (std::find(agents.begin(), agents.end(), agent) == agents.end()) {
      continue;
    }
    IdTokenRules rules = provider.rules;
    rules.client_id = client;
    auto v = provider.idp->Validate(token.View(InsecureSecretAccess::Get()),
                                    rules, "");
    if (v) return v;
    last = v.error();
    // Another listed client may be the token's audience; any other
    // failure is the token's own.
    if (last->code() != Code::kAudienceMismatch) break;
  }
  if (!last) {
    return Error(Code::kPermissionDenied,
                 agent.str() + " may not exchange ID tokens of " +
                     QuoteInput(provider.name));
  }
  return last->WithContext("subject_token");
}

Status PersonService::FirstFreshExchange(const PersonProvider& provider,
                                         const VerifiedIdToken& token,
                                         const SecretBytes& raw) {
  // An ID token is a bearer credential of the login it proves: one
  // exchange, soon after the login, is all an app needs (RFC 8725 §3.8).
  const UnixTime now = ctx_.Now();
  const int64_t skew = provider.rules.skew_seconds;
  if (now - token.issued_at() >
      provider.exchange_max_token_age_seconds + skew) {
    return Error(Code::kExpired,
                 "subject_token: issued more than " +
                     std::to_string(provider.exchange_max_token_age_seconds) +
                     " s ago; exchange an ID token of a recent login");
  }
  // The signed part names the token: an ECDSA signature has a second
  // valid form (s and n - s), so the whole compact text does not.
  std::string_view compact = raw.View(InsecureSecretAccess::Get());
  compact = compact.substr(0, compact.rfind('.'));
  const Sha256Digest digest = Sha256(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(compact.data()), compact.size()));
  // Remembered while it could be exchanged: until it expires or grows too
  // old, whichever comes first (both bounded by CheckTimes), the last
  // second included.
  const UnixTime usable_until =
      std::min(token.expires_at(),
               token.issued_at() + provider.exchange_max_token_age_seconds) +
      skew + 1;
  auto first = exchanged_->CheckAndRemember(
      provider.rules.issuer, Base64UrlEncode(digest), usable_until, now);
  if (first) return Ok();
  if (first.error().code() == Code::kReplay) {
    return Error(Code::kReplay,
                 "subject_token: this ID token was exchanged before; an ID "
                 "token is exchanged once");
  }
  return first.error();
}

Result<PersonRoot> PersonService::Exchange(const Principal& who,
                                           PersonRootRequest request) {
  if (!who.svid()) {
    return Error(Code::kPermissionDenied,
                 "a token exchange is made by the agent itself, with its "
                 "X.509-SVID: the agent is the actor and the root's audience");
  }
  const SpiffeId& agent = *who.svid();
  // A request refused for its own sake does not use up the person's token.
  AZTP_ASSIGN_OR_RETURN(CapabilitySet caps,
                        PersonCapabilities(request.capabilities));
  std::string provider = request.provider;
  auto token = Exchangeable(agent, request, provider);
  if (!token) {
    // The refusal is on the record, with the provider, never the token.
    const Error& e = token.error();
    AuditRecord a = MakeAudit(ctx_.Now(), who.actor(), "person.root",
                              agent.str(), Json{{"provider", provider}});
    a.decision = "deny";
    a.reason = std::string(e.reason());
    AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
      return Appended(tx.AppendAudit(a));
    }));
    return e;
  }
  return Issue(who.actor(), agent, *token, caps);
}

Result<VerifiedIdToken> PersonService::Exchangeable(
    const SpiffeId& agent, const PersonRootRequest& request,
    std::string& provider_name) {
  AZTP_ASSIGN_OR_RETURN(const PersonProvider* provider,
                        request.provider.empty()
                            ? ProviderOf(request.subject_token)
                            : Provider(request.provider));
  provider_name = provider->name;
  AZTP_ASSIGN_OR_RETURN(
      VerifiedIdToken token,
      ValidateForAgent(*provider, request.subject_token, agent));
  AZTP_RETURN_IF_ERROR(
      FirstFreshExchange(*provider, token, request.subject_token));
  return token;
}

Result<PersonRoot> PersonService::Issue(const std::string& actor,
                                        const SpiffeId& agent,
                                        const VerifiedIdToken& token,
                                        const CapabilitySet& capabilities) {
  const CapabilitySet& caps = capabilities;
  const int64_t seconds = kPersonRootTtl;
  std::shared_ptr<const HopSigner> signer = signer_();
  if (!signer) return Error(Code::kUnavailable, "no server SVID yet");
  const UnixTime now = ctx_.Now();
  PersonRoot out;
  AZTP_ASSIGN_OR_RETURN(out.subject, PersonSubject(token.person().issuer,
                                                   token.person().subject));
  AZTP_ASSIGN_OR_RETURN(out.person, PersonClaimsOf(token.person()));
  AZTP_ASSIGN_OR_RETURN(Bytes txn, RandomBytes(16));
  MintOptions m;
  m.audience = agent;
  m.capabilities = caps;
  m.subject = out.subject;
  m.person = out.person;
  m.txn = HexEncode(txn);
  m.ttl_seconds = std::min<int64_t>(seconds, signer->not_after() - now);
  const PolicyContext context =
      PersonContext(out.subject, out.person, agent, now);
  std::optional<Error> refused;
  AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
    AZTP_RETURN_IF_ERROR(RequireActive(tx, agent));
    AZTP_ASSIGN_OR_RETURN(Attached attached, ReadAttached(tx, agent, {}));
    AuditRecord a = MakeAudit(now, actor, "person.root", agent.str(),
                              Json{{"person", out.subject},
                                   {"txn", *m.txn},
                                   {"capabilities", caps.ToJson()}});
    if (auto no = FirstRefused(attached, caps, context)) {
      refused = Error(Code::kPolicyDenied, QuoteInput(no->first) + " for " +
                                               out.subject + ": " + no->second);
      a.decision = "deny";
      a.reason = std::string(refused->reason());
      return Appended(tx.AppendAudit(a));
    }
    AZTP_ASSIGN_OR_RETURN(out.chain, MintChain(*signer, m, now));
    return Appended(tx.AppendAudit(a));
  }));
  if (refused) return *refused;
  out.capabilities = caps;
  out.expires_at = now + m.ttl_seconds;
  return out;
}

}  // namespace aztp::services

// The hosted policy routes (docs/compat.md, "Policies"):
// get-identity-access-policy, get-identity-action-permissions, and the
// policy decision of a connection check with policyCode. Each calls
// PolicyService as the hosted caller, like the native routes do.
#include <algorithm>
#include <map>

#include "hosted_routes.h"

namespace aztp::compat::hosted {

namespace {

using services::Permission;

// kMaxActions bounds the actions of one permissions request (one decision
// each).
constexpr std::size_t kMaxActions = 32;
// kConnectAction is the action a policy must allow for a connection check
// with policyCode (docs/compat.md).
constexpr char kConnectAction[] = "connect";

services::PolicyService& Policies(const Backend& b) {
  return b.services.policies;
}

// Decide asks PolicyService for one decision of `identity`'s policies (or
// of `policy` alone), as the hosted caller.
Result<services::AuthorizeResult> Decide(
    const Backend& b, const RouteCall& c, const SpiffeId& identity,
    const std::string& action, const std::optional<std::string>& policy,
    const std::map<std::string, std::string>& context) {
  services::AuthorizeRequest request{identity, action};
  request.policy_id = policy;
  for (const auto& [key, value] : context) {
    request.context.SetString(key, value);
  }
  return Policies(b).Authorize(c.who(), std::move(request));
}

// HostedPolicy is the hosted policy object (§5.1 of the SDK notes: the
// SDK's get_policy_value filters on `code` or `policyName` and returns
// `policyStatement`).
Json HostedPolicy(const PolicyRecord& p) {
  auto document = ParseJson(p.document);
  return Json{{"code", p.id},
              {"policyName", p.name},
              {"policyStatement", document ? *document : Json()},
              {"description", p.description},
              {"version", p.version},
              {"createdAt", p.created_at},
              {"updatedAt", p.updated_at}};
}

Result<SpiffeId> QueryId(const RouteCall& c) {
  const std::string text = Query(c.request, "aztpId");
  if (text.empty()) return BadInput("aztpId is required");
  return HostedId(text, "aztpId");
}

Result<Answer> Policies(const Backend& b, RouteCall& c) {
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, QueryId(c));
  AZTP_ASSIGN_OR_RETURN(auto policies,
                        FromService(Policies(b).AttachedTo(c.who(), id)));
  Json data = Json::array();
  for (const auto& p : policies) data.push_back(HostedPolicy(p));
  return Envelope(200, true, "AZTP-POL-S-001", "Identity access policies found",
                  std::move(data));
}

// PermissionsRequest is a decoded get-identity-action-permissions query.
struct PermissionsRequest {
  SpiffeId id;
  std::optional<std::string> policy;
  std::vector<std::string> actions;
  std::map<std::string, std::string> context;
};

Result<PermissionsRequest> DecodePermissions(const RouteCall& c) {
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, QueryId(c));
  PermissionsRequest out{std::move(id)};
  // policy_code ("policy:<hex>") and policy_id name the same thing here.
  for (const char* name : {"policy_code", "policy_id"}) {
    std::string value = Query(c.request, name);
    if (value.empty()) continue;
    if (out.policy && *out.policy != value) {
      return BadInput("policy_code and policy_id name different policies");
    }
    out.policy = value;
  }
  const std::string list = Query(c.request, "action");
  for (std::size_t at = 0; at <= list.size();) {
    std::size_t comma = std::min(list.find(',', at), list.size());
    std::string a = list.substr(at, comma - at);
    a.erase(0, a.find_first_not_of(" \t"));
    a.erase(a.find_last_not_of(" \t") + 1);
    if (!a.empty()) out.actions.push_back(std::move(a));
    at = comma + 1;
  }
  if (out.actions.empty()) {
    return BadInput("action is required (one or more, comma-separated)");
  }
  if (out.actions.size() > kMaxActions) {
    return BadInput("at most 32 actions may be asked at once");
  }
  if (std::string td = Query(c.request, "trust_domain"); !td.empty()) {
    out.context["aztp:CallerTrustDomain"] = td;
  }
  return out;
}

Result<Answer> Permissions(const Backend& b, RouteCall& c) {
  AZTP_ASSIGN_OR_RETURN(PermissionsRequest p, DecodePermissions(c));
  Json decisions = Json::object();
  for (const auto& action : p.actions) {
    auto d = Decide(b, c, p.id, action, p.policy, p.context);
    if (!d && d.error().code() == Code::kNotFound && p.policy) {
      // Either the identity or the policy's attachment is missing.
      AZTP_RETURN_IF_ERROR(IdentityOf(b, c.who(), p.id));
      return Envelope(404, false, "AZTP-POL-E-001",
                      "Policy " + QuoteInput(*p.policy) +
                          " is not attached to " + ToAztp(p.id.str()),
                      Json());
    }
    if (!d) return FromService(d.error());
    decisions[action] = d->decision.allowed();
  }
  // The map is wrapped once more ({"success", "data"}): the hosted SDK hands
  // back the envelope's data, and the SDK's own policy demo reads
  // result["data"][action] from it (docs/compat.md).
  return Envelope(200, true, "AZTP-POL-S-002", "Identity permissions evaluated",
                  Json{{"success", true}, {"data", std::move(decisions)}});
}

}  // namespace

Result<Answer> ConnectionUnderPolicy(const Backend& b, const RouteCall& c,
                                     const SpiffeId& from, const SpiffeId& to,
                                     const std::string& policy) {
  // The policy must be attached to the identity connected to and allow it
  // the caller: action "connect", the caller's ID and trust domain in the
  // context.
  auto d = Decide(b, c, to, kConnectAction, policy,
                  {{"aztp:CallerId", from.str()},
                   {"aztp:CallerTrustDomain", from.trust_domain().name()}});
  if (!d && d.error().code() == Code::kNotFound) {
    return Invalid("AZTP-POL-E-001", "Policy " + QuoteInput(policy) +
                                         " is not attached to " +
                                         ToAztp(to.str()));
  }
  if (!d) return FromService(d.error());
  if (!d->decision.allowed()) {
    return Invalid("AZTP-POL-E-002", "Connection denied by policy " +
                                         QuoteInput(policy) + ": " +
                                         WithAztpIds(d->decision.reason));
  }
  return Envelope(200, true, "AZTP-LNK-S-002",
                  "Connection verified and allowed by policy",
                  Json{{"valid", true}});
}

void AddPolicyRoutes(RouteTable& t, const Backend& b) {
  // As GET /v1/policies?identity= and POST /v1/authorize: any caller (the
  // service lets through whoever may obtain the identity's SVID).
  constexpr auto any = Permission::kAuthenticated;
  t.Add({"GET", "/astha/v1/aztp/get-identity-access-policy", any, "",
         Handler([&b](RouteCall& c) { return Policies(b, c); })});
  t.Add({"GET", "/astha/v1/aztp/get-identity-action-permissions", any, "",
         Handler([&b](RouteCall& c) { return Permissions(b, c); })});
}

}  // namespace aztp::compat::hosted

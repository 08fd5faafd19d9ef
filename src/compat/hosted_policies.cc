// The hosted policy routes (docs/compat.md, "Policies"):
// get-identity-access-policy, get-identity-action-permissions, and the
// policy decision of a connection check with policyCode.
//
// TEMPORARY: these still reach the policy logic through native /v1
// requests sent with the caller's key (ForgedAttachedPolicies and
// ForgedDecide, the only two places that do), because the policy service
// is being written in parallel. Once PolicyService exists they call
// PolicyService::AttachedTo and PolicyService::Authorize instead, and
// NativeAnswer, Native and NativeError go.
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

// NativeAnswer is one answer of the native API.
struct NativeAnswer {
  int status = 0;
  Json body;
};

// Native answers one native request sent with the hosted caller's key.
NativeAnswer Native(const Backend& b, const RouteCall& c,
                    const std::string& method, const std::string& path,
                    const std::map<std::string, std::string>& query,
                    const std::optional<Json>& body) {
  http::Request n;
  n.method = method;
  n.path = path;
  n.target = path;
  n.query = query;
  n.remote = c.request.remote;
  n.headers["authorization"] = "Bearer " + c.request.Header("api_access_key");
  if (body) {
    n.headers["content-type"] = "application/json";
    n.body = DumpJson(*body);
  }
  http::Response r = b.plane.Handle(n);
  // Answers are JSON objects; anything else is treated as an empty object
  // so that member lookups below cannot fail.
  auto parsed = ParseJson(r.body);
  return NativeAnswer{r.status, parsed && parsed->is_object()
                                    ? std::move(*parsed)
                                    : Json::object()};
}

// NativeError turns a native error answer back into its Error, with the
// IDs in its message in the hosted form.
Error NativeError(const NativeAnswer& a) {
  std::string reason, message;
  if (auto it = a.body.find("error"); it != a.body.end() && it->is_string()) {
    reason = it->get<std::string>();
  }
  if (auto it = a.body.find("message"); it != a.body.end() && it->is_string()) {
    message = it->get<std::string>();
  }
  Code code = Code::kInternal;
  for (Code c :
       {Code::kMalformed, Code::kTooLarge, Code::kInvalidArgument,
        Code::kNotFound, Code::kUnsupported, Code::kIo, Code::kInternal,
        Code::kAlreadyExists, Code::kUnauthenticated, Code::kPermissionDenied,
        Code::kRateLimited, Code::kUnavailable, Code::kRevoked}) {
    if (ReasonString(c) == reason) code = c;
  }
  if (message.empty()) message = reason.empty() ? "request failed" : reason;
  return Error(code, WithAztpIds(std::move(message)));
}

// ForgedAttachedPolicies: the policies attached to `id`, through GET
// /v1/policies?identity= (to become PolicyService::AttachedTo).
NativeAnswer ForgedAttachedPolicies(const Backend& b, const RouteCall& c,
                                    const SpiffeId& id) {
  return Native(b, c, "GET", "/v1/policies", {{"identity", id.str()}},
                std::nullopt);
}

// ForgedDecide: one decision of `identity`'s policies, through POST
// /v1/authorize (to become PolicyService::Authorize).
NativeAnswer ForgedDecide(const Backend& b, const RouteCall& c,
                          const SpiffeId& identity, const std::string& action,
                          const std::optional<std::string>& policy,
                          const Json& context) {
  Json body{{"identity", identity.str()}, {"action", action}};
  if (policy) body["policy_id"] = *policy;
  if (!context.empty()) body["context"] = context;
  return Native(b, c, "POST", "/v1/authorize", {}, body);
}

// HostedPolicy is the hosted policy object (§5.1 of the SDK notes: the
// SDK's get_policy_value filters on `code` or `policyName` and returns
// `policyStatement`) for a native policy.
Json HostedPolicy(const Json& p) {
  return Json{{"code", p.value("id", "")},
              {"policyName", p.value("name", "")},
              {"policyStatement", p.value("document", Json())},
              {"description", p.value("description", "")},
              {"version", p.value("version", Json())},
              {"createdAt", p.value("created_at", Json())},
              {"updatedAt", p.value("updated_at", Json())}};
}

Result<SpiffeId> QueryId(const RouteCall& c) {
  const std::string text = Query(c.request, "aztpId");
  if (text.empty()) return BadInput("aztpId is required");
  return HostedId(text, "aztpId");
}

Result<Answer> Policies(const Backend& b, RouteCall& c) {
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, QueryId(c));
  NativeAnswer a = ForgedAttachedPolicies(b, c, id);
  if (a.status != 200) return NativeError(a);
  Json data = Json::array();
  for (const auto& p : a.body.value("policies", Json::array())) {
    data.push_back(HostedPolicy(p));
  }
  return Envelope(200, true, "AZTP-POL-S-001", "Identity access policies found",
                  std::move(data));
}

// PermissionsRequest is a decoded get-identity-action-permissions query.
struct PermissionsRequest {
  SpiffeId id;
  std::optional<std::string> policy;
  std::vector<std::string> actions;
  Json context = Json::object();
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
    NativeAnswer d = ForgedDecide(b, c, p.id, action, p.policy, p.context);
    if (d.status == 404 && p.policy) {
      // Either the identity or the policy's attachment is missing.
      AZTP_RETURN_IF_ERROR(IdentityOf(b, c.who(), p.id));
      return Envelope(404, false, "AZTP-POL-E-001",
                      "Policy " + QuoteInput(*p.policy) +
                          " is not attached to " + ToAztp(p.id.str()),
                      Json());
    }
    if (d.status != 200) return NativeError(d);
    decisions[action] = d.body.value("allowed", false);
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
  NativeAnswer d = ForgedDecide(
      b, c, to, kConnectAction, policy,
      Json{{"aztp:CallerId", from.str()},
           {"aztp:CallerTrustDomain", from.trust_domain().name()}});
  if (d.status == 404) {
    return Invalid("AZTP-POL-E-001", "Policy " + QuoteInput(policy) +
                                         " is not attached to " +
                                         ToAztp(to.str()));
  }
  if (d.status != 200) return NativeError(d);
  if (!d.body.value("allowed", false)) {
    return Invalid("AZTP-POL-E-002",
                   "Connection denied by policy " + QuoteInput(policy) + ": " +
                       WithAztpIds(d.body.value("reason", "")));
  }
  return Envelope(200, true, "AZTP-LNK-S-002",
                  "Connection verified and allowed by policy",
                  Json{{"valid", true}});
}

void AddPolicyRoutes(RouteTable& t, const Backend& b) {
  // As GET /v1/policies?identity= and POST /v1/authorize: any caller.
  constexpr auto any = Permission::kAuthenticated;
  t.Add({"GET", "/astha/v1/aztp/get-identity-access-policy", any, "",
         Handler([&b](RouteCall& c) { return Policies(b, c); })});
  t.Add({"GET", "/astha/v1/aztp/get-identity-action-permissions", any, "",
         Handler([&b](RouteCall& c) { return Permissions(b, c); })});
}

}  // namespace aztp::compat::hosted

// The hosted identity routes (docs/compat.md, "Routes"): issue, get,
// verify, revoke and reissue identities, links and connection checks, and
// discovery, on IdentityService and FlowService.
#include <optional>
#include <string>
#include <vector>

#include "hosted_routes.h"

namespace aztp::compat::hosted {

namespace {

using services::IdentityDetails;
using services::Permission;
using services::Principal;

constexpr int kMaxPages = 100;  // discovery and name lookups: 100 pages max
constexpr std::string_view kNeedsKey = "identities need an API key";

services::IdentityService& Identities(const Backend& b) {
  return b.services.identities;
}

// IssueRequest is a decoded issue-identity body; without `identity` the
// body asks for an X.509-SVID (csr), which is not served here.
struct IssueRequest {
  std::optional<services::NewIdentity> identity;
  std::vector<SpiffeId> links;  // linkTo
};

// IssueMetadata reads issue-identity's `metadata`: the ID's environment
// and parent, and the native metadata (docs/compat.md, "ID mapping").
Result<services::NewIdentity> IssueMetadata(const Json& m,
                                            const std::string& name,
                                            const TrustDomain& own) {
  AZTP_ASSIGN_OR_RETURN(auto env, StringMember(m, "environment"));
  AZTP_ASSIGN_OR_RETURN(auto td, StringMember(m, "trustDomain"));
  AZTP_ASSIGN_OR_RETURN(auto parent,
                        Member(m, "parentIdentity", IsString, "an aztp:// ID"));
  AZTP_ASSIGN_OR_RETURN(auto host, StringMember(m, "hostname"));
  if (td && !td->empty() && *td != own.name()) {
    return Error(Code::kUntrustedTrustDomain,
                 "trust domain " + QuoteInput(*td) +
                     " is not served here; this server's trust domain is " +
                     own.name());
  }
  const std::string environment =
      env && !env->empty() ? *env : std::string("production");
  if (environment.find('/') != std::string::npos) {
    return BadInput("metadata.environment must not contain /");
  }
  AZTP_ASSIGN_OR_RETURN(
      SpiffeId id, HostedId(std::string(kAztpScheme) + own.name() +
                                "/workload/" + environment + "/node/" + name,
                            "workloadId"));
  services::NewIdentity out{std::move(id)};
  if (parent && !parent->get<std::string>().empty()) {
    AZTP_ASSIGN_OR_RETURN(
        out.parent, HostedId(parent->get<std::string>(), "parentIdentity"));
  }
  if (host) out.metadata["hostname"] = *host;
  out.selectors = {"workload:id:" + name, "method:node",
                   "metadata:environment:" + environment};
  return out;
}

Result<IssueRequest> DecodeIssue(const Json& body, const TrustDomain& own) {
  AZTP_ASSIGN_OR_RETURN(auto name, StringMember(body, "workloadId"));
  if (!name || name->empty()) return BadInput("workloadId is required");
  AZTP_ASSIGN_OR_RETURN(auto global,
                        Member(body, "isGlobalIdentity", IsBool, "a boolean"));
  AZTP_ASSIGN_OR_RETURN(auto discoverable,
                        Member(body, "discoverable", IsBool, "a boolean"));
  AZTP_ASSIGN_OR_RETURN(auto agent, StringMember(body, "agentId"));
  AZTP_ASSIGN_OR_RETURN(auto method, StringMember(body, "method"));
  AZTP_ASSIGN_OR_RETURN(auto stamp, StringMember(body, "timestamp"));
  AZTP_ASSIGN_OR_RETURN(auto meta,
                        Member(body, "metadata", IsObject, "an object"));
  AZTP_ASSIGN_OR_RETURN(
      auto link_to, Member(body, "linkTo", IsStringArray, "an array of IDs"));
  if (method && *method != "node") return BadInput("method must be \"node\"");
  IssueRequest out;
  if (body.contains("csr")) return out;
  AZTP_ASSIGN_OR_RETURN(
      out.identity, IssueMetadata(meta ? *meta : Json::object(), *name, own));
  if (link_to) {
    for (const auto& l : *link_to) {
      AZTP_ASSIGN_OR_RETURN(SpiffeId to,
                            HostedId(l.get<std::string>(), "linkTo"));
      out.links.push_back(std::move(to));
    }
  }
  services::NewIdentity& n = *out.identity;
  if (agent) n.metadata["agentId"] = *agent;
  if (stamp) n.metadata["timestamp"] = *stamp;
  n.global = global ? global->get<bool>() : false;
  // Issued identities are discoverable unless asked otherwise, as on the
  // hosted service.
  n.discoverable = discoverable ? discoverable->get<bool>() : true;
  return out;
}

// Tolerate passes `r` on, except kAlreadyExists: false then, true when
// `r` succeeded.
template <typename T>
Result<bool> Tolerate(const Result<T>& r) {
  if (r) return true;
  if (r.error().code() == Code::kAlreadyExists) return false;
  return FromService(r.error());
}

// IssueIdentity registers the identity if absent (an existing one is
// answered as it is) and links it to every linkTo entry.
Result<Answer> IssueIdentity(const Backend& b, RouteCall& c) {
  AZTP_ASSIGN_OR_RETURN(Json body, Body(c.request));
  AZTP_ASSIGN_OR_RETURN(IssueRequest request,
                        DecodeIssue(body, b.services.context.trust_domain));
  if (!request.identity) {
    return Envelope(501, false, "AZTP-API-E-501",
                    "X.509-SVID issuance through the hosted API is not "
                    "implemented; use POST /v1/svid/x509",
                    Json());
  }
  const Principal& who = c.who();
  const SpiffeId id = request.identity->id;
  // A link needs rights on both ends: read every target first, so that a
  // target this key may not manage (or that is not registered) fails the
  // call before anything is registered.
  for (const auto& to : request.links) {
    if (to == id) continue;  // refused by Link itself
    AZTP_RETURN_IF_ERROR(IdentityOf(b, who, to));
  }
  AZTP_ASSIGN_OR_RETURN(bool created, Tolerate(Identities(b).Register(
                                          who, std::move(*request.identity))));
  for (const auto& to : request.links) {
    AZTP_RETURN_IF_ERROR(Tolerate(Identities(b).Link(who, {id, to})));
  }
  AZTP_ASSIGN_OR_RETURN(IdentityDetails d, IdentityOf(b, who, id));
  Json data = Record(d.identity, &d.links);
  data["valid"] = d.identity.status == IdentityRecord::Status::kActive;
  return Envelope(
      200, true, created ? "AZTP-ID-S-001" : "AZTP-ID-S-005",
      created ? "Identity issued successfully" : "Identity already issued",
      std::move(data));
}

Answer Found(const IdentityDetails& d) {
  return Envelope(200, true, "WI-FND-S-001",
                  "Workload identity found successfully",
                  Record(d.identity, &d.links));
}

// GetIdentityByName answers the identity `name` names: an aztp:// ID, or
// a workload name, the first /workload/ identity (in ID order) with it.
Result<Answer> GetIdentityByName(const Backend& b, RouteCall& c,
                                 const std::string& name) {
  if (name.empty()) return BadInput("the agent name is required");
  if (name.rfind(kAztpScheme, 0) == 0) {
    AZTP_ASSIGN_OR_RETURN(SpiffeId id, HostedId(name, "agentName"));
    AZTP_ASSIGN_OR_RETURN(IdentityDetails d, IdentityOf(b, c.who(), id));
    return Found(d);
  }
  services::IdentityQuery query;
  query.id_prefix = b.services.context.trust_domain.IdString() + "/workload/";
  query.limit = 1000;
  for (int page = 0; page < kMaxPages; ++page) {
    AZTP_ASSIGN_OR_RETURN(auto listed,
                          FromService(Identities(b).List(c.who(), query)));
    for (const auto& r : listed.identities) {
      const WorkloadName n = NameOf(r.id);
      if (n.name != name || n.environment.empty()) continue;
      AZTP_ASSIGN_OR_RETURN(SpiffeId id, SpiffeId::Parse(r.id));
      AZTP_ASSIGN_OR_RETURN(IdentityDetails d, IdentityOf(b, c.who(), id));
      return Found(d);
    }
    if (listed.next.empty()) break;
    query.after = listed.next;
  }
  return Envelope(404, false, "AZTP-ID-E-002",
                  "no workload identity is named " + QuoteInput(name), Json());
}

// VerifyRequest is a decoded verify-identity or connection check.
struct VerifyRequest {
  SpiffeId from;
  std::optional<SpiffeId> to;  // connection checks: requestAztpId
  std::optional<std::string> flow;
  std::optional<std::string> policy;
};

Result<VerifyRequest> DecodeVerify(const Json& body, bool connection) {
  AZTP_ASSIGN_OR_RETURN(auto from, StringMember(body, "aztpId"));
  if (!from) return BadInput("aztpId is required");
  AZTP_ASSIGN_OR_RETURN(auto flow, StringMember(body, "identityFlowId"));
  AZTP_ASSIGN_OR_RETURN(auto policy, StringMember(body, "policyCode"));
  // An empty string names nothing, as an absent member.
  if (flow && flow->empty()) flow.reset();
  if (policy && policy->empty()) policy.reset();
  if (flow) {
    AZTP_ASSIGN_OR_RETURN(flow, FlowId(*flow, "identityFlowId"));
  }
  if (flow && connection) {
    return BadInput("identityFlowId applies to verify-identity only");
  }
  if (policy && !connection) {
    return BadInput(
        "policyCode applies to connection checks only "
        "(authorize-connection-with-identities)");
  }
  AZTP_ASSIGN_OR_RETURN(SpiffeId from_id, HostedId(*from, "aztpId"));
  VerifyRequest out{std::move(from_id), std::nullopt, flow, policy};
  if (connection) {
    AZTP_ASSIGN_OR_RETURN(auto to, StringMember(body, "requestAztpId"));
    if (!to) return BadInput("requestAztpId is required");
    AZTP_ASSIGN_OR_RETURN(out.to, HostedId(*to, "requestAztpId"));
  }
  return out;
}

// VerifyInFlow: valid in a flow is valid, a member of the flow, and not
// revoked in it.
Result<Answer> VerifyInFlow(const Backend& b, const Principal& who,
                            const std::string& flow, const SpiffeId& id) {
  auto f = FromService(b.services.flows.Get(who, flow));
  if (!f) {
    if (f.error().code() != Code::kNotFound) return f.error();
    return Invalid("AZTP-FLW-E-001",
                   "Identity flow " + QuoteInput(flow) + " not found");
  }
  const FlowMemberRecord* member = nullptr;
  for (const auto& m : f->members) {
    if (m.identity == id.str()) member = &m;
  }
  if (member == nullptr) {
    return Invalid("AZTP-FLW-E-002",
                   "Identity is not a member of the identity flow");
  }
  if (member->status != FlowMemberRecord::Status::kActive) {
    return Invalid("AZTP-FLW-E-003",
                   "Identity has been revoked in this identity flow");
  }
  return Envelope(200, true, "AZTP-ID-S-002",
                  "Identity verified in the identity flow",
                  Json{{"valid", true}, {"identityFlowId", flow}});
}

// Linked: is there a link between `a` and `b`, of either kind, in either
// direction (links are symmetric for connection checks)?
bool Linked(const std::vector<LinkRecord>& links, const SpiffeId& a,
            const SpiffeId& b) {
  for (const auto& l : links) {
    if ((l.from == a.str() && l.to == b.str()) ||
        (l.from == b.str() && l.to == a.str())) {
      return true;
    }
  }
  return false;
}

// Verify serves verify-identity and, with `connection`, the connection
// checks: every identity named is registered and active; then the flow,
// or the link and the policy.
Result<Answer> Verify(const Backend& b, RouteCall& c, bool connection) {
  AZTP_ASSIGN_OR_RETURN(Json body, Body(c.request));
  AZTP_ASSIGN_OR_RETURN(VerifyRequest v, DecodeVerify(body, connection));
  std::vector<SpiffeId> ids{v.from};
  if (v.to) ids.push_back(*v.to);
  std::vector<LinkRecord> from_links;
  for (const auto& id : ids) {
    auto got = IdentityOf(b, c.who(), id);
    if (!got) {
      if (got.error().code() != Code::kNotFound) return got.error();
      return Invalid("AZTP-ID-E-002",
                     "Identity " + ToAztp(id.str()) + " is not registered");
    }
    if (got->identity.status != IdentityRecord::Status::kActive) {
      return Invalid("AZTP-ID-E-001", "Identity has been revoked");
    }
    if (id == v.from) from_links = std::move(got->links);
  }
  if (!connection) {
    if (v.flow) return VerifyInFlow(b, c.who(), *v.flow, v.from);
    return Envelope(200, true, "AZTP-ID-S-002", "Identity verified",
                    Json{{"valid", true}});
  }
  if (!Linked(from_links, v.from, *v.to)) {
    return Invalid("AZTP-LNK-E-001", "The identities are not linked");
  }
  if (!v.policy) {
    return Envelope(200, true, "AZTP-LNK-S-002", "Connection verified",
                    Json{{"valid", true}});
  }
  return ConnectionUnderPolicy(b, c, v.from, *v.to, *v.policy);
}

// AztpIdMember reads the required aztpId member.
Result<SpiffeId> AztpIdMember(const Json& body) {
  AZTP_ASSIGN_OR_RETURN(auto text, StringMember(body, "aztpId"));
  if (!text) return BadInput("aztpId is required");
  return HostedId(*text, "aztpId");
}

Result<Answer> RevokeOrReissue(const Backend& b, RouteCall& c, bool revoke) {
  AZTP_ASSIGN_OR_RETURN(Json body, Body(c.request));
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, AztpIdMember(body));
  std::optional<std::string> reason;
  if (revoke) {
    AZTP_ASSIGN_OR_RETURN(reason, StringMember(body, "reason"));
  }
  AZTP_RETURN_IF_ERROR(FromService(
      revoke ? Identities(b).Revoke(c.who(), id, reason.value_or(""))
             : Identities(b).Reissue(c.who(), id, "")));
  AZTP_ASSIGN_OR_RETURN(IdentityDetails d, IdentityOf(b, c.who(), id));
  return Envelope(200, true, revoke ? "AZTP-ID-S-003" : "AZTP-ID-S-004",
                  revoke ? "Identity revoked successfully"
                         : "Identity reissued successfully",
                  Record(d.identity, &d.links));
}

Result<Answer> Link(const Backend& b, RouteCall& c) {
  AZTP_ASSIGN_OR_RETURN(Json body, Body(c.request));
  AZTP_ASSIGN_OR_RETURN(auto source, StringMember(body, "sourceIdentity"));
  AZTP_ASSIGN_OR_RETURN(auto target, StringMember(body, "targetIdentity"));
  AZTP_ASSIGN_OR_RETURN(auto kind, StringMember(body, "relationshipType"));
  AZTP_ASSIGN_OR_RETURN(auto meta,
                        Member(body, "metadata", IsObject, "an object"));
  if (!source || !target) {
    return BadInput("sourceIdentity and targetIdentity are required");
  }
  AZTP_ASSIGN_OR_RETURN(SpiffeId from, HostedId(*source, "sourceIdentity"));
  AZTP_ASSIGN_OR_RETURN(SpiffeId to, HostedId(*target, "targetIdentity"));
  services::NewLink link{std::move(from), std::move(to),
                         kind.value_or("linked")};
  if (meta) link.metadata = *meta;
  AZTP_ASSIGN_OR_RETURN(
      LinkRecord r, FromService(Identities(b).Link(c.who(), std::move(link))));
  return Envelope(200, true, "AZTP-LNK-S-001", "Identities linked",
                  HostedLink(r));
}

Result<Answer> Discover(const Backend& b, RouteCall& c,
                        bool with_trust_domain) {
  if (with_trust_domain) {
    const std::string td = Query(c.request, "trustDomain");
    if (td.empty()) return BadInput("trustDomain is required");
    if (auto a = c.request.query.find("aztpId"); a != c.request.query.end()) {
      AZTP_RETURN_IF_ERROR(HostedId(a->second, "aztpId"));
    }
    AZTP_RETURN_IF_ERROR(FromService(services::RequireServedTrustDomain(
        b.services.context.trust_domain, td)));
  }
  services::IdentityQuery query;
  query.limit = 1000;
  Json data = Json::array();
  for (int page = 0; page < kMaxPages; ++page) {
    AZTP_ASSIGN_OR_RETURN(auto found,
                          FromService(Identities(b).Discover(query)));
    for (const auto& i : found.identities) {
      Json r = Record(i);
      // The discovery view of an identity has no timestamps.
      r["createdAt"] = nullptr;
      r["updatedAt"] = nullptr;
      data.push_back(std::move(r));
    }
    if (found.next.empty()) break;
    query.after = found.next;
  }
  return Envelope(200, true, "AZTP-DSC-S-001", "Discoverable identities found",
                  std::move(data));
}

}  // namespace

Answer Invalid(const std::string& code, const std::string& text) {
  return Envelope(200, false, code, text,
                  Json{{"valid", false}, {"message", text}});
}

Result<IdentityDetails> IdentityOf(const Backend& b, const Principal& who,
                                   const SpiffeId& id) {
  return FromService(Identities(b).Get(who, id));
}

void AddIdentityRoutes(RouteTable& t, const Backend& b) {
  constexpr auto key = Permission::kApiKey;
  constexpr auto any = Permission::kAuthenticated;
  t.Add({"POST", "/astha/v1/aztp/issue-identity", key, kNeedsKey,
         Handler([&b](RouteCall& c) { return IssueIdentity(b, c); })});
  // The name is the query's agentName, or the rest of the path (names may
  // contain '/').
  for (const char* p :
       {"/astha/v1/aztp/get-identity", "/astha/v1/aztp/get-identity/"}) {
    t.Add({"GET", p, key, kNeedsKey, Handler([&b](RouteCall& c) {
             return GetIdentityByName(b, c, Query(c.request, "agentName"));
           })});
  }
  t.Add({"GET", "/astha/v1/aztp/get-identity/{name+}", key, kNeedsKey,
         Handler(
             [&b](RouteCall& c) { return GetIdentityByName(b, c, c.param); })});
  t.Add({"POST", "/astha/v1/aztp/verify-identity", key, kNeedsKey,
         Handler([&b](RouteCall& c) { return Verify(b, c, false); })});
  for (const char* p :
       {"/astha/v1/aztp/verify-identity-for-connection",
        "/astha/v1/aztp/authorize-connection-with-identities"}) {
    t.Add({"POST", p, key, kNeedsKey,
           Handler([&b](RouteCall& c) { return Verify(b, c, true); })});
  }
  t.Add({"POST", "/astha/v1/aztp/revoke-identity", key, kNeedsKey,
         Handler([&b](RouteCall& c) { return RevokeOrReissue(b, c, true); })});
  t.Add({"POST", "/astha/v1/aztp/reissue-revoked-identity", key, kNeedsKey,
         Handler([&b](RouteCall& c) { return RevokeOrReissue(b, c, false); })});
  t.Add({"POST", "/astha/v1/aztp/create-workload-identity-link", key, kNeedsKey,
         Handler([&b](RouteCall& c) { return Link(b, c); })});
  // Discovery suits any caller, as GET /v1/discover.
  t.Add({"GET", "/astha/v1/aztp/discoverable", any, "",
         Handler([&b](RouteCall& c) { return Discover(b, c, false); })});
  t.Add({"GET", "/astha/v1/aztp/discover-with-trust-domain", any, "",
         Handler([&b](RouteCall& c) { return Discover(b, c, true); })});
}

}  // namespace aztp::compat::hosted

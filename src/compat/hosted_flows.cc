// The hosted identity-flow routes (docs/compat.md, "Identity flows") on
// FlowService: the hosted bodies carry the native flow members (camelCase
// only in the answers), so the native decoder reads them.
#include "controlplane/routes.h"
#include "hosted_routes.h"

namespace aztp::compat::hosted {

namespace {

using services::FlowService;
using services::Permission;
using services::Principal;

FlowService& Flows(const Backend& b) { return b.services.flows; }

Answer FlowNotFound(const std::string& id) {
  return Envelope(404, false, "AZTP-FLW-E-001",
                  "Identity flow " + QuoteInput(id) + " not found", Json());
}

// NotFoundAsFlow answers kNotFound as the flow's absence (another key's
// private flow included).
Result<Answer> NotFoundAsFlow(const Error& e, const std::string& id) {
  if (e.code() == Code::kNotFound) return FlowNotFound(id);
  return FromService(e);
}

// FlowFields reads the flow members of a create or update body; members
// that are null count as absent, others are ignored.
Result<services::FlowFields> FlowFields(const Json& body) {
  return FromService(aztp::internal::DecodeFlowFields(WithoutNulls(
      body, {"name", "description", "discoverable", "tags", "metadata"})));
}

Result<Answer> Health(const Backend& b, RouteCall& c) {
  // Listing the flows proves the key and the store.
  AZTP_RETURN_IF_ERROR(FromService(Flows(b).List(c.who())));
  return Envelope(200, true, "AZTP-FLW-S-007",
                  "Identity flow service is healthy", Json{{"status", "ok"}});
}

Result<Answer> Create(const Backend& b, RouteCall& c) {
  AZTP_ASSIGN_OR_RETURN(Json body, Body(c.request));
  AZTP_ASSIGN_OR_RETURN(auto fields, FlowFields(body));
  AZTP_ASSIGN_OR_RETURN(
      FlowRecord r, FromService(Flows(b).Create(c.who(), std::move(fields))));
  return Envelope(200, true, "AZTP-FLW-S-001", "Identity flow created",
                  HostedFlow(r));
}

Result<Answer> Update(const Backend& b, RouteCall& c) {
  AZTP_ASSIGN_OR_RETURN(std::string id, FlowId(c.param, "the flow ID"));
  AZTP_ASSIGN_OR_RETURN(Json body, Body(c.request));
  // An ID that was never handed out names no flow, whatever the body says.
  if (!services::RequireFlowId(id)) return FlowNotFound(id);
  AZTP_ASSIGN_OR_RETURN(auto changes, FlowFields(body));
  auto r = Flows(b).Update(c.who(), id, std::move(changes));
  if (!r) return NotFoundAsFlow(r.error(), id);
  return Envelope(200, true, "AZTP-FLW-S-002", "Identity flow updated",
                  HostedFlow(*r));
}

Result<Answer> Delete(const Backend& b, RouteCall& c) {
  AZTP_ASSIGN_OR_RETURN(std::string id, FlowId(c.param, "the flow ID"));
  if (auto s = Flows(b).Delete(c.who(), id); !s) {
    return NotFoundAsFlow(s.error(), id);
  }
  return Envelope(200, true, "AZTP-FLW-S-003", "Identity flow deleted",
                  Json{{"_id", id}, {"deleted", true}});
}

// MemberRequest is a decoded membership body.
struct MemberRequest {
  std::string flow;
  SpiffeId identity;
  std::string reason;
};

// DecodeMember reads {identityFlowId, aztpId[, reason]};
// add-identity-to-flow sends the ID as {"identity": {"aztpId"}}.
Result<MemberRequest> DecodeMember(const Json& body,
                                   FlowService::Change change) {
  const bool add = change == FlowService::Change::kAdd;
  AZTP_ASSIGN_OR_RETURN(auto flow_text, StringMember(body, "identityFlowId"));
  if (!flow_text) return BadInput("identityFlowId is required");
  AZTP_ASSIGN_OR_RETURN(std::string flow, FlowId(*flow_text, "identityFlowId"));
  std::optional<std::string> id_text;
  if (add) {
    AZTP_ASSIGN_OR_RETURN(auto identity,
                          Member(body, "identity", IsObject, "an object"));
    if (identity) {
      AZTP_ASSIGN_OR_RETURN(id_text, StringMember(*identity, "aztpId"));
    }
  }
  if (!id_text) {
    AZTP_ASSIGN_OR_RETURN(id_text, StringMember(body, "aztpId"));
  }
  if (!id_text) {
    return BadInput(add ? "identity.aztpId is required" : "aztpId is required");
  }
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, HostedId(*id_text, "aztpId"));
  std::optional<std::string> reason;
  if (change == FlowService::Change::kRevoke) {
    AZTP_ASSIGN_OR_RETURN(reason, StringMember(body, "reason"));
  }
  return MemberRequest{std::move(flow), std::move(id), reason.value_or("")};
}

// ChangeMember serves add-identity-to-flow, remove-identity-from-flow and
// revoke-identity-for-flow.
Result<Answer> ChangeMember(const Backend& b, RouteCall& c,
                            FlowService::Change change) {
  using Change = FlowService::Change;
  AZTP_ASSIGN_OR_RETURN(Json body, Body(c.request));
  AZTP_ASSIGN_OR_RETURN(MemberRequest m, DecodeMember(body, change));
  // The flow is read first so that a missing flow and a missing identity
  // (both kNotFound) answer with their own codes.
  auto flow = Flows(b).Get(c.who(), m.flow);
  if (!flow) return NotFoundAsFlow(flow.error(), m.flow);
  const std::string hosted_id = ToAztp(m.identity.str());
  if (change != Change::kAdd) {
    bool member = false;
    for (const auto& f : flow->members) {
      member = member || f.identity == m.identity.str();
    }
    if (!member) {
      return Envelope(
          404, false, "AZTP-FLW-E-002",
          "Identity " + hosted_id + " is not a member of the identity flow",
          Json());
    }
  }
  AZTP_ASSIGN_OR_RETURN(FlowMemberRecord r,
                        FromService(Flows(b).ChangeMembership(
                            c.who(), m.flow, m.identity, change, m.reason)));
  if (change == Change::kAdd) {
    return Envelope(200, true, "AZTP-FLW-S-004", "Identity added to flow",
                    HostedMember(r));
  }
  if (change == Change::kRemove) {
    return Envelope(200, true, "AZTP-FLW-S-005", "Identity removed from flow",
                    Json{{"identityFlowId", m.flow},
                         {"aztpId", hosted_id},
                         {"removed", true}});
  }
  return Envelope(200, true, "AZTP-FLW-S-006", "Identity revoked in flow",
                  HostedMember(r));
}

}  // namespace

void AddFlowRoutes(RouteTable& t, const Backend& b) {
  using Change = FlowService::Change;
  constexpr auto key = Permission::kApiKey;
  constexpr std::string_view denial = services::kFlowsDenial;
  t.Add({"POST", "/astha/v1/aztp/revoke-identity-for-flow", key, denial,
         Handler([&b](RouteCall& c) {
           return ChangeMember(b, c, Change::kRevoke);
         })});
  t.Add({"GET", "/astha/v1/identity-flow/health", key, denial,
         Handler([&b](RouteCall& c) { return Health(b, c); })});
  t.Add({"POST", "/astha/v1/identity-flow/create", key, denial,
         Handler([&b](RouteCall& c) { return Create(b, c); })});
  // The flow ID is the rest of the path; an empty or malformed one is
  // refused by FlowId.
  for (const char* p : {"/astha/v1/identity-flow/update/{flow_id+}",
                        "/astha/v1/identity-flow/update/"}) {
    t.Add({"PUT", p, key, denial,
           Handler([&b](RouteCall& c) { return Update(b, c); })});
  }
  for (const char* p : {"/astha/v1/identity-flow/delete/{flow_id+}",
                        "/astha/v1/identity-flow/delete/"}) {
    t.Add({"DELETE", p, key, denial,
           Handler([&b](RouteCall& c) { return Delete(b, c); })});
  }
  t.Add({"POST", "/astha/v1/identity-flow/add-identity-to-flow", key, denial,
         Handler(
             [&b](RouteCall& c) { return ChangeMember(b, c, Change::kAdd); })});
  t.Add({"POST", "/astha/v1/identity-flow/remove-identity-from-flow", key,
         denial, Handler([&b](RouteCall& c) {
           return ChangeMember(b, c, Change::kRemove);
         })});
}

}  // namespace aztp::compat::hosted

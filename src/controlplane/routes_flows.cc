// Identity flow routes (docs/aztpd.md): create, list, read, change and
// delete flows; add, remove, revoke and reissue members. Each decodes,
// calls FlowService, encodes.
#include "api.h"
#include "aztp/services/flows.h"
#include "routes.h"

namespace aztp::internal {

namespace {

using services::FlowService;
using services::Permission;

Json FlowJson(const FlowRecord& r) {
  return Json{{"id", r.id},
              {"name", r.name},
              {"description", r.description},
              {"discoverable", ToString(r.discoverable)},
              {"tags", r.tags},
              {"metadata", r.metadata},
              {"created_by", r.created_by},
              {"created_at", r.created_at},
              {"updated_at", r.updated_at}};
}

Json MemberJson(const FlowMemberRecord& m) {
  return Json{{"identity", m.identity},
              {"status", ToString(m.status)},
              {"reason", m.reason},
              {"added_at", m.added_at},
              {"updated_at", m.updated_at}};
}

// FlowBody reads the body of a create or update: the flow's members only.
Result<services::FlowFields> FlowBody(const http::Request& req) {
  AZTP_ASSIGN_OR_RETURN(Json body, BodyObject(req));
  AZTP_RETURN_IF_ERROR(OnlyMembers(
      body, {"name", "description", "discoverable", "tags", "metadata"}));
  return DecodeFlowFields(body);
}

// AddMembershipRoutes: POST /v1/flows/{id}:add, :remove, :revoke and
// :reissue, each with {identity} (:revoke also with a reason).
void AddMembershipRoutes(RouteTable& t, FlowService& s, const TrustDomain& td) {
  using Change = FlowService::Change;
  struct Action {
    std::string_view pattern;
    Change change;
  };
  for (Action a : {Action{"/v1/flows/{id}:add", Change::kAdd},
                   Action{"/v1/flows/{id}:remove", Change::kRemove},
                   Action{"/v1/flows/{id}:revoke", Change::kRevoke},
                   Action{"/v1/flows/{id}:reissue", Change::kReissue}}) {
    t.Add({"POST", a.pattern, Permission::kApiKey, services::kFlowsDenial,
           [&s, td, a = a.change](RouteCall& c) -> Result<Json> {
             AZTP_RETURN_IF_ERROR(services::RequireFlowId(c.param));
             AZTP_ASSIGN_OR_RETURN(Json body, BodyObject(c.request));
             if (a == Change::kRevoke) {
               AZTP_RETURN_IF_ERROR(OnlyMembers(body, {"identity", "reason"}));
             } else {
               AZTP_RETURN_IF_ERROR(OnlyMembers(body, {"identity"}));
             }
             AZTP_ASSIGN_OR_RETURN(SpiffeId id,
                                   WorkloadId(body, "identity", td));
             AZTP_ASSIGN_OR_RETURN(auto reason,
                                   GetOptionalString(body, "reason"));
             AZTP_ASSIGN_OR_RETURN(FlowMemberRecord m,
                                   s.ChangeMembership(c.who(), c.param, id, a,
                                                      reason.value_or("")));
             if (a == Change::kRemove) {
               return Json{{"flow", c.param},
                           {"identity", m.identity},
                           {"removed", true}};
             }
             if (a == Change::kAdd) c.reply.status = 201;
             Json out = MemberJson(m);
             out["flow"] = c.param;
             return out;
           }});
  }
}

}  // namespace

Result<services::FlowFields> DecodeFlowFields(const Json& body) {
  services::FlowFields f;
  AZTP_ASSIGN_OR_RETURN(f.name, GetOptionalString(body, "name"));
  AZTP_ASSIGN_OR_RETURN(f.description, GetOptionalString(body, "description"));
  AZTP_ASSIGN_OR_RETURN(f.discoverable,
                        GetOptionalString(body, "discoverable"));
  AZTP_ASSIGN_OR_RETURN(f.tags,
                        OptionalStrings(body, "tags", services::kMaxFlowTags));
  // Free-form by nature: FlowService checks that it is a small object.
  if (auto it = body.find("metadata"); it != body.end()) f.metadata = *it;
  return f;
}

void AddFlowRoutes(RouteTable& t, FlowService& s, const TrustDomain& td) {
  constexpr auto key = Permission::kApiKey;
  constexpr std::string_view denial = services::kFlowsDenial;
  t.Add({"POST", "/v1/flows", key, denial, [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(auto fields, FlowBody(c.request));
           AZTP_ASSIGN_OR_RETURN(auto r, s.Create(c.who(), std::move(fields)));
           c.reply.status = 201;
           return FlowJson(r);
         }});
  t.Add({"GET", "/v1/flows", key, denial, [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(auto flows, s.List(c.who()));
           Json list = Json::array();
           for (const auto& f : flows) list.push_back(FlowJson(f));
           return Json{{"flows", std::move(list)}};
         }});
  t.Add({"GET", "/v1/flows/{id}", key, denial,
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(auto details, s.Get(c.who(), c.param));
           Json out = FlowJson(details.flow);
           Json members = Json::array();
           for (const auto& m : details.members) {
             members.push_back(MemberJson(m));
           }
           out["members"] = std::move(members);
           return out;
         }});
  t.Add({"PUT", "/v1/flows/{id}", key, denial,
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_RETURN_IF_ERROR(services::RequireFlowId(c.param));
           AZTP_ASSIGN_OR_RETURN(auto changes, FlowBody(c.request));
           AZTP_ASSIGN_OR_RETURN(
               auto r, s.Update(c.who(), c.param, std::move(changes)));
           return FlowJson(r);
         }});
  t.Add({"DELETE", "/v1/flows/{id}", key, denial,
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_RETURN_IF_ERROR(s.Delete(c.who(), c.param));
           return Json{{"id", c.param}, {"deleted", true}};
         }});
  AddMembershipRoutes(t, s, td);
}

}  // namespace aztp::internal

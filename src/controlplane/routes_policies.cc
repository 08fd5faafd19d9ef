// Policy routes (docs/policy.md, "Policies in aztpd"): versioned policies,
// their attachments, and POST /v1/authorize. Each decodes, calls
// PolicyService, encodes.
#include "api.h"
#include "routes.h"

namespace aztp::internal {

namespace {

using services::Permission;
using services::PolicyService;

Json PolicyJson(const PolicyRecord& r) {
  auto document = ParseJson(r.document);
  return Json{{"id", r.id},
              {"name", r.name},
              {"description", r.description},
              {"version", r.version},
              {"document", document ? *document : Json()},
              {"created_at", r.created_at},
              {"updated_at", r.updated_at}};
}

Json PoliciesJson(const std::vector<PolicyRecord>& policies) {
  Json list = Json::array();
  for (const auto& p : policies) list.push_back(PolicyJson(p));
  return Json{{"policies", std::move(list)}};
}

// DecodeDocument reads member `document` into the policy it states,
// refusing it with the policy library's message naming the fault.
Result<Policy> DecodeDocument(const Json& body) {
  auto it = body.find("document");
  if (it == body.end() || !it->is_object()) {
    return BadRequest("document must be a policy object");
  }
  return PolicyFromJson(*it);
}

Result<std::optional<std::string>> DecodeName(const Json& body) {
  return BoundedString(body, "name", services::kMaxPolicyNameBytes);
}

Result<std::optional<std::string>> DecodeDescription(const Json& body) {
  return BoundedString(body, "description",
                       services::kMaxPolicyDescriptionBytes);
}

Result<services::NewPolicy> DecodeNewPolicy(const http::Request& req) {
  AZTP_ASSIGN_OR_RETURN(Json body, BodyObject(req));
  AZTP_RETURN_IF_ERROR(OnlyMembers(body, {"name", "description", "document"}));
  AZTP_ASSIGN_OR_RETURN(auto name, DecodeName(body));
  if (!name || name->empty()) return BadRequest("name is required");
  AZTP_ASSIGN_OR_RETURN(auto description, DecodeDescription(body));
  AZTP_ASSIGN_OR_RETURN(Policy document, DecodeDocument(body));
  return services::NewPolicy{std::move(*name), description.value_or(""),
                             std::move(document)};
}

Result<services::PolicyChange> DecodeChange(const http::Request& req) {
  AZTP_ASSIGN_OR_RETURN(Json body, BodyObject(req));
  AZTP_RETURN_IF_ERROR(
      OnlyMembers(body, {"name", "description", "document", "version"}));
  AZTP_ASSIGN_OR_RETURN(int64_t replaces, GetInt(body, "version"));
  AZTP_ASSIGN_OR_RETURN(Policy document, DecodeDocument(body));
  AZTP_ASSIGN_OR_RETURN(auto name, DecodeName(body));
  if (name && name->empty()) return BadRequest("name must not be empty");
  AZTP_ASSIGN_OR_RETURN(auto description, DecodeDescription(body));
  return services::PolicyChange{replaces, std::move(document), std::move(name),
                                std::move(description)};
}

// DecodeVersion reads the optional `version` query parameter.
Result<std::optional<int64_t>> DecodeVersion(const http::Request& req) {
  auto v = req.query.find("version");
  if (v == req.query.end()) return std::optional<int64_t>();
  char* end = nullptr;
  const long long n = std::strtoll(v->second.c_str(), &end, 10);
  if (v->second.empty() || *end != '\0' || n < 1) {
    return BadRequest("version must be a positive integer");
  }
  return std::optional<int64_t>(n);
}

Result<services::AuthorizeRequest> DecodeAuthorize(const RouteCall& c,
                                                   const TrustDomain& td) {
  AZTP_ASSIGN_OR_RETURN(Json body, BodyObject(c.request));
  AZTP_RETURN_IF_ERROR(OnlyMembers(
      body, {"identity", "action", "resource", "context", "policy_id"}));
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, WorkloadId(body, "identity", td));
  services::AuthorizeRequest r{std::move(id)};
  AZTP_ASSIGN_OR_RETURN(r.action, GetString(body, "action"));
  AZTP_ASSIGN_OR_RETURN(auto resource, GetOptionalString(body, "resource"));
  r.resource = resource.value_or("*");
  auto context = body.find("context");
  AZTP_ASSIGN_OR_RETURN(
      r.context, ContextFromJson(
                     context != body.end() ? *context : Json::object(), c.now));
  AZTP_ASSIGN_OR_RETURN(r.policy_id, GetOptionalString(body, "policy_id"));
  return r;
}

// AddAttachmentRoutes: POST /v1/policies/{id}:attach and :detach, admin
// only: a key scoped to an identity must not change who may call it.
void AddAttachmentRoutes(RouteTable& t, PolicyService& s,
                         const TrustDomain& td) {
  for (bool attach : {true, false}) {
    t.Add({"POST",
           attach ? "/v1/policies/{id}:attach" : "/v1/policies/{id}:detach",
           Permission::kAdmin,
           "attaching and detaching policies needs an admin key",
           [&s, td, attach](RouteCall& c) -> Result<Json> {
             AZTP_ASSIGN_OR_RETURN(Json body, BodyObject(c.request));
             AZTP_RETURN_IF_ERROR(OnlyMembers(body, {"identity"}));
             AZTP_ASSIGN_OR_RETURN(SpiffeId id,
                                   WorkloadId(body, "identity", td));
             AZTP_RETURN_IF_ERROR(attach ? s.Attach(c.who(), c.param, id)
                                         : s.Detach(c.who(), c.param, id));
             return Json{{"policy", c.param},
                         {"identity", id.str()},
                         {attach ? "attach" : "detach", true}};
           }});
  }
}

}  // namespace

void AddPolicyRoutes(RouteTable& t, PolicyService& s, const TrustDomain& td) {
  // The policies attached to one identity: for whoever may obtain its SVID.
  t.Add({"GET", "/v1/policies?identity", Permission::kAuthenticated, "",
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(
               SpiffeId id,
               SpiffeId::ParseUserInput(c.request.query.at("identity")));
           AZTP_ASSIGN_OR_RETURN(auto policies, s.AttachedTo(c.who(), id));
           return PoliciesJson(policies);
         }});
  constexpr auto admin = Permission::kAdmin;
  constexpr std::string_view denial = "policies need an admin key";
  t.Add({"GET", "/v1/policies", admin, denial,
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(auto policies, s.List(c.who()));
           return PoliciesJson(policies);
         }});
  t.Add({"POST", "/v1/policies", admin, denial,
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(auto request, DecodeNewPolicy(c.request));
           AZTP_ASSIGN_OR_RETURN(auto r, s.Create(c.who(), std::move(request)));
           c.reply.status = 201;
           return PolicyJson(r);
         }});
  t.Add({"GET", "/v1/policies/{id}", admin, denial,
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(auto version, DecodeVersion(c.request));
           AZTP_ASSIGN_OR_RETURN(auto details,
                                 s.Get(c.who(), c.param, version));
           Json out = PolicyJson(details.policy);
           out["attached_to"] = details.attached_to;
           return out;
         }});
  t.Add({"PUT", "/v1/policies/{id}", admin, denial,
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(auto change, DecodeChange(c.request));
           AZTP_ASSIGN_OR_RETURN(auto r,
                                 s.Update(c.who(), c.param, std::move(change)));
           return PolicyJson(r);
         }});
  t.Add({"DELETE", "/v1/policies/{id}", admin, denial,
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_RETURN_IF_ERROR(s.Delete(c.who(), c.param));
           return Json{{"id", c.param}, {"deleted", true}};
         }});
  AddAttachmentRoutes(t, s, td);
  // A decision of an identity's policies: for whoever may obtain its SVID.
  t.Add({"POST", "/v1/authorize", Permission::kAuthenticated, "",
         [&s, td](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(auto request, DecodeAuthorize(c, td));
           AZTP_ASSIGN_OR_RETURN(auto r,
                                 s.Authorize(c.who(), std::move(request)));
           Json out = DecisionJson(r.decision);
           out["policy_id"] = r.policy_id ? Json(*r.policy_id) : Json();
           return out;
         }});
}

}  // namespace aztp::internal

// The control plane's route table: every /v1 route with the permission it
// declares (docs/aztpd.md, "Permissions"). Groups whose logic lives in a
// service add their routes from routes_*.cc.
#include "api.h"
#include "routes.h"

namespace aztp {

using internal::RouteCall;
using services::Permission;

std::function<Result<Json>(RouteCall&)> ControlPlane::Adapt(GroupHandler h) {
  return [this, h](RouteCall& c) {
    return (this->*h)(c.request, c.who(), c.now, c.reply);
  };
}

void ControlPlane::BuildRoutes() {
  internal::RouteTable& t = *routes_;
  constexpr auto kPublic = Permission::kPublic;
  constexpr auto kAny = Permission::kAuthenticated;
  constexpr auto kAdmin = Permission::kAdmin;
  constexpr auto kKey = Permission::kApiKey;

  t.Add({"GET", "/healthz", kPublic, "", [](RouteCall&) -> Result<Json> {
           return Json{{"status", "ok"}};
         }});
  t.Add({"GET", "/readyz", kPublic, "", [this](RouteCall&) -> Result<Json> {
           AZTP_RETURN_IF_ERROR(store_->Read([](Transaction& tx) -> Status {
             AZTP_RETURN_IF_ERROR(tx.GetMeta(internal::kRevocationSequence));
             return Ok();
           }));
           return Json{{"status", "ready"}};
         }});
  t.Add({"GET", "/metrics", kPublic, "", [this](RouteCall& c) -> Result<Json> {
           AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
             for (const char* s : {"active", "revoked"}) {
               AZTP_ASSIGN_OR_RETURN(int64_t n, tx.CountIdentities(s));
               instruments_->metrics.Set("aztpd_identities", {{"status", s}},
                                         static_cast<double>(n));
             }
             return Ok();
           }));
           c.reply.content_type = "text/plain; version=0.0.4";
           return Json(instruments_->metrics.Render());
         }});
  t.Add({"GET", "/v1/bundle", kPublic, "", [this](RouteCall&) -> Result<Json> {
           return state()->bundle->ToJson();
         }});
  t.Add({"GET", "/v1/revocations", kPublic, "",
         [this](RouteCall& c) { return Revocations(c.now); }});
  // The own list and the last good list of every federated domain that
  // publishes one, each under its own domain's name: verifiers apply it to
  // that domain's identities only (docs/protocol.md §6 step 8).
  t.Add({"GET", "/v1/revocation-lists", kPublic, "",
         [this](RouteCall& c) -> Result<Json> {
           Json domains = Json::object();
           for (const auto& [td, list] :
                services_->federation.RevocationLists()) {
             domains[td.name()] = list->ToJson();
           }
           AZTP_ASSIGN_OR_RETURN(domains[trust_domain_.name()],
                                 Revocations(c.now));
           return Json{{"trust_domains", std::move(domains)}};
         }});

  internal::AddIdentityRoutes(t, services_->identities, trust_domain_);
  internal::AddApiKeyRoutes(t, services_->api_keys);
  internal::AddSvidRoutes(t, services_->svids, trust_domain_);
  internal::AddSigningKeyRoutes(t, services_->signing_keys);
  internal::AddFederationRoutes(t, services_->federation);

  // Policies: reading those attached to an identity suits whoever may
  // obtain its SVID; everything else, attachments included, is an admin's
  // (a key scoped to an identity must not change who may call it).
  t.Add({"GET", "/v1/policies?identity", kAny, "",
         Adapt(&ControlPlane::PoliciesApi)});
  constexpr std::string_view policies_denial = "policies need an admin key";
  for (const char* p :
       {"GET /v1/policies", "POST /v1/policies", "GET /v1/policies/{id}",
        "PUT /v1/policies/{id}", "DELETE /v1/policies/{id}"}) {
    std::string_view s(p);
    const auto space = s.find(' ');
    t.Add({s.substr(0, space), s.substr(space + 1), kAdmin, policies_denial,
           Adapt(&ControlPlane::PoliciesApi)});
  }
  for (const char* p :
       {"/v1/policies/{id}:attach", "/v1/policies/{id}:detach"}) {
    t.Add({"POST", p, kAdmin,
           "attaching and detaching policies needs an admin key",
           Adapt(&ControlPlane::PoliciesApi)});
  }
  t.Add({"POST", "/v1/authorize", kAny, "", Adapt(&ControlPlane::Authorize)});

  // Flows belong to the keys that manage identities; an SVID alone (a
  // workload) neither creates nor reads them.
  constexpr std::string_view flows_denial = "identity flows need an API key";
  for (const char* p :
       {"GET /v1/flows", "POST /v1/flows", "GET /v1/flows/{id}",
        "PUT /v1/flows/{id}", "DELETE /v1/flows/{id}",
        "POST /v1/flows/{id}:add", "POST /v1/flows/{id}:remove",
        "POST /v1/flows/{id}:revoke", "POST /v1/flows/{id}:reissue"}) {
    std::string_view s(p);
    const auto space = s.find(' ');
    t.Add({s.substr(0, space), s.substr(space + 1), kKey, flows_denial,
           Adapt(&ControlPlane::FlowsApi)});
  }

  constexpr std::string_view audit_denial = "reading the audit log needs admin";
  t.Add({"GET", "/v1/audit", kAdmin, audit_denial,
         Adapt(&ControlPlane::AuditApi)});
  t.Add({"GET", "/v1/audit/sources", kAdmin, audit_denial,
         Adapt(&ControlPlane::AuditApi)});
  t.Add({"POST", "/v1/audit:ingest", Permission::kWorkloadSvid,
         "audit records are shipped with the proxy's own SVID",
         Adapt(&ControlPlane::AuditApi)});
}

}  // namespace aztp

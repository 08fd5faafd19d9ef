// The control plane's route table: every /v1 route with the permission it
// declares (docs/aztpd.md, "Permissions"). Groups whose logic lives in a
// service add their routes from routes_*.cc.
#include <variant>

#include "api.h"
#include "routes.h"

namespace aztp {

using internal::RouteCall;
using services::Permission;

void ControlPlane::BuildRoutes() {
  internal::RouteTable& t = *routes_;
  constexpr auto kPublic = Permission::kPublic;

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
             for (auto s : {IdentityRecord::Status::kActive,
                            IdentityRecord::Status::kRevoked}) {
               AZTP_ASSIGN_OR_RETURN(int64_t n, tx.CountIdentities(s));
               instruments_->metrics.Set("aztpd_identities",
                                         {{"status", std::string(ToString(s))}},
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
  // ?since=<sequence>: a delta from the list the reader holds, or the whole
  // list (docs/protocol.md, "Revocation deltas").
  t.Add({"GET", "/v1/revocations", kPublic, "",
         [this](RouteCall& c) { return OwnRevocations(c.request); }});
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
                                 OwnRevocations(c.request));
           return Json{{"trust_domains", std::move(domains)}};
         }});

  internal::AddIdentityRoutes(t, services_->identities, trust_domain_);
  internal::AddApiKeyRoutes(t, services_->api_keys);
  internal::AddFlowRoutes(t, services_->flows, trust_domain_);
  internal::AddSvidRoutes(t, services_->svids, trust_domain_);
  internal::AddSigningKeyRoutes(t, services_->signing_keys);
  internal::AddFederationRoutes(t, services_->federation);
  internal::AddPolicyRoutes(t, services_->policies, trust_domain_);
  internal::AddAuditRoutes(t, services_->audit, instruments_->metrics);
  internal::AddPersonRoutes(t, services_->people);
  internal::AddLoginRoutes(t, services_->logins, trust_domain_);
}

Result<Json> ControlPlane::OwnRevocations(const http::Request& req) {
  AZTP_ASSIGN_OR_RETURN(std::optional<int64_t> since,
                        internal::QueryInt(req, "since"));
  if (!since) return RevocationsJson();
  AZTP_ASSIGN_OR_RETURN(services::RevocationUpdate update,
                        services_->revocations.Since(*since));
  return std::visit([](const auto& u) { return u.ToJson(); }, update);
}

}  // namespace aztp

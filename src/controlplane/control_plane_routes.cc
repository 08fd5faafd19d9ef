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
  t.Add({"GET", "/v1/bundles", kPublic, "", [this](RouteCall& c) {
           return BundlesFor(c.request, std::nullopt, c.reply);
         }});
  t.Add({"GET", "/v1/bundles?for", kAny, "", [this](RouteCall& c) {
           return BundlesFor(c.request, c.who(), c.reply);
         }});
  t.Add({"GET", "/v1/revocations", kPublic, "",
         [this](RouteCall& c) { return Revocations(c.now); }});
  t.Add({"GET", "/v1/revocation-lists", kPublic, "",
         [this](RouteCall& c) { return RevocationLists(c.now); }});

  internal::AddIdentityRoutes(t, services_->identities, trust_domain_);
  internal::AddApiKeyRoutes(t, services_->api_keys);
  internal::AddFlowRoutes(t, services_->flows, trust_domain_);

  t.Add({"POST", "/v1/svid/x509", kAny, "", Adapt(&ControlPlane::X509Svid)});
  t.Add({"POST", "/v1/svid/jwt", kAny, "", Adapt(&ControlPlane::JwtSvid)});

  constexpr std::string_view keys_denial = "signing keys need an admin key";
  for (const char* p : {"GET /v1/ca", "POST /v1/ca:rotate"}) {
    std::string_view s(p);
    const auto space = s.find(' ');
    t.Add({s.substr(0, space), s.substr(space + 1), kAdmin, keys_denial,
           Adapt(&ControlPlane::SigningKeysApi)});
  }

  internal::AddPolicyRoutes(t, services_->policies, trust_domain_);

  internal::AddAuditRoutes(t, services_->audit, instruments_->metrics);

  constexpr std::string_view federation_denial =
      "federation needs an admin key";
  for (const char* p :
       {"GET /v1/federations", "POST /v1/federations",
        "DELETE /v1/federations/{td}", "POST /v1/federations/{td}:refresh"}) {
    std::string_view s(p);
    const auto space = s.find(' ');
    t.Add({s.substr(0, space), s.substr(space + 1), kAdmin, federation_denial,
           Adapt(&ControlPlane::FederationApi)});
  }
}

}  // namespace aztp

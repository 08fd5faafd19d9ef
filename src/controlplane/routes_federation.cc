// Federation routes (docs/federation.md): the relationships with other trust
// domains, their fetch state, and the bundle set as a whole or as one
// identity sees it. Each decodes, calls FederationService, encodes.
#include "api.h"
#include "aztp/services/federation.h"
#include "routes.h"

namespace aztp::internal {

namespace {

using services::Permission;
using services::PollEventJson;

// FetchJson is a bundle fetch's result with, when the relationship has a
// revocations_url, the fetch of its revocation list in "revocations".
Json FetchJson(const std::vector<PollEvent>& events) {
  Json out = Json::object();
  for (const PollEvent& ev : events) {
    if (ev.revocations) {
      out["revocations"] = PollEventJson(ev);
    } else {
      out.update(PollEventJson(ev));
    }
  }
  return out;
}

// EntryJson describes one relationship for GET /v1/federations.
Json EntryJson(const services::FederationEntry& e) {
  const RelationshipState& s = e.state;
  auto url = [](const std::string& u) { return u.empty() ? Json() : Json(u); };
  auto time = [](UnixTime t) { return t != 0 ? Json(t) : Json(); };
  return Json{
      {"trust_domain", s.rel.trust_domain.name()},
      {"endpoint_url", s.rel.endpoint_url},
      {"profile", EndpointProfileName(s.rel.profile)},
      {"endpoint_id",
       s.rel.endpoint_id ? Json(s.rel.endpoint_id->str()) : Json()},
      {"source", e.from_config ? "config" : "api"},
      {"bundle_sequence",
       s.bundle && s.bundle->sequence() ? Json(*s.bundle->sequence()) : Json()},
      {"trusted", s.bundle != nullptr},
      {"last_fetch", time(s.last_fetch)},
      {"last", s.last_event ? PollEventJson(*s.last_event) : Json()},
      {"failures", s.failures},
      {"next_refresh", s.next_due},
      {"revocations_url", url(s.rel.revocations_url)},
      {"revocations_sequence",
       s.revocations ? Json(s.revocations->sequence()) : Json()},
      {"revocations_last_fetch", time(s.revocations_fetch)},
      {"revocations_last",
       s.revocations_event ? PollEventJson(*s.revocations_event) : Json()}};
}

// DecodeNewFederation reads POST /v1/federations.
Result<services::NewFederation> DecodeNewFederation(const Json& body) {
  AZTP_RETURN_IF_ERROR(OnlyMembers(
      body, {"trust_domain", "endpoint_url", "profile", "endpoint_id",
             "bootstrap_bundle", "web_ca_pem", "revocations_url"}));
  AZTP_ASSIGN_OR_RETURN(std::string td_name, GetString(body, "trust_domain"));
  AZTP_ASSIGN_OR_RETURN(TrustDomain td, TrustDomain::Parse(td_name));
  services::NewFederation n{std::move(td)};
  AZTP_ASSIGN_OR_RETURN(n.endpoint_url, GetString(body, "endpoint_url"));
  AZTP_ASSIGN_OR_RETURN(n.profile, GetString(body, "profile"));
  AZTP_ASSIGN_OR_RETURN(auto endpoint_id,
                        GetOptionalString(body, "endpoint_id"));
  n.endpoint_id = endpoint_id.value_or("");
  if (auto boot = body.find("bootstrap_bundle"); boot != body.end()) {
    n.bootstrap_bundle = *boot;
  }
  AZTP_ASSIGN_OR_RETURN(auto pem, GetOptionalString(body, "web_ca_pem"));
  n.web_ca_pem = pem.value_or("");
  AZTP_ASSIGN_OR_RETURN(auto revocations_url,
                        GetOptionalString(body, "revocations_url"));
  n.revocations_url = revocations_url.value_or("");
  return n;
}

}  // namespace

void AddFederationRoutes(RouteTable& t, services::FederationService& s) {
  constexpr auto admin = Permission::kAdmin;
  constexpr std::string_view denial = "federation needs an admin key";
  t.Add({"GET", "/v1/federations", admin, denial,
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(auto entries, s.List(c.who()));
           Json list = Json::array();
           for (const auto& e : entries) list.push_back(EntryJson(e));
           return Json{{"federations", std::move(list)}};
         }});
  t.Add({"POST", "/v1/federations", admin, denial,
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(Json body, BodyObject(c.request));
           AZTP_ASSIGN_OR_RETURN(auto request, DecodeNewFederation(body));
           AZTP_ASSIGN_OR_RETURN(auto added, s.Add(c.who(), request));
           c.reply.status = 201;
           return Json{{"trust_domain", added.trust_domain.name()},
                       {"first_fetch", FetchJson(added.first_fetch)}};
         }});
  t.Add({"DELETE", "/v1/federations/{td}", admin, denial,
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(TrustDomain td, TrustDomain::Parse(c.param));
           AZTP_RETURN_IF_ERROR(s.Remove(c.who(), td));
           return Json{{"trust_domain", td.name()}, {"removed", true}};
         }});
  t.Add({"POST", "/v1/federations/{td}:refresh", admin, denial,
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(TrustDomain td, TrustDomain::Parse(c.param));
           AZTP_ASSIGN_OR_RETURN(auto events, s.Refresh(c.who(), td));
           Json out = FetchJson(events);
           out["trust_domain"] = td.name();
           return out;
         }});
  // The bundle set is public; a caller presenting an SVID of the own
  // domain gets its own view of it.
  t.Add({"GET", "/v1/bundles", Permission::kPublic, "",
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(auto set, s.Bundles(c.request.peer));
           return set.ToMapJson();
         }});
  t.Add({"GET", "/v1/bundles?for", Permission::kAuthenticated, "",
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(SpiffeId id, SpiffeId::ParseUserInput(
                                                  c.request.query.at("for")));
           AZTP_ASSIGN_OR_RETURN(auto set, s.BundlesFor(c.who(), id));
           return set.ToMapJson();
         }});
}

}  // namespace aztp::internal

// Identity routes: register, list, get, change, link, revoke, reissue;
// discovery. Each decodes, calls IdentityService, encodes.
#include "api.h"
#include "routes.h"

namespace aztp::internal {

namespace {

using services::IdentityService;
using services::Permission;

constexpr std::string_view kNeedsKey = "identities need an API key";

// QueryPrefix reads the optional `prefix` query parameter: a SPIFFE ID
// prefix within `td` ("spiffe://td/agents/"), or a path prefix ("/agents/").
Result<std::optional<std::string>> QueryPrefix(const http::Request& req,
                                               const TrustDomain& td) {
  auto it = req.query.find("prefix");
  using Prefix = std::optional<std::string>;
  if (it == req.query.end() || it->second.empty()) return Prefix();
  const std::string& p = it->second;
  if (p.size() > 2048) return BadRequest("prefix is too long");
  if (p[0] == '/') return Prefix(td.IdString() + p);
  if (p.rfind(td.IdString() + "/", 0) != 0) {
    return BadRequest("prefix must be a path or an ID prefix of " + td.name());
  }
  return Prefix(p);
}

// DecodeFederatesWith reads the optional `federates_with` member: null or
// absent is every federated domain, an array lists the accepted ones.
Result<services::DomainList> DecodeFederatesWith(const Json& body) {
  auto it = body.find("federates_with");
  if (it == body.end() || it->is_null()) return services::DomainList();
  if (!it->is_array() || it->size() > services::kMaxFederatesWith) {
    return BadRequest(
        "federates_with must be null or an array of at most 64 trust "
        "domains");
  }
  std::vector<TrustDomain> domains;
  for (const Json& d : *it) {
    if (!d.is_string()) return BadRequest("federates_with lists names");
    AZTP_ASSIGN_OR_RETURN(TrustDomain td,
                          TrustDomain::Parse(d.get<std::string>()));
    domains.push_back(std::move(td));
  }
  return services::DomainList(std::move(domains));
}

Result<std::vector<std::string>> DecodeSelectors(const Json& body) {
  AZTP_ASSIGN_OR_RETURN(
      auto selectors,
      OptionalStrings(body, "selectors", services::kMaxSelectors));
  return selectors.value_or(std::vector<std::string>());
}

Result<services::NewIdentity> DecodeNewIdentity(const Json& body) {
  AZTP_RETURN_IF_ERROR(
      OnlyMembers(body, {"id", "parent", "global", "discoverable", "metadata",
                         "selectors", "federates_with"}));
  AZTP_ASSIGN_OR_RETURN(std::string id, GetString(body, "id"));
  AZTP_ASSIGN_OR_RETURN(SpiffeId parsed, SpiffeId::ParseUserInput(id));
  services::NewIdentity n{std::move(parsed)};
  AZTP_ASSIGN_OR_RETURN(auto parent, GetOptionalString(body, "parent"));
  if (parent) {
    AZTP_ASSIGN_OR_RETURN(n.parent, SpiffeId::ParseUserInput(*parent));
  }
  AZTP_ASSIGN_OR_RETURN(n.global, OptionalBool(body, "global", false));
  AZTP_ASSIGN_OR_RETURN(n.discoverable,
                        OptionalBool(body, "discoverable", false));
  AZTP_ASSIGN_OR_RETURN(n.metadata, OptionalMetadata(body, "metadata"));
  AZTP_ASSIGN_OR_RETURN(n.federates_with, DecodeFederatesWith(body));
  AZTP_ASSIGN_OR_RETURN(n.selectors, DecodeSelectors(body));
  return n;
}

Json PageJson(const services::IdentityPage& page,
              Json (*render)(const IdentityRecord&)) {
  Json list = Json::array();
  for (const auto& r : page.identities) list.push_back(render(r));
  return Json{{"identities", std::move(list)},
              {"next", page.next.empty() ? Json() : Json(page.next)}};
}

Json DiscoveredJson(const IdentityRecord& r) {
  return Json{{"id", r.id},
              {"parent", r.parent ? Json(*r.parent) : Json()},
              {"global", r.global},
              {"metadata", r.metadata},
              {"selectors", r.selectors}};
}

// PathId is the identity a /v1/identities/{id+} route names.
Result<SpiffeId> PathId(const RouteCall& call) {
  return SpiffeId::Parse("spiffe://" + call.param);
}

Result<std::string> DecodeReason(const http::Request& req) {
  if (req.body.empty()) return std::string();
  AZTP_ASSIGN_OR_RETURN(Json body, BodyObject(req));
  AZTP_RETURN_IF_ERROR(OnlyMembers(body, {"reason"}));
  AZTP_ASSIGN_OR_RETURN(auto given, GetOptionalString(body, "reason"));
  return given.value_or("");
}

Result<services::IdentityQuery> DecodeQuery(const http::Request& req,
                                            const TrustDomain& td) {
  services::IdentityQuery q;
  AZTP_ASSIGN_OR_RETURN(q.id_prefix, QueryPrefix(req, td));
  if (auto it = req.query.find("status"); it != req.query.end()) {
    q.status = it->second;
  }
  if (auto it = req.query.find("parent"); it != req.query.end()) {
    AZTP_ASSIGN_OR_RETURN(q.parent, SpiffeId::ParseUserInput(it->second));
  }
  AZTP_ASSIGN_OR_RETURN(q.after, QueryAfter(req));
  AZTP_ASSIGN_OR_RETURN(q.limit, PageLimit(req));
  return q;
}

// DecodeLink reads the body of POST /v1/identities/{id}:link.
Result<services::NewLink> DecodeLink(const RouteCall& c) {
  AZTP_ASSIGN_OR_RETURN(SpiffeId from, PathId(c));
  AZTP_ASSIGN_OR_RETURN(Json body, BodyObject(c.request));
  AZTP_RETURN_IF_ERROR(OnlyMembers(body, {"to", "kind", "metadata"}));
  AZTP_ASSIGN_OR_RETURN(std::string to, GetString(body, "to"));
  AZTP_ASSIGN_OR_RETURN(SpiffeId to_id, SpiffeId::ParseUserInput(to));
  services::NewLink link{std::move(from), std::move(to_id)};
  AZTP_ASSIGN_OR_RETURN(auto kind, GetOptionalString(body, "kind"));
  link.kind = kind.value_or("linked");
  AZTP_ASSIGN_OR_RETURN(link.metadata, OptionalMetadata(body, "metadata"));
  return link;
}

}  // namespace

Result<std::string> QueryAfter(const http::Request& req) {
  auto it = req.query.find("after");
  if (it == req.query.end()) return std::string();
  if (it->second.size() > 2048) return BadRequest("after is too long");
  return it->second;
}

void AddIdentityRoutes(RouteTable& t, IdentityService& s,
                       const TrustDomain& td) {
  const auto key = Permission::kApiKey;
  t.Add({"POST", "/v1/identities", key, kNeedsKey,
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(Json body, BodyObject(c.request));
           AZTP_ASSIGN_OR_RETURN(auto request, DecodeNewIdentity(body));
           AZTP_ASSIGN_OR_RETURN(auto r,
                                 s.Register(c.who(), std::move(request)));
           c.reply.status = 201;
           return IdentityJson(r);
         }});
  // Any caller may list; an SVID sees none (it manages no identity).
  t.Add({"GET", "/v1/identities", Permission::kAuthenticated, "",
         [&s, td](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(auto query, DecodeQuery(c.request, td));
           AZTP_ASSIGN_OR_RETURN(auto page, s.List(c.who(), query));
           return PageJson(page, &IdentityJson);
         }});
  t.Add({"GET", "/v1/identities/{id+}", key, kNeedsKey,
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(SpiffeId id, PathId(c));
           AZTP_ASSIGN_OR_RETURN(auto details, s.Get(c.who(), id));
           Json out = IdentityJson(details.identity);
           Json links = Json::array();
           for (const auto& l : details.links) links.push_back(LinkJson(l));
           out["links"] = std::move(links);
           return out;
         }});
  t.Add({"PATCH", "/v1/identities/{id+}", key, kNeedsKey,
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(SpiffeId id, PathId(c));
           AZTP_ASSIGN_OR_RETURN(Json body, BodyObject(c.request));
           AZTP_RETURN_IF_ERROR(OnlyMembers(body, {"federates_with"}));
           if (!body.contains("federates_with")) {
             return BadRequest("nothing to change: send federates_with");
           }
           AZTP_ASSIGN_OR_RETURN(auto domains, DecodeFederatesWith(body));
           AZTP_ASSIGN_OR_RETURN(auto r,
                                 s.SetFederatesWith(c.who(), id, domains));
           return IdentityJson(r);
         }});
  t.Add({"POST", "/v1/identities/{id+}:link", key, kNeedsKey,
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(auto link, DecodeLink(c));
           AZTP_ASSIGN_OR_RETURN(auto r, s.Link(c.who(), std::move(link)));
           c.reply.status = 201;
           return LinkJson(r);
         }});
  for (bool revoke : {true, false}) {
    t.Add({"POST",
           revoke ? "/v1/identities/{id+}:revoke"
                  : "/v1/identities/{id+}:reissue",
           key, kNeedsKey, [&s, revoke](RouteCall& c) -> Result<Json> {
             AZTP_ASSIGN_OR_RETURN(SpiffeId id, PathId(c));
             AZTP_ASSIGN_OR_RETURN(std::string reason, DecodeReason(c.request));
             AZTP_ASSIGN_OR_RETURN(auto r,
                                   revoke ? s.Revoke(c.who(), id, reason)
                                          : s.Reissue(c.who(), id, reason));
             return IdentityJson(r);
           }});
  }
  t.Add({"GET", "/v1/discover", Permission::kAuthenticated, "",
         [&s, td](RouteCall& c) -> Result<Json> {
           const auto& q = c.request.query;
           if (auto it = q.find("trust_domain"); it != q.end()) {
             AZTP_RETURN_IF_ERROR(
                 services::RequireServedTrustDomain(td, it->second));
           }
           services::IdentityQuery query;
           AZTP_ASSIGN_OR_RETURN(query.id_prefix, QueryPrefix(c.request, td));
           AZTP_ASSIGN_OR_RETURN(query.after, QueryAfter(c.request));
           AZTP_ASSIGN_OR_RETURN(query.limit, PageLimit(c.request));
           AZTP_ASSIGN_OR_RETURN(auto page, s.Discover(std::move(query)));
           return PageJson(page, &DiscoveredJson);
         }});
}

void AddApiKeyRoutes(RouteTable& t, services::ApiKeyService& s) {
  constexpr auto admin = Permission::kAdmin;
  constexpr std::string_view denial = "API keys need an admin key";
  t.Add({"POST", "/v1/apikeys", admin, denial,
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(Json body, BodyObject(c.request));
           AZTP_RETURN_IF_ERROR(OnlyMembers(body, {"scope", "description"}));
           services::NewApiKey request;
           AZTP_ASSIGN_OR_RETURN(request.scope, GetString(body, "scope"));
           AZTP_ASSIGN_OR_RETURN(auto description,
                                 GetOptionalString(body, "description"));
           request.description = description.value_or("");
           AZTP_ASSIGN_OR_RETURN(auto key,
                                 s.Create(c.who(), std::move(request)));
           c.reply.status = 201;
           Json out = ApiKeyJson(key.record);
           out["api_key"] = key.key.View(InsecureSecretAccess::Get());
           return out;
         }});
  t.Add(
      {"GET", "/v1/apikeys", admin, denial, [&s](RouteCall& c) -> Result<Json> {
         AZTP_ASSIGN_OR_RETURN(auto keys, s.List(c.who()));
         Json list = Json::array();
         for (const auto& k : keys) list.push_back(ApiKeyJson(k));
         return Json{{"api_keys", std::move(list)}};
       }});
  t.Add({"POST", "/v1/apikeys/{key_id}:revoke", admin, denial,
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_RETURN_IF_ERROR(s.Revoke(c.who(), c.param));
           return Json{{"key_id", c.param}, {"revoked", true}};
         }});
}

}  // namespace aztp::internal

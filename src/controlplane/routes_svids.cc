// SVID and signing-key routes: X.509-SVIDs from CSRs, JWT-SVIDs, the
// signing keys and their forced rotation. Each decodes, calls SvidService
// or SigningKeyService, encodes.
#include "api.h"
#include "routes.h"

namespace aztp::internal {

namespace {

using services::Permission;

Result<services::X509SvidRequest> DecodeX509(const http::Request& req,
                                             const TrustDomain& td) {
  AZTP_ASSIGN_OR_RETURN(Json body, BodyObject(req));
  AZTP_RETURN_IF_ERROR(OnlyMembers(body, {"id", "csr", "ttl"}));
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, WorkloadId(body, "id", td));
  services::X509SvidRequest r{std::move(id)};
  AZTP_ASSIGN_OR_RETURN(r.csr_pem, GetString(body, "csr"));
  AZTP_ASSIGN_OR_RETURN(r.ttl, GetOptionalInt(body, "ttl"));
  return r;
}

// DecodeAudience reads `audience`, an array of strings; how many, and how
// long each may be, is the service's rule (the bound here only stops the
// decoding of a long array).
Result<std::vector<std::string>> DecodeAudience(const Json& body) {
  auto aud = body.find("audience");
  if (aud == body.end() || !aud->is_array() ||
      aud->size() > services::kMaxAudiences) {
    return BadRequest("audience must be an array of 1 to 8 strings");
  }
  std::vector<std::string> out;
  for (const auto& a : *aud) {
    if (!a.is_string()) {
      return BadRequest("each audience must be a string of 1 to 256 bytes");
    }
    out.push_back(a.get<std::string>());
  }
  return out;
}

Result<services::JwtSvidRequest> DecodeJwt(const http::Request& req,
                                           const TrustDomain& td) {
  AZTP_ASSIGN_OR_RETURN(Json body, BodyObject(req));
  AZTP_RETURN_IF_ERROR(OnlyMembers(body, {"id", "audience", "ttl"}));
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, WorkloadId(body, "id", td));
  services::JwtSvidRequest r{std::move(id)};
  AZTP_ASSIGN_OR_RETURN(r.audience, DecodeAudience(body));
  AZTP_ASSIGN_OR_RETURN(r.ttl, GetOptionalInt(body, "ttl"));
  return r;
}

Json KeysJson(const std::vector<CaKeyRecord>& records) {
  Json keys = Json::array();
  for (const auto& r : records) {
    keys.push_back(Json{{"key_id", r.key_id},
                        {"kind", ToString(r.kind)},
                        {"state", ToString(r.state)},
                        {"created_at", r.created_at},
                        {"activated_at", r.activated_at},
                        {"not_after", r.not_after}});
  }
  return Json{{"keys", std::move(keys)}};
}

}  // namespace

void AddSvidRoutes(RouteTable& t, services::SvidService& s,
                   const TrustDomain& td) {
  // Any caller: who may obtain which identity's SVIDs is the service's rule.
  t.Add({"POST", "/v1/svid/x509", Permission::kAuthenticated, "",
         [&s, td](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(auto request, DecodeX509(c.request, td));
           AZTP_ASSIGN_OR_RETURN(auto svid, s.IssueX509(c.who(), request));
           c.reply.status = 201;
           return Json{{"svid", ToPem(svid.chain)},
                       {"bundle", svid.bundle->ToJson()},
                       {"expires_at", svid.expires_at}};
         }});
  t.Add({"POST", "/v1/svid/jwt", Permission::kAuthenticated, "",
         [&s, td](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(auto request, DecodeJwt(c.request, td));
           AZTP_ASSIGN_OR_RETURN(auto svid, s.IssueJwt(c.who(), request));
           c.reply.status = 201;
           return Json{{"token", std::move(svid.token)},
                       {"expires_at", svid.expires_at}};
         }});
}

void AddSigningKeyRoutes(RouteTable& t, services::SigningKeyService& s) {
  constexpr auto admin = Permission::kAdmin;
  constexpr std::string_view denial = "signing keys need an admin key";
  t.Add({"GET", "/v1/ca", admin, denial, [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(auto keys, s.List(c.who()));
           return KeysJson(keys);
         }});
  t.Add({"POST", "/v1/ca:rotate", admin, denial,
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(Json body, BodyObject(c.request));
           AZTP_RETURN_IF_ERROR(OnlyMembers(body, {"kind"}));
           AZTP_ASSIGN_OR_RETURN(std::string text, GetString(body, "kind"));
           auto kind = CaKeyRecord::ParseKind(text);
           if (!kind) return BadRequest("kind must be \"x509\" or \"jwt\"");
           AZTP_ASSIGN_OR_RETURN(auto keys, s.Rotate(c.who(), *kind));
           return KeysJson(keys);
         }});
}

}  // namespace aztp::internal

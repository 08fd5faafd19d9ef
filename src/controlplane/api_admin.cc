// Admin routes: API keys and the signing keys (CA rotation).
#include "api.h"
#include "audit.h"
#include "signing_keys.h"

namespace aztp {

using internal::Appended;
using internal::BadRequest;
using internal::MakeAudit;

Result<Json> ControlPlane::ApiKeys(const http::Request& req,
                                   const Principal& who, UnixTime now,
                                   Reply& reply) {
  const std::string& path = req.path;
  const std::string& m = req.method;
  reply.route = "/v1/apikeys";
  if (!who.admin) {
    return Error(Code::kPermissionDenied, "API keys need an admin key");
  }
  if (path == "/v1/apikeys" && m == "POST") {
    AZTP_ASSIGN_OR_RETURN(Json body, internal::BodyObject(req));
    AZTP_RETURN_IF_ERROR(internal::OnlyMembers(body, {"scope", "description"}));
    AZTP_ASSIGN_OR_RETURN(std::string scope, GetString(body, "scope"));
    AZTP_ASSIGN_OR_RETURN(auto description,
                          GetOptionalString(body, "description"));
    if (description && description->size() > 1024) {
      return BadRequest("description is longer than 1024 bytes");
    }
    if (scope != "admin") {
      // A SPIFFE path of this trust domain, stored normalised ("/agents/"
      // becomes "/agents") so that it reads as the segments it covers.
      AZTP_ASSIGN_OR_RETURN(SpiffeId parsed,
                            internal::ParseScope(trust_domain_, scope));
      scope = internal::ScopeText(parsed);
    }
    AZTP_ASSIGN_OR_RETURN(
        internal::NewApiKey key,
        internal::MakeApiKey(scope, description.value_or(""), now));
    AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
      AZTP_RETURN_IF_ERROR(tx.InsertApiKey(key.record));
      return Appended(
          tx.AppendAudit(MakeAudit(now, who.actor, "apikey.create",
                                   key.record.key_id, Json{{"scope", scope}})));
    }));
    reply.status = 201;
    Json out = internal::ApiKeyJson(key.record);
    out["api_key"] = key.secret_text;
    return out;
  }
  if (path == "/v1/apikeys" && m == "GET") {
    Json list = Json::array();
    AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
      AZTP_ASSIGN_OR_RETURN(auto keys, tx.ListApiKeys());
      for (const auto& k : keys) list.push_back(internal::ApiKeyJson(k));
      return Ok();
    }));
    return Json{{"api_keys", std::move(list)}};
  }
  const std::string suffix = ":revoke";
  if (m == "POST" && path.size() > 12 + suffix.size() &&
      path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
    reply.route = "/v1/apikeys/{key_id}:revoke";
    std::string key_id = path.substr(12, path.size() - 12 - suffix.size());
    AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
      AZTP_RETURN_IF_ERROR(tx.RevokeApiKey(key_id));
      return Appended(
          tx.AppendAudit(MakeAudit(now, who.actor, "apikey.revoke", key_id)));
    }));
    return Json{{"key_id", key_id}, {"revoked", true}};
  }
  return Error(Code::kNotFound, "no such route");
}

namespace {

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

Result<Json> ControlPlane::SigningKeysApi(const http::Request& req,
                                          const Principal& who, UnixTime now,
                                          Reply& reply) {
  if (!who.admin) {
    return Error(Code::kPermissionDenied, "signing keys need an admin key");
  }
  if (req.path == "/v1/ca" && req.method == "GET") {
    reply.route = "/v1/ca";
    return KeysJson(state()->keys->records());
  }
  if (req.path == "/v1/ca:rotate" && req.method == "POST") {
    reply.route = "/v1/ca:rotate";
    AZTP_ASSIGN_OR_RETURN(Json body, internal::BodyObject(req));
    AZTP_RETURN_IF_ERROR(internal::OnlyMembers(body, {"kind"}));
    AZTP_ASSIGN_OR_RETURN(std::string text, GetString(body, "kind"));
    std::optional<internal::KeyKind> kind = CaKeyRecord::ParseKind(text);
    if (!kind) return BadRequest("kind must be \"x509\" or \"jwt\"");
    {
      std::lock_guard<std::mutex> lock(maintain_mu_);
      AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
        AZTP_ASSIGN_OR_RETURN(std::vector<CaKeyRecord> keys, tx.ListCaKeys());
        AZTP_RETURN_IF_ERROR(internal::ApplyRotationStep(
            tx, internal::ForcedRotationStep(keys, *kind), trust_domain_,
            options_.ca, now, who.actor));
        return Ok();
      }));
      AZTP_RETURN_IF_ERROR(Reload(/*renew_server=*/false));
    }
    return KeysJson(state()->keys->records());
  }
  return Error(Code::kNotFound, "no such route");
}

}  // namespace aztp

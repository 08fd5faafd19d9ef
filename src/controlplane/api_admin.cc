// Admin routes: the signing keys (CA rotation).
#include "api.h"
#include "aztp/services/audit_entry.h"
#include "signing_keys.h"

namespace aztp {

using internal::BadRequest;
using services::Appended;
using services::MakeAudit;

namespace {

Json KeysJson(const std::vector<CaKeyRecord>& records) {
  Json keys = Json::array();
  for (const auto& r : records) {
    keys.push_back(Json{{"key_id", r.key_id},
                        {"kind", r.kind},
                        {"state", r.state},
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
  if (!who.admin()) {
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
    AZTP_ASSIGN_OR_RETURN(std::string kind, GetString(body, "kind"));
    if (kind != internal::kX509Kind && kind != internal::kJwtKind) {
      return BadRequest("kind must be \"x509\" or \"jwt\"");
    }
    {
      std::lock_guard<std::mutex> lock(maintain_mu_);
      AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
        AZTP_ASSIGN_OR_RETURN(std::vector<CaKeyRecord> keys, tx.ListCaKeys());
        AZTP_RETURN_IF_ERROR(internal::ApplyRotationStep(
            tx, internal::ForcedRotationStep(keys, kind), trust_domain_,
            options_.ca, now, who.actor()));
        return Ok();
      }));
      AZTP_RETURN_IF_ERROR(Reload(/*renew_server=*/false));
    }
    return KeysJson(state()->keys->records());
  }
  return Error(Code::kNotFound, "no such route");
}

}  // namespace aztp

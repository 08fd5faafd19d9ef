// SVID routes: X.509-SVIDs from CSRs, JWT-SVIDs.
#include "api.h"
#include "audit.h"
#include "aztp/base/bytes.h"
#include "aztp/crypto/digest.h"
#include "aztp/jose/jws.h"
#include "aztp/metrics/metrics.h"
#include "aztp/x509/csr.h"
#include "signing_keys.h"

namespace aztp {

using internal::Appended;
using internal::BadRequest;
using internal::MakeAudit;

namespace {

constexpr std::size_t kMaxAudiences = 8;
constexpr std::size_t kMaxAudienceBytes = 256;

// TtlMember reads the optional `ttl` within [60, max].
Result<int64_t> TtlMember(const Json& body, int64_t fallback, int64_t max) {
  AZTP_ASSIGN_OR_RETURN(auto ttl, GetOptionalInt(body, "ttl"));
  int64_t seconds = ttl.value_or(fallback);
  if (seconds < 60 || seconds > max) {
    return BadRequest("ttl must be between 60 and " + std::to_string(max) +
                      " seconds");
  }
  return seconds;
}

// RequireActive fails unless `id` is registered and active.
Status RequireActive(Transaction& tx, const SpiffeId& id) {
  AZTP_ASSIGN_OR_RETURN(auto r, tx.GetIdentity(id.str()));
  if (!r) return Error(Code::kNotFound, id.str() + " is not registered");
  if (r->status != IdentityRecord::Status::kActive) {
    return Error(Code::kRevoked, id.str() + " is revoked");
  }
  return Ok();
}

// SvidSubject reads `id` and checks that `who` may obtain an SVID for it.
Result<SpiffeId> SvidSubject(const Json& body, const TrustDomain& td,
                             const ControlPlane::Principal& who) {
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, internal::WorkloadId(body, "id", td));
  if (!who.MayObtainSvid(id)) {
    return Error(Code::kPermissionDenied,
                 "these credentials may not obtain an SVID for " + id.str());
  }
  return id;
}
}  // namespace

Result<Json> ControlPlane::X509Svid(const http::Request& req,
                                    const Principal& who, UnixTime now,
                                    Reply& reply) {
  reply.route = "/v1/svid/x509";
  AZTP_ASSIGN_OR_RETURN(Json body, internal::BodyObject(req));
  AZTP_RETURN_IF_ERROR(internal::OnlyMembers(body, {"id", "csr", "ttl"}));
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, SvidSubject(body, trust_domain_, who));
  AZTP_ASSIGN_OR_RETURN(std::string csr_pem, GetString(body, "csr"));
  AZTP_ASSIGN_OR_RETURN(int64_t ttl,
                        TtlMember(body, options_.default_svid_ttl_seconds,
                                  options_.max_svid_ttl_seconds));
  AZTP_ASSIGN_OR_RETURN(CertificateRequest csr,
                        CertificateRequest::FromPem(csr_pem));
  if (csr.public_key().type() == KeyType::kRsa) {
    // Checked here so that the answer is a plain 400, not the 415 that
    // kUnsupported means for a request body.
    return BadRequest("the CSR's key must be ec-p256, ec-p384 or ed25519");
  }
  auto current = state();
  const CertificateAuthority& ca = current->keys->ca();
  std::vector<Certificate> chain;
  AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
    AZTP_RETURN_IF_ERROR(RequireActive(tx, id));
    AZTP_ASSIGN_OR_RETURN(chain, ca.IssueFromCsr(id, csr, ttl, now));
    const Certificate& leaf = chain.front();
    AZTP_RETURN_IF_ERROR(tx.InsertSvid(
        SvidRecord{leaf.serial_hex(), id.str(), now, leaf.not_after()}));
    return Appended(tx.AppendAudit(MakeAudit(
        now, who.actor, who.svid ? "svid.renew" : "svid.issue", id.str(),
        Json{{"serial", leaf.serial_hex()},
             {"expires_at", leaf.not_after()}})));
  }));
  instruments_->metrics.Add("aztpd_svids_issued_total", {{"kind", "x509"}});
  reply.status = 201;
  return Json{{"svid", ToPem(chain)},
              {"bundle", current->bundle->ToJson()},
              {"expires_at", chain.front().not_after()}};
}

Result<Json> ControlPlane::JwtSvid(const http::Request& req,
                                   const Principal& who, UnixTime now,
                                   Reply& reply) {
  reply.route = "/v1/svid/jwt";
  AZTP_ASSIGN_OR_RETURN(Json body, internal::BodyObject(req));
  AZTP_RETURN_IF_ERROR(internal::OnlyMembers(body, {"id", "audience", "ttl"}));
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, SvidSubject(body, trust_domain_, who));
  auto aud = body.find("audience");
  if (aud == body.end() || !aud->is_array() || aud->empty() ||
      aud->size() > kMaxAudiences) {
    return BadRequest("audience must be an array of 1 to 8 strings");
  }
  for (const auto& a : *aud) {
    if (!a.is_string() || a.get_ref<const std::string&>().empty() ||
        a.get_ref<const std::string&>().size() > kMaxAudienceBytes) {
      return BadRequest("each audience must be a string of 1 to 256 bytes");
    }
  }
  AZTP_ASSIGN_OR_RETURN(int64_t ttl,
                        TtlMember(body, options_.default_jwt_ttl_seconds,
                                  options_.max_jwt_ttl_seconds));
  auto current = state();
  const PrivateKey* key = current->keys->jwt_key();
  if (key == nullptr) {
    return Error(Code::kUnavailable, "no active JWT-SVID key yet");
  }
  AZTP_ASSIGN_OR_RETURN(Bytes jti_bytes, RandomBytes(16));
  const std::string jti = HexEncode(jti_bytes);
  Json header{{"alg", std::string(AlgorithmName(key->algorithm()))},
              {"kid", current->keys->jwt_kid()},
              {"typ", "JWT"}};
  Json claims{{"sub", id.str()},
              {"aud", *aud},
              {"exp", now + ttl},
              {"iat", now},
              {"jti", jti}};
  std::string token;
  AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
    AZTP_RETURN_IF_ERROR(RequireActive(tx, id));
    AZTP_ASSIGN_OR_RETURN(token,
                          SignCompact(header, AsBytes(DumpJson(claims)), *key));
    return Appended(tx.AppendAudit(
        MakeAudit(now, who.actor, "svid.jwt", id.str(),
                  Json{{"jti", jti}, {"aud", *aud}, {"exp", now + ttl}})));
  }));
  instruments_->metrics.Add("aztpd_svids_issued_total", {{"kind", "jwt"}});
  reply.status = 201;
  return Json{{"token", std::move(token)}, {"expires_at", now + ttl}};
}

}  // namespace aztp

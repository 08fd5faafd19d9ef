#include "aztp/services/svids.h"

#include "aztp/base/bytes.h"
#include "aztp/crypto/digest.h"
#include "aztp/jose/jws.h"
#include "aztp/services/audit_entry.h"
#include "aztp/services/identities.h"
#include "aztp/x509/csr.h"
#include "records.h"

namespace aztp::services {

namespace {

Error BadRequest(std::string message) {
  return Error(Code::kInvalidArgument, std::move(message));
}

// Ttl is the requested lifetime, or `fallback`, within [kMinSvidTtl, max].
Result<int64_t> Ttl(const std::optional<int64_t>& requested, int64_t fallback,
                    int64_t max) {
  const int64_t seconds = requested.value_or(fallback);
  if (seconds < kMinSvidTtl || seconds > max) {
    return BadRequest("ttl must be between 60 and " + std::to_string(max) +
                      " seconds");
  }
  return seconds;
}

// MayObtain: `id` is a workload of the trust domain and `who` may obtain
// its SVIDs.
Status MayObtain(const ServiceContext& ctx, const Principal& who,
                 const SpiffeId& id) {
  AZTP_RETURN_IF_ERROR(RequireWorkloadId(ctx.trust_domain, id));
  if (who.MayObtainSvid(id)) return Ok();
  return Error(Code::kPermissionDenied,
               "these credentials may not obtain an SVID for " + id.str());
}

Status CheckAudience(const std::vector<std::string>& audience) {
  if (audience.empty() || audience.size() > kMaxAudiences) {
    return BadRequest("audience must be an array of 1 to 8 strings");
  }
  for (const auto& a : audience) {
    if (a.empty() || a.size() > kMaxAudienceBytes) {
      return BadRequest("each audience must be a string of 1 to 256 bytes");
    }
  }
  return Ok();
}

}  // namespace

Result<IssuedX509Svid> SvidService::IssueX509(const Principal& who,
                                              const X509SvidRequest& request) {
  const SpiffeId& id = request.id;
  AZTP_RETURN_IF_ERROR(MayObtain(ctx_, who, id));
  AZTP_ASSIGN_OR_RETURN(
      int64_t ttl,
      Ttl(request.ttl, lifetimes_.default_x509_ttl, lifetimes_.max_x509_ttl));
  AZTP_ASSIGN_OR_RETURN(CertificateRequest csr,
                        CertificateRequest::FromPem(request.csr_pem));
  if (csr.public_key().type() == KeyType::kRsa) {
    // Refused here so that the answer is a plain invalid_argument, not the
    // kUnsupported the CA would give (which HTTP answers as 415).
    return BadRequest("the CSR's key must be ec-p256, ec-p384 or ed25519");
  }
  const UnixTime now = ctx_.Now();
  IssuedX509Svid out;
  const KeySnapshot current = ring_.Current();
  out.bundle = current.bundle;
  const CertificateAuthority& ca = current.keys->ca();
  AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
    AZTP_RETURN_IF_ERROR(RequireActive(tx, id));
    AZTP_ASSIGN_OR_RETURN(out.chain, ca.IssueFromCsr(id, csr, ttl, now));
    const Certificate& leaf = out.chain.front();
    AZTP_RETURN_IF_ERROR(tx.InsertSvid(
        SvidRecord{leaf.serial_hex(), id.str(), now, leaf.not_after()}));
    // An SVID's own holder asking is a renewal; a key asking, an issuance.
    return Appended(tx.AppendAudit(MakeAudit(
        now, who.actor(), who.svid() ? "svid.renew" : "svid.issue", id.str(),
        Json{{"serial", leaf.serial_hex()},
             {"expires_at", leaf.not_after()}})));
  }));
  out.expires_at = out.chain.front().not_after();
  Issued(SvidKind::kX509);
  return out;
}

Result<IssuedJwtSvid> SvidService::IssueJwt(const Principal& who,
                                            const JwtSvidRequest& request) {
  const SpiffeId& id = request.id;
  AZTP_RETURN_IF_ERROR(MayObtain(ctx_, who, id));
  AZTP_RETURN_IF_ERROR(CheckAudience(request.audience));
  AZTP_ASSIGN_OR_RETURN(
      int64_t ttl,
      Ttl(request.ttl, lifetimes_.default_jwt_ttl, lifetimes_.max_jwt_ttl));
  const KeySnapshot current = ring_.Current();
  const PrivateKey* key = current.keys->jwt_key();
  if (key == nullptr) {
    return Error(Code::kUnavailable, "no active JWT-SVID key yet");
  }
  AZTP_ASSIGN_OR_RETURN(Bytes jti_bytes, RandomBytes(16));
  const std::string jti = HexEncode(jti_bytes);
  const UnixTime now = ctx_.Now();
  IssuedJwtSvid out;
  out.expires_at = now + ttl;
  Json header{{"alg", std::string(AlgorithmName(key->algorithm()))},
              {"kid", current.keys->jwt_kid()},
              {"typ", "JWT"}};
  Json claims{{"sub", id.str()},
              {"aud", request.audience},
              {"exp", out.expires_at},
              {"iat", now},
              {"jti", jti}};
  AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
    AZTP_RETURN_IF_ERROR(RequireActive(tx, id));
    AZTP_ASSIGN_OR_RETURN(out.token,
                          SignCompact(header, AsBytes(DumpJson(claims)), *key));
    return Appended(
        tx.AppendAudit(MakeAudit(now, who.actor(), "svid.jwt", id.str(),
                                 Json{{"jti", jti},
                                      {"aud", request.audience},
                                      {"exp", out.expires_at}})));
  }));
  Issued(SvidKind::kJwt);
  return out;
}

}  // namespace aztp::services

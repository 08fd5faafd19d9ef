#include "aztp/services/coordination.h"

#include "aztp/base/bytes.h"
#include "aztp/crypto/digest.h"
#include "aztp/replay/replay_key.h"
#include "aztp/services/audit_entry.h"

namespace aztp::services {

Result<LeaseRecord> HoldLease(const ServiceContext& ctx,
                              const std::string& name,
                              const std::string& holder, int64_t ttl_seconds) {
  const UnixTime now = ctx.Now();
  LeaseRecord out;
  AZTP_RETURN_IF_ERROR(ctx.store->Write([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(std::optional<LeaseRecord> lease, tx.GetLease(name));
    const bool mine = lease && lease->holder == holder;
    if (lease && !mine && lease->expires_at > now) {
      out = *lease;  // another replica's, still running
      return Ok();
    }
    out = LeaseRecord{name, holder, now + ttl_seconds,
                      mine ? lease->term : (lease ? lease->term + 1 : 1)};
    AZTP_RETURN_IF_ERROR(tx.PutLease(out));
    if (mine) return Ok();
    AuditRecord a =
        MakeAudit(now, holder, "lease.acquire", name, Json{{"term", out.term}});
    if (lease) a.details["previous"] = lease->holder;
    return Appended(tx.AppendAudit(a));
  }));
  return out;
}

Status StoreClaims::CheckAndRemember(std::string_view issuer,
                                     std::string_view jti, UnixTime expires_at,
                                     UnixTime now) {
  AZTP_RETURN_IF_ERROR(ValidateArguments(issuer, jti, expires_at, now));
  const std::string key =
      "replay:" + HexEncode(Sha256(AsBytes(ReplayKey(issuer, jti))));
  bool first = false;
  AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(first, tx.ClaimOnce(key, expires_at, now));
    return Ok();
  }));
  if (!first) return Error(Code::kReplay, "already used");
  return Ok();
}

}  // namespace aztp::services

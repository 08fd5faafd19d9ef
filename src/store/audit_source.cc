#include "aztp/base/error.h"
#include "aztp/store/store.h"

namespace aztp {

Status CheckAuditSource(AuditLogRepository& tx, const std::string& source) {
  AZTP_ASSIGN_OR_RETURN(AuditHead head, tx.ShippedAuditHead(source));
  if (head.seq > 0) return Ok();
  return Error(Code::kNotFound, "no records were shipped by " +
                                    QuoteInput(source) +
                                    " (GET /v1/audit/sources lists who did)");
}

}  // namespace aztp

// How the services shape their audit records: one per mutation, written in
// the mutation's own transaction (docs/audit.md).
#pragma once

#include <string>

#include "aztp/audit/audit.h"
#include "aztp/base/clock.h"
#include "aztp/encoding/json.h"

namespace aztp::services {

// MakeAudit is an "allow" record of `actor` doing `action` to `subject`.
inline AuditRecord MakeAudit(UnixTime now, std::string actor,
                             std::string action, std::string subject,
                             Json details = Json::object()) {
  AuditRecord a;
  a.time = now;
  a.actor = std::move(actor);
  a.action = std::move(action);
  a.subject = std::move(subject);
  a.decision = "allow";
  a.details = std::move(details);
  return a;
}

// Appended turns AppendAudit's result into a Status, keeping its error.
inline Result<void> Appended(const Result<int64_t>& seq) {
  if (!seq) return seq.error();
  return Ok();
}

}  // namespace aztp::services

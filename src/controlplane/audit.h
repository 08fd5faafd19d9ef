// How the control plane shapes its audit records (one per mutation, written
// in the mutation's own transaction).
#pragma once

#include <string>

#include "aztp/store/store.h"

namespace aztp::internal {

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

}  // namespace aztp::internal

#include "records.h"

namespace aztp::services {

Status RequireRegistered(Transaction& tx, const SpiffeId& id) {
  AZTP_ASSIGN_OR_RETURN(auto r, tx.GetIdentity(id.str()));
  if (!r) return Error(Code::kNotFound, id.str() + " is not registered");
  return Ok();
}

Status RequireActive(Transaction& tx, const SpiffeId& id) {
  AZTP_ASSIGN_OR_RETURN(auto r, tx.GetIdentity(id.str()));
  if (!r) return Error(Code::kNotFound, id.str() + " is not registered");
  if (r->status != IdentityRecord::Status::kActive) {
    return Error(Code::kRevoked, id.str() + " is revoked");
  }
  return Ok();
}

std::vector<const Policy*> Attached::pointers() const {
  std::vector<const Policy*> out;
  out.reserve(policies.size());
  for (const auto& p : policies) out.push_back(&p);
  return out;
}

Result<Attached> ReadAttached(Transaction& tx, const SpiffeId& id,
                              const std::optional<std::string>& only) {
  Attached out;
  AZTP_RETURN_IF_ERROR(RequireRegistered(tx, id));
  AZTP_ASSIGN_OR_RETURN(out.records, tx.ListAttachedPolicies(id.str()));
  if (only) {
    std::erase_if(out.records,
                  [&](const PolicyRecord& p) { return p.id != *only; });
    if (out.records.empty()) {
      return Error(Code::kNotFound, "policy " + QuoteInput(*only) +
                                        " is not attached to " + id.str());
    }
  }
  for (const auto& r : out.records) {
    auto p = ParsePolicy(r.document);
    if (!p) return p.error().WithContext("stored policy " + r.id);
    out.policies.push_back(std::move(*p));
  }
  return out;
}

}  // namespace aztp::services

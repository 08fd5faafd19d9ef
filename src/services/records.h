// Checks and reads over the store that several services share, each
// inside the caller's transaction (so that what they saw is what the
// transaction commits against).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/chain/capability.h"
#include "aztp/policy/policy.h"
#include "aztp/spiffeid/spiffe_id.h"
#include "aztp/store/store.h"

namespace aztp::services {

// RequireRegistered fails (kNotFound) unless `id` is registered.
Status RequireRegistered(Transaction& tx, const SpiffeId& id);

// RequireActive fails unless `id` is registered (kNotFound) and active
// (kRevoked); checked in the issuing transaction, so that a revocation
// committed before it wins.
Status RequireActive(Transaction& tx, const SpiffeId& id);

// Attached are the stored policies attached to an identity, parsed.
struct Attached {
  std::vector<PolicyRecord> records;
  std::vector<Policy> policies;

  std::vector<const Policy*> pointers() const;
};

// ReadAttached reads the policies attached to registered `id` (only
// `only`, when given: kNotFound when it is not attached).
Result<Attached> ReadAttached(Transaction& tx, const SpiffeId& id,
                              const std::optional<std::string>& only);

// PersonCapabilities checks what a person's root is asked to grant: 1 to
// kMaxPersonCapabilities (people.h) concrete capabilities; a wildcard could
// cover an action a Deny statement names (kInvalidArgument).
Result<CapabilitySet> PersonCapabilities(const std::vector<std::string>& asked);

}  // namespace aztp::services

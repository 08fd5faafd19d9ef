// PolicyService: stored, versioned policies, their attachments to the
// identities that receive calls, and the decisions of an identity's
// attached policies (docs/policy.md, "Policies in aztpd"). Every mutation
// is one transaction with its audit record; so is every decision.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/policy/policy.h"
#include "aztp/services/context.h"
#include "aztp/services/principal.h"

namespace aztp::services {

// Limits of policy requests.
inline constexpr std::size_t kMaxPolicyNameBytes = 128;
inline constexpr std::size_t kMaxPolicyDescriptionBytes = 1024;
inline constexpr std::size_t kMaxActionBytes = 256;

// NewPolicy is a policy to create; its document is stored in canonical
// form (Policy::ToJson).
struct NewPolicy {
  std::string name;  // required, unique
  std::string description;
  Policy document;
};

// PolicyChange makes the next version of a policy. `replaces` names the
// current version, so that two editors never overwrite each other
// unknowingly; unset name and description stay as they are.
struct PolicyChange {
  int64_t replaces = 0;
  Policy document;
  std::optional<std::string> name;
  std::optional<std::string> description;
};

struct PolicyDetails {
  PolicyRecord policy;
  std::vector<std::string> attached_to;  // identities
};

// AuthorizeRequest asks for the decision of `identity`'s attached policies
// (or only of `policy_id`, which must be attached to it).
struct AuthorizeRequest {
  SpiffeId identity;
  std::string action;  // 1 to 256 bytes
  std::string resource = "*";
  // context: aztp:* and request:* keys; aztp:CurrentTime is the service's
  // clock when absent.
  PolicyContext context;
  std::optional<std::string> policy_id;
};

// AuthorizeResult is a decision and the ID of the policy that decided it
// (unset when no statement did: the default deny).
struct AuthorizeResult {
  Decision decision;
  std::optional<std::string> policy_id;
};

class PolicyService {
 public:
  explicit PolicyService(const ServiceContext& ctx) : ctx_(ctx) {}

  // AttachedTo lists the current versions of the policies attached to
  // `identity`, for whoever may obtain its SVID (its own SVID, or a key
  // that manages it); kNotFound for an unregistered identity.
  Result<std::vector<PolicyRecord>> AttachedTo(const Principal& who,
                                               const SpiffeId& identity);

  // Managing policies, attachments included, needs an admin key: a key
  // scoped to an identity must not change who may call it (docs/aztpd.md,
  // "Permissions").
  Result<std::vector<PolicyRecord>> List(const Principal& who);
  Result<PolicyRecord> Create(const Principal& who, NewPolicy request);
  // Get reads the current version, or `version`; a missing version of an
  // existing policy is kNotFound naming the versions there are.
  Result<PolicyDetails> Get(const Principal& who, const std::string& id,
                            std::optional<int64_t> version);
  // Update stores the next version; kAlreadyExists when `replaces` is not
  // the current one.
  Result<PolicyRecord> Update(const Principal& who, const std::string& id,
                              PolicyChange change);
  Status Delete(const Principal& who, const std::string& id);
  Status Attach(const Principal& who, const std::string& id,
                const SpiffeId& identity);
  Status Detach(const Principal& who, const std::string& id,
                const SpiffeId& identity);

  // Authorize decides `request` with EvaluateAll over the policies attached
  // to its identity, for whoever may obtain the identity's SVID (the
  // context is the caller's description of the call); the decision is
  // audited as policy.authorize with its verdict and reason.
  Result<AuthorizeResult> Authorize(const Principal& who,
                                    AuthorizeRequest request);

 private:
  Status ChangeAttachment(const Principal& who, const std::string& id,
                          const SpiffeId& identity, bool attach);

  const ServiceContext& ctx_;
};

}  // namespace aztp::services

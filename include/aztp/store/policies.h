// The policies aggregate: versioned policies and their attachments to
// identities.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"

namespace aztp {

// PolicyRecord is one version of a stored policy (policy/policy.h). Every
// write of a policy is a new version; older versions are kept.
struct PolicyRecord {
  std::string id;    // "policy:<12 hex>"
  std::string name;  // unique, chosen by the author
  std::string description;
  int64_t version = 1;
  std::string document;     // canonical JSON (Policy::ToJson)
  UnixTime created_at = 0;  // of the policy (its first version)
  UnixTime updated_at = 0;  // of this version
};

// PolicyRepository holds policies, their versions and attachments (kIo on
// storage errors).
class PolicyRepository {
 public:
  virtual ~PolicyRepository() = default;

  // PutPolicy stores a new version of a policy (inserting the policy on its
  // first version); the version must be the current one + 1 (kAlreadyExists
  // otherwise, also for a name another policy has).
  virtual Status PutPolicy(const PolicyRecord& r) = 0;
  // GetPolicy returns the current version, or `version` when given.
  virtual Result<std::optional<PolicyRecord>> GetPolicy(
      const std::string& id, std::optional<int64_t> version = std::nullopt) = 0;
  // ListPolicies returns the current version of every policy, by ID.
  virtual Result<std::vector<PolicyRecord>> ListPolicies() = 0;
  // DeletePolicy removes a policy, its versions and attachments (kNotFound
  // for an unknown ID).
  virtual Status DeletePolicy(const std::string& id) = 0;
  // AttachPolicy attaches a policy to an identity (kNotFound when either is
  // unknown, kAlreadyExists when attached already).
  virtual Status AttachPolicy(const std::string& identity,
                              const std::string& policy_id, UnixTime now) = 0;
  // DetachPolicy removes an attachment (kNotFound when there is none).
  virtual Status DetachPolicy(const std::string& identity,
                              const std::string& policy_id) = 0;
  // ListAttachedPolicies returns the current versions of the policies
  // attached to `identity`, ordered by ID.
  virtual Result<std::vector<PolicyRecord>> ListAttachedPolicies(
      const std::string& identity) = 0;
  // ListPolicyAttachments returns the identities a policy is attached to,
  // ordered by ID.
  virtual Result<std::vector<std::string>> ListPolicyAttachments(
      const std::string& policy_id) = 0;
};

}  // namespace aztp

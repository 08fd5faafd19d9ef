// FlowService: identity flows, named groups of identities managed together,
// with membership and revocation scoped to the flow (docs/aztpd.md and
// docs/compat.md, "Identity flows"). A flow is "public" (visible to every
// API key) or "private" (visible to the key that created it, and to
// admins); another key's private flow is answered as if it did not exist.
// Every mutation is one transaction with its audit record.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/services/context.h"
#include "aztp/services/principal.h"

namespace aztp::services {

// Limits of flow requests.
inline constexpr std::size_t kMaxFlowNameBytes = 128;
inline constexpr std::size_t kMaxFlowDescriptionBytes = 1024;
inline constexpr std::size_t kMaxFlowTags = 32;
inline constexpr std::size_t kMaxFlowTagBytes = 64;

// kFlowsDenial is the refusal of a caller without an API key: flows belong
// to the keys that manage identities, and a workload's SVID alone neither
// creates nor reads them.
inline constexpr std::string_view kFlowsDenial =
    "identity flows need an API key";

// FlowFields are the members a flow is created or changed with. On Create,
// `name` is required and the others default (discoverable "public", no
// tags, empty metadata); on Update, unset members are kept.
struct FlowFields {
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::string> discoverable;  // "public" or "private"
  std::optional<std::vector<std::string>> tags;
  std::optional<Json> metadata;  // an object of at most 16 KiB
};

struct FlowDetails {
  FlowRecord flow;
  std::vector<FlowMemberRecord> members;
};

class FlowService {
 public:
  explicit FlowService(const ServiceContext& ctx) : ctx_(ctx) {}

  // Create stores a new flow owned by the caller, under a fresh random ID.
  Result<FlowRecord> Create(const Principal& who, FlowFields fields);
  // List returns the flows the caller sees.
  Result<std::vector<FlowRecord>> List(const Principal& who);
  // Get returns flow `id` with its members (kNotFound when the caller does
  // not see it).
  Result<FlowDetails> Get(const Principal& who, const std::string& id);
  // Update changes the members set in `changes`; Delete removes the flow and
  // its memberships, never the identities. Both need the flow's owner (the
  // key that created it) or an admin.
  Result<FlowRecord> Update(const Principal& who, const std::string& id,
                            FlowFields changes);
  Status Delete(const Principal& who, const std::string& id);

  // Membership. A membership binds an identity and a flow, so it is granted
  // only with rights on both ends: Add needs the flow's owner and a key
  // that manages the identity; Reissue (undoing a revocation in the flow)
  // the owner; Remove and Revoke suit either end (docs/aztpd.md,
  // "Permissions"). Remove answers the membership it removed; Revoke
  // marks the identity revoked in this flow only.
  Result<FlowMemberRecord> Add(const Principal& who, const std::string& flow,
                               const SpiffeId& identity);
  Result<FlowMemberRecord> Remove(const Principal& who, const std::string& flow,
                                  const SpiffeId& identity);
  Result<FlowMemberRecord> Revoke(const Principal& who, const std::string& flow,
                                  const SpiffeId& identity,
                                  const std::string& reason);
  Result<FlowMemberRecord> Reissue(const Principal& who,
                                   const std::string& flow,
                                   const SpiffeId& identity);

  // Change names the four membership changes; ChangeMembership makes the
  // one given (the methods above), for callers that route by name.
  enum class Change { kAdd, kRemove, kRevoke, kReissue };
  Result<FlowMemberRecord> ChangeMembership(const Principal& who,
                                            const std::string& flow,
                                            const SpiffeId& identity,
                                            Change change,
                                            const std::string& reason = "");

 private:
  const ServiceContext& ctx_;
};

// RequireFlowId is kNotFound (as for an unknown flow) unless `id` has the
// shape of the IDs handed out: "flow_" and 24 lowercase hex digits.
Status RequireFlowId(std::string_view id);

}  // namespace aztp::services

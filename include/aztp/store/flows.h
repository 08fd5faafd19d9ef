// The flows aggregate: identity flows and their members.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/encoding/json.h"

namespace aztp {

// FlowRecord is an identity flow: a named group of identities managed
// together, with revocation scoped to the flow.
struct FlowRecord {
  // Discoverability is stored as "public" or "private".
  enum class Discoverability { kPublic, kPrivate };
  static std::optional<Discoverability> ParseDiscoverability(
      std::string_view text);

  std::string id;  // "flow_<24 hex>"
  std::string name;
  std::string description;
  Discoverability discoverable = Discoverability::kPublic;
  Json tags = Json::array();  // strings
  Json metadata = Json::object();
  std::string created_by;  // actor
  UnixTime created_at = 0;
  UnixTime updated_at = 0;
};
std::string_view ToString(FlowRecord::Discoverability discoverable);

// FlowMemberRecord is an identity's membership of a flow.
struct FlowMemberRecord {
  // Status (in this flow) is stored as "active" or "revoked".
  enum class Status { kActive, kRevoked };
  static std::optional<Status> ParseStatus(std::string_view text);

  std::string flow_id;
  std::string identity;
  Status status = Status::kActive;
  std::string reason;
  UnixTime added_at = 0;
  UnixTime updated_at = 0;
};
std::string_view ToString(FlowMemberRecord::Status status);

// FlowRepository holds flows and their members (kIo on storage errors).
class FlowRepository {
 public:
  virtual ~FlowRepository() = default;

  // PutFlow inserts or replaces a flow (its created_by and created_at stay
  // those of the first put).
  virtual Status PutFlow(const FlowRecord& r) = 0;
  virtual Result<std::optional<FlowRecord>> GetFlow(const std::string& id) = 0;
  // ListFlows returns every flow, ordered by ID.
  virtual Result<std::vector<FlowRecord>> ListFlows() = 0;
  // DeleteFlow removes a flow and its members (kNotFound for an unknown
  // ID).
  virtual Status DeleteFlow(const std::string& id) = 0;
  // PutFlowMember inserts or replaces a membership of an existing identity
  // (its added_at stays that of the first put).
  virtual Status PutFlowMember(const FlowMemberRecord& r) = 0;
  virtual Result<std::optional<FlowMemberRecord>> GetFlowMember(
      const std::string& flow_id, const std::string& identity) = 0;
  // ListFlowMembers returns a flow's members, ordered by identity.
  virtual Result<std::vector<FlowMemberRecord>> ListFlowMembers(
      const std::string& flow_id) = 0;
  // DeleteFlowMember removes a membership (kNotFound when there is none).
  virtual Status DeleteFlowMember(const std::string& flow_id,
                                  const std::string& identity) = 0;
};

}  // namespace aztp

// The flows repository (sql_repositories.h).
#include <string>

#include "store/sql_repositories.h"

namespace aztp::internal {
namespace {

constexpr const char* kFlowSelect =
    "SELECT id, name, description, discoverable, tags, metadata, created_by, "
    "created_at, updated_at FROM flows";
constexpr const char* kFlowMemberSelect =
    "SELECT flow_id, identity, status, reason, added_at, updated_at FROM "
    "flow_members";

// ReadFlow is the row mapper of FlowRecord.
Result<FlowRecord> ReadFlow(const SqlRow& row) {
  FlowRecord r;
  r.id = row.Text("id");
  r.name = row.Text("name");
  r.description = row.Text("description");
  AZTP_ASSIGN_OR_RETURN(
      r.discoverable,
      ParseStored(row.Text("discoverable"), FlowRecord::ParseDiscoverability,
                  "flow discoverability"));
  AZTP_ASSIGN_OR_RETURN(r.tags, DecodeJson(row.Text("tags"), "flow tags"));
  AZTP_ASSIGN_OR_RETURN(r.metadata,
                        DecodeJson(row.Text("metadata"), "flow metadata"));
  r.created_by = row.Text("created_by");
  r.created_at = row.Int("created_at");
  r.updated_at = row.Int("updated_at");
  return r;
}

// ReadFlowMember is the row mapper of FlowMemberRecord.
Result<FlowMemberRecord> ReadFlowMember(const SqlRow& row) {
  FlowMemberRecord r;
  r.flow_id = row.Text("flow_id");
  r.identity = row.Text("identity");
  AZTP_ASSIGN_OR_RETURN(
      r.status, ParseStored(row.Text("status"), FlowMemberRecord::ParseStatus,
                            "flow member status"));
  r.reason = row.Text("reason");
  r.added_at = row.Int("added_at");
  r.updated_at = row.Int("updated_at");
  return r;
}

}  // namespace

Status SqlFlows::PutFlow(const FlowRecord& r) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  if (r.id.empty()) {
    return Error(Code::kInvalidArgument, "store: flow ID is empty");
  }
  AZTP_ASSIGN_OR_RETURN(std::string tags,
                        EncodeJson(r.tags, "flow tags", kMaxMetadataBytes));
  AZTP_ASSIGN_OR_RETURN(
      std::string metadata,
      EncodeJson(r.metadata, "flow metadata", kMaxMetadataBytes));
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q,
      s_.Query("INSERT INTO flows (id, name, description, discoverable, "
               "tags, metadata, created_by, created_at, updated_at) VALUES "
               "(?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
               "name = excluded.name, description = excluded.description, "
               "discoverable = excluded.discoverable, tags = excluded.tags, "
               "metadata = excluded.metadata, "
               "updated_at = excluded.updated_at"));
  q.Text(r.id);
  q.Text(r.name);
  q.Text(r.description);
  q.Text(ToString(r.discoverable));
  q.Text(tags);
  q.Text(metadata);
  q.Text(r.created_by);
  q.Int(r.created_at);
  q.Int(r.updated_at);
  return q.Run("put flow");
}

Result<std::optional<FlowRecord>> SqlFlows::GetFlow(const std::string& id) {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(SqlStmt q,
                        s_.Query(std::string(kFlowSelect) + " WHERE id = ?"));
  q.Text(id);
  return s_.OneRow<FlowRecord>(q, "get flow", ReadFlow);
}

Result<std::vector<FlowRecord>> SqlFlows::ListFlows() {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(SqlStmt q,
                        s_.Query(std::string(kFlowSelect) + " ORDER BY id"));
  return s_.Rows<FlowRecord>(q, "list flows", ReadFlow);
}

Status SqlFlows::DeleteFlow(const std::string& id) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  return s_.DeleteOne("DELETE FROM flows WHERE id = ?", {id},
                      "flow " + QuoteInput(id));
}

Status SqlFlows::PutFlowMember(const FlowMemberRecord& r) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q,
      s_.Query("INSERT INTO flow_members (flow_id, identity, status, reason, "
               "added_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
               "ON CONFLICT (flow_id, identity) DO UPDATE SET "
               "status = excluded.status, reason = excluded.reason, "
               "updated_at = excluded.updated_at"));
  q.Text(r.flow_id);
  q.Text(r.identity);
  q.Text(ToString(r.status));
  q.Text(r.reason);
  q.Int(r.added_at);
  q.Int(r.updated_at);
  return q.Run("put flow member");
}

Result<std::optional<FlowMemberRecord>> SqlFlows::GetFlowMember(
    const std::string& flow_id, const std::string& identity) {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(SqlStmt q,
                        s_.Query(std::string(kFlowMemberSelect) +
                                 " WHERE flow_id = ? AND identity = ?"));
  q.Text(flow_id);
  q.Text(identity);
  return s_.OneRow<FlowMemberRecord>(q, "get flow member", ReadFlowMember);
}

Result<std::vector<FlowMemberRecord>> SqlFlows::ListFlowMembers(
    const std::string& flow_id) {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(SqlStmt q,
                        s_.Query(std::string(kFlowMemberSelect) +
                                 " WHERE flow_id = ? ORDER BY identity"));
  q.Text(flow_id);
  return s_.Rows<FlowMemberRecord>(q, "list flow members", ReadFlowMember);
}

Status SqlFlows::DeleteFlowMember(const std::string& flow_id,
                                     const std::string& identity) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  return s_.DeleteOne(
      "DELETE FROM flow_members WHERE flow_id = ? AND identity = ?",
      {flow_id, identity},
      QuoteInput(identity) + " in flow " + QuoteInput(flow_id));
}

}  // namespace aztp::internal

// The policies repository (sql_repositories.h).
#include <string>

#include "store/sql_repositories.h"

namespace aztp::internal {
namespace {

// A policy's row holds what every version shares; policy_versions holds
// each version's document.
constexpr const char* kPolicySelect =
    "SELECT p.id AS id, p.name AS name, p.description AS description, "
    "v.version AS version, v.document AS document, "
    "p.created_at AS created_at, v.created_at AS updated_at "
    "FROM policies p JOIN policy_versions v ON v.id = p.id";

// ReadPolicy is the row mapper of PolicyRecord.
Result<PolicyRecord> ReadPolicy(const SqlRow& row) {
  PolicyRecord r;
  r.id = row.Text("id");
  r.name = row.Text("name");
  r.description = row.Text("description");
  r.version = row.Int("version");
  r.document = row.Text("document");
  r.created_at = row.Int("created_at");
  r.updated_at = row.Int("updated_at");
  return r;
}

}  // namespace

Result<std::optional<int64_t>> SqlPolicies::CurrentVersion(
    const std::string& id) {
  AZTP_ASSIGN_OR_RETURN(SqlStmt q,
                        s_.Query("SELECT version FROM policies WHERE id = ?"));
  q.Text(id);
  return s_.OneRow<int64_t>(q, "find policy",
                            [](const SqlRow& row) -> Result<int64_t> {
                              return row.Int("version");
                            });
}

Status SqlPolicies::PutPolicy(const PolicyRecord& r) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  if (r.id.empty() || r.name.empty() || r.version < 1) {
    return Error(Code::kInvalidArgument,
                 "store: a policy needs an ID, a name and a version >= 1");
  }
  AZTP_ASSIGN_OR_RETURN(std::optional<int64_t> current, CurrentVersion(r.id));
  if (r.version != current.value_or(0) + 1) {
    return Error(Code::kAlreadyExists,
                 "store: policy " + QuoteInput(r.id) + " is at version " +
                     std::to_string(current.value_or(0)) + ", not " +
                     std::to_string(r.version - 1));
  }
  {
    AZTP_ASSIGN_OR_RETURN(
        SqlStmt q,
        s_.Query(current ? "UPDATE policies SET name = ?, description = ?, "
                           "version = ?, updated_at = ? WHERE id = ?"
                         : "INSERT INTO policies (name, description, "
                           "version, updated_at, id, created_at) VALUES "
                           "(?, ?, ?, ?, ?, ?)"));
    q.Text(r.name);
    q.Text(r.description);
    q.Int(r.version);
    q.Int(r.updated_at);
    q.Text(r.id);
    if (!current) q.Int(r.created_at);
    AZTP_RETURN_IF_ERROR(q.Run("put policy"));
  }
  AZTP_ASSIGN_OR_RETURN(SqlStmt q,
                        s_.Query("INSERT INTO policy_versions (id, version, "
                                 "document, created_at) VALUES (?, ?, ?, ?)"));
  q.Text(r.id);
  q.Int(r.version);
  q.Text(r.document);
  q.Int(r.updated_at);
  return q.Run("insert policy version");
}

Result<std::optional<PolicyRecord>> SqlPolicies::GetPolicy(
    const std::string& id, std::optional<int64_t> version) {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q,
      s_.Query(std::string(kPolicySelect) +
               " WHERE p.id = ? AND v.version = CASE WHEN ? = 0 THEN "
               "p.version ELSE ? END"));
  q.Text(id);
  q.Int(version.value_or(0));
  q.Int(version.value_or(0));
  return s_.OneRow<PolicyRecord>(q, "get policy", ReadPolicy);
}

Result<std::vector<PolicyRecord>> SqlPolicies::ListPolicies() {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(SqlStmt q,
                        s_.Query(std::string(kPolicySelect) +
                                 " WHERE v.version = p.version ORDER BY p.id"));
  return s_.Rows<PolicyRecord>(q, "list policies", ReadPolicy);
}

Status SqlPolicies::DeletePolicy(const std::string& id) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  return s_.DeleteOne("DELETE FROM policies WHERE id = ?", {id},
                      "policy " + QuoteInput(id));
}

Status SqlPolicies::AttachPolicy(const std::string& identity,
                                    const std::string& policy_id,
                                    UnixTime now) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  AZTP_ASSIGN_OR_RETURN(
      bool known,
      s_.Exists("SELECT 1 FROM policies WHERE id = ?", policy_id, "policy"));
  if (!known) {
    return Error(Code::kNotFound, "store: no policy " + QuoteInput(policy_id));
  }
  AZTP_ASSIGN_OR_RETURN(bool exists, s_.IdentityExists(identity));
  if (!exists) {
    return Error(Code::kNotFound, "store: no identity " + QuoteInput(identity));
  }
  AZTP_ASSIGN_OR_RETURN(SqlStmt q,
                        s_.Query("INSERT INTO policy_attachments (identity, "
                                 "policy_id, created_at) VALUES (?, ?, ?)"));
  q.Text(identity);
  q.Text(policy_id);
  q.Int(now);
  return q.Run("attach policy");
}

Status SqlPolicies::DetachPolicy(const std::string& identity,
                                    const std::string& policy_id) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  return s_.DeleteOne(
      "DELETE FROM policy_attachments WHERE identity = ? AND policy_id = ?",
      {identity, policy_id},
      "attachment of " + QuoteInput(policy_id) + " to " + QuoteInput(identity));
}

Result<std::vector<PolicyRecord>> SqlPolicies::ListAttachedPolicies(
    const std::string& identity) {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q, s_.Query(std::string(kPolicySelect) +
                             " JOIN policy_attachments a ON a.policy_id = p.id "
                             "WHERE a.identity = ? AND v.version = p.version "
                             "ORDER BY p.id"));
  q.Text(identity);
  return s_.Rows<PolicyRecord>(q, "list attached policies", ReadPolicy);
}

Result<std::vector<std::string>> SqlPolicies::ListPolicyAttachments(
    const std::string& policy_id) {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q,
      s_.Query("SELECT identity FROM policy_attachments WHERE policy_id = ? "
               "ORDER BY identity"));
  q.Text(policy_id);
  return s_.Rows<std::string>(q, "list policy attachments",
                              [](const SqlRow& row) -> Result<std::string> {
                                return row.Text("identity");
                              });
}

}  // namespace aztp::internal

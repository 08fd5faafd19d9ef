// The API keys repository (sql_repositories.h).
#include <string>

#include "store/sql_repositories.h"

namespace aztp::internal {
namespace {

constexpr const char* kApiKeySelect =
    "SELECT key_id, salt, hash, scope, description, revoked, created_at "
    "FROM api_keys";

// ReadApiKey is the row mapper of ApiKeyRecord.
Result<ApiKeyRecord> ReadApiKey(const SqlRow& row) {
  ApiKeyRecord r;
  r.key_id = row.Text("key_id");
  r.salt = row.Text("salt");
  r.hash = row.Text("hash");
  r.scope = row.Text("scope");
  r.description = row.Text("description");
  r.revoked = row.Bool("revoked");
  r.created_at = row.Int("created_at");
  return r;
}

}  // namespace

Status SqlApiKeys::InsertApiKey(const ApiKeyRecord& r) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  AZTP_ASSIGN_OR_RETURN(bool exists,
                        s_.Exists("SELECT 1 FROM api_keys WHERE key_id = ?",
                                  r.key_id, "find api key"));
  if (exists) {
    return Error(Code::kAlreadyExists,
                 "store: API key " + QuoteInput(r.key_id) + " already exists");
  }
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q, s_.Query("INSERT INTO api_keys (key_id, salt, hash, scope, "
                             "description, revoked, created_at) VALUES "
                             "(?, ?, ?, ?, ?, ?, ?)"));
  q.Text(r.key_id);
  q.Text(r.salt);
  q.Text(r.hash);
  q.Text(r.scope);
  q.Text(r.description);
  q.Bool(r.revoked);
  q.Int(r.created_at);
  return q.Run("insert api key");
}

Result<std::optional<ApiKeyRecord>> SqlApiKeys::GetApiKey(
    const std::string& key_id) {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q, s_.Query(std::string(kApiKeySelect) + " WHERE key_id = ?"));
  q.Text(key_id);
  return s_.OneRow<ApiKeyRecord>(q, "get api key", ReadApiKey);
}

Result<std::vector<ApiKeyRecord>> SqlApiKeys::ListApiKeys() {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q, s_.Query(std::string(kApiKeySelect) + " ORDER BY key_id"));
  return s_.Rows<ApiKeyRecord>(q, "list api keys", ReadApiKey);
}

Status SqlApiKeys::RevokeApiKey(const std::string& key_id) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q,
      s_.Query("UPDATE api_keys SET revoked = 1 WHERE key_id = ?"));
  q.Text(key_id);
  return q.RunOnRow("revoke api key",
                    "API key " + QuoteInput(key_id) + " does not exist");
}

}  // namespace aztp::internal

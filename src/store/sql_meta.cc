// The meta values (sql_repositories.h).
#include <string>

#include "store/sql_repositories.h"

namespace aztp::internal {

Result<std::optional<int64_t>> SqlMeta::GetMeta(const std::string& name) {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(SqlStmt q,
                        s_.Query("SELECT \"value\" FROM meta WHERE name = ?"));
  q.Text(name);
  return s_.OneRow<int64_t>(
      q, "get meta",
      [](const SqlRow& row) -> Result<int64_t> { return row.Int("value"); });
}

Status SqlMeta::PutMeta(const std::string& name, int64_t value) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  return s_.UpdateOrInsert("UPDATE meta SET \"value\" = ? WHERE name = ?",
                           "INSERT INTO meta (\"value\", name) VALUES (?, ?)",
                           "put meta", [&](SqlStmt& q) {
                             q.Int(value);
                             q.Text(name);
                           });
}

}  // namespace aztp::internal

// The meta values in SQLite (sqlite_repositories.h).
#include <string>

#include "store/sqlite_repositories.h"

namespace aztp::internal {

Result<std::optional<int64_t>> SqliteMeta::GetMeta(const std::string& name) {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(SqliteStmt q,
                        s_.Query("SELECT \"value\" FROM meta WHERE name = ?"));
  q.Text(name);
  return s_.OneRow<int64_t>(
      q, "get meta",
      [](const SqliteRow& row) -> Result<int64_t> { return row.Int("value"); });
}

Status SqliteMeta::PutMeta(const std::string& name, int64_t value) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  return s_.UpdateOrInsert("UPDATE meta SET \"value\" = ? WHERE name = ?",
                           "INSERT INTO meta (\"value\", name) VALUES (?, ?)",
                           "put meta", [&](SqliteStmt& q) {
                             q.Int(value);
                             q.Text(name);
                           });
}

}  // namespace aztp::internal

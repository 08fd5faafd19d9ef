#include "store/sqlite_session.h"

namespace aztp::internal {
namespace {

// List limits accepted by ListIdentities and ListAudit.
constexpr int kMaxListLimit = 1000;

}  // namespace

Error Corrupt(std::string_view what) {
  return Error(Code::kIo, "store: stored " + std::string(what) +
                              " is not valid; the database is damaged");
}

Result<std::string> EncodeJson(const Json& value, std::string_view what,
                               std::size_t max_bytes) {
  std::string text = DumpJson(value);
  if (text.size() > max_bytes) {
    return Error(Code::kTooLarge, "store: " + std::string(what) + " exceeds " +
                                      std::to_string(max_bytes) +
                                      " bytes serialised");
  }
  Result<Json> back = ParseJson(text, JsonLimits{.max_bytes = max_bytes});
  if (!back.has_value() || *back != value) {
    return Error(Code::kInvalidArgument,
                 "store: " + std::string(what) +
                     " cannot be stored as JSON unchanged (invalid UTF-8, a "
                     "non-finite number or too deep nesting)");
  }
  return text;
}

Result<Json> DecodeJson(const std::string& text, std::string_view what) {
  Result<Json> value = ParseJson(text, JsonLimits{.max_bytes = kMaxJsonBytes});
  if (!value.has_value()) return Corrupt(what);
  return value;
}

Status CheckLimit(int limit) {
  if (limit < 1 || limit > kMaxListLimit) {
    return Error(Code::kInvalidArgument, "store: limit must be between 1 and " +
                                             std::to_string(kMaxListLimit));
  }
  return Ok();
}

Status SqliteSession::Broken() const {
  if (broken_) return *broken_;
  return Ok();
}

Status SqliteSession::CanWrite() const {
  AZTP_RETURN_IF_ERROR(Broken());
  if (!writable_) {
    return Error(Code::kUnsupported,
                 "store: a Read transaction cannot modify the store");
  }
  return Ok();
}

// A failure to prepare breaks the transaction like any other SQLite error.
Result<SqliteStmt> SqliteSession::Query(const std::string& sql) {
  Result<sqlite3_stmt*> stmt = db_.Prepare(sql);
  if (!stmt.has_value()) {
    if (!broken_) broken_ = stmt.error();
    return stmt.error();
  }
  return SqliteStmt(db_, *stmt, &broken_);
}

Result<bool> SqliteSession::Exists(const char* sql, const std::string& key,
                                   std::string_view what) {
  AZTP_ASSIGN_OR_RETURN(SqliteStmt q, Query(sql));
  q.Text(key);
  return q.Step(what);
}

Result<bool> SqliteSession::IdentityExists(const std::string& id) {
  return Exists("SELECT 1 FROM identities WHERE id = ?", id, "find identity");
}

Status SqliteSession::DeleteOne(const char* sql,
                                std::initializer_list<std::string> keys,
                                const std::string& what) {
  AZTP_ASSIGN_OR_RETURN(SqliteStmt q, Query(sql));
  for (const std::string& k : keys) q.Text(k);
  return q.RunOnRow("delete", "no " + what);
}

}  // namespace aztp::internal

#include "store/sql_session.h"

#include <utility>

#include "aztp/crypto/aead.h"

namespace aztp::internal {
namespace {

// List limits accepted by ListIdentities and ListAudit.
constexpr int kMaxListLimit = 1000;

}  // namespace

Status SqlStmt::RunOnRow(std::string_view what, std::string_view missing) {
  AZTP_RETURN_IF_ERROR(Run(what));
  if (Changes() == 0) {
    return Error(Code::kNotFound, "store: " + std::string(missing));
  }
  return Ok();
}

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

Result<Bytes> SqlSession::SealSecret(const SecretBytes& secret,
                                     std::string_view context) const {
  if (seal_key_ == nullptr) {
    return Error(Code::kInternal, "store: no key-encryption key");
  }
  return Seal(*seal_key_, secret, context);
}

Result<SecretBytes> SqlSession::OpenSecret(const SecretBytes& stored,
                                           std::string_view context) const {
  if (seal_key_ == nullptr) return stored;
  Result<SecretBytes> secret =
      Unseal(*seal_key_, stored.Bytes(InsecureSecretAccess::Get()), context);
  if (!secret.has_value()) {
    return Error(Code::kIo,
                 "store: a sealed secret does not unseal with the "
                 "key-encryption key (another key, or a changed row)");
  }
  return secret;
}

Status SqlSession::Broken() const {
  if (broken_) return *broken_;
  return Ok();
}

Status SqlSession::CanWrite() const {
  AZTP_RETURN_IF_ERROR(Broken());
  if (!writable_) {
    return Error(Code::kUnsupported,
                 "store: a Read transaction cannot modify the store");
  }
  return Ok();
}

// A failure to prepare breaks the transaction like any other storage error.
Result<SqlStmt> SqlSession::Query(const std::string& sql) {
  if (broken_) return *broken_;
  Result<std::unique_ptr<SqlStatement>> stmt = db_.Statement(sql, &broken_);
  if (!stmt.has_value()) {
    if (!broken_) broken_ = stmt.error();
    return stmt.error();
  }
  return SqlStmt(std::move(stmt).value());
}

Result<bool> SqlSession::Exists(const char* sql, const std::string& key,
                                   std::string_view what) {
  AZTP_ASSIGN_OR_RETURN(SqlStmt q, Query(sql));
  q.Text(key);
  return q.Step(what);
}

Result<bool> SqlSession::IdentityExists(const std::string& id) {
  return Exists("SELECT 1 FROM identities WHERE id = ?", id, "find identity");
}

Status SqlSession::DeleteOne(const char* sql,
                                std::initializer_list<std::string> keys,
                                const std::string& what) {
  AZTP_ASSIGN_OR_RETURN(SqlStmt q, Query(sql));
  for (const std::string& k : keys) q.Text(k);
  return q.RunOnRow("delete", "no " + what);
}

}  // namespace aztp::internal

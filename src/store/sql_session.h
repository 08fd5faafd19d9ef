// SqlSession: what the repositories share within one transaction
// (sql_repositories.h): the connection, whether it may write, and the
// storage error that broke it, if any.
//
// A storage error (kIo, kUnavailable) may have ended the database's
// transaction behind our back (SQLite's SQLITE_FULL or SQLITE_IOERR, a lost
// PostgreSQL connection), after which further statements would each commit
// on their own or fail. So the first one "breaks" the transaction: every
// later call returns the same error, and Write rolls back and reports it
// even when the callback ignored it. Expected outcomes (kNotFound,
// kAlreadyExists, kInvalidArgument) leave the transaction usable.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aztp/base/bytes.h"
#include "aztp/base/secret.h"
#include "aztp/encoding/json.h"
#include "store/sql.h"

namespace aztp::internal {

// kMaxMetadataBytes is the serialised size limit of metadata and tags.
inline constexpr std::size_t kMaxMetadataBytes = 16 << 10;
// kMaxJsonBytes bounds the other JSON columns (selectors, audit details).
inline constexpr std::size_t kMaxJsonBytes = 1 << 20;

// Corrupt is the error for a stored value that does not read back.
Error Corrupt(std::string_view what);
// EncodeJson serialises `value` for a TEXT column, refusing what would not
// read back as the same document (invalid UTF-8, which DumpJson replaces; a
// non-finite number; nesting beyond ParseJson's limit) rather than storing
// something else than was given.
Result<std::string> EncodeJson(const Json& value, std::string_view what,
                               std::size_t max_bytes);
Result<Json> DecodeJson(const std::string& text, std::string_view what);
// CheckLimit accepts a list limit of 1..1000.
Status CheckLimit(int limit);

// ParseStored reads a closed set's value from its column text with
// `parse` (a record's Parse… function); other text is Corrupt.
template <typename Parse>
auto ParseStored(const std::string& text, Parse parse, std::string_view what)
    -> Result<typename decltype(parse(text))::value_type> {
  auto value = parse(text);
  if (!value) return Corrupt(what);
  return *value;
}

class SqlSession {
 public:
  // `seal_key`, when given, seals secret columns (SealSecret).
  SqlSession(SqlConnection& db, bool writable,
             const SecretBytes* seal_key = nullptr)
      : db_(db), writable_(writable), seal_key_(seal_key) {}
  SqlSession(const SqlSession&) = delete;
  SqlSession& operator=(const SqlSession&) = delete;

  // Broken returns the storage error that broke the transaction, if any.
  Status Broken() const;
  Status CanRead() const { return Broken(); }
  // CanWrite is kUnsupported in a Read transaction.
  Status CanWrite() const;

  // Seals says whether secret columns are stored sealed.
  bool Seals() const { return seal_key_ != nullptr; }
  // SealSecret seals `secret` under the store's key-encryption key, bound
  // to `context` (the row it belongs to), for a secret column; only when
  // Seals().
  Result<Bytes> SealSecret(const SecretBytes& secret,
                           std::string_view context) const;
  // OpenSecret reads a secret column back: unsealed when Seals(), as
  // stored otherwise.
  Result<SecretBytes> OpenSecret(const SecretBytes& stored,
                                 std::string_view context) const;

  // Query starts a use of `sql` (prepared once per connection).
  Result<SqlStmt> Query(const std::string& sql);
  // Exists runs `sql` with one key and says whether it returned a row.
  Result<bool> Exists(const char* sql, const std::string& key,
                      std::string_view what);
  Result<bool> IdentityExists(const std::string& id);
  // DeleteOne runs a DELETE of one row keyed by `keys`; kNotFound names
  // `what` when there was none.
  Status DeleteOne(const char* sql, std::initializer_list<std::string> keys,
                   const std::string& what);
  // UpdateOrInsert runs `update` and, when it changed no row, `insert`;
  // `bind` binds the same values in the same order to either. (Not an
  // upsert: the shape carries over to any SQL database.)
  template <typename Bind>
  Status UpdateOrInsert(const char* update, const char* insert,
                        std::string_view what, Bind bind) {
    for (const char* sql : {update, insert}) {
      AZTP_ASSIGN_OR_RETURN(SqlStmt q, Query(sql));
      bind(q);
      AZTP_RETURN_IF_ERROR(q.Run(what));
      if (q.Changes() > 0) return Ok();
    }
    return Error(Code::kIo, "store: " + std::string(what) + ": no row written");
  }

  // Rows reads every row of `q` with `read`, a row mapper returning
  // Result<T>.
  template <typename T, typename Read>
  Result<std::vector<T>> Rows(SqlStmt& q, std::string_view what, Read read) {
    std::vector<T> out;
    while (true) {
      AZTP_ASSIGN_OR_RETURN(bool row, q.Step(what));
      if (!row) break;
      AZTP_ASSIGN_OR_RETURN(T value, Map<T>(q, read));
      out.push_back(std::move(value));
    }
    return out;
  }
  // OneRow reads the first row of `q`, if any, with `read`.
  template <typename T, typename Read>
  Result<std::optional<T>> OneRow(SqlStmt& q, std::string_view what,
                                  Read read) {
    AZTP_ASSIGN_OR_RETURN(bool row, q.Step(what));
    if (!row) return std::optional<T>();
    AZTP_ASSIGN_OR_RETURN(T value, Map<T>(q, read));
    return std::optional<T>(std::move(value));
  }

 private:
  template <typename T, typename Read>
  static Result<T> Map(const SqlStmt& q, Read read) {
    const SqlRow& row = q.row();
    Result<T> value = read(row);
    AZTP_RETURN_IF_ERROR(row.status());
    return value;
  }

  SqlConnection& db_;
  const bool writable_;
  const SecretBytes* const seal_key_;
  std::optional<Error> broken_;
};

}  // namespace aztp::internal

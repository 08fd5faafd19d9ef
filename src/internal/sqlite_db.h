// The SQLite wrapper shared by the store and the replay store: one
// connection with its cache of prepared statements, statements that reset
// themselves, and rows read by column name. It is C-library glue like
// ossl.h, so it sits in the lowest layer, below both of its users.
//
// Errors: a constraint on a primary key or a unique column is
// kAlreadyExists, another constraint kInvalidArgument, a statement that
// had to change a row and changed none kNotFound, anything else kIo.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "aztp/base/result.h"
#include "aztp/base/secret.h"

namespace aztp::internal {

// SqliteOptions says how a connection is opened.
struct SqliteOptions {
  std::string_view name = "store";  // prefixes every error message
  bool create = false;              // may create the file
  bool query_only = false;          // a reader: no pragma that writes
  bool foreign_keys = false;        // enforced, or the open fails
  // synchronous is the synchronous pragma's value for a writer (FULL,
  // NORMAL); WAL is always asked for.
  const char* synchronous = "FULL";
  bool secure_delete = false;  // deleted rows are overwritten with zeros
};

// SqliteDb is one SQLite connection. Not thread-safe: its owner serialises
// its use.
class SqliteDb {
 public:
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path,
                                                const SqliteOptions& options);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Fail is the kIo error for what just failed on this connection.
  Error Fail(std::string_view what) const;
  // Prepare returns the cached statement for `sql`, preparing it once.
  Result<sqlite3_stmt*> Prepare(const std::string& sql);
  // Exec runs SQL text that returns no rows (one or more statements).
  Status Exec(const char* sql, std::string_view what);
  // QueryValue runs SQL text (e.g. a PRAGMA) and returns the first column
  // of its first row as text, "" when there is none.
  Result<std::string> QueryValue(const char* sql);
  // EndAnyTransaction rolls back a transaction left open (by a failed
  // statement, or a callback that threw).
  void EndAnyTransaction();
  // Changes is the number of rows the last statement changed.
  int64_t Changes() const;
  std::string_view name() const { return name_; }
  sqlite3* handle() const { return db_; }

 private:
  SqliteDb(sqlite3* db, std::string_view name) : db_(db), name_(name) {}
  Status Configure(const SqliteOptions& options);

  sqlite3* db_;
  std::string name_;
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;
};

// SqliteRow is the current row of a statement. A column is read by the
// name the statement gives it; a name it does not have reads as empty and
// makes status() an error (a statement and its reader disagree).
class SqliteRow {
 public:
  SqliteRow(sqlite3_stmt* stmt, std::string_view db_name)
      : stmt_(stmt), db_name_(db_name) {}

  std::string Text(const char* column) const;
  std::optional<std::string> OptionalText(const char* column) const;
  int64_t Int(const char* column) const;
  bool Bool(const char* column) const { return Int(column) != 0; }
  // Secret copies a BLOB straight from SQLite's buffer into SecretBytes:
  // no other copy exists on our side.
  SecretBytes Secret(const char* column) const;
  std::span<const uint8_t> Blob(const char* column) const;
  Status status() const;

 private:
  int Index(const char* column) const;

  sqlite3_stmt* stmt_;
  std::string_view db_name_;
  mutable std::optional<Error> error_;
};

// SqliteStmt is one use of a cached statement: values are bound in order,
// and the statement is reset with its bindings cleared when the SqliteStmt
// goes out of scope, so that no statement keeps a view of a caller's
// bytes. Storage errors are also recorded in `*broken` when given (see
// SqliteSession).
class SqliteStmt {
 public:
  SqliteStmt(SqliteDb& db, sqlite3_stmt* stmt, std::optional<Error>* broken)
      : db_(&db), stmt_(stmt), broken_(broken) {}
  SqliteStmt(SqliteStmt&& other) noexcept;
  SqliteStmt& operator=(SqliteStmt&&) = delete;
  ~SqliteStmt();

  // Bound values must outlive the SqliteStmt (they are not copied).
  void Text(std::string_view v);
  void OptionalText(const std::optional<std::string>& v);
  void Int(int64_t v);
  void Bool(bool v) { Int(v ? 1 : 0); }
  void Blob(std::span<const uint8_t> v);

  // Step advances to the next row: true when there is one, false at the
  // end.
  Result<bool> Step(std::string_view what);
  // Run executes a statement that returns no row.
  Status Run(std::string_view what);
  // RunOnRow runs a statement that must change a row: kNotFound, "<name>:
  // <missing>", when it changed none.
  Status RunOnRow(std::string_view what, std::string_view missing);

  SqliteRow row() const { return SqliteRow(stmt_, db_->name()); }

 private:
  void Check(int rc);
  Error Broken(Error e);
  Error StepError(int rc, std::string_view what);

  SqliteDb* db_;
  sqlite3_stmt* stmt_;
  std::optional<Error>* broken_;
  int next_ = 1;
  int bind_rc_ = SQLITE_OK;
};

}  // namespace aztp::internal

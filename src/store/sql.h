// The SQL seam under the store's repositories: what a database driver
// (SQLite, PostgreSQL) gives them. The repositories (sql_repositories.h)
// are written once against it, with statements in the SQL both engines
// accept and `?` placeholders; each driver maps a statement onto its own
// library (sqlite_connection.h, pg_connection.h).
//
// Errors, the same from every driver: a constraint on a primary key or a
// unique column is kAlreadyExists, another constraint kInvalidArgument, a
// statement that had to change a row and changed none kNotFound, the
// database out of reach kUnavailable, anything else kIo. Storage errors
// (kIo, kUnavailable) are also recorded in the transaction's `broken` slot
// (sql_session.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "aztp/base/result.h"
#include "aztp/base/secret.h"

namespace aztp::internal {

// SqlRow is the current row of a statement. A column is read by the name
// the statement gives it; a name it does not have reads as empty and makes
// status() an error (a statement and its reader disagree).
class SqlRow {
 public:
  virtual ~SqlRow() = default;
  virtual std::string Text(const char* column) const = 0;
  virtual std::optional<std::string> OptionalText(const char* column) const = 0;
  virtual int64_t Int(const char* column) const = 0;
  bool Bool(const char* column) const { return Int(column) != 0; }
  // Secret copies a binary column straight from the driver's buffer into
  // SecretBytes: no other copy exists on our side.
  virtual SecretBytes Secret(const char* column) const = 0;
  virtual Status status() const = 0;
};

// SqlStatement is one use of a statement: values are bound in order, then
// it is stepped through its rows or run. Bound values must outlive it (a
// driver may keep views of them).
class SqlStatement {
 public:
  virtual ~SqlStatement() = default;
  virtual void Text(std::string_view v) = 0;
  virtual void OptionalText(const std::optional<std::string>& v) = 0;
  virtual void Int(int64_t v) = 0;
  virtual void Blob(std::span<const uint8_t> v) = 0;
  // Step advances to the next row: true when there is one, false at the
  // end.
  virtual Result<bool> Step(std::string_view what) = 0;
  // Run executes a statement that returns no row.
  virtual Status Run(std::string_view what) = 0;
  // Changes is the number of rows the statement changed once run.
  virtual int64_t Changes() const = 0;
  // row is the current row after Step returned true.
  virtual const SqlRow& row() const = 0;
};

// SqlStmt holds one SqlStatement: what the repositories bind and run.
class SqlStmt {
 public:
  explicit SqlStmt(std::unique_ptr<SqlStatement> s) : s_(std::move(s)) {}

  void Text(std::string_view v) { s_->Text(v); }
  void OptionalText(const std::optional<std::string>& v) {
    s_->OptionalText(v);
  }
  void Int(int64_t v) { s_->Int(v); }
  void Bool(bool v) { s_->Int(v ? 1 : 0); }
  void Blob(std::span<const uint8_t> v) { s_->Blob(v); }
  Result<bool> Step(std::string_view what) { return s_->Step(what); }
  Status Run(std::string_view what) { return s_->Run(what); }
  // RunOnRow runs a statement that must change a row: kNotFound, "store:
  // <missing>", when it changed none.
  Status RunOnRow(std::string_view what, std::string_view missing);
  int64_t Changes() const { return s_->Changes(); }
  const SqlRow& row() const { return s_->row(); }

 private:
  std::unique_ptr<SqlStatement> s_;
};

// SqlConnection is one connection inside one open transaction.
class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  // Statement starts a use of `sql`, recording storage errors in
  // `*broken` (first one wins).
  virtual Result<std::unique_ptr<SqlStatement>> Statement(
      const std::string& sql, std::optional<Error>* broken) = 0;
};

}  // namespace aztp::internal

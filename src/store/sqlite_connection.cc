#include "store/sqlite_connection.h"

#include <utility>

namespace aztp::internal {
namespace {

class SqliteRowView final : public SqlRow {
 public:
  explicit SqliteRowView(SqliteRow row) : row_(row) {}
  std::string Text(const char* column) const override {
    return row_.Text(column);
  }
  std::optional<std::string> OptionalText(const char* column) const override {
    return row_.OptionalText(column);
  }
  int64_t Int(const char* column) const override { return row_.Int(column); }
  SecretBytes Secret(const char* column) const override {
    return row_.Secret(column);
  }
  Status status() const override { return row_.status(); }

 private:
  SqliteRow row_;
};

class SqliteStatement final : public SqlStatement {
 public:
  SqliteStatement(SqliteDb& db, SqliteStmt stmt)
      : db_(db), stmt_(std::move(stmt)), row_(stmt_.row()) {}

  void Text(std::string_view v) override { stmt_.Text(v); }
  void OptionalText(const std::optional<std::string>& v) override {
    stmt_.OptionalText(v);
  }
  void Int(int64_t v) override { stmt_.Int(v); }
  void Blob(std::span<const uint8_t> v) override { stmt_.Blob(v); }
  Result<bool> Step(std::string_view what) override { return stmt_.Step(what); }
  Status Run(std::string_view what) override { return stmt_.Run(what); }
  int64_t Changes() const override { return db_.Changes(); }
  const SqlRow& row() const override { return row_; }

 private:
  SqliteDb& db_;
  SqliteStmt stmt_;
  SqliteRowView row_;
};

}  // namespace

Result<std::unique_ptr<SqlStatement>> SqliteConnection::Statement(
    const std::string& sql, std::optional<Error>* broken) {
  AZTP_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, db_.Prepare(sql));
  return std::unique_ptr<SqlStatement>(
      new SqliteStatement(db_, SqliteStmt(db_, stmt, broken)));
}

}  // namespace aztp::internal

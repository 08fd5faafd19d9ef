// SqliteConnection: the SQL seam (sql.h) over one SQLite connection, for
// the store's repositories.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "internal/sqlite_db.h"
#include "store/sql.h"

namespace aztp::internal {

class SqliteConnection final : public SqlConnection {
 public:
  explicit SqliteConnection(SqliteDb& db) : db_(db) {}
  Result<std::unique_ptr<SqlStatement>> Statement(
      const std::string& sql, std::optional<Error>* broken) override;

 private:
  SqliteDb& db_;
};

}  // namespace aztp::internal

#include "internal/sqlite_db.h"

#include <cstring>
#include <utility>

namespace aztp::internal {
namespace {

// kBusyTimeoutMs is how long a statement waits for another connection (or
// process) holding the write lock before failing with kIo.
constexpr int kBusyTimeoutMs = 5000;

std::string Prefix(std::string_view name, std::string_view what) {
  std::string message(name);
  message += ": ";
  message += what;
  message += ": ";
  return message;
}

}  // namespace

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path,
                                                 const SqliteOptions& options) {
  sqlite3* db = nullptr;
  // NOFOLLOW: a symbolic link planted at the path must not redirect it
  // (the store holds CA keys).
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                    SQLITE_OPEN_NOFOLLOW |
                    (options.create ? SQLITE_OPEN_CREATE : 0);
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  // From here on `conn` owns `db` and closes it on every return.
  std::unique_ptr<SqliteDb> conn(new SqliteDb(db, options.name));
  if (rc != SQLITE_OK) return conn->Fail("open");
  AZTP_RETURN_IF_ERROR(conn->Configure(options));
  return conn;
}

Status SqliteDb::Configure(const SqliteOptions& options) {
  sqlite3_extended_result_codes(db_, 1);
  if (sqlite3_busy_timeout(db_, kBusyTimeoutMs) != SQLITE_OK) {
    return Fail("busy_timeout");
  }
  if (options.foreign_keys) {
    AZTP_RETURN_IF_ERROR(Exec("PRAGMA foreign_keys=ON", "foreign_keys"));
    // Read in place rather than moved out: g++ 12 at -O1 warns, wrongly,
    // that a string moved out of a Result may be uninitialized.
    const Result<std::string> fk = QueryValue("PRAGMA foreign_keys");
    if (!fk) return fk.error();
    if (*fk != "1") {
      return Error(Code::kUnsupported,
                   name_ +
                       ": this SQLite library does not enforce foreign "
                       "keys");
    }
  }
  if (options.query_only) {
    return Exec("PRAGMA query_only=ON", "query_only");
  }
  AZTP_ASSIGN_OR_RETURN(std::string mode,
                        QueryValue("PRAGMA journal_mode=WAL"));
  // An in-memory database (":memory:") reports "memory": it has no journal
  // file and nothing to survive.
  if (mode != "wal" && mode != "memory") {
    return Error(Code::kIo, name_ +
                                ": cannot enable WAL mode (journal mode is " +
                                QuoteInput(mode) + ")");
  }
  const std::string synchronous =
      std::string("PRAGMA synchronous=") + options.synchronous;
  AZTP_RETURN_IF_ERROR(Exec(synchronous.c_str(), "synchronous"));
  if (options.secure_delete) {
    AZTP_RETURN_IF_ERROR(Exec("PRAGMA secure_delete=ON", "secure_delete"));
  }
  return Ok();
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Error SqliteDb::Fail(std::string_view what) const {
  std::string message = Prefix(name_, what);
  message += db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
  return Error(Code::kIo, std::move(message));
}

Result<sqlite3_stmt*> SqliteDb::Prepare(const std::string& sql) {
  auto it = stmts_.find(sql);
  if (it != stmts_.end()) return it->second;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                         nullptr) != SQLITE_OK) {
    return Fail("prepare");
  }
  stmts_.emplace(sql, stmt);
  return stmt;
}

Status SqliteDb::Exec(const char* sql, std::string_view what) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Fail(what);
  }
  return Ok();
}

Result<std::string> SqliteDb::QueryValue(const char* sql) {
  std::string value;
  auto first = [](void* out, int n, char** values, char**) {
    if (n > 0 && values[0] != nullptr) {
      *static_cast<std::string*>(out) = values[0];
    }
    return 0;
  };
  if (sqlite3_exec(db_, sql, first, &value, nullptr) != SQLITE_OK) {
    return Fail(sql);
  }
  return value;
}

void SqliteDb::EndAnyTransaction() {
  if (sqlite3_get_autocommit(db_) == 0) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

int64_t SqliteDb::Changes() const { return sqlite3_changes64(db_); }

int SqliteRow::Index(const char* column) const {
  const int n = sqlite3_column_count(stmt_);
  for (int i = 0; i < n; ++i) {
    const char* name = sqlite3_column_name(stmt_, i);
    if (name != nullptr && std::strcmp(name, column) == 0) return i;
  }
  if (!error_) {
    error_ = Error(Code::kIo, std::string(db_name_) + ": no column " +
                                  QuoteInput(column) + " in the result");
  }
  return -1;
}

std::string SqliteRow::Text(const char* column) const {
  const int i = Index(column);
  if (i < 0) return {};
  const unsigned char* p = sqlite3_column_text(stmt_, i);
  const int n = sqlite3_column_bytes(stmt_, i);
  if (p == nullptr || n <= 0) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<std::size_t>(n));
}

std::optional<std::string> SqliteRow::OptionalText(const char* column) const {
  const int i = Index(column);
  if (i < 0 || sqlite3_column_type(stmt_, i) == SQLITE_NULL) {
    return std::nullopt;
  }
  return Text(column);
}

int64_t SqliteRow::Int(const char* column) const {
  const int i = Index(column);
  return i < 0 ? 0 : sqlite3_column_int64(stmt_, i);
}

std::span<const uint8_t> SqliteRow::Blob(const char* column) const {
  const int i = Index(column);
  if (i < 0) return {};
  const void* p = sqlite3_column_blob(stmt_, i);
  const int n = sqlite3_column_bytes(stmt_, i);
  if (p == nullptr || n <= 0) return {};
  return {static_cast<const uint8_t*>(p), static_cast<std::size_t>(n)};
}

SecretBytes SqliteRow::Secret(const char* column) const {
  const std::span<const uint8_t> bytes = Blob(column);
  if (bytes.empty()) return SecretBytes();
  return SecretBytes(bytes);
}

Status SqliteRow::status() const {
  if (error_) return *error_;
  return Ok();
}

SqliteStmt::SqliteStmt(SqliteStmt&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      broken_(other.broken_),
      next_(other.next_),
      bind_rc_(other.bind_rc_) {}

SqliteStmt::~SqliteStmt() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void SqliteStmt::Text(std::string_view v) {
  // A null data pointer would bind SQL NULL rather than "".
  Check(sqlite3_bind_text64(stmt_, next_++, v.data() ? v.data() : "", v.size(),
                            SQLITE_STATIC, SQLITE_UTF8));
}

void SqliteStmt::OptionalText(const std::optional<std::string>& v) {
  if (v) {
    Text(*v);
  } else {
    Check(sqlite3_bind_null(stmt_, next_++));
  }
}

void SqliteStmt::Int(int64_t v) {
  Check(sqlite3_bind_int64(stmt_, next_++, v));
}

void SqliteStmt::Blob(std::span<const uint8_t> v) {
  if (v.empty()) {
    Check(sqlite3_bind_zeroblob(stmt_, next_++, 0));
  } else {
    Check(
        sqlite3_bind_blob64(stmt_, next_++, v.data(), v.size(), SQLITE_STATIC));
  }
}

Result<bool> SqliteStmt::Step(std::string_view what) {
  if (bind_rc_ != SQLITE_OK) return Broken(db_->Fail(what));
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return StepError(rc, what);
}

Status SqliteStmt::Run(std::string_view what) {
  AZTP_ASSIGN_OR_RETURN(bool row, Step(what));
  if (row) {
    return Broken(
        Error(Code::kIo, Prefix(db_->name(), what) + "unexpected row"));
  }
  return Ok();
}

Status SqliteStmt::RunOnRow(std::string_view what, std::string_view missing) {
  AZTP_RETURN_IF_ERROR(Run(what));
  if (db_->Changes() == 0) {
    return Error(Code::kNotFound,
                 std::string(db_->name()) + ": " + std::string(missing));
  }
  return Ok();
}

void SqliteStmt::Check(int rc) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

Error SqliteStmt::Broken(Error e) {
  if (broken_ != nullptr && !broken_->has_value()) *broken_ = e;
  return e;
}

// StepError classifies a failed step. Constraint failures abort only the
// statement (the transaction goes on); anything else is a storage error.
Error SqliteStmt::StepError(int rc, std::string_view what) {
  const std::string prefix = Prefix(db_->name(), what);
  switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
      return Error(Code::kAlreadyExists, prefix + "already exists");
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      // Most of the store's foreign keys name an identity; callers have
      // always seen these words.
      return Error(Code::kInvalidArgument,
                   prefix + "refers to an unknown identity");
    default:
      break;
  }
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    return Error(Code::kInvalidArgument,
                 prefix + sqlite3_errmsg(db_->handle()));
  }
  return Broken(db_->Fail(what));
}

}  // namespace aztp::internal

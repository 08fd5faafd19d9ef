// SqliteReplayStore: the replay store of protocol §4 step 7 in an SQLite
// file shared by threads and processes.
#include <sqlite3.h>

#include <string>
#include <utility>

#include "aztp/replay/replay_store.h"

namespace aztp {
namespace {

// kBusyTimeoutMs is how long a call waits for another connection's write
// transaction before failing with kIo.
constexpr int kBusyTimeoutMs = 5000;
// kPurgeEvery is how many calls pass between two periodic purges, and
// kPurgeBatch how many expired rows one purge deletes at most: a purge
// deletes at least as many rows as the calls in between can insert.
constexpr uint64_t kPurgeEvery = 256;
constexpr int64_t kPurgeBatch = 256;
// kPurgeWhenFull is how many expired rows a call deletes when the file is
// full.
constexpr int64_t kPurgeWhenFull = 1024;

// The schema. Keys are BLOBs, compared byte-wise, so that any issuer and jti
// bytes are stored as given. The row count is kept by triggers in
// aztp_replay_count so that the capacity check is O(1).
constexpr const char* kSchema = R"sql(
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS aztp_replay (
  issuer BLOB NOT NULL,
  jti BLOB NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (issuer, jti)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS aztp_replay_expiry ON aztp_replay (expires_at);
CREATE TABLE IF NOT EXISTS aztp_replay_count (
  id INTEGER PRIMARY KEY CHECK (id = 0),
  n INTEGER NOT NULL
);
INSERT OR IGNORE INTO aztp_replay_count SELECT 0, count(*) FROM aztp_replay;
CREATE TRIGGER IF NOT EXISTS aztp_replay_inserted AFTER INSERT ON aztp_replay
BEGIN
  UPDATE aztp_replay_count SET n = n + 1 WHERE id = 0;
END;
CREATE TRIGGER IF NOT EXISTS aztp_replay_deleted AFTER DELETE ON aztp_replay
BEGIN
  UPDATE aztp_replay_count SET n = n - 1 WHERE id = 0;
END;
COMMIT;
)sql";

Error SqlError(sqlite3* db, std::string_view what) {
  std::string message = "replay store: ";
  message += what;
  message += ": ";
  message += db ? sqlite3_errmsg(db) : "out of memory";
  return Error(Code::kIo, std::move(message));
}

// Bound resets a statement and clears its bindings when it goes out of
// scope, so that no statement keeps a view of a caller's bytes.
class Bound {
 public:
  explicit Bound(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Bound() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Bound(const Bound&) = delete;
  Bound& operator=(const Bound&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

Status BindKey(sqlite3* db, sqlite3_stmt* stmt, std::string_view issuer,
               std::string_view jti) {
  if (sqlite3_bind_blob64(stmt, 1, issuer.data(), issuer.size(),
                          SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_blob64(stmt, 2, jti.data(), jti.size(), SQLITE_STATIC) !=
          SQLITE_OK) {
    return SqlError(db, "bind");
  }
  return Ok();
}

// Run steps a statement that returns no row.
Status Run(sqlite3* db, sqlite3_stmt* stmt, std::string_view what) {
  Bound bound(stmt);
  if (sqlite3_step(stmt) != SQLITE_DONE) return SqlError(db, what);
  return Ok();
}

}  // namespace

struct SqliteReplayStore::Statements {
  sqlite3_stmt* begin = nullptr;
  sqlite3_stmt* commit = nullptr;
  sqlite3_stmt* rollback = nullptr;
  sqlite3_stmt* lookup = nullptr;
  sqlite3_stmt* update = nullptr;
  sqlite3_stmt* insert = nullptr;
  sqlite3_stmt* count = nullptr;
  sqlite3_stmt* purge = nullptr;

  ~Statements() {
    for (sqlite3_stmt* s :
         {begin, commit, rollback, lookup, update, insert, count, purge}) {
      sqlite3_finalize(s);
    }
  }
};

SqliteReplayStore::SqliteReplayStore(sqlite3* db, std::size_t capacity)
    : db_(db), capacity_(capacity), stmts_(std::make_unique<Statements>()) {}

SqliteReplayStore::~SqliteReplayStore() {
  stmts_.reset();  // finalise every statement before closing
  sqlite3_close_v2(db_);
}

Result<std::unique_ptr<SqliteReplayStore>> SqliteReplayStore::Open(
    const std::string& path, std::size_t capacity) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                     SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
                                 nullptr);
  // From here on the store owns `db` and closes it on every return.
  std::unique_ptr<SqliteReplayStore> store(new SqliteReplayStore(db, capacity));
  if (rc != SQLITE_OK) return SqlError(db, "open");
  sqlite3_extended_result_codes(db, 1);
  if (sqlite3_busy_timeout(db, kBusyTimeoutMs) != SQLITE_OK) {
    return SqlError(db, "busy_timeout");
  }

  std::string mode;
  auto first_column = [](void* out, int n, char** values, char**) {
    if (n > 0 && values[0]) *static_cast<std::string*>(out) = values[0];
    return 0;
  };
  if (sqlite3_exec(db, "PRAGMA journal_mode=WAL", first_column, &mode,
                   nullptr) != SQLITE_OK) {
    return SqlError(db, "journal_mode");
  }
  // An in-memory database (":memory:") reports "memory"; it has no journal
  // file to share and nothing to survive.
  if (mode != "wal" && mode != "memory") {
    return Error(Code::kIo, "replay store: cannot enable WAL mode");
  }
  if (sqlite3_exec(db, "PRAGMA synchronous=NORMAL", nullptr, nullptr,
                   nullptr) != SQLITE_OK) {
    return SqlError(db, "synchronous");
  }
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK) {
    Error e = SqlError(db, "schema");
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return e;
  }

  Statements& s = *store->stmts_;
  const std::pair<sqlite3_stmt**, const char*> sql[] = {
      {&s.begin, "BEGIN IMMEDIATE"},
      {&s.commit, "COMMIT"},
      {&s.rollback, "ROLLBACK"},
      {&s.lookup,
       "SELECT expires_at FROM aztp_replay WHERE issuer = ?1 AND jti = ?2"},
      {&s.update,
       "UPDATE aztp_replay SET expires_at = ?3 WHERE issuer = ?1 AND jti = ?2"},
      {&s.insert,
       "INSERT INTO aztp_replay (issuer, jti, expires_at) VALUES (?1, ?2, ?3)"},
      {&s.count, "SELECT n FROM aztp_replay_count WHERE id = 0"},
      {&s.purge,
       "DELETE FROM aztp_replay WHERE (issuer, jti) IN (SELECT issuer, jti "
       "FROM aztp_replay WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)"},
  };
  for (const auto& [stmt, text] : sql) {
    if (sqlite3_prepare_v3(db, text, -1, SQLITE_PREPARE_PERSISTENT, stmt,
                           nullptr) != SQLITE_OK) {
      return SqlError(db, "prepare");
    }
  }
  return store;
}

Result<int64_t> SqliteReplayStore::CountLocked() const {
  sqlite3_stmt* stmt = stmts_->count;
  Bound bound(stmt);
  if (sqlite3_step(stmt) != SQLITE_ROW) return SqlError(db_, "count");
  return sqlite3_column_int64(stmt, 0);
}

Result<std::size_t> SqliteReplayStore::PurgeLocked(UnixTime now,
                                                   int64_t limit) {
  sqlite3_stmt* stmt = stmts_->purge;
  Bound bound(stmt);
  if (sqlite3_bind_int64(stmt, 1, now) != SQLITE_OK ||
      sqlite3_bind_int64(stmt, 2, limit) != SQLITE_OK) {
    return SqlError(db_, "bind");
  }
  if (sqlite3_step(stmt) != SQLITE_DONE) return SqlError(db_, "purge");
  return static_cast<std::size_t>(sqlite3_changes64(db_));
}

Status SqliteReplayStore::CheckAndRememberLocked(std::string_view issuer,
                                                 std::string_view jti,
                                                 UnixTime expires_at,
                                                 UnixTime now) {
  if ((calls_++ % kPurgeEvery) == 0) {
    AZTP_RETURN_IF_ERROR(PurgeLocked(now, kPurgeBatch));
  }
  {
    sqlite3_stmt* stmt = stmts_->lookup;
    Bound bound(stmt);
    AZTP_RETURN_IF_ERROR(BindKey(db_, stmt, issuer, jti));
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      if (sqlite3_column_int64(stmt, 0) > now) {
        return Error(Code::kReplay, "token (iss, jti) was already used");
      }
      // Present but expired: it counts as absent and is replaced.
      sqlite3_stmt* update = stmts_->update;
      Bound bound_update(update);
      AZTP_RETURN_IF_ERROR(BindKey(db_, update, issuer, jti));
      if (sqlite3_bind_int64(update, 3, expires_at) != SQLITE_OK) {
        return SqlError(db_, "bind");
      }
      if (sqlite3_step(update) != SQLITE_DONE) return SqlError(db_, "update");
      return Ok();
    }
    if (rc != SQLITE_DONE) return SqlError(db_, "lookup");
  }
  AZTP_ASSIGN_OR_RETURN(int64_t rows, CountLocked());
  if (rows < 0 || static_cast<uint64_t>(rows) >= capacity_) {
    AZTP_RETURN_IF_ERROR(PurgeLocked(now, kPurgeWhenFull));
    AZTP_ASSIGN_OR_RETURN(rows, CountLocked());
    if (rows < 0 || static_cast<uint64_t>(rows) >= capacity_) {
      return Error(Code::kTooLarge, "replay store is full");
    }
  }
  sqlite3_stmt* stmt = stmts_->insert;
  Bound bound(stmt);
  AZTP_RETURN_IF_ERROR(BindKey(db_, stmt, issuer, jti));
  if (sqlite3_bind_int64(stmt, 3, expires_at) != SQLITE_OK) {
    return SqlError(db_, "bind");
  }
  if (sqlite3_step(stmt) != SQLITE_DONE) return SqlError(db_, "insert");
  return Ok();
}

Status SqliteReplayStore::CheckAndRemember(std::string_view issuer,
                                           std::string_view jti,
                                           UnixTime expires_at, UnixTime now) {
  AZTP_RETURN_IF_ERROR(ValidateArguments(issuer, jti, expires_at, now));
  std::lock_guard<std::mutex> lock(mu_);
  AZTP_RETURN_IF_ERROR(Run(db_, stmts_->begin, "begin"));
  Status status = CheckAndRememberLocked(issuer, jti, expires_at, now);
  // A replay or a full store inserts nothing but keeps any purge; an SQLite
  // error may have left part of the transaction behind, which is undone.
  if (status.has_value() || status.error().code() != Code::kIo) {
    Status committed = Run(db_, stmts_->commit, "commit");
    if (committed.has_value()) return status;
    status = std::move(committed);
  }
  if (!sqlite3_get_autocommit(db_)) {
    (void)Run(db_, stmts_->rollback, "rollback");
  }
  return status;
}

Result<std::size_t> SqliteReplayStore::Size() const {
  std::lock_guard<std::mutex> lock(mu_);
  AZTP_ASSIGN_OR_RETURN(int64_t rows, CountLocked());
  return static_cast<std::size_t>(rows < 0 ? 0 : rows);
}

Result<std::size_t> SqliteReplayStore::PurgeExpired(UnixTime now) {
  std::lock_guard<std::mutex> lock(mu_);
  return PurgeLocked(now, -1);
}

}  // namespace aztp

// SqliteReplayStore: the replay store of protocol §4 step 7 in an SQLite
// file shared by threads and processes, through the store's SQLite wrapper
// (store/sqlite_db.h).
#include <span>
#include <string>
#include <utility>

#include "aztp/replay/replay_store.h"
#include "internal/sqlite_db.h"

namespace aztp {
namespace {

using internal::SqliteDb;
using internal::SqliteRow;
using internal::SqliteStmt;

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

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Use starts a use of the (cached) statement `sql`.
Result<SqliteStmt> Use(SqliteDb& db, const char* sql) {
  AZTP_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, db.Prepare(sql));
  return SqliteStmt(db, stmt, nullptr);
}

Status Run(SqliteDb& db, const char* sql, std::string_view what) {
  AZTP_ASSIGN_OR_RETURN(SqliteStmt q, Use(db, sql));
  return q.Run(what);
}

// StoredExpiry is the expiry stored for (issuer, jti), if any.
Result<std::optional<int64_t>> StoredExpiry(SqliteDb& db,
                                            std::string_view issuer,
                                            std::string_view jti) {
  AZTP_ASSIGN_OR_RETURN(SqliteStmt q,
                        Use(db,
                            "SELECT expires_at FROM aztp_replay WHERE "
                            "issuer = ?1 AND jti = ?2"));
  q.Blob(Bytes(issuer));
  q.Blob(Bytes(jti));
  AZTP_ASSIGN_OR_RETURN(bool row, q.Step("lookup"));
  if (!row) return std::optional<int64_t>();
  const SqliteRow r = q.row();
  const int64_t expiry = r.Int("expires_at");
  AZTP_RETURN_IF_ERROR(r.status());
  return std::optional<int64_t>(expiry);
}

// Remember runs `sql`, an INSERT or UPDATE of (?1 issuer, ?2 jti,
// ?3 expires_at).
Status Remember(SqliteDb& db, const char* sql, std::string_view issuer,
                std::string_view jti, UnixTime expires_at,
                std::string_view what) {
  AZTP_ASSIGN_OR_RETURN(SqliteStmt q, Use(db, sql));
  q.Blob(Bytes(issuer));
  q.Blob(Bytes(jti));
  q.Int(expires_at);
  return q.Run(what);
}

}  // namespace

SqliteReplayStore::SqliteReplayStore(std::unique_ptr<SqliteDb> db,
                                     std::size_t capacity)
    : db_(std::move(db)), capacity_(capacity) {}

SqliteReplayStore::~SqliteReplayStore() = default;

Result<std::unique_ptr<SqliteReplayStore>> SqliteReplayStore::Open(
    const std::string& path, std::size_t capacity) {
  // WAL with synchronous=NORMAL, as this store has always used: the file
  // stays consistent across a crash, a power cut may lose the last commits.
  AZTP_ASSIGN_OR_RETURN(
      std::unique_ptr<SqliteDb> db,
      SqliteDb::Open(path, internal::SqliteOptions{.name = "replay store",
                                                   .create = true,
                                                   .synchronous = "NORMAL"}));
  if (Status schema = db->Exec(kSchema, "schema"); !schema.has_value()) {
    db->EndAnyTransaction();
    return std::move(schema).error();
  }
  return std::unique_ptr<SqliteReplayStore>(
      new SqliteReplayStore(std::move(db), capacity));
}

Result<int64_t> SqliteReplayStore::CountLocked() const {
  AZTP_ASSIGN_OR_RETURN(
      SqliteStmt q, Use(*db_, "SELECT n FROM aztp_replay_count WHERE id = 0"));
  AZTP_ASSIGN_OR_RETURN(bool row, q.Step("count"));
  if (!row) return db_->Fail("count");
  const SqliteRow r = q.row();
  const int64_t n = r.Int("n");
  AZTP_RETURN_IF_ERROR(r.status());
  return n;
}

Result<std::size_t> SqliteReplayStore::PurgeLocked(UnixTime now,
                                                   int64_t limit) {
  AZTP_ASSIGN_OR_RETURN(
      SqliteStmt q,
      Use(*db_,
          "DELETE FROM aztp_replay WHERE (issuer, jti) IN (SELECT issuer, "
          "jti FROM aztp_replay WHERE expires_at <= ?1 ORDER BY expires_at "
          "LIMIT ?2)"));
  q.Int(now);
  q.Int(limit);
  AZTP_RETURN_IF_ERROR(q.Run("purge"));
  return static_cast<std::size_t>(db_->Changes());
}

Status SqliteReplayStore::CheckAndRememberLocked(std::string_view issuer,
                                                 std::string_view jti,
                                                 UnixTime expires_at,
                                                 UnixTime now) {
  if ((calls_++ % kPurgeEvery) == 0) {
    AZTP_RETURN_IF_ERROR(PurgeLocked(now, kPurgeBatch));
  }
  AZTP_ASSIGN_OR_RETURN(std::optional<int64_t> stored,
                        StoredExpiry(*db_, issuer, jti));
  if (stored) {
    if (*stored > now) {
      return Error(Code::kReplay, "token (iss, jti) was already used");
    }
    // Present but expired: it counts as absent and is replaced.
    return Remember(*db_,
                    "UPDATE aztp_replay SET expires_at = ?3 WHERE issuer = ?1 "
                    "AND jti = ?2",
                    issuer, jti, expires_at, "update");
  }
  AZTP_ASSIGN_OR_RETURN(int64_t rows, CountLocked());
  if (rows < 0 || static_cast<uint64_t>(rows) >= capacity_) {
    AZTP_RETURN_IF_ERROR(PurgeLocked(now, kPurgeWhenFull));
    AZTP_ASSIGN_OR_RETURN(rows, CountLocked());
    if (rows < 0 || static_cast<uint64_t>(rows) >= capacity_) {
      return Error(Code::kTooLarge, "replay store is full");
    }
  }
  return Remember(*db_,
                  "INSERT INTO aztp_replay (issuer, jti, expires_at) VALUES "
                  "(?1, ?2, ?3)",
                  issuer, jti, expires_at, "insert");
}

Status SqliteReplayStore::CheckAndRemember(std::string_view issuer,
                                           std::string_view jti,
                                           UnixTime expires_at, UnixTime now) {
  AZTP_RETURN_IF_ERROR(ValidateArguments(issuer, jti, expires_at, now));
  std::lock_guard<std::mutex> lock(mu_);
  AZTP_RETURN_IF_ERROR(Run(*db_, "BEGIN IMMEDIATE", "begin"));
  Status status = CheckAndRememberLocked(issuer, jti, expires_at, now);
  // A replay or a full store inserts nothing but keeps any purge; an SQLite
  // error may have left part of the transaction behind, which is undone.
  if (status.has_value() || status.error().code() != Code::kIo) {
    Status committed = Run(*db_, "COMMIT", "commit");
    if (committed.has_value()) return status;
    status = std::move(committed);
  }
  db_->EndAnyTransaction();
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

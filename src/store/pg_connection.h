// PgConn: one PostgreSQL connection (libpq) with its prepared statements,
// and PgConnection, the SQL seam (sql.h) over it for the repositories.
//
// Statements are written with `?` placeholders (the dialect the
// repositories share with SQLite) and prepared once per connection with
// them renumbered $1, $2, ... Strings and blobs go over the wire in binary
// (raw bytes: the store's string columns are bytea), integers in text, and
// every result comes back in binary, so no value is ever escaped or parsed
// as SQL text.
//
// A PostgreSQL error aborts the whole transaction, where SQLite's
// constraint errors abort only the statement. So inside a read-write
// transaction every statement that changes rows runs under a savepoint:
// a constraint failure (SQLSTATE class 23) rolls back to it and leaves the
// transaction usable, as the store's contract says (store.h).
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "aztp/base/secret.h"
#include "store/sql.h"

namespace aztp::internal {

// PgConnectOptions says how to reach the server.
struct PgConnectOptions {
  std::string conninfo;  // a libpq connection string or URI
  std::optional<SecretBytes> password;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds statement_timeout{10'000};
};

// PgState is what the last failure said, for the caller's decisions.
enum class PgFailure {
  kNone,
  kRetry,        // a serialization failure or deadlock: run it again
  kDisconnected  // the connection is gone: discard it
};

// PgConn is one connection. Not thread-safe: its owner serialises its use.
class PgConn {
 public:
  static Result<std::unique_ptr<PgConn>> Open(const PgConnectOptions& options);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Exec runs SQL text without parameters (one or more statements).
  Status Exec(const char* sql, std::string_view what);
  // Prepared returns the name of the prepared statement for `sql`,
  // preparing it once.
  Result<std::string> Prepared(const std::string& sql);
  // Fail turns a failed result (or a failure to get one) into the store's
  // error, and notes whether to retry or discard the connection.
  Error Fail(const PGresult* result, std::string_view what);
  // WaitForNotice waits up to `timeout` for a notification on a channel
  // this connection LISTENs to: true when one (or more) arrived, or when
  // the connection broke (whoever waits must then assume a change).
  bool WaitForNotice(std::chrono::milliseconds timeout);
  // EndAnyTransaction rolls back a transaction left open.
  void EndAnyTransaction();
  // Usable is false once the connection was lost (it is then discarded).
  bool Usable() const;
  // Idle: no transaction is open on the connection.
  bool Idle() const;
  PgFailure last_failure() const { return last_failure_; }
  void ClearFailure() { last_failure_ = PgFailure::kNone; }
  PGconn* handle() const { return conn_; }

 private:
  explicit PgConn(PGconn* conn) : conn_(conn) {}

  PGconn* conn_;
  std::unordered_map<std::string, std::string> prepared_;
  PgFailure last_failure_ = PgFailure::kNone;
};

// PgResult owns a PGresult.
struct PgResultFree {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultFree>;

// PgConnection is a PgConn inside a transaction; `writable` turns on the
// savepoints described above.
class PgConnection final : public SqlConnection {
 public:
  PgConnection(PgConn& conn, bool writable)
      : conn_(conn), writable_(writable) {}
  Result<std::unique_ptr<SqlStatement>> Statement(
      const std::string& sql, std::optional<Error>* broken) override;

 private:
  PgConn& conn_;
  const bool writable_;
};

// RenumberPlaceholders rewrites each `?` outside quotes as $1, $2, ...
// (the statements never hold a `?` in a literal or identifier; one inside
// quotes is refused).
Result<std::string> RenumberPlaceholders(std::string_view sql);

}  // namespace aztp::internal

// PostgresStore: the control plane's durable state (store.h) in a
// PostgreSQL database that several replicas may share (docs/scaling.md).
//
// A pool of connections serves Reads and Writes alike. A Write takes the
// database-wide write lock (pg_locks.h) right after BEGIN, at READ
// COMMITTED, so each of its statements sees everything committed before it
// got the lock; a Read is a REPEATABLE READ READ ONLY snapshot. Private
// keys are sealed under the key-encryption key before they are written
// (SqlSession::SealSecret). The repositories are the shared ones
// (sql_repositories.h); the schema is pg_migrations.cc's.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "aztp/crypto/aead.h"
#include "aztp/store/store.h"
#include "store/pg_connection.h"
#include "store/pg_locks.h"
#include "store/pg_migrations.h"
#include "store/sql_repositories.h"
#include "store/transaction_scope.h"

namespace aztp {
namespace {

using internal::PgConn;
using internal::PgFailure;

// kMaxAttempts bounds the runs of one transaction that meets serialization
// failures or a connection found dead before it began.
constexpr int kMaxAttempts = 3;
constexpr std::size_t kMaxPoolSize = 256;

// Attempt is one run of a transaction: its outcome, and whether running it
// again is safe and useful.
struct Attempt {
  Status status;
  bool again = false;
};

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(PostgresStoreOptions options)
      : options_(std::move(options)),
        connect_{.conninfo = options_.conninfo,
                 .password = options_.password,
                 .connect_timeout = options_.connect_timeout,
                 .statement_timeout = options_.statement_timeout} {}

  Status Write(const std::function<Status(Transaction&)>& fn) override {
    if (options_.read_only) {
      return Error(Code::kUnsupported, "store: opened for reading only");
    }
    return Run(fn, /*writable=*/true);
  }
  Status Read(const std::function<Status(Transaction&)>& fn) override {
    return Run(fn, /*writable=*/false);
  }

  // Prepare brings the schema to the latest version, or (read-only)
  // checks that it is, on a connection of the pool.
  Status Prepare() {
    AZTP_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, Acquire());
    Status status = options_.read_only
                        ? internal::CheckPostgresSchemaIsLatest(*conn)
                        : internal::MigratePostgres(*conn);
    Release(std::move(conn));
    return status;
  }

 private:
  Status Run(const std::function<Status(Transaction&)>& fn, bool writable) {
    AZTP_RETURN_IF_ERROR(internal::TransactionScope::Nested(this));
    internal::TransactionScope scope(this);
    Status last = Ok();
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
      AZTP_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, Acquire());
      Attempt a = Once(*conn, fn, writable);
      Release(std::move(conn));
      if (!a.again) return a.status;
      last = a.status;
    }
    return last;
  }

  // Once runs `fn` in one transaction on `conn`. It may run again when the
  // connection was found dead before anything began (a pooled connection
  // that outlived a server restart), or when PostgreSQL rolled it back for
  // a serialization failure or deadlock; never after an unknown outcome.
  Attempt Once(PgConn& conn, const std::function<Status(Transaction&)>& fn,
               bool writable) {
    conn.ClearFailure();
    Status begun = conn.Exec(
        writable ? internal::kBeginWrite : internal::kBeginRead, "begin");
    if (!begun.has_value()) {
      // BEGIN may have run before the lock wait failed (a timeout, a
      // cancel): the transaction is left aborted, never pooled as it is.
      conn.EndAnyTransaction();
      return {begun, conn.last_failure() != PgFailure::kNone};
    }
    struct RollbackUnlessCommitted {
      PgConn& conn;
      ~RollbackUnlessCommitted() { conn.EndAnyTransaction(); }
    } guard{conn};
    internal::PgConnection connection(conn, writable);
    internal::SqlTransaction txn(connection, writable,
                                 &options_.key_encryption_key);
    Status status = fn(txn);
    if (status.has_value()) status = txn.Broken();
    if (!status.has_value()) {
      return {status, conn.last_failure() == PgFailure::kRetry};
    }
    // The notice goes out with the commit, to every replica's listener
    // (WaitForChange).
    Status committed =
        conn.Exec(writable ? "NOTIFY aztp_store; COMMIT" : "COMMIT", "commit");
    if (!committed.has_value() &&
        conn.last_failure() == PgFailure::kDisconnected) {
      return {Error(Code::kUnavailable,
                    "store: the connection to PostgreSQL was lost during "
                    "commit; the outcome is unknown")};
    }
    return {committed, conn.last_failure() == PgFailure::kRetry};
  }

  Result<std::unique_ptr<PgConn>> Acquire() {
    {
      std::unique_lock<std::mutex> lock(mu_);
      const bool free = cv_.wait_for(lock, options_.acquire_timeout, [this] {
        return !idle_.empty() || open_ < options_.pool_size;
      });
      if (!free) {
        return Error(Code::kUnavailable,
                     "store: every PostgreSQL connection stayed busy for " +
                         std::to_string(options_.acquire_timeout.count()) +
                         " ms");
      }
      if (!idle_.empty()) {
        std::unique_ptr<PgConn> conn = std::move(idle_.back());
        idle_.pop_back();
        return conn;
      }
      ++open_;
    }
    Result<std::unique_ptr<PgConn>> conn = PgConn::Open(connect_);
    if (!conn.has_value()) {
      std::lock_guard<std::mutex> lock(mu_);
      --open_;
      cv_.notify_one();
    }
    return conn;
  }

  // Release returns a connection to the pool, or closes it when it was
  // lost (the next Acquire opens a new one). A lost connection usually
  // means the server restarted: the idle ones are closed with it rather
  // than found dead one transaction at a time.
  void Release(std::unique_ptr<PgConn> conn) {
    // Only an idle connection goes back: one still inside a transaction
    // (a rollback that could not be sent) is closed.
    const bool usable = conn->Usable() && conn->Idle();
    std::vector<std::unique_ptr<PgConn>> closed;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (usable) {
        idle_.push_back(std::move(conn));
      } else {
        closed.swap(idle_);
        open_ -= 1 + closed.size();
      }
    }
    cv_.notify_all();
  }

 public:
  bool WaitForChange(std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> lock(listen_mu_);
    if (listener_ && listener_->Usable()) {
      return listener_->WaitForNotice(timeout);
    }
    listener_.reset();
    if (std::chrono::steady_clock::now() >= listen_retry_at_) {
      Result<std::unique_ptr<PgConn>> conn = PgConn::Open(connect_);
      if (conn.has_value() &&
          (*conn)->Exec("LISTEN aztp_store", "listen").has_value()) {
        listener_ = std::move(conn).value();
        // Changes made while nobody listened are unknown: say "changed".
        return true;
      }
      // A second after the attempt ended, however long it took.
      listen_retry_at_ =
          std::chrono::steady_clock::now() + std::chrono::seconds(1);
    }
    lock.unlock();
    std::this_thread::sleep_for(timeout);
    return false;
  }

 private:
  const PostgresStoreOptions options_;
  const internal::PgConnectOptions connect_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConn>> idle_;
  std::size_t open_ = 0;  // open connections, idle or in use

  // The connection that LISTENs for other replicas' commits.
  std::mutex listen_mu_;
  std::unique_ptr<PgConn> listener_;
  std::chrono::steady_clock::time_point listen_retry_at_;
};

Status CheckOptions(const PostgresStoreOptions& o) {
  if (o.conninfo.empty()) {
    return Error(Code::kInvalidArgument,
                 "store: no PostgreSQL connection string");
  }
  if (o.key_encryption_key.size() != kSealKeyBytes) {
    return Error(Code::kInvalidArgument,
                 "store: the key-encryption key must be " +
                     std::to_string(kSealKeyBytes) + " bytes");
  }
  if (o.pool_size < 1 || o.pool_size > kMaxPoolSize) {
    return Error(Code::kInvalidArgument,
                 "store: the pool size must be between 1 and " +
                     std::to_string(kMaxPoolSize));
  }
  for (auto t : {o.connect_timeout, o.statement_timeout, o.acquire_timeout}) {
    if (t < std::chrono::milliseconds(1) || t > std::chrono::hours(1)) {
      return Error(Code::kInvalidArgument,
                   "store: PostgreSQL timeouts must be between 1 ms and 1 h");
    }
  }
  return Ok();
}

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgresStore(
    const PostgresStoreOptions& options) {
  AZTP_RETURN_IF_ERROR(CheckOptions(options));
  auto store = std::make_unique<PostgresStore>(options);
  AZTP_RETURN_IF_ERROR(store->Prepare());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace aztp

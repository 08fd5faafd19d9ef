// SqliteStore: the control plane's durable state (store.h) in one SQLite
// file.
//
// One read-write connection, guarded by a mutex, runs every Write inside
// BEGIN IMMEDIATE ... COMMIT; a small pool of query-only connections runs
// Reads on WAL snapshots, so readers neither wait for the writer nor block
// it. The schema is built by the migrations (sqlite_migrations.cc); the
// repositories are in sqlite_<aggregate>.cc.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "aztp/store/store.h"
#include "store/sql_repositories.h"
#include "store/sqlite_connection.h"
#include "store/sqlite_migrations.h"
#include "store/transaction_scope.h"

namespace aztp {
namespace {

using internal::SqliteDb;
using internal::SqliteOptions;

// kMaxReaders bounds the query-only connections opened for Read.
constexpr std::size_t kMaxReaders = 4;

SqliteOptions StoreOptions(bool writer) {
  return SqliteOptions{.name = "store",
                       .create = writer,
                       .query_only = !writer,
                       .foreign_keys = true,
                       .synchronous = "FULL",
                       // Deleted rows (e.g. a retired CA key) are
                       // overwritten with zeros rather than left in free
                       // pages.
                       .secure_delete = true};
}

// RunTransaction runs `fn` between `begin` and COMMIT on `db`, rolling
// back when fn fails, breaks the transaction, or throws.
Status RunTransaction(SqliteDb& db, const char* begin, bool writable,
                      const std::function<Status(Transaction&)>& fn) {
  db.EndAnyTransaction();
  AZTP_RETURN_IF_ERROR(db.Exec(begin, "begin"));
  struct RollbackUnlessCommitted {
    SqliteDb& db;
    ~RollbackUnlessCommitted() { db.EndAnyTransaction(); }
  } guard{db};
  internal::SqliteConnection connection(db);
  internal::SqlTransaction txn(connection, writable);
  Status status = fn(txn);
  if (!status.has_value()) return status;
  AZTP_RETURN_IF_ERROR(txn.Broken());
  return db.Exec("COMMIT", "commit");
}

class SqliteStore final : public Store {
 public:
  SqliteStore(std::unique_ptr<SqliteDb> writer, std::string path, bool shared)
      : writer_(std::move(writer)), path_(std::move(path)), shared_(shared) {}

  ~SqliteStore() override {
    idle_.clear();
    writer_.reset();
  }

  Status Write(const std::function<Status(Transaction&)>& fn) override {
    AZTP_RETURN_IF_ERROR(internal::TransactionScope::Nested(this));
    internal::TransactionScope scope(this);
    std::lock_guard<std::mutex> lock(write_mu_);
    return RunTransaction(*writer_, "BEGIN IMMEDIATE", /*writable=*/true, fn);
  }

  Status Read(const std::function<Status(Transaction&)>& fn) override {
    AZTP_RETURN_IF_ERROR(internal::TransactionScope::Nested(this));
    internal::TransactionScope scope(this);
    if (shared_) {
      // An in-memory database exists only in its one connection.
      std::lock_guard<std::mutex> lock(write_mu_);
      return RunTransaction(*writer_, "BEGIN", /*writable=*/false, fn);
    }
    AZTP_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> reader, AcquireReader());
    // The connection returns to the pool even when fn throws.
    struct Lease {
      SqliteStore& store;
      std::unique_ptr<SqliteDb> db;
      ~Lease() { store.ReleaseReader(std::move(db)); }
    } lease{*this, std::move(reader)};
    return RunTransaction(*lease.db, "BEGIN", /*writable=*/false, fn);
  }

 private:
  Result<std::unique_ptr<SqliteDb>> AcquireReader() {
    {
      std::unique_lock<std::mutex> lock(pool_mu_);
      pool_cv_.wait(
          lock, [this] { return !idle_.empty() || readers_ < kMaxReaders; });
      if (!idle_.empty()) {
        std::unique_ptr<SqliteDb> reader = std::move(idle_.back());
        idle_.pop_back();
        return reader;
      }
      ++readers_;
    }
    Result<std::unique_ptr<SqliteDb>> reader =
        SqliteDb::Open(path_, StoreOptions(/*writer=*/false));
    if (!reader.has_value()) {
      std::lock_guard<std::mutex> lock(pool_mu_);
      --readers_;
      pool_cv_.notify_one();
    }
    return reader;
  }

  void ReleaseReader(std::unique_ptr<SqliteDb> reader) {
    std::lock_guard<std::mutex> lock(pool_mu_);
    idle_.push_back(std::move(reader));
    pool_cv_.notify_one();
  }

  std::mutex write_mu_;
  std::unique_ptr<SqliteDb> writer_;
  const std::string path_;
  const bool shared_;

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<SqliteDb>> idle_;
  std::size_t readers_ = 0;  // open reader connections, idle or in use
};

// SqliteAuditLogStore offers a store's audit log and meta values, nothing else.
class SqliteAuditLogStore final : public AuditLogStore {
 public:
  explicit SqliteAuditLogStore(std::unique_ptr<Store> store)
      : store_(std::move(store)) {}

  Status Write(const std::function<Status(AuditLogTransaction&)>& fn) override {
    return store_->Write([&](Transaction& tx) { return fn(tx); });
  }
  Status Read(const std::function<Status(AuditLogTransaction&)>& fn) override {
    return store_->Read([&](Transaction& tx) { return fn(tx); });
  }

 private:
  std::unique_ptr<Store> store_;
};

// CheckPrivateFile accepts an existing database file only if it is a
// regular file of this user: not a symbolic link planted to redirect it,
// not a file another user made for this one to fill.
Status CheckPrivateFile(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    return Error(Code::kIo, "store: cannot stat " + QuoteInput(path) + ": " +
                                std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return Error(Code::kPermissionDenied,
                 "store: " + QuoteInput(path) +
                     " is not a regular file (a symbolic link?); refusing it");
  }
  if (st.st_uid != ::geteuid()) {
    return Error(
        Code::kPermissionDenied,
        "store: " + QuoteInput(path) + " belongs to another user; refusing it");
  }
  return Ok();
}

// CreatePrivateFile creates `path` with mode 0600 unless it exists, so that
// the database (which holds CA private keys) and the -wal and -shm files,
// which SQLite creates with the database's mode, are never readable by
// others.
Status CreatePrivateFile(const std::string& path) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return CheckPrivateFile(path);
    return Error(Code::kIo, "store: cannot create " + QuoteInput(path) + ": " +
                                std::strerror(errno));
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) {
    return Error(Code::kIo, "store: cannot sync " + QuoteInput(path) + ": " +
                                std::strerror(errno));
  }
  // Make the new directory entry durable too.
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Ok();
}

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStoreReadOnly(
    const std::string& path) {
  if (path.empty() || path == ":memory:") {
    return Error(Code::kInvalidArgument,
                 "store: a read-only store needs a file");
  }
  // A reader never creates the file, and is query-only.
  AZTP_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db,
                        SqliteDb::Open(path, StoreOptions(/*writer=*/false)));
  AZTP_RETURN_IF_ERROR(internal::CheckSchemaIsLatest(*db, path));
  return std::unique_ptr<Store>(
      new SqliteStore(std::move(db), path, /*shared=*/false));
}

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  if (sqlite3_threadsafe() == 0) {
    return Error(Code::kUnsupported,
                 "store: the SQLite library was built without thread support");
  }
  const bool in_memory = path.empty() || path == ":memory:";
  if (!in_memory) AZTP_RETURN_IF_ERROR(CreatePrivateFile(path));
  AZTP_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> writer,
                        SqliteDb::Open(path, StoreOptions(/*writer=*/true)));
  AZTP_RETURN_IF_ERROR(internal::Migrate(*writer));
  return std::unique_ptr<Store>(
      new SqliteStore(std::move(writer), path, in_memory));
}

Result<std::unique_ptr<AuditLogStore>> OpenSqliteAuditLog(
    const std::string& path) {
  AZTP_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenSqliteStore(path));
  return std::unique_ptr<AuditLogStore>(
      new SqliteAuditLogStore(std::move(store)));
}

}  // namespace aztp

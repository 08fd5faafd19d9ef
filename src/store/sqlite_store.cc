// SqliteStore: the control plane's durable state (store.h) in one SQLite
// file.
//
// One read-write connection, guarded by a mutex, runs every Write inside
// BEGIN IMMEDIATE ... COMMIT; a small pool of query-only connections runs
// Reads on WAL snapshots, so readers neither wait for the writer nor block
// it. The schema is built by the numbered migrations in kMigrations, each
// applied at most once in its own transaction and recorded in
// schema_version.
//
// The statements keep to SQL that PostgreSQL also accepts (explicit
// existence checks rather than INSERT OR REPLACE, UPDATE-then-INSERT rather
// than upserts, quoted identifiers where a column name is an SQL keyword),
// so that the same shapes carry over to another implementation.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "aztp/store/store.h"

namespace aztp {
namespace {

// kBusyTimeoutMs is how long a statement waits for another connection (or
// process) holding the write lock before failing with kIo.
constexpr int kBusyTimeoutMs = 5000;
// kMaxReaders bounds the query-only connections opened for Read.
constexpr std::size_t kMaxReaders = 4;
// kMaxMetadataBytes is the serialised size limit of IdentityRecord::metadata.
constexpr std::size_t kMaxMetadataBytes = 16 << 10;
// kMaxJsonBytes bounds the other JSON columns (selectors, audit details).
constexpr std::size_t kMaxJsonBytes = 1 << 20;
// List limits accepted by ListIdentities and ListAudit.
constexpr int kMaxListLimit = 1000;

// A Migration moves the schema from version - 1 to version. Migrations are
// never edited once released: a change is a new migration appended here.
// Their SQL runs inside a transaction opened by Migrate and must not open or
// end one itself.
class Connection;
struct Migration {
  int version;
  const char* description;
  const char* sql;
  // then, when set, runs after `sql` in the same transaction.
  Status (*then)(Connection&) = nullptr;
};

Status ChainLegacyAudit(Connection& conn);

constexpr Migration kMigrations[] = {
    {1, "initial schema", R"sql(
CREATE TABLE identities (
  id TEXT NOT NULL PRIMARY KEY,
  parent TEXT NULL REFERENCES identities (id),
  "global" INTEGER NOT NULL,
  discoverable INTEGER NOT NULL,
  metadata TEXT NOT NULL,
  selectors TEXT NOT NULL,
  status TEXT NOT NULL,
  revoked_reason TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX identities_parent ON identities (parent);
CREATE TABLE links (
  from_id TEXT NOT NULL REFERENCES identities (id),
  to_id TEXT NOT NULL REFERENCES identities (id),
  kind TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (from_id, to_id, kind)
);
CREATE INDEX links_to_id ON links (to_id);
CREATE TABLE api_keys (
  key_id TEXT NOT NULL PRIMARY KEY,
  salt TEXT NOT NULL,
  hash TEXT NOT NULL,
  scope TEXT NOT NULL,
  description TEXT NOT NULL,
  revoked INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE svids (
  serial TEXT NOT NULL PRIMARY KEY,
  id TEXT NOT NULL REFERENCES identities (id),
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX svids_id ON svids (id);
CREATE TABLE ca_keys (
  key_id TEXT NOT NULL PRIMARY KEY,
  state TEXT NOT NULL,
  chain_pem TEXT NOT NULL,
  key_pem BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  not_after INTEGER NOT NULL
);
CREATE TABLE audit (
  seq INTEGER NOT NULL PRIMARY KEY,
  "time" INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  decision TEXT NOT NULL,
  reason TEXT NOT NULL,
  txn TEXT NOT NULL,
  details TEXT NOT NULL,
  prev TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE TABLE meta (
  name TEXT NOT NULL PRIMARY KEY,
  "value" INTEGER NOT NULL
);
)sql"},
    {2, "key kinds and activation times, link metadata", R"sql(
ALTER TABLE ca_keys ADD COLUMN kind TEXT NOT NULL DEFAULT 'x509';
ALTER TABLE ca_keys ADD COLUMN activated_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE links ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
)sql"},
    {3, "federation relationships and bundles, per-identity federation",
     R"sql(
ALTER TABLE identities ADD COLUMN federates_with TEXT NULL;
CREATE TABLE federations (
  trust_domain TEXT NOT NULL PRIMARY KEY,
  endpoint_url TEXT NOT NULL,
  profile TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  bootstrap_bundle TEXT NOT NULL,
  web_ca_pem TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE federated_bundles (
  trust_domain TEXT NOT NULL PRIMARY KEY,
  bundle TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
)sql"},
    {4, "versioned policies and their attachments, identity flows", R"sql(
CREATE TABLE policies (
  id TEXT NOT NULL PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL,
  version INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE policy_versions (
  id TEXT NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  document TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (id, version)
);
CREATE TABLE policy_attachments (
  identity TEXT NOT NULL REFERENCES identities (id),
  policy_id TEXT NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (identity, policy_id)
);
CREATE INDEX policy_attachments_policy ON policy_attachments (policy_id);
CREATE TABLE flows (
  id TEXT NOT NULL PRIMARY KEY,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  discoverable TEXT NOT NULL,
  tags TEXT NOT NULL,
  metadata TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE flow_members (
  flow_id TEXT NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
  identity TEXT NOT NULL REFERENCES identities (id),
  status TEXT NOT NULL,
  reason TEXT NOT NULL,
  added_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (flow_id, identity)
);
)sql"},
    {5, "hash-chained audit log, records shipped by proxies", R"sql(
CREATE TABLE shipped_audit (
  source TEXT NOT NULL,
  seq INTEGER NOT NULL,
  "time" INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  decision TEXT NOT NULL,
  reason TEXT NOT NULL,
  txn TEXT NOT NULL,
  details TEXT NOT NULL,
  prev TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (source, seq)
);
CREATE INDEX audit_txn ON audit (txn);
)sql",
     ChainLegacyAudit},
    // Who revoked an identity decides who may reissue it (docs/aztpd.md,
    // "Permissions"); revocations made before are read from the audit log.
    {6, "who revoked each identity", R"sql(
ALTER TABLE identities ADD COLUMN revoked_by TEXT NOT NULL DEFAULT '';
UPDATE identities SET revoked_by = COALESCE((
  SELECT actor FROM audit
  WHERE audit.action = 'identity.revoke' AND audit.subject = identities.id
  ORDER BY seq DESC LIMIT 1), '')
WHERE status = 'revoked';
)sql"},
    // A federated domain's revocation list, fetched beside its bundle, and
    // where from (docs/federation.md, "Revocations across federation").
    {7, "federated revocation lists", R"sql(
ALTER TABLE federations ADD COLUMN revocations_url TEXT NOT NULL DEFAULT '';
CREATE TABLE federated_revocations (
  trust_domain TEXT NOT NULL PRIMARY KEY,
  list TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
)sql"},
};

constexpr int kLatestVersion = kMigrations[std::size(kMigrations) - 1].version;

constexpr const char* kIdentityColumns =
    "id, parent, \"global\", discoverable, metadata, selectors, status, "
    "revoked_reason, created_at, updated_at, federates_with, revoked_by";
constexpr const char* kApiKeyColumns =
    "key_id, salt, hash, scope, description, revoked, created_at";
constexpr const char* kAuditColumns =
    "seq, \"time\", actor, action, subject, decision, reason, txn, details, "
    "prev, hash";

Error SqlError(sqlite3* db, std::string_view what) {
  std::string message = "store: ";
  message += what;
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : "out of memory";
  return Error(Code::kIo, std::move(message));
}

Error Corrupt(std::string_view what) {
  return Error(Code::kIo, "store: stored " + std::string(what) +
                              " is not valid; the database is damaged");
}

// Connection is one SQLite connection with its cache of prepared
// statements. Not thread-safe: the Store serialises its use.
class Connection {
 public:
  // Open opens `path`. A writer may create the file and sets the durability
  // pragmas; a reader is query-only.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path,
                                                  bool writer);

  ~Connection() {
    for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* db() const { return db_; }

  // Prepare returns the cached statement for `sql`, preparing it once.
  Result<sqlite3_stmt*> Prepare(const std::string& sql) {
    auto it = stmts_.find(sql);
    if (it != stmts_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT,
                           &stmt, nullptr) != SQLITE_OK) {
      return SqlError(db_, "prepare");
    }
    stmts_.emplace(sql, stmt);
    return stmt;
  }

  // Exec runs SQL text that returns no rows (one or more statements).
  Status Exec(const char* sql, std::string_view what) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return SqlError(db_, what);
    }
    return Ok();
  }

  // QueryValue runs SQL text (e.g. a PRAGMA) and returns the first column
  // of its first row as text, "" when there is none.
  Result<std::string> QueryValue(const char* sql) {
    std::string value;
    auto first = [](void* out, int n, char** values, char**) {
      if (n > 0 && values[0] != nullptr) {
        *static_cast<std::string*>(out) = values[0];
      }
      return 0;
    };
    if (sqlite3_exec(db_, sql, first, &value, nullptr) != SQLITE_OK) {
      return SqlError(db_, sql);
    }
    return value;
  }

  // EndAnyTransaction rolls back a transaction left open (by a failed
  // rollback, or a callback that threw).
  void EndAnyTransaction() {
    if (sqlite3_get_autocommit(db_) == 0) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;
};

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path,
                                                     bool writer) {
  sqlite3* db = nullptr;
  // NOFOLLOW: the database holds CA keys; a symbolic link planted at its
  // path must not redirect it.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                    SQLITE_OPEN_NOFOLLOW | (writer ? SQLITE_OPEN_CREATE : 0);
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  // From here on `conn` owns `db` and closes it on every return.
  std::unique_ptr<Connection> conn(new Connection(db));
  if (rc != SQLITE_OK) return SqlError(db, "open");
  sqlite3_extended_result_codes(db, 1);
  if (sqlite3_busy_timeout(db, kBusyTimeoutMs) != SQLITE_OK) {
    return SqlError(db, "busy_timeout");
  }
  AZTP_RETURN_IF_ERROR(conn->Exec("PRAGMA foreign_keys=ON", "foreign_keys"));
  AZTP_ASSIGN_OR_RETURN(std::string fk,
                        conn->QueryValue("PRAGMA foreign_keys"));
  if (fk != "1") {
    return Error(Code::kUnsupported,
                 "store: this SQLite library does not enforce foreign keys");
  }
  if (!writer) {
    AZTP_RETURN_IF_ERROR(conn->Exec("PRAGMA query_only=ON", "query_only"));
    return conn;
  }
  AZTP_ASSIGN_OR_RETURN(std::string mode,
                        conn->QueryValue("PRAGMA journal_mode=WAL"));
  // An in-memory database (":memory:") reports "memory": it has no journal
  // file and nothing to survive.
  if (mode != "wal" && mode != "memory") {
    return Error(Code::kIo, "store: cannot enable WAL mode (journal mode is " +
                                QuoteInput(mode) + ")");
  }
  AZTP_RETURN_IF_ERROR(conn->Exec("PRAGMA synchronous=FULL", "synchronous"));
  // Deleted rows (e.g. a retired CA key) are overwritten with zeros rather
  // than left in free pages.
  AZTP_RETURN_IF_ERROR(conn->Exec("PRAGMA secure_delete=ON", "secure_delete"));
  return conn;
}

// Stmt is one use of a cached statement: values are bound in order, and the
// statement is reset with its bindings cleared when the Stmt goes out of
// scope, so that no statement keeps a view of a caller's bytes. Storage
// errors are also recorded in `*broken` (see SqliteTransaction).
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt, std::optional<Error>* broken)
      : db_(db), stmt_(stmt), broken_(broken) {}
  ~Stmt() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Bound values must outlive the Stmt (they are not copied).
  void Text(std::string_view v) {
    // A null data pointer would bind SQL NULL rather than "".
    Check(sqlite3_bind_text64(stmt_, next_++, v.data() ? v.data() : "",
                              v.size(), SQLITE_STATIC, SQLITE_UTF8));
  }
  void OptionalText(const std::optional<std::string>& v) {
    if (v) {
      Text(*v);
    } else {
      Check(sqlite3_bind_null(stmt_, next_++));
    }
  }
  void Int(int64_t v) { Check(sqlite3_bind_int64(stmt_, next_++, v)); }
  void Bool(bool v) { Int(v ? 1 : 0); }
  void Blob(std::span<const uint8_t> v) {
    if (v.empty()) {
      Check(sqlite3_bind_zeroblob(stmt_, next_++, 0));
    } else {
      Check(sqlite3_bind_blob64(stmt_, next_++, v.data(), v.size(),
                                SQLITE_STATIC));
    }
  }

  // Step advances to the next row: true when there is one, false at the end.
  Result<bool> Step(std::string_view what) {
    if (bind_rc_ != SQLITE_OK) return Broken(SqlError(db_, what));
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return StepError(rc, what);
  }
  // Run executes a statement that returns no row.
  Status Run(std::string_view what) {
    AZTP_ASSIGN_OR_RETURN(bool row, Step(what));
    if (row) {
      return Broken(
          Error(Code::kIo, "store: " + std::string(what) + ": unexpected row"));
    }
    return Ok();
  }

  sqlite3_stmt* get() const { return stmt_; }

 private:
  void Check(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }
  Error Broken(Error e) {
    if (broken_ != nullptr && !broken_->has_value()) *broken_ = e;
    return e;
  }
  // StepError classifies a failed step. Constraint failures abort only the
  // statement (the transaction goes on); anything else is a storage error.
  Error StepError(int rc, std::string_view what) {
    const std::string prefix = "store: " + std::string(what) + ": ";
    switch (rc) {
      case SQLITE_CONSTRAINT_PRIMARYKEY:
      case SQLITE_CONSTRAINT_UNIQUE:
        return Error(Code::kAlreadyExists, prefix + "already exists");
      case SQLITE_CONSTRAINT_FOREIGNKEY:
        return Error(Code::kInvalidArgument,
                     prefix + "refers to an unknown identity");
      default:
        break;
    }
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
      return Error(Code::kInvalidArgument, prefix + sqlite3_errmsg(db_));
    }
    return Broken(SqlError(db_, what));
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::optional<Error>* broken_;
  int next_ = 1;
  int bind_rc_ = SQLITE_OK;
};

std::string ColumnText(sqlite3_stmt* stmt, int i) {
  const unsigned char* p = sqlite3_column_text(stmt, i);
  const int n = sqlite3_column_bytes(stmt, i);
  if (p == nullptr || n <= 0) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<std::size_t>(n));
}

// EncodeJson serialises `value` for a TEXT column, refusing what would not
// read back as the same document (invalid UTF-8, which DumpJson replaces; a
// non-finite number; nesting beyond ParseJson's limit) rather than storing
// something else than was given.
Result<std::string> EncodeJson(const Json& value, std::string_view what,
                               std::size_t max_bytes) {
  std::string text = DumpJson(value);
  if (text.size() > max_bytes) {
    return Error(Code::kTooLarge, "store: " + std::string(what) + " exceeds " +
                                      std::to_string(max_bytes) +
                                      " bytes serialised");
  }
  Result<Json> back = ParseJson(text, JsonLimits{.max_bytes = max_bytes});
  if (!back.has_value() || *back != value) {
    return Error(Code::kInvalidArgument,
                 "store: " + std::string(what) +
                     " cannot be stored as JSON unchanged (invalid UTF-8, a "
                     "non-finite number or too deep nesting)");
  }
  return text;
}

Result<Json> DecodeJson(const std::string& text, std::string_view what) {
  Result<Json> value = ParseJson(text, JsonLimits{.max_bytes = kMaxJsonBytes});
  if (!value.has_value()) return Corrupt(what);
  return value;
}

Result<IdentityRecord> ReadIdentity(sqlite3_stmt* s) {
  IdentityRecord r;
  r.id = ColumnText(s, 0);
  if (sqlite3_column_type(s, 1) != SQLITE_NULL) r.parent = ColumnText(s, 1);
  r.global = sqlite3_column_int64(s, 2) != 0;
  r.discoverable = sqlite3_column_int64(s, 3) != 0;
  AZTP_ASSIGN_OR_RETURN(r.metadata,
                        DecodeJson(ColumnText(s, 4), "identity metadata"));
  AZTP_ASSIGN_OR_RETURN(Json selectors,
                        DecodeJson(ColumnText(s, 5), "identity selectors"));
  if (!selectors.is_array()) return Corrupt("identity selectors");
  for (const Json& selector : selectors) {
    if (!selector.is_string()) return Corrupt("identity selectors");
    r.selectors.push_back(selector.get<std::string>());
  }
  r.status = ColumnText(s, 6);
  r.revoked_reason = ColumnText(s, 7);
  r.created_at = sqlite3_column_int64(s, 8);
  r.updated_at = sqlite3_column_int64(s, 9);
  if (sqlite3_column_type(s, 10) != SQLITE_NULL) {
    AZTP_ASSIGN_OR_RETURN(Json domains,
                          DecodeJson(ColumnText(s, 10), "federates_with"));
    if (!domains.is_array()) return Corrupt("federates_with");
    r.federates_with.emplace();
    for (const Json& d : domains) {
      if (!d.is_string()) return Corrupt("federates_with");
      r.federates_with->push_back(d.get<std::string>());
    }
  }
  r.revoked_by = ColumnText(s, 11);
  return r;
}

ApiKeyRecord ReadApiKey(sqlite3_stmt* s) {
  ApiKeyRecord r;
  r.key_id = ColumnText(s, 0);
  r.salt = ColumnText(s, 1);
  r.hash = ColumnText(s, 2);
  r.scope = ColumnText(s, 3);
  r.description = ColumnText(s, 4);
  r.revoked = sqlite3_column_int64(s, 5) != 0;
  r.created_at = sqlite3_column_int64(s, 6);
  return r;
}

Result<AuditRecord> ReadAudit(sqlite3_stmt* s) {
  AuditRecord r;
  r.seq = sqlite3_column_int64(s, 0);
  r.time = sqlite3_column_int64(s, 1);
  r.actor = ColumnText(s, 2);
  r.action = ColumnText(s, 3);
  r.subject = ColumnText(s, 4);
  r.decision = ColumnText(s, 5);
  r.reason = ColumnText(s, 6);
  r.txn = ColumnText(s, 7);
  AZTP_ASSIGN_OR_RETURN(r.details,
                        DecodeJson(ColumnText(s, 8), "audit details"));
  r.prev = ColumnText(s, 9);
  r.hash = ColumnText(s, 10);
  return r;
}

// ChainLegacyAudit seals records written before the log was hash-chained
// (migration 5): in seq order, each gets prev and hash as if appended now.
Status ChainLegacyAudit(Connection& conn) {
  std::vector<AuditRecord> records;
  {
    AZTP_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          conn.Prepare(std::string("SELECT ") + kAuditColumns +
                                       " FROM audit ORDER BY seq"));
    Stmt q(conn.db(), raw, nullptr);
    while (true) {
      AZTP_ASSIGN_OR_RETURN(bool row, q.Step("read audit for chaining"));
      if (!row) break;
      AZTP_ASSIGN_OR_RETURN(AuditRecord r, ReadAudit(raw));
      records.push_back(std::move(r));
    }
  }
  std::string prev = kAuditGenesis;
  for (AuditRecord& r : records) {
    SealAudit(r, r.seq, prev);
    prev = r.hash;
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        conn.Prepare("UPDATE audit SET prev = ?, hash = ? WHERE seq = ?"));
    Stmt q(conn.db(), raw, nullptr);
    q.Text(r.prev);
    q.Text(r.hash);
    q.Int(r.seq);
    AZTP_RETURN_IF_ERROR(q.Run("chain audit"));
  }
  return Ok();
}

constexpr const char* kPolicySelect =
    "SELECT p.id, p.name, p.description, v.version, v.document, "
    "p.created_at, v.created_at FROM policies p JOIN policy_versions v "
    "ON v.id = p.id";
constexpr const char* kFlowSelect =
    "SELECT id, name, description, discoverable, tags, metadata, created_by, "
    "created_at, updated_at FROM flows";
constexpr const char* kFlowMemberSelect =
    "SELECT flow_id, identity, status, reason, added_at, updated_at FROM "
    "flow_members";

PolicyRecord ReadPolicy(sqlite3_stmt* s) {
  PolicyRecord r;
  r.id = ColumnText(s, 0);
  r.name = ColumnText(s, 1);
  r.description = ColumnText(s, 2);
  r.version = sqlite3_column_int64(s, 3);
  r.document = ColumnText(s, 4);
  r.created_at = sqlite3_column_int64(s, 5);
  r.updated_at = sqlite3_column_int64(s, 6);
  return r;
}

Result<FlowRecord> ReadFlow(sqlite3_stmt* s) {
  FlowRecord r;
  r.id = ColumnText(s, 0);
  r.name = ColumnText(s, 1);
  r.description = ColumnText(s, 2);
  r.discoverable = ColumnText(s, 3);
  AZTP_ASSIGN_OR_RETURN(r.tags, DecodeJson(ColumnText(s, 4), "flow tags"));
  AZTP_ASSIGN_OR_RETURN(r.metadata,
                        DecodeJson(ColumnText(s, 5), "flow metadata"));
  r.created_by = ColumnText(s, 6);
  r.created_at = sqlite3_column_int64(s, 7);
  r.updated_at = sqlite3_column_int64(s, 8);
  return r;
}

FlowMemberRecord ReadFlowMember(sqlite3_stmt* s) {
  FlowMemberRecord r;
  r.flow_id = ColumnText(s, 0);
  r.identity = ColumnText(s, 1);
  r.status = ColumnText(s, 2);
  r.reason = ColumnText(s, 3);
  r.added_at = sqlite3_column_int64(s, 4);
  r.updated_at = sqlite3_column_int64(s, 5);
  return r;
}

// PrefixEnd returns the least string greater than every string that starts
// with `prefix` (byte-wise, as SQLite's BINARY collation compares), or
// nullopt when there is none (the prefix is all 0xff bytes).
std::optional<std::string> PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) {
    prefix.pop_back();
  }
  if (prefix.empty()) return std::nullopt;
  prefix.back() =
      static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

Status CheckLimit(int limit) {
  if (limit < 1 || limit > kMaxListLimit) {
    return Error(Code::kInvalidArgument, "store: limit must be between 1 and " +
                                             std::to_string(kMaxListLimit));
  }
  return Ok();
}

// SqliteTransaction runs the Transaction methods on one connection inside
// the transaction that Store::Write or Store::Read opened.
//
// A storage error (kIo) may have ended SQLite's transaction behind our back
// (SQLITE_FULL, SQLITE_IOERR, ...), after which further statements would
// each commit on their own. So the first one "breaks" the transaction: every
// later call returns the same error, and Write rolls back and reports it even
// when the callback ignored it. Expected outcomes (kNotFound,
// kAlreadyExists, kInvalidArgument) leave the transaction usable.
class SqliteTransaction final : public Transaction {
 public:
  SqliteTransaction(Connection& conn, bool writable)
      : conn_(conn), writable_(writable) {}

  // Broken returns the storage error that broke the transaction, if any.
  Status Broken() const {
    if (broken_) return *broken_;
    return Ok();
  }

  Status InsertIdentity(const IdentityRecord& r) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    AZTP_RETURN_IF_ERROR(CheckIdentity(r));
    AZTP_ASSIGN_OR_RETURN(
        std::string metadata,
        EncodeJson(r.metadata, "metadata", kMaxMetadataBytes));
    AZTP_ASSIGN_OR_RETURN(std::string selectors, EncodeSelectors(r.selectors));
    AZTP_ASSIGN_OR_RETURN(auto federates_with, EncodeDomains(r.federates_with));
    AZTP_ASSIGN_OR_RETURN(bool exists, IdentityExists(r.id));
    if (exists) {
      return Error(Code::kAlreadyExists,
                   "store: identity " + QuoteInput(r.id) + " already exists");
    }
    AZTP_RETURN_IF_ERROR(CheckParent(r));
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare(std::string("INSERT INTO identities (") + kIdentityColumns +
                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    Stmt q = Use(raw);
    q.Text(r.id);
    q.OptionalText(r.parent);
    q.Bool(r.global);
    q.Bool(r.discoverable);
    q.Text(metadata);
    q.Text(selectors);
    q.Text(r.status);
    q.Text(r.revoked_reason);
    q.Int(r.created_at);
    q.Int(r.updated_at);
    q.OptionalText(federates_with);
    q.Text(r.revoked_by);
    return q.Run("insert identity");
  }

  // UpdateIdentity replaces every field but `id` and `created_at`.
  Status UpdateIdentity(const IdentityRecord& r) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    AZTP_RETURN_IF_ERROR(CheckIdentity(r));
    AZTP_ASSIGN_OR_RETURN(
        std::string metadata,
        EncodeJson(r.metadata, "metadata", kMaxMetadataBytes));
    AZTP_ASSIGN_OR_RETURN(std::string selectors, EncodeSelectors(r.selectors));
    AZTP_ASSIGN_OR_RETURN(auto federates_with, EncodeDomains(r.federates_with));
    AZTP_ASSIGN_OR_RETURN(bool exists, IdentityExists(r.id));
    if (!exists) {
      return Error(Code::kNotFound,
                   "store: identity " + QuoteInput(r.id) + " does not exist");
    }
    AZTP_RETURN_IF_ERROR(CheckParent(r));
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("UPDATE identities SET parent = ?, \"global\" = ?, "
                "discoverable = ?, metadata = ?, selectors = ?, "
                "status = ?, revoked_reason = ?, updated_at = ?, "
                "federates_with = ?, revoked_by = ? WHERE id = ?"));
    Stmt q = Use(raw);
    q.OptionalText(r.parent);
    q.Bool(r.global);
    q.Bool(r.discoverable);
    q.Text(metadata);
    q.Text(selectors);
    q.Text(r.status);
    q.Text(r.revoked_reason);
    q.Int(r.updated_at);
    q.OptionalText(federates_with);
    q.Text(r.revoked_by);
    q.Text(r.id);
    return q.Run("update identity");
  }

  Result<std::optional<IdentityRecord>> GetIdentity(
      const std::string& id) override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          Prepare(std::string("SELECT ") + kIdentityColumns +
                                  " FROM identities WHERE id = ?"));
    Stmt q = Use(raw);
    q.Text(id);
    AZTP_ASSIGN_OR_RETURN(bool row, q.Step("get identity"));
    if (!row) return std::optional<IdentityRecord>();
    AZTP_ASSIGN_OR_RETURN(IdentityRecord r, ReadIdentity(q.get()));
    return std::optional<IdentityRecord>(std::move(r));
  }

  Result<std::vector<IdentityRecord>> ListIdentities(
      const IdentityFilter& filter) override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_RETURN_IF_ERROR(CheckLimit(filter.limit));
    // The prefix is a key range [prefix, PrefixEnd(prefix)): exact for any
    // bytes (no LIKE wildcards, no case folding) and served by the primary
    // key index. The statement text depends only on which filters are set,
    // so at most a few dozen variants are ever prepared.
    std::optional<std::string> prefix_end;
    const bool has_prefix = filter.id_prefix && !filter.id_prefix->empty();
    if (has_prefix) prefix_end = PrefixEnd(*filter.id_prefix);
    std::string sql = std::string("SELECT ") + kIdentityColumns +
                      " FROM identities WHERE id > ?";
    if (has_prefix) sql += " AND id >= ?";
    if (prefix_end) sql += " AND id < ?";
    if (filter.status) sql += " AND status = ?";
    if (filter.parent) sql += " AND parent = ?";
    if (filter.discoverable) sql += " AND discoverable = ?";
    sql += " ORDER BY id LIMIT ?";
    AZTP_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(sql));
    Stmt q = Use(raw);
    q.Text(filter.after);
    if (has_prefix) q.Text(*filter.id_prefix);
    if (prefix_end) q.Text(*prefix_end);
    if (filter.status) q.Text(*filter.status);
    if (filter.parent) q.Text(*filter.parent);
    if (filter.discoverable) q.Bool(*filter.discoverable);
    q.Int(filter.limit);
    std::vector<IdentityRecord> out;
    while (true) {
      AZTP_ASSIGN_OR_RETURN(bool row, q.Step("list identities"));
      if (!row) break;
      AZTP_ASSIGN_OR_RETURN(IdentityRecord r, ReadIdentity(q.get()));
      out.push_back(std::move(r));
    }
    return out;
  }

  // CountIdentities counts identities with `status`; "" counts them all.
  Result<int64_t> CountIdentities(const std::string& status) override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare(status.empty()
                    ? "SELECT COUNT(*) FROM identities"
                    : "SELECT COUNT(*) FROM identities WHERE status = ?"));
    Stmt q = Use(raw);
    if (!status.empty()) q.Text(status);
    AZTP_ASSIGN_OR_RETURN(bool row, q.Step("count identities"));
    if (!row) return Corrupt("identity count");
    return static_cast<int64_t>(sqlite3_column_int64(q.get(), 0));
  }

  Status InsertLink(const LinkRecord& r) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    for (const std::string* id : {&r.from, &r.to}) {
      AZTP_ASSIGN_OR_RETURN(bool exists, IdentityExists(*id));
      if (!exists) {
        return Error(Code::kInvalidArgument, "store: link names identity " +
                                                 QuoteInput(*id) +
                                                 ", which does not exist");
      }
    }
    {
      AZTP_ASSIGN_OR_RETURN(
          sqlite3_stmt * raw,
          Prepare("SELECT 1 FROM links WHERE from_id = ? AND to_id = ? "
                  "AND kind = ?"));
      Stmt q = Use(raw);
      q.Text(r.from);
      q.Text(r.to);
      q.Text(r.kind);
      AZTP_ASSIGN_OR_RETURN(bool exists, q.Step("find link"));
      if (exists) {
        return Error(Code::kAlreadyExists, "store: link " + QuoteInput(r.from) +
                                               " -> " + QuoteInput(r.to) +
                                               " (" + QuoteInput(r.kind) +
                                               ") already exists");
      }
    }
    AZTP_ASSIGN_OR_RETURN(
        std::string metadata,
        EncodeJson(r.metadata, "link metadata", kMaxMetadataBytes));
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("INSERT INTO links (from_id, to_id, kind, created_at, "
                "metadata) VALUES (?, ?, ?, ?, ?)"));
    Stmt q = Use(raw);
    q.Text(r.from);
    q.Text(r.to);
    q.Text(r.kind);
    q.Int(r.created_at);
    q.Text(metadata);
    return q.Run("insert link");
  }

  Result<std::vector<LinkRecord>> ListLinks(const std::string& id) override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("SELECT from_id, to_id, kind, created_at, metadata "
                "FROM links "
                "WHERE from_id = ? OR to_id = ? "
                "ORDER BY from_id, to_id, kind"));
    Stmt q = Use(raw);
    q.Text(id);
    q.Text(id);
    std::vector<LinkRecord> out;
    while (true) {
      AZTP_ASSIGN_OR_RETURN(bool row, q.Step("list links"));
      if (!row) break;
      LinkRecord r;
      r.from = ColumnText(q.get(), 0);
      r.to = ColumnText(q.get(), 1);
      r.kind = ColumnText(q.get(), 2);
      r.created_at = sqlite3_column_int64(q.get(), 3);
      AZTP_ASSIGN_OR_RETURN(
          r.metadata, DecodeJson(ColumnText(q.get(), 4), "link metadata"));
      out.push_back(std::move(r));
    }
    return out;
  }

  Status InsertApiKey(const ApiKeyRecord& r) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    AZTP_ASSIGN_OR_RETURN(
        bool exists, Exists("SELECT 1 FROM api_keys WHERE key_id = ?", r.key_id,
                            "find api key"));
    if (exists) {
      return Error(
          Code::kAlreadyExists,
          "store: API key " + QuoteInput(r.key_id) + " already exists");
    }
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare(std::string("INSERT INTO api_keys (") + kApiKeyColumns +
                ") VALUES (?, ?, ?, ?, ?, ?, ?)"));
    Stmt q = Use(raw);
    q.Text(r.key_id);
    q.Text(r.salt);
    q.Text(r.hash);
    q.Text(r.scope);
    q.Text(r.description);
    q.Bool(r.revoked);
    q.Int(r.created_at);
    return q.Run("insert api key");
  }

  Result<std::optional<ApiKeyRecord>> GetApiKey(
      const std::string& key_id) override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          Prepare(std::string("SELECT ") + kApiKeyColumns +
                                  " FROM api_keys WHERE key_id = ?"));
    Stmt q = Use(raw);
    q.Text(key_id);
    AZTP_ASSIGN_OR_RETURN(bool row, q.Step("get api key"));
    if (!row) return std::optional<ApiKeyRecord>();
    return std::optional<ApiKeyRecord>(ReadApiKey(q.get()));
  }

  Result<std::vector<ApiKeyRecord>> ListApiKeys() override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          Prepare(std::string("SELECT ") + kApiKeyColumns +
                                  " FROM api_keys ORDER BY key_id"));
    Stmt q = Use(raw);
    std::vector<ApiKeyRecord> out;
    while (true) {
      AZTP_ASSIGN_OR_RETURN(bool row, q.Step("list api keys"));
      if (!row) break;
      out.push_back(ReadApiKey(q.get()));
    }
    return out;
  }

  Status RevokeApiKey(const std::string& key_id) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("UPDATE api_keys SET revoked = 1 WHERE key_id = ?"));
    Stmt q = Use(raw);
    q.Text(key_id);
    AZTP_RETURN_IF_ERROR(q.Run("revoke api key"));
    if (sqlite3_changes(conn_.db()) == 0) {
      return Error(Code::kNotFound,
                   "store: API key " + QuoteInput(key_id) + " does not exist");
    }
    return Ok();
  }

  Status InsertSvid(const SvidRecord& r) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    AZTP_ASSIGN_OR_RETURN(
        bool exists,
        Exists("SELECT 1 FROM svids WHERE serial = ?", r.serial, "find svid"));
    if (exists) {
      return Error(
          Code::kAlreadyExists,
          "store: SVID serial " + QuoteInput(r.serial) + " already exists");
    }
    AZTP_ASSIGN_OR_RETURN(bool known, IdentityExists(r.id));
    if (!known) {
      return Error(Code::kInvalidArgument, "store: SVID names identity " +
                                               QuoteInput(r.id) +
                                               ", which does not exist");
    }
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("INSERT INTO svids (serial, id, issued_at, expires_at) "
                "VALUES (?, ?, ?, ?)"));
    Stmt q = Use(raw);
    q.Text(r.serial);
    q.Text(r.id);
    q.Int(r.issued_at);
    q.Int(r.expires_at);
    return q.Run("insert svid");
  }

  Result<std::vector<SvidRecord>> ListSvids(const std::string& id) override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("SELECT serial, id, issued_at, expires_at FROM svids "
                "WHERE id = ? ORDER BY issued_at, serial"));
    Stmt q = Use(raw);
    q.Text(id);
    std::vector<SvidRecord> out;
    while (true) {
      AZTP_ASSIGN_OR_RETURN(bool row, q.Step("list svids"));
      if (!row) break;
      SvidRecord r;
      r.serial = ColumnText(q.get(), 0);
      r.id = ColumnText(q.get(), 1);
      r.issued_at = sqlite3_column_int64(q.get(), 2);
      r.expires_at = sqlite3_column_int64(q.get(), 3);
      out.push_back(std::move(r));
    }
    return out;
  }

  // PutCaKey replaces every field of an existing key, or inserts it.
  Status PutCaKey(const CaKeyRecord& r) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    const std::span<const uint8_t> key =
        r.key_pem.Bytes(InsecureSecretAccess::Get());
    {
      AZTP_ASSIGN_OR_RETURN(
          sqlite3_stmt * raw,
          Prepare("UPDATE ca_keys SET kind = ?, state = ?, chain_pem = ?, "
                  "key_pem = ?, created_at = ?, activated_at = ?, "
                  "not_after = ? WHERE key_id = ?"));
      Stmt q = Use(raw);
      q.Text(r.kind);
      q.Text(r.state);
      q.Text(r.chain_pem);
      q.Blob(key);
      q.Int(r.created_at);
      q.Int(r.activated_at);
      q.Int(r.not_after);
      q.Text(r.key_id);
      AZTP_RETURN_IF_ERROR(q.Run("update ca key"));
      if (sqlite3_changes(conn_.db()) > 0) return Ok();
    }
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("INSERT INTO ca_keys (key_id, kind, state, chain_pem, "
                "key_pem, created_at, activated_at, not_after) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    Stmt q = Use(raw);
    q.Text(r.key_id);
    q.Text(r.kind);
    q.Text(r.state);
    q.Text(r.chain_pem);
    q.Blob(key);
    q.Int(r.created_at);
    q.Int(r.activated_at);
    q.Int(r.not_after);
    return q.Run("insert ca key");
  }

  Result<std::vector<CaKeyRecord>> ListCaKeys() override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("SELECT key_id, state, chain_pem, key_pem, created_at, "
                "not_after, kind, activated_at FROM ca_keys "
                "ORDER BY created_at, key_id"));
    Stmt q = Use(raw);
    std::vector<CaKeyRecord> out;
    while (true) {
      AZTP_ASSIGN_OR_RETURN(bool row, q.Step("list ca keys"));
      if (!row) break;
      CaKeyRecord r;
      r.key_id = ColumnText(q.get(), 0);
      r.state = ColumnText(q.get(), 1);
      r.chain_pem = ColumnText(q.get(), 2);
      // Copied straight from SQLite's buffer into SecretBytes: no other
      // copy of the key exists on our side.
      const void* key = sqlite3_column_blob(q.get(), 3);
      const int key_size = sqlite3_column_bytes(q.get(), 3);
      if (key != nullptr && key_size > 0) {
        r.key_pem = SecretBytes(
            std::span<const uint8_t>(static_cast<const uint8_t*>(key),
                                     static_cast<std::size_t>(key_size)));
      }
      r.created_at = sqlite3_column_int64(q.get(), 4);
      r.not_after = sqlite3_column_int64(q.get(), 5);
      r.kind = ColumnText(q.get(), 6);
      r.activated_at = sqlite3_column_int64(q.get(), 7);
      out.push_back(std::move(r));
    }
    return out;
  }

  Status DeleteCaKey(const std::string& key_id) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    AZTP_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          Prepare("DELETE FROM ca_keys WHERE key_id = ?"));
    Stmt q = Use(raw);
    q.Text(key_id);
    AZTP_RETURN_IF_ERROR(q.Run("delete ca key"));
    if (sqlite3_changes(conn_.db()) == 0) {
      return Error(Code::kNotFound,
                   "store: CA key " + QuoteInput(key_id) + " does not exist");
    }
    return Ok();
  }

  // AppendAudit ignores r.seq, r.prev and r.hash: the record follows the
  // last one, which the write lock held since BEGIN IMMEDIATE makes
  // race-free.
  Result<int64_t> AppendAudit(const AuditRecord& r) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    AuditHead head;
    {
      AZTP_ASSIGN_OR_RETURN(
          sqlite3_stmt * raw,
          Prepare("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"));
      Stmt q = Use(raw);
      AZTP_ASSIGN_OR_RETURN(bool row, q.Step("audit head"));
      if (row) {
        head.seq = sqlite3_column_int64(q.get(), 0);
        head.hash = ColumnText(q.get(), 1);
      }
    }
    AuditRecord sealed = r;
    SealAudit(sealed, head.seq + 1, head.hash);
    AZTP_RETURN_IF_ERROR(InsertAudit("audit", "", sealed));
    return sealed.seq;
  }

  Result<AuditHead> ShippedAuditHead(const std::string& source) override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("SELECT seq, hash FROM shipped_audit WHERE source = ? "
                "ORDER BY seq DESC LIMIT 1"));
    Stmt q = Use(raw);
    q.Text(source);
    AuditHead head;
    AZTP_ASSIGN_OR_RETURN(bool row, q.Step("shipped audit head"));
    if (row) {
      head.seq = sqlite3_column_int64(q.get(), 0);
      head.hash = ColumnText(q.get(), 1);
    }
    return head;
  }

  Status AppendShippedAudit(const std::string& source,
                            const AuditRecord& r) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    return InsertAudit("shipped_audit", source, r);
  }

  Result<std::vector<AuditRecord>> ListShippedAudit(const std::string& source,
                                                    int64_t after,
                                                    int limit) override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_RETURN_IF_ERROR(CheckLimit(limit));
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare(std::string("SELECT ") + kAuditColumns +
                " FROM shipped_audit WHERE source = ? AND seq > ? "
                "ORDER BY seq LIMIT ?"));
    Stmt q = Use(raw);
    q.Text(source);
    q.Int(after);
    q.Int(limit);
    return ReadAuditRows(q, "list shipped audit");
  }

  Result<std::vector<std::string>> ListAuditSources() override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("SELECT DISTINCT source FROM shipped_audit ORDER BY source"));
    Stmt q = Use(raw);
    std::vector<std::string> out;
    while (true) {
      AZTP_ASSIGN_OR_RETURN(bool row, q.Step("list audit sources"));
      if (!row) break;
      out.push_back(ColumnText(q.get(), 0));
    }
    return out;
  }

  Result<std::vector<AuditRecord>> ListAudit(int64_t after,
                                             int limit) override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_RETURN_IF_ERROR(CheckLimit(limit));
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare(std::string("SELECT ") + kAuditColumns +
                " FROM audit WHERE seq > ? ORDER BY seq LIMIT ?"));
    Stmt q = Use(raw);
    q.Int(after);
    q.Int(limit);
    return ReadAuditRows(q, "list audit");
  }

  Status PutFederation(const FederationRecord& r) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    if (r.trust_domain.empty()) {
      return Error(Code::kInvalidArgument,
                   "store: federation trust domain is empty");
    }
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare(
            "INSERT INTO federations (trust_domain, endpoint_url, "
            "profile, endpoint_id, bootstrap_bundle, web_ca_pem, "
            "created_at, revocations_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    Stmt q = Use(raw);
    q.Text(r.trust_domain);
    q.Text(r.endpoint_url);
    q.Text(r.profile);
    q.Text(r.endpoint_id);
    q.Text(r.bootstrap_bundle);
    q.Text(r.web_ca_pem);
    q.Int(r.created_at);
    q.Text(r.revocations_url);
    return q.Run("insert federation");
  }

  Result<std::vector<FederationRecord>> ListFederations() override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("SELECT trust_domain, endpoint_url, profile, endpoint_id, "
                "bootstrap_bundle, web_ca_pem, created_at, revocations_url "
                "FROM federations ORDER BY trust_domain"));
    Stmt q = Use(raw);
    std::vector<FederationRecord> out;
    while (true) {
      AZTP_ASSIGN_OR_RETURN(bool row, q.Step("list federations"));
      if (!row) break;
      FederationRecord r;
      r.trust_domain = ColumnText(q.get(), 0);
      r.endpoint_url = ColumnText(q.get(), 1);
      r.profile = ColumnText(q.get(), 2);
      r.endpoint_id = ColumnText(q.get(), 3);
      r.bootstrap_bundle = ColumnText(q.get(), 4);
      r.web_ca_pem = ColumnText(q.get(), 5);
      r.created_at = sqlite3_column_int64(q.get(), 6);
      r.revocations_url = ColumnText(q.get(), 7);
      out.push_back(std::move(r));
    }
    return out;
  }

  Status DeleteFederation(const std::string& trust_domain) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    AZTP_RETURN_IF_ERROR(DeleteFederatedBundle(trust_domain));
    AZTP_RETURN_IF_ERROR(DeleteFederatedRevocations(trust_domain));
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("DELETE FROM federations WHERE trust_domain = ?"));
    Stmt q = Use(raw);
    q.Text(trust_domain);
    AZTP_RETURN_IF_ERROR(q.Run("delete federation"));
    if (sqlite3_changes(conn_.db()) == 0) {
      return Error(Code::kNotFound,
                   "store: no federation with " + QuoteInput(trust_domain));
    }
    return Ok();
  }

  Status PutFederatedBundle(const FederatedBundleRecord& r) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("INSERT INTO federated_bundles (trust_domain, bundle, "
                "updated_at) VALUES (?, ?, ?) ON CONFLICT (trust_domain) "
                "DO UPDATE SET bundle = excluded.bundle, "
                "updated_at = excluded.updated_at"));
    Stmt q = Use(raw);
    q.Text(r.trust_domain);
    q.Text(r.bundle);
    q.Int(r.updated_at);
    return q.Run("put federated bundle");
  }

  Result<std::vector<FederatedBundleRecord>> ListFederatedBundles() override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("SELECT trust_domain, bundle, updated_at FROM "
                "federated_bundles ORDER BY trust_domain"));
    Stmt q = Use(raw);
    std::vector<FederatedBundleRecord> out;
    while (true) {
      AZTP_ASSIGN_OR_RETURN(bool row, q.Step("list federated bundles"));
      if (!row) break;
      FederatedBundleRecord r;
      r.trust_domain = ColumnText(q.get(), 0);
      r.bundle = ColumnText(q.get(), 1);
      r.updated_at = sqlite3_column_int64(q.get(), 2);
      out.push_back(std::move(r));
    }
    return out;
  }

  // DeleteFederatedBundle succeeds when there was nothing to delete.
  Status DeleteFederatedBundle(const std::string& trust_domain) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("DELETE FROM federated_bundles WHERE trust_domain = ?"));
    Stmt q = Use(raw);
    q.Text(trust_domain);
    return q.Run("delete federated bundle");
  }

  Status PutFederatedRevocations(const FederatedRevocationsRecord& r) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("INSERT INTO federated_revocations (trust_domain, list, "
                "updated_at) VALUES (?, ?, ?) ON CONFLICT (trust_domain) "
                "DO UPDATE SET list = excluded.list, "
                "updated_at = excluded.updated_at"));
    Stmt q = Use(raw);
    q.Text(r.trust_domain);
    q.Text(r.list);
    q.Int(r.updated_at);
    return q.Run("put federated revocations");
  }

  Result<std::vector<FederatedRevocationsRecord>> ListFederatedRevocations()
      override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("SELECT trust_domain, list, updated_at FROM "
                "federated_revocations ORDER BY trust_domain"));
    Stmt q = Use(raw);
    std::vector<FederatedRevocationsRecord> out;
    while (true) {
      AZTP_ASSIGN_OR_RETURN(bool row, q.Step("list federated revocations"));
      if (!row) break;
      FederatedRevocationsRecord r;
      r.trust_domain = ColumnText(q.get(), 0);
      r.list = ColumnText(q.get(), 1);
      r.updated_at = sqlite3_column_int64(q.get(), 2);
      out.push_back(std::move(r));
    }
    return out;
  }

  // DeleteFederatedRevocations succeeds when there was nothing to delete.
  Status DeleteFederatedRevocations(const std::string& trust_domain) {
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("DELETE FROM federated_revocations WHERE trust_domain = ?"));
    Stmt q = Use(raw);
    q.Text(trust_domain);
    return q.Run("delete federated revocations");
  }

  Status PutPolicy(const PolicyRecord& r) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    if (r.id.empty() || r.name.empty() || r.version < 1) {
      return Error(Code::kInvalidArgument,
                   "store: a policy needs an ID, a name and a version >= 1");
    }
    std::optional<int64_t> current;
    {
      AZTP_ASSIGN_OR_RETURN(
          sqlite3_stmt * raw,
          Prepare("SELECT version FROM policies WHERE id = ?"));
      Stmt q = Use(raw);
      q.Text(r.id);
      AZTP_ASSIGN_OR_RETURN(bool row, q.Step("find policy"));
      if (row) current = sqlite3_column_int64(q.get(), 0);
    }
    if (r.version != current.value_or(0) + 1) {
      return Error(Code::kAlreadyExists,
                   "store: policy " + QuoteInput(r.id) + " is at version " +
                       std::to_string(current.value_or(0)) + ", not " +
                       std::to_string(r.version - 1));
    }
    {
      AZTP_ASSIGN_OR_RETURN(
          sqlite3_stmt * raw,
          Prepare(current ? "UPDATE policies SET name = ?, description = ?, "
                            "version = ?, updated_at = ? WHERE id = ?"
                          : "INSERT INTO policies (name, description, "
                            "version, updated_at, id, created_at) VALUES "
                            "(?, ?, ?, ?, ?, ?)"));
      Stmt q = Use(raw);
      q.Text(r.name);
      q.Text(r.description);
      q.Int(r.version);
      q.Int(r.updated_at);
      q.Text(r.id);
      if (!current) q.Int(r.created_at);
      AZTP_RETURN_IF_ERROR(q.Run("put policy"));
    }
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("INSERT INTO policy_versions (id, version, document, "
                "created_at) VALUES (?, ?, ?, ?)"));
    Stmt q = Use(raw);
    q.Text(r.id);
    q.Int(r.version);
    q.Text(r.document);
    q.Int(r.updated_at);
    return q.Run("insert policy version");
  }

  Result<std::optional<PolicyRecord>> GetPolicy(
      const std::string& id, std::optional<int64_t> version) override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare(std::string(kPolicySelect) +
                " WHERE p.id = ? AND v.version = CASE WHEN ? = 0 THEN "
                "p.version ELSE ? END"));
    Stmt q = Use(raw);
    q.Text(id);
    q.Int(version.value_or(0));
    q.Int(version.value_or(0));
    AZTP_ASSIGN_OR_RETURN(bool row, q.Step("get policy"));
    if (!row) return std::optional<PolicyRecord>();
    return std::optional<PolicyRecord>(ReadPolicy(q.get()));
  }

  Result<std::vector<PolicyRecord>> ListPolicies() override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare(std::string(kPolicySelect) +
                " WHERE v.version = p.version ORDER BY p.id"));
    Stmt q = Use(raw);
    return Rows<PolicyRecord>(q, "list policies", ReadPolicy);
  }

  Status DeletePolicy(const std::string& id) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    return DeleteOne("DELETE FROM policies WHERE id = ?", {id},
                     "policy " + QuoteInput(id));
  }

  Status AttachPolicy(const std::string& identity, const std::string& policy_id,
                      UnixTime now) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    AZTP_ASSIGN_OR_RETURN(
        bool known,
        Exists("SELECT 1 FROM policies WHERE id = ?", policy_id, "policy"));
    if (!known) {
      return Error(Code::kNotFound,
                   "store: no policy " + QuoteInput(policy_id));
    }
    AZTP_ASSIGN_OR_RETURN(bool exists, IdentityExists(identity));
    if (!exists) {
      return Error(Code::kNotFound,
                   "store: no identity " + QuoteInput(identity));
    }
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("INSERT INTO policy_attachments (identity, policy_id, "
                "created_at) VALUES (?, ?, ?)"));
    Stmt q = Use(raw);
    q.Text(identity);
    q.Text(policy_id);
    q.Int(now);
    return q.Run("attach policy");
  }

  Status DetachPolicy(const std::string& identity,
                      const std::string& policy_id) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    return DeleteOne(
        "DELETE FROM policy_attachments WHERE identity = ? AND policy_id = ?",
        {identity, policy_id},
        "attachment of " + QuoteInput(policy_id) + " to " +
            QuoteInput(identity));
  }

  Result<std::vector<PolicyRecord>> ListAttachedPolicies(
      const std::string& identity) override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare(std::string(kPolicySelect) +
                " JOIN policy_attachments a ON a.policy_id = p.id "
                "WHERE a.identity = ? AND v.version = p.version "
                "ORDER BY p.id"));
    Stmt q = Use(raw);
    q.Text(identity);
    return Rows<PolicyRecord>(q, "list attached policies", ReadPolicy);
  }

  Result<std::vector<std::string>> ListPolicyAttachments(
      const std::string& policy_id) override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("SELECT identity FROM policy_attachments WHERE policy_id = ? "
                "ORDER BY identity"));
    Stmt q = Use(raw);
    q.Text(policy_id);
    return Rows<std::string>(q, "list policy attachments",
                             [](sqlite3_stmt* s) { return ColumnText(s, 0); });
  }

  Status PutFlow(const FlowRecord& r) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    if (r.id.empty()) {
      return Error(Code::kInvalidArgument, "store: flow ID is empty");
    }
    AZTP_ASSIGN_OR_RETURN(std::string tags,
                          EncodeJson(r.tags, "flow tags", kMaxMetadataBytes));
    AZTP_ASSIGN_OR_RETURN(
        std::string metadata,
        EncodeJson(r.metadata, "flow metadata", kMaxMetadataBytes));
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("INSERT INTO flows (id, name, description, discoverable, "
                "tags, metadata, created_by, created_at, updated_at) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "name = excluded.name, description = excluded.description, "
                "discoverable = excluded.discoverable, tags = excluded.tags, "
                "metadata = excluded.metadata, "
                "updated_at = excluded.updated_at"));
    Stmt q = Use(raw);
    q.Text(r.id);
    q.Text(r.name);
    q.Text(r.description);
    q.Text(r.discoverable);
    q.Text(tags);
    q.Text(metadata);
    q.Text(r.created_by);
    q.Int(r.created_at);
    q.Int(r.updated_at);
    return q.Run("put flow");
  }

  Result<std::optional<FlowRecord>> GetFlow(const std::string& id) override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          Prepare(std::string(kFlowSelect) + " WHERE id = ?"));
    Stmt q = Use(raw);
    q.Text(id);
    AZTP_ASSIGN_OR_RETURN(bool row, q.Step("get flow"));
    if (!row) return std::optional<FlowRecord>();
    AZTP_ASSIGN_OR_RETURN(FlowRecord r, ReadFlow(q.get()));
    return std::optional<FlowRecord>(std::move(r));
  }

  Result<std::vector<FlowRecord>> ListFlows() override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          Prepare(std::string(kFlowSelect) + " ORDER BY id"));
    Stmt q = Use(raw);
    std::vector<FlowRecord> out;
    while (true) {
      AZTP_ASSIGN_OR_RETURN(bool row, q.Step("list flows"));
      if (!row) break;
      AZTP_ASSIGN_OR_RETURN(FlowRecord r, ReadFlow(q.get()));
      out.push_back(std::move(r));
    }
    return out;
  }

  Status DeleteFlow(const std::string& id) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    return DeleteOne("DELETE FROM flows WHERE id = ?", {id},
                     "flow " + QuoteInput(id));
  }

  Status PutFlowMember(const FlowMemberRecord& r) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("INSERT INTO flow_members (flow_id, identity, status, reason, "
                "added_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (flow_id, identity) DO UPDATE SET "
                "status = excluded.status, reason = excluded.reason, "
                "updated_at = excluded.updated_at"));
    Stmt q = Use(raw);
    q.Text(r.flow_id);
    q.Text(r.identity);
    q.Text(r.status);
    q.Text(r.reason);
    q.Int(r.added_at);
    q.Int(r.updated_at);
    return q.Run("put flow member");
  }

  Result<std::optional<FlowMemberRecord>> GetFlowMember(
      const std::string& flow_id, const std::string& identity) override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          Prepare(std::string(kFlowMemberSelect) +
                                  " WHERE flow_id = ? AND identity = ?"));
    Stmt q = Use(raw);
    q.Text(flow_id);
    q.Text(identity);
    AZTP_ASSIGN_OR_RETURN(bool row, q.Step("get flow member"));
    if (!row) return std::optional<FlowMemberRecord>();
    return std::optional<FlowMemberRecord>(ReadFlowMember(q.get()));
  }

  Result<std::vector<FlowMemberRecord>> ListFlowMembers(
      const std::string& flow_id) override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          Prepare(std::string(kFlowMemberSelect) +
                                  " WHERE flow_id = ? ORDER BY identity"));
    Stmt q = Use(raw);
    q.Text(flow_id);
    return Rows<FlowMemberRecord>(q, "list flow members", ReadFlowMember);
  }

  Status DeleteFlowMember(const std::string& flow_id,
                          const std::string& identity) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    return DeleteOne(
        "DELETE FROM flow_members WHERE flow_id = ? AND identity = ?",
        {flow_id, identity},
        QuoteInput(identity) + " in flow " + QuoteInput(flow_id));
  }

  Result<std::optional<int64_t>> GetMeta(const std::string& name) override {
    AZTP_RETURN_IF_ERROR(CanRead());
    AZTP_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          Prepare("SELECT \"value\" FROM meta WHERE name = ?"));
    Stmt q = Use(raw);
    q.Text(name);
    AZTP_ASSIGN_OR_RETURN(bool row, q.Step("get meta"));
    if (!row) return std::optional<int64_t>();
    return std::optional<int64_t>(sqlite3_column_int64(q.get(), 0));
  }

  Status PutMeta(const std::string& name, int64_t value) override {
    AZTP_RETURN_IF_ERROR(CanWrite());
    {
      AZTP_ASSIGN_OR_RETURN(
          sqlite3_stmt * raw,
          Prepare("UPDATE meta SET \"value\" = ? WHERE name = ?"));
      Stmt q = Use(raw);
      q.Int(value);
      q.Text(name);
      AZTP_RETURN_IF_ERROR(q.Run("update meta"));
      if (sqlite3_changes(conn_.db()) > 0) return Ok();
    }
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("INSERT INTO meta (name, \"value\") VALUES (?, ?)"));
    Stmt q = Use(raw);
    q.Text(name);
    q.Int(value);
    return q.Run("insert meta");
  }

 private:
  Stmt Use(sqlite3_stmt* raw) { return Stmt(conn_.db(), raw, &broken_); }

  // InsertAudit writes a sealed record into `table` ("audit", or
  // "shipped_audit" under `source`).
  Status InsertAudit(const std::string& table, const std::string& source,
                     const AuditRecord& r) {
    AZTP_ASSIGN_OR_RETURN(
        std::string details,
        EncodeJson(r.details, "audit details", kMaxJsonBytes));
    const bool shipped = table != "audit";
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("INSERT INTO " + table + " (" + (shipped ? "source, " : "") +
                kAuditColumns + ") VALUES (" + (shipped ? "?, " : "") +
                "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    Stmt q = Use(raw);
    if (shipped) q.Text(source);
    q.Int(r.seq);
    q.Int(r.time);
    q.Text(r.actor);
    q.Text(r.action);
    q.Text(r.subject);
    q.Text(r.decision);
    q.Text(r.reason);
    q.Text(r.txn);
    q.Text(details);
    q.Text(r.prev);
    q.Text(r.hash);
    return q.Run(shipped ? "append shipped audit" : "append audit");
  }

  Result<std::vector<AuditRecord>> ReadAuditRows(Stmt& q,
                                                 std::string_view what) {
    std::vector<AuditRecord> out;
    while (true) {
      AZTP_ASSIGN_OR_RETURN(bool row, q.Step(what));
      if (!row) break;
      AZTP_ASSIGN_OR_RETURN(AuditRecord r, ReadAudit(q.get()));
      out.push_back(std::move(r));
    }
    return out;
  }

  // Prepare returns the connection's cached statement; a failure breaks the
  // transaction like any other SQLite error.
  Result<sqlite3_stmt*> Prepare(const std::string& sql) {
    Result<sqlite3_stmt*> stmt = conn_.Prepare(sql);
    if (!stmt.has_value() && !broken_) broken_ = stmt.error();
    return stmt;
  }

  Status CanRead() const { return Broken(); }
  Status CanWrite() const {
    AZTP_RETURN_IF_ERROR(Broken());
    if (!writable_) {
      return Error(Code::kUnsupported,
                   "store: a Read transaction cannot modify the store");
    }
    return Ok();
  }

  // Rows reads every row of `q` with `read`.
  template <typename T, typename Read>
  Result<std::vector<T>> Rows(Stmt& q, std::string_view what, Read read) {
    std::vector<T> out;
    while (true) {
      AZTP_ASSIGN_OR_RETURN(bool row, q.Step(what));
      if (!row) break;
      out.push_back(read(q.get()));
    }
    return out;
  }
  // DeleteOne runs a DELETE of one row keyed by `keys`; kNotFound names
  // `what` when there was none.
  Status DeleteOne(const char* sql, std::initializer_list<std::string> keys,
                   const std::string& what) {
    AZTP_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(sql));
    Stmt q = Use(raw);
    for (const std::string& k : keys) q.Text(k);
    AZTP_RETURN_IF_ERROR(q.Run("delete"));
    if (sqlite3_changes(conn_.db()) == 0) {
      return Error(Code::kNotFound, "store: no " + what);
    }
    return Ok();
  }

  Result<bool> Exists(const char* sql, const std::string& key,
                      std::string_view what) {
    AZTP_ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(sql));
    Stmt q = Use(raw);
    q.Text(key);
    return q.Step(what);
  }
  Result<bool> IdentityExists(const std::string& id) {
    return Exists("SELECT 1 FROM identities WHERE id = ?", id, "find identity");
  }

  static Status CheckIdentity(const IdentityRecord& r) {
    if (r.id.empty()) {
      return Error(Code::kInvalidArgument, "store: identity ID is empty");
    }
    if (r.parent && *r.parent == r.id) {
      return Error(
          Code::kInvalidArgument,
          "store: identity " + QuoteInput(r.id) + " cannot be its own parent");
    }
    return Ok();
  }
  Status CheckParent(const IdentityRecord& r) {
    if (!r.parent) return Ok();
    AZTP_ASSIGN_OR_RETURN(bool exists, IdentityExists(*r.parent));
    if (!exists) {
      return Error(Code::kInvalidArgument,
                   "store: parent " + QuoteInput(*r.parent) + " of identity " +
                       QuoteInput(r.id) + " does not exist");
    }
    return Ok();
  }
  static Result<std::optional<std::string>> EncodeDomains(
      const std::optional<std::vector<std::string>>& domains) {
    if (!domains) return std::optional<std::string>();
    Json array = Json::array();
    for (const std::string& d : *domains) array.push_back(d);
    AZTP_ASSIGN_OR_RETURN(std::string text,
                          EncodeJson(array, "federates_with", kMaxJsonBytes));
    return std::optional<std::string>(std::move(text));
  }
  static Result<std::string> EncodeSelectors(
      const std::vector<std::string>& selectors) {
    Json array = Json::array();
    for (const std::string& s : selectors) array.push_back(s);
    return EncodeJson(array, "selectors", kMaxJsonBytes);
  }

  Connection& conn_;
  const bool writable_;
  std::optional<Error> broken_;
};

// Callbacks running on this thread, innermost last: a callback that opens
// another transaction on the same Store would deadlock (Write) or read
// around its own uncommitted changes (Read), so that is refused.
thread_local std::vector<const Store*> t_active_stores;

class ActiveScope {
 public:
  explicit ActiveScope(const Store* store) { t_active_stores.push_back(store); }
  ~ActiveScope() { t_active_stores.pop_back(); }
  ActiveScope(const ActiveScope&) = delete;
  ActiveScope& operator=(const ActiveScope&) = delete;

  static bool IsActive(const Store* store) {
    return std::find(t_active_stores.begin(), t_active_stores.end(), store) !=
           t_active_stores.end();
  }
};

// RunTransaction runs `fn` between `begin` and COMMIT on `conn`, rolling
// back when fn fails, breaks the transaction, or throws.
Status RunTransaction(Connection& conn, const char* begin, bool writable,
                      const std::function<Status(Transaction&)>& fn) {
  conn.EndAnyTransaction();
  AZTP_RETURN_IF_ERROR(conn.Exec(begin, "begin"));
  struct RollbackUnlessCommitted {
    Connection& conn;
    ~RollbackUnlessCommitted() { conn.EndAnyTransaction(); }
  } guard{conn};
  SqliteTransaction txn(conn, writable);
  Status status = fn(txn);
  if (!status.has_value()) return status;
  AZTP_RETURN_IF_ERROR(txn.Broken());
  return conn.Exec("COMMIT", "commit");
}

class SqliteStore final : public Store {
 public:
  SqliteStore(std::unique_ptr<Connection> writer, std::string path, bool shared)
      : writer_(std::move(writer)), path_(std::move(path)), shared_(shared) {}

  ~SqliteStore() override {
    idle_.clear();
    writer_.reset();
  }

  Status Write(const std::function<Status(Transaction&)>& fn) override {
    if (ActiveScope::IsActive(this)) return Nested();
    ActiveScope scope(this);
    std::lock_guard<std::mutex> lock(write_mu_);
    return RunTransaction(*writer_, "BEGIN IMMEDIATE", /*writable=*/true, fn);
  }

  Status Read(const std::function<Status(Transaction&)>& fn) override {
    if (ActiveScope::IsActive(this)) return Nested();
    ActiveScope scope(this);
    if (shared_) {
      // An in-memory database exists only in its one connection.
      std::lock_guard<std::mutex> lock(write_mu_);
      return RunTransaction(*writer_, "BEGIN", /*writable=*/false, fn);
    }
    AZTP_ASSIGN_OR_RETURN(std::unique_ptr<Connection> reader, AcquireReader());
    // The connection returns to the pool even when fn throws.
    struct Lease {
      SqliteStore& store;
      std::unique_ptr<Connection> conn;
      ~Lease() { store.ReleaseReader(std::move(conn)); }
    } lease{*this, std::move(reader)};
    return RunTransaction(*lease.conn, "BEGIN", /*writable=*/false, fn);
  }

 private:
  static Error Nested() {
    return Error(Code::kUnsupported,
                 "store: a transaction callback cannot open another "
                 "transaction on the same store");
  }

  Result<std::unique_ptr<Connection>> AcquireReader() {
    {
      std::unique_lock<std::mutex> lock(pool_mu_);
      pool_cv_.wait(
          lock, [this] { return !idle_.empty() || readers_ < kMaxReaders; });
      if (!idle_.empty()) {
        std::unique_ptr<Connection> reader = std::move(idle_.back());
        idle_.pop_back();
        return reader;
      }
      ++readers_;
    }
    Result<std::unique_ptr<Connection>> reader =
        Connection::Open(path_, /*writer=*/false);
    if (!reader.has_value()) {
      std::lock_guard<std::mutex> lock(pool_mu_);
      --readers_;
      pool_cv_.notify_one();
    }
    return reader;
  }

  void ReleaseReader(std::unique_ptr<Connection> reader) {
    std::lock_guard<std::mutex> lock(pool_mu_);
    idle_.push_back(std::move(reader));
    pool_cv_.notify_one();
  }

  std::mutex write_mu_;
  std::unique_ptr<Connection> writer_;
  const std::string path_;
  const bool shared_;

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t readers_ = 0;  // open reader connections, idle or in use
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

// Migrate brings the schema of `conn` to kLatestVersion, applying each
// missing migration in its own IMMEDIATE transaction (so that two processes
// opening the same new file apply each migration once).
Status Migrate(Connection& conn) {
  AZTP_RETURN_IF_ERROR(
      conn.Exec("BEGIN IMMEDIATE;"
                "CREATE TABLE IF NOT EXISTS schema_version ("
                "  version INTEGER NOT NULL PRIMARY KEY,"
                "  description TEXT NOT NULL,"
                "  applied_at INTEGER NOT NULL"
                ");"
                "COMMIT;",
                "create schema_version"));
  {
    AZTP_ASSIGN_OR_RETURN(
        std::string newest,
        conn.QueryValue(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version"));
    if (std::atoll(newest.c_str()) > kLatestVersion) {
      return Error(Code::kUnsupported,
                   "store: database schema version " + newest +
                       " is newer than this program supports (" +
                       std::to_string(kLatestVersion) + ")");
    }
  }
  for (const Migration& m : kMigrations) {
    conn.EndAnyTransaction();
    AZTP_RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE", "begin migration"));
    struct RollbackUnlessCommitted {
      Connection& conn;
      ~RollbackUnlessCommitted() { conn.EndAnyTransaction(); }
    } guard{conn};
    const std::string context =
        "migration " + std::to_string(m.version) + " (" + m.description + ")";
    AZTP_ASSIGN_OR_RETURN(
        sqlite3_stmt * find,
        conn.Prepare("SELECT 1 FROM schema_version WHERE version = ?"));
    bool applied = false;
    {
      Stmt q(conn.db(), find, nullptr);
      q.Int(m.version);
      AZTP_ASSIGN_OR_RETURN(applied, q.Step(context));
    }
    if (!applied) {
      AZTP_RETURN_IF_ERROR(conn.Exec(m.sql, context));
      if (m.then != nullptr) AZTP_RETURN_IF_ERROR(m.then(conn));
      AZTP_ASSIGN_OR_RETURN(
          sqlite3_stmt * record,
          conn.Prepare("INSERT INTO schema_version (version, description, "
                       "applied_at) VALUES (?, ?, ?)"));
      Stmt q(conn.db(), record, nullptr);
      q.Int(m.version);
      q.Text(m.description);
      q.Int(SystemClock::Default().Now());
      AZTP_RETURN_IF_ERROR(q.Run(context));
    }
    AZTP_RETURN_IF_ERROR(conn.Exec("COMMIT", context));
  }
  return Ok();
}

bool MigrationsAreOrdered() {
  int expected = 1;
  for (const Migration& m : kMigrations) {
    if (m.version != expected++) return false;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStoreReadOnly(
    const std::string& path) {
  if (path.empty() || path == ":memory:") {
    return Error(Code::kInvalidArgument,
                 "store: a read-only store needs a file");
  }
  // A reader never creates the file, and is query-only.
  AZTP_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn,
                        Connection::Open(path, /*writer=*/false));
  AZTP_ASSIGN_OR_RETURN(
      std::string version,
      conn->QueryValue("SELECT COALESCE(MAX(version), 0) FROM schema_version"));
  if (std::atoll(version.c_str()) != kLatestVersion) {
    return Error(Code::kUnsupported,
                 "store: " + path + " has schema version " + version +
                     ", this program reads version " +
                     std::to_string(kLatestVersion) +
                     " (let the daemon that owns it upgrade it first)");
  }
  return std::unique_ptr<Store>(
      new SqliteStore(std::move(conn), path, /*shared=*/false));
}

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  if (!MigrationsAreOrdered()) {
    return Error(Code::kInternal, "store: migrations are misnumbered");
  }
  if (sqlite3_threadsafe() == 0) {
    return Error(Code::kUnsupported,
                 "store: the SQLite library was built without thread support");
  }
  const bool in_memory = path.empty() || path == ":memory:";
  if (!in_memory) AZTP_RETURN_IF_ERROR(CreatePrivateFile(path));
  AZTP_ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer,
                        Connection::Open(path, /*writer=*/true));
  AZTP_RETURN_IF_ERROR(Migrate(*writer));
  return std::unique_ptr<Store>(
      new SqliteStore(std::move(writer), path, in_memory));
}

}  // namespace aztp

// The SQLite store's schema: numbered migrations, each applied at most
// once in its own transaction and recorded in schema_version.
#include "store/sqlite_migrations.h"

#include <cstdlib>
#include <iterator>
#include <string>

#include "aztp/base/clock.h"
#include "store/sql_repositories.h"
#include "store/sqlite_connection.h"

namespace aztp::internal {
namespace {

// A Migration moves the schema from version - 1 to version. Migrations are
// never edited once released: a change is a new migration appended here.
// Their SQL runs inside a transaction opened by Migrate and must not open or
// end one itself.
struct Migration {
  int version;
  const char* description;
  const char* sql;
  // then, when set, runs after `sql` in the same transaction.
  Status (*then)(SqliteDb&) = nullptr;
};

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
     [](SqliteDb& db) {
       SqliteConnection connection(db);
       return ChainLegacyAudit(connection);
     }},
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
    // What replicas share beyond the records (coordination.h); SQLite has
    // one process, but the store's contract is the same.
    {8, "leases, single-use claims, tickets", R"sql(
CREATE TABLE leases (
  name TEXT NOT NULL PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  term INTEGER NOT NULL
);
CREATE TABLE claims (
  "key" TEXT NOT NULL PRIMARY KEY,
  expires_at INTEGER NOT NULL
);
CREATE TABLE tickets (
  kind TEXT NOT NULL,
  "key" TEXT NOT NULL,
  owner TEXT NOT NULL,
  body BLOB NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (kind, "key")
);
CREATE INDEX tickets_owner ON tickets (kind, owner);
)sql"},
    // Deltas of the revocation list start at the sequence of the upgrade
    // (services/revocations.h).
    {9, "revocation changes", R"sql(
CREATE TABLE revocation_changes (
  id TEXT NOT NULL PRIMARY KEY REFERENCES identities (id),
  seq INTEGER NOT NULL
);
CREATE INDEX revocation_changes_seq ON revocation_changes (seq);
INSERT INTO meta (name, "value")
  SELECT 'revocation_changes_from', "value" FROM meta
  WHERE name = 'revocation_sequence';
)sql"},
};

constexpr int kLatestVersion = kMigrations[std::size(kMigrations) - 1].version;

bool MigrationsAreOrdered() {
  int expected = 1;
  for (const Migration& m : kMigrations) {
    if (m.version != expected++) return false;
  }
  return true;
}

Result<int64_t> SchemaVersion(SqliteDb& db) {
  AZTP_ASSIGN_OR_RETURN(
      std::string version,
      db.QueryValue("SELECT COALESCE(MAX(version), 0) FROM schema_version"));
  return std::atoll(version.c_str());
}

// Apply applies `m` unless schema_version says it was, in its own
// IMMEDIATE transaction (so that two processes opening the same new file
// apply each migration once).
Status Apply(SqliteDb& db, const Migration& m) {
  db.EndAnyTransaction();
  AZTP_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE", "begin migration"));
  struct RollbackUnlessCommitted {
    SqliteDb& db;
    ~RollbackUnlessCommitted() { db.EndAnyTransaction(); }
  } guard{db};
  const std::string context =
      "migration " + std::to_string(m.version) + " (" + m.description + ")";
  SqliteConnection connection(db);
  SqlSession s(connection, /*writable=*/true);
  bool applied = false;
  {
    AZTP_ASSIGN_OR_RETURN(
        SqlStmt q, s.Query("SELECT 1 FROM schema_version WHERE version = ?"));
    q.Int(m.version);
    AZTP_ASSIGN_OR_RETURN(applied, q.Step(context));
  }
  if (!applied) {
    AZTP_RETURN_IF_ERROR(db.Exec(m.sql, context));
    if (m.then != nullptr) AZTP_RETURN_IF_ERROR(m.then(db));
    AZTP_ASSIGN_OR_RETURN(
        SqlStmt q, s.Query("INSERT INTO schema_version (version, description, "
                           "applied_at) VALUES (?, ?, ?)"));
    q.Int(m.version);
    q.Text(m.description);
    q.Int(SystemClock::Default().Now());
    AZTP_RETURN_IF_ERROR(q.Run(context));
  }
  return db.Exec("COMMIT", context);
}

}  // namespace

Status Migrate(SqliteDb& db) {
  if (!MigrationsAreOrdered()) {
    return Error(Code::kInternal, "store: migrations are misnumbered");
  }
  AZTP_RETURN_IF_ERROR(
      db.Exec("BEGIN IMMEDIATE;"
              "CREATE TABLE IF NOT EXISTS schema_version ("
              "  version INTEGER NOT NULL PRIMARY KEY,"
              "  description TEXT NOT NULL,"
              "  applied_at INTEGER NOT NULL"
              ");"
              "COMMIT;",
              "create schema_version"));
  AZTP_ASSIGN_OR_RETURN(int64_t newest, SchemaVersion(db));
  if (newest > kLatestVersion) {
    return Error(Code::kUnsupported,
                 "store: database schema version " + std::to_string(newest) +
                     " is newer than this program supports (" +
                     std::to_string(kLatestVersion) + ")");
  }
  for (const Migration& m : kMigrations) {
    AZTP_RETURN_IF_ERROR(Apply(db, m));
  }
  return Ok();
}

Status CheckSchemaIsLatest(SqliteDb& db, const std::string& path) {
  AZTP_ASSIGN_OR_RETURN(int64_t version, SchemaVersion(db));
  if (version != kLatestVersion) {
    return Error(Code::kUnsupported,
                 "store: " + path + " has schema version " +
                     std::to_string(version) + ", this program reads version " +
                     std::to_string(kLatestVersion) +
                     " (let the daemon that owns it upgrade it first)");
  }
  return Ok();
}

}  // namespace aztp::internal

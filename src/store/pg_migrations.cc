// The PostgreSQL store's schema: numbered migrations recorded in
// schema_version. Version 1 is the SQLite store's schema at its version 7
// and version 2 its version 8, with every string a bytea (byte-exact,
// compared byte-wise) and every integer a bigint. A change is a new
// migration appended here, never an edit of a released one.
#include "store/pg_migrations.h"

#include <iterator>
#include <string>

#include "aztp/base/clock.h"
#include "store/pg_locks.h"
#include "store/sql_session.h"

namespace aztp::internal {
namespace {

struct PgMigration {
  int version;
  const char* description;
  const char* sql;
};

constexpr PgMigration kPgMigrations[] = {
    {1, "the store's schema", R"sql(
CREATE TABLE identities (
  id BYTEA NOT NULL PRIMARY KEY,
  parent BYTEA NULL REFERENCES identities (id),
  "global" BIGINT NOT NULL,
  discoverable BIGINT NOT NULL,
  metadata BYTEA NOT NULL,
  selectors BYTEA NOT NULL,
  status BYTEA NOT NULL,
  revoked_reason BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  federates_with BYTEA NULL,
  revoked_by BYTEA NOT NULL
);
CREATE INDEX identities_parent ON identities (parent);
CREATE TABLE links (
  from_id BYTEA NOT NULL REFERENCES identities (id),
  to_id BYTEA NOT NULL REFERENCES identities (id),
  kind BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  metadata BYTEA NOT NULL,
  PRIMARY KEY (from_id, to_id, kind)
);
CREATE INDEX links_to_id ON links (to_id);
CREATE TABLE api_keys (
  key_id BYTEA NOT NULL PRIMARY KEY,
  salt BYTEA NOT NULL,
  hash BYTEA NOT NULL,
  scope BYTEA NOT NULL,
  description BYTEA NOT NULL,
  revoked BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE svids (
  serial BYTEA NOT NULL PRIMARY KEY,
  id BYTEA NOT NULL REFERENCES identities (id),
  issued_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX svids_id ON svids (id);
CREATE TABLE ca_keys (
  key_id BYTEA NOT NULL PRIMARY KEY,
  kind BYTEA NOT NULL,
  state BYTEA NOT NULL,
  chain_pem BYTEA NOT NULL,
  key_pem BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  activated_at BIGINT NOT NULL,
  not_after BIGINT NOT NULL
);
CREATE TABLE audit (
  seq BIGINT NOT NULL PRIMARY KEY,
  "time" BIGINT NOT NULL,
  actor BYTEA NOT NULL,
  action BYTEA NOT NULL,
  subject BYTEA NOT NULL,
  decision BYTEA NOT NULL,
  reason BYTEA NOT NULL,
  txn BYTEA NOT NULL,
  details BYTEA NOT NULL,
  prev BYTEA NOT NULL,
  hash BYTEA NOT NULL
);
CREATE INDEX audit_txn ON audit (txn);
CREATE TABLE shipped_audit (
  source BYTEA NOT NULL,
  seq BIGINT NOT NULL,
  "time" BIGINT NOT NULL,
  actor BYTEA NOT NULL,
  action BYTEA NOT NULL,
  subject BYTEA NOT NULL,
  decision BYTEA NOT NULL,
  reason BYTEA NOT NULL,
  txn BYTEA NOT NULL,
  details BYTEA NOT NULL,
  prev BYTEA NOT NULL,
  hash BYTEA NOT NULL,
  PRIMARY KEY (source, seq)
);
CREATE TABLE meta (
  name BYTEA NOT NULL PRIMARY KEY,
  "value" BIGINT NOT NULL
);
CREATE TABLE federations (
  trust_domain BYTEA NOT NULL PRIMARY KEY,
  endpoint_url BYTEA NOT NULL,
  profile BYTEA NOT NULL,
  endpoint_id BYTEA NOT NULL,
  bootstrap_bundle BYTEA NOT NULL,
  web_ca_pem BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  revocations_url BYTEA NOT NULL
);
CREATE TABLE federated_bundles (
  trust_domain BYTEA NOT NULL PRIMARY KEY,
  bundle BYTEA NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE federated_revocations (
  trust_domain BYTEA NOT NULL PRIMARY KEY,
  list BYTEA NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE policies (
  id BYTEA NOT NULL PRIMARY KEY,
  name BYTEA NOT NULL UNIQUE,
  description BYTEA NOT NULL,
  version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE policy_versions (
  id BYTEA NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
  version BIGINT NOT NULL,
  document BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (id, version)
);
CREATE TABLE policy_attachments (
  identity BYTEA NOT NULL REFERENCES identities (id),
  policy_id BYTEA NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (identity, policy_id)
);
CREATE INDEX policy_attachments_policy ON policy_attachments (policy_id);
CREATE TABLE flows (
  id BYTEA NOT NULL PRIMARY KEY,
  name BYTEA NOT NULL,
  description BYTEA NOT NULL,
  discoverable BYTEA NOT NULL,
  tags BYTEA NOT NULL,
  metadata BYTEA NOT NULL,
  created_by BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE flow_members (
  flow_id BYTEA NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
  identity BYTEA NOT NULL REFERENCES identities (id),
  status BYTEA NOT NULL,
  reason BYTEA NOT NULL,
  added_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (flow_id, identity)
);
)sql"},
    {2, "leases, single-use claims, tickets", R"sql(
CREATE TABLE leases (
  name BYTEA NOT NULL PRIMARY KEY,
  holder BYTEA NOT NULL,
  expires_at BIGINT NOT NULL,
  term BIGINT NOT NULL
);
CREATE TABLE claims (
  "key" BYTEA NOT NULL PRIMARY KEY,
  expires_at BIGINT NOT NULL
);
CREATE TABLE tickets (
  kind BYTEA NOT NULL,
  "key" BYTEA NOT NULL,
  owner BYTEA NOT NULL,
  body BYTEA NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (kind, "key")
);
CREATE INDEX tickets_owner ON tickets (kind, owner);
)sql"},
    {3, "revocation changes", R"sql(
CREATE TABLE revocation_changes (
  id BYTEA NOT NULL PRIMARY KEY REFERENCES identities (id),
  seq BIGINT NOT NULL
);
CREATE INDEX revocation_changes_seq ON revocation_changes (seq);
INSERT INTO meta (name, "value")
  SELECT 'revocation_changes_from'::bytea, "value" FROM meta
  WHERE name = 'revocation_sequence'::bytea;
)sql"},
};

constexpr int kLatestPgVersion =
    kPgMigrations[std::size(kPgMigrations) - 1].version;

Result<int64_t> NewestApplied(SqlSession& s) {
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q,
      s.Query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_version"));
  AZTP_ASSIGN_OR_RETURN(
      std::optional<int64_t> v,
      s.OneRow<int64_t>(q, "read the schema version", [](const SqlRow& row) {
        return Result<int64_t>(row.Int("v"));
      }));
  return v.value_or(0);
}

Status CheckNotNewer(int64_t newest) {
  if (newest > kLatestPgVersion) {
    return Error(Code::kUnsupported,
                 "store: database schema version " + std::to_string(newest) +
                     " is newer than this program supports (" +
                     std::to_string(kLatestPgVersion) + ")");
  }
  return Ok();
}

Status ApplyAll(PgConn& conn, int version) {
  AZTP_RETURN_IF_ERROR(
      conn.Exec("CREATE TABLE IF NOT EXISTS schema_version ("
                "  version BIGINT NOT NULL PRIMARY KEY,"
                "  description TEXT NOT NULL,"
                "  applied_at BIGINT NOT NULL)",
                "create schema_version"));
  PgConnection connection(conn, /*writable=*/true);
  SqlSession s(connection, /*writable=*/true);
  AZTP_ASSIGN_OR_RETURN(int64_t newest, NewestApplied(s));
  AZTP_RETURN_IF_ERROR(CheckNotNewer(newest));
  for (const PgMigration& m : kPgMigrations) {
    if (m.version <= newest || (version > 0 && m.version > version)) continue;
    const std::string context =
        "migration " + std::to_string(m.version) + " (" + m.description + ")";
    AZTP_RETURN_IF_ERROR(conn.Exec(m.sql, context));
    AZTP_ASSIGN_OR_RETURN(
        SqlStmt q, s.Query("INSERT INTO schema_version (version, description, "
                           "applied_at) VALUES (?, ?, ?)"));
    q.Int(m.version);
    q.Text(m.description);
    q.Int(SystemClock::Default().Now());
    AZTP_RETURN_IF_ERROR(q.Run(context));
  }
  return s.Broken();
}

}  // namespace

Status MigratePostgres(PgConn& conn, int version) {
  conn.EndAnyTransaction();
  AZTP_RETURN_IF_ERROR(conn.Exec(kBeginMigration, "begin migration"));
  Status status = ApplyAll(conn, version);
  if (!status.has_value()) {
    conn.EndAnyTransaction();
    return status;
  }
  return conn.Exec("COMMIT", "commit migration");
}

int LatestPostgresVersion() { return kLatestPgVersion; }

Status CheckPostgresSchemaIsLatest(PgConn& conn) {
  conn.EndAnyTransaction();
  AZTP_RETURN_IF_ERROR(conn.Exec(kBeginRead, "begin"));
  PgConnection connection(conn, /*writable=*/false);
  SqlSession s(connection, /*writable=*/false);
  Result<int64_t> newest = NewestApplied(s);
  conn.EndAnyTransaction();
  if (!newest.has_value()) return newest.error();
  AZTP_RETURN_IF_ERROR(CheckNotNewer(*newest));
  if (*newest != kLatestPgVersion) {
    return Error(Code::kUnsupported,
                 "store: the database has schema version " +
                     std::to_string(*newest) + ", this program reads version " +
                     std::to_string(kLatestPgVersion) +
                     " (let a control plane upgrade it first)");
  }
  return Ok();
}

}  // namespace aztp::internal

// The PostgreSQL store's schema, versioned in code (pg_migrations.cc).
#pragma once

#include "store/pg_connection.h"

namespace aztp::internal {

// MigratePostgres brings the schema to the latest version (or to
// `version`, for tests of later migrations) in one transaction, holding a
// lock that makes concurrent starters wait for each other; kUnsupported for
// a schema newer than this program knows.
Status MigratePostgres(PgConn& conn, int version = 0);

// LatestPostgresVersion is the schema version this program writes.
int LatestPostgresVersion();

// CheckPostgresSchemaIsLatest is kUnsupported unless the schema is exactly
// the latest version (a read-only store neither migrates nor guesses).
Status CheckPostgresSchemaIsLatest(PgConn& conn);

}  // namespace aztp::internal

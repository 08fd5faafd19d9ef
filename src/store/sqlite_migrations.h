// The SQLite store's schema, versioned in code (sqlite_migrations.cc).
#pragma once

#include <string>

#include "internal/sqlite_db.h"

namespace aztp::internal {

// Migrate brings the schema of `db` to the latest version, applying each
// missing migration in its own transaction; kUnsupported for a schema newer
// than this program knows.
Status Migrate(SqliteDb& db);

// CheckSchemaIsLatest is kUnsupported unless the schema of `db` (at `path`)
// is exactly the latest version: a reader neither migrates nor guesses.
Status CheckSchemaIsLatest(SqliteDb& db, const std::string& path);

}  // namespace aztp::internal

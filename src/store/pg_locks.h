// The advisory locks (PostgreSQL's pg_advisory_xact_lock) that the
// control plane's replicas share in one database. Each is held until the
// transaction that took it ends, so a crashed replica never keeps one.
#pragma once

namespace aztp::internal {

// kBeginWrite opens a read-write transaction and waits for the write lock:
// one writer at a time across every replica, as SQLite has one writer per
// file. It is the audit log's one serialization point (each record follows
// the last one committed), and every mutation writes a record.
inline constexpr const char* kBeginWrite =
    "BEGIN; SELECT pg_advisory_xact_lock(7023110312741232640)";
// kBeginRead opens a consistent snapshot that cannot write.
inline constexpr const char* kBeginRead =
    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
// kBeginMigration: replicas starting together migrate one after the other.
inline constexpr const char* kBeginMigration =
    "BEGIN; SELECT pg_advisory_xact_lock(7023110312741232641)";

}  // namespace aztp::internal

// Store: the control plane's durable state (docs/aztpd.md), one repository
// per aggregate (the headers included below). Every mutation happens
// inside one transaction, together with the audit record that describes
// it, so that after a crash either both are present or neither. The SQLite
// implementation is the embedded default; nothing outside it uses
// SQLite-specific SQL, and store_conformance.h is the suite any other
// implementation (e.g. PostgreSQL) must pass.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "aztp/base/result.h"
#include "aztp/base/secret.h"
#include "aztp/store/api_keys.h"
#include "aztp/store/audit_log.h"
#include "aztp/store/coordination.h"
#include "aztp/store/federation.h"
#include "aztp/store/flows.h"
#include "aztp/store/identities.h"
#include "aztp/store/meta.h"
#include "aztp/store/policies.h"
#include "aztp/store/signing_keys.h"
#include "aztp/store/svids.h"

namespace aztp {

// Transaction is what a Store hands to Read/Write callbacks: every
// repository, over one transaction. Code that needs one aggregate takes
// that repository's interface.
//
// Expected outcomes (kNotFound, kAlreadyExists, kInvalidArgument) leave the
// transaction usable; after a storage error (kIo) every further call fails
// and Write rolls back.
class Transaction : public virtual IdentityRepository,
                    public virtual ApiKeyRepository,
                    public virtual SvidRepository,
                    public virtual SigningKeyRepository,
                    public virtual FederationRepository,
                    public virtual PolicyRepository,
                    public virtual FlowRepository,
                    public virtual CoordinationRepository,
                    public AuditLogTransaction {};

// Store opens transactions over every repository. Thread-safe.
class Store : public BasicStore<Transaction> {
 public:
  // WaitForChange waits until another process sharing the store may have
  // committed a change (true), or for `timeout` (false). A store that no
  // other process writes (SQLite: the data directory's lock) just waits.
  // Callers refresh what they keep in memory after it returns either way:
  // a timeout is the safety net for a notice that was lost.
  virtual bool WaitForChange(std::chrono::milliseconds timeout);
};

// OpenSqliteStore opens (creating and migrating) the SQLite store at `path`:
// WAL, foreign keys, synchronous=FULL (an acknowledged write survives
// kill -9 and power loss), migrations versioned in code.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

// OpenSqliteStoreReadOnly opens an existing store for reading only (e.g. to
// verify its audit log while its daemon runs): it creates nothing, migrates
// nothing, and refuses a schema of another version (kUnsupported). Write
// transactions fail.
Result<std::unique_ptr<Store>> OpenSqliteStoreReadOnly(const std::string& path);

// PostgresStoreOptions says how a store reaches its PostgreSQL database
// (docs/scaling.md).
struct PostgresStoreOptions {
  // conninfo is a libpq connection string or URI without a password.
  std::string conninfo;
  std::optional<SecretBytes> password;
  // key_encryption_key (kSealKeyBytes) seals every private key before it
  // is written: the database never holds one in the clear. Every replica
  // of the control plane holds the same key.
  SecretBytes key_encryption_key;
  std::size_t pool_size = 8;  // connections, 1..256
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds statement_timeout{10'000};
  // acquire_timeout bounds the wait for a free connection of the pool.
  std::chrono::milliseconds acquire_timeout{5'000};
  // read_only opens an existing database of exactly the latest schema
  // for reading (e.g. to verify its audit log); Write is kUnsupported.
  bool read_only = false;
};

// OpenPostgresStore connects to PostgreSQL and brings the schema to the
// latest version (one replica at a time; kUnsupported for a newer one).
// Several stores, in several processes, may share the database: every
// Write takes one database-wide lock, so the audit log stays one chain,
// and a transaction that meets a serialization failure or deadlock is run
// again (up to 3 times): a Write callback must have no effect outside its
// transaction. A database out of reach is kUnavailable, never a hang.
Result<std::unique_ptr<Store>> OpenPostgresStore(
    const PostgresStoreOptions& options);

}  // namespace aztp

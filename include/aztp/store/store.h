// Store: the control plane's durable state (docs/aztpd.md), one repository
// per aggregate (the headers included below). Every mutation happens
// inside one transaction, together with the audit record that describes
// it, so that after a crash either both are present or neither. The SQLite
// implementation is the embedded default; nothing outside it uses
// SQLite-specific SQL, and store_conformance.h is the suite any other
// implementation (e.g. PostgreSQL) must pass.
#pragma once

#include <memory>
#include <string>

#include "aztp/base/result.h"
#include "aztp/store/api_keys.h"
#include "aztp/store/audit_log.h"
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
                    public AuditLogTransaction {};

// Store opens transactions over every repository. Thread-safe.
class Store : public BasicStore<Transaction> {};

// OpenSqliteStore opens (creating and migrating) the SQLite store at `path`:
// WAL, foreign keys, synchronous=FULL (an acknowledged write survives
// kill -9 and power loss), migrations versioned in code.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

// OpenSqliteStoreReadOnly opens an existing store for reading only (e.g. to
// verify its audit log while its daemon runs): it creates nothing, migrates
// nothing, and refuses a schema of another version (kUnsupported). Write
// transactions fail.
Result<std::unique_ptr<Store>> OpenSqliteStoreReadOnly(const std::string& path);

}  // namespace aztp

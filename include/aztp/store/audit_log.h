// The audit log aggregate: the store's own hash-chained log
// (aztp/audit/audit.h) and the records proxies shipped, each source in its
// own chain.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "aztp/audit/audit.h"
#include "aztp/base/result.h"
#include "aztp/store/meta.h"

namespace aztp {

// AuditLogRepository holds audit records (kIo on storage errors).
class AuditLogRepository {
 public:
  virtual ~AuditLogRepository() = default;

  // AppendAudit stores `r` as the next record of the hash-chained log: its
  // seq, prev and hash are assigned here, whatever `r` holds. Returns the
  // seq.
  virtual Result<int64_t> AppendAudit(const AuditRecord& r) = 0;
  // ListAudit returns records with seq > after, at most `limit` (1..1000,
  // kInvalidArgument otherwise), in order.
  virtual Result<std::vector<AuditRecord>> ListAudit(int64_t after,
                                                     int limit) = 0;
  // Records shipped by a proxy (`source`, its SPIFFE ID) are kept as sent,
  // in their own chain per source. ShippedAuditHead is the last record's
  // seq and hash, {0, kAuditGenesis} for a source that shipped nothing.
  virtual Result<AuditHead> ShippedAuditHead(const std::string& source) = 0;
  // AppendShippedAudit stores `r` as it is (kAlreadyExists for a seq the
  // source already shipped).
  virtual Status AppendShippedAudit(const std::string& source,
                                    const AuditRecord& r) = 0;
  virtual Result<std::vector<AuditRecord>> ListShippedAudit(
      const std::string& source, int64_t after, int limit) = 0;
  // ListAuditSources returns every source that shipped a record, ordered.
  virtual Result<std::vector<std::string>> ListAuditSources() = 0;
};

// CheckAuditSource is kNotFound for a `source` that never shipped a
// record: a misspelt --source must not read as an empty, valid log
// (docs/audit.md, "CLI").
Status CheckAuditSource(AuditLogRepository& tx, const std::string& source);

// BasicStore opens transactions of type Tx. Thread-safe. A callback must
// not open another transaction on the same store (kUnsupported).
template <typename Tx>
class BasicStore {
 public:
  virtual ~BasicStore() = default;
  // Write runs `fn` in one read-write transaction: committed (durably) when
  // fn succeeds, rolled back when it fails.
  virtual Status Write(const std::function<Status(Tx&)>& fn) = 0;
  // Read runs `fn` on a consistent read-only snapshot; its writes fail
  // with kUnsupported.
  virtual Status Read(const std::function<Status(Tx&)>& fn) = 0;
};

// AuditLogTransaction is what a local audit log needs: the log and the
// meta values that remember what was shipped.
class AuditLogTransaction : public virtual AuditLogRepository,
                            public virtual MetaRepository {};

// AuditLogStore is a store used only as an audit log (the proxy's).
class AuditLogStore : public BasicStore<AuditLogTransaction> {};

// OpenSqliteAuditLog opens (creating and migrating) the SQLite store at
// `path` as an audit log: the file is the same as OpenSqliteStore's, so the
// same tools read it.
Result<std::unique_ptr<AuditLogStore>> OpenSqliteAuditLog(
    const std::string& path);

}  // namespace aztp

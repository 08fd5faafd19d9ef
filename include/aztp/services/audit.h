// AuditService: reading aztpd's hash-chained audit log and the copies of
// the chains proxies ship to it, and receiving those shipments
// (docs/audit.md, "Shipping and acknowledgement" and "API").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "aztp/audit/audit.h"
#include "aztp/base/result.h"
#include "aztp/services/context.h"
#include "aztp/services/principal.h"

namespace aztp::services {

// kMaxShippedBatch bounds the records of one shipment.
inline constexpr std::size_t kMaxShippedBatch = 500;
// kMaxAuditScan bounds the records one query reads, matching or not.
inline constexpr int kMaxAuditScan = 10000;

// AuditQuery selects records in seq order after `after`: from aztpd's own
// chain, or with `source` (a proxy's SPIFFE ID) from the copy of its chain.
struct AuditQuery {
  AuditFilter filter;
  std::string source;
  int64_t after = 0;
  int limit = 100;  // 1..1000
};

// AuditPage holds the matching records read from `after` on until `limit`
// matched, the chain ended or kMaxAuditScan were read. `next` is the seq of
// the last record read (`after` when none was), `end` whether the chain was
// read to its end.
struct AuditPage {
  std::vector<AuditRecord> records;
  int64_t next = 0;
  bool end = false;
};

// AuditSource is the head held for one proxy that shipped records.
struct AuditSource {
  std::string source;
  AuditHead head;
};

// IngestResult is the head held for the shipper after a batch and how many
// of its records were new.
struct IngestResult {
  AuditHead head;
  int64_t added = 0;
};

class AuditService {
 public:
  explicit AuditService(const ServiceContext& ctx) : ctx_(ctx) {}

  // Query and Sources need an admin key. A filter value no record can match
  // is kInvalidArgument, a source that never shipped kNotFound: neither is
  // an empty answer.
  Result<AuditPage> Query(const Principal& who, const AuditQuery& query);
  Result<std::vector<AuditSource>> Sources(const Principal& who);
  // Ingest stores a batch of 1 to kMaxShippedBatch records shipped with the
  // caller's own SVID, whose ID names the chain: it must continue the chain
  // held for that source (records already held are accepted again when
  // identical, so that a lost acknowledgement is harmless), and aztpd's own
  // log records the new head. All or nothing.
  Result<IngestResult> Ingest(const Principal& who,
                              const std::vector<AuditRecord>& batch);

 private:
  const ServiceContext& ctx_;
};

}  // namespace aztp::services

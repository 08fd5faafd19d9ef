#include "aztp/services/audit.h"

#include "aztp/services/audit_entry.h"

namespace aztp::services {

namespace {

constexpr std::string_view kReadDenial = "reading the audit log needs admin";
// Pages of the store read while a query scans.
constexpr int kScanPage = 1000;

Error BadRequest(std::string message) {
  return Error(Code::kInvalidArgument, std::move(message));
}

// Scan reads pages from query.after on until query.limit records match,
// the chain ends or kMaxAuditScan records were read.
Status Scan(Transaction& tx, const AuditQuery& query, AuditPage& out) {
  out.next = query.after;
  const auto limit = static_cast<std::size_t>(query.limit);
  int scanned = 0;
  while (out.records.size() < limit && scanned < kMaxAuditScan) {
    std::vector<AuditRecord> page;
    if (query.source.empty()) {
      AZTP_ASSIGN_OR_RETURN(page, tx.ListAudit(out.next, kScanPage));
    } else {
      AZTP_ASSIGN_OR_RETURN(
          page, tx.ListShippedAudit(query.source, out.next, kScanPage));
    }
    if (page.empty()) {
      out.end = true;
      break;
    }
    for (AuditRecord& r : page) {
      ++scanned;
      out.next = r.seq;
      if (AuditMatches(query.filter, r)) out.records.push_back(std::move(r));
      if (out.records.size() == limit) break;
    }
  }
  return Ok();
}

// Continue appends the records of `batch` past `head` to the chain held
// for `source`, after checking that they continue it; records up to
// `head` must be the ones held. Returns how many were appended; `head`
// becomes the new head.
Result<int64_t> Continue(Transaction& tx, const std::string& source,
                         const std::vector<AuditRecord>& batch,
                         AuditHead& head) {
  AuditChainChecker checker(head);
  int64_t added = 0;
  for (const AuditRecord& r : batch) {
    if (r.seq <= head.seq) {
      AZTP_ASSIGN_OR_RETURN(auto held,
                            tx.ListShippedAudit(source, r.seq - 1, 1));
      if (held.size() != 1 || held[0].hash != r.hash) {
        return Error(Code::kAlreadyExists,
                     "record " + std::to_string(r.seq) +
                         " differs from the one already received");
      }
      continue;
    }
    checker.Add(r);
    if (!checker.ok()) {
      return BadRequest("the batch does not continue the chain held for " +
                        source + ": " + checker.reason());
    }
    AZTP_RETURN_IF_ERROR(tx.AppendShippedAudit(source, r));
    ++added;
  }
  if (added > 0) head = checker.head();
  return added;
}

}  // namespace

Result<AuditPage> AuditService::Query(const Principal& who,
                                      const AuditQuery& query) {
  AZTP_RETURN_IF_ERROR(Require(who, Permission::kAdmin, kReadDenial));
  if (query.limit < 1 || query.limit > 1000) {
    return BadRequest("limit must be an integer from 1 to 1000");
  }
  // A value no record can match is the caller's mistake, not an empty
  // answer (docs/audit.md, "API").
  AZTP_RETURN_IF_ERROR(CheckAuditFilter(query.filter));
  AuditPage out;
  AZTP_RETURN_IF_ERROR(ctx_.store->Read([&](Transaction& tx) -> Status {
    if (!query.source.empty()) {
      AZTP_RETURN_IF_ERROR(CheckAuditSource(tx, query.source));
    }
    return Scan(tx, query, out);
  }));
  return out;
}

Result<std::vector<AuditSource>> AuditService::Sources(const Principal& who) {
  AZTP_RETURN_IF_ERROR(Require(who, Permission::kAdmin, kReadDenial));
  std::vector<AuditSource> out;
  AZTP_RETURN_IF_ERROR(ctx_.store->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto sources, tx.ListAuditSources());
    for (std::string& s : sources) {
      AZTP_ASSIGN_OR_RETURN(AuditHead head, tx.ShippedAuditHead(s));
      out.push_back(AuditSource{std::move(s), std::move(head)});
    }
    return Ok();
  }));
  return out;
}

Result<IngestResult> AuditService::Ingest(
    const Principal& who, const std::vector<AuditRecord>& batch) {
  // The source is the shipper's own SVID, so that a caller can only add to
  // its own chain.
  AZTP_RETURN_IF_ERROR(
      Require(who, Permission::kWorkloadSvid,
              "audit records are shipped with the proxy's own SVID"));
  if (batch.empty() || batch.size() > kMaxShippedBatch) {
    return BadRequest("records must be an array of 1 to 500 audit records");
  }
  const std::string source = who.svid()->str();
  const UnixTime now = ctx_.Now();
  IngestResult out;
  AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(out.head, tx.ShippedAuditHead(source));
    const int64_t from = out.head.seq + 1;
    AZTP_ASSIGN_OR_RETURN(out.added, Continue(tx, source, batch, out.head));
    if (out.added == 0) return Ok();
    return Appended(tx.AppendAudit(MakeAudit(
        now, who.actor(), "audit.ingest", source,
        Json{{"from", from}, {"to", out.head.seq}, {"hash", out.head.hash}})));
  }));
  return out;
}

}  // namespace aztp::services

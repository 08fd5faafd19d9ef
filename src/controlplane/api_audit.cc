// Audit routes (docs/audit.md): reading the hash-chained log of aztpd and
// the logs proxies ship to it, and receiving those shipments.
#include <algorithm>

#include "api.h"
#include "aztp/services/audit_entry.h"

namespace aztp {

using internal::BadRequest;
using services::Appended;
using services::MakeAudit;

namespace {

// kMaxShippedBatch bounds the records of one POST /v1/audit:ingest, and
// kMaxShippedBody its body.
constexpr std::size_t kMaxShippedBatch = 500;
constexpr std::size_t kMaxShippedBody = 1 << 20;
// kMaxScan bounds the records one filtered GET /v1/audit reads.
constexpr int kMaxScan = 10000;

Result<std::optional<int64_t>> QueryInt(const http::Request& req,
                                        const char* name) {
  auto it = req.query.find(name);
  if (it == req.query.end()) return std::optional<int64_t>();
  auto parsed = ParseJson(it->second);
  if (!parsed || !IsInteger(*parsed) || *parsed < 0) {
    return BadRequest(std::string(name) + " must be a non-negative integer");
  }
  return std::optional<int64_t>(parsed->get<int64_t>());
}

Result<AuditFilter> FilterFrom(const http::Request& req) {
  AuditFilter f;
  auto text = [&](const char* name, std::string& out) {
    if (auto it = req.query.find(name); it != req.query.end()) {
      out = it->second;
    }
  };
  text("txn", f.txn);
  text("identity", f.identity);
  text("decision", f.decision);
  text("action", f.action);
  AZTP_ASSIGN_OR_RETURN(f.since, QueryInt(req, "since"));
  AZTP_ASSIGN_OR_RETURN(f.until, QueryInt(req, "until"));
  // A value no record can match is the caller's mistake (400), not an
  // empty answer (docs/audit.md, "API").
  AZTP_RETURN_IF_ERROR(CheckAuditFilter(f));
  return f;
}

}  // namespace

Result<Json> ControlPlane::AuditApi(const http::Request& req,
                                    const Principal& who, UnixTime now,
                                    Reply& reply) {
  const std::string& path = req.path;
  if (path == "/v1/audit:ingest" && req.method == "POST") {
    reply.route = "/v1/audit:ingest";
    return IngestAudit(req, who, now);
  }
  if (!who.admin()) {
    return Error(Code::kPermissionDenied, "reading the audit log needs admin");
  }
  if (path == "/v1/audit/sources" && req.method == "GET") {
    reply.route = "/v1/audit/sources";
    Json out = Json::array();
    AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
      AZTP_ASSIGN_OR_RETURN(auto sources, tx.ListAuditSources());
      for (const std::string& s : sources) {
        AZTP_ASSIGN_OR_RETURN(AuditHead head, tx.ShippedAuditHead(s));
        out.push_back(
            Json{{"source", s}, {"seq", head.seq}, {"hash", head.hash}});
      }
      return Ok();
    }));
    return Json{{"sources", std::move(out)}};
  }
  if (path != "/v1/audit" || req.method != "GET") {
    return Error(Code::kNotFound, "no such route");
  }
  reply.route = "/v1/audit";
  AZTP_ASSIGN_OR_RETURN(int limit, internal::PageLimit(req));
  AZTP_ASSIGN_OR_RETURN(auto after, QueryInt(req, "after"));
  AZTP_ASSIGN_OR_RETURN(AuditFilter filter, FilterFrom(req));
  std::string source;
  if (auto it = req.query.find("source"); it != req.query.end()) {
    source = it->second;
  }
  // Scan pages from `after` until `limit` records match, the log ends or
  // kMaxScan records were read; `next` is where the next call continues.
  Json records = Json::array();
  int64_t next = after.value_or(0);
  bool end = false;
  AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
    if (!source.empty()) AZTP_RETURN_IF_ERROR(CheckAuditSource(tx, source));
    int scanned = 0;
    while (records.size() < static_cast<std::size_t>(limit) &&
           scanned < kMaxScan) {
      std::vector<AuditRecord> page;
      if (source.empty()) {
        AZTP_ASSIGN_OR_RETURN(page, tx.ListAudit(next, 1000));
      } else {
        AZTP_ASSIGN_OR_RETURN(page, tx.ListShippedAudit(source, next, 1000));
      }
      if (page.empty()) {
        end = true;
        break;
      }
      for (const AuditRecord& r : page) {
        ++scanned;
        next = r.seq;
        if (AuditMatches(filter, r)) records.push_back(AuditRecordJson(r));
        if (records.size() == static_cast<std::size_t>(limit)) break;
      }
    }
    return Ok();
  }));
  return Json{{"records", std::move(records)}, {"next", next}, {"end", end}};
}

// IngestAudit stores a proxy's batch: it must continue the chain aztpd
// holds for that proxy (records already held are accepted again if they
// are identical, so a lost acknowledgement is harmless), and aztpd's own
// log records the new head.
Result<Json> ControlPlane::IngestAudit(const http::Request& req,
                                       const Principal& who, UnixTime now) {
  if (!who.svid()) {
    return Error(Code::kPermissionDenied,
                 "audit records are shipped with the proxy's own SVID");
  }
  const std::string source = who.svid()->str();
  AZTP_ASSIGN_OR_RETURN(Json body, internal::BodyObject(req, kMaxShippedBody));
  AZTP_RETURN_IF_ERROR(internal::OnlyMembers(body, {"records"}));
  auto it = body.find("records");
  if (it == body.end() || !it->is_array() || it->empty() ||
      it->size() > kMaxShippedBatch) {
    return BadRequest("records must be an array of 1 to 500 audit records");
  }
  std::vector<AuditRecord> batch;
  for (const Json& j : *it) {
    auto r = AuditRecordFromJson(j);
    if (!r) {
      return r.error().WithContext("record " + std::to_string(batch.size()));
    }
    batch.push_back(std::move(*r));
  }
  AuditHead head;
  int64_t added = 0;
  AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(head, tx.ShippedAuditHead(source));
    AuditChainChecker checker(head);
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
    if (added == 0) return Ok();
    const int64_t from = head.seq + 1;
    head = checker.head();
    return Appended(tx.AppendAudit(MakeAudit(
        now, who.actor(), "audit.ingest", source,
        Json{{"from", from}, {"to", head.seq}, {"hash", head.hash}})));
  }));
  if (added > 0) {
    instruments_->metrics.Add("aztpd_audit_ingested_total", {},
                              static_cast<double>(added));
  }
  return Json{{"acked", head.seq}, {"hash", head.hash}};
}

}  // namespace aztp

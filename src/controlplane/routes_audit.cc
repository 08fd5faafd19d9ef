// Audit routes (docs/audit.md, "API"): reading aztpd's log and the logs
// proxies ship to it, and receiving those shipments. Each decodes, calls
// AuditService, encodes.
#include "api.h"
#include "routes.h"

namespace aztp::internal {

namespace {

using services::AuditService;
using services::Permission;

// kMaxShippedBody bounds the body of one POST /v1/audit:ingest.
constexpr std::size_t kMaxShippedBody = 1 << 20;

Result<services::AuditQuery> DecodeQuery(const http::Request& req) {
  services::AuditQuery q;
  AZTP_ASSIGN_OR_RETURN(q.limit, PageLimit(req));
  AZTP_ASSIGN_OR_RETURN(auto after, QueryInt(req, "after"));
  q.after = after.value_or(0);
  auto text = [&](const char* name, std::string& out) {
    if (auto it = req.query.find(name); it != req.query.end()) {
      out = it->second;
    }
  };
  text("txn", q.filter.txn);
  text("identity", q.filter.identity);
  text("decision", q.filter.decision);
  text("action", q.filter.action);
  AZTP_ASSIGN_OR_RETURN(q.filter.since, QueryInt(req, "since"));
  AZTP_ASSIGN_OR_RETURN(q.filter.until, QueryInt(req, "until"));
  text("source", q.source);
  return q;
}

Result<std::vector<AuditRecord>> DecodeBatch(const http::Request& req) {
  AZTP_ASSIGN_OR_RETURN(Json body, BodyObject(req, kMaxShippedBody));
  AZTP_RETURN_IF_ERROR(OnlyMembers(body, {"records"}));
  auto it = body.find("records");
  if (it == body.end() || !it->is_array() || it->empty() ||
      it->size() > services::kMaxShippedBatch) {
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
  return batch;
}

}  // namespace

void AddAuditRoutes(RouteTable& t, AuditService& s,
                    metrics::Registry& metrics) {
  constexpr std::string_view denial = "reading the audit log needs admin";
  t.Add({"GET", "/v1/audit", Permission::kAdmin, denial,
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(auto query, DecodeQuery(c.request));
           AZTP_ASSIGN_OR_RETURN(auto page, s.Query(c.who(), query));
           Json records = Json::array();
           for (const auto& r : page.records) {
             records.push_back(AuditRecordJson(r));
           }
           return Json{{"records", std::move(records)},
                       {"next", page.next},
                       {"end", page.end}};
         }});
  t.Add({"GET", "/v1/audit/sources", Permission::kAdmin, denial,
         [&s](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(auto sources, s.Sources(c.who()));
           Json out = Json::array();
           for (const auto& src : sources) {
             out.push_back(Json{{"source", src.source},
                                {"seq", src.head.seq},
                                {"hash", src.head.hash}});
           }
           return Json{{"sources", std::move(out)}};
         }});
  t.Add({"POST", "/v1/audit:ingest", Permission::kWorkloadSvid,
         "audit records are shipped with the proxy's own SVID",
         [&s, &metrics](RouteCall& c) -> Result<Json> {
           AZTP_ASSIGN_OR_RETURN(auto batch, DecodeBatch(c.request));
           AZTP_ASSIGN_OR_RETURN(auto r, s.Ingest(c.who(), batch));
           if (r.added > 0) {
             metrics.Add("aztpd_audit_ingested_total", {},
                         static_cast<double>(r.added));
           }
           return Json{{"acked", r.head.seq}, {"hash", r.head.hash}};
         }});
}

}  // namespace aztp::internal

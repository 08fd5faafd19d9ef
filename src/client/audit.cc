// The client's calls on the audit log: reading it page by page and
// ingesting records kept elsewhere.
#include <utility>

#include "client/client_internal.h"

namespace aztp {

namespace {

using client_internal::Query;

}  // namespace

Result<Client::AuditPage> Client::ListAudit(int64_t after, int limit,
                                            const AuditFilter& filter,
                                            const std::string& source) {
  if (limit < 1 || limit > 1000) {
    return Error(Code::kInvalidArgument, "limit must be from 1 to 1000");
  }
  auto optional_time = [](const std::optional<UnixTime>& t) {
    return t ? std::to_string(*t) : std::string();
  };
  std::string target =
      "/v1/audit" + Query({{"after", std::to_string(after)},
                           {"limit", std::to_string(limit)},
                           {"txn", filter.txn},
                           {"identity", filter.identity},
                           {"decision", filter.decision},
                           {"action", filter.action},
                           {"since", optional_time(filter.since)},
                           {"until", optional_time(filter.until)},
                           {"source", source}});
  return impl_->Parsed(
      "GET", target, "", true, [](const Json& doc) -> Result<AuditPage> {
        AuditPage page;
        auto records = doc.find("records");
        if (records == doc.end() || !records->is_array()) {
          return Error(Code::kMalformed, "records must be an array");
        }
        for (const Json& j : *records) {
          AZTP_ASSIGN_OR_RETURN(AuditRecord r, AuditRecordFromJson(j));
          page.records.push_back(std::move(r));
        }
        AZTP_ASSIGN_OR_RETURN(page.next, GetInt(doc, "next"));
        auto end = doc.find("end");
        if (end == doc.end() || !end->is_boolean()) {
          return Error(Code::kMalformed, "end must be a boolean");
        }
        page.end = end->get<bool>();
        return page;
      });
}

Result<AuditHead> Client::IngestAudit(const std::vector<AuditRecord>& records) {
  Json list = Json::array();
  for (const AuditRecord& r : records) list.push_back(AuditRecordJson(r));
  return impl_->Parsed(
      "POST", "/v1/audit:ingest", DumpJson(Json{{"records", std::move(list)}}),
      true, [](const Json& doc) -> Result<AuditHead> {
        AuditHead head;
        AZTP_ASSIGN_OR_RETURN(head.seq, GetInt(doc, "acked"));
        AZTP_ASSIGN_OR_RETURN(head.hash, GetString(doc, "hash"));
        return head;
      });
}

}  // namespace aztp

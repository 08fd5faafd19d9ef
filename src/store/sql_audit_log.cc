// The audit log repository (sql_repositories.h): the store's
// own log in `audit`, what proxies shipped in `shipped_audit`, one chain
// per source.
#include <string>
#include <utility>

#include "store/sql_repositories.h"

namespace aztp::internal {
namespace {

constexpr const char* kAuditColumns =
    "seq, \"time\", actor, action, subject, decision, reason, txn, details, "
    "prev, hash";

// ReadAudit is the row mapper of AuditRecord.
Result<AuditRecord> ReadAudit(const SqlRow& row) {
  AuditRecord r;
  r.seq = row.Int("seq");
  r.time = row.Int("time");
  r.actor = row.Text("actor");
  r.action = row.Text("action");
  r.subject = row.Text("subject");
  r.decision = row.Text("decision");
  r.reason = row.Text("reason");
  r.txn = row.Text("txn");
  AZTP_ASSIGN_OR_RETURN(r.details,
                        DecodeJson(row.Text("details"), "audit details"));
  r.prev = row.Text("prev");
  r.hash = row.Text("hash");
  return r;
}

Result<AuditHead> ReadHead(const SqlRow& row) {
  return AuditHead{.seq = row.Int("seq"), .hash = row.Text("hash")};
}

}  // namespace

Result<AuditHead> SqlAuditLog::Head(
    const std::optional<std::string>& source) {
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q,
      s_.Query(source ? "SELECT seq, hash FROM shipped_audit WHERE source = ? "
                        "ORDER BY seq DESC LIMIT 1"
                      : "SELECT seq, hash FROM audit ORDER BY seq DESC "
                        "LIMIT 1"));
  if (source) q.Text(*source);
  AZTP_ASSIGN_OR_RETURN(
      std::optional<AuditHead> head,
      s_.OneRow<AuditHead>(q, source ? "shipped audit head" : "audit head",
                           ReadHead));
  return head.value_or(AuditHead{});
}

Status SqlAuditLog::Insert(const std::optional<std::string>& source,
                              const AuditRecord& r) {
  AZTP_ASSIGN_OR_RETURN(std::string details,
                        EncodeJson(r.details, "audit details", kMaxJsonBytes));
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q,
      s_.Query(source ? std::string("INSERT INTO shipped_audit (source, ") +
                            kAuditColumns +
                            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                      : std::string("INSERT INTO audit (") + kAuditColumns +
                            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  if (source) q.Text(*source);
  q.Int(r.seq);
  q.Int(r.time);
  q.Text(r.actor);
  q.Text(r.action);
  q.Text(r.subject);
  q.Text(r.decision);
  q.Text(r.reason);
  q.Text(r.txn);
  q.Text(details);
  q.Text(r.prev);
  q.Text(r.hash);
  return q.Run(source ? "append shipped audit" : "append audit");
}

// AppendAudit ignores r.seq, r.prev and r.hash: the record follows the last
// one, which the write lock held since BEGIN IMMEDIATE makes race-free.
Result<int64_t> SqlAuditLog::AppendAudit(const AuditRecord& r) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  AZTP_ASSIGN_OR_RETURN(AuditHead head, Head(std::nullopt));
  AuditRecord sealed = r;
  SealAudit(sealed, head.seq + 1, head.hash);
  AZTP_RETURN_IF_ERROR(Insert(std::nullopt, sealed));
  return sealed.seq;
}

Result<std::vector<AuditRecord>> SqlAuditLog::ListAudit(int64_t after,
                                                           int limit) {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_RETURN_IF_ERROR(CheckLimit(limit));
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q, s_.Query(std::string("SELECT ") + kAuditColumns +
                             " FROM audit WHERE seq > ? ORDER BY seq LIMIT ?"));
  q.Int(after);
  q.Int(limit);
  return s_.Rows<AuditRecord>(q, "list audit", ReadAudit);
}

Result<AuditHead> SqlAuditLog::ShippedAuditHead(const std::string& source) {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  return Head(source);
}

Status SqlAuditLog::AppendShippedAudit(const std::string& source,
                                          const AuditRecord& r) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  return Insert(source, r);
}

Result<std::vector<AuditRecord>> SqlAuditLog::ListShippedAudit(
    const std::string& source, int64_t after, int limit) {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_RETURN_IF_ERROR(CheckLimit(limit));
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q, s_.Query(std::string("SELECT ") + kAuditColumns +
                             " FROM shipped_audit WHERE source = ? AND seq > ? "
                             "ORDER BY seq LIMIT ?"));
  q.Text(source);
  q.Int(after);
  q.Int(limit);
  return s_.Rows<AuditRecord>(q, "list shipped audit", ReadAudit);
}

Result<std::vector<std::string>> SqlAuditLog::ListAuditSources() {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q,
      s_.Query("SELECT DISTINCT source FROM shipped_audit ORDER BY source"));
  return s_.Rows<std::string>(q, "list audit sources",
                              [](const SqlRow& row) -> Result<std::string> {
                                return row.Text("source");
                              });
}

Status ChainLegacyAudit(SqlConnection& db) {
  // Runs inside the migration's transaction, which may write.
  SqlSession s(db, /*writable=*/true);
  std::vector<AuditRecord> records;
  {
    AZTP_ASSIGN_OR_RETURN(SqlStmt q,
                          s.Query(std::string("SELECT ") + kAuditColumns +
                                  " FROM audit ORDER BY seq"));
    AZTP_ASSIGN_OR_RETURN(
        records, s.Rows<AuditRecord>(q, "read audit for chaining", ReadAudit));
  }
  std::string prev = kAuditGenesis;
  for (AuditRecord& r : records) {
    SealAudit(r, r.seq, prev);
    prev = r.hash;
    AZTP_ASSIGN_OR_RETURN(
        SqlStmt q,
        s.Query("UPDATE audit SET prev = ?, hash = ? WHERE seq = ?"));
    q.Text(r.prev);
    q.Text(r.hash);
    q.Int(r.seq);
    AZTP_RETURN_IF_ERROR(q.Run("chain audit"));
  }
  return s.Broken();
}

}  // namespace aztp::internal

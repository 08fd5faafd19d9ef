// The SVIDs repository (sql_repositories.h).
#include <string>

#include "store/sql_repositories.h"

namespace aztp::internal {
namespace {

// ReadSvid is the row mapper of SvidRecord.
Result<SvidRecord> ReadSvid(const SqlRow& row) {
  SvidRecord r;
  r.serial = row.Text("serial");
  r.id = row.Text("id");
  r.issued_at = row.Int("issued_at");
  r.expires_at = row.Int("expires_at");
  return r;
}

}  // namespace

Status SqlSvids::InsertSvid(const SvidRecord& r) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  AZTP_ASSIGN_OR_RETURN(
      bool exists,
      s_.Exists("SELECT 1 FROM svids WHERE serial = ?", r.serial, "find svid"));
  if (exists) {
    return Error(
        Code::kAlreadyExists,
        "store: SVID serial " + QuoteInput(r.serial) + " already exists");
  }
  AZTP_ASSIGN_OR_RETURN(bool known, s_.IdentityExists(r.id));
  if (!known) {
    return Error(Code::kInvalidArgument, "store: SVID names identity " +
                                             QuoteInput(r.id) +
                                             ", which does not exist");
  }
  AZTP_ASSIGN_OR_RETURN(SqlStmt q,
                        s_.Query("INSERT INTO svids (serial, id, issued_at, "
                                 "expires_at) VALUES (?, ?, ?, ?)"));
  q.Text(r.serial);
  q.Text(r.id);
  q.Int(r.issued_at);
  q.Int(r.expires_at);
  return q.Run("insert svid");
}

Result<std::vector<SvidRecord>> SqlSvids::ListSvids(const std::string& id) {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q,
      s_.Query("SELECT serial, id, issued_at, expires_at FROM svids "
               "WHERE id = ? ORDER BY issued_at, serial"));
  q.Text(id);
  return s_.Rows<SvidRecord>(q, "list svids", ReadSvid);
}

}  // namespace aztp::internal

// The federation repository (sql_repositories.h).
#include <string>

#include "store/sql_repositories.h"

namespace aztp::internal {
namespace {

// ReadFederation is the row mapper of FederationRecord.
Result<FederationRecord> ReadFederation(const SqlRow& row) {
  FederationRecord r;
  r.trust_domain = row.Text("trust_domain");
  r.endpoint_url = row.Text("endpoint_url");
  AZTP_ASSIGN_OR_RETURN(r.profile, ParseStored(row.Text("profile"),
                                               FederationRecord::ParseProfile,
                                               "federation profile"));
  r.endpoint_id = row.Text("endpoint_id");
  r.bootstrap_bundle = row.Text("bootstrap_bundle");
  r.web_ca_pem = row.Text("web_ca_pem");
  r.created_at = row.Int("created_at");
  r.revocations_url = row.Text("revocations_url");
  return r;
}

// ReadFederatedBundle is the row mapper of FederatedBundleRecord.
Result<FederatedBundleRecord> ReadFederatedBundle(const SqlRow& row) {
  FederatedBundleRecord r;
  r.trust_domain = row.Text("trust_domain");
  r.bundle = row.Text("bundle");
  r.updated_at = row.Int("updated_at");
  return r;
}

// ReadFederatedRevocations is the row mapper of FederatedRevocationsRecord.
Result<FederatedRevocationsRecord> ReadFederatedRevocations(
    const SqlRow& row) {
  FederatedRevocationsRecord r;
  r.trust_domain = row.Text("trust_domain");
  r.list = row.Text("list");
  r.updated_at = row.Int("updated_at");
  return r;
}

}  // namespace

Status SqlFederation::PutFederation(const FederationRecord& r) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  if (r.trust_domain.empty()) {
    return Error(Code::kInvalidArgument,
                 "store: federation trust domain is empty");
  }
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q,
      s_.Query("INSERT INTO federations (trust_domain, endpoint_url, "
               "profile, endpoint_id, bootstrap_bundle, web_ca_pem, "
               "created_at, revocations_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  q.Text(r.trust_domain);
  q.Text(r.endpoint_url);
  q.Text(ToString(r.profile));
  q.Text(r.endpoint_id);
  q.Text(r.bootstrap_bundle);
  q.Text(r.web_ca_pem);
  q.Int(r.created_at);
  q.Text(r.revocations_url);
  return q.Run("insert federation");
}

Result<std::vector<FederationRecord>> SqlFederation::ListFederations() {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q,
      s_.Query("SELECT trust_domain, endpoint_url, profile, endpoint_id, "
               "bootstrap_bundle, web_ca_pem, created_at, revocations_url "
               "FROM federations ORDER BY trust_domain"));
  return s_.Rows<FederationRecord>(q, "list federations", ReadFederation);
}

// The bundle and the revocation list go first: they are the relationship's
// (no foreign key says so, as the tables came in different migrations).
Status SqlFederation::DeleteFederation(const std::string& trust_domain) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  for (const char* sql :
       {"DELETE FROM federated_bundles WHERE trust_domain = ?",
        "DELETE FROM federated_revocations WHERE trust_domain = ?"}) {
    AZTP_ASSIGN_OR_RETURN(SqlStmt q, s_.Query(sql));
    q.Text(trust_domain);
    AZTP_RETURN_IF_ERROR(q.Run("delete federated documents"));
  }
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q, s_.Query("DELETE FROM federations WHERE trust_domain = ?"));
  q.Text(trust_domain);
  return q.RunOnRow("delete federation",
                    "no federation with " + QuoteInput(trust_domain));
}

Status SqlFederation::PutDocument(const char* sql,
                                     const std::string& trust_domain,
                                     const std::string& document,
                                     UnixTime updated_at,
                                     std::string_view what) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  AZTP_ASSIGN_OR_RETURN(SqlStmt q, s_.Query(sql));
  q.Text(trust_domain);
  q.Text(document);
  q.Int(updated_at);
  return q.Run(what);
}

Status SqlFederation::PutFederatedBundle(const FederatedBundleRecord& r) {
  return PutDocument(
      "INSERT INTO federated_bundles (trust_domain, bundle, updated_at) "
      "VALUES (?, ?, ?) ON CONFLICT (trust_domain) DO UPDATE SET "
      "bundle = excluded.bundle, updated_at = excluded.updated_at",
      r.trust_domain, r.bundle, r.updated_at, "put federated bundle");
}

Result<std::vector<FederatedBundleRecord>>
SqlFederation::ListFederatedBundles() {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(SqlStmt q,
                        s_.Query("SELECT trust_domain, bundle, updated_at FROM "
                                 "federated_bundles ORDER BY trust_domain"));
  return s_.Rows<FederatedBundleRecord>(q, "list federated bundles",
                                        ReadFederatedBundle);
}

// DeleteFederatedBundle succeeds when there was nothing to delete.
Status SqlFederation::DeleteFederatedBundle(
    const std::string& trust_domain) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q,
      s_.Query("DELETE FROM federated_bundles WHERE trust_domain = ?"));
  q.Text(trust_domain);
  return q.Run("delete federated bundle");
}

Status SqlFederation::PutFederatedRevocations(
    const FederatedRevocationsRecord& r) {
  return PutDocument(
      "INSERT INTO federated_revocations (trust_domain, list, updated_at) "
      "VALUES (?, ?, ?) ON CONFLICT (trust_domain) DO UPDATE SET "
      "list = excluded.list, updated_at = excluded.updated_at",
      r.trust_domain, r.list, r.updated_at, "put federated revocations");
}

Result<std::vector<FederatedRevocationsRecord>>
SqlFederation::ListFederatedRevocations() {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q, s_.Query("SELECT trust_domain, list, updated_at FROM "
                             "federated_revocations ORDER BY trust_domain"));
  return s_.Rows<FederatedRevocationsRecord>(q, "list federated revocations",
                                             ReadFederatedRevocations);
}

}  // namespace aztp::internal

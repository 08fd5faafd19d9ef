// The coordination repository (sql_repositories.h): leases, single-use
// claims and tickets.
#include <optional>
#include <string>
#include <utility>

#include "store/sql_repositories.h"

namespace aztp::internal {
namespace {

constexpr const char* kTicketSelect =
    "SELECT kind, \"key\", owner, body, expires_at FROM tickets";
// Leases expired this long ago are swept (a lease is renewed every few
// seconds, so one this old names a replica that is gone).
constexpr UnixTime kLeaseSweepAge = 86'400;

Result<LeaseRecord> ReadLease(const SqlRow& row) {
  LeaseRecord r;
  r.name = row.Text("name");
  r.holder = row.Text("holder");
  r.expires_at = row.Int("expires_at");
  r.term = row.Int("term");
  return r;
}

Result<TicketRecord> ReadTicket(const SqlRow& row) {
  TicketRecord r;
  r.kind = row.Text("kind");
  r.key = row.Text("key");
  r.owner = row.Text("owner");
  r.body = row.Secret("body");
  r.expires_at = row.Int("expires_at");
  return r;
}

// SealContext binds a sealed ticket body to its row.
std::string SealContext(const std::string& kind, const std::string& key) {
  return "aztp tickets.body " + std::to_string(kind.size()) + ":" + kind + key;
}

}  // namespace

Result<std::optional<LeaseRecord>> SqlCoordination::GetLease(
    const std::string& name) {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q, s_.Query("SELECT name, holder, expires_at, term FROM leases "
                          "WHERE name = ?"));
  q.Text(name);
  return s_.OneRow<LeaseRecord>(q, "get lease", ReadLease);
}

Status SqlCoordination::PutLease(const LeaseRecord& r) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  if (r.name.empty() || r.holder.empty()) {
    return Error(Code::kInvalidArgument,
                 "store: a lease needs a name and a "
                 "holder");
  }
  return s_.UpdateOrInsert(
      "UPDATE leases SET holder = ?, expires_at = ?, term = ? WHERE name = ?",
      "INSERT INTO leases (holder, expires_at, term, name) VALUES (?, ?, ?, ?)",
      "put lease", [&](SqlStmt& q) {
        q.Text(r.holder);
        q.Int(r.expires_at);
        q.Int(r.term);
        q.Text(r.name);
      });
}

Result<bool> SqlCoordination::ClaimOnce(const std::string& key,
                                        UnixTime expires_at, UnixTime now) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  if (key.empty() || expires_at <= now) {
    return Error(Code::kInvalidArgument,
                 "store: a claim needs a key and an expiry ahead");
  }
  // One statement: a new key is inserted, an expired claim replaced, an
  // unexpired one left as it is (and then nothing changed).
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q,
      s_.Query("INSERT INTO claims (\"key\", expires_at) VALUES (?, ?) "
               "ON CONFLICT (\"key\") DO UPDATE SET expires_at = "
               "excluded.expires_at WHERE claims.expires_at <= ?"));
  q.Text(key);
  q.Int(expires_at);
  q.Int(now);
  AZTP_RETURN_IF_ERROR(q.Run("claim"));
  return q.Changes() == 1;
}

Status SqlCoordination::PutTicket(const TicketRecord& r) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  if (r.kind.empty() || r.key.empty()) {
    return Error(Code::kInvalidArgument,
                 "store: a ticket needs a kind and a "
                 "key");
  }
  std::optional<Bytes> sealed;
  if (s_.Seals()) {
    AZTP_ASSIGN_OR_RETURN(sealed,
                          s_.SealSecret(r.body, SealContext(r.kind, r.key)));
  }
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q, s_.Query("INSERT INTO tickets (kind, \"key\", owner, body, "
                          "expires_at) VALUES (?, ?, ?, ?, ?)"));
  q.Text(r.kind);
  q.Text(r.key);
  q.Text(r.owner);
  q.Blob(sealed ? std::span<const uint8_t>(*sealed)
                : r.body.Bytes(InsecureSecretAccess::Get()));
  q.Int(r.expires_at);
  return q.Run("put ticket");
}

Result<std::optional<TicketRecord>> SqlCoordination::GetTicket(
    const std::string& kind, const std::string& key, UnixTime now) {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q,
      s_.Query(std::string(kTicketSelect) +
               " WHERE kind = ? AND \"key\" = ? AND expires_at > ?"));
  q.Text(kind);
  q.Text(key);
  q.Int(now);
  AZTP_ASSIGN_OR_RETURN(std::optional<TicketRecord> ticket,
                        s_.OneRow<TicketRecord>(q, "get ticket", ReadTicket));
  if (ticket) {
    AZTP_ASSIGN_OR_RETURN(ticket->body,
                          s_.OpenSecret(ticket->body, SealContext(kind, key)));
  }
  return ticket;
}

Status SqlCoordination::DeleteTicket(const std::string& kind,
                                     const std::string& key) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  return s_.DeleteOne("DELETE FROM tickets WHERE kind = ? AND \"key\" = ?",
                      {kind, key}, "such ticket");
}

Result<int64_t> SqlCoordination::CountTickets(
    const std::string& kind, const std::optional<std::string>& owner,
    UnixTime now) {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q,
      s_.Query(owner ? "SELECT COUNT(*) AS n FROM tickets WHERE kind = ? AND "
                       "expires_at > ? AND owner = ?"
                     : "SELECT COUNT(*) AS n FROM tickets WHERE kind = ? AND "
                       "expires_at > ?"));
  q.Text(kind);
  q.Int(now);
  if (owner) q.Text(*owner);
  AZTP_ASSIGN_OR_RETURN(
      std::optional<int64_t> n,
      s_.OneRow<int64_t>(
          q, "count tickets",
          [](const SqlRow& row) -> Result<int64_t> { return row.Int("n"); }));
  return n.value_or(0);
}

Result<int64_t> SqlCoordination::SweepExpired(UnixTime now) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  int64_t swept = 0;
  for (auto [sql, before] :
       {std::pair{"DELETE FROM claims WHERE expires_at <= ?", now},
        std::pair{"DELETE FROM tickets WHERE expires_at <= ?", now},
        std::pair{"DELETE FROM leases WHERE expires_at <= ?",
                  now - kLeaseSweepAge}}) {
    AZTP_ASSIGN_OR_RETURN(SqlStmt q, s_.Query(sql));
    q.Int(before);
    AZTP_RETURN_IF_ERROR(q.Run("sweep"));
    swept += q.Changes();
  }
  return swept;
}

}  // namespace aztp::internal

// The identities repository (sql_repositories.h).
#include <string>
#include <utility>

#include "store/sql_repositories.h"

namespace aztp::internal {
namespace {

constexpr const char* kIdentitySelect =
    "SELECT id, parent, \"global\", discoverable, metadata, selectors, "
    "status, revoked_reason, created_at, updated_at, federates_with, "
    "revoked_by FROM identities";

// ReadStrings reads a JSON array of strings (selectors, federates_with).
Result<std::vector<std::string>> ReadStrings(const std::string& text,
                                             std::string_view what) {
  AZTP_ASSIGN_OR_RETURN(Json array, DecodeJson(text, what));
  if (!array.is_array()) return Corrupt(what);
  std::vector<std::string> out;
  for (const Json& item : array) {
    if (!item.is_string()) return Corrupt(what);
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<std::string> EncodeStrings(const std::vector<std::string>& strings,
                                  std::string_view what) {
  Json array = Json::array();
  for (const std::string& s : strings) array.push_back(s);
  return EncodeJson(array, what, kMaxJsonBytes);
}

// ReadIdentity is the row mapper of IdentityRecord.
Result<IdentityRecord> ReadIdentity(const SqlRow& row) {
  IdentityRecord r;
  r.id = row.Text("id");
  r.parent = row.OptionalText("parent");
  r.global = row.Bool("global");
  r.discoverable = row.Bool("discoverable");
  AZTP_ASSIGN_OR_RETURN(r.metadata,
                        DecodeJson(row.Text("metadata"), "identity metadata"));
  AZTP_ASSIGN_OR_RETURN(
      r.selectors, ReadStrings(row.Text("selectors"), "identity selectors"));
  AZTP_ASSIGN_OR_RETURN(
      r.status, ParseStored(row.Text("status"), IdentityRecord::ParseStatus,
                            "identity status"));
  r.revoked_reason = row.Text("revoked_reason");
  r.created_at = row.Int("created_at");
  r.updated_at = row.Int("updated_at");
  if (std::optional<std::string> domains = row.OptionalText("federates_with")) {
    AZTP_ASSIGN_OR_RETURN(r.federates_with,
                          ReadStrings(*domains, "federates_with"));
  }
  r.revoked_by = row.Text("revoked_by");
  return r;
}

// ReadLink is the row mapper of LinkRecord.
Result<LinkRecord> ReadLink(const SqlRow& row) {
  LinkRecord r;
  r.from = row.Text("from_id");
  r.to = row.Text("to_id");
  AZTP_ASSIGN_OR_RETURN(
      r.kind,
      ParseStored(row.Text("kind"), LinkRecord::ParseKind, "link kind"));
  r.created_at = row.Int("created_at");
  AZTP_ASSIGN_OR_RETURN(r.metadata,
                        DecodeJson(row.Text("metadata"), "link metadata"));
  return r;
}

Status CheckIdentity(const IdentityRecord& r) {
  if (r.id.empty()) {
    return Error(Code::kInvalidArgument, "store: identity ID is empty");
  }
  if (r.parent && *r.parent == r.id) {
    return Error(Code::kInvalidArgument, "store: identity " + QuoteInput(r.id) +
                                             " cannot be its own parent");
  }
  return Ok();
}

// PrefixEnd returns the least string greater than every string that starts
// with `prefix` (byte-wise, as SQLite's BINARY collation compares), or
// nullopt when there is none (the prefix is all 0xff bytes).
std::optional<std::string> PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) {
    prefix.pop_back();
  }
  if (prefix.empty()) return std::nullopt;
  prefix.back() =
      static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

}  // namespace

Status SqlIdentities::CheckParent(const IdentityRecord& r) {
  if (!r.parent) return Ok();
  AZTP_ASSIGN_OR_RETURN(bool exists, s_.IdentityExists(*r.parent));
  if (!exists) {
    return Error(Code::kInvalidArgument,
                 "store: parent " + QuoteInput(*r.parent) + " of identity " +
                     QuoteInput(r.id) + " does not exist");
  }
  return Ok();
}

// The INSERT and the UPDATE bind the same columns in the same order, the
// key last, so that one binding serves both.
Status SqlIdentities::WriteIdentity(const IdentityRecord& r, bool insert) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  AZTP_RETURN_IF_ERROR(CheckIdentity(r));
  AZTP_ASSIGN_OR_RETURN(std::string metadata,
                        EncodeJson(r.metadata, "metadata", kMaxMetadataBytes));
  AZTP_ASSIGN_OR_RETURN(std::string selectors,
                        EncodeStrings(r.selectors, "selectors"));
  std::optional<std::string> federates_with;
  if (r.federates_with) {
    AZTP_ASSIGN_OR_RETURN(federates_with,
                          EncodeStrings(*r.federates_with, "federates_with"));
  }
  AZTP_ASSIGN_OR_RETURN(bool exists, s_.IdentityExists(r.id));
  if (exists == insert) {
    return Error(insert ? Code::kAlreadyExists : Code::kNotFound,
                 "store: identity " + QuoteInput(r.id) +
                     (insert ? " already exists" : " does not exist"));
  }
  AZTP_RETURN_IF_ERROR(CheckParent(r));
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q,
      s_.Query(insert ? "INSERT INTO identities (parent, \"global\", "
                        "discoverable, metadata, selectors, status, "
                        "revoked_reason, updated_at, federates_with, "
                        "revoked_by, created_at, id) VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                      : "UPDATE identities SET parent = ?, \"global\" = ?, "
                        "discoverable = ?, metadata = ?, selectors = ?, "
                        "status = ?, revoked_reason = ?, updated_at = ?, "
                        "federates_with = ?, revoked_by = ? WHERE id = ?"));
  q.OptionalText(r.parent);
  q.Bool(r.global);
  q.Bool(r.discoverable);
  q.Text(metadata);
  q.Text(selectors);
  q.Text(ToString(r.status));
  q.Text(r.revoked_reason);
  q.Int(r.updated_at);
  q.OptionalText(federates_with);
  q.Text(r.revoked_by);
  if (insert) q.Int(r.created_at);
  q.Text(r.id);
  return q.Run(insert ? "insert identity" : "update identity");
}

Status SqlIdentities::InsertIdentity(const IdentityRecord& r) {
  return WriteIdentity(r, /*insert=*/true);
}

Status SqlIdentities::UpdateIdentity(const IdentityRecord& r) {
  return WriteIdentity(r, /*insert=*/false);
}

Result<std::optional<IdentityRecord>> SqlIdentities::GetIdentity(
    const std::string& id) {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q, s_.Query(std::string(kIdentitySelect) + " WHERE id = ?"));
  q.Text(id);
  return s_.OneRow<IdentityRecord>(q, "get identity", ReadIdentity);
}

Result<std::vector<IdentityRecord>> SqlIdentities::ListIdentities(
    const IdentityFilter& filter) {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_RETURN_IF_ERROR(CheckLimit(filter.limit));
  // The prefix is a key range [prefix, PrefixEnd(prefix)): exact for any
  // bytes (no LIKE wildcards, no case folding) and served by the primary
  // key index. The statement text depends only on which filters are set,
  // so at most a few dozen variants are ever prepared.
  std::optional<std::string> prefix_end;
  const bool has_prefix = filter.id_prefix && !filter.id_prefix->empty();
  if (has_prefix) prefix_end = PrefixEnd(*filter.id_prefix);
  std::string sql = std::string(kIdentitySelect) + " WHERE id > ?";
  if (has_prefix) sql += " AND id >= ?";
  if (prefix_end) sql += " AND id < ?";
  if (filter.status) sql += " AND status = ?";
  if (filter.parent) sql += " AND parent = ?";
  if (filter.discoverable) sql += " AND discoverable = ?";
  sql += " ORDER BY id LIMIT ?";
  AZTP_ASSIGN_OR_RETURN(SqlStmt q, s_.Query(sql));
  q.Text(filter.after);
  if (has_prefix) q.Text(*filter.id_prefix);
  if (prefix_end) q.Text(*prefix_end);
  if (filter.status) q.Text(ToString(*filter.status));
  if (filter.parent) q.Text(*filter.parent);
  if (filter.discoverable) q.Bool(*filter.discoverable);
  q.Int(filter.limit);
  return s_.Rows<IdentityRecord>(q, "list identities", ReadIdentity);
}

Result<int64_t> SqlIdentities::CountIdentities(
    std::optional<IdentityRecord::Status> status) {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q,
      s_.Query(status ? "SELECT COUNT(*) AS n FROM identities WHERE status = ?"
                      : "SELECT COUNT(*) AS n FROM identities"));
  if (status) q.Text(ToString(*status));
  AZTP_ASSIGN_OR_RETURN(
      std::optional<int64_t> n,
      s_.OneRow<int64_t>(
          q, "count identities",
          [](const SqlRow& row) -> Result<int64_t> { return row.Int("n"); }));
  if (!n) return Corrupt("identity count");
  return *n;
}

Status SqlIdentities::NoteRevocationChange(const std::string& id,
                                           int64_t sequence) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  AZTP_ASSIGN_OR_RETURN(bool exists, s_.IdentityExists(id));
  if (!exists) {
    return Error(Code::kInvalidArgument,
                 "store: no identity " + QuoteInput(id) + " to note");
  }
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q,
      s_.Query("INSERT INTO revocation_changes (id, seq) VALUES (?, ?) "
               "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq"));
  q.Text(id);
  q.Int(sequence);
  return q.Run("note revocation change");
}

Result<std::vector<std::string>> SqlIdentities::ListRevocationChanges(
    int64_t after, std::size_t limit) {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  if (limit < 1 || limit > 10000) {
    return Error(Code::kInvalidArgument,
                 "store: revocation changes are listed 1 to 10000 at a time");
  }
  AZTP_ASSIGN_OR_RETURN(SqlStmt q,
                        s_.Query("SELECT id FROM revocation_changes WHERE seq "
                                 "> ? ORDER BY seq, id LIMIT ?"));
  q.Int(after);
  q.Int(static_cast<int64_t>(limit));
  return s_.Rows<std::string>(
      q, "list revocation changes",
      [](const SqlRow& row) -> Result<std::string> { return row.Text("id"); });
}

Status SqlIdentities::CheckLinkIsNew(const LinkRecord& r) {
  for (const std::string* id : {&r.from, &r.to}) {
    AZTP_ASSIGN_OR_RETURN(bool exists, s_.IdentityExists(*id));
    if (!exists) {
      return Error(Code::kInvalidArgument, "store: link names identity " +
                                               QuoteInput(*id) +
                                               ", which does not exist");
    }
  }
  AZTP_ASSIGN_OR_RETURN(SqlStmt q,
                        s_.Query("SELECT 1 FROM links WHERE from_id = ? AND "
                                 "to_id = ? AND kind = ?"));
  q.Text(r.from);
  q.Text(r.to);
  q.Text(ToString(r.kind));
  AZTP_ASSIGN_OR_RETURN(bool exists, q.Step("find link"));
  if (exists) {
    return Error(
        Code::kAlreadyExists,
        "store: link " + QuoteInput(r.from) + " -> " + QuoteInput(r.to) + " (" +
            QuoteInput(std::string(ToString(r.kind))) + ") already exists");
  }
  return Ok();
}

Status SqlIdentities::InsertLink(const LinkRecord& r) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  AZTP_RETURN_IF_ERROR(CheckLinkIsNew(r));
  AZTP_ASSIGN_OR_RETURN(
      std::string metadata,
      EncodeJson(r.metadata, "link metadata", kMaxMetadataBytes));
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q, s_.Query("INSERT INTO links (from_id, to_id, kind, "
                          "created_at, metadata) VALUES (?, ?, ?, ?, ?)"));
  q.Text(r.from);
  q.Text(r.to);
  q.Text(ToString(r.kind));
  q.Int(r.created_at);
  q.Text(metadata);
  return q.Run("insert link");
}

Result<std::vector<LinkRecord>> SqlIdentities::ListLinks(
    const std::string& id) {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q,
      s_.Query("SELECT from_id, to_id, kind, created_at, metadata FROM links "
               "WHERE from_id = ? OR to_id = ? ORDER BY from_id, to_id, kind"));
  q.Text(id);
  q.Text(id);
  return s_.Rows<LinkRecord>(q, "list links", ReadLink);
}

}  // namespace aztp::internal

// Identity routes: register, list, get, link, revoke, reissue; discovery.
#include <algorithm>
#include <functional>
#include <set>

#include "api.h"
#include "audit.h"

namespace aztp {

using internal::Appended;
using internal::BadRequest;
using internal::MakeAudit;

namespace {

constexpr std::size_t kMaxReasonBytes = 1024;

Result<int64_t> BumpRevocationSequence(Transaction& tx) {
  using internal::kRevocationSequence;
  AZTP_ASSIGN_OR_RETURN(auto current, tx.GetMeta(kRevocationSequence));
  int64_t next = current.value_or(0) + 1;
  AZTP_RETURN_IF_ERROR(tx.PutMeta(kRevocationSequence, next));
  return next;
}

// QueryPrefix reads the optional `prefix` query parameter: a SPIFFE ID
// prefix within `td` ("spiffe://td/agents/"), or a path prefix ("/agents/").
Result<std::optional<std::string>> QueryPrefix(const http::Request& req,
                                               const TrustDomain& td) {
  auto it = req.query.find("prefix");
  using Prefix = std::optional<std::string>;
  if (it == req.query.end() || it->second.empty()) return Prefix();
  const std::string& p = it->second;
  if (p.size() > 2048) return BadRequest("prefix is too long");
  if (p[0] == '/') return Prefix(td.IdString() + p);
  if (p.rfind(td.IdString() + "/", 0) != 0) {
    return BadRequest("prefix must be a path or an ID prefix of " + td.name());
  }
  return Prefix(p);
}

Result<std::string> QueryAfter(const http::Request& req) {
  auto it = req.query.find("after");
  if (it == req.query.end()) return std::string();
  if (it->second.size() > 2048) return BadRequest("after is too long");
  return it->second;
}

// IdentityPage lists one page of identities matching `f` as
// {"identities": [...], "next"}, rendering each with `render` (which may
// skip one by returning null).
Result<Json> IdentityPage(
    Store& store, const IdentityFilter& f,
    const std::function<Json(const IdentityRecord&)>& render) {
  Json list = Json::array();
  std::string next;
  AZTP_RETURN_IF_ERROR(store.Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto page, tx.ListIdentities(f));
    for (const auto& r : page) {
      Json item = render(r);
      if (!item.is_null()) list.push_back(std::move(item));
    }
    if (page.size() == static_cast<std::size_t>(f.limit)) {
      next = page.back().id;
    }
    return Ok();
  }));
  return Json{{"identities", std::move(list)},
              {"next", next.empty() ? Json() : Json(next)}};
}

// FederatesWith reads the optional `federates_with` member: null or absent
// is every federated domain, an array lists the accepted ones.
Result<std::optional<std::vector<std::string>>> FederatesWith(
    const Json& body, const TrustDomain& own) {
  using Domains = std::optional<std::vector<std::string>>;
  auto it = body.find("federates_with");
  if (it == body.end() || it->is_null()) return Domains();
  if (!it->is_array() || it->size() > 64) {
    return BadRequest(
        "federates_with must be null or an array of at most 64 trust "
        "domains");
  }
  std::set<std::string> names;
  for (const Json& d : *it) {
    if (!d.is_string()) return BadRequest("federates_with lists names");
    AZTP_ASSIGN_OR_RETURN(TrustDomain td,
                          TrustDomain::Parse(d.get<std::string>()));
    if (td == own) {
      return BadRequest("federates_with lists other trust domains, not " +
                        own.name());
    }
    names.insert(td.name());
  }
  return Domains(std::vector<std::string>(names.begin(), names.end()));
}

// RevokedByAdmin: was the revocation recorded in `r` made with an admin
// key? A revoker that cannot be told (no record, not an API key) counts as
// an admin, so that doubt keeps an identity revoked.
Result<bool> RevokedByAdmin(Transaction& tx, const IdentityRecord& r) {
  constexpr std::string_view kKeyActor = "apikey:";
  if (!r.revoked_by.starts_with(kKeyActor)) return true;
  AZTP_ASSIGN_OR_RETURN(auto key,
                        tx.GetApiKey(r.revoked_by.substr(kKeyActor.size())));
  return !key || key->is_admin();
}

// MayChangeRevocation: a scoped key may not undo or rewrite an admin's
// revocation (docs/aztpd.md, "Permissions"); admins may always.
Status MayChangeRevocation(Transaction& tx, const IdentityRecord& r,
                           const ControlPlane::Principal& who) {
  if (who.admin || r.status != IdentityRecord::Status::kRevoked) return Ok();
  AZTP_ASSIGN_OR_RETURN(bool by_admin, RevokedByAdmin(tx, r));
  if (!by_admin) return Ok();
  return Error(Code::kPermissionDenied,
               r.id +
                   " was revoked with an admin key; only an admin key may "
                   "reissue it or change its revocation");
}

// Narrows: is `next` a subset of `current` (nullopt: every domain)?
bool Narrows(const std::optional<std::vector<std::string>>& current,
             const std::optional<std::vector<std::string>>& next) {
  if (!next) return !current;
  if (!current) return true;
  return std::all_of(next->begin(), next->end(), [&](const std::string& d) {
    return std::find(current->begin(), current->end(), d) != current->end();
  });
}

// RevokeOrReissue applies `action` ("revoke" or "reissue") to a registered
// identity, recording who revoked it.
Result<IdentityRecord> RevokeOrReissue(Store& store, const SpiffeId& id,
                                       const std::string& action,
                                       const std::string& reason,
                                       const ControlPlane::Principal& who,
                                       UnixTime now) {
  IdentityRecord updated;
  AZTP_RETURN_IF_ERROR(store.Write([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto r, tx.GetIdentity(id.str()));
    if (!r) return Error(Code::kNotFound, id.str() + " is not registered");
    AZTP_RETURN_IF_ERROR(MayChangeRevocation(tx, *r, who));
    const bool revoke = action == "revoke";
    r->status = revoke ? IdentityRecord::Status::kRevoked
                       : IdentityRecord::Status::kActive;
    r->revoked_reason = revoke ? reason : "";
    r->revoked_by = revoke ? who.actor : "";
    r->updated_at = now;
    AZTP_RETURN_IF_ERROR(tx.UpdateIdentity(*r));
    AZTP_ASSIGN_OR_RETURN(int64_t seq, BumpRevocationSequence(tx));
    AuditRecord a = MakeAudit(now, who.actor, "identity." + action, id.str(),
                              Json{{"revocation_sequence", seq}});
    a.reason = reason;
    AZTP_RETURN_IF_ERROR(tx.AppendAudit(a));
    updated = std::move(*r);
    return Ok();
  }));
  return updated;
}

}  // namespace

Result<Json> ControlPlane::Identities(const http::Request& req,
                                      const Principal& who, UnixTime now,
                                      Reply& reply) {
  const std::string& path = req.path;
  const std::string& m = req.method;
  const TrustDomain& td = trust_domain_;

  if (path == "/v1/identities" && m == "POST") {
    reply.route = "/v1/identities";
    AZTP_ASSIGN_OR_RETURN(Json body, internal::BodyObject(req));
    AZTP_RETURN_IF_ERROR(internal::OnlyMembers(
        body, {"id", "parent", "global", "discoverable", "metadata",
               "selectors", "federates_with"}));
    AZTP_ASSIGN_OR_RETURN(SpiffeId id, internal::WorkloadId(body, "id", td));
    if (!who.MayManage(id)) {
      return Error(Code::kPermissionDenied,
                   "these credentials may not register " + id.str());
    }
    IdentityRecord r;
    r.id = id.str();
    AZTP_ASSIGN_OR_RETURN(auto parent, GetOptionalString(body, "parent"));
    if (parent) {
      AZTP_ASSIGN_OR_RETURN(SpiffeId parent_id,
                            SpiffeId::ParseUserInput(*parent));
      // The parent link binds two identities: both ends need rights.
      if (!who.MayManage(parent_id)) {
        return Error(Code::kPermissionDenied,
                     "these credentials may not link to " + parent_id.str() +
                         " (a parent needs rights on both identities)");
      }
      r.parent = parent_id.str();
    }
    AZTP_ASSIGN_OR_RETURN(r.global,
                          internal::OptionalBool(body, "global", false));
    AZTP_ASSIGN_OR_RETURN(r.discoverable,
                          internal::OptionalBool(body, "discoverable", false));
    AZTP_ASSIGN_OR_RETURN(r.metadata,
                          internal::OptionalMetadata(body, "metadata"));
    AZTP_ASSIGN_OR_RETURN(r.federates_with, FederatesWith(body, td));
    if (auto sel = body.find("selectors"); sel != body.end()) {
      if (!sel->is_array() || sel->size() > 64) {
        return BadRequest("selectors must be an array of at most 64 strings");
      }
      for (const auto& s : *sel) {
        if (!s.is_string() || s.get_ref<const std::string&>().size() > 256) {
          return BadRequest("selectors must be strings of at most 256 bytes");
        }
        r.selectors.push_back(s.get<std::string>());
      }
    }
    r.created_at = r.updated_at = now;
    AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
      AZTP_RETURN_IF_ERROR(tx.InsertIdentity(r));
      if (r.parent) {
        LinkRecord link;
        link.from = *r.parent;
        link.to = r.id;
        link.kind = LinkRecord::Kind::kParent;
        link.created_at = now;
        AZTP_RETURN_IF_ERROR(tx.InsertLink(link));
      }
      return Appended(
          tx.AppendAudit(MakeAudit(now, who.actor, "identity.register", r.id)));
    }));
    reply.status = 201;
    return internal::IdentityJson(r);
  }

  if (path == "/v1/identities" && m == "GET") {
    reply.route = "/v1/identities";
    IdentityFilter f;
    AZTP_ASSIGN_OR_RETURN(f.id_prefix, QueryPrefix(req, td));
    if (auto it = req.query.find("status"); it != req.query.end()) {
      f.status = IdentityRecord::ParseStatus(it->second);
      if (!f.status) {
        return BadRequest("status must be \"active\" or \"revoked\"");
      }
    }
    if (auto it = req.query.find("parent"); it != req.query.end()) {
      AZTP_ASSIGN_OR_RETURN(SpiffeId parent,
                            SpiffeId::ParseUserInput(it->second));
      f.parent = parent.str();
    }
    AZTP_ASSIGN_OR_RETURN(f.after, QueryAfter(req));
    AZTP_ASSIGN_OR_RETURN(f.limit, internal::PageLimit(req));
    // Scoped keys see the identities under their prefix only.
    return IdentityPage(*store_, f, [&](const IdentityRecord& r) -> Json {
      auto id = SpiffeId::Parse(r.id);
      if (!id || !who.MayManage(*id)) return Json();
      return internal::IdentityJson(r);
    });
  }

  // /v1/identities/<td>/<path>[:action]
  if (path.rfind("/v1/identities/", 0) != 0) {
    return Error(Code::kNotFound, "no such route");
  }
  std::string rest = path.substr(15);
  std::string action;
  if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    action = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
  }
  reply.route =
      "/v1/identities/{id}" + (action.empty() ? std::string() : ":" + action);
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, SpiffeId::Parse("spiffe://" + rest));
  if (!who.MayManage(id)) {
    return Error(Code::kPermissionDenied,
                 "these credentials may not manage " + id.str());
  }
  if (m == "GET" && action.empty()) {
    std::optional<IdentityRecord> r;
    Json links = Json::array();
    AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
      AZTP_ASSIGN_OR_RETURN(r, tx.GetIdentity(id.str()));
      if (r) {
        AZTP_ASSIGN_OR_RETURN(auto ls, tx.ListLinks(id.str()));
        for (const auto& l : ls) links.push_back(internal::LinkJson(l));
      }
      return Ok();
    }));
    if (!r) return Error(Code::kNotFound, id.str() + " is not registered");
    Json out = internal::IdentityJson(*r);
    out["links"] = std::move(links);
    return out;
  }
  if (m == "PATCH" && action.empty()) {
    AZTP_ASSIGN_OR_RETURN(Json body, internal::BodyObject(req));
    AZTP_RETURN_IF_ERROR(internal::OnlyMembers(body, {"federates_with"}));
    if (!body.contains("federates_with")) {
      return BadRequest("nothing to change: send federates_with");
    }
    AZTP_ASSIGN_OR_RETURN(auto domains, FederatesWith(body, td));
    IdentityRecord updated;
    AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
      AZTP_ASSIGN_OR_RETURN(auto r, tx.GetIdentity(id.str()));
      if (!r) return Error(Code::kNotFound, id.str() + " is not registered");
      // Widening whom an identity accepts could undo an admin's narrowing,
      // which a scoped key cannot tell apart from its own: it may narrow.
      if (!who.admin && !Narrows(r->federates_with, domains)) {
        return Error(Code::kPermissionDenied,
                     "a scoped key may only narrow federates_with of " +
                         id.str() + "; widening it needs an admin key");
      }
      r->federates_with = domains;
      r->updated_at = now;
      AZTP_RETURN_IF_ERROR(tx.UpdateIdentity(*r));
      updated = *r;
      return Appended(tx.AppendAudit(MakeAudit(
          now, who.actor, "identity.update", id.str(),
          Json{{"federates_with", domains ? Json(*domains) : Json()}})));
    }));
    return internal::IdentityJson(updated);
  }
  if (m == "POST" && action == "link") {
    AZTP_ASSIGN_OR_RETURN(Json body, internal::BodyObject(req));
    AZTP_RETURN_IF_ERROR(
        internal::OnlyMembers(body, {"to", "kind", "metadata"}));
    AZTP_ASSIGN_OR_RETURN(std::string to_text, GetString(body, "to"));
    AZTP_ASSIGN_OR_RETURN(SpiffeId to, SpiffeId::ParseUserInput(to_text));
    // A link connects both ends (the hosted SDK's connection checks read
    // it), so both need rights; checked before the store so that a refusal
    // does not tell whether `to` is registered.
    if (!who.MayManage(to)) {
      return Error(Code::kPermissionDenied,
                   "these credentials may not link to " + to.str() +
                       " (a link needs rights on both identities)");
    }
    LinkRecord link;
    link.from = id.str();
    link.to = to.str();
    AZTP_ASSIGN_OR_RETURN(auto kind, GetOptionalString(body, "kind"));
    auto parsed = LinkRecord::ParseKind(kind.value_or("linked"));
    if (!parsed) {
      return BadRequest("kind must be \"linked\" or \"parent\"");
    }
    link.kind = *parsed;
    if (link.from == link.to) {
      return BadRequest("an identity cannot be linked to itself");
    }
    AZTP_ASSIGN_OR_RETURN(link.metadata,
                          internal::OptionalMetadata(body, "metadata"));
    link.created_at = now;
    AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
      for (const std::string* end : {&link.from, &link.to}) {
        AZTP_ASSIGN_OR_RETURN(auto r, tx.GetIdentity(*end));
        if (!r) return Error(Code::kNotFound, *end + " is not registered");
      }
      AZTP_RETURN_IF_ERROR(tx.InsertLink(link));
      return Appended(tx.AppendAudit(
          MakeAudit(now, who.actor, "identity.link", link.from,
                    Json{{"to", link.to}, {"kind", ToString(link.kind)}})));
    }));
    reply.status = 201;
    return internal::LinkJson(link);
  }
  if (m == "POST" && (action == "revoke" || action == "reissue")) {
    std::string reason;
    if (!req.body.empty()) {
      AZTP_ASSIGN_OR_RETURN(Json body, internal::BodyObject(req));
      AZTP_RETURN_IF_ERROR(internal::OnlyMembers(body, {"reason"}));
      AZTP_ASSIGN_OR_RETURN(auto given, GetOptionalString(body, "reason"));
      reason = given.value_or("");
      if (reason.size() > kMaxReasonBytes) {
        return BadRequest("reason is longer than 1024 bytes");
      }
    }
    AZTP_ASSIGN_OR_RETURN(
        IdentityRecord updated,
        RevokeOrReissue(*store_, id, action, reason, who, now));
    return internal::IdentityJson(updated);
  }
  return Error(Code::kNotFound, "no such route");
}

Result<Json> ControlPlane::Discover(const http::Request& req, Reply& reply) {
  reply.route = "/v1/discover";
  if (auto it = req.query.find("trust_domain");
      it != req.query.end() && it->second != trust_domain_.name()) {
    return Error(Code::kNotFound, "trust domain " + QuoteInput(it->second) +
                                      " is not served here");
  }
  IdentityFilter f;
  AZTP_ASSIGN_OR_RETURN(f.id_prefix, QueryPrefix(req, trust_domain_));
  f.status = IdentityRecord::Status::kActive;
  f.discoverable = true;
  AZTP_ASSIGN_OR_RETURN(f.after, QueryAfter(req));
  AZTP_ASSIGN_OR_RETURN(f.limit, internal::PageLimit(req));
  return IdentityPage(*store_, f, [](const IdentityRecord& r) -> Json {
    return Json{{"id", r.id},
                {"parent", r.parent ? Json(*r.parent) : Json()},
                {"global", r.global},
                {"metadata", r.metadata},
                {"selectors", r.selectors}};
  });
}

}  // namespace aztp

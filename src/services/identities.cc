#include "aztp/services/identities.h"

#include <algorithm>
#include <set>

#include "aztp/services/audit_entry.h"

namespace aztp::services {

namespace {

Error BadRequest(std::string message) {
  return Error(Code::kInvalidArgument, std::move(message));
}

Result<int64_t> BumpRevocationSequence(Transaction& tx) {
  AZTP_ASSIGN_OR_RETURN(auto current, tx.GetMeta(kRevocationSequence));
  int64_t next = current.value_or(0) + 1;
  AZTP_RETURN_IF_ERROR(tx.PutMeta(kRevocationSequence, next));
  return next;
}

// DomainNames is the stored form of federates_with: sorted, unique names,
// never the own trust domain.
Result<std::optional<std::vector<std::string>>> DomainNames(
    const DomainList& domains, const TrustDomain& own) {
  using Names = std::optional<std::vector<std::string>>;
  if (!domains) return Names();
  if (domains->size() > kMaxFederatesWith) {
    return BadRequest(
        "federates_with must be null or an array of at most 64 trust "
        "domains");
  }
  std::set<std::string> names;
  for (const TrustDomain& td : *domains) {
    if (td == own) {
      return BadRequest("federates_with lists other trust domains, not " +
                        own.name());
    }
    names.insert(td.name());
  }
  return Names(std::vector<std::string>(names.begin(), names.end()));
}

// RevokedByAdmin: was the revocation recorded in `r` made with an admin
// key? A revoker that cannot be told (no record, not an API key) counts as
// an admin, so that doubt keeps an identity revoked.
Result<bool> RevokedByAdmin(Transaction& tx, const IdentityRecord& r) {
  constexpr std::string_view kKeyActor = "apikey:";
  if (!r.revoked_by.starts_with(kKeyActor)) return true;
  AZTP_ASSIGN_OR_RETURN(auto key,
                        tx.GetApiKey(r.revoked_by.substr(kKeyActor.size())));
  return !key || key->scope == kAdminScope;
}

// MayChangeRevocation: a scoped key may not undo or rewrite an admin's
// revocation (docs/aztpd.md, "Permissions"); admins may always.
Status MayChangeRevocation(Transaction& tx, const IdentityRecord& r,
                           const Principal& who) {
  if (who.admin() || r.status != IdentityRecord::Status::kRevoked) return Ok();
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

Status CheckMetadata(const Json& metadata, const char* name) {
  if (!metadata.is_object() || DumpJson(metadata).size() > kMaxMetadataBytes) {
    return BadRequest(std::string(name) +
                      " must be an object of at most 16 KiB");
  }
  return Ok();
}

Status CheckSelectors(const std::vector<std::string>& selectors) {
  if (selectors.size() > kMaxSelectors) {
    return BadRequest("selectors must be an array of at most 64 strings");
  }
  for (const auto& s : selectors) {
    if (s.size() > kMaxSelectorBytes) {
      return BadRequest("selectors must be strings of at most 256 bytes");
    }
  }
  return Ok();
}

Status MayManage(const Principal& who, const SpiffeId& id,
                 std::string_view verb) {
  if (who.MayManage(id)) return Ok();
  return Error(Code::kPermissionDenied, "these credentials may not " +
                                            std::string(verb) + " " + id.str());
}

Result<IdentityRecord> Registered(Transaction& tx, const SpiffeId& id) {
  AZTP_ASSIGN_OR_RETURN(auto r, tx.GetIdentity(id.str()));
  if (!r) return Error(Code::kNotFound, id.str() + " is not registered");
  return std::move(*r);
}

}  // namespace

Status RequireWorkloadId(const TrustDomain& td, const SpiffeId& id) {
  if (!id.MemberOf(td) || !id.IsWorkload()) {
    return BadRequest(id.str() + " is not a workload ID of " + td.name());
  }
  // Whoever held aztpd's ID could serve a forged bundle endpoint to the
  // federation peers that name it (docs/security.md).
  if (id == SpiffeId::ControlPlane(td)) {
    return BadRequest(id.str() +
                      " is aztpd's own identity; no workload may "
                      "hold it");
  }
  return Ok();
}

Status RequireServedTrustDomain(const TrustDomain& td, std::string_view name) {
  if (name == td.name()) return Ok();
  return Error(Code::kNotFound,
               "trust domain " + QuoteInput(name) + " is not served here");
}

Result<IdentityRecord> IdentityService::Register(const Principal& who,
                                                 NewIdentity request) {
  AZTP_RETURN_IF_ERROR(RequireWorkloadId(ctx_.trust_domain, request.id));
  AZTP_RETURN_IF_ERROR(MayManage(who, request.id, "register"));
  IdentityRecord r;
  r.id = request.id.str();
  if (request.parent) {
    // The parent link binds two identities: both ends need rights.
    if (!who.MayManage(*request.parent)) {
      return Error(Code::kPermissionDenied,
                   "these credentials may not link to " +
                       request.parent->str() +
                       " (a parent needs rights on both identities)");
    }
    r.parent = request.parent->str();
  }
  AZTP_RETURN_IF_ERROR(CheckMetadata(request.metadata, "metadata"));
  AZTP_RETURN_IF_ERROR(CheckSelectors(request.selectors));
  AZTP_ASSIGN_OR_RETURN(r.federates_with,
                        DomainNames(request.federates_with, ctx_.trust_domain));
  r.global = request.global;
  r.discoverable = request.discoverable;
  r.metadata = std::move(request.metadata);
  r.selectors = std::move(request.selectors);
  const UnixTime now = ctx_.Now();
  r.created_at = r.updated_at = now;
  AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
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
        tx.AppendAudit(MakeAudit(now, who.actor(), "identity.register", r.id)));
  }));
  return r;
}

Result<IdentityPage> IdentityService::Page(const IdentityFilter& filter,
                                           const Principal* visible_to) {
  IdentityPage out;
  AZTP_RETURN_IF_ERROR(ctx_.store->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto page, tx.ListIdentities(filter));
    if (page.size() == static_cast<std::size_t>(filter.limit)) {
      out.next = page.back().id;
    }
    for (auto& r : page) {
      if (visible_to != nullptr) {
        auto id = SpiffeId::Parse(r.id);
        if (!id || !visible_to->MayManage(*id)) continue;
      }
      out.identities.push_back(std::move(r));
    }
    return Ok();
  }));
  return out;
}

Result<IdentityPage> IdentityService::List(const Principal& who,
                                           const IdentityQuery& query) {
  IdentityFilter f;
  f.id_prefix = query.id_prefix;
  if (query.status) {
    f.status = IdentityRecord::ParseStatus(*query.status);
    if (!f.status)
      return BadRequest("status must be \"active\" or \"revoked\"");
  }
  if (query.parent) f.parent = query.parent->str();
  f.after = query.after;
  f.limit = query.limit;
  // Scoped keys see the identities under their scope only.
  return Page(f, &who);
}

Result<IdentityPage> IdentityService::Discover(IdentityQuery query) {
  IdentityFilter f;
  f.id_prefix = std::move(query.id_prefix);
  f.status = IdentityRecord::Status::kActive;
  f.discoverable = true;
  f.after = std::move(query.after);
  f.limit = query.limit;
  return Page(f, nullptr);
}

Result<IdentityDetails> IdentityService::Get(const Principal& who,
                                             const SpiffeId& id) {
  AZTP_RETURN_IF_ERROR(MayManage(who, id, "manage"));
  IdentityDetails out;
  AZTP_RETURN_IF_ERROR(ctx_.store->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(out.identity, Registered(tx, id));
    AZTP_ASSIGN_OR_RETURN(out.links, tx.ListLinks(id.str()));
    return Ok();
  }));
  return out;
}

Result<IdentityRecord> IdentityService::SetFederatesWith(
    const Principal& who, const SpiffeId& id, const DomainList& domains) {
  AZTP_RETURN_IF_ERROR(MayManage(who, id, "manage"));
  AZTP_ASSIGN_OR_RETURN(auto names, DomainNames(domains, ctx_.trust_domain));
  const UnixTime now = ctx_.Now();
  IdentityRecord updated;
  AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(IdentityRecord r, Registered(tx, id));
    // Widening whom an identity accepts could undo an admin's narrowing,
    // which a scoped key cannot tell apart from its own: it may narrow.
    if (!who.admin() && !Narrows(r.federates_with, names)) {
      return Error(Code::kPermissionDenied,
                   "a scoped key may only narrow federates_with of " +
                       id.str() + "; widening it needs an admin key");
    }
    r.federates_with = names;
    r.updated_at = now;
    AZTP_RETURN_IF_ERROR(tx.UpdateIdentity(r));
    updated = r;
    return Appended(tx.AppendAudit(
        MakeAudit(now, who.actor(), "identity.update", id.str(),
                  Json{{"federates_with", names ? Json(*names) : Json()}})));
  }));
  return updated;
}

Result<LinkRecord> IdentityService::Link(const Principal& who,
                                         NewLink request) {
  AZTP_RETURN_IF_ERROR(MayManage(who, request.from, "manage"));
  // A link connects both ends (the hosted SDK's connection checks read it),
  // so both need rights; checked before the store so that a refusal does
  // not tell whether `to` is registered.
  if (!who.MayManage(request.to)) {
    return Error(Code::kPermissionDenied,
                 "these credentials may not link to " + request.to.str() +
                     " (a link needs rights on both identities)");
  }
  const std::optional<LinkRecord::Kind> kind =
      LinkRecord::ParseKind(request.kind);
  if (!kind) return BadRequest("kind must be \"linked\" or \"parent\"");
  if (request.from == request.to) {
    return BadRequest("an identity cannot be linked to itself");
  }
  AZTP_RETURN_IF_ERROR(CheckMetadata(request.metadata, "metadata"));
  const UnixTime now = ctx_.Now();
  LinkRecord link{request.from.str(), request.to.str(), *kind, now,
                  std::move(request.metadata)};
  AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
    for (const SpiffeId* end : {&request.from, &request.to}) {
      AZTP_RETURN_IF_ERROR(Registered(tx, *end));
    }
    AZTP_RETURN_IF_ERROR(tx.InsertLink(link));
    return Appended(tx.AppendAudit(
        MakeAudit(now, who.actor(), "identity.link", link.from,
                  Json{{"to", link.to}, {"kind", ToString(link.kind)}})));
  }));
  return link;
}

Result<IdentityRecord> IdentityService::Revoke(const Principal& who,
                                               const SpiffeId& id,
                                               const std::string& reason) {
  return ChangeStatus(who, id, /*revoke=*/true, reason);
}

Result<IdentityRecord> IdentityService::Reissue(const Principal& who,
                                                const SpiffeId& id,
                                                const std::string& reason) {
  return ChangeStatus(who, id, /*revoke=*/false, reason);
}

Result<IdentityRecord> IdentityService::ChangeStatus(
    const Principal& who, const SpiffeId& id, bool revoke,
    const std::string& reason) {
  AZTP_RETURN_IF_ERROR(MayManage(who, id, "manage"));
  if (reason.size() > kMaxReasonBytes) {
    return BadRequest("reason is longer than 1024 bytes");
  }
  const UnixTime now = ctx_.Now();
  IdentityRecord updated;
  AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(IdentityRecord r, Registered(tx, id));
    AZTP_RETURN_IF_ERROR(MayChangeRevocation(tx, r, who));
    r.status = revoke ? IdentityRecord::Status::kRevoked
                      : IdentityRecord::Status::kActive;
    r.revoked_reason = revoke ? reason : "";
    r.revoked_by = revoke ? who.actor() : "";
    r.updated_at = now;
    AZTP_RETURN_IF_ERROR(tx.UpdateIdentity(r));
    AZTP_ASSIGN_OR_RETURN(int64_t seq, BumpRevocationSequence(tx));
    AZTP_RETURN_IF_ERROR(tx.NoteRevocationChange(r.id, seq));
    AuditRecord a = MakeAudit(now, who.actor(),
                              revoke ? "identity.revoke" : "identity.reissue",
                              id.str(), Json{{"revocation_sequence", seq}});
    a.reason = reason;
    AZTP_RETURN_IF_ERROR(tx.AppendAudit(a));
    updated = std::move(r);
    return Ok();
  }));
  return updated;
}

}  // namespace aztp::services

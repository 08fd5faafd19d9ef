#include "aztp/services/flows.h"

#include <algorithm>
#include <set>

#include "aztp/crypto/digest.h"
#include "aztp/services/audit_entry.h"
#include "aztp/services/identities.h"

namespace aztp::services {

namespace {

constexpr std::size_t kFlowIdHexDigits = 24;

Error BadRequest(std::string message) {
  return Error(Code::kInvalidArgument, std::move(message));
}

Error NoSuchFlow(std::string_view id) {
  return Error(Code::kNotFound, "no flow " + QuoteInput(id));
}

Error TooLong(const char* name, std::size_t max) {
  return BadRequest(std::string(name) + " is longer than " +
                    std::to_string(max) + " bytes");
}

// Visible: public flows, the caller's own flows, and every flow for admins.
bool Visible(const FlowRecord& f, const Principal& who) {
  return who.admin() ||
         f.discoverable == FlowRecord::Discoverability::kPublic ||
         f.created_by == who.actor();
}

// Owns: the flow's creator and admins may change or delete it.
bool Owns(const FlowRecord& f, const Principal& who) {
  return who.admin() || f.created_by == who.actor();
}

Status RequireOwner(const FlowRecord& f, const Principal& who,
                    std::string_view verb) {
  if (Owns(f, who)) return Ok();
  return Error(Code::kPermissionDenied, "only the key that created flow " +
                                            f.id + " (or an admin key) may " +
                                            std::string(verb) + " it");
}

// MayChangeMembership: a membership binds an identity and a flow, so it is
// granted (added, or reissued over the owner's revocation) only by the
// flow's owner; removing and revoking suit either end (docs/aztpd.md,
// "Permissions").
Status MayChangeMembership(const FlowRecord& f, const SpiffeId& identity,
                           const std::string& action, bool grants,
                           const Principal& who) {
  if (grants ? Owns(f, who) : (Owns(f, who) || who.MayManage(identity))) {
    return Ok();
  }
  return Error(Code::kPermissionDenied,
               grants ? "only the key that created flow " + f.id +
                            " (or an admin key) may " + action + " members"
                      : "these credentials may not manage " + identity.str() +
                            " and do not own flow " + f.id);
}

// ReadFlow reads flow `id` in `tx` as the caller sees it (kNotFound when it
// is absent or private to another key).
Result<FlowRecord> ReadFlow(Transaction& tx, const std::string& id,
                            const Principal& who) {
  AZTP_ASSIGN_OR_RETURN(auto f, tx.GetFlow(id));
  if (!f || !Visible(*f, who)) return NoSuchFlow(id);
  return std::move(*f);
}

Status CheckTags(const std::vector<std::string>& tags) {
  if (tags.size() > kMaxFlowTags) {
    return BadRequest("tags must be an array of at most 32 strings");
  }
  std::set<std::string> seen;
  for (const std::string& t : tags) {
    if (t.empty() || t.size() > kMaxFlowTagBytes) {
      return BadRequest("tags must be strings of 1 to 64 bytes");
    }
    if (!seen.insert(t).second) {
      return BadRequest("tag " + QuoteInput(t) + " is listed twice");
    }
  }
  return Ok();
}

// Apply checks the members set in `fields` and writes them into `r`;
// `changed` lists them, in the order of FlowFields.
Status Apply(const FlowFields& fields, FlowRecord& r,
             std::vector<std::string>& changed) {
  if (fields.name) {
    if (fields.name->size() > kMaxFlowNameBytes) {
      return TooLong("name", kMaxFlowNameBytes);
    }
    if (fields.name->empty()) return BadRequest("name must not be empty");
    r.name = *fields.name;
    changed.push_back("name");
  }
  if (fields.description) {
    if (fields.description->size() > kMaxFlowDescriptionBytes) {
      return TooLong("description", kMaxFlowDescriptionBytes);
    }
    r.description = *fields.description;
    changed.push_back("description");
  }
  if (fields.discoverable) {
    auto discoverable = FlowRecord::ParseDiscoverability(*fields.discoverable);
    if (!discoverable) {
      return BadRequest("discoverable must be \"public\" or \"private\"");
    }
    r.discoverable = *discoverable;
    changed.push_back("discoverable");
  }
  if (fields.tags) {
    AZTP_RETURN_IF_ERROR(CheckTags(*fields.tags));
    r.tags = *fields.tags;
    changed.push_back("tags");
  }
  if (fields.metadata) {
    const Json& m = *fields.metadata;
    if (!m.is_object() || DumpJson(m).size() > kMaxMetadataBytes) {
      return BadRequest("metadata must be an object of at most 16 KiB");
    }
    r.metadata = m;
    changed.push_back("metadata");
  }
  return Ok();
}

bool Empty(const FlowFields& f) {
  return !f.name && !f.description && !f.discoverable && !f.tags && !f.metadata;
}

}  // namespace

Status RequireFlowId(std::string_view id) {
  const bool handed_out =
      id.size() == 5 + kFlowIdHexDigits && id.starts_with("flow_") &&
      std::all_of(id.begin() + 5, id.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      });
  if (handed_out) return Ok();
  return NoSuchFlow(id);
}

Result<FlowRecord> FlowService::Create(const Principal& who,
                                       FlowFields fields) {
  AZTP_RETURN_IF_ERROR(Require(who, Permission::kApiKey, kFlowsDenial));
  if (!fields.name) return BadRequest("name is required");
  FlowRecord r;
  std::vector<std::string> given;
  AZTP_RETURN_IF_ERROR(Apply(fields, r, given));
  AZTP_ASSIGN_OR_RETURN(Bytes random, RandomBytes(kFlowIdHexDigits / 2));
  r.id = "flow_" + HexEncode(random);
  r.created_by = who.actor();
  const UnixTime now = ctx_.Now();
  r.created_at = r.updated_at = now;
  AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
    AZTP_RETURN_IF_ERROR(tx.PutFlow(r));
    return Appended(tx.AppendAudit(MakeAudit(
        now, who.actor(), "flow.create", r.id,
        Json{{"name", r.name}, {"discoverable", ToString(r.discoverable)}})));
  }));
  return r;
}

Result<std::vector<FlowRecord>> FlowService::List(const Principal& who) {
  AZTP_RETURN_IF_ERROR(Require(who, Permission::kApiKey, kFlowsDenial));
  std::vector<FlowRecord> out;
  AZTP_RETURN_IF_ERROR(ctx_.store->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto all, tx.ListFlows());
    for (auto& f : all) {
      if (Visible(f, who)) out.push_back(std::move(f));
    }
    return Ok();
  }));
  return out;
}

Result<FlowDetails> FlowService::Get(const Principal& who,
                                     const std::string& id) {
  AZTP_RETURN_IF_ERROR(Require(who, Permission::kApiKey, kFlowsDenial));
  AZTP_RETURN_IF_ERROR(RequireFlowId(id));
  FlowDetails out;
  AZTP_RETURN_IF_ERROR(ctx_.store->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(out.flow, ReadFlow(tx, id, who));
    AZTP_ASSIGN_OR_RETURN(out.members, tx.ListFlowMembers(id));
    return Ok();
  }));
  return out;
}

Result<FlowRecord> FlowService::Update(const Principal& who,
                                       const std::string& id,
                                       FlowFields changes) {
  AZTP_RETURN_IF_ERROR(Require(who, Permission::kApiKey, kFlowsDenial));
  AZTP_RETURN_IF_ERROR(RequireFlowId(id));
  if (Empty(changes)) {
    return BadRequest(
        "nothing to change: send name, description, discoverable, tags or "
        "metadata");
  }
  const UnixTime now = ctx_.Now();
  FlowRecord updated;
  AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(updated, ReadFlow(tx, id, who));
    // Who may change a flow is settled before what is sent is looked at.
    AZTP_RETURN_IF_ERROR(RequireOwner(updated, who, "change"));
    std::vector<std::string> changed;
    AZTP_RETURN_IF_ERROR(Apply(changes, updated, changed));
    updated.updated_at = now;
    AZTP_RETURN_IF_ERROR(tx.PutFlow(updated));
    return Appended(tx.AppendAudit(MakeAudit(now, who.actor(), "flow.update",
                                             id, Json{{"changed", changed}})));
  }));
  return updated;
}

Status FlowService::Delete(const Principal& who, const std::string& id) {
  AZTP_RETURN_IF_ERROR(Require(who, Permission::kApiKey, kFlowsDenial));
  AZTP_RETURN_IF_ERROR(RequireFlowId(id));
  const UnixTime now = ctx_.Now();
  return ctx_.store->Write([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(FlowRecord flow, ReadFlow(tx, id, who));
    AZTP_RETURN_IF_ERROR(RequireOwner(flow, who, "delete"));
    AZTP_RETURN_IF_ERROR(tx.DeleteFlow(id));
    return Appended(tx.AppendAudit(MakeAudit(now, who.actor(), "flow.delete",
                                             id, Json{{"name", flow.name}})));
  });
}

Result<FlowMemberRecord> FlowService::Add(const Principal& who,
                                          const std::string& flow,
                                          const SpiffeId& identity) {
  return ChangeMembership(who, flow, identity, Change::kAdd);
}

Result<FlowMemberRecord> FlowService::Remove(const Principal& who,
                                             const std::string& flow,
                                             const SpiffeId& identity) {
  return ChangeMembership(who, flow, identity, Change::kRemove);
}

Result<FlowMemberRecord> FlowService::Revoke(const Principal& who,
                                             const std::string& flow,
                                             const SpiffeId& identity,
                                             const std::string& reason) {
  return ChangeMembership(who, flow, identity, Change::kRevoke, reason);
}

Result<FlowMemberRecord> FlowService::Reissue(const Principal& who,
                                              const std::string& flow,
                                              const SpiffeId& identity) {
  return ChangeMembership(who, flow, identity, Change::kReissue);
}

Result<FlowMemberRecord> FlowService::ChangeMembership(
    const Principal& who, const std::string& flow, const SpiffeId& identity,
    Change change, const std::string& reason) {
  AZTP_RETURN_IF_ERROR(Require(who, Permission::kApiKey, kFlowsDenial));
  AZTP_RETURN_IF_ERROR(RequireFlowId(flow));
  AZTP_RETURN_IF_ERROR(RequireWorkloadId(ctx_.trust_domain, identity));
  if (reason.size() > kMaxReasonBytes) {
    return TooLong("reason", kMaxReasonBytes);
  }
  // Adding needs a key that manages the identity; checked before the store
  // so that a refusal does not tell whether the flow exists.
  if (change == Change::kAdd && !who.MayManage(identity)) {
    return Error(Code::kPermissionDenied,
                 "these credentials may not manage " + identity.str());
  }
  static constexpr const char* kActions[] = {"add", "remove", "revoke",
                                             "reissue"};
  const std::string action = kActions[static_cast<int>(change)];
  // Adding and reissuing grant the membership; removing and revoking take
  // it away.
  const bool grants = change == Change::kAdd || change == Change::kReissue;
  const UnixTime now = ctx_.Now();
  FlowMemberRecord member;
  AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(FlowRecord f, ReadFlow(tx, flow, who));
    AZTP_RETURN_IF_ERROR(MayChangeMembership(f, identity, action, grants, who));
    AZTP_ASSIGN_OR_RETURN(auto registered, tx.GetIdentity(identity.str()));
    if (!registered) {
      return Error(Code::kNotFound, identity.str() + " is not registered");
    }
    AZTP_ASSIGN_OR_RETURN(auto current, tx.GetFlowMember(flow, identity.str()));
    if (change == Change::kAdd) {
      if (current) {
        return Error(Code::kAlreadyExists,
                     identity.str() + " is already a member of flow " + flow);
      }
      member.flow_id = flow;
      member.identity = identity.str();
      member.added_at = member.updated_at = now;
      AZTP_RETURN_IF_ERROR(tx.PutFlowMember(member));
    } else if (!current) {
      return Error(Code::kNotFound,
                   identity.str() + " is not a member of flow " + flow);
    } else if (change == Change::kRemove) {
      member = *current;
      AZTP_RETURN_IF_ERROR(tx.DeleteFlowMember(flow, identity.str()));
    } else {
      member = *current;
      const bool revoke = change == Change::kRevoke;
      member.status = revoke ? FlowMemberRecord::Status::kRevoked
                             : FlowMemberRecord::Status::kActive;
      member.reason = revoke ? reason : "";
      member.updated_at = now;
      AZTP_RETURN_IF_ERROR(tx.PutFlowMember(member));
    }
    AuditRecord a = MakeAudit(now, who.actor(), "flow." + action,
                              identity.str(), Json{{"flow", flow}});
    if (change == Change::kRevoke) a.reason = member.reason;
    return Appended(tx.AppendAudit(a));
  }));
  member.flow_id = flow;
  return member;
}

}  // namespace aztp::services

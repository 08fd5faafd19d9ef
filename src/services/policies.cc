#include "aztp/services/policies.h"

#include "aztp/base/bytes.h"
#include "aztp/crypto/digest.h"
#include "aztp/services/audit_entry.h"
#include "aztp/services/identities.h"
#include "records.h"

namespace aztp::services {

namespace {

constexpr std::string_view kAdminDenial = "policies need an admin key";
constexpr std::string_view kAttachDenial =
    "attaching and detaching policies needs an admin key";

Error BadRequest(std::string message) {
  return Error(Code::kInvalidArgument, std::move(message));
}

// CheckLength refuses a `name` longer than `max` bytes, in the words the
// API's decoders use for the same limit.
Status CheckLength(const std::optional<std::string>& value,
                   std::string_view name, std::size_t max) {
  if (!value || value->size() <= max) return Ok();
  return BadRequest(std::string(name) + " is longer than " +
                    std::to_string(max) + " bytes");
}

// CanonicalText is a policy's stored form: its canonical JSON text
// (docs/policy.md, "The canonical form"), kTooLarge beyond the size
// ParsePolicy reads back.
Result<std::string> CanonicalText(const Policy& policy) {
  std::string text = DumpJson(policy.ToJson());
  if (text.size() > Policy::kMaxBytes) {
    return Error(Code::kTooLarge, "policy: document exceeds 64 KiB");
  }
  return text;
}

// MayObtainSvid: an identity's policies and decisions are for whoever may
// obtain its SVID (docs/aztpd.md, "Permissions").
Status MayObtainSvid(const Principal& who, const SpiffeId& id,
                     std::string_view what) {
  if (who.MayObtainSvid(id)) return Ok();
  return Error(Code::kPermissionDenied, "these credentials may not " +
                                            std::string(what) + " " + id.str());
}

}  // namespace

Result<std::vector<PolicyRecord>> PolicyService::AttachedTo(
    const Principal& who, const SpiffeId& identity) {
  AZTP_RETURN_IF_ERROR(MayObtainSvid(who, identity, "read the policies of"));
  std::vector<PolicyRecord> out;
  AZTP_RETURN_IF_ERROR(ctx_.store->Read([&](Transaction& tx) -> Status {
    AZTP_RETURN_IF_ERROR(RequireRegistered(tx, identity));
    AZTP_ASSIGN_OR_RETURN(out, tx.ListAttachedPolicies(identity.str()));
    return Ok();
  }));
  return out;
}

Result<std::vector<PolicyRecord>> PolicyService::List(const Principal& who) {
  AZTP_RETURN_IF_ERROR(Require(who, Permission::kAdmin, kAdminDenial));
  std::vector<PolicyRecord> out;
  AZTP_RETURN_IF_ERROR(ctx_.store->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(out, tx.ListPolicies());
    return Ok();
  }));
  return out;
}

Result<PolicyRecord> PolicyService::Create(const Principal& who,
                                           NewPolicy request) {
  AZTP_RETURN_IF_ERROR(Require(who, Permission::kAdmin, kAdminDenial));
  if (request.name.empty()) return BadRequest("name is required");
  AZTP_RETURN_IF_ERROR(CheckLength(request.name, "name", kMaxPolicyNameBytes));
  AZTP_RETURN_IF_ERROR(CheckLength(request.description, "description",
                                   kMaxPolicyDescriptionBytes));
  PolicyRecord r;
  AZTP_ASSIGN_OR_RETURN(r.document, CanonicalText(request.document));
  AZTP_ASSIGN_OR_RETURN(Bytes random, RandomBytes(6));
  r.id = "policy:" + HexEncode(random);
  r.name = std::move(request.name);
  r.description = std::move(request.description);
  r.version = 1;
  const UnixTime now = ctx_.Now();
  r.created_at = r.updated_at = now;
  AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
    AZTP_RETURN_IF_ERROR(tx.PutPolicy(r));
    return Appended(
        tx.AppendAudit(MakeAudit(now, who.actor(), "policy.create", r.id,
                                 Json{{"name", r.name}, {"version", 1}})));
  }));
  return r;
}

Result<PolicyDetails> PolicyService::Get(const Principal& who,
                                         const std::string& id,
                                         std::optional<int64_t> version) {
  AZTP_RETURN_IF_ERROR(Require(who, Permission::kAdmin, kAdminDenial));
  if (version && *version < 1) {
    return BadRequest("version must be a positive integer");
  }
  std::optional<PolicyRecord> r;
  std::optional<int64_t> current;  // when only the version is missing
  std::vector<std::string> attached;
  AZTP_RETURN_IF_ERROR(ctx_.store->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(r, tx.GetPolicy(id, version));
    if (r) {
      AZTP_ASSIGN_OR_RETURN(attached, tx.ListPolicyAttachments(id));
    } else if (version) {
      AZTP_ASSIGN_OR_RETURN(auto latest, tx.GetPolicy(id, std::nullopt));
      if (latest) current = latest->version;
    }
    return Ok();
  }));
  if (current) {
    // Still kNotFound: the version named does not exist, the policy does.
    return Error(Code::kNotFound,
                 "policy " + QuoteInput(id) + " has no version " +
                     std::to_string(*version) + "; its versions are 1 to " +
                     std::to_string(*current));
  }
  if (!r) return Error(Code::kNotFound, "no policy " + QuoteInput(id));
  return PolicyDetails{std::move(*r), std::move(attached)};
}

Result<PolicyRecord> PolicyService::Update(const Principal& who,
                                           const std::string& id,
                                           PolicyChange change) {
  AZTP_RETURN_IF_ERROR(Require(who, Permission::kAdmin, kAdminDenial));
  if (change.name && change.name->empty()) {
    return BadRequest("name must not be empty");
  }
  AZTP_RETURN_IF_ERROR(CheckLength(change.name, "name", kMaxPolicyNameBytes));
  AZTP_RETURN_IF_ERROR(CheckLength(change.description, "description",
                                   kMaxPolicyDescriptionBytes));
  AZTP_ASSIGN_OR_RETURN(std::string document, CanonicalText(change.document));
  const UnixTime now = ctx_.Now();
  PolicyRecord next;
  AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto current, tx.GetPolicy(id));
    if (!current) return Error(Code::kNotFound, "no policy " + QuoteInput(id));
    if (current->version != change.replaces) {
      return Error(Code::kAlreadyExists, "policy " + id + " is at version " +
                                             std::to_string(current->version) +
                                             ", not " +
                                             std::to_string(change.replaces));
    }
    next = std::move(*current);
    next.version += 1;
    next.document = document;
    if (change.name) next.name = *change.name;
    if (change.description) next.description = *change.description;
    next.updated_at = now;
    AZTP_RETURN_IF_ERROR(tx.PutPolicy(next));
    return Appended(tx.AppendAudit(
        MakeAudit(now, who.actor(), "policy.update", id,
                  Json{{"name", next.name}, {"version", next.version}})));
  }));
  return next;
}

Status PolicyService::Delete(const Principal& who, const std::string& id) {
  AZTP_RETURN_IF_ERROR(Require(who, Permission::kAdmin, kAdminDenial));
  const UnixTime now = ctx_.Now();
  return ctx_.store->Write([&](Transaction& tx) -> Status {
    AZTP_RETURN_IF_ERROR(tx.DeletePolicy(id));
    return Appended(
        tx.AppendAudit(MakeAudit(now, who.actor(), "policy.delete", id)));
  });
}

Status PolicyService::Attach(const Principal& who, const std::string& id,
                             const SpiffeId& identity) {
  return ChangeAttachment(who, id, identity, /*attach=*/true);
}

Status PolicyService::Detach(const Principal& who, const std::string& id,
                             const SpiffeId& identity) {
  return ChangeAttachment(who, id, identity, /*attach=*/false);
}

Status PolicyService::ChangeAttachment(const Principal& who,
                                       const std::string& id,
                                       const SpiffeId& identity, bool attach) {
  AZTP_RETURN_IF_ERROR(Require(who, Permission::kAdmin, kAttachDenial));
  AZTP_RETURN_IF_ERROR(RequireWorkloadId(ctx_.trust_domain, identity));
  const UnixTime now = ctx_.Now();
  return ctx_.store->Write([&](Transaction& tx) -> Status {
    if (attach) {
      AZTP_RETURN_IF_ERROR(tx.AttachPolicy(identity.str(), id, now));
    } else {
      AZTP_RETURN_IF_ERROR(tx.DetachPolicy(identity.str(), id));
    }
    return Appended(tx.AppendAudit(
        MakeAudit(now, who.actor(), attach ? "policy.attach" : "policy.detach",
                  identity.str(), Json{{"policy", id}})));
  });
}

Result<AuthorizeResult> PolicyService::Authorize(const Principal& who,
                                                 AuthorizeRequest request) {
  const SpiffeId& id = request.identity;
  AZTP_RETURN_IF_ERROR(RequireWorkloadId(ctx_.trust_domain, id));
  AZTP_RETURN_IF_ERROR(MayObtainSvid(who, id, "ask for the decisions of"));
  if (request.action.empty() || request.action.size() > kMaxActionBytes) {
    return BadRequest("action must be 1 to 256 bytes");
  }
  const UnixTime now = ctx_.Now();
  if (request.context.Find("aztp:CurrentTime") == nullptr) {
    request.context.SetTime("aztp:CurrentTime", now);
  }
  PolicyRequest asked{std::move(request.action), std::move(request.resource),
                      std::move(request.context)};
  AuthorizeResult out;
  // The decision and its audit record are one transaction: every decision
  // is on the record (docs/policy.md, "Policies in aztpd").
  AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(Attached attached,
                          ReadAttached(tx, id, request.policy_id));
    out.decision = EvaluateAll(attached.pointers(), asked);
    if (out.decision.policy_index) {
      out.policy_id = attached.records[*out.decision.policy_index].id;
    }
    AuditRecord a = MakeAudit(
        now, who.actor(), "policy.authorize", id.str(),
        Json{{"action", asked.action},
             {"resource", asked.resource},
             {"policy", out.policy_id ? Json(*out.policy_id) : Json()}});
    a.decision = std::string(VerdictString(out.decision.verdict));
    a.reason = out.decision.reason;
    return Appended(tx.AppendAudit(a));
  }));
  return out;
}

}  // namespace aztp::services

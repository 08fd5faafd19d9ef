// Identity flow routes (docs/aztpd.md): named groups of identities managed
// together, with membership and revocation scoped to the flow. A flow is
// "public" (visible to every API key) or "private" (visible to the key that
// created it, and to admins); a private flow of another key is answered as
// if it did not exist.
#include <set>

#include "api.h"
#include "audit.h"
#include "aztp/crypto/digest.h"

namespace aztp {

using internal::Appended;
using internal::BadRequest;
using internal::BoundedString;
using internal::kMaxDescriptionBytes;
using internal::kMaxNameBytes;
using internal::MakeAudit;

namespace {

constexpr std::string_view kBase = "/v1/flows";
constexpr std::size_t kMaxTags = 32;
constexpr std::size_t kMaxTagBytes = 64;
constexpr std::size_t kMaxReasonBytes = 1024;
constexpr std::size_t kFlowIdHexDigits = 24;

Json FlowJson(const FlowRecord& r) {
  return Json{{"id", r.id},
              {"name", r.name},
              {"description", r.description},
              {"discoverable", ToString(r.discoverable)},
              {"tags", r.tags},
              {"metadata", r.metadata},
              {"created_by", r.created_by},
              {"created_at", r.created_at},
              {"updated_at", r.updated_at}};
}

Json MemberJson(const FlowMemberRecord& m) {
  return Json{{"identity", m.identity},
              {"status", ToString(m.status)},
              {"reason", m.reason},
              {"added_at", m.added_at},
              {"updated_at", m.updated_at}};
}

// IsFlowId: "flow_" and 24 lowercase hex digits, the only IDs handed out.
bool IsFlowId(std::string_view id) {
  if (id.size() != 5 + kFlowIdHexDigits || id.substr(0, 5) != "flow_") {
    return false;
  }
  for (char c : id.substr(5)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Error NoSuchFlow(const std::string& id) {
  return Error(Code::kNotFound, "no flow " + QuoteInput(id));
}

// Visible: public flows, the caller's own flows, and every flow for admins.
bool Visible(const FlowRecord& f, const ControlPlane::Principal& who) {
  return who.admin || f.discoverable == FlowRecord::Discoverability::kPublic ||
         f.created_by == who.actor;
}

// Owns: the flow's creator and admins may change or delete it.
bool Owns(const FlowRecord& f, const ControlPlane::Principal& who) {
  return who.admin || f.created_by == who.actor;
}

// MayChangeMembership: a membership binds an identity and a flow, so it is
// granted only with rights on both ends: adding and reissuing (undoing the
// owner's revocation) need the flow's owner, adding also a key that manages
// the identity; removing and revoking suit either end (docs/aztpd.md,
// "Permissions").
Status MayChangeMembership(const FlowRecord& f, const SpiffeId& identity,
                           const std::string& action,
                           const ControlPlane::Principal& who) {
  const bool grants = action == "add" || action == "reissue";
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
                            const ControlPlane::Principal& who) {
  AZTP_ASSIGN_OR_RETURN(auto f, tx.GetFlow(id));
  if (!f || !Visible(*f, who)) return NoSuchFlow(id);
  return std::move(*f);
}

// FlowFields reads the members that POST and PUT share into `r`; `changed`
// lists the members that were present.
Status FlowFields(const Json& body, FlowRecord& r,
                  std::vector<std::string>& changed) {
  AZTP_ASSIGN_OR_RETURN(auto name, BoundedString(body, "name", kMaxNameBytes));
  if (name) {
    if (name->empty()) return BadRequest("name must not be empty");
    r.name = *name;
    changed.push_back("name");
  }
  AZTP_ASSIGN_OR_RETURN(auto description, BoundedString(body, "description",
                                                        kMaxDescriptionBytes));
  if (description) {
    r.description = *description;
    changed.push_back("description");
  }
  AZTP_ASSIGN_OR_RETURN(auto discoverable,
                        GetOptionalString(body, "discoverable"));
  if (discoverable) {
    auto parsed = FlowRecord::ParseDiscoverability(*discoverable);
    if (!parsed) {
      return BadRequest("discoverable must be \"public\" or \"private\"");
    }
    r.discoverable = *parsed;
    changed.push_back("discoverable");
  }
  if (auto it = body.find("tags"); it != body.end()) {
    if (!it->is_array() || it->size() > kMaxTags) {
      return BadRequest("tags must be an array of at most 32 strings");
    }
    std::set<std::string> seen;
    for (const Json& t : *it) {
      if (!t.is_string() || t.get_ref<const std::string&>().empty() ||
          t.get_ref<const std::string&>().size() > kMaxTagBytes) {
        return BadRequest("tags must be strings of 1 to 64 bytes");
      }
      if (!seen.insert(t.get<std::string>()).second) {
        return BadRequest("tag " + QuoteInput(t.get<std::string>()) +
                          " is listed twice");
      }
    }
    r.tags = *it;
    changed.push_back("tags");
  }
  if (body.contains("metadata")) {
    AZTP_ASSIGN_OR_RETURN(r.metadata,
                          internal::OptionalMetadata(body, "metadata"));
    changed.push_back("metadata");
  }
  return Ok();
}

}  // namespace

Result<Json> ControlPlane::FlowsApi(const http::Request& req,
                                    const Principal& who, UnixTime now,
                                    Reply& reply) {
  const std::string& path = req.path;
  const std::string& m = req.method;
  reply.route = std::string(kBase);
  // /v1/flows/<id>[:action]
  std::string id;
  std::string action;
  if (path.size() > kBase.size()) {
    if (path[kBase.size()] != '/') {
      return Error(Code::kNotFound, "no such route");
    }
    id = path.substr(kBase.size() + 1);
    if (auto colon = id.find(':'); colon != std::string::npos) {
      action = id.substr(colon + 1);
      id.resize(colon);
    }
    reply.route = std::string(kBase) + "/{id}" +
                  (action.empty() ? std::string() : ":" + action);
  }
  // Flows belong to the keys that manage identities; an SVID alone (a
  // workload) neither creates nor reads them.
  if (who.svid) {
    return Error(Code::kPermissionDenied, "identity flows need an API key");
  }

  if (path == kBase && m == "POST") {
    AZTP_ASSIGN_OR_RETURN(Json body, internal::BodyObject(req));
    AZTP_RETURN_IF_ERROR(internal::OnlyMembers(
        body, {"name", "description", "discoverable", "tags", "metadata"}));
    if (!body.contains("name")) return BadRequest("name is required");
    FlowRecord r;
    std::vector<std::string> given;
    AZTP_RETURN_IF_ERROR(FlowFields(body, r, given));
    AZTP_ASSIGN_OR_RETURN(Bytes random, RandomBytes(kFlowIdHexDigits / 2));
    r.id = "flow_" + HexEncode(random);
    r.created_by = who.actor;
    r.created_at = r.updated_at = now;
    AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
      AZTP_RETURN_IF_ERROR(tx.PutFlow(r));
      return Appended(tx.AppendAudit(MakeAudit(
          now, who.actor, "flow.create", r.id,
          Json{{"name", r.name}, {"discoverable", ToString(r.discoverable)}})));
    }));
    reply.status = 201;
    return FlowJson(r);
  }
  if (path == kBase && m == "GET") {
    Json list = Json::array();
    AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
      AZTP_ASSIGN_OR_RETURN(auto all, tx.ListFlows());
      for (const auto& f : all) {
        if (Visible(f, who)) list.push_back(FlowJson(f));
      }
      return Ok();
    }));
    return Json{{"flows", std::move(list)}};
  }
  if (id.empty()) return Error(Code::kNotFound, "no such route");
  if (!IsFlowId(id)) return NoSuchFlow(id);

  if (action.empty() && m == "GET") {
    FlowRecord flow;
    Json members = Json::array();
    AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
      AZTP_ASSIGN_OR_RETURN(flow, ReadFlow(tx, id, who));
      AZTP_ASSIGN_OR_RETURN(auto list, tx.ListFlowMembers(id));
      for (const auto& member : list) members.push_back(MemberJson(member));
      return Ok();
    }));
    Json out = FlowJson(flow);
    out["members"] = std::move(members);
    return out;
  }
  if (action.empty() && m == "PUT") {
    AZTP_ASSIGN_OR_RETURN(Json body, internal::BodyObject(req));
    AZTP_RETURN_IF_ERROR(internal::OnlyMembers(
        body, {"name", "description", "discoverable", "tags", "metadata"}));
    if (body.empty()) {
      return BadRequest(
          "nothing to change: send name, description, discoverable, tags or "
          "metadata");
    }
    FlowRecord updated;
    AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
      AZTP_ASSIGN_OR_RETURN(updated, ReadFlow(tx, id, who));
      if (!Owns(updated, who)) {
        return Error(Code::kPermissionDenied,
                     "only the key that created flow " + id +
                         " (or an admin key) may change it");
      }
      std::vector<std::string> changed;
      AZTP_RETURN_IF_ERROR(FlowFields(body, updated, changed));
      updated.updated_at = now;
      AZTP_RETURN_IF_ERROR(tx.PutFlow(updated));
      return Appended(tx.AppendAudit(MakeAudit(
          now, who.actor, "flow.update", id, Json{{"changed", changed}})));
    }));
    return FlowJson(updated);
  }
  if (action.empty() && m == "DELETE") {
    AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
      AZTP_ASSIGN_OR_RETURN(FlowRecord flow, ReadFlow(tx, id, who));
      if (!Owns(flow, who)) {
        return Error(Code::kPermissionDenied,
                     "only the key that created flow " + id +
                         " (or an admin key) may delete it");
      }
      AZTP_RETURN_IF_ERROR(tx.DeleteFlow(id));
      return Appended(tx.AppendAudit(MakeAudit(now, who.actor, "flow.delete",
                                               id, Json{{"name", flow.name}})));
    }));
    return Json{{"id", id}, {"deleted", true}};
  }

  // Membership: add, remove, revoke (in this flow only), reissue.
  if (m != "POST" || (action != "add" && action != "remove" &&
                      action != "revoke" && action != "reissue")) {
    return Error(Code::kNotFound, "no such route");
  }
  AZTP_ASSIGN_OR_RETURN(Json body, internal::BodyObject(req));
  if (action == "revoke") {
    AZTP_RETURN_IF_ERROR(internal::OnlyMembers(body, {"identity", "reason"}));
  } else {
    AZTP_RETURN_IF_ERROR(internal::OnlyMembers(body, {"identity"}));
  }
  AZTP_ASSIGN_OR_RETURN(SpiffeId identity,
                        internal::WorkloadId(body, "identity", trust_domain_));
  AZTP_ASSIGN_OR_RETURN(auto reason,
                        BoundedString(body, "reason", kMaxReasonBytes));
  // Adding needs a key that manages the identity; removing, revoking and
  // reissuing also suit the flow's owner, who governs its membership.
  if (action == "add" && !who.MayManage(identity)) {
    return Error(Code::kPermissionDenied,
                 "these credentials may not manage " + identity.str());
  }
  FlowMemberRecord member;
  bool removed = false;
  AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(FlowRecord flow, ReadFlow(tx, id, who));
    AZTP_RETURN_IF_ERROR(MayChangeMembership(flow, identity, action, who));
    AZTP_ASSIGN_OR_RETURN(auto registered, tx.GetIdentity(identity.str()));
    if (!registered) {
      return Error(Code::kNotFound, identity.str() + " is not registered");
    }
    AZTP_ASSIGN_OR_RETURN(auto current, tx.GetFlowMember(id, identity.str()));
    if (action == "add") {
      if (current) {
        return Error(Code::kAlreadyExists,
                     identity.str() + " is already a member of flow " + id);
      }
      member.flow_id = id;
      member.identity = identity.str();
      member.added_at = member.updated_at = now;
      AZTP_RETURN_IF_ERROR(tx.PutFlowMember(member));
    } else if (!current) {
      return Error(Code::kNotFound,
                   identity.str() + " is not a member of flow " + id);
    } else if (action == "remove") {
      AZTP_RETURN_IF_ERROR(tx.DeleteFlowMember(id, identity.str()));
      member = *current;
      removed = true;
    } else {
      member = *current;
      member.status = action == "revoke" ? FlowMemberRecord::Status::kRevoked
                                         : FlowMemberRecord::Status::kActive;
      member.reason = action == "revoke" ? reason.value_or("") : "";
      member.updated_at = now;
      AZTP_RETURN_IF_ERROR(tx.PutFlowMember(member));
    }
    AuditRecord a = MakeAudit(now, who.actor, "flow." + action, identity.str(),
                              Json{{"flow", id}});
    if (action == "revoke") a.reason = member.reason;
    return Appended(tx.AppendAudit(a));
  }));
  if (removed) {
    return Json{{"flow", id}, {"identity", identity.str()}, {"removed", true}};
  }
  if (action == "add") reply.status = 201;
  Json out = MemberJson(member);
  out["flow"] = id;
  return out;
}

}  // namespace aztp

// Policy routes (docs/policy.md): versioned policies validated on write,
// attached to the identities that receive calls, and POST /v1/authorize,
// which evaluates the policies of an identity for one request.
#include "api.h"
#include "aztp/crypto/digest.h"
#include "aztp/policy/policy.h"
#include "aztp/services/audit_entry.h"

namespace aztp {

using internal::BadRequest;
using internal::BoundedString;
using internal::kMaxDescriptionBytes;
using internal::kMaxNameBytes;
using services::Appended;
using services::MakeAudit;

namespace {

constexpr std::string_view kBase = "/v1/policies";

Json PolicyJson(const PolicyRecord& r) {
  auto document = ParseJson(r.document);
  return Json{{"id", r.id},
              {"name", r.name},
              {"description", r.description},
              {"version", r.version},
              {"document", document ? *document : Json()},
              {"created_at", r.created_at},
              {"updated_at", r.updated_at}};
}

// CanonicalDocument validates member `document` and returns its canonical
// text.
Result<std::string> CanonicalDocument(const Json& body) {
  auto it = body.find("document");
  if (it == body.end() || !it->is_object()) {
    return BadRequest("document must be a policy object");
  }
  AZTP_ASSIGN_OR_RETURN(Policy policy, PolicyFromJson(*it));
  std::string text = DumpJson(policy.ToJson());
  if (text.size() > Policy::kMaxBytes) {
    return Error(Code::kTooLarge, "policy: document exceeds 64 KiB");
  }
  return text;
}

}  // namespace

Result<Json> ControlPlane::PoliciesApi(const http::Request& req,
                                       const Principal& who, UnixTime now,
                                       Reply& reply) {
  const std::string& path = req.path;
  const std::string& m = req.method;
  reply.route = std::string(kBase);

  // The policies attached to one identity: for whoever may obtain its SVID
  // (its own SVID, or a key that manages it).
  if (path == kBase && m == "GET" && req.query.count("identity") != 0) {
    AZTP_ASSIGN_OR_RETURN(SpiffeId id,
                          SpiffeId::ParseUserInput(req.query.at("identity")));
    if (!who.MayObtainSvid(id)) {
      return Error(
          Code::kPermissionDenied,
          "these credentials may not read the policies of " + id.str());
    }
    Json list = Json::array();
    AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
      AZTP_ASSIGN_OR_RETURN(auto r, tx.GetIdentity(id.str()));
      if (!r) return Error(Code::kNotFound, id.str() + " is not registered");
      AZTP_ASSIGN_OR_RETURN(auto attached, tx.ListAttachedPolicies(id.str()));
      for (const auto& p : attached) list.push_back(PolicyJson(p));
      return Ok();
    }));
    return Json{{"policies", std::move(list)}};
  }

  // /v1/policies/<id>:attach|detach: admin only. Policies decide who may
  // call an identity; a key scoped to it must not change that decision
  // (docs/aztpd.md, "Permissions").
  std::string rest =
      path.size() > kBase.size() + 1 ? path.substr(kBase.size() + 1) : "";
  std::string action;
  if (auto colon = rest.find(':', 7); colon != std::string::npos) {
    action = rest.substr(colon + 1);
    rest.resize(colon);
  }
  if (!rest.empty()) {
    reply.route = std::string(kBase) + "/{id}" +
                  (action.empty() ? std::string() : ":" + action);
  }
  if (!rest.empty() && m == "POST" &&
      (action == "attach" || action == "detach")) {
    if (!who.admin()) {
      return Error(Code::kPermissionDenied,
                   "attaching and detaching policies needs an admin key");
    }
    AZTP_ASSIGN_OR_RETURN(Json body, internal::BodyObject(req));
    AZTP_RETURN_IF_ERROR(internal::OnlyMembers(body, {"identity"}));
    AZTP_ASSIGN_OR_RETURN(
        SpiffeId id, internal::WorkloadId(body, "identity", trust_domain_));
    AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
      if (action == "attach") {
        AZTP_RETURN_IF_ERROR(tx.AttachPolicy(id.str(), rest, now));
      } else {
        AZTP_RETURN_IF_ERROR(tx.DetachPolicy(id.str(), rest));
      }
      return Appended(
          tx.AppendAudit(MakeAudit(now, who.actor(), "policy." + action,
                                   id.str(), Json{{"policy", rest}})));
    }));
    return Json{{"policy", rest}, {"identity", id.str()}, {action, true}};
  }

  // Everything else manages the policies themselves: admin only.
  if (!who.admin()) {
    return Error(Code::kPermissionDenied, "policies need an admin key");
  }
  if (path == kBase && m == "GET") {
    Json list = Json::array();
    AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
      AZTP_ASSIGN_OR_RETURN(auto all, tx.ListPolicies());
      for (const auto& p : all) list.push_back(PolicyJson(p));
      return Ok();
    }));
    return Json{{"policies", std::move(list)}};
  }
  if (path == kBase && m == "POST") {
    AZTP_ASSIGN_OR_RETURN(Json body, internal::BodyObject(req));
    AZTP_RETURN_IF_ERROR(
        internal::OnlyMembers(body, {"name", "description", "document"}));
    PolicyRecord r;
    AZTP_ASSIGN_OR_RETURN(auto name,
                          BoundedString(body, "name", kMaxNameBytes));
    if (!name || name->empty()) return BadRequest("name is required");
    r.name = *name;
    AZTP_ASSIGN_OR_RETURN(
        auto description,
        BoundedString(body, "description", kMaxDescriptionBytes));
    r.description = description.value_or("");
    AZTP_ASSIGN_OR_RETURN(r.document, CanonicalDocument(body));
    AZTP_ASSIGN_OR_RETURN(Bytes random, RandomBytes(6));
    r.id = "policy:" + HexEncode(random);
    r.version = 1;
    r.created_at = r.updated_at = now;
    AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
      AZTP_RETURN_IF_ERROR(tx.PutPolicy(r));
      return Appended(
          tx.AppendAudit(MakeAudit(now, who.actor(), "policy.create", r.id,
                                   Json{{"name", r.name}, {"version", 1}})));
    }));
    reply.status = 201;
    return PolicyJson(r);
  }
  if (rest.empty() || !action.empty()) {
    return Error(Code::kNotFound, "no such route");
  }
  if (m == "GET") {
    std::optional<int64_t> version;
    if (auto v = req.query.find("version"); v != req.query.end()) {
      char* end = nullptr;
      long long n = std::strtoll(v->second.c_str(), &end, 10);
      if (v->second.empty() || *end != '\0' || n < 1) {
        return BadRequest("version must be a positive integer");
      }
      version = n;
    }
    std::optional<PolicyRecord> r;
    std::optional<int64_t> current;  // when only the version is missing
    std::vector<std::string> attached;
    AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
      AZTP_ASSIGN_OR_RETURN(r, tx.GetPolicy(rest, version));
      if (r) {
        AZTP_ASSIGN_OR_RETURN(attached, tx.ListPolicyAttachments(rest));
      } else if (version) {
        AZTP_ASSIGN_OR_RETURN(auto latest, tx.GetPolicy(rest, std::nullopt));
        if (latest) current = latest->version;
      }
      return Ok();
    }));
    if (current) {
      // Still 404: the version named does not exist, the policy does.
      return Error(Code::kNotFound,
                   "policy " + QuoteInput(rest) + " has no version " +
                       std::to_string(*version) + "; its versions are 1 to " +
                       std::to_string(*current));
    }
    if (!r) return Error(Code::kNotFound, "no policy " + QuoteInput(rest));
    Json out = PolicyJson(*r);
    out["attached_to"] = attached;
    return out;
  }
  if (m == "PUT") {
    // A new version; `version` names the one it replaces, so that two
    // editors never overwrite each other unknowingly.
    AZTP_ASSIGN_OR_RETURN(Json body, internal::BodyObject(req));
    AZTP_RETURN_IF_ERROR(internal::OnlyMembers(
        body, {"name", "description", "document", "version"}));
    AZTP_ASSIGN_OR_RETURN(int64_t replaces, GetInt(body, "version"));
    AZTP_ASSIGN_OR_RETURN(std::string document, CanonicalDocument(body));
    AZTP_ASSIGN_OR_RETURN(auto name,
                          BoundedString(body, "name", kMaxNameBytes));
    if (name && name->empty()) return BadRequest("name must not be empty");
    AZTP_ASSIGN_OR_RETURN(
        auto description,
        BoundedString(body, "description", kMaxDescriptionBytes));
    PolicyRecord next;
    AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
      AZTP_ASSIGN_OR_RETURN(auto current, tx.GetPolicy(rest));
      if (!current) {
        return Error(Code::kNotFound, "no policy " + QuoteInput(rest));
      }
      if (current->version != replaces) {
        return Error(Code::kAlreadyExists,
                     "policy " + rest + " is at version " +
                         std::to_string(current->version) + ", not " +
                         std::to_string(replaces));
      }
      next = *current;
      next.version = current->version + 1;
      next.document = document;
      if (name) next.name = *name;
      if (description) next.description = *description;
      next.updated_at = now;
      AZTP_RETURN_IF_ERROR(tx.PutPolicy(next));
      return Appended(tx.AppendAudit(
          MakeAudit(now, who.actor(), "policy.update", rest,
                    Json{{"name", next.name}, {"version", next.version}})));
    }));
    return PolicyJson(next);
  }
  if (m == "DELETE") {
    AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
      AZTP_RETURN_IF_ERROR(tx.DeletePolicy(rest));
      return Appended(
          tx.AppendAudit(MakeAudit(now, who.actor(), "policy.delete", rest)));
    }));
    return Json{{"id", rest}, {"deleted", true}};
  }
  return Error(Code::kNotFound, "no such route");
}

Result<Json> ControlPlane::Authorize(const http::Request& req,
                                     const Principal& who, UnixTime now,
                                     Reply& reply) {
  reply.route = "/v1/authorize";
  AZTP_ASSIGN_OR_RETURN(Json body, internal::BodyObject(req));
  AZTP_RETURN_IF_ERROR(internal::OnlyMembers(
      body, {"identity", "action", "resource", "context", "policy_id"}));
  AZTP_ASSIGN_OR_RETURN(SpiffeId id,
                        internal::WorkloadId(body, "identity", trust_domain_));
  if (!who.MayObtainSvid(id)) {
    return Error(
        Code::kPermissionDenied,
        "these credentials may not ask for the decisions of " + id.str());
  }
  PolicyRequest request;
  AZTP_ASSIGN_OR_RETURN(request.action, GetString(body, "action"));
  if (request.action.empty() || request.action.size() > 256) {
    return BadRequest("action must be 1 to 256 bytes");
  }
  AZTP_ASSIGN_OR_RETURN(auto resource, GetOptionalString(body, "resource"));
  request.resource = resource.value_or("*");
  auto context = body.find("context");
  AZTP_ASSIGN_OR_RETURN(
      request.context,
      ContextFromJson(context != body.end() ? *context : Json::object(), now));
  AZTP_ASSIGN_OR_RETURN(auto only, GetOptionalString(body, "policy_id"));

  std::vector<PolicyRecord> records;
  AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto r, tx.GetIdentity(id.str()));
    if (!r) return Error(Code::kNotFound, id.str() + " is not registered");
    AZTP_ASSIGN_OR_RETURN(records, tx.ListAttachedPolicies(id.str()));
    return Ok();
  }));
  if (only) {
    std::erase_if(records,
                  [&](const PolicyRecord& p) { return p.id != *only; });
    if (records.empty()) {
      return Error(Code::kNotFound, "policy " + QuoteInput(*only) +
                                        " is not attached to " + id.str());
    }
  }
  std::vector<Policy> policies;
  for (const auto& r : records) {
    auto p = ParsePolicy(r.document);
    if (!p) return p.error().WithContext("stored policy " + r.id);
    policies.push_back(std::move(*p));
  }
  std::vector<const Policy*> pointers;
  for (const auto& p : policies) pointers.push_back(&p);
  Decision d = EvaluateAll(pointers, request);
  Json decided_by;
  if (d.policy_index) decided_by = records[*d.policy_index].id;

  // Every decision is on the audit record.
  AuditRecord a = MakeAudit(now, who.actor(), "policy.authorize", id.str(),
                            Json{{"action", request.action},
                                 {"resource", request.resource},
                                 {"policy", decided_by}});
  a.decision = std::string(VerdictString(d.verdict));
  a.reason = d.reason;
  AZTP_RETURN_IF_ERROR(store_->Write(
      [&](Transaction& tx) -> Status { return Appended(tx.AppendAudit(a)); }));
  Json out = DecisionJson(d);
  out["policy_id"] = std::move(decided_by);
  return out;
}

}  // namespace aztp

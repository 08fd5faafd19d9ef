// The client's calls on stored policies and authorisation decisions.
#include <algorithm>
#include <utility>

#include "client/client_internal.h"

namespace aztp {

namespace {

using client_internal::ArrayOf;
using client_internal::Member;
using client_internal::OptionalStringArray;
using client_internal::OptionalText;
using client_internal::OptionalTime;
using client_internal::Query;

// PolicyTarget is /v1/policies/<id>[:action]. Policy IDs are checked: any
// other character could bend the request target.
Result<std::string> PolicyTarget(std::string_view id,
                                 std::string_view action = {}) {
  constexpr std::string_view kPrefix = "policy:";
  std::string_view rest =
      id.rfind(kPrefix, 0) == 0 ? id.substr(kPrefix.size()) : "";
  if (rest.empty() || rest.size() > 64 ||
      !std::all_of(rest.begin(), rest.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
               (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
      })) {
    return Error(
        Code::kInvalidArgument,
        "malformed policy ID " + QuoteInput(id) + " (expected policy:<id>)");
  }
  std::string out = "/v1/policies/" + std::string(id);
  if (!action.empty()) {
    out += ':';
    out += action;
  }
  return out;
}

Result<StoredPolicy> ParseStoredPolicy(const Json& j) {
  if (!j.is_object()) return Error(Code::kMalformed, "a policy is no object");
  StoredPolicy out;
  AZTP_ASSIGN_OR_RETURN(out.id, GetString(j, "id"));
  AZTP_ASSIGN_OR_RETURN(out.name, GetString(j, "name"));
  AZTP_ASSIGN_OR_RETURN(out.description, OptionalText(j, "description"));
  AZTP_ASSIGN_OR_RETURN(out.version, GetInt(j, "version"));
  const Json* document = Member(j, "document");
  if (document == nullptr || !document->is_object()) {
    return WrongMemberType("document", "an object");
  }
  out.document = *document;
  AZTP_ASSIGN_OR_RETURN(out.created_at, OptionalTime(j, "created_at"));
  AZTP_ASSIGN_OR_RETURN(out.updated_at, OptionalTime(j, "updated_at"));
  AZTP_ASSIGN_OR_RETURN(auto attached, OptionalStringArray(j, "attached_to"));
  for (const auto& text : attached) {
    AZTP_ASSIGN_OR_RETURN(SpiffeId id, SpiffeId::Parse(text));
    out.attached_to.push_back(std::move(id));
  }
  return out;
}

Result<std::vector<StoredPolicy>> ParsePolicyList(const Json& doc) {
  return ArrayOf<StoredPolicy>(doc, "policies", ParseStoredPolicy);
}

// ParseAuthorizeResult reads a decision (DecisionJson's form) and the ID of
// the deciding policy.
Result<AuthorizeResult> ParseAuthorizeResult(const Json& doc) {
  AuthorizeResult out;
  AZTP_ASSIGN_OR_RETURN(out.decision, DecisionFromJson(doc));
  if (const Json* id = Member(doc, "policy_id")) {
    if (!id->is_string())
      return WrongMemberType("policy_id", "a string or null");
    out.policy_id = id->get<std::string>();
  }
  return out;
}

// IdentityBody is {"identity": <id>}, the body of :attach and :detach.
std::string IdentityBody(const SpiffeId& identity) {
  return DumpJson(Json{{"identity", identity.str()}});
}

}  // namespace

Result<StoredPolicy> Client::CreatePolicy(std::string_view name,
                                          const Policy& document,
                                          std::string_view description) {
  Json body = Json::object();
  body["name"] = std::string(name);
  if (!description.empty()) body["description"] = std::string(description);
  body["document"] = document.ToJson();
  return impl_->Parsed("POST", "/v1/policies", DumpJson(body), false,
                       ParseStoredPolicy);
}

Result<StoredPolicy> Client::UpdatePolicy(
    std::string_view id, int64_t version, const Policy& document,
    std::optional<std::string> name, std::optional<std::string> description) {
  AZTP_ASSIGN_OR_RETURN(std::string target, PolicyTarget(id));
  Json body = Json::object();
  body["version"] = version;
  if (name) body["name"] = std::move(*name);
  if (description) body["description"] = std::move(*description);
  body["document"] = document.ToJson();
  return impl_->Parsed("PUT", target, DumpJson(body), false, ParseStoredPolicy);
}

Result<StoredPolicy> Client::GetPolicy(std::string_view id,
                                       std::optional<int64_t> version) {
  AZTP_ASSIGN_OR_RETURN(std::string target, PolicyTarget(id));
  target += Query({{"version", version ? std::to_string(*version) : ""}});
  return impl_->Parsed("GET", target, "", true, ParseStoredPolicy);
}

Result<std::vector<StoredPolicy>> Client::ListPolicies(
    std::optional<SpiffeId> identity) {
  std::string target =
      "/v1/policies" + Query({{"identity", identity ? identity->str() : ""}});
  return impl_->Parsed("GET", target, "", true, ParsePolicyList);
}

Status Client::DeletePolicy(std::string_view id) {
  AZTP_ASSIGN_OR_RETURN(std::string target, PolicyTarget(id));
  return impl_->Confirmed("DELETE", target, "", "deleted");
}

Status Client::AttachPolicy(std::string_view id, const SpiffeId& identity) {
  AZTP_ASSIGN_OR_RETURN(std::string target, PolicyTarget(id, "attach"));
  return impl_->Confirmed("POST", target, IdentityBody(identity), "attach");
}

Status Client::DetachPolicy(std::string_view id, const SpiffeId& identity) {
  AZTP_ASSIGN_OR_RETURN(std::string target, PolicyTarget(id, "detach"));
  return impl_->Confirmed("POST", target, IdentityBody(identity), "detach");
}

Result<AuthorizeResult> Client::Authorize(const AuthorizeRequest& request) {
  if (!request.context.is_object()) {
    return Error(Code::kInvalidArgument, "context must be a JSON object");
  }
  Json body = Json::object();
  body["identity"] = request.identity.str();
  body["action"] = request.action;
  if (!request.resource.empty()) body["resource"] = request.resource;
  if (!request.context.empty()) body["context"] = request.context;
  if (request.policy_id) body["policy_id"] = *request.policy_id;
  return impl_->Parsed("POST", "/v1/authorize", DumpJson(body), true,
                       ParseAuthorizeResult);
}

}  // namespace aztp

#include "api.h"

#include <algorithm>

#include "aztp/base/bytes.h"
#include "aztp/crypto/digest.h"
#include "aztp/encoding/base64.h"

namespace aztp::internal {

Result<Json> BodyObject(const http::Request& req, std::size_t max_bytes) {
  std::string type = req.Header("content-type");
  if (type.substr(0, 16) != "application/json") {
    return Error(Code::kUnsupported, "content type must be application/json");
  }
  JsonLimits limits;
  limits.max_bytes = max_bytes;
  limits.max_depth = 16;
  AZTP_ASSIGN_OR_RETURN(Json body, ParseJson(req.body, limits));
  if (!body.is_object()) {
    return Error(Code::kMalformed, "request body must be a JSON object");
  }
  return body;
}

Status OnlyMembers(const Json& body, std::initializer_list<const char*> names) {
  for (const auto& item : body.items()) {
    if (std::none_of(names.begin(), names.end(),
                     [&](const char* n) { return item.key() == n; })) {
      return Error(Code::kMalformed,
                   "unknown member " + QuoteInput(item.key()));
    }
  }
  return Ok();
}

Result<std::optional<std::string>> BoundedString(const Json& body,
                                                 const char* name,
                                                 std::size_t max) {
  AZTP_ASSIGN_OR_RETURN(auto value, GetOptionalString(body, name));
  if (value && value->size() > max) {
    return BadRequest(std::string(name) + " is longer than " +
                      std::to_string(max) + " bytes");
  }
  return value;
}

Result<bool> OptionalBool(const Json& body, const char* name, bool fallback) {
  auto it = body.find(name);
  if (it == body.end()) return fallback;
  if (!it->is_boolean()) return WrongMemberType(name, "a boolean");
  return it->get<bool>();
}

Result<std::optional<std::vector<std::string>>> OptionalStrings(
    const Json& body, const char* name, std::size_t max_items) {
  auto it = body.find(name);
  if (it == body.end()) return std::optional<std::vector<std::string>>();
  if (!it->is_array() || it->size() > max_items ||
      !std::all_of(it->begin(), it->end(),
                   [](const Json& v) { return v.is_string(); })) {
    return BadRequest(std::string(name) + " must be an array of at most " +
                      std::to_string(max_items) + " strings");
  }
  return std::optional(it->get<std::vector<std::string>>());
}

Result<Json> OptionalMetadata(const Json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end()) return Json::object();
  if (!it->is_object() || DumpJson(*it).size() > kMaxMetadataBytes) {
    return BadRequest(std::string(name) +
                      " must be an object of at most 16 KiB");
  }
  return *it;
}

Result<int> PageLimit(const http::Request& req) {
  auto it = req.query.find("limit");
  if (it == req.query.end()) return 100;
  auto parsed = ParseJson(it->second);
  if (!parsed || !IsInteger(*parsed) || *parsed < 1 || *parsed > 1000) {
    return BadRequest("limit must be an integer from 1 to 1000");
  }
  return parsed->get<int>();
}

Result<std::optional<int64_t>> QueryInt(const http::Request& req,
                                        const char* name) {
  auto it = req.query.find(name);
  if (it == req.query.end()) return std::optional<int64_t>();
  auto parsed = ParseJson(it->second);
  if (!parsed || !IsInteger(*parsed) || *parsed < 0) {
    return BadRequest(std::string(name) + " must be a non-negative integer");
  }
  return std::optional<int64_t>(parsed->get<int64_t>());
}

Result<SpiffeId> WorkloadId(const Json& body, const char* name,
                            const TrustDomain& td) {
  AZTP_ASSIGN_OR_RETURN(std::string text, GetString(body, name));
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, SpiffeId::ParseUserInput(text));
  AZTP_RETURN_IF_ERROR(services::RequireWorkloadId(td, id));
  return id;
}

Json IdentityJson(const IdentityRecord& r) {
  Json j = Json::object();
  j["id"] = r.id;
  j["parent"] = r.parent ? Json(*r.parent) : Json();
  j["global"] = r.global;
  j["discoverable"] = r.discoverable;
  j["metadata"] = r.metadata;
  j["selectors"] = r.selectors;
  j["federates_with"] = r.federates_with ? Json(*r.federates_with) : Json();
  j["status"] = ToString(r.status);
  if (r.status == IdentityRecord::Status::kRevoked) {
    j["revoked_reason"] = r.revoked_reason;
    j["revoked_by"] = r.revoked_by;
  }
  j["created_at"] = r.created_at;
  j["updated_at"] = r.updated_at;
  return j;
}

Json LinkJson(const LinkRecord& r) {
  return Json{{"from", r.from},
              {"to", r.to},
              {"kind", ToString(r.kind)},
              {"metadata", r.metadata},
              {"created_at", r.created_at}};
}

Json ApiKeyJson(const ApiKeyRecord& r) {
  return Json{{"key_id", r.key_id},
              {"scope", r.scope},
              {"description", r.description},
              {"revoked", r.revoked},
              {"created_at", r.created_at}};
}

Json ErrorJson(const Error& e) {
  return Json{{"error", std::string(e.reason())}, {"message", e.message()}};
}

}  // namespace aztp::internal

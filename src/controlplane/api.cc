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
  if (!it->is_boolean()) {
    return Error(Code::kMalformed,
                 std::string("member \"") + name + "\" must be a boolean");
  }
  return it->get<bool>();
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

std::string HashApiKeySecret(std::string_view salt_hex,
                             std::string_view secret) {
  std::string input(salt_hex);
  input += secret;
  return HexEncode(Sha256(AsBytes(input)));
}

Result<NewApiKey> MakeApiKey(std::string scope, std::string description,
                             UnixTime now) {
  AZTP_ASSIGN_OR_RETURN(Bytes id, RandomBytes(8));
  AZTP_ASSIGN_OR_RETURN(Bytes secret, RandomBytes(32));
  AZTP_ASSIGN_OR_RETURN(Bytes salt, RandomBytes(16));
  NewApiKey out;
  out.record.key_id = HexEncode(id);
  out.record.salt = HexEncode(salt);
  std::string secret_b64 = Base64UrlEncode(secret);
  out.record.hash = HashApiKeySecret(out.record.salt, secret_b64);
  out.record.scope = std::move(scope);
  out.record.description = std::move(description);
  out.record.created_at = now;
  out.secret_text =
      std::string(kApiKeyPrefix) + out.record.key_id + "." + secret_b64;
  return out;
}

Result<SpiffeId> ParseScope(const TrustDomain& td, std::string_view scope) {
  // "/" names the trust domain itself; otherwise one trailing slash is
  // dropped and the rest must be a SPIFFE path (SPIFFE-ID §2.2), so that
  // "//", "." and ".." segments are refused rather than rewritten.
  std::string_view path = scope == "/" ? std::string_view() : scope;
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  auto id = scope.empty() || scope.front() != '/'
                ? Result<SpiffeId>(Error(Code::kInvalidArgument, "no path"))
                : SpiffeId::FromSegments(td, path);
  if (!id) {
    return BadRequest(
        "scope must be \"admin\" or a SPIFFE path such as /agents or "
        "/agents/planner (segments of letters, digits, '.', '-' and '_'; no "
        "empty, \".\" or \"..\" segment), not " +
        QuoteInput(scope));
  }
  return id;
}

std::string ScopeText(const SpiffeId& scope) {
  return scope.path().empty() ? "/" : std::string(scope.path());
}

bool ScopeCovers(const SpiffeId& scope, const SpiffeId& id) {
  if (!id.MemberOf(scope.trust_domain())) return false;
  const std::string_view base = scope.path();
  const std::string_view path = id.path();
  // Whole segments only: the scope's path must end where one of the ID's
  // segments ends.
  return path.starts_with(base) &&
         (path.size() == base.size() || path[base.size()] == '/');
}

Result<SpiffeId> WorkloadId(const Json& body, const char* name,
                            const TrustDomain& td) {
  AZTP_ASSIGN_OR_RETURN(std::string text, GetString(body, name));
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, SpiffeId::ParseUserInput(text));
  if (!id.MemberOf(td) || !id.IsWorkload()) {
    return BadRequest(id.str() + " is not a workload ID of " + td.name());
  }
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

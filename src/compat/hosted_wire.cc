#include "hosted_wire.h"

#include "aztp/controlplane/control_plane.h"

namespace aztp::compat::hosted {

namespace {

// CodeFor is the hosted message code of an error.
std::string CodeFor(const Error& e) {
  switch (e.code()) {
    case Code::kUnauthenticated:
      return "AZTP-AUTH-E-001";
    case Code::kPermissionDenied:
      return "AZTP-AUTH-E-002";
    case Code::kRevoked:
      return "AZTP-ID-E-001";
    case Code::kNotFound:
      return "AZTP-ID-E-002";
    case Code::kAlreadyExists:
      return "AZTP-ID-E-003";
    case Code::kUntrustedTrustDomain:
      return "AZTP-ID-E-004";
    case Code::kRateLimited:
      return "AZTP-REQ-E-002";
    case Code::kInternal:
    case Code::kIo:
    case Code::kUnavailable:
      return "AZTP-SRV-E-001";
    default:
      return "AZTP-REQ-E-001";
  }
}

std::string WithoutScheme(const std::string& spiffe) {
  return spiffe.rfind(kSpiffeScheme, 0) == 0
             ? spiffe.substr(sizeof(kSpiffeScheme) - 1)
             : spiffe;
}

}  // namespace

Answer Envelope(int status, bool success, std::string code, std::string text,
                Json data) {
  return Answer{status, success, std::move(code), std::move(text),
                std::move(data)};
}

Json EnvelopeJson(const Answer& a) {
  Json out = a.top;
  out["success"] = a.success;
  out["message"] = a.code + " - " + a.text;
  out["data"] = a.data;
  return out;
}

Answer Failure(const Error& e) {
  return Answer{HttpStatusFor(e), false,  CodeFor(e),
                e.message(),      Json(), Json::object()};
}

Error BadInput(const std::string& text) {
  return Error(Code::kInvalidArgument, text);
}

std::string ToAztp(const std::string& spiffe) {
  if (spiffe.rfind(kSpiffeScheme, 0) == 0)
    return kAztpScheme + WithoutScheme(spiffe);
  return spiffe;
}

std::string WithAztpIds(std::string text) {
  for (std::size_t at = text.find(kSpiffeScheme); at != std::string::npos;
       at = text.find(kSpiffeScheme, at)) {
    text.replace(at, sizeof(kSpiffeScheme) - 1, kAztpScheme);
  }
  return text;
}

Error FromService(const Error& e) {
  return Error(e.code(), WithAztpIds(e.message()));
}

Result<Json> Body(const http::Request& req) {
  if (req.body.empty()) return BadInput("the request needs a JSON body");
  auto parsed = ParseJson(req.body);
  if (!parsed) {
    return BadInput("the body is not valid JSON: " + parsed.error().message());
  }
  if (!parsed->is_object()) return BadInput("the body must be a JSON object");
  return std::move(*parsed);
}

std::string Query(const http::Request& req, const char* name) {
  auto it = req.query.find(name);
  return it == req.query.end() ? std::string() : it->second;
}

Result<std::optional<Json>> Member(const Json& body, const char* name,
                                   bool (*want)(const Json&),
                                   const char* type) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::optional<Json>();
  if (!want(*it)) {
    return BadInput(std::string(name) + " must be " + type);
  }
  return std::optional<Json>(*it);
}

bool IsString(const Json& j) { return j.is_string(); }
bool IsBool(const Json& j) { return j.is_boolean(); }
bool IsObject(const Json& j) { return j.is_object(); }
bool IsStringArray(const Json& j) {
  if (!j.is_array()) return false;
  for (const auto& e : j) {
    if (!e.is_string()) return false;
  }
  return true;
}

Result<std::optional<std::string>> StringMember(const Json& body,
                                                const char* name) {
  AZTP_ASSIGN_OR_RETURN(auto m, Member(body, name, IsString, "a string"));
  if (!m) return std::optional<std::string>();
  return std::optional<std::string>(m->get<std::string>());
}

Result<SpiffeId> HostedId(const std::string& text, const char* name) {
  if (text.rfind(kAztpScheme, 0) != 0) {
    return BadInput(std::string(name) + " must be an aztp:// ID");
  }
  auto id = SpiffeId::ParseUserInput(text);
  if (!id) {
    return BadInput(std::string(name) +
                    " is not a valid ID: " + id.error().message());
  }
  return std::move(*id);
}

// kMaxFlowIdBytes bounds flow IDs taken from bodies and paths; native IDs
// are "flow_<24 hex>", hosted ones were 24 hex digits.
constexpr std::size_t kMaxFlowIdBytes = 64;

Result<std::string> FlowId(const std::string& text, const char* name) {
  bool ok = !text.empty() && text.size() <= kMaxFlowIdBytes;
  for (char c : text) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '_' || c == '-');
  }
  if (!ok) return BadInput(std::string(name) + " is not a valid flow ID");
  return text;
}

WorkloadName NameOf(const std::string& spiffe) {
  const std::string path = WithoutScheme(spiffe);
  const auto slash = path.find('/');
  const std::string rest = slash == std::string::npos ? "" : path.substr(slash);
  WorkloadName out;
  if (rest.rfind("/workload/", 0) == 0) {
    std::string tail = rest.substr(10);
    auto end = tail.find('/');
    if (end != std::string::npos && tail.compare(end, 6, "/node/") == 0) {
      out.environment = tail.substr(0, end);
      out.name = tail.substr(end + 6);
    }
  }
  if (out.name.empty()) out.name = rest.substr(rest.rfind('/') + 1);
  return out;
}

Json Record(const IdentityRecord& r, const std::vector<LinkRecord>* links) {
  const std::string path = WithoutScheme(r.id);
  const std::string td = path.substr(0, path.find('/'));
  const WorkloadName n = NameOf(r.id);
  const Json meta = r.metadata.is_object() ? r.metadata : Json::object();
  auto text = [&](const char* key) -> Json {
    auto it = meta.find(key);
    return it != meta.end() && it->is_string() ? *it : Json("");
  };
  Json out = Json::object();
  out["aztpId"] = ToAztp(r.id);
  out["name"] = n.name;
  out["parentIdentity"] = r.parent ? Json(ToAztp(*r.parent)) : Json();
  out["selectors"] = r.selectors;
  out["workloadInfo"] = Json{{"workloadId", n.name},
                             {"agentId", text("agentId")},
                             {"trustDomain", td},
                             {"method", "node"},
                             {"timestamp", text("timestamp")},
                             {"hostname", text("hostname")},
                             {"environment", n.environment}};
  out["status"] = ToString(r.status);
  out["environment"] = n.environment;
  out["isGlobalIdentity"] = r.global;
  out["discoverable"] = r.discoverable;
  out["metadata"] = meta;
  out["createdAt"] = r.created_at;
  out["updatedAt"] = r.updated_at;
  if (links != nullptr) {
    Json list = Json::array();
    for (const auto& l : *links) list.push_back(HostedLink(l));
    out["links"] = std::move(list);
  }
  return out;
}

Json HostedLink(const LinkRecord& l) {
  return Json{{"sourceIdentity", ToAztp(l.from)},
              {"targetIdentity", ToAztp(l.to)},
              {"relationshipType", ToString(l.kind)},
              {"metadata", l.metadata},
              {"createdAt", l.created_at}};
}

Json HostedFlow(const FlowRecord& f) {
  return Json{{"_id", f.id},
              {"name", f.name},
              {"description", f.description},
              {"discoverable", ToString(f.discoverable)},
              {"tags", f.tags},
              {"metadata", f.metadata},
              {"createdBy", f.created_by},
              {"createdAt", f.created_at},
              {"updatedAt", f.updated_at}};
}

Json HostedMember(const FlowMemberRecord& m) {
  return Json{{"identityFlowId", m.flow_id},  {"aztpId", ToAztp(m.identity)},
              {"status", ToString(m.status)}, {"reason", m.reason},
              {"addedAt", m.added_at},        {"updatedAt", m.updated_at}};
}

Json WithoutNulls(const Json& body, std::initializer_list<const char*> names) {
  Json out = Json::object();
  for (const char* n : names) {
    auto it = body.find(n);
    if (it != body.end() && !it->is_null()) out[n] = *it;
  }
  return out;
}

}  // namespace aztp::compat::hosted

#include "aztp/compat/hosted_sdk.h"

#include <algorithm>
#include <exception>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/encoding/json.h"
#include "aztp/spiffeid/spiffe_id.h"

namespace aztp::compat {
namespace {

constexpr char kAztpScheme[] = "aztp://";
constexpr char kSpiffeScheme[] = "spiffe://";
constexpr int kMaxPages = 100;  // discovery and name lookups: 100 pages max

// Answer is one hosted answer before it is serialised: the envelope's
// success flag, message code and text, its data, and the HTTP status.
struct Answer {
  int status = 200;
  bool success = true;
  std::string code;
  std::string text;
  Json data;
};

Answer Envelope(int status, bool success, std::string code, std::string text,
                Json data) {
  return Answer{status, success, std::move(code), std::move(text),
                std::move(data)};
}

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

// Serialise turns an answer, or an error, into the hosted envelope.
http::Response Serialise(const Result<Answer>& a) {
  Answer failed;
  if (!a) {
    failed = Answer{HttpStatusFor(a.error()), false, CodeFor(a.error()),
                    a.error().message(), Json()};
  }
  const Answer& out = a ? *a : failed;
  http::Response r;
  r.status = out.status;
  r.body = DumpJson(Json{{"success", out.success},
                         {"message", out.code + " - " + out.text},
                         {"data", out.data}});
  return r;
}

Error BadInput(const std::string& text) {
  return Error(Code::kInvalidArgument, text);
}

// ToAztp turns a native SPIFFE ID into the hosted form.
std::string ToAztp(const std::string& spiffe) {
  if (spiffe.rfind(kSpiffeScheme, 0) == 0) {
    return kAztpScheme + spiffe.substr(sizeof(kSpiffeScheme) - 1);
  }
  return spiffe;
}

Json ToAztpOrNull(const Json& v) {
  return v.is_string() ? Json(ToAztp(v.get<std::string>())) : Json();
}

// WithAztpIds rewrites the spiffe:// IDs in a native text to aztp://.
std::string WithAztpIds(std::string text) {
  for (std::size_t at = text.find(kSpiffeScheme); at != std::string::npos;
       at = text.find(kSpiffeScheme, at)) {
    text.replace(at, sizeof(kSpiffeScheme) - 1, kAztpScheme);
  }
  return text;
}

// NativeAnswer is one answer of the control plane.
struct NativeAnswer {
  int status = 0;
  Json body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// NativeError turns a native error answer back into its Error, with the
// IDs in its message in the hosted form.
Error NativeError(const NativeAnswer& a) {
  std::string reason, message;
  if (auto it = a.body.find("error"); it != a.body.end() && it->is_string()) {
    reason = it->get<std::string>();
  }
  if (auto it = a.body.find("message"); it != a.body.end() && it->is_string()) {
    message = it->get<std::string>();
  }
  Code code = Code::kInternal;
  for (Code c :
       {Code::kMalformed, Code::kTooLarge, Code::kInvalidArgument,
        Code::kNotFound, Code::kUnsupported, Code::kIo, Code::kInternal,
        Code::kAlreadyExists, Code::kUnauthenticated, Code::kPermissionDenied,
        Code::kRateLimited, Code::kUnavailable, Code::kRevoked}) {
    if (ReasonString(c) == reason) code = c;
  }
  if (message.empty()) message = reason.empty() ? "request failed" : reason;
  return Error(code, WithAztpIds(std::move(message)));
}

// Member reads an optional member of `body`; `want` checks its type.
template <typename Check>
Result<std::optional<Json>> Member(const Json& body, const char* name,
                                   Check want, const char* type) {
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

// HostedId checks that `text` is an aztp:// ID and returns its native form.
Result<std::string> HostedId(const std::string& text, const char* name) {
  if (text.rfind(kAztpScheme, 0) != 0) {
    return BadInput(std::string(name) + " must be an aztp:// ID");
  }
  auto id = SpiffeId::ParseUserInput(text);
  if (!id) {
    return BadInput(std::string(name) +
                    " is not a valid ID: " + id.error().message());
  }
  return id->str();
}

// NativePath is the /v1/identities/<td>/<path> route of a native ID.
std::string NativePath(const std::string& spiffe) {
  return "/v1/identities/" + spiffe.substr(sizeof(kSpiffeScheme) - 1);
}

// HostedLink is the hosted link record for a native link.
Json HostedLink(const Json& l) {
  return Json{{"sourceIdentity", ToAztpOrNull(l.value("from", Json()))},
              {"targetIdentity", ToAztpOrNull(l.value("to", Json()))},
              {"relationshipType", l.value("kind", "")},
              {"metadata", l.value("metadata", Json::object())},
              {"createdAt", l.value("created_at", Json())}};
}

// Record is the hosted identity record for a native identity.
Json Record(const Json& n) {
  if (!n.is_object()) return Json::object();
  std::string id = n.value("id", "");
  std::string path = id;
  if (path.rfind(kSpiffeScheme, 0) == 0) {
    path = path.substr(sizeof(kSpiffeScheme) - 1);
  }
  std::string td = path.substr(0, path.find('/'));
  std::string name;
  std::string environment;
  // /workload/<env>/node/<name>: the name may itself contain slashes.
  const std::string rest =
      path.find('/') == std::string::npos ? "" : path.substr(path.find('/'));
  if (rest.rfind("/workload/", 0) == 0) {
    std::string tail = rest.substr(10);
    auto slash = tail.find('/');
    if (slash != std::string::npos && tail.compare(slash, 6, "/node/") == 0) {
      environment = tail.substr(0, slash);
      name = tail.substr(slash + 6);
    }
  }
  if (name.empty()) name = rest.substr(rest.rfind('/') + 1);
  Json meta = n.contains("metadata") && n["metadata"].is_object()
                  ? n["metadata"]
                  : Json::object();
  auto text = [&](const char* key) -> Json {
    auto it = meta.find(key);
    return it != meta.end() && it->is_string() ? *it : Json("");
  };
  Json out = Json::object();
  out["aztpId"] = ToAztp(id);
  out["name"] = name;
  out["parentIdentity"] = ToAztpOrNull(n.value("parent", Json()));
  out["selectors"] = n.value("selectors", Json::array());
  out["workloadInfo"] = Json{{"workloadId", name},
                             {"agentId", text("agentId")},
                             {"trustDomain", td},
                             {"method", "node"},
                             {"timestamp", text("timestamp")},
                             {"hostname", text("hostname")},
                             {"environment", environment}};
  out["status"] = n.value("status", "");
  out["environment"] = environment;
  out["isGlobalIdentity"] = n.value("global", false);
  out["discoverable"] = n.value("discoverable", false);
  out["metadata"] = meta;
  out["createdAt"] = n.value("created_at", Json());
  out["updatedAt"] = n.value("updated_at", Json());
  if (n.contains("links") && n["links"].is_array()) {
    Json links = Json::array();
    for (const auto& l : n["links"]) links.push_back(HostedLink(l));
    out["links"] = std::move(links);
  }
  return out;
}

// kMaxFlowIdBytes bounds flow IDs taken from bodies and paths; native IDs
// are "flow_<24 hex>", hosted ones were 24 hex digits.
constexpr std::size_t kMaxFlowIdBytes = 64;
// kMaxActions bounds the actions of one permissions request (one native
// decision each).
constexpr std::size_t kMaxActions = 32;
// kConnectAction is the action a policy must allow for a connection check
// with policyCode (docs/compat.md).
constexpr char kConnectAction[] = "connect";

// FlowId checks a flow ID before it becomes part of a native path: letters,
// digits, '_' and '-' only.
Result<std::string> FlowId(const std::string& text, const char* name) {
  bool ok = !text.empty() && text.size() <= kMaxFlowIdBytes;
  for (char c : text) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '_' || c == '-');
  }
  if (!ok) return BadInput(std::string(name) + " is not a valid flow ID");
  return text;
}

// HostedFlow is the hosted flow record (camelCase, the ID as `_id`) for a
// native flow, with its members when the native answer has them.
Json HostedFlow(const Json& f) {
  Json out = Json::object();
  out["_id"] = f.value("id", "");
  out["name"] = f.value("name", "");
  out["description"] = f.value("description", "");
  out["discoverable"] = f.value("discoverable", "public");
  out["tags"] = f.value("tags", Json::array());
  out["metadata"] = f.value("metadata", Json::object());
  out["createdBy"] = f.value("created_by", "");
  out["createdAt"] = f.value("created_at", Json());
  out["updatedAt"] = f.value("updated_at", Json());
  if (f.contains("members") && f["members"].is_array()) {
    Json members = Json::array();
    for (const auto& m : f["members"]) {
      members.push_back(
          Json{{"aztpId", ToAztpOrNull(m.value("identity", Json()))},
               {"status", m.value("status", "")},
               {"reason", m.value("reason", "")},
               {"addedAt", m.value("added_at", Json())},
               {"updatedAt", m.value("updated_at", Json())}});
    }
    out["members"] = std::move(members);
  }
  return out;
}

// HostedMember is the hosted record of one flow membership.
Json HostedMember(const Json& m) {
  return Json{{"identityFlowId", m.value("flow", "")},
              {"aztpId", ToAztpOrNull(m.value("identity", Json()))},
              {"status", m.value("status", "")},
              {"reason", m.value("reason", "")},
              {"addedAt", m.value("added_at", Json())},
              {"updatedAt", m.value("updated_at", Json())}};
}

// HostedPolicy is the hosted policy object (§5.1 of the SDK notes: the
// SDK's get_policy_value filters on `code` or `policyName` and returns
// `policyStatement`) for a native policy.
Json HostedPolicy(const Json& p) {
  return Json{{"code", p.value("id", "")},
              {"policyName", p.value("name", "")},
              {"policyStatement", p.value("document", Json())},
              {"description", p.value("description", "")},
              {"version", p.value("version", Json())},
              {"createdAt", p.value("created_at", Json())},
              {"updatedAt", p.value("updated_at", Json())}};
}

// WithoutNulls drops the null members of a hosted body (the hosted SDK
// sends unset optional arguments as null; the native API wants them absent).
Json WithoutNulls(const Json& body, std::initializer_list<const char*> names) {
  Json out = Json::object();
  for (const char* n : names) {
    auto it = body.find(n);
    if (it != body.end() && !it->is_null()) out[n] = *it;
  }
  return out;
}

// Session answers one hosted request with the caller's key.
class Session {
 public:
  Session(ControlPlane& plane, const http::Request& req, std::string key)
      : plane_(plane), req_(req), key_(std::move(key)) {}

  Result<Answer> Route();

 private:
  NativeAnswer Call(const std::string& method, const std::string& path,
                    const std::map<std::string, std::string>& query = {},
                    const std::optional<Json>& body = std::nullopt);
  Result<Json> Body();
  Result<Json> GetIdentity(const std::string& spiffe);
  Result<std::vector<Json>> Discover(const std::string& trust_domain);

  Result<Answer> IssueIdentity();
  Result<Answer> GetIdentityByName(const std::string& name);
  Result<Answer> Verify(bool connection);
  Result<Answer> RevokeOrReissue(bool revoke);
  Result<Answer> Link();
  Result<Answer> DiscoverRoute(bool with_trust_domain);
  Result<Answer> Policies();
  Result<Answer> Permissions();
  Result<Answer> FlowHealth();
  Result<Answer> FlowCreate();
  Result<Answer> FlowUpdate(const std::string& id_text);
  Result<Answer> FlowDelete(const std::string& id_text);
  Result<Answer> FlowMember(const std::string& action);

  // Query is a query parameter, "" when absent.
  std::string Query(const char* name) const;
  // Decide asks the native API for one decision of `identity`'s policies.
  NativeAnswer Decide(const std::string& identity, const std::string& action,
                      const std::optional<std::string>& policy,
                      const Json& context);
  // Flow reads a native flow with its members; nullopt when it does not
  // exist for this key.
  Result<std::optional<Json>> Flow(const std::string& id);

  ControlPlane& plane_;
  const http::Request& req_;
  std::string key_;
};

NativeAnswer Session::Call(const std::string& method, const std::string& path,
                           const std::map<std::string, std::string>& query,
                           const std::optional<Json>& body) {
  http::Request n;
  n.method = method;
  n.path = path;
  n.target = path;
  n.query = query;
  n.remote = req_.remote;
  n.headers["authorization"] = "Bearer " + key_;
  if (body) {
    n.headers["content-type"] = "application/json";
    n.body = DumpJson(*body);
  }
  http::Response r = plane_.Handle(n);
  NativeAnswer a;
  a.status = r.status;
  a.headers = r.headers;
  // Answers are JSON objects; anything else is treated as an empty object
  // so that member lookups below cannot fail.
  auto parsed = ParseJson(r.body);
  a.body = parsed && parsed->is_object() ? std::move(*parsed) : Json::object();
  return a;
}

Result<Json> Session::Body() {
  if (req_.body.empty()) return BadInput("the request needs a JSON body");
  auto parsed = ParseJson(req_.body);
  if (!parsed) {
    return BadInput("the body is not valid JSON: " + parsed.error().message());
  }
  if (!parsed->is_object()) return BadInput("the body must be a JSON object");
  return std::move(*parsed);
}

Result<Json> Session::GetIdentity(const std::string& spiffe) {
  NativeAnswer a = Call("GET", NativePath(spiffe));
  if (a.status != 200) return NativeError(a);
  return std::move(a.body);
}

Result<std::vector<Json>> Session::Discover(const std::string& trust_domain) {
  std::vector<Json> out;
  std::map<std::string, std::string> query{{"limit", "1000"}};
  if (!trust_domain.empty()) query["trust_domain"] = trust_domain;
  for (int page = 0; page < kMaxPages; ++page) {
    NativeAnswer a = Call("GET", "/v1/discover", query);
    if (a.status != 200) return NativeError(a);
    for (const auto& i : a.body.value("identities", Json::array())) {
      out.push_back(i);
    }
    Json next = a.body.value("next", Json());
    if (!next.is_string() || next.get<std::string>().empty()) break;
    query["after"] = next.get<std::string>();
  }
  return out;
}

Result<Answer> Session::IssueIdentity() {
  AZTP_ASSIGN_OR_RETURN(Json body, Body());
  AZTP_ASSIGN_OR_RETURN(auto name,
                        Member(body, "workloadId", IsString, "a string"));
  if (!name || name->get<std::string>().empty()) {
    return BadInput("workloadId is required");
  }
  AZTP_ASSIGN_OR_RETURN(auto global,
                        Member(body, "isGlobalIdentity", IsBool, "a boolean"));
  AZTP_ASSIGN_OR_RETURN(auto discoverable,
                        Member(body, "discoverable", IsBool, "a boolean"));
  AZTP_ASSIGN_OR_RETURN(auto agent,
                        Member(body, "agentId", IsString, "a string"));
  AZTP_ASSIGN_OR_RETURN(auto method,
                        Member(body, "method", IsString, "a string"));
  AZTP_ASSIGN_OR_RETURN(auto stamp,
                        Member(body, "timestamp", IsString, "a string"));
  AZTP_ASSIGN_OR_RETURN(auto meta,
                        Member(body, "metadata", IsObject, "an object"));
  AZTP_ASSIGN_OR_RETURN(
      auto link_to, Member(body, "linkTo", IsStringArray, "an array of IDs"));
  if (method && method->get<std::string>() != "node") {
    return BadInput("method must be \"node\"");
  }
  if (body.contains("csr")) {
    return Envelope(501, false, "AZTP-API-E-501",
                    "X.509-SVID issuance through the hosted API is not "
                    "implemented; use POST /v1/svid/x509",
                    Json());
  }
  Json m = meta ? *meta : Json::object();
  AZTP_ASSIGN_OR_RETURN(auto env,
                        Member(m, "environment", IsString, "a string"));
  AZTP_ASSIGN_OR_RETURN(auto td,
                        Member(m, "trustDomain", IsString, "a string"));
  AZTP_ASSIGN_OR_RETURN(auto parent,
                        Member(m, "parentIdentity", IsString, "an aztp:// ID"));
  AZTP_ASSIGN_OR_RETURN(auto host, Member(m, "hostname", IsString, "a string"));
  const std::string own_td = plane_.trust_domain().name();
  if (td && !td->get<std::string>().empty() &&
      td->get<std::string>() != own_td) {
    return Error(Code::kUntrustedTrustDomain,
                 "trust domain " + QuoteInput(td->get<std::string>()) +
                     " is not served here; this server's trust domain is " +
                     own_td);
  }
  std::string environment = env && !env->get<std::string>().empty()
                                ? env->get<std::string>()
                                : "production";
  if (environment.find('/') != std::string::npos) {
    return BadInput("metadata.environment must not contain /");
  }
  std::string text = std::string(kAztpScheme) + own_td + "/workload/" +
                     environment + "/node/" + name->get<std::string>();
  AZTP_ASSIGN_OR_RETURN(std::string id, HostedId(text, "workloadId"));
  std::optional<std::string> parent_id;
  if (parent && !parent->get<std::string>().empty()) {
    AZTP_ASSIGN_OR_RETURN(
        parent_id, HostedId(parent->get<std::string>(), "parentIdentity"));
  }
  std::vector<std::string> links;
  if (link_to) {
    for (const auto& l : *link_to) {
      AZTP_ASSIGN_OR_RETURN(std::string to,
                            HostedId(l.get<std::string>(), "linkTo"));
      links.push_back(std::move(to));
    }
  }
  Json native_meta = Json::object();
  if (host) native_meta["hostname"] = *host;
  if (agent) native_meta["agentId"] = *agent;
  if (stamp) native_meta["timestamp"] = *stamp;
  Json reg{{"id", id},
           {"global", global ? global->get<bool>() : false},
           {"discoverable", discoverable ? discoverable->get<bool>() : true},
           {"metadata", native_meta},
           {"selectors", Json::array({"workload:id:" + name->get<std::string>(),
                                      "method:node",
                                      "metadata:environment:" + environment})}};
  if (parent_id) reg["parent"] = *parent_id;
  // A link needs rights on both ends (the native link route checks them):
  // read every target first, so that a target this key may not manage (or
  // that is not registered) fails the call before anything is registered.
  for (const auto& to : links) {
    if (to == id) continue;  // refused by the link route itself
    AZTP_RETURN_IF_ERROR(GetIdentity(to));
  }
  // Register if absent; an existing identity is answered as it is.
  NativeAnswer a = Call("POST", "/v1/identities", {}, reg);
  if (a.status != 201 && a.status != 409) return NativeError(a);
  for (const auto& to : links) {
    NativeAnswer l = Call("POST", NativePath(id) + ":link", {},
                          Json{{"to", to}, {"kind", "linked"}});
    if (l.status != 201 && l.status != 409) {
      return NativeError(l);
    }
  }
  AZTP_ASSIGN_OR_RETURN(Json record, GetIdentity(id));
  Json data = Record(record);
  data["valid"] = data["status"] == "active";
  return Envelope(200, true,
                  a.status == 201 ? "AZTP-ID-S-001" : "AZTP-ID-S-005",
                  a.status == 201 ? "Identity issued successfully"
                                  : "Identity already issued",
                  std::move(data));
}

Result<Answer> Session::GetIdentityByName(const std::string& name) {
  if (name.empty()) {
    return BadInput("the agent name is required");
  }
  if (name.rfind(kAztpScheme, 0) == 0) {
    AZTP_ASSIGN_OR_RETURN(std::string id, HostedId(name, "agentName"));
    AZTP_ASSIGN_OR_RETURN(Json record, GetIdentity(id));
    return Envelope(200, true, "WI-FND-S-001",
                    "Workload identity found successfully", Record(record));
  }
  // Names are unique per environment: list /workload/ and take the first
  // identity (in ID order) whose name matches.
  std::map<std::string, std::string> query{{"prefix", "/workload/"},
                                           {"limit", "1000"}};
  for (int page = 0; page < kMaxPages; ++page) {
    NativeAnswer a = Call("GET", "/v1/identities", query);
    if (a.status != 200) return NativeError(a);
    for (const auto& i : a.body.value("identities", Json::array())) {
      Json r = Record(i);
      if (r["name"] == name && !r["environment"].get<std::string>().empty()) {
        AZTP_ASSIGN_OR_RETURN(Json full, GetIdentity(i.value("id", "")));
        return Envelope(200, true, "WI-FND-S-001",
                        "Workload identity found successfully", Record(full));
      }
    }
    Json next = a.body.value("next", Json());
    if (!next.is_string() || next.get<std::string>().empty()) break;
    query["after"] = next.get<std::string>();
  }
  return Envelope(404, false, "AZTP-ID-E-002",
                  "no workload identity is named " + QuoteInput(name), Json());
}

Result<Answer> Session::Verify(bool connection) {
  AZTP_ASSIGN_OR_RETURN(Json body, Body());
  AZTP_ASSIGN_OR_RETURN(auto from,
                        Member(body, "aztpId", IsString, "a string"));
  if (!from) return BadInput("aztpId is required");
  AZTP_ASSIGN_OR_RETURN(auto flow_member,
                        Member(body, "identityFlowId", IsString, "a string"));
  AZTP_ASSIGN_OR_RETURN(auto policy_member,
                        Member(body, "policyCode", IsString, "a string"));
  // An empty string names nothing, as an absent member.
  std::optional<std::string> flow, policy;
  if (flow_member && !flow_member->get<std::string>().empty()) {
    AZTP_ASSIGN_OR_RETURN(
        flow, FlowId(flow_member->get<std::string>(), "identityFlowId"));
  }
  if (policy_member && !policy_member->get<std::string>().empty()) {
    policy = policy_member->get<std::string>();
  }
  if (flow && connection) {
    return BadInput("identityFlowId applies to verify-identity only");
  }
  if (policy && !connection) {
    return BadInput(
        "policyCode applies to connection checks only "
        "(authorize-connection-with-identities)");
  }
  AZTP_ASSIGN_OR_RETURN(std::string from_id,
                        HostedId(from->get<std::string>(), "aztpId"));
  std::string to_id;
  if (connection) {
    AZTP_ASSIGN_OR_RETURN(auto to,
                          Member(body, "requestAztpId", IsString, "a string"));
    if (!to) return BadInput("requestAztpId is required");
    AZTP_ASSIGN_OR_RETURN(to_id,
                          HostedId(to->get<std::string>(), "requestAztpId"));
  }
  auto invalid = [](const std::string& code, const std::string& text) {
    return Envelope(200, false, code, text,
                    Json{{"valid", false}, {"message", text}});
  };
  std::vector<std::string> ids{from_id};
  if (connection) ids.push_back(to_id);
  Json from_record;
  for (const auto& id : ids) {
    Result<Json> got = GetIdentity(id);
    if (!got) {
      if (got.error().code() == Code::kNotFound) {
        return invalid("AZTP-ID-E-002",
                       "Identity " + ToAztp(id) + " is not registered");
      }
      return got.error();
    }
    Json& r = *got;
    if (r.value("status", "") != "active") {
      return invalid("AZTP-ID-E-001", "Identity has been revoked");
    }
    if (id == from_id) from_record = std::move(r);
  }
  if (!connection) {
    if (flow) {
      // Valid in a flow: valid, a member of the flow, and not revoked in it.
      AZTP_ASSIGN_OR_RETURN(auto f, Flow(*flow));
      if (!f) {
        return invalid("AZTP-FLW-E-001",
                       "Identity flow " + QuoteInput(*flow) + " not found");
      }
      const Json members = f->value("members", Json::array());
      const Json* member = nullptr;
      for (const auto& m : members) {
        if (m.value("identity", "") == from_id) member = &m;
      }
      if (member == nullptr) {
        return invalid("AZTP-FLW-E-002",
                       "Identity is not a member of the identity flow");
      }
      if (member->value("status", "") != "active") {
        return invalid("AZTP-FLW-E-003",
                       "Identity has been revoked in this identity flow");
      }
      return Envelope(200, true, "AZTP-ID-S-002",
                      "Identity verified in the identity flow",
                      Json{{"valid", true}, {"identityFlowId", *flow}});
    }
    return Envelope(200, true, "AZTP-ID-S-002", "Identity verified",
                    Json{{"valid", true}});
  }
  bool linked = false;
  for (const auto& l : from_record.value("links", Json::array())) {
    std::string f = l.value("from", ""), t = l.value("to", "");
    if ((f == from_id && t == to_id) || (f == to_id && t == from_id)) {
      linked = true;
    }
  }
  if (!linked) {
    return invalid("AZTP-LNK-E-001", "The identities are not linked");
  }
  if (!policy) {
    return Envelope(200, true, "AZTP-LNK-S-002", "Connection verified",
                    Json{{"valid", true}});
  }
  // With policyCode, the policy must be attached to the identity connected
  // to and allow it the caller: action "connect", the caller's ID and trust
  // domain in the context.
  AZTP_ASSIGN_OR_RETURN(SpiffeId caller, SpiffeId::Parse(from_id));
  NativeAnswer d =
      Decide(to_id, kConnectAction, policy,
             Json{{"aztp:CallerId", from_id},
                  {"aztp:CallerTrustDomain", caller.trust_domain().name()}});
  if (d.status == 404) {
    return invalid("AZTP-POL-E-001", "Policy " + QuoteInput(*policy) +
                                         " is not attached to " +
                                         ToAztp(to_id));
  }
  if (d.status != 200) return NativeError(d);
  if (!d.body.value("allowed", false)) {
    return invalid("AZTP-POL-E-002",
                   "Connection denied by policy " + QuoteInput(*policy) + ": " +
                       WithAztpIds(d.body.value("reason", "")));
  }
  return Envelope(200, true, "AZTP-LNK-S-002",
                  "Connection verified and allowed by policy",
                  Json{{"valid", true}});
}

Result<Answer> Session::RevokeOrReissue(bool revoke) {
  AZTP_ASSIGN_OR_RETURN(Json body, Body());
  AZTP_ASSIGN_OR_RETURN(auto id_text,
                        Member(body, "aztpId", IsString, "a string"));
  if (!id_text) return BadInput("aztpId is required");
  AZTP_ASSIGN_OR_RETURN(std::string id,
                        HostedId(id_text->get<std::string>(), "aztpId"));
  std::optional<Json> native_body;
  if (revoke) {
    AZTP_ASSIGN_OR_RETURN(auto reason,
                          Member(body, "reason", IsString, "a string"));
    native_body = Json::object();
    if (reason) (*native_body)["reason"] = *reason;
  }
  NativeAnswer a =
      Call("POST", NativePath(id) + (revoke ? ":revoke" : ":reissue"), {},
           native_body);
  if (a.status != 200) return NativeError(a);
  AZTP_ASSIGN_OR_RETURN(Json record, GetIdentity(id));
  return Envelope(200, true, revoke ? "AZTP-ID-S-003" : "AZTP-ID-S-004",
                  revoke ? "Identity revoked successfully"
                         : "Identity reissued successfully",
                  Record(record));
}

Result<Answer> Session::Link() {
  AZTP_ASSIGN_OR_RETURN(Json body, Body());
  AZTP_ASSIGN_OR_RETURN(auto source,
                        Member(body, "sourceIdentity", IsString, "a string"));
  AZTP_ASSIGN_OR_RETURN(auto target,
                        Member(body, "targetIdentity", IsString, "a string"));
  AZTP_ASSIGN_OR_RETURN(auto kind,
                        Member(body, "relationshipType", IsString, "a string"));
  AZTP_ASSIGN_OR_RETURN(auto meta,
                        Member(body, "metadata", IsObject, "an object"));
  if (!source || !target) {
    return BadInput("sourceIdentity and targetIdentity are required");
  }
  AZTP_ASSIGN_OR_RETURN(std::string from,
                        HostedId(source->get<std::string>(), "sourceIdentity"));
  AZTP_ASSIGN_OR_RETURN(std::string to,
                        HostedId(target->get<std::string>(), "targetIdentity"));
  Json link{{"to", to}, {"kind", kind ? kind->get<std::string>() : "linked"}};
  if (meta) link["metadata"] = *meta;
  NativeAnswer a = Call("POST", NativePath(from) + ":link", {}, link);
  if (a.status != 201) return NativeError(a);
  return Envelope(200, true, "AZTP-LNK-S-001", "Identities linked",
                  HostedLink(a.body));
}

Result<Answer> Session::DiscoverRoute(bool with_trust_domain) {
  std::string td;
  if (with_trust_domain) {
    auto it = req_.query.find("trustDomain");
    if (it == req_.query.end() || it->second.empty()) {
      return BadInput("trustDomain is required");
    }
    td = it->second;
    if (auto a = req_.query.find("aztpId"); a != req_.query.end()) {
      AZTP_ASSIGN_OR_RETURN(std::string requester,
                            HostedId(a->second, "aztpId"));
      (void)requester;
    }
  }
  AZTP_ASSIGN_OR_RETURN(std::vector<Json> found, Discover(td));
  Json data = Json::array();
  for (const auto& i : found) {
    Json r = Record(i);
    r["status"] = "active";
    r["discoverable"] = true;
    data.push_back(std::move(r));
  }
  return Envelope(200, true, "AZTP-DSC-S-001", "Discoverable identities found",
                  std::move(data));
}

std::string Session::Query(const char* name) const {
  auto it = req_.query.find(name);
  return it == req_.query.end() ? std::string() : it->second;
}

NativeAnswer Session::Decide(const std::string& identity,
                             const std::string& action,
                             const std::optional<std::string>& policy,
                             const Json& context) {
  Json body{{"identity", identity}, {"action", action}};
  if (policy) body["policy_id"] = *policy;
  if (!context.empty()) body["context"] = context;
  return Call("POST", "/v1/authorize", {}, body);
}

Result<std::optional<Json>> Session::Flow(const std::string& id) {
  NativeAnswer a = Call("GET", "/v1/flows/" + id);
  if (a.status == 404) return std::optional<Json>();
  if (a.status != 200) return NativeError(a);
  return std::optional<Json>(std::move(a.body));
}

Answer FlowNotFound(const std::string& id) {
  return Envelope(404, false, "AZTP-FLW-E-001",
                  "Identity flow " + QuoteInput(id) + " not found", Json());
}

Result<Answer> Session::Policies() {
  const std::string text = Query("aztpId");
  if (text.empty()) return BadInput("aztpId is required");
  AZTP_ASSIGN_OR_RETURN(std::string id, HostedId(text, "aztpId"));
  NativeAnswer a = Call("GET", "/v1/policies", {{"identity", id}});
  if (a.status != 200) return NativeError(a);
  Json data = Json::array();
  for (const auto& p : a.body.value("policies", Json::array())) {
    data.push_back(HostedPolicy(p));
  }
  return Envelope(200, true, "AZTP-POL-S-001", "Identity access policies found",
                  std::move(data));
}

Result<Answer> Session::Permissions() {
  const std::string text = Query("aztpId");
  if (text.empty()) return BadInput("aztpId is required");
  AZTP_ASSIGN_OR_RETURN(std::string id, HostedId(text, "aztpId"));
  // policy_code ("policy:<hex>") and policy_id name the same thing here.
  std::optional<std::string> policy;
  for (const char* name : {"policy_code", "policy_id"}) {
    std::string value = Query(name);
    if (value.empty()) continue;
    if (policy && *policy != value) {
      return BadInput("policy_code and policy_id name different policies");
    }
    policy = value;
  }
  std::vector<std::string> actions;
  const std::string list = Query("action");
  for (std::size_t at = 0; at <= list.size();) {
    std::size_t comma = std::min(list.find(',', at), list.size());
    std::string a = list.substr(at, comma - at);
    a.erase(0, a.find_first_not_of(" \t"));
    a.erase(a.find_last_not_of(" \t") + 1);
    if (!a.empty()) actions.push_back(std::move(a));
    at = comma + 1;
  }
  if (actions.empty()) {
    return BadInput("action is required (one or more, comma-separated)");
  }
  if (actions.size() > kMaxActions) {
    return BadInput("at most 32 actions may be asked at once");
  }
  Json context = Json::object();
  if (std::string td = Query("trust_domain"); !td.empty()) {
    context["aztp:CallerTrustDomain"] = td;
  }
  Json decisions = Json::object();
  for (const auto& action : actions) {
    NativeAnswer d = Decide(id, action, policy, context);
    if (d.status == 404 && policy) {
      // Either the identity or the policy's attachment is missing.
      Result<Json> registered = GetIdentity(id);
      if (!registered) return registered.error();
      return Envelope(
          404, false, "AZTP-POL-E-001",
          "Policy " + QuoteInput(*policy) + " is not attached to " + ToAztp(id),
          Json());
    }
    if (d.status != 200) return NativeError(d);
    decisions[action] = d.body.value("allowed", false);
  }
  // The map is wrapped once more ({"success", "data"}): the hosted SDK hands
  // back the envelope's data, and the SDK's own policy demo reads
  // result["data"][action] from it (docs/compat.md).
  return Envelope(200, true, "AZTP-POL-S-002", "Identity permissions evaluated",
                  Json{{"success", true}, {"data", std::move(decisions)}});
}

Result<Answer> Session::FlowHealth() {
  // The native flow list proves the key, the route and the store.
  NativeAnswer a = Call("GET", "/v1/flows");
  if (a.status != 200) return NativeError(a);
  return Envelope(200, true, "AZTP-FLW-S-007",
                  "Identity flow service is healthy", Json{{"status", "ok"}});
}

Result<Answer> Session::FlowCreate() {
  AZTP_ASSIGN_OR_RETURN(Json body, Body());
  Json flow = WithoutNulls(
      body, {"name", "description", "discoverable", "tags", "metadata"});
  NativeAnswer a = Call("POST", "/v1/flows", {}, flow);
  if (a.status != 201) return NativeError(a);
  return Envelope(200, true, "AZTP-FLW-S-001", "Identity flow created",
                  HostedFlow(a.body));
}

Result<Answer> Session::FlowUpdate(const std::string& id_text) {
  AZTP_ASSIGN_OR_RETURN(std::string id, FlowId(id_text, "the flow ID"));
  AZTP_ASSIGN_OR_RETURN(Json body, Body());
  Json changes = WithoutNulls(
      body, {"name", "description", "discoverable", "tags", "metadata"});
  NativeAnswer a = Call("PUT", "/v1/flows/" + id, {}, changes);
  if (a.status == 404) return FlowNotFound(id);
  if (a.status != 200) return NativeError(a);
  return Envelope(200, true, "AZTP-FLW-S-002", "Identity flow updated",
                  HostedFlow(a.body));
}

Result<Answer> Session::FlowDelete(const std::string& id_text) {
  AZTP_ASSIGN_OR_RETURN(std::string id, FlowId(id_text, "the flow ID"));
  NativeAnswer a = Call("DELETE", "/v1/flows/" + id);
  if (a.status == 404) return FlowNotFound(id);
  if (a.status != 200) return NativeError(a);
  return Envelope(200, true, "AZTP-FLW-S-003", "Identity flow deleted",
                  Json{{"_id", id}, {"deleted", true}});
}

// FlowMember serves add-identity-to-flow ("add"),
// remove-identity-from-flow ("remove") and revoke-identity-for-flow
// ("revoke").
Result<Answer> Session::FlowMember(const std::string& action) {
  AZTP_ASSIGN_OR_RETURN(Json body, Body());
  AZTP_ASSIGN_OR_RETURN(auto flow_text,
                        Member(body, "identityFlowId", IsString, "a string"));
  if (!flow_text) return BadInput("identityFlowId is required");
  AZTP_ASSIGN_OR_RETURN(
      std::string flow_id,
      FlowId(flow_text->get<std::string>(), "identityFlowId"));
  // add-identity-to-flow sends {"identity": {"aztpId"}}; the others a
  // top-level aztpId.
  std::optional<Json> id_text;
  if (action == "add") {
    AZTP_ASSIGN_OR_RETURN(auto identity,
                          Member(body, "identity", IsObject, "an object"));
    if (identity) {
      AZTP_ASSIGN_OR_RETURN(id_text,
                            Member(*identity, "aztpId", IsString, "a string"));
    }
  }
  if (!id_text) {
    AZTP_ASSIGN_OR_RETURN(id_text,
                          Member(body, "aztpId", IsString, "a string"));
  }
  if (!id_text) {
    return BadInput(action == "add" ? "identity.aztpId is required"
                                    : "aztpId is required");
  }
  AZTP_ASSIGN_OR_RETURN(std::string id,
                        HostedId(id_text->get<std::string>(), "aztpId"));
  Json native{{"identity", id}};
  if (action == "revoke") {
    AZTP_ASSIGN_OR_RETURN(auto reason,
                          Member(body, "reason", IsString, "a string"));
    if (reason) native["reason"] = *reason;
  }
  // The flow is read first so that a missing flow and a missing identity
  // (both 404 natively) answer with their own codes.
  AZTP_ASSIGN_OR_RETURN(auto flow, Flow(flow_id));
  if (!flow) return FlowNotFound(flow_id);
  if (action != "add") {
    bool member = false;
    for (const auto& m : flow->value("members", Json::array())) {
      member = member || m.value("identity", "") == id;
    }
    if (!member) {
      return Envelope(
          404, false, "AZTP-FLW-E-002",
          "Identity " + ToAztp(id) + " is not a member of the identity flow",
          Json());
    }
  }
  NativeAnswer a =
      Call("POST", "/v1/flows/" + flow_id + ":" + action, {}, native);
  if (a.status != 200 && a.status != 201) return NativeError(a);
  if (action == "add") {
    return Envelope(200, true, "AZTP-FLW-S-004", "Identity added to flow",
                    HostedMember(a.body));
  }
  if (action == "remove") {
    return Envelope(200, true, "AZTP-FLW-S-005", "Identity removed from flow",
                    Json{{"identityFlowId", flow_id},
                         {"aztpId", ToAztp(id)},
                         {"removed", true}});
  }
  return Envelope(200, true, "AZTP-FLW-S-006", "Identity revoked in flow",
                  HostedMember(a.body));
}

// NotImplemented: the hosted routes that stay 501 (any method).
bool NotImplemented(const std::string& route) {
  return route == "oiap/evaluate" || route.rfind("oidc/", 0) == 0;
}

Result<Answer> Session::Route() {
  std::string route = req_.path.substr(sizeof(kHostedPrefix) - 1);
  const std::string& m = req_.method;
  if (route == "aztp/issue-identity" && m == "POST") return IssueIdentity();
  if (route == "aztp/get-identity" || route == "aztp/get-identity/") {
    if (m == "GET") {
      auto it = req_.query.find("agentName");
      return GetIdentityByName(it == req_.query.end() ? "" : it->second);
    }
  } else if (route.rfind("aztp/get-identity/", 0) == 0 && m == "GET") {
    return GetIdentityByName(route.substr(18));
  }
  if (route == "aztp/verify-identity" && m == "POST") return Verify(false);
  if ((route == "aztp/verify-identity-for-connection" ||
       route == "aztp/authorize-connection-with-identities") &&
      m == "POST") {
    return Verify(true);
  }
  if (route == "aztp/revoke-identity" && m == "POST") {
    return RevokeOrReissue(true);
  }
  if (route == "aztp/reissue-revoked-identity" && m == "POST") {
    return RevokeOrReissue(false);
  }
  if (route == "aztp/create-workload-identity-link" && m == "POST") {
    return Link();
  }
  if (route == "aztp/discoverable" && m == "GET") return DiscoverRoute(false);
  if (route == "aztp/discover-with-trust-domain" && m == "GET") {
    return DiscoverRoute(true);
  }
  if (route == "aztp/get-identity-access-policy" && m == "GET") {
    return Policies();
  }
  if (route == "aztp/get-identity-action-permissions" && m == "GET") {
    return Permissions();
  }
  if (route == "aztp/revoke-identity-for-flow" && m == "POST") {
    return FlowMember("revoke");
  }
  if (route == "identity-flow/health" && m == "GET") return FlowHealth();
  if (route == "identity-flow/create" && m == "POST") return FlowCreate();
  if (route.rfind("identity-flow/update/", 0) == 0 && m == "PUT") {
    return FlowUpdate(route.substr(21));
  }
  if (route.rfind("identity-flow/delete/", 0) == 0 && m == "DELETE") {
    return FlowDelete(route.substr(21));
  }
  if (route == "identity-flow/add-identity-to-flow" && m == "POST") {
    return FlowMember("add");
  }
  if (route == "identity-flow/remove-identity-from-flow" && m == "POST") {
    return FlowMember("remove");
  }
  if (NotImplemented(route)) {
    return Envelope(501, false, "AZTP-API-E-501",
                    "OIAP and OIDC are not implemented", Json());
  }
  return Envelope(404, false, "AZTP-API-E-404", "no such route", Json());
}

}  // namespace

bool HostedSdkApi::Handles(const std::string& path) {
  return path.rfind(kHostedPrefix, 0) == 0;
}

http::Response HostedSdkApi::Handle(const http::Request& request) {
  if (!Handles(request.path)) {
    return Serialise(
        Envelope(404, false, "AZTP-API-E-404", "no such route", Json()));
  }
  std::string key = request.Header("api_access_key");
  if (key.empty()) {
    return Serialise(Envelope(401, false, "AZTP-AUTH-E-001",
                              "the api_access_key header is required", Json()));
  }
  // The translation only reads checked members, but a JSON type error must
  // never take the daemon down: answer it as an internal error.
  try {
    return Serialise(Session(plane_, request, std::move(key)).Route());
  } catch (const std::exception&) {
    return Serialise(Envelope(500, false, "AZTP-SRV-E-001",
                              "the request could not be translated", Json()));
  }
}

}  // namespace aztp::compat

#include "aztp/client/client.h"

#include <algorithm>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include "aztp/http/http.h"
#include "aztp/jose/jwk.h"
#include "aztp/jose/jws.h"
#include "aztp/svid/x509_svid.h"

namespace aztp {

namespace {

// Responses can be long lists; the transport bounds them at 64 MiB.
constexpr std::size_t kMaxResponseJson = 64 << 20;
// Metadata is nested at most 16 deep in requests; the envelope adds a few.
constexpr int kMaxResponseDepth = 32;
// kMaxServerMessage bounds the server's text quoted in an Error.
constexpr std::size_t kMaxServerMessage = 256;

// ---- reading JSON from the server (never throws: types are checked
// before every access) ----

// Member returns the member `name` of `object`, or null when it is absent
// or JSON null.
const Json* Member(const Json& object, std::string_view name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

Error WrongType(std::string_view name, std::string_view want) {
  return Error(Code::kMalformed, "member \"" + std::string(name) +
                                     "\" must be " + std::string(want));
}

Result<bool> OptionalBool(const Json& object, std::string_view name) {
  const Json* value = Member(object, name);
  if (value == nullptr) return false;
  if (!value->is_boolean()) return WrongType(name, "a boolean");
  return value->get<bool>();
}

// OptionalText reads an optional string member: "" when it is absent.
Result<std::string> OptionalText(const Json& object, std::string_view name) {
  AZTP_ASSIGN_OR_RETURN(auto text, GetOptionalString(object, name));
  return text.value_or("");
}

Result<SpiffeId> RequiredSpiffeId(const Json& object, std::string_view name) {
  AZTP_ASSIGN_OR_RETURN(std::string text, GetString(object, name));
  return SpiffeId::Parse(text);
}

Result<std::optional<SpiffeId>> OptionalSpiffeId(const Json& object,
                                                 std::string_view name) {
  const Json* value = Member(object, name);
  if (value == nullptr) return std::optional<SpiffeId>();
  if (!value->is_string()) return WrongType(name, "a string or null");
  AZTP_ASSIGN_OR_RETURN(SpiffeId id,
                        SpiffeId::Parse(value->get_ref<const std::string&>()));
  return std::optional<SpiffeId>(std::move(id));
}

Result<std::vector<std::string>> OptionalStringArray(const Json& object,
                                                     std::string_view name) {
  std::vector<std::string> out;
  const Json* value = Member(object, name);
  if (value == nullptr) return out;
  if (!value->is_array()) return WrongType(name, "an array of strings");
  for (const Json& item : *value) {
    if (!item.is_string()) return WrongType(name, "an array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

// ResponseObject parses a response body that must be one JSON object.
Result<Json> ResponseObject(std::string_view body) {
  JsonLimits limits;
  limits.max_bytes = kMaxResponseJson;
  limits.max_depth = kMaxResponseDepth;
  AZTP_ASSIGN_OR_RETURN(Json doc, ParseJson(body, limits));
  if (!doc.is_object()) {
    return Error(Code::kMalformed, "the body is not a JSON object");
  }
  return doc;
}

// BundleTrustDomain reads the trust domain of a bundle document from the
// URI SAN of its X.509 authorities: a bundle does not name its domain.
Result<TrustDomain> BundleTrustDomain(const Json& doc) {
  std::optional<TrustDomain> found;
  const Json* keys = doc.is_object() ? Member(doc, "keys") : nullptr;
  if (keys != nullptr && keys->is_array()) {
    for (const auto& entry : *keys) {
      auto jwk = Jwk::Parse(entry);
      if (!jwk || jwk->x5c().empty()) continue;
      auto cert = Certificate::FromDer(jwk->x5c()[0]);
      if (!cert) continue;
      for (const auto& san : cert->uri_sans()) {
        auto td = TrustDomain::Parse(san);
        if (!td) continue;
        if (found && !(*found == *td)) {
          return Error(Code::kInvalidArgument,
                       "the bundle's authorities name several trust domains");
        }
        found = *td;
      }
    }
  }
  if (!found) {
    return Error(Code::kInvalidArgument,
                 "cannot tell the bundle's trust domain: no X.509 authority "
                 "names one");
  }
  return *found;
}

// CleanServerText keeps printable ASCII of a server-supplied message, so
// that nothing the server sends can forge lines or terminal escapes in a
// log, and cuts it at kMaxServerMessage bytes.
std::string CleanServerText(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxServerMessage)) {
    auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  if (text.size() > kMaxServerMessage) out += "...";
  return out;
}

// CodeForStatus classifies an HTTP error status whose body names no
// reason we know (docs/aztpd.md lists the statuses).
Code CodeForStatus(int status) {
  switch (status) {
    case 401:
      return Code::kUnauthenticated;
    case 403:
      return Code::kPermissionDenied;
    case 404:
      return Code::kNotFound;
    case 409:
      return Code::kAlreadyExists;
    case 413:
    case 431:
      return Code::kTooLarge;
    case 415:
      return Code::kUnsupported;
    case 429:
      return Code::kRateLimited;
    case 502:
    case 503:
    case 504:
      return Code::kUnavailable;
    default:
      return status >= 400 && status < 500 ? Code::kInvalidArgument
                                           : Code::kInternal;
  }
}

// CodeForReason maps a stable reason string back to its Code.
std::optional<Code> CodeForReason(std::string_view reason) {
  for (int i = 0; i <= static_cast<int>(Code::kUnavailable); ++i) {
    auto code = static_cast<Code>(i);
    if (ReasonString(code) == reason) return code;
  }
  return std::nullopt;
}

// ServerError turns an HTTP error response into an Error: the reason of
// its `{"error", "message"}` body when it names one we know, else the
// status decides.
Error ServerError(const http::Response& response, std::string_view what) {
  Code code = CodeForStatus(response.status);
  std::string message;
  JsonLimits limits;
  limits.max_bytes = 64 << 10;
  limits.max_depth = 4;
  auto doc = ParseJson(response.body, limits);
  if (doc && doc->is_object()) {
    if (const Json* reason = Member(*doc, "error");
        reason != nullptr && reason->is_string()) {
      if (auto known = CodeForReason(reason->get_ref<const std::string&>())) {
        code = *known;
      }
    }
    if (const Json* text = Member(*doc, "message");
        text != nullptr && text->is_string()) {
      message = CleanServerText(text->get_ref<const std::string&>());
    }
  }
  if (message.empty()) {
    message = "HTTP " + std::to_string(response.status) +
              " without an error description";
  }
  return Error(code, std::string(what) + ": " + message);
}

// RetryAfterSeconds reads a Retry-After header given in seconds.
std::optional<int64_t> RetryAfterSeconds(const http::Response& response) {
  for (const auto& [name, value] : response.headers) {
    if (name != "retry-after") continue;
    if (value.empty() || value.size() > 6) return std::nullopt;
    int64_t seconds = 0;
    for (char c : value) {
      if (c < '0' || c > '9') return std::nullopt;
      seconds = seconds * 10 + (c - '0');
    }
    return seconds;
  }
  return std::nullopt;
}

// PercentEncode encodes a query value: everything but RFC 3986 unreserved
// characters becomes %XX.
std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                      c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

// Query builds "?a=1&b=2" from the non-empty values.
std::string Query(
    std::initializer_list<std::pair<const char*, std::string>> params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (value.empty()) continue;
    out += out.empty() ? "?" : "&";
    out += name;
    out += '=';
    out += PercentEncode(value);
  }
  return out;
}

// IdentityTarget is /v1/identities/<td>/<path>[:action]. SPIFFE paths only
// hold characters that need no escaping in a request target.
std::string IdentityTarget(const SpiffeId& id, std::string_view action = {}) {
  std::string out = "/v1/identities/" + id.trust_domain().name();
  out += id.path();
  if (!action.empty()) {
    out += ':';
    out += action;
  }
  return out;
}

Error Malformed(std::string_view what, std::string_view problem) {
  return Error(Code::kMalformed, std::string(what) + ": unexpected response: " +
                                     std::string(problem));
}

// ---- response shapes ----

Result<IdentityStatus> ParseIdentityStatus(std::string_view name) {
  if (name == "active") return IdentityStatus::kActive;
  if (name == "revoked") return IdentityStatus::kRevoked;
  return Error(Code::kMalformed, "unknown identity status " + QuoteInput(name));
}

Result<int64_t> OptionalTime(const Json& object, std::string_view name) {
  const Json* value = Member(object, name);
  if (value == nullptr) return int64_t{0};
  if (!IsInteger(*value)) {
    return Error(Code::kMalformed,
                 "member \"" + std::string(name) + "\" must be an integer");
  }
  return value->get<int64_t>();
}

Result<Json> OptionalObject(const Json& object, std::string_view name) {
  const Json* value = Member(object, name);
  if (value == nullptr) return Json::object();
  if (!value->is_object()) {
    return Error(Code::kMalformed,
                 "member \"" + std::string(name) + "\" must be an object");
  }
  return *value;
}

Result<Link> ParseLink(const Json& j) {
  if (!j.is_object()) return Error(Code::kMalformed, "a link is no object");
  AZTP_ASSIGN_OR_RETURN(SpiffeId from, RequiredSpiffeId(j, "from"));
  AZTP_ASSIGN_OR_RETURN(SpiffeId to, RequiredSpiffeId(j, "to"));
  AZTP_ASSIGN_OR_RETURN(std::string kind_name, GetString(j, "kind"));
  auto kind = ParseLinkKind(kind_name);
  if (!kind) {
    return Error(Code::kMalformed,
                 "unknown link kind " + QuoteInput(kind_name));
  }
  Link out{.from = std::move(from), .to = std::move(to), .kind = *kind};
  AZTP_ASSIGN_OR_RETURN(out.metadata, OptionalObject(j, "metadata"));
  AZTP_ASSIGN_OR_RETURN(out.created_at, OptionalTime(j, "created_at"));
  return out;
}

Result<Identity> ParseIdentity(const Json& j) {
  if (!j.is_object()) {
    return Error(Code::kMalformed, "an identity is no object");
  }
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, RequiredSpiffeId(j, "id"));
  Identity out{.id = std::move(id)};
  AZTP_ASSIGN_OR_RETURN(out.parent, OptionalSpiffeId(j, "parent"));
  AZTP_ASSIGN_OR_RETURN(out.global, OptionalBool(j, "global"));
  AZTP_ASSIGN_OR_RETURN(out.discoverable, OptionalBool(j, "discoverable"));
  AZTP_ASSIGN_OR_RETURN(out.metadata, OptionalObject(j, "metadata"));
  AZTP_ASSIGN_OR_RETURN(out.selectors, OptionalStringArray(j, "selectors"));
  AZTP_ASSIGN_OR_RETURN(std::string status, GetString(j, "status"));
  AZTP_ASSIGN_OR_RETURN(out.status, ParseIdentityStatus(status));
  AZTP_ASSIGN_OR_RETURN(out.revoked_reason, OptionalText(j, "revoked_reason"));
  AZTP_ASSIGN_OR_RETURN(out.created_at, OptionalTime(j, "created_at"));
  AZTP_ASSIGN_OR_RETURN(out.updated_at, OptionalTime(j, "updated_at"));
  if (const Json* domains = Member(j, "federates_with")) {
    if (!domains->is_array()) {
      return WrongType("federates_with", "null or an array of strings");
    }
    AZTP_ASSIGN_OR_RETURN(auto names, OptionalStringArray(j, "federates_with"));
    out.federates_with = std::move(names);
  }
  if (const Json* links = Member(j, "links")) {
    if (!links->is_array()) {
      return Error(Code::kMalformed, "member \"links\" must be an array");
    }
    for (const Json& l : *links) {
      AZTP_ASSIGN_OR_RETURN(Link link, ParseLink(l));
      out.links.push_back(std::move(link));
    }
  }
  return out;
}

Result<DiscoveredIdentity> ParseDiscovered(const Json& j) {
  if (!j.is_object()) {
    return Error(Code::kMalformed, "an identity is no object");
  }
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, RequiredSpiffeId(j, "id"));
  DiscoveredIdentity out{.id = std::move(id)};
  AZTP_ASSIGN_OR_RETURN(out.parent, OptionalSpiffeId(j, "parent"));
  AZTP_ASSIGN_OR_RETURN(out.global, OptionalBool(j, "global"));
  AZTP_ASSIGN_OR_RETURN(out.metadata, OptionalObject(j, "metadata"));
  AZTP_ASSIGN_OR_RETURN(out.selectors, OptionalStringArray(j, "selectors"));
  return out;
}

// PageOf reads {"<member>": [...], "next": token|null}.
template <typename T, typename Parse>
Status ParsePage(const Json& doc, std::string_view member, Parse parse,
                 std::vector<T>& items, std::optional<std::string>& next) {
  const Json* list = Member(doc, member);
  if (list == nullptr || !list->is_array()) {
    return Error(Code::kMalformed,
                 "member \"" + std::string(member) + "\" must be an array");
  }
  for (const Json& item : *list) {
    AZTP_ASSIGN_OR_RETURN(T parsed, parse(item));
    items.push_back(std::move(parsed));
  }
  const Json* token = Member(doc, "next");
  if (token != nullptr) {
    if (!token->is_string() || token->get_ref<const std::string&>().empty()) {
      return Error(Code::kMalformed,
                   "member \"next\" must be a non-empty string or null");
    }
    next = token->get<std::string>();
  }
  return Ok();
}

Result<ApiKey> ParseApiKey(const Json& j) {
  if (!j.is_object()) return Error(Code::kMalformed, "an API key is no object");
  ApiKey out;
  AZTP_ASSIGN_OR_RETURN(out.key_id, GetString(j, "key_id"));
  AZTP_ASSIGN_OR_RETURN(out.scope, GetString(j, "scope"));
  AZTP_ASSIGN_OR_RETURN(out.description, OptionalText(j, "description"));
  AZTP_ASSIGN_OR_RETURN(out.revoked, OptionalBool(j, "revoked"));
  AZTP_ASSIGN_OR_RETURN(out.created_at, OptionalTime(j, "created_at"));
  return out;
}

Result<std::vector<CaKey>> ParseCaKeys(const Json& doc) {
  const Json* keys = Member(doc, "keys");
  if (keys == nullptr || !keys->is_array()) {
    return Error(Code::kMalformed, "member \"keys\" must be an array");
  }
  std::vector<CaKey> out;
  for (const Json& j : *keys) {
    if (!j.is_object()) return Error(Code::kMalformed, "a key is no object");
    CaKey key;
    AZTP_ASSIGN_OR_RETURN(key.key_id, GetString(j, "key_id"));
    AZTP_ASSIGN_OR_RETURN(std::string kind, GetString(j, "kind"));
    auto parsed = ParseCaKeyKind(kind);
    if (!parsed) {
      return Error(Code::kMalformed, "unknown key kind " + QuoteInput(kind));
    }
    key.kind = *parsed;
    AZTP_ASSIGN_OR_RETURN(key.state, GetString(j, "state"));
    AZTP_ASSIGN_OR_RETURN(key.created_at, OptionalTime(j, "created_at"));
    AZTP_ASSIGN_OR_RETURN(key.not_after, OptionalTime(j, "not_after"));
    if (const Json* at = Member(j, "activated_at")) {
      if (!IsInteger(*at)) {
        return Error(Code::kMalformed,
                     "member \"activated_at\" must be an integer or null");
      }
      // The server may write 0 for "not yet" as the store does.
      if (at->get<int64_t>() != 0) key.activated_at = at->get<int64_t>();
    }
    out.push_back(std::move(key));
  }
  return out;
}

// ---- federation ----

Result<std::optional<int64_t>> OptionalInteger(const Json& object,
                                               std::string_view name) {
  const Json* value = Member(object, name);
  if (value == nullptr) return std::optional<int64_t>();
  if (!IsInteger(*value)) return WrongType(name, "an integer or null");
  return std::optional<int64_t>(value->get<int64_t>());
}

// ParseFetch reads {result, reason, message, old_sequence, new_sequence}
// of a fetch of `td`'s endpoint, with the fetch of its revocation list in
// "revocations" when `nested` allows one.
Result<FederationFetch> ParseFetch(const Json& j, const TrustDomain& td,
                                   bool nested = true) {
  if (!j.is_object()) return Error(Code::kMalformed, "a fetch is no object");
  FederationFetch out{.trust_domain = td};
  AZTP_ASSIGN_OR_RETURN(std::string result, GetString(j, "result"));
  AZTP_ASSIGN_OR_RETURN(out.result, ParsePollResult(result));
  AZTP_ASSIGN_OR_RETURN(out.reason, OptionalText(j, "reason"));
  AZTP_ASSIGN_OR_RETURN(out.message, OptionalText(j, "message"));
  AZTP_ASSIGN_OR_RETURN(out.old_sequence, OptionalInteger(j, "old_sequence"));
  AZTP_ASSIGN_OR_RETURN(out.new_sequence, OptionalInteger(j, "new_sequence"));
  if (const Json* list = nested ? Member(j, "revocations") : nullptr) {
    AZTP_ASSIGN_OR_RETURN(FederationFetch fetch,
                          ParseFetch(*list, td, /*nested=*/false));
    out.revocations = std::make_shared<const FederationFetch>(std::move(fetch));
  }
  return out;
}

Result<TrustDomain> RequiredTrustDomain(const Json& j, std::string_view name) {
  AZTP_ASSIGN_OR_RETURN(std::string text, GetString(j, name));
  return TrustDomain::Parse(text);
}

// ParseRefresh reads the answer of :refresh, a fetch that names its domain;
// it must be the domain asked for.
Result<FederationFetch> ParseRefresh(const Json& doc, const TrustDomain& td) {
  AZTP_ASSIGN_OR_RETURN(TrustDomain named,
                        RequiredTrustDomain(doc, "trust_domain"));
  if (named != td) {
    return Error(Code::kMalformed,
                 "the answer is about " + named.name() + ", not " + td.name());
  }
  return ParseFetch(doc, td);
}

Result<Federation> ParseFederation(const Json& j) {
  if (!j.is_object()) {
    return Error(Code::kMalformed, "a federation is no object");
  }
  AZTP_ASSIGN_OR_RETURN(TrustDomain td, RequiredTrustDomain(j, "trust_domain"));
  Federation out{.trust_domain = td};
  AZTP_ASSIGN_OR_RETURN(out.endpoint_url, GetString(j, "endpoint_url"));
  AZTP_ASSIGN_OR_RETURN(std::string profile, GetString(j, "profile"));
  auto parsed = ParseEndpointProfile(profile);
  if (!parsed) {
    return Error(Code::kMalformed, "unknown profile " + QuoteInput(profile));
  }
  out.profile = *parsed;
  AZTP_ASSIGN_OR_RETURN(out.endpoint_id, OptionalSpiffeId(j, "endpoint_id"));
  AZTP_ASSIGN_OR_RETURN(out.source, OptionalText(j, "source"));
  AZTP_ASSIGN_OR_RETURN(out.bundle_sequence,
                        OptionalInteger(j, "bundle_sequence"));
  AZTP_ASSIGN_OR_RETURN(out.trusted, OptionalBool(j, "trusted"));
  AZTP_ASSIGN_OR_RETURN(out.last_fetch, OptionalInteger(j, "last_fetch"));
  if (const Json* last = Member(j, "last")) {
    AZTP_ASSIGN_OR_RETURN(FederationFetch fetch, ParseFetch(*last, td));
    out.last = std::move(fetch);
  }
  AZTP_ASSIGN_OR_RETURN(out.failures, OptionalTime(j, "failures"));
  AZTP_ASSIGN_OR_RETURN(out.next_refresh, OptionalTime(j, "next_refresh"));
  if (const Json* url = Member(j, "revocations_url")) {  // null: none
    if (!url->is_string()) return WrongType("revocations_url", "a string");
    out.revocations_url = url->get<std::string>();
  }
  AZTP_ASSIGN_OR_RETURN(out.revocations_sequence,
                        OptionalInteger(j, "revocations_sequence"));
  AZTP_ASSIGN_OR_RETURN(out.revocations_last_fetch,
                        OptionalInteger(j, "revocations_last_fetch"));
  if (const Json* last = Member(j, "revocations_last")) {
    AZTP_ASSIGN_OR_RETURN(FederationFetch fetch,
                          ParseFetch(*last, td, /*nested=*/false));
    out.revocations_last = std::move(fetch);
  }
  return out;
}

// ParseBundleMap reads {"trust_domains": {...}} strictly (BundleSet::
// ParseMap) and checks that no bundle holds an X.509 authority naming
// another trust domain than the one it is keyed under: a map that files a
// domain's CA under another name would let that CA vouch for the other
// domain's IDs. Authorities without a SPIFFE URI SAN are accepted (other
// SPIFFE implementations need not put one there).
Result<BundleSet> ParseBundleMap(const Json& doc) {
  AZTP_ASSIGN_OR_RETURN(BundleSet set, BundleSet::ParseMap(DumpJson(doc)));
  for (const auto& [td, bundle] : set.bundles()) {
    for (const Certificate& authority : bundle->x509_authorities()) {
      for (const std::string& san : authority.uri_sans()) {
        auto named = TrustDomain::Parse(san);
        if (named && *named != td) {
          return Error(Code::kMalformed, "the bundle of " + td.name() +
                                             " holds an authority of " +
                                             named->name());
        }
      }
    }
  }
  return set;
}

// ParseRevocationLists reads {"trust_domains": {"<td>": list}}: every
// list parsed strictly, naming IDs of its own trust domain only (a list
// filed under another domain's name would revoke that domain's
// identities), and `own`, the server's domain, present.
Result<RevocationLists> ParseRevocationLists(const Json& doc,
                                             const TrustDomain& own) {
  const Json* domains = Member(doc, "trust_domains");
  if (domains == nullptr || !domains->is_object()) {
    return WrongType("trust_domains", "an object");
  }
  RevocationLists out;
  for (const auto& [name, item] : domains->items()) {
    AZTP_ASSIGN_OR_RETURN(TrustDomain td, TrustDomain::Parse(name));
    auto list = RevocationList::FromJson(item);
    if (!list) return list.error().WithContext("the list of " + td.name());
    for (const SpiffeId& id : list->ids()) {
      if (!id.MemberOf(td)) {
        return Error(Code::kMalformed,
                     "the list of " + td.name() + " names " + id.str());
      }
    }
    out.emplace(std::move(td), std::move(*list));
  }
  if (out.count(own) == 0) {
    return Error(Code::kMalformed, "the revocation lists lack " + own.name() +
                                       ", the server's own trust domain");
  }
  return out;
}

// ParseJwtSvid reads {"token", "expires_at"} and checks that the token is a
// compact JWS whose `sub` is `id` and whose `aud` holds every audience
// asked for. Messages never quote the token.
Result<JwtSvid> ParseJwtSvid(const Json& doc, const SpiffeId& id,
                             const std::vector<std::string>& audience) {
  const Json* token = Member(doc, "token");
  if (token == nullptr || !token->is_string()) {
    return Error(Code::kMalformed, "member \"token\" must be a string");
  }
  const std::string& text = token->get_ref<const std::string&>();
  auto jws = ParseCompact(text);
  if (!jws) {
    return Error(Code::kMalformed, "the token is not a compact JWS (" +
                                       std::string(jws.error().reason()) + ")");
  }
  JsonLimits limits;
  limits.max_depth = 8;
  auto claims = ParseJson(AsChars(jws->payload()), limits);
  if (!claims || !claims->is_object()) {
    return Error(Code::kMalformed, "the token's claims are no JSON object");
  }
  auto sub = GetString(*claims, "sub");
  if (!sub || *sub != id.str()) {
    return Error(Code::kMalformed, "the token's sub is not " + id.str());
  }
  JwtSvid out{.token = SecretBytes(std::string_view(text)), .id = id};
  const Json* aud = Member(*claims, "aud");
  if (aud != nullptr && aud->is_string()) {
    out.audience.push_back(aud->get<std::string>());
  } else if (aud != nullptr && aud->is_array()) {
    for (const Json& a : *aud) {
      if (!a.is_string()) {
        return Error(Code::kMalformed, "the token's aud must hold strings");
      }
      out.audience.push_back(a.get<std::string>());
    }
  } else {
    return Error(Code::kMalformed, "the token has no aud");
  }
  for (const auto& want : audience) {
    if (std::find(out.audience.begin(), out.audience.end(), want) ==
        out.audience.end()) {
      return Error(Code::kMalformed,
                   "the token's aud lacks " + QuoteInput(want));
    }
  }
  AZTP_ASSIGN_OR_RETURN(out.jti, OptionalText(*claims, "jti"));
  AZTP_ASSIGN_OR_RETURN(out.key_id, OptionalText(jws->header(), "kid"));
  AZTP_ASSIGN_OR_RETURN(out.expires_at, GetInt(doc, "expires_at"));
  return out;
}

// ParseX509Svid reads {"svid", "bundle", "expires_at"} and checks the
// issued chain against what was asked for.
Result<X509SvidResponse> ParseX509Svid(const Json& doc, const SpiffeId& id,
                                       const CertificateRequest& csr,
                                       UnixTime now) {
  AZTP_ASSIGN_OR_RETURN(std::string pem, GetString(doc, "svid"));
  AZTP_ASSIGN_OR_RETURN(std::vector<Certificate> chain,
                        ParsePemCertificates(pem, 8));
  const Json* bundle_doc = Member(doc, "bundle");
  if (bundle_doc == nullptr || !bundle_doc->is_object()) {
    return Error(Code::kMalformed, "member \"bundle\" must be an object");
  }
  AZTP_ASSIGN_OR_RETURN(Bundle bundle,
                        Bundle::FromJson(id.trust_domain(), *bundle_doc));
  AZTP_ASSIGN_OR_RETURN(UnixTime expires_at, GetInt(doc, "expires_at"));
  AZTP_ASSIGN_OR_RETURN(SpiffeId leaf_id, X509SvidId(chain.front()));
  if (leaf_id != id) {
    return Error(Code::kMalformed,
                 "the SVID is for " + leaf_id.str() + ", not " + id.str());
  }
  if (!(chain.front().public_key() == csr.public_key())) {
    return Error(Code::kMalformed,
                 "the SVID does not certify the key of the CSR");
  }
  BundleSet set;
  set.Put(bundle);
  // Checked no earlier than the leaf's notBefore: a client whose clock lags
  // the server's by more than the CA's backdating still gets its SVID (an
  // expired one is refused all the same).
  auto verified =
      VerifyX509Svid(chain, set, std::max(now, chain.front().not_before()));
  if (!verified) {
    return verified.error().WithContext("the SVID does not verify");
  }
  return X509SvidResponse{std::move(chain), std::move(bundle), expires_at};
}

}  // namespace

std::string_view IdentityStatusName(IdentityStatus status) {
  return status == IdentityStatus::kActive ? "active" : "revoked";
}

std::string_view LinkKindName(LinkKind kind) {
  return kind == LinkKind::kLinked ? "linked" : "parent";
}

Result<LinkKind> ParseLinkKind(std::string_view name) {
  if (name == "linked") return LinkKind::kLinked;
  if (name == "parent") return LinkKind::kParent;
  return Error(
      Code::kInvalidArgument,
      "link kind must be \"linked\" or \"parent\", not " + QuoteInput(name));
}

std::string_view CaKeyKindName(CaKeyKind kind) {
  return kind == CaKeyKind::kX509 ? "x509" : "jwt";
}

Result<CaKeyKind> ParseCaKeyKind(std::string_view name) {
  if (name == "x509") return CaKeyKind::kX509;
  if (name == "jwt") return CaKeyKind::kJwt;
  return Error(Code::kInvalidArgument,
               "key kind must be \"x509\" or \"jwt\", not " + QuoteInput(name));
}

SpiffeId AztpdId(const TrustDomain& td) {
  // "/aztpd" is a valid path, so this cannot fail.
  return *SpiffeId::FromSegments(td, "/aztpd");
}

void ClientOptions::SetTrustBundle(const Bundle& bundle) {
  auto set = std::make_shared<BundleSet>();
  set->Put(bundle);
  bundles = std::move(set);
  server_id = AztpdId(bundle.trust_domain());
}

Result<Bundle> ParseBundleDocument(std::string_view json) {
  AZTP_ASSIGN_OR_RETURN(Json doc, ParseJson(json));
  AZTP_ASSIGN_OR_RETURN(TrustDomain td, BundleTrustDomain(doc));
  return Bundle::FromJson(td, doc);
}

// ---- the client ----

struct Client::Impl {
  ClientOptions options;
  http::ClientOptions http_options;
  const Clock* clock = nullptr;

  std::mutex pool_mu;
  std::vector<std::unique_ptr<http::Client>> idle;  // guarded by pool_mu

  std::mutex rng_mu;
  std::minstd_rand rng;  // guarded by rng_mu; jitter needs no secrecy

  Result<std::unique_ptr<http::Client>> Acquire() {
    {
      std::lock_guard<std::mutex> lock(pool_mu);
      if (!idle.empty()) {
        auto c = std::move(idle.back());
        idle.pop_back();
        return c;
      }
    }
    return http::Client::Create(http_options);
  }

  void Release(std::unique_ptr<http::Client> c) {
    std::lock_guard<std::mutex> lock(pool_mu);
    if (static_cast<int>(idle.size()) < options.max_idle_connections) {
      idle.push_back(std::move(c));
    }
  }

  std::chrono::milliseconds Backoff(int retry,
                                    std::optional<int64_t> retry_after) {
    const auto cap = options.retry.max_backoff;
    auto base = options.retry.initial_backoff;
    for (int i = 1; i < retry && base < cap; ++i) base *= 2;
    base = std::min(base, cap);
    double factor;
    {
      std::lock_guard<std::mutex> lock(rng_mu);
      factor = std::uniform_real_distribution<double>(0.5, 1.0)(rng);
    }
    auto wait = std::chrono::milliseconds(
        static_cast<int64_t>(static_cast<double>(base.count()) * factor));
    if (retry_after) {
      wait = std::max(wait, std::chrono::milliseconds(
                                std::min<int64_t>(*retry_after, 86400) * 1000));
    }
    return std::min(wait, cap);
  }

  Result<http::Response> SendOnce(const std::string& method,
                                  const std::string& target,
                                  const std::string& body) {
    AZTP_ASSIGN_OR_RETURN(std::unique_ptr<http::Client> conn, Acquire());
    std::vector<std::pair<std::string, std::string>> headers;
    if (!options.api_key.empty()) {
      std::string_view key = options.api_key.View(InsecureSecretAccess::Get());
      std::string value;
      value.reserve(7 + key.size());
      value.append("Bearer ").append(key);
      headers.emplace_back("Authorization", std::move(value));
    }
    headers.emplace_back("Accept", "application/json");
    auto response = conn->Send(method, target, body, headers);
    // The header copy of the key is wiped as soon as it has been sent.
    for (auto& [name, value] : headers) {
      internal::WipeMemory(value.data(), value.size());
    }
    Release(std::move(conn));
    return response;
  }

  // Call performs one API call: retries when `idempotent`, maps errors and
  // returns the response's JSON object.
  Result<Json> Call(const std::string& method, const std::string& target,
                    const std::string& body, bool idempotent) {
    const std::string what = method + " " + target.substr(0, target.find('?'));
    const int attempts =
        idempotent ? std::max(1, options.retry.max_attempts) : 1;
    for (int attempt = 1;; ++attempt) {
      const bool last = attempt >= attempts;
      auto response = SendOnce(method, target, body);
      if (!response) {
        Code code = response.error().code();
        if (!last && (code == Code::kIo || code == Code::kUnavailable)) {
          options.sleep(Backoff(attempt, std::nullopt));
          continue;
        }
        return response.error().WithContext(what);
      }
      if (!last && (response->status == 429 || response->status == 503)) {
        options.sleep(Backoff(attempt, RetryAfterSeconds(*response)));
        continue;
      }
      if (response->status < 200 || response->status > 299) {
        return ServerError(*response, what);
      }
      auto doc = ResponseObject(response->body);
      if (!doc) return Malformed(what, doc.error().message());
      return doc;
    }
  }

  // Confirmed runs a call that is not retried and whose answer must hold
  // `"<flag>": true`.
  Status Confirmed(const std::string& method, const std::string& target,
                   const std::string& body, std::string_view flag) {
    AZTP_ASSIGN_OR_RETURN(Json doc, Call(method, target, body, false));
    const Json* value = Member(doc, flag);
    if (value == nullptr || !value->is_boolean() || !value->get<bool>()) {
      return Malformed(method + " " + target,
                       "member \"" + std::string(flag) + "\" must be true");
    }
    return Ok();
  }

  // Parsed runs Call and shapes its result with `parse`; shape errors name
  // the route.
  template <typename Parse>
  auto Parsed(const std::string& method, const std::string& target,
              const std::string& body, bool idempotent, Parse parse)
      -> decltype(parse(std::declval<const Json&>())) {
    AZTP_ASSIGN_OR_RETURN(Json doc, Call(method, target, body, idempotent));
    auto out = parse(doc);
    if (!out) {
      return Malformed(method + " " + target.substr(0, target.find('?')),
                       out.error().message());
    }
    return out;
  }
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  if (options.bundles == nullptr || !options.server_id.has_value()) {
    return Error(Code::kInvalidArgument,
                 "the client needs the control plane's bundle and ID to "
                 "authenticate it (ClientOptions::SetTrustBundle)");
  }
  if (options.retry.max_attempts < 1 ||
      options.retry.initial_backoff.count() < 0 ||
      options.retry.max_backoff < options.retry.initial_backoff) {
    return Error(Code::kInvalidArgument,
                 "retry: max_attempts must be at least 1 and max_backoff at "
                 "least initial_backoff");
  }
  if (options.max_idle_connections < 0) {
    return Error(Code::kInvalidArgument,
                 "max_idle_connections must not be negative");
  }
  {
    // Checked here so that a bad key never reaches a header (whose error
    // would then be about the header, far from the cause).
    std::string_view key = options.api_key.View(InsecureSecretAccess::Get());
    for (char c : key) {
      if (c <= 0x20 || c >= 0x7f) {
        return Error(Code::kInvalidArgument,
                     "the API key must be printable ASCII without spaces");
      }
    }
  }
  auto impl = std::make_unique<Impl>();
  impl->clock =
      options.clock != nullptr ? options.clock : &SystemClock::Default();
  if (!options.sleep) {
    options.sleep = [](std::chrono::milliseconds d) {
      std::this_thread::sleep_for(d);
    };
  }
  impl->http_options.base_url = options.base_url;
  impl->http_options.bundles = options.bundles;
  impl->http_options.server_id = options.server_id;
  impl->http_options.credentials = options.credentials;
  impl->http_options.timeout_seconds = options.timeout_seconds;
  impl->http_options.clock = impl->clock;
  impl->rng.seed(std::random_device{}());
  // The first connection object also validates the URL, timeout and
  // credentials now rather than at the first call.
  AZTP_ASSIGN_OR_RETURN(auto first, http::Client::Create(impl->http_options));
  impl->options = std::move(options);
  impl->Release(std::move(first));
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

const SpiffeId& Client::server_id() const { return *impl_->options.server_id; }

Status Client::Healthz() {
  AZTP_RETURN_IF_ERROR(impl_->Call("GET", "/healthz", "", true));
  return Ok();
}

Status Client::Readyz() {
  AZTP_RETURN_IF_ERROR(impl_->Call("GET", "/readyz", "", true));
  return Ok();
}

Result<Identity> Client::RegisterIdentity(const IdentityRegistration& request) {
  if (!request.metadata.is_object()) {
    return Error(Code::kInvalidArgument, "metadata must be a JSON object");
  }
  Json body = Json::object();
  body["id"] = request.id.str();
  if (request.parent) body["parent"] = request.parent->str();
  if (request.global) body["global"] = true;
  if (request.discoverable) body["discoverable"] = true;
  if (!request.metadata.empty()) body["metadata"] = request.metadata;
  if (!request.selectors.empty()) body["selectors"] = request.selectors;
  if (request.federates_with) body["federates_with"] = *request.federates_with;
  return impl_->Parsed("POST", "/v1/identities", DumpJson(body), false,
                       ParseIdentity);
}

Result<Identity> Client::GetIdentity(const SpiffeId& id) {
  return impl_->Parsed("GET", IdentityTarget(id), "", true, ParseIdentity);
}

Result<IdentityPage> Client::ListIdentities(
    const ListIdentitiesOptions& options) {
  std::string target =
      "/v1/identities" +
      Query({{"prefix", options.prefix},
             {"status", options.status
                            ? std::string(IdentityStatusName(*options.status))
                            : ""},
             {"limit", options.limit > 0 ? std::to_string(options.limit) : ""},
             {"after", options.after}});
  return impl_->Parsed(
      "GET", target, "", true, [](const Json& doc) -> Result<IdentityPage> {
        IdentityPage page;
        AZTP_RETURN_IF_ERROR(ParsePage<Identity>(
            doc, "identities", ParseIdentity, page.identities, page.next));
        return page;
      });
}

Result<DiscoveryPage> Client::Discover(const DiscoverOptions& options) {
  std::string target =
      "/v1/discover" +
      Query({{"trust_domain",
              options.trust_domain ? options.trust_domain->name() : ""},
             {"prefix", options.prefix},
             {"limit", options.limit > 0 ? std::to_string(options.limit) : ""},
             {"after", options.after}});
  return impl_->Parsed(
      "GET", target, "", true, [](const Json& doc) -> Result<DiscoveryPage> {
        DiscoveryPage page;
        AZTP_RETURN_IF_ERROR(ParsePage<DiscoveredIdentity>(
            doc, "identities", ParseDiscovered, page.identities, page.next));
        return page;
      });
}

Result<Link> Client::LinkIdentity(const SpiffeId& from, const SpiffeId& to,
                                  LinkKind kind, const Json& metadata) {
  if (!metadata.is_object()) {
    return Error(Code::kInvalidArgument, "metadata must be a JSON object");
  }
  Json body = Json::object();
  body["to"] = to.str();
  body["kind"] = LinkKindName(kind);
  if (!metadata.empty()) body["metadata"] = metadata;
  return impl_->Parsed("POST", IdentityTarget(from, "link"), DumpJson(body),
                       false, ParseLink);
}

Result<Identity> Client::RevokeIdentity(const SpiffeId& id,
                                        std::string_view reason) {
  Json body = Json::object();
  if (!reason.empty()) body["reason"] = std::string(reason);
  return impl_->Parsed("POST", IdentityTarget(id, "revoke"), DumpJson(body),
                       true, ParseIdentity);
}

Result<Identity> Client::ReissueIdentity(const SpiffeId& id) {
  return impl_->Parsed("POST", IdentityTarget(id, "reissue"), "", true,
                       ParseIdentity);
}

Result<Identity> Client::SetFederatesWith(
    const SpiffeId& id,
    std::optional<std::vector<std::string>> federates_with) {
  Json body = Json::object();
  body["federates_with"] = federates_with ? Json(*federates_with) : Json();
  return impl_->Parsed("PATCH", IdentityTarget(id), DumpJson(body), true,
                       ParseIdentity);
}

Result<CreatedApiKey> Client::CreateApiKey(std::string_view scope,
                                           std::string_view description) {
  Json body = Json::object();
  body["scope"] = std::string(scope);
  if (!description.empty()) body["description"] = std::string(description);
  return impl_->Parsed(
      "POST", "/v1/apikeys", DumpJson(body), false,
      [](const Json& doc) -> Result<CreatedApiKey> {
        AZTP_ASSIGN_OR_RETURN(ApiKey info, ParseApiKey(doc));
        const Json* key = Member(doc, "api_key");
        if (key == nullptr || !key->is_string() ||
            key->get_ref<const std::string&>().empty()) {
          return Error(Code::kMalformed, "member \"api_key\" is missing");
        }
        return CreatedApiKey{
            std::move(info),
            SecretBytes(std::string_view(key->get_ref<const std::string&>()))};
      });
}

Result<std::vector<ApiKey>> Client::ListApiKeys() {
  return impl_->Parsed("GET", "/v1/apikeys", "", true,
                       [](const Json& doc) -> Result<std::vector<ApiKey>> {
                         const Json* keys = Member(doc, "api_keys");
                         if (keys == nullptr || !keys->is_array()) {
                           return Error(Code::kMalformed,
                                        "member \"api_keys\" must be an array");
                         }
                         std::vector<ApiKey> out;
                         for (const Json& k : *keys) {
                           AZTP_ASSIGN_OR_RETURN(ApiKey key, ParseApiKey(k));
                           out.push_back(std::move(key));
                         }
                         return out;
                       });
}

Status Client::RevokeApiKey(std::string_view key_id) {
  // Key IDs are hex; anything else could bend the request target.
  if (key_id.empty() || key_id.size() > 64 ||
      !std::all_of(key_id.begin(), key_id.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
               (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
      })) {
    return Error(Code::kInvalidArgument,
                 "malformed API key ID " + QuoteInput(key_id));
  }
  AZTP_RETURN_IF_ERROR(impl_->Call(
      "POST", "/v1/apikeys/" + std::string(key_id) + ":revoke", "", true));
  return Ok();
}

Result<X509SvidResponse> Client::IssueX509Svid(
    const SpiffeId& id, const CertificateRequest& csr,
    std::optional<int64_t> ttl_seconds) {
  Json body = Json::object();
  body["id"] = id.str();
  body["csr"] = csr.ToPem();
  if (ttl_seconds) body["ttl"] = *ttl_seconds;
  const UnixTime now = impl_->clock->Now();
  return impl_->Parsed(
      "POST", "/v1/svid/x509", DumpJson(body), false,
      [&](const Json& doc) { return ParseX509Svid(doc, id, csr, now); });
}

Result<JwtSvid> Client::IssueJwtSvid(const SpiffeId& id,
                                     const std::vector<std::string>& audience,
                                     std::optional<int64_t> ttl_seconds) {
  if (audience.empty()) {
    return Error(Code::kInvalidArgument, "a JWT-SVID needs an audience");
  }
  Json body = Json::object();
  body["id"] = id.str();
  body["audience"] = audience;
  if (ttl_seconds) body["ttl"] = *ttl_seconds;
  return impl_->Parsed(
      "POST", "/v1/svid/jwt", DumpJson(body), false,
      [&](const Json& doc) { return ParseJwtSvid(doc, id, audience); });
}

Result<Bundle> Client::GetBundle() {
  const TrustDomain& td = impl_->options.server_id->trust_domain();
  return impl_->Parsed("GET", "/v1/bundle", "", true, [&](const Json& doc) {
    return Bundle::FromJson(td, doc);
  });
}

Result<BundleSet> Client::GetBundles(std::optional<SpiffeId> for_id) {
  std::string target =
      "/v1/bundles" + Query({{"for", for_id ? for_id->str() : ""}});
  return impl_->Parsed("GET", target, "", true, ParseBundleMap);
}

Result<RevocationList> Client::GetRevocations() {
  return impl_->Parsed("GET", "/v1/revocations", "", true, [](const Json& doc) {
    return RevocationList::FromJson(doc);
  });
}

Result<RevocationLists> Client::GetRevocationLists() {
  const TrustDomain& own = impl_->options.server_id->trust_domain();
  return impl_->Parsed(
      "GET", "/v1/revocation-lists", "", true,
      [&own](const Json& doc) { return ParseRevocationLists(doc, own); });
}

Result<std::vector<CaKey>> Client::ListCaKeys() {
  return impl_->Parsed("GET", "/v1/ca", "", true, ParseCaKeys);
}

Result<std::vector<CaKey>> Client::RotateCa(CaKeyKind kind) {
  Json body = Json::object();
  body["kind"] = CaKeyKindName(kind);
  return impl_->Parsed("POST", "/v1/ca:rotate", DumpJson(body), false,
                       ParseCaKeys);
}

namespace {

// FederationTarget is /v1/federations/<td>[:action]; trust domain names
// need no escaping in a request target.
std::string FederationTarget(const TrustDomain& td,
                             std::string_view action = {}) {
  std::string out = "/v1/federations/" + td.name();
  if (!action.empty()) {
    out += ':';
    out += action;
  }
  return out;
}

}  // namespace

Result<std::vector<Federation>> Client::ListFederations() {
  return impl_->Parsed(
      "GET", "/v1/federations", "", true,
      [](const Json& doc) -> Result<std::vector<Federation>> {
        const Json* list = Member(doc, "federations");
        if (list == nullptr || !list->is_array()) {
          return Error(Code::kMalformed,
                       "member \"federations\" must be an array");
        }
        std::vector<Federation> out;
        for (const Json& item : *list) {
          AZTP_ASSIGN_OR_RETURN(Federation f, ParseFederation(item));
          out.push_back(std::move(f));
        }
        return out;
      });
}

Result<FederationFetch> Client::AddFederation(const FederationSpec& spec) {
  Json body = Json::object();
  body["trust_domain"] = spec.trust_domain.name();
  body["endpoint_url"] = spec.endpoint_url;
  body["profile"] = EndpointProfileName(spec.profile);
  if (spec.endpoint_id) body["endpoint_id"] = spec.endpoint_id->str();
  if (spec.bootstrap_bundle) {
    if (spec.bootstrap_bundle->trust_domain() != spec.trust_domain) {
      return Error(Code::kInvalidArgument,
                   "the bootstrap bundle is of " +
                       spec.bootstrap_bundle->trust_domain().name() + ", not " +
                       spec.trust_domain.name());
    }
    body["bootstrap_bundle"] = spec.bootstrap_bundle->ToJson();
  }
  if (!spec.web_ca_pem.empty()) body["web_ca_pem"] = spec.web_ca_pem;
  if (!spec.revocations_url.empty()) {
    body["revocations_url"] = spec.revocations_url;
  }
  const TrustDomain& td = spec.trust_domain;
  return impl_->Parsed(
      "POST", "/v1/federations", DumpJson(body), false,
      [&td](const Json& doc) -> Result<FederationFetch> {
        const Json* first = Member(doc, "first_fetch");
        if (first == nullptr) {
          return Error(Code::kMalformed, "member \"first_fetch\" is missing");
        }
        AZTP_ASSIGN_OR_RETURN(TrustDomain named,
                              RequiredTrustDomain(doc, "trust_domain"));
        if (named != td) {
          return Error(Code::kMalformed, "the answer is about " + named.name() +
                                             ", not " + td.name());
        }
        return ParseFetch(*first, td);
      });
}

Result<FederationFetch> Client::RefreshFederation(const TrustDomain& td) {
  return impl_->Parsed(
      "POST", FederationTarget(td, "refresh"), "", false,
      [&td](const Json& doc) { return ParseRefresh(doc, td); });
}

Status Client::RemoveFederation(const TrustDomain& td) {
  return impl_->Confirmed("DELETE", FederationTarget(td), "", "removed");
}

namespace {

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
    return WrongType("document", "an object");
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
  const Json* list = Member(doc, "policies");
  if (list == nullptr || !list->is_array()) {
    return WrongType("policies", "an array");
  }
  std::vector<StoredPolicy> out;
  for (const Json& item : *list) {
    AZTP_ASSIGN_OR_RETURN(StoredPolicy p, ParseStoredPolicy(item));
    out.push_back(std::move(p));
  }
  return out;
}

// ParseAuthorizeResult reads a decision (DecisionJson's form) and the ID of
// the deciding policy.
Result<AuthorizeResult> ParseAuthorizeResult(const Json& doc) {
  AuthorizeResult out;
  AZTP_ASSIGN_OR_RETURN(out.decision, DecisionFromJson(doc));
  if (const Json* id = Member(doc, "policy_id")) {
    if (!id->is_string()) return WrongType("policy_id", "a string or null");
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

Result<Client::AuditPage> Client::ListAudit(int64_t after, int limit,
                                            const AuditFilter& filter,
                                            const std::string& source) {
  if (limit < 1 || limit > 1000) {
    return Error(Code::kInvalidArgument, "limit must be from 1 to 1000");
  }
  auto optional_time = [](const std::optional<UnixTime>& t) {
    return t ? std::to_string(*t) : std::string();
  };
  std::string target =
      "/v1/audit" + Query({{"after", std::to_string(after)},
                           {"limit", std::to_string(limit)},
                           {"txn", filter.txn},
                           {"identity", filter.identity},
                           {"decision", filter.decision},
                           {"action", filter.action},
                           {"since", optional_time(filter.since)},
                           {"until", optional_time(filter.until)},
                           {"source", source}});
  return impl_->Parsed(
      "GET", target, "", true, [](const Json& doc) -> Result<AuditPage> {
        AuditPage page;
        auto records = doc.find("records");
        if (records == doc.end() || !records->is_array()) {
          return Error(Code::kMalformed, "records must be an array");
        }
        for (const Json& j : *records) {
          AZTP_ASSIGN_OR_RETURN(AuditRecord r, AuditRecordFromJson(j));
          page.records.push_back(std::move(r));
        }
        AZTP_ASSIGN_OR_RETURN(page.next, GetInt(doc, "next"));
        auto end = doc.find("end");
        if (end == doc.end() || !end->is_boolean()) {
          return Error(Code::kMalformed, "end must be a boolean");
        }
        page.end = end->get<bool>();
        return page;
      });
}

Result<AuditHead> Client::IngestAudit(const std::vector<AuditRecord>& records) {
  Json list = Json::array();
  for (const AuditRecord& r : records) list.push_back(AuditRecordJson(r));
  return impl_->Parsed(
      "POST", "/v1/audit:ingest", DumpJson(Json{{"records", std::move(list)}}),
      true, [](const Json& doc) -> Result<AuditHead> {
        AuditHead head;
        AZTP_ASSIGN_OR_RETURN(head.seq, GetInt(doc, "acked"));
        AZTP_ASSIGN_OR_RETURN(head.hash, GetString(doc, "hash"));
        return head;
      });
}

}  // namespace aztp

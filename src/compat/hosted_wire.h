// The hosted SDK's wire format (docs/compat.md): the envelope
// {"success", "message", "data"}, its message codes, aztp:// IDs, the
// camelCase records, and reading the hosted bodies. Shared by the hosted
// routes (hosted_*.cc); no logic of its own.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/encoding/json.h"
#include "aztp/http/http.h"
#include "aztp/spiffeid/spiffe_id.h"
#include "aztp/store/store.h"

namespace aztp::compat::hosted {

inline constexpr char kAztpScheme[] = "aztp://";
inline constexpr char kSpiffeScheme[] = "spiffe://";

// Answer is one hosted answer before it is serialised: the envelope's
// success flag, message code and text, its data, and the HTTP status.
struct Answer {
  int status = 200;
  bool success = true;
  std::string code;
  std::string text;
  Json data;
  // top: members beside success, message and data, for the routes whose
  // SDK reads the envelope itself (the OIDC sub-client).
  Json top = Json::object();
};

Answer Envelope(int status, bool success, std::string code, std::string text,
                Json data);
// EnvelopeJson is the body of an answer.
Json EnvelopeJson(const Answer& a);
// Failure is the answer of an error: its HTTP status and message code.
Answer Failure(const Error& e);

Error BadInput(const std::string& text);

// ToAztp turns a native SPIFFE ID into the hosted form.
std::string ToAztp(const std::string& spiffe);
// WithAztpIds rewrites the spiffe:// IDs in a native text to aztp://.
std::string WithAztpIds(std::string text);

// FromService is a service's answer with the IDs in its error message in
// the hosted form, as the hosted routes pass errors on.
Error FromService(const Error& e);
template <typename T>
Result<T> FromService(Result<T> r) {
  if (!r) return FromService(r.error());
  return r;
}

// Body reads the request's JSON object body.
Result<Json> Body(const http::Request& req);
// Query is query parameter `name`, "" when absent.
std::string Query(const http::Request& req, const char* name);

// Member reads an optional member of `body`; `want` checks its type
// (`type` names it in the refusal). Null counts as absent.
Result<std::optional<Json>> Member(const Json& body, const char* name,
                                   bool (*want)(const Json&), const char* type);
bool IsString(const Json& j);
bool IsBool(const Json& j);
bool IsObject(const Json& j);
bool IsStringArray(const Json& j);
// StringMember reads an optional string member.
Result<std::optional<std::string>> StringMember(const Json& body,
                                                const char* name);

// HostedId checks that `text` is an aztp:// ID and returns the ID.
Result<SpiffeId> HostedId(const std::string& text, const char* name);
// FlowId checks a flow ID taken from a body or path: letters, digits, '_'
// and '-' only, at most 64 bytes.
Result<std::string> FlowId(const std::string& text, const char* name);

// WorkloadName is the name and environment a hosted ID encodes:
// /workload/<env>/node/<name> (the name may itself contain slashes), else
// the last segment and no environment.
struct WorkloadName {
  std::string name;
  std::string environment;
};
WorkloadName NameOf(const std::string& spiffe);

// Record is the hosted identity record, with `links` when given.
Json Record(const IdentityRecord& r,
            const std::vector<LinkRecord>* links = nullptr);
Json HostedLink(const LinkRecord& l);
// HostedFlow is the hosted flow record (camelCase, the ID as `_id`).
Json HostedFlow(const FlowRecord& f);
// HostedMember is the hosted record of one flow membership.
Json HostedMember(const FlowMemberRecord& m);

// WithoutNulls drops the null members of a hosted body (the hosted SDK
// sends unset optional arguments as null; the native decoders want them
// absent) and keeps only `names`.
Json WithoutNulls(const Json& body, std::initializer_list<const char*> names);

}  // namespace aztp::compat::hosted

// Declarations shared by the files of the control-plane client
// (src/client/client*.cc, identities.cc, trust.cc, federations.cc,
// policies.cc, audit.cc); not installed.
//
// client.cc holds the transport (Client::Impl: the connection pool, retries
// and the mapping of HTTP errors to Codes); response.cc the readers of the
// server's JSON, which never throw: types are checked before every access.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/client/client.h"
#include "aztp/encoding/json.h"
#include "aztp/http/http.h"
#include "aztp/spiffeid/spiffe_id.h"

namespace aztp::client_internal {

// Member returns the member `name` of `object`, or null when it is absent
// or JSON null.
const Json* Member(const Json& object, std::string_view name);

// The Optional* readers take an absent or null member as the type's empty
// value (false, "", 0, none, {}); Required* ones need the member.
Result<bool> OptionalBool(const Json& object, std::string_view name);
Result<std::string> OptionalText(const Json& object, std::string_view name);
Result<int64_t> OptionalTime(const Json& object, std::string_view name);
Result<std::optional<int64_t>> OptionalInteger(const Json& object,
                                               std::string_view name);
Result<Json> OptionalObject(const Json& object, std::string_view name);
Result<std::vector<std::string>> OptionalStringArray(const Json& object,
                                                     std::string_view name);
Result<std::optional<SpiffeId>> OptionalSpiffeId(const Json& object,
                                                 std::string_view name);
Result<SpiffeId> RequiredSpiffeId(const Json& object, std::string_view name);
Result<TrustDomain> RequiredTrustDomain(const Json& j, std::string_view name);

// ArrayOf reads the array member `name` of `doc`, each item with `parse`.
template <typename T, typename Parse>
Result<std::vector<T>> ArrayOf(const Json& doc, std::string_view name,
                               Parse parse) {
  const Json* list = Member(doc, name);
  if (list == nullptr || !list->is_array())
    return WrongMemberType(name, "an array");
  std::vector<T> out;
  for (const Json& item : *list) {
    AZTP_ASSIGN_OR_RETURN(T parsed, parse(item));
    out.push_back(std::move(parsed));
  }
  return out;
}

// Query builds "?a=1&b=2" from the non-empty values, percent-encoded.
std::string Query(
    std::initializer_list<std::pair<const char*, std::string>> params);

// Malformed is the error of a response without the documented shape.
Error Malformed(std::string_view what, std::string_view problem);

}  // namespace aztp::client_internal

namespace aztp {

// Client::Impl is the transport every call goes through.
struct Client::Impl {
  // Endpoint is one URL of the control plane (base_url, then each of
  // failover_urls) with its own idle connections.
  struct Endpoint {
    http::ClientOptions http_options;
    std::vector<std::unique_ptr<http::Client>> idle;  // guarded by pool_mu
  };
  // Sent is one request's outcome; `reached` is false when no byte of it
  // can have reached the server (the connection could not be opened).
  struct Sent {
    Result<http::Response> response;
    bool reached = true;
  };

  ClientOptions options;
  const Clock* clock = nullptr;

  std::mutex pool_mu;
  std::vector<Endpoint> endpoints;  // never empty
  // preferred is the endpoint tried first: the last one that answered, or
  // the one after the last one that failed.
  std::atomic<std::size_t> preferred{0};

  std::mutex rng_mu;
  std::minstd_rand rng;  // guarded by rng_mu; jitter needs no secrecy

  Result<std::unique_ptr<http::Client>> Acquire(std::size_t endpoint);
  void Release(std::size_t endpoint, std::unique_ptr<http::Client> c);
  std::chrono::milliseconds Backoff(int retry,
                                    std::optional<int64_t> retry_after);
  // SendOnce sends one request to `endpoint`; a request that is not
  // idempotent is never sent again by the connection (http::Client::Send).
  Sent SendOnce(std::size_t endpoint, const std::string& method,
                const std::string& target, const std::string& body,
                std::string_view content_type, bool idempotent);

  // Call performs one API call: retries when `idempotent`, maps errors and
  // returns the response's JSON object. The body is JSON unless
  // `content_type` says otherwise (the OAuth form of /v1/oidc/token).
  Result<Json> Call(const std::string& method, const std::string& target,
                    const std::string& body, bool idempotent,
                    std::string_view content_type = "application/json");

  // Confirmed runs a call that is not retried and whose answer must hold
  // `"<flag>": true`.
  Status Confirmed(const std::string& method, const std::string& target,
                   const std::string& body, std::string_view flag);

  // Parsed runs Call and shapes its result with `parse`; shape errors name
  // the route.
  template <typename Parse>
  auto Parsed(const std::string& method, const std::string& target,
              const std::string& body, bool idempotent, Parse parse,
              std::string_view content_type = "application/json")
      -> decltype(parse(std::declval<const Json&>())) {
    AZTP_ASSIGN_OR_RETURN(Json doc,
                          Call(method, target, body, idempotent, content_type));
    auto out = parse(doc);
    if (!out) {
      return client_internal::Malformed(
          method + " " + target.substr(0, target.find('?')),
          out.error().message());
    }
    return out;
  }
};

}  // namespace aztp

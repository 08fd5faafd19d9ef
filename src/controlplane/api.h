// Shared pieces of the control plane's request handlers: who is calling,
// how request bodies are read, how records are rendered.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "aztp/controlplane/control_plane.h"
#include "aztp/encoding/json.h"
#include "aztp/http/http.h"
#include "aztp/metrics/metrics.h"
#include "aztp/ratelimit/rate_limiter.h"
#include "aztp/services/api_keys.h"
#include "aztp/services/audit.h"
#include "aztp/services/federation.h"
#include "aztp/services/flows.h"
#include "aztp/services/identities.h"
#include "aztp/services/policies.h"
#include "aztp/services/revocations.h"
#include "aztp/services/signing_keys.h"
#include "aztp/services/svids.h"
#include "aztp/spiffeid/spiffe_id.h"
#include "aztp/store/store.h"
#include "route_table.h"

namespace aztp {

// State is what requests read without taking the store: the decoded
// signing keys, the bundle built from them and the server's credentials.
// Replaced whole by Reload.
struct ControlPlane::State {
  std::shared_ptr<const services::SigningKeys> keys;
  std::shared_ptr<const Bundle> bundle;
  std::shared_ptr<const TlsCredentials> server_credentials;
  std::shared_ptr<SSL_CTX> server_context;
  // root_signer signs the roots of people's chains with the server SVID.
  std::shared_ptr<const HopSigner> root_signer;
  UnixTime server_renew_at = 0;
};

struct ControlPlane::Instruments {
  metrics::Registry metrics;
  RateLimiter limiter;
  explicit Instruments(const RateLimitOptions& o)
      : limiter(o.requests_per_second, o.burst) {}
};

// Services are the typed services the routes call.
struct ControlPlane::Services {
  services::ServiceContext context;
  services::Authenticator authenticator{context};
  services::ApiKeyService api_keys{context};
  services::IdentityService identities{context};
  services::PolicyService policies{context};
  services::AuditService audit{context};
  services::FlowService flows{context};
  services::SvidService svids;
  services::SigningKeyService signing_keys;
  services::FederationService federation;
  services::PersonService people;
  services::LoginService logins;
  services::RevocationService revocations;
  // The services of `cp`, once its host and poller exist (control_plane.cc).
  Services(services::ServiceContext c, ControlPlane& cp);
};

namespace internal {

using services::kMaxMetadataBytes;
using services::kRevocationSequence;

inline Error BadRequest(std::string message) {
  return Error(Code::kInvalidArgument, std::move(message));
}

// BodyObject reads a strict JSON object body (by default of at most 64 KiB)
// sent as application/json.
inline constexpr std::size_t kMaxRequestJson = 64 << 10;
Result<Json> BodyObject(const http::Request& req,
                        std::size_t max_bytes = kMaxRequestJson);
// Limits of the names and descriptions of policies and flows.
inline constexpr std::size_t kMaxNameBytes = 128;
inline constexpr std::size_t kMaxDescriptionBytes = 1024;
// BoundedString reads optional string member `name` of at most `max` bytes.
Result<std::optional<std::string>> BoundedString(const Json& body,
                                                 const char* name,
                                                 std::size_t max);
// OnlyMembers rejects members not in `names`.
Status OnlyMembers(const Json& body, std::initializer_list<const char*> names);
Result<bool> OptionalBool(const Json& body, const char* name, bool fallback);
// OptionalStrings reads an optional member that is an array of at most
// `max_items` strings (nullopt when absent).
Result<std::optional<std::vector<std::string>>> OptionalStrings(
    const Json& body, const char* name, std::size_t max_items);
// OptionalMetadata reads an optional object member of at most 16 KiB.
Result<Json> OptionalMetadata(const Json& body, const char* name);
// PageLimit reads the `limit` query parameter (1..1000, default 100).
Result<int> PageLimit(const http::Request& req);
// QueryInt reads an optional non-negative integer query parameter.
Result<std::optional<int64_t>> QueryInt(const http::Request& req,
                                        const char* name);
// WorkloadId reads member `name` (a SPIFFE ID or aztp:// alias) and
// requires a workload ID of `td`.
Result<SpiffeId> WorkloadId(const Json& body, const char* name,
                            const TrustDomain& td);

Json IdentityJson(const IdentityRecord& r);
Json LinkJson(const LinkRecord& r);
Json ApiKeyJson(const ApiKeyRecord& r);
Json ErrorJson(const Error& e);

}  // namespace internal
}  // namespace aztp

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
#include "aztp/spiffeid/spiffe_id.h"
#include "aztp/store/store.h"
#include "signing_keys.h"

namespace aztp {

namespace internal {

// API-key scopes (docs/aztpd.md, "Authentication"). A scoped key's scope is
// a SPIFFE path of aztpd's trust domain; it covers the ID with that path
// and every ID below it, whole segment by whole segment (SPIFFE-ID §2.2):
// "/tools/payments" covers /tools/payments and /tools/payments/quotes,
// never /tools/payments-admin. "/" covers the whole trust domain.
//
// ParseScope normalises a scope as written ("/tools/" is "/tools": one
// trailing slash is dropped) into the ID it names in `td`. A scope that is
// not a plain SPIFFE path (empty, "//", "." or ".." segments, characters
// SPIFFE-ID §2.2 forbids, or too long) is kInvalidArgument.
Result<SpiffeId> ParseScope(const TrustDomain& td, std::string_view scope);
// ScopeText is the stored form of a parsed scope: its path, "/" for the
// whole trust domain.
std::string ScopeText(const SpiffeId& scope);
// ScopeCovers: `id` is `scope` itself or below it, in the same trust domain.
bool ScopeCovers(const SpiffeId& scope, const SpiffeId& id);

}  // namespace internal

// Principal is the authenticated caller of one request.
struct ControlPlane::Principal {
  std::string actor;  // for audit records and rate limits
  bool admin = false;
  // scope is, for a scoped API key, the ID its scope names in aztpd's trust
  // domain (internal::ParseScope); unset for admins, SVIDs and keys whose
  // stored scope no longer parses (they manage nothing).
  std::optional<SpiffeId> scope;
  std::optional<SpiffeId> svid;  // for mTLS clients of aztpd's trust domain

  // MayManage: may this principal act on identity `id` with an API key?
  // Scoped keys manage IDs of aztpd's own trust domain only.
  bool MayManage(const SpiffeId& id) const {
    if (admin) return true;
    return scope && internal::ScopeCovers(*scope, id);
  }
  // MayObtainSvid: an API key allowed for `id`, or `id`'s own SVID.
  bool MayObtainSvid(const SpiffeId& id) const {
    return svid ? *svid == id : MayManage(id);
  }
};

// Reply carries what a handler sets besides its JSON body.
struct ControlPlane::Reply {
  int status = 200;
  std::string route;                // the route's template, a metrics label
  int64_t retry_after_seconds = 0;  // for 429 answers
  // content_type, when set, means the body is the JSON string's text sent
  // as is (the Prometheus exposition); otherwise the body is JSON.
  std::string content_type;
};

// State is what requests read without taking the store: the decoded
// signing keys, the bundle built from them and the server's credentials.
// Replaced whole by Reload.
struct ControlPlane::State {
  std::shared_ptr<const internal::SigningKeys> keys;
  std::shared_ptr<const Bundle> bundle;
  std::shared_ptr<const TlsCredentials> server_credentials;
  std::shared_ptr<SSL_CTX> server_context;
  UnixTime server_renew_at = 0;
};

struct ControlPlane::Instruments {
  metrics::Registry metrics;
  RateLimiter limiter;
  explicit Instruments(const RateLimitOptions& o)
      : limiter(o.requests_per_second, o.burst) {}
};

namespace internal {

inline constexpr std::size_t kMaxMetadataBytes = 16384;
// kRevocationSequence names the store meta value holding the revocation
// list's sequence number, bumped by every revoke and reissue.
inline constexpr const char* kRevocationSequence = "revocation_sequence";

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
// OptionalMetadata reads an optional object member of at most 16 KiB.
Result<Json> OptionalMetadata(const Json& body, const char* name);
// PageLimit reads the `limit` query parameter (1..1000, default 100).
Result<int> PageLimit(const http::Request& req);
// WorkloadId reads member `name` (a SPIFFE ID or aztp:// alias) and
// requires a workload ID of `td`.
Result<SpiffeId> WorkloadId(const Json& body, const char* name,
                            const TrustDomain& td);

// API keys are "aztp_<key_id>.<secret>"; the store keeps a random salt and
// SHA-256(salt || secret), never the secret.
inline constexpr std::string_view kApiKeyPrefix = "aztp_";
std::string HashApiKeySecret(std::string_view salt_hex,
                             std::string_view secret);
struct NewApiKey {
  std::string secret_text;  // the whole key, shown once
  ApiKeyRecord record;
};
Result<NewApiKey> MakeApiKey(std::string scope, std::string description,
                             UnixTime now);

// RelationshipFromRecord turns a stored federation into a relationship.
Result<FederationRelationship> RelationshipFromRecord(
    const FederationRecord& r);
// MakePoller is the federation poller `o` asks for: its fetchers (FetchBundle
// and FetchRevocations unless replaced) and its refresh bounds.
std::unique_ptr<BundlePoller> MakePoller(const ControlPlaneOptions& o);

Json IdentityJson(const IdentityRecord& r);
Json LinkJson(const LinkRecord& r);
Json ApiKeyJson(const ApiKeyRecord& r);
Json ErrorJson(const Error& e);

// Appended turns AppendAudit's result into a Status, keeping its error.
inline Status Appended(const Result<int64_t>& seq) {
  if (!seq) return seq.error();
  return Ok();
}

}  // namespace internal
}  // namespace aztp

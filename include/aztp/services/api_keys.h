// API keys: minting, listing, revoking, and turning a presented key into
// its Principal (docs/aztpd.md, "Authentication"). A key is
// "aztp_<key_id>.<secret>"; the store keeps a random salt and
// SHA-256(salt || secret), never the secret.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/base/secret.h"
#include "aztp/services/context.h"
#include "aztp/services/principal.h"

namespace aztp::services {

inline constexpr std::string_view kApiKeyPrefix = "aztp_";

// MintedApiKey is a new key: its record (to store) and the whole key,
// shown to its holder once.
struct MintedApiKey {
  ApiKeyRecord record;
  SecretBytes key;
};

// MintApiKey makes a key with `scope` ("admin" or a normalised scope path)
// from fresh random bytes.
Result<MintedApiKey> MintApiKey(std::string scope, std::string description,
                                UnixTime now);

// HashApiKeySecret is the stored hash of `secret` under `salt_hex`.
std::string HashApiKeySecret(std::string_view salt_hex,
                             const SecretBytes& secret);

// NewApiKey is a request for a key.
struct NewApiKey {
  std::string scope;  // "admin" or a SPIFFE path of the trust domain
  std::string description;
};

inline constexpr std::size_t kMaxApiKeyDescriptionBytes = 1024;

// ApiKeyService manages API keys; every method needs an admin key.
class ApiKeyService {
 public:
  explicit ApiKeyService(const ServiceContext& ctx) : ctx_(ctx) {}

  // Create mints and stores a key; scopes are stored normalised ("/agents/"
  // as "/agents") so that they read as the segments they cover.
  Result<MintedApiKey> Create(const Principal& who, NewApiKey request);
  Result<std::vector<ApiKeyRecord>> List(const Principal& who);
  // Revoke revokes key `key_id` (kNotFound for an unknown one).
  Status Revoke(const Principal& who, const std::string& key_id);

 private:
  const ServiceContext& ctx_;
};

// Authenticator turns credentials into principals.
class Authenticator {
 public:
  explicit Authenticator(const ServiceContext& ctx) : ctx_(ctx) {}

  // Key authenticates a presented API key ("aztp_<key_id>.<secret>"):
  // kUnauthenticated when it is malformed, or unknown or revoked (one
  // message for both, so that a caller cannot tell a revoked key apart).
  Result<Principal> Key(const SecretBytes& presented) const;
  // Workload authenticates an mTLS client's verified SVID: SVIDs of other
  // trust domains authenticate nothing here (kUnauthenticated), nor those
  // of a revoked identity (kRevoked).
  Result<Principal> Workload(const SpiffeId& peer) const;

 private:
  const ServiceContext& ctx_;
};

}  // namespace aztp::services

// The API keys aggregate.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"

namespace aztp {

// kAdminScope is the scope of an API key that manages the whole trust
// domain. Any other scope is a SPIFFE path (an open set, so the scope stays
// text).
inline constexpr std::string_view kAdminScope = "admin";

// ApiKeyRecord is an API key; the secret itself is never stored, only a
// salted hash of it.
struct ApiKeyRecord {
  std::string key_id;  // public part, e.g. "ak_3f2a..."
  std::string salt;    // hex
  std::string hash;    // hex SHA-256(salt || secret)
  std::string scope;   // kAdminScope or a SPIFFE path prefix "/agents/"
  std::string description;
  bool revoked = false;
  UnixTime created_at = 0;

  bool is_admin() const { return scope == kAdminScope; }
};

// ApiKeyRepository holds API keys (kIo on storage errors).
class ApiKeyRepository {
 public:
  virtual ~ApiKeyRepository() = default;

  // InsertApiKey adds a key (kAlreadyExists for a known key ID).
  virtual Status InsertApiKey(const ApiKeyRecord& r) = 0;
  virtual Result<std::optional<ApiKeyRecord>> GetApiKey(
      const std::string& key_id) = 0;
  // ListApiKeys returns every key, revoked ones too, ordered by key ID.
  virtual Result<std::vector<ApiKeyRecord>> ListApiKeys() = 0;
  // RevokeApiKey marks a key revoked; revoking it again succeeds
  // (kNotFound for an unknown key ID).
  virtual Status RevokeApiKey(const std::string& key_id) = 0;
};

}  // namespace aztp

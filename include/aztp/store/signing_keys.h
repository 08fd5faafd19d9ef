// The signing keys aggregate: the trust domain's X.509 CA keys and JWT-SVID
// keys.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/base/secret.h"

namespace aztp {

// CaKeyRecord is one signing key of the trust domain: an X.509 CA key with
// its certificate chain, or a JWT-SVID key.
struct CaKeyRecord {
  // Kind is stored as "x509" or "jwt".
  enum class Kind { kX509, kJwt };
  // State is stored as "prepared", "active" or "retired".
  enum class State { kPrepared, kActive, kRetired };
  static std::optional<Kind> ParseKind(std::string_view text);
  static std::optional<State> ParseState(std::string_view text);

  std::string key_id;
  Kind kind = Kind::kX509;
  State state = State::kPrepared;
  std::string chain_pem;  // x509: signing certificate first, root last
  SecretBytes key_pem;    // PKCS#8
  UnixTime created_at = 0;
  UnixTime activated_at = 0;  // 0 until the key becomes active
  UnixTime not_after = 0;
};
std::string_view ToString(CaKeyRecord::Kind kind);
std::string_view ToString(CaKeyRecord::State state);

// SigningKeyRepository holds the signing keys (kIo on storage errors).
class SigningKeyRepository {
 public:
  virtual ~SigningKeyRepository() = default;

  // PutCaKey inserts a key, or replaces every field of the key with its ID.
  virtual Status PutCaKey(const CaKeyRecord& r) = 0;
  // ListCaKeys returns every key, ordered by creation time and key ID.
  virtual Result<std::vector<CaKeyRecord>> ListCaKeys() = 0;
  // DeleteCaKey removes a key (kNotFound for an unknown key ID).
  virtual Status DeleteCaKey(const std::string& key_id) = 0;
};

}  // namespace aztp

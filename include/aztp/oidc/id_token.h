// OpenID Connect ID tokens: the strict validation a relying party applies
// before it believes that a person logged in (OpenID Connect Core 1.0
// §3.1.3.7, with the JWT best current practices of RFC 8725).
//
// An ID token is a compact JWS (RFC 7515) whose payload is a JSON object of
// claims (RFC 7519, OpenID Connect Core 1.0 §2). ValidateIdToken is the one
// way to obtain a VerifiedIdToken: no other code can construct one, so a
// value of that type always passed every check below.
//
// The checks, in order, each with its stable reason (docs/protocol.md §7):
//   1. The compact JWS parses, at most IdTokenRules::max_token_bytes
//      (kTooLarge, kMalformed). Its `alg` is one aztp implements and the
//      rules allow: never "none", never an HMAC algorithm, whatever the key
//      (kAlgNotAllowed; RFC 8725 §3.1, §3.2). A `typ` other than "JWT"
//      (an access token, a logout token) is kMalformed (RFC 8725 §3.11).
//   2. The signing key is the issuer's: the JWKS given holds only that
//      issuer's keys. The header's `kid` selects it; without a `kid`, the
//      set must hold exactly one key that may verify with the `alg`.
//      A `kid` the set lacks is kNotFound, so that the caller may refresh
//      the set once and retry (OpenID Connect Core 1.0 §10.1.1). The
//      signature must verify with that key (kBadSignature).
//   3. `iss` equals IdTokenRules::issuer exactly, byte for byte
//      (kIssuerMismatch; §3.1.3.7 item 2).
//   4. `aud` is the client ID, or an array holding it and no audience the
//      relying party does not trust; with more than one audience, `azp`
//      must be present; when present, `azp` must be the client ID
//      (kAudienceMismatch; items 3 to 5).
//   5. `exp` is after now, `iat` and any `nbf` not after now, each with
//      IdTokenRules::skew_seconds; `exp` - `iat` at most max_lifetime_seconds
//      (kExpired, kNotYetValid, kLifetimeExceeded; items 9 and 10).
//   6. `nonce` equals the one the login sent, when one was sent
//      (kRequestMismatch; item 11). A token exchange has none to compare.
//   7. `acr` is one of IdTokenRules::accepted_acr when that list is not
//      empty, and `auth_time` is present and recent enough when
//      max_auth_age_seconds is set (kPolicyDenied; items 12 and 13).
//   8. `sub` is 1 to 255 ASCII characters (§2), and the claims aztp reads
//      have their types and bounds (kMalformed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/crypto/key.h"
#include "aztp/encoding/json.h"
#include "aztp/jose/jwk.h"

namespace aztp {

// Bounds on the claims aztp keeps of a person.
inline constexpr std::size_t kMaxOidcSubjectBytes = 255;  // OIDC Core §2
inline constexpr std::size_t kMaxOidcClaimBytes = 256;    // email, name, acr
inline constexpr std::size_t kMaxOidcGroups = 64;         // groups, amr

// IdTokenRules is what one provider's ID tokens must satisfy, for one
// client (aztpd, registered at that provider).
struct IdTokenRules {
  std::string issuer;     // exact `iss`, e.g. "https://login.example.com"
  std::string client_id;  // aztpd's client ID at the provider
  // Other audiences an ID token may name beside client_id (normally none).
  std::vector<std::string> trusted_audiences;
  // The algorithms the provider may sign with; a subset of what aztp
  // implements (RS256, PS256, ES256, ES384, EdDSA).
  std::vector<SignatureAlgorithm> algorithms = {
      SignatureAlgorithm::kRS256, SignatureAlgorithm::kPS256,
      SignatureAlgorithm::kES256, SignatureAlgorithm::kEdDSA};
  int64_t skew_seconds = 30;  // clock skew allowed on exp, iat, nbf
  // The longest exp - iat accepted: providers issue ID tokens for minutes
  // to an hour.
  int64_t max_lifetime_seconds = 86400;
  // accepted_acr: the authentication context classes accepted; empty
  // accepts any, and a token without `acr`.
  std::vector<std::string> accepted_acr;
  // max_auth_age_seconds: when > 0, `auth_time` must be present and at
  // most this old (OIDC Core §3.1.2.1 max_age).
  int64_t max_auth_age_seconds = 0;
  std::size_t max_token_bytes = 16 << 10;
};

// IdTokenPerson is what aztp keeps of the person an ID token names.
struct IdTokenPerson {
  std::string issuer;   // `iss`
  std::string subject;  // `sub`: unique within the issuer
  std::optional<std::string> email;
  bool email_verified = false;
  std::optional<std::string> name;
  std::vector<std::string>
      groups;  // a `groups` claim, when the provider sends one
  std::optional<std::string> acr;
  std::vector<std::string> amr;
  std::optional<UnixTime> auth_time;

  bool operator==(const IdTokenPerson&) const = default;
};

// VerifiedIdToken is an ID token that passed ValidateIdToken.
class VerifiedIdToken {
 public:
  const IdTokenPerson& person() const { return person_; }
  // kid is the `kid` of the key that verified it ("" when the header had
  // none).
  const std::string& kid() const { return kid_; }
  UnixTime issued_at() const { return issued_at_; }
  UnixTime expires_at() const { return expires_at_; }
  // claims are the token's whole claim set, for the claim mapping of the
  // provider's configuration.
  const Json& claims() const { return claims_; }

 private:
  friend Result<VerifiedIdToken> ValidateIdToken(std::string_view,
                                                 const IdTokenRules&,
                                                 const Jwks&, std::string_view,
                                                 UnixTime);
  VerifiedIdToken() = default;
  IdTokenPerson person_;
  std::string kid_;
  UnixTime issued_at_ = 0;
  UnixTime expires_at_ = 0;
  Json claims_;
};

// ValidateIdToken checks `token` against `rules`, with `issuer_keys` the
// provider's JWKS and `expected_nonce` the nonce the login sent ("" when
// none was sent: a token exchange), at `now`.
Result<VerifiedIdToken> ValidateIdToken(std::string_view token,
                                        const IdTokenRules& rules,
                                        const Jwks& issuer_keys,
                                        std::string_view expected_nonce,
                                        UnixTime now);

}  // namespace aztp

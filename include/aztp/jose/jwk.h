// JSON Web Keys (RFC 7517) and JWK Sets (RFC 7517 §5) for public keys.
//
// Only public keys are represented: a JWK carrying any private member
// (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2) is rejected as kMalformed,
// never silently stripped. Supported key types, matching crypto/key.h:
//   kty "EC"  crv "P-256" | "P-384"  x, y   (RFC 7518 §6.2.1)
//   kty "OKP" crv "Ed25519"          x      (RFC 8037 §2)
//   kty "RSA"                        n, e   (RFC 7518 §6.3.1), >= 2048 bits
// Coordinates must have exactly the field size (RFC 7518 §6.2.1.2-3), the
// Ed25519 key exactly 32 bytes, and RSA `n` and `e` the minimum number of
// octets (RFC 7518 §6.3.1.1-2: a leading zero octet is rejected, so that one
// key has one encoding and one thumbprint); `e` must be odd and at least 3,
// and a modulus with the structure of CVE-2017-15361 ("ROCA") keys, which
// can be factored, is refused as kUnsupported.
// Members this library does not understand are ignored (RFC 7517 §4);
// `x5u`, `x5t` and `x5t#S256` are neither fetched nor checked nor re-emitted.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/bytes.h"
#include "aztp/base/result.h"
#include "aztp/crypto/key.h"
#include "aztp/encoding/json.h"

namespace aztp {

// Jwk is an immutable public JSON Web Key (RFC 7517 §4) with the optional
// members `kid` (§4.5), `use` (§4.2), `key_ops` (§4.3), `alg` (§4.4) and
// `x5c` (§4.7). Copyable; copies share the key.
class Jwk {
 public:
  // Parse reads one JWK object. Errors: kMalformed (not an object, a member
  // missing or of the wrong type, bad base64url, wrong coordinate length,
  // point not on the curve, private members, an `x5c` leaf whose key differs
  // from the JWK's), kUnsupported (a `kty` or `crv` aztp does not implement,
  // an RSA modulus under 2048 bits or with the ROCA structure),
  // kAlgNotAllowed (an `alg` member that is not an aztp algorithm for this
  // key, RFC 7517 §4.4).
  static Result<Jwk> Parse(const Json& object);

  // FromJson parses `text` strictly (encoding/json.h) and then as Parse.
  static Result<Jwk> FromJson(std::string_view text,
                              const JsonLimits& limits = {});

  // FromPublicKey builds the JWK of `key` (RFC 7518 §6.2.1, §6.3.1, RFC 8037
  // §2) without optional members. Reading the key's components cannot fail
  // for a valid PublicKey; an OpenSSL failure there aborts, like
  // Result::value() on an error.
  static Jwk FromPublicKey(const PublicKey& key);

  // ToJson returns the required members in RFC 7638 §3.2 order (EC: crv,
  // kty, x, y; OKP: crv, kty, x; RSA: e, kty, n) followed by kid, use,
  // key_ops, alg and x5c when set.
  Json ToJson() const;

  // Thumbprint is the RFC 7638 §3 JWK thumbprint with SHA-256, base64url
  // encoded without padding (the form RFC 7638 §3.1 shows).
  std::string Thumbprint() const;

  // CheckVerificationUse returns Ok when this JWK may verify a JWS signature
  // with `alg`: the key type allows `alg` (crypto/key.h), `alg` equals the
  // JWK's `alg` member if present (RFC 7517 §4.4), `use` is absent or "sig"
  // (RFC 7517 §4.2) and `key_ops` is absent or contains "verify" (RFC 7517
  // §4.3). Otherwise kAlgNotAllowed.
  Status CheckVerificationUse(SignatureAlgorithm alg) const;

  // public_key is the key the JWK represents (RFC 7517 §4).
  const PublicKey& public_key() const { return key_; }
  // kid is the key ID (RFC 7517 §4.5), if present.
  const std::optional<std::string>& kid() const { return kid_; }
  // use is the public key use (RFC 7517 §4.2), if present.
  const std::optional<std::string>& use() const { return use_; }
  // key_ops lists the key operations (RFC 7517 §4.3), if present.
  const std::optional<std::vector<std::string>>& key_ops() const {
    return key_ops_;
  }
  // alg is the algorithm the key is restricted to (RFC 7517 §4.4), if any.
  const std::optional<SignatureAlgorithm>& alg() const { return alg_; }
  // x5c is the X.509 certificate chain (RFC 7517 §4.7), DER, leaf first;
  // empty when absent.
  const std::vector<Bytes>& x5c() const { return x5c_; }

  // WithKid returns a copy with `kid` set (RFC 7517 §4.5).
  Jwk WithKid(std::string kid) const;
  // WithUse returns a copy with `use` set (RFC 7517 §4.2).
  Jwk WithUse(std::string use) const;
  // WithKeyOps returns a copy with `key_ops` set (RFC 7517 §4.3);
  // kInvalidArgument if a value repeats.
  Result<Jwk> WithKeyOps(std::vector<std::string> key_ops) const;
  // WithAlg returns a copy with `alg` set (RFC 7517 §4.4); kAlgNotAllowed
  // if the key type does not allow `alg`.
  Result<Jwk> WithAlg(SignatureAlgorithm alg) const;
  // WithX5c returns a copy with `x5c` set (RFC 7517 §4.7). The chain is
  // stored as given; Parse is what checks it.
  Jwk WithX5c(std::vector<Bytes> x5c) const;

 private:
  explicit Jwk(PublicKey key) : key_(std::move(key)) {}
  friend class Jwks;
  static Result<Jwk> ParseImpl(const Json& object, bool* unknown_type);
  // RequiredMembers are the RFC 7638 §3.2 members in lexicographic order.
  Json RequiredMembers() const;

  PublicKey key_;
  std::optional<std::string> kid_;
  std::optional<std::string> use_;
  std::optional<std::vector<std::string>> key_ops_;
  std::optional<SignatureAlgorithm> alg_;
  std::vector<Bytes> x5c_;
};

// Jwks is a JWK Set (RFC 7517 §5): the keys aztp understands, in order.
class Jwks {
 public:
  // Jwks is an empty JWK Set (RFC 7517 §5).
  Jwks() = default;

  // Parse reads `{"keys": [...]}`; other top-level members are ignored
  // (RFC 7517 §5). Entries whose `kty`, or whose `crv` for EC and OKP, aztp
  // does not implement are skipped (RFC 7517 §5: "SHOULD ignore"), and
  // counted in skipped(). Every other bad entry fails the whole set with
  // its error, including private members in any entry (a set that mixes
  // secrets into public keys is never used) and two entries with the same
  // `kid` (RFC 7517 §4.5 wants kids to differ within a set; a lookup would
  // be ambiguous): both kMalformed.
  static Result<Jwks> Parse(const Json& object);

  // FromJson parses `text` strictly (encoding/json.h) and then as Parse.
  static Result<Jwks> FromJson(std::string_view text,
                               const JsonLimits& limits = {});

  // Add appends `key`; kInvalidArgument if its `kid` is already in the set.
  Status Add(Jwk key);

  // ToJson returns `{"keys": [...]}` with each key's Jwk::ToJson.
  Json ToJson() const;

  // FindByKid returns the key whose `kid` is `kid` (RFC 7517 §4.5), or
  // nullptr. The pointer is valid until the set is modified or destroyed.
  const Jwk* FindByKid(std::string_view kid) const;

  // keys are the set's keys (RFC 7517 §5.1 "keys") in document order.
  const std::vector<Jwk>& keys() const { return keys_; }
  // skipped counts the entries ignored for an unknown `kty` or `crv`
  // (RFC 7517 §5).
  std::size_t skipped() const { return skipped_; }

 private:
  std::vector<Jwk> keys_;
  std::size_t skipped_ = 0;
};

}  // namespace aztp

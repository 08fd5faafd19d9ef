// Keys: ECDSA P-256/P-384 and Ed25519 key pairs, RSA public keys, and the
// JWS signature algorithms bound to them (RFC 7518 §3, RFC 8037 §3.1).
//
// A key only ever signs or verifies with the algorithms of its type:
// ES256 <-> P-256, ES384 <-> P-384, EdDSA <-> Ed25519, RS256/PS256 <-> RSA
// (>= 2048 bits, verification only). ECDSA signatures are the JWS form,
// the fixed-size concatenation r || s, never DER.
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "aztp/base/bytes.h"
#include "aztp/base/result.h"
#include "aztp/base/secret.h"

namespace aztp {

// KeyType is the type (and for EC the curve) of a key.
enum class KeyType { kEcP256, kEcP384, kEd25519, kRsa };

// KeyTypeName returns "ec-p256", "ec-p384", "ed25519" or "rsa".
std::string_view KeyTypeName(KeyType type);

// ParseKeyType accepts the names of the types aztp can generate
// ("ec-p256", "ec-p384", "ed25519"); others are kInvalidArgument.
Result<KeyType> ParseKeyType(std::string_view name);

// SignatureAlgorithm is a JWS "alg" value aztp understands.
enum class SignatureAlgorithm { kES256, kES384, kEdDSA, kRS256, kPS256 };

// AlgorithmName returns the JOSE name ("ES256", "EdDSA", ...).
std::string_view AlgorithmName(SignatureAlgorithm alg);

// ParseAlgorithm maps a JOSE "alg" name to a SignatureAlgorithm; every other
// name ("none", "HS256", "ES512", ...) is kAlgNotAllowed.
Result<SignatureAlgorithm> ParseAlgorithm(std::string_view name);

// AlgorithmForKeyType is the one algorithm aztp signs with for `type`
// (ES256, ES384, EdDSA); RSA has none (kUnsupported).
Result<SignatureAlgorithm> AlgorithmForKeyType(KeyType type);

// PublicKey is an immutable public key. Copies share the OpenSSL object;
// it is safe to use from many threads.
class PublicKey {
 public:
  // FromSpkiDer parses a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7).
  static Result<PublicKey> FromSpkiDer(std::span<const uint8_t> der);
  // FromPem parses a PEM "PUBLIC KEY" document.
  static Result<PublicKey> FromPem(std::string_view pem);
  // FromEcCoordinates builds a P-256/P-384 key from big-endian affine
  // coordinates of exactly the field size; the point must be on the curve.
  static Result<PublicKey> FromEcCoordinates(KeyType type,
                                             std::span<const uint8_t> x,
                                             std::span<const uint8_t> y);
  // FromEd25519 builds an Ed25519 key from its 32 raw bytes.
  static Result<PublicKey> FromEd25519(std::span<const uint8_t> raw);
  // FromRsa builds an RSA key from big-endian modulus and exponent; the
  // modulus must have at least 2048 bits.
  static Result<PublicKey> FromRsa(std::span<const uint8_t> n,
                                   std::span<const uint8_t> e);
  // FromEvp takes a reference to an OpenSSL key (e.g. from a certificate).
  static Result<PublicKey> FromEvp(EVP_PKEY* key);

  KeyType type() const { return type_; }
  // bits is the key size (256, 384, 255 for Ed25519, the RSA modulus size).
  int bits() const;

  // SpkiDer returns the DER SubjectPublicKeyInfo.
  Bytes SpkiDer() const;
  // ToPem returns a PEM "PUBLIC KEY" document.
  std::string ToPem() const;

  // EcCoordinates returns x and y padded to the field size (EC keys only).
  Result<std::pair<Bytes, Bytes>> EcCoordinates() const;
  // Ed25519Raw returns the 32-byte public key (Ed25519 only).
  Result<Bytes> Ed25519Raw() const;
  // RsaComponents returns the minimal big-endian n and e (RSA only).
  Result<std::pair<Bytes, Bytes>> RsaComponents() const;

  // Allows is true when `alg` is bound to this key's type.
  bool Allows(SignatureAlgorithm alg) const;

  // Verify checks a JWS signature over `data` with `alg`. kAlgNotAllowed if
  // `alg` does not fit the key, kBadSignature if the signature is wrong or
  // malformed (wrong length, r or s out of range).
  Status Verify(SignatureAlgorithm alg, std::span<const uint8_t> data,
                std::span<const uint8_t> signature) const;

  // evp is the OpenSSL key, borrowed, for calls into OpenSSL.
  EVP_PKEY* evp() const { return key_.get(); }

  // operator== compares the SubjectPublicKeyInfo.
  friend bool operator==(const PublicKey& a, const PublicKey& b);

 private:
  PublicKey(std::shared_ptr<EVP_PKEY> key, KeyType type)
      : key_(std::move(key)), type_(type) {}
  std::shared_ptr<EVP_PKEY> key_;
  KeyType type_;
};

// PrivateKey is a signing key (P-256, P-384 or Ed25519). The key material
// is held by OpenSSL, which wipes it on release; PEM exports are
// SecretBytes. It has no printing or logging support by design. Copies
// share the key; signing is thread-safe.
class PrivateKey {
 public:
  // Generate creates a fresh key from OpenSSL's CSPRNG.
  static Result<PrivateKey> Generate(KeyType type);
  // FromPkcs8Pem parses an unencrypted PKCS#8 "PRIVATE KEY" PEM document
  // (the format written by ToPkcs8Pem). Other key types are kUnsupported.
  static Result<PrivateKey> FromPkcs8Pem(const SecretBytes& pem);

  // ToPkcs8Pem exports the key as an unencrypted PKCS#8 PEM document.
  Result<SecretBytes> ToPkcs8Pem() const;

  KeyType type() const { return public_key_.type(); }
  const PublicKey& public_key() const { return public_key_; }
  // algorithm is the JWS algorithm this key signs with.
  SignatureAlgorithm algorithm() const;

  // Sign signs `data` with the key's algorithm and returns the JWS-form
  // signature.
  Result<Bytes> Sign(std::span<const uint8_t> data) const;

  // evp is the OpenSSL key, borrowed, for calls into OpenSSL.
  EVP_PKEY* evp() const { return key_.get(); }

 private:
  PrivateKey(std::shared_ptr<EVP_PKEY> key, PublicKey pub)
      : key_(std::move(key)), public_key_(std::move(pub)) {}
  std::shared_ptr<EVP_PKEY> key_;
  PublicKey public_key_;
};

}  // namespace aztp

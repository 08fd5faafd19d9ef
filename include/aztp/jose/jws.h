// JWS compact serialization (RFC 7515 §7.1): signing, strict parsing and
// signature verification. No other serialization, no unsecured JWS.
//
// ParseCompact accepts exactly `<header>.<payload>.<signature>` with each
// part unpadded base64url (RFC 7515 §2, §7.1; one encoding per byte string,
// encoding/base64.h), a non-empty header and signature, and a protected
// header that is a strict JSON object (RFC 7515 §4: duplicate members,
// invalid UTF-8 and trailing data are rejected, encoding/json.h) whose `alg`
// (RFC 7515 §4.1.1) names an aztp algorithm (crypto/key.h; "none", HS*,
// and everything else are kAlgNotAllowed). The payload may be empty (RFC
// 7515 §7.1 allows it; profiles built on top reject it). Header rules:
//   * `crit` (RFC 7515 §4.1.11) is kMalformed: aztp understands no
//     extension, so any use of it must be refused.
//   * `b64` (RFC 7797 §3) only takes effect when listed in `crit`, which is
//     refused; it is therefore an ordinary unknown member, ignored like the
//     others, and the payload is always base64url.
//   * Every other member is left to the caller (header()); profiles such as
//     the hop token (protocol §3.1) decide which members they allow.
// No claim is checked here.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "aztp/base/bytes.h"
#include "aztp/base/result.h"
#include "aztp/crypto/key.h"
#include "aztp/encoding/json.h"
#include "aztp/jose/jwk.h"

namespace aztp {

// JwsLimits bounds the work spent on one untrusted compact JWS.
struct JwsLimits {
  std::size_t max_compact_bytes = 8 << 10;  // whole compact text (kTooLarge)
  int max_header_depth = 16;                // JSON nesting in the header
};

class JwsHeaderCache;

// ParsedJws is a compact JWS that passed ParseCompact: the decoded parts,
// plus a private copy of the compact text that signing_input() views.
// The signature is NOT verified yet: pass it to VerifySignature. Copyable
// and movable (views are recomputed from the owned copy).
class ParsedJws {
 public:
  // header is the protected header (RFC 7515 §4), a JSON object.
  const Json& header() const { return *header_; }
  // shared_header is the same header as a shared object: equal pointers
  // mean identical header text (see JwsHeaderCache).
  const std::shared_ptr<const Json>& shared_header() const { return header_; }
  // algorithm is the header's `alg` (RFC 7515 §4.1.1).
  SignatureAlgorithm algorithm() const { return algorithm_; }
  // payload is the decoded JWS payload (RFC 7515 §2).
  const Bytes& payload() const { return payload_; }
  // signature is the decoded JWS signature (RFC 7515 §2).
  const Bytes& signature() const { return signature_; }
  // signing_input is ASCII(BASE64URL(header) || '.' || BASE64URL(payload))
  // (RFC 7515 §5.2 step 8), a view into this object.
  std::string_view signing_input() const {
    return std::string_view(compact_).substr(0, signing_input_size_);
  }
  // compact is the whole compact serialization (RFC 7515 §7.1), a view
  // into this object.
  std::string_view compact() const { return compact_; }

 private:
  friend Result<ParsedJws> ParseCompact(std::string_view, const JwsLimits&,
                                        JwsHeaderCache*);
  ParsedJws() = default;

  std::string compact_;
  std::size_t signing_input_size_ = 0;
  std::shared_ptr<const Json> header_;
  SignatureAlgorithm algorithm_ = SignatureAlgorithm::kES256;
  Bytes payload_;
  Bytes signature_;
};

// JwsHeaderCache remembers protected headers that ParseCompact accepted,
// keyed by their exact base64url text, so that a receiver seeing the same
// signer's header again (hop tokens repeat their `x5c` header) skips
// decoding and parsing it. It changes no result: an entry is the parse of
// exactly that text under the same header depth limit. Keyed by the whole
// text under a per-process keyed hash (base/hash.h), so that no peer can
// crowd one bucket. Bounded (oldest entries go first), O(1) expected per
// lookup or insertion, thread-safe; share one per verifier.
class JwsHeaderCache {
 public:
  explicit JwsHeaderCache(std::size_t capacity = 1024);
  JwsHeaderCache(const JwsHeaderCache&) = delete;
  JwsHeaderCache& operator=(const JwsHeaderCache&) = delete;
  ~JwsHeaderCache();

  std::size_t size() const;
  // largest_bucket is the number of entries in the fullest bucket of the
  // hash table: small whatever headers a peer sends (for tests of the
  // hash's spread; a linear walk over the buckets).
  std::size_t largest_bucket() const;

 private:
  friend Result<ParsedJws> ParseCompact(std::string_view, const JwsLimits&,
                                        JwsHeaderCache*);
  struct Entry {
    std::shared_ptr<const Json> header;
    SignatureAlgorithm algorithm;
    int max_depth;
  };
  struct Impl;
  std::optional<Entry> Find(std::string_view header_b64) const;
  void Insert(std::string_view header_b64, Entry entry);
  std::unique_ptr<Impl> impl_;
};

// SignCompact produces a compact JWS (RFC 7515 §7.1, §5.1) of `payload`
// with `protected_header` serialised as given. It sets or overrides
// nothing: the header must be a JSON object whose `alg` equals the key's
// algorithm name (ES256, ES384 or EdDSA) and without `crit`; otherwise
// kInvalidArgument.
Result<std::string> SignCompact(const Json& protected_header,
                                std::span<const uint8_t> payload,
                                const PrivateKey& key);

// ParseCompact parses an untrusted compact JWS (RFC 7515 §5.2 steps 1-7)
// under `limits`. Errors: kTooLarge, kMalformed, kAlgNotAllowed.
Result<ParsedJws> ParseCompact(std::string_view compact,
                               const JwsLimits& limits = {},
                               JwsHeaderCache* cache = nullptr);

// VerifySignature checks the signature of `jws` with `key` (RFC 7515 §5.2
// step 8) using the header's algorithm; PublicKey::Verify binds the
// algorithm to the key type (kAlgNotAllowed on mismatch). kBadSignature if
// it does not verify.
Status VerifySignature(const ParsedJws& jws, const PublicKey& key);

// VerifySignature with a JWK additionally requires that the JWK permits
// verification with the header's algorithm (Jwk::CheckVerificationUse,
// RFC 7517 §4.2-4.4) before checking the signature.
Status VerifySignature(const ParsedJws& jws, const Jwk& key);

}  // namespace aztp

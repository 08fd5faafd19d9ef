// Hop tokens and the Aztp-Chain header (docs/protocol.md §5): the syntax
// of one token (step 2 of §6) and the splitting or unwrapping of a chain
// (step 1). Nothing here checks a signature; the chain verifier does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/chain/capability.h"
#include "aztp/chain/constraints.h"
#include "aztp/chain/person.h"
#include "aztp/crypto/digest.h"
#include "aztp/crypto/key.h"
#include "aztp/encoding/json.h"
#include "aztp/jose/jws.h"
#include "aztp/spiffeid/spiffe_id.h"

namespace aztp {

// kHopTokenType is the required JWS `typ` of a hop token.
inline constexpr std::string_view kHopTokenType = "aztp+jwt";

// IsHopTokenAlgorithm is true for the algorithms a hop token may be signed
// with: ES256, ES384 and EdDSA (§5.1). JOSE in general also verifies RS256
// and PS256 (§4.3, for OIDC); a hop token never uses them.
bool IsHopTokenAlgorithm(SignatureAlgorithm alg);

// ChainEncoding is how the tokens of a chain travel (§5.3).
enum class ChainEncoding {
  kLinked,  // all tokens, root first, separated by ','; `prv` links them
  kNested,  // the outermost token only; each embeds its predecessor in `obo`
};

// EncodingName returns "linked" or "nested".
std::string_view EncodingName(ChainEncoding encoding);
// ParseEncoding accepts "linked" or "nested" (kInvalidArgument otherwise).
Result<ChainEncoding> ParseEncoding(std::string_view name);

// ChainLimits bounds the work of parsing and verifying one chain (§5.4).
struct ChainLimits {
  int max_tokens = 16;
  std::size_t max_token_bytes = 8 << 10;
  std::size_t max_chain_bytes = 64 << 10;
  int64_t max_lifetime_seconds = 3600;
};

// RequestBinding is the `req` claim: the HTTP request the outermost token
// was made for (§5.2).
struct RequestBinding {
  std::string method;        // `htm`, e.g. "POST"
  std::string uri;           // `htu`, compared byte for byte
  Sha256Digest body_sha256;  // `bh` decoded

  // For builds a binding from a request's method, URI and body.
  static RequestBinding For(std::string method, std::string uri,
                            std::span<const uint8_t> body);
  friend bool operator==(const RequestBinding&,
                         const RequestBinding&) = default;
};

// HopClaims are the payload claims of one hop token (§5.2).
struct HopClaims {
  SpiffeId iss;
  std::string sub;  // a SPIFFE ID or "oidc:<issuer>#<subject>"
  SpiffeId aud;
  UnixTime iat = 0;
  UnixTime exp = 0;
  std::optional<UnixTime> nbf;
  std::string jti;
  std::string txn;
  int dep = 0;
  int max = 0;
  CapabilitySet cap;
  std::optional<Constraints> cns;
  std::optional<std::string> prv;  // base64url SHA-256 of the previous token
  std::optional<std::string> obo;  // the previous token (nested encoding)
  std::optional<RequestBinding> req;
  std::optional<ChainEncoding> enc;  // root only: the chain's encoding
  // prs: root only, with a person's `sub`: what its control plane vouches
  // for of the person (person.h).
  std::optional<PersonClaims> prs;

  // ToJson renders the claims in their canonical order.
  Json ToJson() const;
};

// HopToken is one token that passed the syntax rules of §6 step 2: a
// compact JWS whose header is exactly {alg, typ, x5c} and whose claims are
// exactly those of §5.2 with the right types. It is NOT verified.
class HopToken {
 public:
  // Parse checks the syntax of one compact token of at most `max_bytes`.
  // `cache`, when given, is consulted for the protected header.
  static Result<HopToken> Parse(std::string_view compact, std::size_t max_bytes,
                                JwsHeaderCache* cache = nullptr);

  const ParsedJws& jws() const { return jws_; }
  std::string_view compact() const { return jws_.compact(); }
  SignatureAlgorithm algorithm() const { return jws_.algorithm(); }
  // x5c is the header's certificate chain as sent (standard base64 DER).
  const std::vector<std::string>& x5c() const { return x5c_; }
  const HopClaims& claims() const { return claims_; }

 private:
  HopToken(ParsedJws jws, std::vector<std::string> x5c, HopClaims claims)
      : jws_(std::move(jws)),
        x5c_(std::move(x5c)),
        claims_(std::move(claims)) {}
  ParsedJws jws_;
  std::vector<std::string> x5c_;
  HopClaims claims_;
};

// ParsedChain is a chain split into its tokens, root first, unverified.
struct ParsedChain {
  ChainEncoding encoding = ChainEncoding::kLinked;
  std::vector<HopToken> tokens;
};

// ParseChainInsecure applies steps 1 and 2 of §6 to an Aztp-Chain header
// value: size and count limits, splitting (linked) or unwrapping `obo`
// (nested), and the syntax of every token. Errors carry the index of the
// failing token (Error::hop). "Insecure": nothing is verified.
Result<ParsedChain> ParseChainInsecure(std::string_view header,
                                       const ChainLimits& limits,
                                       JwsHeaderCache* cache = nullptr);

// CheckRootSubject is the rule of §5.3 for a root token's `sub`: it is the
// signer's own SPIFFE ID, or a person (oidc:<issuer>#<subject>) when the
// signer is its trust domain's control plane (spiffe://<td>/aztpd, which
// vouches for people after an OpenID Connect login). Anything else is
// kUnvouchedSubject. `sub` has passed the syntax of §5.2.
Status CheckRootSubject(const SpiffeId& signer, std::string_view sub);

// TokenDigest is base64url(SHA-256(compact)), the value of `prv`.
std::string TokenDigest(std::string_view compact);

}  // namespace aztp

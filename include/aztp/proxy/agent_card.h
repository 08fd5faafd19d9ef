// A2A Agent Cards signed with the agent's X.509-SVID (docs/a2a.md). An A2A
// agent describes itself in a card at /.well-known/agent-card.json; A2A
// v1.0 (§8.4, "Agent Card Signing") lets the card carry JWS signatures:
// `signatures[]` of {protected, signature}, detached, over the RFC 8785
// (JCS) canonical JSON of the card without `signatures`, the protected
// header holding `alg`, `kid` and `typ` ("JOSE"). aztp-proxy serves the
// card of the agent behind it signed this way, with the SVID's chain in
// the protected header (`x5c`), so that a caller can check that the card
// belongs to the SPIFFE ID it is talking to: VerifyAgentCard.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/bundle/bundle.h"
#include "aztp/chain/builder.h"
#include "aztp/encoding/json.h"
#include "aztp/spiffeid/spiffe_id.h"

namespace aztp {

inline constexpr std::string_view kAgentCardPath =
    "/.well-known/agent-card.json";
inline constexpr std::size_t kMaxAgentCardBytes = 64 << 10;

// ParseAgentCard reads a card as an operator writes it: strict JSON, an
// object of at most kMaxAgentCardBytes with a non-empty string `name` and
// no `signatures` (the proxy signs it), holding nothing a verifier's
// canonical form would drop or change: no null, empty string, empty array
// or empty object at any depth (A2A's SDKs strip those before they check a
// signature), and no number but integers of magnitude at most 2^53.
// kMalformed for bad JSON, kInvalidArgument naming the member otherwise.
Result<Json> ParseAgentCard(std::string_view text);

// CanonicalAgentCard is the signed payload: the JCS form (RFC 8785: keys
// sorted by UTF-16 code units, no whitespace, minimal string escapes) of
// `card` without `signatures`. kInvalidArgument for a number JCS would
// write differently from aztp (anything but an integer within 2^53).
Result<std::string> CanonicalAgentCard(const Json& card);

// SignAgentCard returns `card` with `signatures` holding one signature by
// `signer` (any earlier ones are replaced): the protected header is
// {alg, kid, typ: "JOSE", x5c}, kid being the RFC 7638 thumbprint of the
// SVID's key.
Result<Json> SignAgentCard(const Json& card, const HopSigner& signer);

// VerifiedAgentCard is a card that passed VerifyAgentCard. Only the
// verifier constructs it.
class VerifiedAgentCard {
 public:
  const SpiffeId& id() const { return id_; }
  const Json& card() const { return card_; }

 private:
  friend Result<VerifiedAgentCard> VerifyAgentCard(const Json&, const SpiffeId&,
                                                   const BundleSource&,
                                                   UnixTime);
  VerifiedAgentCard(SpiffeId id, Json card)
      : id_(std::move(id)), card_(std::move(card)) {}
  SpiffeId id_;
  Json card_;
};

// VerifyAgentCard checks that a signature of `card` (at most 8 are tried)
// is by an X.509-SVID of `expected`: the protected header's `x5c` verifies
// as an SVID under `bundles` at `now`, names `expected`
// (kPermissionDenied otherwise), and its key verifies the signature over
// CanonicalAgentCard(card) with the header's `alg` (kBadSignature).
// kMalformed when the card has no usable signature.
Result<VerifiedAgentCard> VerifyAgentCard(const Json& card,
                                          const SpiffeId& expected,
                                          const BundleSource& bundles,
                                          UnixTime now);

}  // namespace aztp

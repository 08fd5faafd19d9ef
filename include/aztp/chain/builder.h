// Minting and extending chains (docs/protocol.md §5): a hop signs its token
// with its own X.509-SVID key and carries its SVID chain in `x5c`.
// Extension never widens: every requested capability, constraint, depth and
// expiry is checked against the received, verified chain before signing,
// and a request to widen is an error with the reason the verifier would
// give, never a silent clamp.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/chain/capability.h"
#include "aztp/chain/constraints.h"
#include "aztp/chain/hop_token.h"
#include "aztp/chain/verifier.h"
#include "aztp/crypto/key.h"
#include "aztp/svid/svid_dir.h"
#include "aztp/x509/certificate.h"

namespace aztp {

// HopSigner is a hop's identity for signing: its SPIFFE ID, X.509-SVID
// chain (leaf first) and private key. Copyable; thread-safe.
class HopSigner {
 public:
  // Create checks that `chain` is an X.509-SVID whose leaf holds `key`, a
  // key that hop tokens may be signed with (P-256, P-384 or Ed25519: an
  // RSA leaf is kUnsupported, protocol §5.1).
  static Result<HopSigner> Create(std::vector<Certificate> chain,
                                  PrivateKey key);
  // FromSvidDir uses an identity folder, which must hold the key.
  static Result<HopSigner> FromSvidDir(const SvidDir& dir);

  const SpiffeId& id() const { return id_; }
  const std::vector<Certificate>& chain() const { return chain_; }
  const PrivateKey& key() const { return key_; }
  // not_after is the leaf's expiry; no token may outlive it.
  UnixTime not_after() const { return chain_.front().not_after(); }

  // Sign signs `claims` as a hop token (header alg, typ, x5c).
  Result<std::string> Sign(const HopClaims& claims) const;

 private:
  HopSigner(SpiffeId id, std::vector<Certificate> chain, PrivateKey key,
            Json header)
      : id_(std::move(id)),
        chain_(std::move(chain)),
        key_(std::move(key)),
        header_(std::move(header)) {}
  SpiffeId id_;
  std::vector<Certificate> chain_;
  PrivateKey key_;
  Json header_;
};

// MintOptions describe a root token.
struct MintOptions {
  std::optional<SpiffeId> audience;  // required: the first receiving hop
  CapabilitySet capabilities;        // granted to the audience
  // subject: the principal; defaults to the signer's own SPIFFE ID. Any
  // other is a person (oidc:<issuer>#<subject>), for a control plane's
  // signer only (§5.3).
  std::optional<std::string> subject;
  // person: the person's claims (`prs`), with a person's subject only.
  std::optional<PersonClaims> person;
  int64_t ttl_seconds = 300;
  // max_depth: the largest index any token may have (default: limits - 1).
  std::optional<int> max_depth;
  std::optional<Constraints> constraints;
  // txn: the transaction ID; 128 random bits when absent.
  std::optional<std::string> txn;
  ChainEncoding encoding = ChainEncoding::kLinked;
  std::optional<RequestBinding> request;
  ChainLimits limits;
};

// MintChain signs a root token and returns the Aztp-Chain header value.
Result<std::string> MintChain(const HopSigner& signer,
                              const MintOptions& options, UnixTime now);

// ExtendOptions describe the token a hop appends.
struct ExtendOptions {
  std::optional<SpiffeId> audience;  // required: the next hop
  // capabilities: default the received ones; must be covered by them.
  std::optional<CapabilitySet> capabilities;
  // ttl_seconds: default up to the received expiry; must not pass it.
  std::optional<int64_t> ttl_seconds;
  // max_depth: default the received one; must not exceed it.
  std::optional<int> max_depth;
  // constraints: members to add or narrow; received ones are kept.
  std::optional<Constraints> constraints;
  std::optional<RequestBinding> request;
  ChainLimits limits;
};

// ExtendChain appends a token signed by `signer`, which must be the
// verified chain's audience, in the chain's own encoding, and returns the
// new header value.
Result<std::string> ExtendChain(const VerifiedChain& received,
                                const HopSigner& signer,
                                const ExtendOptions& options, UnixTime now);

}  // namespace aztp

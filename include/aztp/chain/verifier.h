// ChainVerifier: verification of an Aztp-Chain at the hop that receives it
// (docs/protocol.md §6), and VerifiedChain, its only successful result.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/bundle/bundle.h"
#include "aztp/chain/capability.h"
#include "aztp/chain/constraints.h"
#include "aztp/chain/hop_token.h"
#include "aztp/replay/replay_store.h"
#include "aztp/revocation/revocation_list.h"
#include "aztp/spiffeid/spiffe_id.h"

namespace aztp {

namespace internal {
class CertCache;
}

// kMaxSkewSeconds caps the configurable clock skew (§5.4).
inline constexpr int64_t kMaxSkewSeconds = 300;

// kAnyPersonIssuer in ChainVerifierOptions::person_issuers believes a
// domain's control plane for people of any issuer.
inline constexpr std::string_view kAnyPersonIssuer = "*";

// PersonIssuerMap is ChainVerifierOptions::person_issuers' type.
using PersonIssuerMap =
    std::map<std::string, std::vector<std::string>, std::less<>>;

// CheckPersonIssuers accepts a person_issuers map: keys are trust domain
// names, each entry is kAnyPersonIssuer or an issuer as PersonSubject takes
// it; at most 256 domains of at most 64 issuers each. kInvalidArgument
// names the offending key or entry.
Status CheckPersonIssuers(const PersonIssuerMap& issuers);

// ChainVerifierOptions configure a verifier once.
struct ChainVerifierOptions {
  // audience is R, the verifying hop's own SPIFFE ID.
  std::optional<SpiffeId> audience;
  // bundles finds each trust domain's bundle (own and federated). Required.
  std::shared_ptr<const BundleSource> bundles;
  ChainLimits limits;
  int64_t skew_seconds = 30;
  // clock defaults to the system clock.
  const Clock* clock = nullptr;
  // replay, when set, enforces step 7; without it, replays are not detected.
  std::shared_ptr<ReplayStore> replay;
  // revocations, when set, enforces step 8.
  std::shared_ptr<const RevocationSource> revocations;
  // require_request_binding: the outermost token must carry `req` and it
  // must match the request given to Verify.
  bool require_request_binding = false;
  // person_issuers lists, per trust domain name, the OpenID issuers whose
  // people that domain's control plane may start chains for at this hop
  // (§5.3); the entry kAnyPersonIssuer ("*") stands for every issuer that
  // control plane accepts. A domain not listed: the verifier's own (the
  // audience's) vouches for any issuer, any other domain for none.
  PersonIssuerMap person_issuers;
  // cert_cache_entries bounds the verified-certificate cache and the
  // parsed-header cache (0 disables both).
  std::size_t cert_cache_entries = 4096;
};

// VerifyContext is what the receiving hop knows about one request.
struct VerifyContext {
  // peer is the mTLS peer's SPIFFE ID (binds the chain to the connection).
  std::optional<SpiffeId> peer;
  // request is the HTTP request, for `req` binding.
  std::optional<RequestBinding> request;
};

// VerifiedChain is a chain that passed every step of §6. Only
// ChainVerifier constructs one. Copyable.
class VerifiedChain {
 public:
  // subject is `sub`: on whose behalf the whole chain acts.
  const std::string& subject() const { return subject_; }
  // person is the root's `prs`: what the control plane that started the
  // chain vouches for of the person it acts for (§5.2, §5.3); nullopt for
  // a chain that acts for an agent, or a person without such claims.
  const std::optional<PersonClaims>& person() const { return person_; }
  const std::string& txn() const { return txn_; }
  // path is [iss_0, ..., iss_n, R].
  const std::vector<SpiffeId>& path() const { return path_; }
  // caller is iss_n, the hop that sent the chain.
  const SpiffeId& caller() const { return path_[path_.size() - 2]; }
  // capabilities are the outermost token's (the effective ones).
  const CapabilitySet& capabilities() const { return capabilities_; }
  // constraints are the outermost token's, the tightest of the chain.
  const Constraints& constraints() const { return constraints_; }
  // expires_at is the earliest `exp` of the chain.
  UnixTime expires_at() const { return expires_at_; }
  // depth is `dep` of the outermost token (0 for a root alone).
  int depth() const { return depth_; }
  // max_depth is `max` of the outermost token.
  int max_depth() const { return max_depth_; }
  ChainEncoding encoding() const { return encoding_; }
  // tokens are the compact tokens, root first.
  const std::vector<std::string>& tokens() const { return tokens_; }
  // outermost_claims are the claims of token n.
  const HopClaims& outermost_claims() const { return outermost_; }

 private:
  friend class ChainVerifier;
  explicit VerifiedChain(HopClaims outermost)
      : outermost_(std::move(outermost)) {}
  std::string subject_;
  std::optional<PersonClaims> person_;
  std::string txn_;
  std::vector<SpiffeId> path_;
  CapabilitySet capabilities_;
  Constraints constraints_;
  UnixTime expires_at_ = 0;
  int depth_ = 0;
  int max_depth_ = 0;
  ChainEncoding encoding_ = ChainEncoding::kLinked;
  std::vector<std::string> tokens_;
  HopClaims outermost_;
};

// ChainVerifier performs the steps of §6 in order and stops at the first
// failure, returning an Error with the §7 reason and, where a token is at
// fault, its index (Error::hop). Configure once, then call Verify from any
// number of threads.
class ChainVerifier {
 public:
  // Create checks the options: audience and bundles set, skew within
  // [0, kMaxSkewSeconds], limits positive, person_issuers well formed.
  static Result<std::unique_ptr<ChainVerifier>> Create(
      ChainVerifierOptions options);
  ~ChainVerifier();

  // Verify checks the Aztp-Chain header value `header`.
  Result<VerifiedChain> Verify(std::string_view header,
                               const VerifyContext& context = {}) const;

  const ChainVerifierOptions& options() const { return options_; }
  // cached_certificates is the number of entries in the certificate cache.
  std::size_t cached_certificates() const;

 private:
  explicit ChainVerifier(ChainVerifierOptions options);

  // The steps of §6 after steps 1-2 (ParseChainInsecure), one method each,
  // in the order Verify runs them. Each fails with the §7 reason and the
  // index of the token at fault.
  // Step 3: hop `i`'s SVID, issuer, key and signature; returns the serial
  // of the SVID's leaf certificate, for step 8.
  Result<std::string> VerifyHopSignature(const HopToken& token, std::size_t i,
                                         UnixTime now) const;
  // Step 3f: the root's subject is its signer, or a person the signer
  // vouches for as the control plane of its trust domain (§5.3).
  Status CheckRootSubject(const HopClaims& root) const;
  // Step 4: iat, nbf, exp and the lifetime of every token.
  Status CheckTimes(const std::vector<HopToken>& tokens, UnixTime now) const;
  // Step 5: dep, max, jti and the link of every token to the one before.
  Status CheckLinks(const ParsedChain& chain) const;
  // Step 6: the outermost token is for this hop, from the TLS peer, for
  // this request.
  Status CheckOutermost(const HopClaims& outer, std::size_t hop,
                        const VerifyContext& ctx) const;
  // Step 7: the outermost token was not seen before.
  Status CheckReplay(const HopClaims& outer, std::size_t hop,
                     UnixTime now) const;
  // Step 8: no hop's identity, token or certificate is revoked.
  Status CheckRevocations(const std::vector<HopToken>& tokens,
                          const std::vector<std::string>& serials) const;
  // What the caller gets once every step passed.
  VerifiedChain Verified(const ParsedChain& chain) const;

  ChainVerifierOptions options_;
  std::unique_ptr<internal::CertCache> cache_;
  std::unique_ptr<JwsHeaderCache> header_cache_;
};

}  // namespace aztp

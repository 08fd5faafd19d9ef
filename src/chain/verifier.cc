#include "aztp/chain/verifier.h"

#include <algorithm>
#include <set>

#include "aztp/chain/person.h"
#include "aztp/encoding/base64.h"
#include "aztp/svid/x509_svid.h"
#include "chain/cert_cache.h"

namespace aztp {

namespace {

Error Fail(Code code, std::string message, std::size_t hop) {
  return Error(code, std::move(message)).WithHop(static_cast<int>(hop));
}

// OneBundle serves a single trust domain's bundle: a token's SVID must chain
// to the authorities of its `iss` trust domain and no other.
class OneBundle final : public BundleSource {
 public:
  explicit OneBundle(std::shared_ptr<const Bundle> bundle)
      : bundle_(std::move(bundle)) {}
  std::shared_ptr<const Bundle> GetBundle(
      const TrustDomain& td) const override {
    return td == bundle_->trust_domain() ? bundle_ : nullptr;
  }

 private:
  std::shared_ptr<const Bundle> bundle_;
};

// VerifyX5c decodes and verifies a token's x5c chain against `bundle`.
Result<std::shared_ptr<const internal::CachedSvid>> VerifyX5c(
    const HopToken& token, std::shared_ptr<const Bundle> bundle, UnixTime now) {
  const std::vector<std::string>& x5c = token.x5c();
  std::vector<Certificate> certs;
  certs.reserve(x5c.size());
  for (const auto& b64 : x5c) {
    auto der = Base64Decode(b64);
    if (!der) return der.error().WithContext("x5c");
    auto cert = Certificate::FromDer(*der);
    if (!cert) return cert.error().WithContext("x5c");
    certs.push_back(std::move(*cert));
  }
  OneBundle source(bundle);
  auto svid = VerifyX509Svid(certs, source, now);
  if (!svid) {
    return Error(Code::kSvidInvalid, "x5c: " + svid.error().message());
  }
  UnixTime not_before = 0;
  for (const auto& cert : certs) {
    not_before = std::max(not_before, cert.not_before());
  }
  return std::make_shared<const internal::CachedSvid>(internal::CachedSvid{
      token.jws().shared_header(), std::move(bundle), svid->id(),
      svid->leaf().public_key(), svid->leaf().serial_hex(), not_before,
      svid->expires_at()});
}

// CheckLink is step 5 for token `i` and the token before it: the two are
// linked (prv or obo), iss follows aud, and sub, txn, max, iat, exp and the
// capabilities never move the wrong way.
Status CheckLink(ChainEncoding encoding, const HopToken& previous,
                 const HopToken& token, std::size_t i, int64_t skew) {
  const HopClaims& p = previous.claims();
  const HopClaims& c = token.claims();
  if (encoding == ChainEncoding::kLinked) {
    if (!c.prv || *c.prv != TokenDigest(previous.compact())) {
      return Fail(Code::kBrokenLink, "prv does not match the previous token",
                  i);
    }
  } else if (!c.obo || *c.obo != previous.compact()) {
    return Fail(Code::kBrokenLink, "obo does not hold the previous token", i);
  }
  if (!(c.iss == p.aud)) {
    return Fail(Code::kBrokenLink, "iss is not the previous token's aud", i);
  }
  if (c.sub != p.sub) {
    return Fail(Code::kSubjectMismatch, "sub differs from the root's", i);
  }
  if (c.txn != p.txn) {
    return Fail(Code::kBrokenLink, "txn differs from the root's", i);
  }
  if (c.max > p.max) {
    return Fail(Code::kDepthExceeded, "max exceeds the previous token's", i);
  }
  if (c.iat < p.iat - skew) {
    return Fail(Code::kBrokenLink, "iat precedes the previous token's", i);
  }
  if (c.exp > p.exp) {
    return Fail(Code::kLifetimeExceeded,
                "exp is later than the previous token's", i);
  }
  if (auto wider = p.cap.FirstUncovered(c.cap)) {
    return Fail(Code::kCapabilityEscalation,
                "capability " + wider->str() + " is not granted by hop " +
                    std::to_string(i - 1),
                i);
  }
  return Ok();
}

// CheckConstraintsKept is the rest of step 5 for token `i`: every earlier
// hop's constraints permit this hop, and this hop carries them on, at
// most narrowed.
Status CheckConstraintsKept(const std::vector<HopToken>& tokens,
                            std::size_t i) {
  const HopClaims& c = tokens[i].claims();
  for (std::size_t j = 0; j < i; ++j) {
    const auto& earlier = tokens[j].claims().cns;
    if (!earlier) continue;
    auto permits = earlier->Permits(c.iss, c.aud);
    if (!permits) {
      return std::move(permits).error().WithHop(static_cast<int>(i));
    }
    if (!c.cns) {
      return Fail(Code::kConstraintViolation,
                  "constraints of hop " + std::to_string(j) + " dropped", i);
    }
    auto narrowing = earlier->CheckNarrowing(*c.cns);
    if (!narrowing) {
      return std::move(narrowing).error().WithHop(static_cast<int>(i));
    }
  }
  return Ok();
}

}  // namespace

Status CheckPersonIssuers(const PersonIssuerMap& issuers) {
  constexpr std::size_t kMaxDomains = 256, kMaxIssuers = 64;
  if (issuers.size() > kMaxDomains) {
    return Error(Code::kInvalidArgument,
                 "person issuers: at most 256 trust domains");
  }
  for (const auto& [td, list] : issuers) {
    // The bare name, as the lookup compares it: TrustDomain::Parse would
    // also take spiffe://<td>, an entry that would then never match.
    auto name = TrustDomain::Parse(td);
    if (!name || name->name() != td) {
      return Error(Code::kInvalidArgument, "person issuers: " + QuoteInput(td) +
                                               " is not a trust domain name");
    }
    if (list.size() > kMaxIssuers) {
      return Error(Code::kInvalidArgument,
                   "person issuers of " + td + ": at most 64");
    }
    for (const std::string& issuer : list) {
      if (issuer == kAnyPersonIssuer) continue;
      if (!ValidPersonIssuer(issuer)) {
        return Error(Code::kInvalidArgument,
                     "person issuers of " + td + ": " + QuoteInput(issuer) +
                         " is no issuer (printable ASCII without spaces or "
                         "'#')");
      }
    }
  }
  return Ok();
}

ChainVerifier::ChainVerifier(ChainVerifierOptions options)
    : options_(std::move(options)) {
  if (options_.cert_cache_entries > 0) {
    cache_ = std::make_unique<internal::CertCache>(options_.cert_cache_entries);
    header_cache_ =
        std::make_unique<JwsHeaderCache>(options_.cert_cache_entries);
  }
}

ChainVerifier::~ChainVerifier() = default;

Result<std::unique_ptr<ChainVerifier>> ChainVerifier::Create(
    ChainVerifierOptions options) {
  if (!options.audience) {
    return Error(Code::kInvalidArgument, "verifier: audience is required");
  }
  if (!options.bundles) {
    return Error(Code::kInvalidArgument, "verifier: bundles are required");
  }
  if (options.skew_seconds < 0 || options.skew_seconds > kMaxSkewSeconds) {
    return Error(Code::kInvalidArgument,
                 "verifier: skew must be between 0 and 300 seconds");
  }
  const ChainLimits& l = options.limits;
  if (l.max_tokens < 1 || l.max_token_bytes < 1 || l.max_chain_bytes < 1 ||
      l.max_lifetime_seconds < 1) {
    return Error(Code::kInvalidArgument, "verifier: limits must be positive");
  }
  AZTP_RETURN_IF_ERROR(CheckPersonIssuers(options.person_issuers));
  if (options.clock == nullptr) options.clock = &SystemClock::Default();
  return std::unique_ptr<ChainVerifier>(new ChainVerifier(std::move(options)));
}

std::size_t ChainVerifier::cached_certificates() const {
  return cache_ ? cache_->size() : 0;
}

Result<VerifiedChain> ChainVerifier::Verify(std::string_view header,
                                            const VerifyContext& ctx) const {
  const UnixTime now = options_.clock->Now();
  // Steps 1-2: limits, splitting or unwrapping, syntax of every token.
  AZTP_ASSIGN_OR_RETURN(
      ParsedChain chain,
      ParseChainInsecure(header, options_.limits, header_cache_.get()));
  const std::vector<HopToken>& tokens = chain.tokens;
  std::vector<std::string> serials(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    AZTP_ASSIGN_OR_RETURN(serials[i], VerifyHopSignature(tokens[i], i, now));
  }
  AZTP_RETURN_IF_ERROR(CheckRootSubject(tokens[0].claims()));
  AZTP_RETURN_IF_ERROR(CheckTimes(tokens, now));
  AZTP_RETURN_IF_ERROR(CheckLinks(chain));
  const std::size_t last = tokens.size() - 1;
  const HopClaims& outer = tokens[last].claims();
  AZTP_RETURN_IF_ERROR(CheckOutermost(outer, last, ctx));
  AZTP_RETURN_IF_ERROR(CheckReplay(outer, last, now));
  AZTP_RETURN_IF_ERROR(CheckRevocations(tokens, serials));
  return Verified(chain);
}

Status ChainVerifier::CheckRootSubject(const HopClaims& root) const {
  if (auto rule = aztp::CheckRootSubject(root.iss, root.sub); !rule) {
    return rule.error().WithHop(0);
  }
  const std::optional<std::string_view> issuer = PersonIssuer(root.sub);
  if (!issuer) return Ok();
  // §5.3: the verifier's own domain vouches for any issuer unless narrowed;
  // a foreign domain only for the issuers listed for it.
  const TrustDomain& td = root.iss.trust_domain();
  auto listed = options_.person_issuers.find(td.name());
  const bool believed =
      listed == options_.person_issuers.end()
          ? td == options_.audience->trust_domain()
          : std::any_of(listed->second.begin(), listed->second.end(),
                        [&](const std::string& allowed) {
                          return allowed == kAnyPersonIssuer ||
                                 allowed == *issuer;
                        });
  if (believed) return Ok();
  return Fail(Code::kUnvouchedSubject,
              td.name() + " is not trusted here to vouch for people of " +
                  QuoteInput(*issuer),
              0);
}

Result<std::string> ChainVerifier::VerifyHopSignature(const HopToken& t,
                                                      std::size_t i,
                                                      UnixTime now) const {
  const HopClaims& c = t.claims();
  auto bundle = options_.bundles->GetBundle(c.iss.trust_domain());
  if (!bundle || bundle->x509_authorities().empty()) {
    return Fail(
        Code::kUntrustedTrustDomain,
        "no X.509 authorities for trust domain " + c.iss.trust_domain().name(),
        i);
  }
  std::shared_ptr<const internal::CachedSvid> svid;
  if (cache_) svid = cache_->Find(&t.jws().header(), bundle.get(), now);
  if (!svid) {
    auto verified = VerifyX5c(t, bundle, now);
    if (!verified) return verified.error().WithHop(static_cast<int>(i));
    svid = std::move(*verified);
    if (cache_) cache_->Insert(svid);
  }
  if (!(svid->id == c.iss)) {
    return Fail(
        Code::kIssuerMismatch,
        "iss " + c.iss.str() + " is not the SVID's ID " + svid->id.str(), i);
  }
  if (c.exp > svid->not_after) {
    return Fail(Code::kLifetimeExceeded, "token outlives its SVID", i);
  }
  auto sig = VerifySignature(t.jws(), svid->key);
  if (!sig) return std::move(sig).error().WithHop(static_cast<int>(i));
  return svid->leaf_serial;
}

Status ChainVerifier::CheckTimes(const std::vector<HopToken>& tokens,
                                 UnixTime now) const {
  const int64_t skew = options_.skew_seconds;
  const int64_t max_lifetime = options_.limits.max_lifetime_seconds;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const HopClaims& c = tokens[i].claims();
    if (c.iat - skew > now) {
      return Fail(Code::kNotYetValid, "iat is in the future", i);
    }
    if (c.nbf && *c.nbf - skew > now) {
      return Fail(Code::kNotYetValid, "nbf is in the future", i);
    }
    if (now >= c.exp + skew) return Fail(Code::kExpired, "token expired", i);
    if (c.exp - c.iat > max_lifetime) {
      return Fail(
          Code::kLifetimeExceeded,
          "lifetime exceeds " + std::to_string(max_lifetime) + " seconds", i);
    }
  }
  return Ok();
}

Status ChainVerifier::CheckLinks(const ParsedChain& chain) const {
  const std::vector<HopToken>& tokens = chain.tokens;
  std::set<std::string_view> jtis;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const HopClaims& c = tokens[i].claims();
    if (c.dep != static_cast<int>(i)) {
      return Fail(
          Code::kBrokenLink,
          "dep is " + std::to_string(c.dep) + ", expected " + std::to_string(i),
          i);
    }
    if (c.dep > c.max) {
      return Fail(Code::kDepthExceeded, "dep exceeds max", i);
    }
    if (!jtis.insert(c.jti).second) {
      return Fail(Code::kBrokenLink, "a jti appears twice in the chain", i);
    }
    if (i == 0) continue;
    AZTP_RETURN_IF_ERROR(CheckLink(chain.encoding, tokens[i - 1], tokens[i], i,
                                   options_.skew_seconds));
    AZTP_RETURN_IF_ERROR(CheckConstraintsKept(tokens, i));
  }
  return Ok();
}

Status ChainVerifier::CheckOutermost(const HopClaims& outer, std::size_t hop,
                                     const VerifyContext& ctx) const {
  if (!(outer.aud == *options_.audience)) {
    return Fail(Code::kAudienceMismatch,
                "aud is " + outer.aud.str() + ", not this hop", hop);
  }
  if (ctx.peer && !(outer.iss == *ctx.peer)) {
    return Fail(
        Code::kPeerMismatch,
        "iss " + outer.iss.str() + " is not the TLS peer " + ctx.peer->str(),
        hop);
  }
  if (!options_.require_request_binding && !(outer.req && ctx.request)) {
    return Ok();
  }
  if (!outer.req) {
    return Fail(Code::kRequestMismatch, "token is not bound to a request", hop);
  }
  if (!ctx.request) {
    return Fail(Code::kRequestMismatch, "no request to check the binding", hop);
  }
  if (!(*outer.req == *ctx.request)) {
    return Fail(Code::kRequestMismatch, "token is bound to another request",
                hop);
  }
  return Ok();
}

Status ChainVerifier::CheckReplay(const HopClaims& outer, std::size_t hop,
                                  UnixTime now) const {
  if (!options_.replay) return Ok();
  auto fresh = options_.replay->CheckAndRemember(
      outer.iss.str(), outer.jti, outer.exp + options_.skew_seconds, now);
  if (!fresh) return std::move(fresh).error().WithHop(static_cast<int>(hop));
  return Ok();
}

// Each hop against the list of its `iss`'s trust domain only
// (docs/protocol.md §6 step 8): a federated domain's list never revokes
// another domain's.
Status ChainVerifier::CheckRevocations(
    const std::vector<HopToken>& tokens,
    const std::vector<std::string>& serials) const {
  if (!options_.revocations) return Ok();
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const HopClaims& c = tokens[i].claims();
    auto list = options_.revocations->ForDomain(c.iss.trust_domain());
    if (!list) continue;
    if (list->IsRevokedId(c.iss)) {
      return Fail(Code::kRevoked, c.iss.str() + " is revoked", i);
    }
    if (list->IsRevokedJti(c.jti)) {
      return Fail(Code::kRevoked, "token " + c.jti + " is revoked", i);
    }
    if (list->IsRevokedSerial(serials[i])) {
      return Fail(Code::kRevoked, "certificate " + serials[i] + " is revoked",
                  i);
    }
  }
  return Ok();
}

VerifiedChain ChainVerifier::Verified(const ParsedChain& chain) const {
  const std::vector<HopToken>& tokens = chain.tokens;
  const HopClaims& outer = tokens.back().claims();
  VerifiedChain out(outer);
  out.subject_ = outer.sub;
  out.person_ = tokens.front().claims().prs;
  out.txn_ = outer.txn;
  out.path_.reserve(tokens.size() + 1);
  out.tokens_.reserve(tokens.size());
  UnixTime expires_at = outer.exp;
  for (const auto& t : tokens) {
    out.path_.push_back(t.claims().iss);
    out.tokens_.emplace_back(t.compact());
    expires_at = std::min(expires_at, t.claims().exp);
  }
  out.path_.push_back(*options_.audience);
  out.capabilities_ = outer.cap;
  if (outer.cns) out.constraints_ = *outer.cns;
  out.expires_at_ = expires_at;
  out.depth_ = outer.dep;
  out.max_depth_ = outer.max;
  out.encoding_ = chain.encoding;
  return out;
}

}  // namespace aztp

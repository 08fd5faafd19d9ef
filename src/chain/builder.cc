#include "aztp/chain/builder.h"

#include <algorithm>

#include "aztp/crypto/digest.h"
#include "aztp/encoding/base64.h"
#include "aztp/jose/jws.h"
#include "aztp/svid/x509_svid.h"

namespace aztp {

namespace {

Result<std::string> RandomId() {
  AZTP_ASSIGN_OR_RETURN(Bytes bytes, RandomBytes(16));
  return Base64UrlEncode(bytes);
}

// Assemble turns the signed token into the header value of `encoding`.
std::string Assemble(const std::vector<std::string>& previous,
                     const std::string& token, ChainEncoding encoding) {
  if (encoding == ChainEncoding::kNested || previous.empty()) return token;
  std::string out;
  for (const auto& t : previous) {
    out += t;
    out += ',';
  }
  out += token;
  return out;
}

Status CheckSize(const std::string& token, const std::string& header,
                 const ChainLimits& limits) {
  if (token.size() > limits.max_token_bytes) {
    return Error(Code::kTooLarge, "token of " + std::to_string(token.size()) +
                                      " bytes exceeds the limit of " +
                                      std::to_string(limits.max_token_bytes));
  }
  if (header.size() > limits.max_chain_bytes) {
    return Error(Code::kTooLarge, "chain of " + std::to_string(header.size()) +
                                      " bytes exceeds the limit of " +
                                      std::to_string(limits.max_chain_bytes));
  }
  return Ok();
}

// MergeConstraints keeps every received member and replaces those the
// caller names; CheckNarrowing then refuses any widening.
Result<Constraints> MergeConstraints(const Constraints& received,
                                     const Constraints& requested) {
  AZTP_ASSIGN_OR_RETURN(
      Constraints out,
      Constraints::Create(
          requested.tds() ? requested.tds() : received.tds(),
          requested.auds() ? requested.auds() : received.auds()));
  AZTP_RETURN_IF_ERROR(received.CheckNarrowing(out));
  return out;
}

// ExtendedExpiry is the exp of a token that extends `received`: the ttl
// asked for, else as late as allowed; never past the received chain or the
// signer's SVID.
Result<UnixTime> ExtendedExpiry(const VerifiedChain& received,
                                const HopSigner& signer, const ExtendOptions& o,
                                UnixTime now) {
  UnixTime ceiling = std::min(received.expires_at(), signer.not_after());
  UnixTime exp;
  if (o.ttl_seconds) {
    if (*o.ttl_seconds <= 0) {
      return Error(Code::kInvalidArgument, "extend: ttl must be positive");
    }
    exp = now + *o.ttl_seconds;
    if (exp > ceiling) {
      return Error(Code::kLifetimeExceeded,
                   "extend: the token would outlive the received chain or "
                   "the signer's SVID");
    }
  } else {
    exp = std::min(ceiling, now + o.limits.max_lifetime_seconds);
  }
  if (exp <= now) {
    return Error(Code::kExpired, "extend: the received chain has expired");
  }
  return exp;
}

}  // namespace

Result<HopSigner> HopSigner::Create(std::vector<Certificate> chain,
                                    PrivateKey key) {
  if (chain.empty()) return Error(Code::kInvalidArgument, "empty SVID chain");
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, X509SvidId(chain.front()));
  // §5.1: a hop token is signed with the SVID key under ES256, ES384 or
  // EdDSA. aztp's CA never issues an RSA SVID (§2.1), but another CA may;
  // refuse it here rather than sign tokens every verifier rejects.
  const KeyType leaf_type = chain.front().public_key().type();
  auto alg = AlgorithmForKeyType(leaf_type);
  if (!alg || !IsHopTokenAlgorithm(*alg)) {
    return Error(Code::kUnsupported,
                 "the SVID's key (" + std::string(KeyTypeName(leaf_type)) +
                     ") cannot sign hop tokens, which are ES256, ES384 or "
                     "EdDSA (P-256, P-384 or Ed25519 keys)");
  }
  if (!(chain.front().public_key() == key.public_key())) {
    return Error(Code::kInvalidArgument, "key does not match the SVID");
  }
  Json x5c = Json::array();
  for (const auto& cert : chain) x5c.push_back(Base64Encode(cert.der()));
  Json header = Json::object();
  header["alg"] = AlgorithmName(key.algorithm());
  header["typ"] = kHopTokenType;
  header["x5c"] = std::move(x5c);
  return HopSigner(std::move(id), std::move(chain), std::move(key),
                   std::move(header));
}

Result<HopSigner> HopSigner::FromSvidDir(const SvidDir& dir) {
  if (!dir.key) {
    return Error(Code::kInvalidArgument, "the identity folder has no key");
  }
  return Create(dir.chain, *dir.key);
}

Result<std::string> HopSigner::Sign(const HopClaims& claims) const {
  std::string payload = DumpJson(claims.ToJson());
  return SignCompact(header_, AsBytes(payload), key_);
}

Result<std::string> MintChain(const HopSigner& signer, const MintOptions& o,
                              UnixTime now) {
  if (!o.audience) {
    return Error(Code::kInvalidArgument, "mint: an audience is required");
  }
  if (o.ttl_seconds <= 0 || o.ttl_seconds > o.limits.max_lifetime_seconds) {
    return Error(Code::kLifetimeExceeded,
                 "mint: ttl must be between 1 and " +
                     std::to_string(o.limits.max_lifetime_seconds) +
                     " seconds");
  }
  if (now + o.ttl_seconds > signer.not_after()) {
    return Error(Code::kLifetimeExceeded,
                 "mint: the token would outlive the signer's SVID");
  }
  int max = o.max_depth.value_or(o.limits.max_tokens - 1);
  if (max < 0 || max > o.limits.max_tokens - 1) {
    return Error(Code::kDepthExceeded,
                 "mint: max depth must be between 0 and " +
                     std::to_string(o.limits.max_tokens - 1));
  }
  HopClaims c{signer.id(), o.subject.value_or(signer.id().str()), *o.audience};
  // §5.3: no root a verifier must refuse (an agent naming a person).
  if (auto rule = CheckRootSubject(c.iss, c.sub); !rule) {
    return rule.error().WithContext("mint");
  }
  if (o.person && !PersonIssuer(c.sub)) {
    return Error(Code::kInvalidArgument,
                 "mint: a person's claims need a person's subject");
  }
  c.prs = o.person;
  c.iat = now;
  c.exp = now + o.ttl_seconds;
  AZTP_ASSIGN_OR_RETURN(c.jti, RandomId());
  if (o.txn) {
    c.txn = *o.txn;
  } else {
    AZTP_ASSIGN_OR_RETURN(c.txn, RandomId());
  }
  c.dep = 0;
  c.max = max;
  c.cap = o.capabilities;
  c.cns = o.constraints;
  c.req = o.request;
  if (o.encoding == ChainEncoding::kNested) c.enc = ChainEncoding::kNested;
  AZTP_ASSIGN_OR_RETURN(std::string token, signer.Sign(c));
  // The result must pass the same syntax rules a verifier applies.
  auto parsed = HopToken::Parse(token, o.limits.max_token_bytes);
  if (!parsed) return parsed.error().WithContext("mint");
  AZTP_RETURN_IF_ERROR(CheckSize(token, token, o.limits));
  return token;
}

Result<std::string> ExtendChain(const VerifiedChain& received,
                                const HopSigner& signer, const ExtendOptions& o,
                                UnixTime now) {
  if (!o.audience) {
    return Error(Code::kInvalidArgument, "extend: an audience is required");
  }
  const HopClaims& last = received.outermost_claims();
  if (!(last.aud == signer.id())) {
    return Error(Code::kAudienceMismatch, "extend: the chain is addressed to " +
                                              last.aud.str() + ", not to " +
                                              signer.id().str());
  }
  const int dep = last.dep + 1;
  int max = o.max_depth.value_or(last.max);
  if (max > last.max) {
    return Error(Code::kDepthExceeded,
                 "extend: max depth " + std::to_string(max) +
                     " exceeds the received " + std::to_string(last.max));
  }
  if (dep > max) {
    return Error(
        Code::kDepthExceeded,
        "extend: the chain may not grow past depth " + std::to_string(max));
  }
  CapabilitySet caps = o.capabilities.value_or(last.cap);
  if (auto wider = last.cap.FirstUncovered(caps)) {
    return Error(Code::kCapabilityEscalation,
                 "extend: capability " + wider->str() +
                     " is not granted by the received chain");
  }
  std::optional<Constraints> cns = last.cns;
  if (o.constraints) {
    if (cns) {
      AZTP_ASSIGN_OR_RETURN(cns, MergeConstraints(*cns, *o.constraints));
    } else {
      cns = o.constraints;
    }
  }
  // The new token's iss and aud must satisfy what earlier hops imposed;
  // the outermost constraints are the tightest of a verified chain.
  if (last.cns) {
    AZTP_RETURN_IF_ERROR(last.cns->Permits(signer.id(), *o.audience));
  }
  AZTP_ASSIGN_OR_RETURN(UnixTime exp, ExtendedExpiry(received, signer, o, now));
  HopClaims c{signer.id(), received.subject(), *o.audience};
  c.iat = now;
  c.exp = exp;
  AZTP_ASSIGN_OR_RETURN(c.jti, RandomId());
  c.txn = received.txn();
  c.dep = dep;
  c.max = max;
  c.cap = std::move(caps);
  c.cns = std::move(cns);
  c.req = o.request;
  const std::string& previous = received.tokens().back();
  if (received.encoding() == ChainEncoding::kNested) {
    c.obo = previous;
  } else {
    c.prv = TokenDigest(previous);
  }
  AZTP_ASSIGN_OR_RETURN(std::string token, signer.Sign(c));
  std::string header = Assemble(received.tokens(), token, received.encoding());
  AZTP_RETURN_IF_ERROR(CheckSize(token, header, o.limits));
  if (static_cast<int>(received.tokens().size()) + 1 > o.limits.max_tokens) {
    return Error(Code::kTooLarge, "extend: too many tokens");
  }
  return header;
}

}  // namespace aztp

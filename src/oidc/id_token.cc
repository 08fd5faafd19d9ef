#include "aztp/oidc/id_token.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "aztp/jose/jws.h"

namespace aztp {

namespace {

// ParseHeader parses the compact JWS and checks its header: an algorithm
// the rules allow (RFC 8725 §3.1) and no `typ` but "JWT" (§3.11).
Result<ParsedJws> ParseHeader(std::string_view token,
                              const IdTokenRules& rules) {
  JwsLimits limits;
  limits.max_compact_bytes = rules.max_token_bytes;
  AZTP_ASSIGN_OR_RETURN(ParsedJws jws, ParseCompact(token, limits));
  const auto& allowed = rules.algorithms;
  if (std::find(allowed.begin(), allowed.end(), jws.algorithm()) ==
      allowed.end()) {
    return Error(Code::kAlgNotAllowed,
                 "ID token: alg " +
                     std::string(AlgorithmName(jws.algorithm())) +
                     " is not allowed for " + rules.issuer);
  }
  if (auto typ = jws.header().find("typ"); typ != jws.header().end()) {
    std::string text = typ->is_string() ? typ->get<std::string>() : "";
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return std::toupper(c); });
    if (text != "JWT") {
      return Error(Code::kMalformed,
                   "ID token: typ must be JWT (not an access or logout token)");
    }
  }
  return jws;
}

// SigningKey is the issuer's key that must verify `jws`: the one its `kid`
// names, else the only key of the set that may verify with its `alg`.
Result<const Jwk*> SigningKey(const ParsedJws& jws, const Jwks& keys,
                              const std::string& issuer, std::string* kid) {
  auto member = jws.header().find("kid");
  if (member != jws.header().end()) {
    if (!member->is_string()) return WrongMemberType("kid", "a string");
    *kid = member->get<std::string>();
    const Jwk* key = keys.FindByKid(*kid);
    if (key == nullptr) {
      return Error(Code::kNotFound, "ID token: no key of " + issuer +
                                        " has kid " + QuoteInput(*kid));
    }
    return key;
  }
  const Jwk* only = nullptr;
  for (const Jwk& key : keys.keys()) {
    if (!key.CheckVerificationUse(jws.algorithm())) continue;
    if (only != nullptr) {
      return Error(Code::kMalformed,
                   "ID token: no kid, and " + issuer +
                       " has several keys that could have signed it");
    }
    only = &key;
  }
  if (only == nullptr) {
    return Error(Code::kNotFound,
                 "ID token: no key of " + issuer + " verifies " +
                     std::string(AlgorithmName(jws.algorithm())));
  }
  return only;
}

// CheckAudience: OpenID Connect Core 1.0 §3.1.3.7 items 3 to 5.
Status CheckAudience(const Json& claims, const IdTokenRules& rules) {
  auto aud = claims.find("aud");
  if (aud == claims.end()) {
    return Error(Code::kMalformed, "ID token: aud is missing");
  }
  std::vector<std::string> audiences;
  if (aud->is_string()) {
    audiences.push_back(aud->get<std::string>());
  } else if (aud->is_array() && !aud->empty() && aud->size() <= 16) {
    for (const Json& a : *aud) {
      if (!a.is_string()) return WrongMemberType("aud", "a string array");
      audiences.push_back(a.get<std::string>());
    }
  } else {
    return WrongMemberType("aud", "a string or 1 to 16 strings");
  }
  const auto& trusted = rules.trusted_audiences;
  bool ours = false;
  for (const auto& a : audiences) {
    if (a == rules.client_id) {
      ours = true;
    } else if (std::find(trusted.begin(), trusted.end(), a) == trusted.end()) {
      return Error(Code::kAudienceMismatch,
                   "ID token: audience " + QuoteInput(a) + " is not trusted");
    }
  }
  if (!ours) {
    return Error(Code::kAudienceMismatch,
                 "ID token: not issued to client " + rules.client_id);
  }
  AZTP_ASSIGN_OR_RETURN(auto azp, GetOptionalString(claims, "azp"));
  if (audiences.size() > 1 && !azp) {
    return Error(Code::kAudienceMismatch,
                 "ID token: several audiences and no azp");
  }
  if (azp && *azp != rules.client_id) {
    return Error(Code::kAudienceMismatch,
                 "ID token: azp " + QuoteInput(*azp) + " is another client");
  }
  return Ok();
}

// CheckTimes: items 9 and 10 of §3.1.3.7, with the skew and a bounded
// lifetime. Sets `iat` and `exp`.
Status CheckTimes(const Json& claims, const IdTokenRules& rules, UnixTime now,
                  UnixTime* iat, UnixTime* exp) {
  AZTP_ASSIGN_OR_RETURN(*exp, GetInt(claims, "exp"));
  AZTP_ASSIGN_OR_RETURN(*iat, GetInt(claims, "iat"));
  AZTP_ASSIGN_OR_RETURN(auto nbf, GetOptionalInt(claims, "nbf"));
  // Times past 2^40 s (year 36812) or before 1970 are no times: refused
  // before any arithmetic on them can overflow.
  constexpr int64_t kLatest = int64_t{1} << 40;
  for (int64_t t : {*exp, *iat, nbf.value_or(0)}) {
    if (t < 0 || t > kLatest) {
      return Error(Code::kMalformed, "ID token: a time out of range");
    }
  }
  const int64_t skew = rules.skew_seconds;
  if (now - skew >= *exp) {
    return Error(Code::kExpired,
                 "ID token: expired at " + std::to_string(*exp));
  }
  if (*iat > now + skew || (nbf && *nbf > now + skew)) {
    return Error(Code::kNotYetValid, "ID token: issued in the future");
  }
  if (*exp <= *iat || *exp - *iat > rules.max_lifetime_seconds) {
    return Error(Code::kLifetimeExceeded,
                 "ID token: lifetime exp - iat must be 1 to " +
                     std::to_string(rules.max_lifetime_seconds) + " s");
  }
  return Ok();
}

// BoundedText reads an optional string claim of at most kMaxOidcClaimBytes.
Result<std::optional<std::string>> BoundedText(const Json& claims,
                                               std::string_view name) {
  AZTP_ASSIGN_OR_RETURN(auto text, GetOptionalString(claims, name));
  if (text && text->size() > kMaxOidcClaimBytes) {
    return Error(Code::kTooLarge, "ID token: " + std::string(name) +
                                      " is longer than 256 bytes");
  }
  return text;
}

// TextList reads an optional array of bounded strings (`groups`, `amr`).
Result<std::vector<std::string>> TextList(const Json& claims,
                                          std::string_view name) {
  std::vector<std::string> out;
  auto it = claims.find(name);
  if (it == claims.end()) return out;
  if (!it->is_array()) return WrongMemberType(name, "an array of strings");
  if (it->size() > kMaxOidcGroups) {
    return Error(Code::kTooLarge,
                 "ID token: more than 64 " + std::string(name) + " entries");
  }
  for (const Json& item : *it) {
    if (!item.is_string() ||
        item.get_ref<const std::string&>().size() > kMaxOidcClaimBytes) {
      return WrongMemberType(name, "an array of strings of at most 256 bytes");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

// ReadPerson reads the claims aztp keeps (§2, §5.1).
Result<IdTokenPerson> ReadPerson(const Json& claims) {
  IdTokenPerson p;
  AZTP_ASSIGN_OR_RETURN(p.issuer, GetString(claims, "iss"));
  AZTP_ASSIGN_OR_RETURN(p.subject, GetString(claims, "sub"));
  const bool ascii = std::all_of(p.subject.begin(), p.subject.end(),
                                 [](unsigned char c) { return c < 0x80; });
  if (p.subject.empty() || p.subject.size() > kMaxOidcSubjectBytes || !ascii) {
    return Error(Code::kMalformed,
                 "ID token: sub must be 1 to 255 ASCII "
                 "characters");
  }
  AZTP_ASSIGN_OR_RETURN(p.email, BoundedText(claims, "email"));
  if (auto v = claims.find("email_verified"); v != claims.end()) {
    if (!v->is_boolean()) return WrongMemberType("email_verified", "a boolean");
    p.email_verified = v->get<bool>();
  }
  AZTP_ASSIGN_OR_RETURN(p.name, BoundedText(claims, "name"));
  AZTP_ASSIGN_OR_RETURN(p.acr, BoundedText(claims, "acr"));
  AZTP_ASSIGN_OR_RETURN(p.groups, TextList(claims, "groups"));
  AZTP_ASSIGN_OR_RETURN(p.amr, TextList(claims, "amr"));
  AZTP_ASSIGN_OR_RETURN(p.auth_time, GetOptionalInt(claims, "auth_time"));
  return p;
}

// CheckAuthentication: the provider's acr and auth_time against the rules
// (§3.1.3.7 items 12 and 13).
Status CheckAuthentication(const IdTokenPerson& p, const IdTokenRules& rules,
                           UnixTime now) {
  const auto& accepted = rules.accepted_acr;
  if (!accepted.empty() &&
      (!p.acr ||
       std::find(accepted.begin(), accepted.end(), *p.acr) == accepted.end())) {
    return Error(Code::kPolicyDenied,
                 "ID token: acr " + (p.acr ? QuoteInput(*p.acr) : "(none)") +
                     " is not accepted for " + rules.issuer);
  }
  if (rules.max_auth_age_seconds > 0) {
    if (!p.auth_time) {
      return Error(Code::kPolicyDenied, "ID token: auth_time is required");
    }
    if (now - *p.auth_time > rules.max_auth_age_seconds + rules.skew_seconds) {
      return Error(Code::kPolicyDenied,
                   "ID token: the login is older than " +
                       std::to_string(rules.max_auth_age_seconds) + " s");
    }
  }
  return Ok();
}

}  // namespace

Result<VerifiedIdToken> ValidateIdToken(std::string_view token,
                                        const IdTokenRules& rules,
                                        const Jwks& issuer_keys,
                                        std::string_view expected_nonce,
                                        UnixTime now) {
  AZTP_ASSIGN_OR_RETURN(ParsedJws jws, ParseHeader(token, rules));
  VerifiedIdToken out;
  AZTP_ASSIGN_OR_RETURN(const Jwk* key,
                        SigningKey(jws, issuer_keys, rules.issuer, &out.kid_));
  AZTP_RETURN_IF_ERROR(VerifySignature(jws, *key));
  const Bytes& payload = jws.payload();
  AZTP_ASSIGN_OR_RETURN(
      out.claims_,
      ParseJson(std::string_view(reinterpret_cast<const char*>(payload.data()),
                                 payload.size())));
  const Json& claims = out.claims_;
  if (!claims.is_object()) {
    return Error(Code::kMalformed, "ID token: claims must be a JSON object");
  }
  AZTP_ASSIGN_OR_RETURN(std::string iss, GetString(claims, "iss"));
  if (iss != rules.issuer) {
    return Error(Code::kIssuerMismatch, "ID token: iss " + QuoteInput(iss) +
                                            " is not " + rules.issuer);
  }
  AZTP_RETURN_IF_ERROR(CheckAudience(claims, rules));
  AZTP_RETURN_IF_ERROR(
      CheckTimes(claims, rules, now, &out.issued_at_, &out.expires_at_));
  if (!expected_nonce.empty()) {
    AZTP_ASSIGN_OR_RETURN(auto nonce, GetOptionalString(claims, "nonce"));
    if (!nonce || *nonce != expected_nonce) {
      return Error(Code::kRequestMismatch,
                   "ID token: nonce is not the login's");
    }
  }
  AZTP_ASSIGN_OR_RETURN(out.person_, ReadPerson(claims));
  AZTP_RETURN_IF_ERROR(CheckAuthentication(out.person_, rules, now));
  return out;
}

}  // namespace aztp

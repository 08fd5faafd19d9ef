// The client's calls for trust material: X.509- and JWT-SVIDs, bundles,
// revocation lists and the CA's keys; and reading a bundle document whose
// trust domain is not given.
#include <algorithm>
#include <utility>

#include "aztp/jose/jwk.h"
#include "aztp/jose/jws.h"
#include "aztp/revocation/revocation_delta.h"
#include "aztp/svid/x509_svid.h"
#include "client/client_internal.h"

namespace aztp {

namespace {

using client_internal::ArrayOf;
using client_internal::Member;
using client_internal::OptionalText;
using client_internal::OptionalTime;
using client_internal::Query;

// BundleTrustDomain reads the trust domain of a bundle document from the
// URI SAN of its X.509 authorities: a bundle does not name its domain.
Result<TrustDomain> BundleTrustDomain(const Json& doc) {
  std::optional<TrustDomain> found;
  const Json* keys = doc.is_object() ? Member(doc, "keys") : nullptr;
  if (keys != nullptr && keys->is_array()) {
    for (const auto& entry : *keys) {
      auto jwk = Jwk::Parse(entry);
      if (!jwk || jwk->x5c().empty()) continue;
      auto cert = Certificate::FromDer(jwk->x5c()[0]);
      if (!cert) continue;
      for (const auto& san : cert->uri_sans()) {
        auto td = TrustDomain::Parse(san);
        if (!td) continue;
        if (found && !(*found == *td)) {
          return Error(Code::kInvalidArgument,
                       "the bundle's authorities name several trust domains");
        }
        found = *td;
      }
    }
  }
  if (!found) {
    return Error(Code::kInvalidArgument,
                 "cannot tell the bundle's trust domain: no X.509 authority "
                 "names one");
  }
  return *found;
}

// CleanServerText keeps printable ASCII of a server-supplied message, so

Result<CaKey> ParseCaKey(const Json& j) {
  if (!j.is_object()) return Error(Code::kMalformed, "a key is no object");
  CaKey key;
  AZTP_ASSIGN_OR_RETURN(key.key_id, GetString(j, "key_id"));
  AZTP_ASSIGN_OR_RETURN(std::string kind, GetString(j, "kind"));
  auto parsed = ParseCaKeyKind(kind);
  if (!parsed) {
    return Error(Code::kMalformed, "unknown key kind " + QuoteInput(kind));
  }
  key.kind = *parsed;
  AZTP_ASSIGN_OR_RETURN(key.state, GetString(j, "state"));
  AZTP_ASSIGN_OR_RETURN(key.created_at, OptionalTime(j, "created_at"));
  AZTP_ASSIGN_OR_RETURN(key.not_after, OptionalTime(j, "not_after"));
  if (const Json* at = Member(j, "activated_at")) {
    if (!IsInteger(*at)) {
      return Error(Code::kMalformed,
                   "member \"activated_at\" must be an integer or null");
    }
    // The server may write 0 for "not yet" as the store does.
    if (at->get<int64_t>() != 0) key.activated_at = at->get<int64_t>();
  }
  return key;
}

Result<std::vector<CaKey>> ParseCaKeys(const Json& doc) {
  return ArrayOf<CaKey>(doc, "keys", ParseCaKey);
}

// ParseBundleMap reads {"trust_domains": {...}} strictly (BundleSet::
// ParseMap) and checks that no bundle holds an X.509 authority naming
// another trust domain than the one it is keyed under: a map that files a
// domain's CA under another name would let that CA vouch for the other
// domain's IDs. Authorities without a SPIFFE URI SAN are accepted (other
// SPIFFE implementations need not put one there).
Result<BundleSet> ParseBundleMap(const Json& doc) {
  AZTP_ASSIGN_OR_RETURN(BundleSet set, BundleSet::ParseMap(DumpJson(doc)));
  for (const auto& [td, bundle] : set.bundles()) {
    for (const Certificate& authority : bundle->x509_authorities()) {
      for (const std::string& san : authority.uri_sans()) {
        auto named = TrustDomain::Parse(san);
        if (named && *named != td) {
          return Error(Code::kMalformed, "the bundle of " + td.name() +
                                             " holds an authority of " +
                                             named->name());
        }
      }
    }
  }
  return set;
}

// Revised reads the server's own revocation document, asked for while
// holding `held`: a whole list, or a delta applied to `held`. nullopt when
// the delta does not start at held's sequence: the caller then asks for
// the whole list.
Result<std::optional<RevocationList>> Revised(const Json& doc,
                                              const RevocationList* held) {
  if (!doc.is_object() || !doc.contains("since")) {
    AZTP_ASSIGN_OR_RETURN(RevocationList list, RevocationList::FromJson(doc));
    return std::optional<RevocationList>(std::move(list));
  }
  if (held == nullptr) {
    return Error(Code::kMalformed, "a revocation delta that was not asked for");
  }
  AZTP_ASSIGN_OR_RETURN(RevocationDelta delta, RevocationDelta::FromJson(doc));
  auto applied = ApplyDelta(*held, delta);
  if (!applied && applied.error().code() == Code::kInvalidArgument) {
    return std::optional<RevocationList>();
  }
  if (!applied) return applied.error();
  return std::optional<RevocationList>(std::move(*applied));
}

// SinceQuery asks for a delta from `held` when there is one to start from.
std::string SinceQuery(const RevocationList* held) {
  if (held == nullptr || held->sequence() <= 0) return "";
  return "?since=" + std::to_string(held->sequence());
}

// ParseRevocationLists reads {"trust_domains": {"<td>": list}}: every
// list parsed strictly, naming IDs of its own trust domain only (a list
// filed under another domain's name would revoke that domain's
// identities), and `own`, the server's domain, present; own's entry may be
// a delta from `held_own` (nullopt as for Revised).
Result<std::optional<RevocationLists>> ParseRevocationLists(
    const Json& doc, const TrustDomain& own, const RevocationList* held_own) {
  const Json* domains = Member(doc, "trust_domains");
  if (domains == nullptr || !domains->is_object()) {
    return WrongMemberType("trust_domains", "an object");
  }
  RevocationLists out;
  for (const auto& [name, item] : domains->items()) {
    AZTP_ASSIGN_OR_RETURN(TrustDomain td, TrustDomain::Parse(name));
    // Only the own domain's list is asked for as a delta.
    auto list = Revised(item, td == own ? held_own : nullptr);
    if (!list) return list.error().WithContext("the list of " + td.name());
    if (!*list) return std::optional<RevocationLists>();
    for (const SpiffeId& id : (*list)->ids()) {
      if (!id.MemberOf(td)) {
        return Error(Code::kMalformed,
                     "the list of " + td.name() + " names " + id.str());
      }
    }
    out.emplace(std::move(td), std::move(**list));
  }
  if (out.count(own) == 0) {
    return Error(Code::kMalformed, "the revocation lists lack " + own.name() +
                                       ", the server's own trust domain");
  }
  return std::optional<RevocationLists>(std::move(out));
}

// ParseJwtSvid reads {"token", "expires_at"} and checks that the token is a
// compact JWS whose `sub` is `id` and whose `aud` holds every audience
// asked for. Messages never quote the token.
Result<JwtSvid> ParseJwtSvid(const Json& doc, const SpiffeId& id,
                             const std::vector<std::string>& audience) {
  const Json* token = Member(doc, "token");
  if (token == nullptr || !token->is_string()) {
    return Error(Code::kMalformed, "member \"token\" must be a string");
  }
  const std::string& text = token->get_ref<const std::string&>();
  auto jws = ParseCompact(text);
  if (!jws) {
    return Error(Code::kMalformed, "the token is not a compact JWS (" +
                                       std::string(jws.error().reason()) + ")");
  }
  JsonLimits limits;
  limits.max_depth = 8;
  auto claims = ParseJson(AsChars(jws->payload()), limits);
  if (!claims || !claims->is_object()) {
    return Error(Code::kMalformed, "the token's claims are no JSON object");
  }
  auto sub = GetString(*claims, "sub");
  if (!sub || *sub != id.str()) {
    return Error(Code::kMalformed, "the token's sub is not " + id.str());
  }
  JwtSvid out{.token = SecretBytes(std::string_view(text)), .id = id};
  const Json* aud = Member(*claims, "aud");
  if (aud != nullptr && aud->is_string()) {
    out.audience.push_back(aud->get<std::string>());
  } else if (aud != nullptr && aud->is_array()) {
    for (const Json& a : *aud) {
      if (!a.is_string()) {
        return Error(Code::kMalformed, "the token's aud must hold strings");
      }
      out.audience.push_back(a.get<std::string>());
    }
  } else {
    return Error(Code::kMalformed, "the token has no aud");
  }
  for (const auto& want : audience) {
    if (std::find(out.audience.begin(), out.audience.end(), want) ==
        out.audience.end()) {
      return Error(Code::kMalformed,
                   "the token's aud lacks " + QuoteInput(want));
    }
  }
  AZTP_ASSIGN_OR_RETURN(out.jti, OptionalText(*claims, "jti"));
  AZTP_ASSIGN_OR_RETURN(out.key_id, OptionalText(jws->header(), "kid"));
  AZTP_ASSIGN_OR_RETURN(out.expires_at, GetInt(doc, "expires_at"));
  return out;
}

// ParseX509Svid reads {"svid", "bundle", "expires_at"} and checks the
// issued chain against what was asked for.
Result<X509SvidResponse> ParseX509Svid(const Json& doc, const SpiffeId& id,
                                       const CertificateRequest& csr,
                                       UnixTime now) {
  AZTP_ASSIGN_OR_RETURN(std::string pem, GetString(doc, "svid"));
  AZTP_ASSIGN_OR_RETURN(std::vector<Certificate> chain,
                        ParsePemCertificates(pem, 8));
  const Json* bundle_doc = Member(doc, "bundle");
  if (bundle_doc == nullptr || !bundle_doc->is_object()) {
    return Error(Code::kMalformed, "member \"bundle\" must be an object");
  }
  AZTP_ASSIGN_OR_RETURN(Bundle bundle,
                        Bundle::FromJson(id.trust_domain(), *bundle_doc));
  AZTP_ASSIGN_OR_RETURN(UnixTime expires_at, GetInt(doc, "expires_at"));
  AZTP_ASSIGN_OR_RETURN(SpiffeId leaf_id, X509SvidId(chain.front()));
  if (leaf_id != id) {
    return Error(Code::kMalformed,
                 "the SVID is for " + leaf_id.str() + ", not " + id.str());
  }
  if (!(chain.front().public_key() == csr.public_key())) {
    return Error(Code::kMalformed,
                 "the SVID does not certify the key of the CSR");
  }
  BundleSet set;
  set.Put(bundle);
  // Checked no earlier than the leaf's notBefore: a client whose clock lags
  // the server's by more than the CA's backdating still gets its SVID (an
  // expired one is refused all the same).
  auto verified =
      VerifyX509Svid(chain, set, std::max(now, chain.front().not_before()));
  if (!verified) {
    return verified.error().WithContext("the SVID does not verify");
  }
  return X509SvidResponse{std::move(chain), std::move(bundle), expires_at};
}

}  // namespace

std::string_view CaKeyKindName(CaKeyKind kind) {
  return kind == CaKeyKind::kX509 ? "x509" : "jwt";
}

Result<CaKeyKind> ParseCaKeyKind(std::string_view name) {
  if (name == "x509") return CaKeyKind::kX509;
  if (name == "jwt") return CaKeyKind::kJwt;
  return Error(Code::kInvalidArgument,
               "key kind must be \"x509\" or \"jwt\", not " + QuoteInput(name));
}

Result<Bundle> ParseBundleDocument(std::string_view json) {
  AZTP_ASSIGN_OR_RETURN(Json doc, ParseJson(json));
  AZTP_ASSIGN_OR_RETURN(TrustDomain td, BundleTrustDomain(doc));
  return Bundle::FromJson(td, doc);
}

Result<X509SvidResponse> Client::IssueX509Svid(
    const SpiffeId& id, const CertificateRequest& csr,
    std::optional<int64_t> ttl_seconds) {
  Json body = Json::object();
  body["id"] = id.str();
  body["csr"] = csr.ToPem();
  if (ttl_seconds) body["ttl"] = *ttl_seconds;
  const UnixTime now = impl_->clock->Now();
  return impl_->Parsed(
      "POST", "/v1/svid/x509", DumpJson(body), false,
      [&](const Json& doc) { return ParseX509Svid(doc, id, csr, now); });
}

Result<JwtSvid> Client::IssueJwtSvid(const SpiffeId& id,
                                     const std::vector<std::string>& audience,
                                     std::optional<int64_t> ttl_seconds) {
  if (audience.empty()) {
    return Error(Code::kInvalidArgument, "a JWT-SVID needs an audience");
  }
  Json body = Json::object();
  body["id"] = id.str();
  body["audience"] = audience;
  if (ttl_seconds) body["ttl"] = *ttl_seconds;
  return impl_->Parsed(
      "POST", "/v1/svid/jwt", DumpJson(body), false,
      [&](const Json& doc) { return ParseJwtSvid(doc, id, audience); });
}

Result<Bundle> Client::GetBundle() {
  const TrustDomain& td = impl_->options.server_id->trust_domain();
  return impl_->Parsed("GET", "/v1/bundle", "", true, [&](const Json& doc) {
    return Bundle::FromJson(td, doc);
  });
}

Result<BundleSet> Client::GetBundles(std::optional<SpiffeId> for_id) {
  std::string target =
      "/v1/bundles" + Query({{"for", for_id ? for_id->str() : ""}});
  return impl_->Parsed("GET", target, "", true, ParseBundleMap);
}

Result<RevocationList> Client::GetRevocations(const RevocationList* held) {
  // A delta that does not fit `held` is answered by asking for the whole
  // list, which always fits.
  for (const RevocationList* from :
       {held, static_cast<const RevocationList*>(nullptr)}) {
    AZTP_ASSIGN_OR_RETURN(
        std::optional<RevocationList> list,
        impl_->Parsed("GET", "/v1/revocations" + SinceQuery(from), "", true,
                      [from](const Json& doc) { return Revised(doc, from); }));
    if (list) return std::move(*list);
  }
  return Error(Code::kInternal, "unreachable: a whole list always fits");
}

Result<RevocationLists> Client::GetRevocationLists(
    const RevocationList* held_own) {
  const TrustDomain& own = impl_->options.server_id->trust_domain();
  for (const RevocationList* from :
       {held_own, static_cast<const RevocationList*>(nullptr)}) {
    AZTP_ASSIGN_OR_RETURN(
        std::optional<RevocationLists> lists,
        impl_->Parsed("GET", "/v1/revocation-lists" + SinceQuery(from), "",
                      true, [&](const Json& doc) {
                        return ParseRevocationLists(doc, own, from);
                      }));
    if (lists) return std::move(*lists);
  }
  return Error(Code::kInternal, "unreachable: a whole list always fits");
}

Result<std::vector<CaKey>> Client::ListCaKeys() {
  return impl_->Parsed("GET", "/v1/ca", "", true, ParseCaKeys);
}

Result<std::vector<CaKey>> Client::RotateCa(CaKeyKind kind) {
  Json body = Json::object();
  body["kind"] = CaKeyKindName(kind);
  return impl_->Parsed("POST", "/v1/ca:rotate", DumpJson(body), false,
                       ParseCaKeys);
}

}  // namespace aztp

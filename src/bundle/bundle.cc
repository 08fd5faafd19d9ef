#include "aztp/bundle/bundle.h"

#include <set>

#include "aztp/encoding/base64.h"
#include "aztp/jose/jwk.h"
#include "internal/ossl.h"

namespace aztp {

namespace {

constexpr std::string_view kUseX509 = "x509-svid";
constexpr std::string_view kUseJwt = "jwt-svid";
constexpr std::size_t kMaxBundleBytes = 1 << 20;

Result<std::shared_ptr<X509_STORE>> BuildStore(
    const std::vector<Certificate>& authorities) {
  std::shared_ptr<X509_STORE> store(X509_STORE_new(), X509_STORE_free);
  if (!store) return internal::OpensslError(Code::kInternal, "trust store");
  for (const auto& cert : authorities) {
    if (X509_STORE_add_cert(store.get(), cert.x509()) != 1) {
      // Duplicate certificates are harmless; anything else is not.
      unsigned long err = ERR_peek_last_error();
      if (ERR_GET_REASON(err) != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
        return internal::OpensslError(Code::kInternal, "trust store");
      }
      internal::ClearOpensslErrors();
    }
  }
  return store;
}

bool IsKnownKty(const Json& kty) {
  return kty.is_string() && (kty == "EC" || kty == "OKP" || kty == "RSA");
}

}  // namespace

Result<Bundle> Bundle::Create(TrustDomain td,
                              std::vector<Certificate> x509_authorities,
                              std::map<std::string, PublicKey> jwt_authorities,
                              std::optional<int64_t> sequence,
                              std::optional<int64_t> refresh_hint) {
  for (const auto& cert : x509_authorities) {
    if (!cert.is_ca()) {
      return Error(Code::kMalformed,
                   "bundle X.509 authority is not a CA certificate");
    }
  }
  for (const auto& [kid, key] : jwt_authorities) {
    if (kid.empty()) return Error(Code::kMalformed, "empty JWT authority kid");
  }
  if (refresh_hint && *refresh_hint < 0) {
    return Error(Code::kMalformed, "negative spiffe_refresh_hint");
  }
  Bundle b(std::move(td));
  AZTP_ASSIGN_OR_RETURN(b.store_, BuildStore(x509_authorities));
  b.x509_authorities_ = std::move(x509_authorities);
  b.jwt_authorities_ = std::move(jwt_authorities);
  b.sequence_ = sequence;
  b.refresh_hint_ = refresh_hint;
  return b;
}

Result<Bundle> Bundle::Parse(const TrustDomain& td, std::string_view json) {
  JsonLimits limits;
  limits.max_bytes = kMaxBundleBytes;
  AZTP_ASSIGN_OR_RETURN(Json doc, ParseJson(json, limits));
  return FromJson(td, doc);
}

Result<Bundle> Bundle::FromJson(const TrustDomain& td, const Json& doc) {
  auto fail = [&](const std::string& what) {
    return Error(Code::kMalformed, "bundle of " + td.name() + ": " + what);
  };
  if (!doc.is_object()) return fail("not a JSON object");
  auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_array()) {
    return fail("member \"keys\" must be an array");
  }
  auto seq = GetOptionalInt(doc, "spiffe_sequence");
  if (!seq) return fail(seq.error().message());
  auto hint = GetOptionalInt(doc, "spiffe_refresh_hint");
  if (!hint) return fail(hint.error().message());

  std::vector<Certificate> x509;
  std::map<std::string, PublicKey> jwt;
  for (std::size_t i = 0; i < keys->size(); ++i) {
    const Json& entry = (*keys)[i];
    std::string where = "keys[" + std::to_string(i) + "]: ";
    if (!entry.is_object()) return fail(where + "not an object");
    // Entries this implementation cannot use are ignored, as the bundle
    // format requires: unknown kty, missing or unknown use.
    auto kty = entry.find("kty");
    if (kty == entry.end()) return fail(where + "missing kty");
    if (!IsKnownKty(*kty)) continue;
    auto use = entry.find("use");
    if (use == entry.end() || !use->is_string() ||
        (*use != kUseX509 && *use != kUseJwt)) {
      continue;
    }
    auto jwk = Jwk::Parse(entry);
    if (!jwk) return fail(where + jwk.error().message());
    if (*use == kUseX509) {
      if (jwk->x5c().size() != 1) {
        return fail(where +
                    "x509-svid entry must hold exactly one certificate");
      }
      auto cert = Certificate::FromDer(jwk->x5c()[0]);
      if (!cert) return fail(where + cert.error().message());
      // Jwk::Parse has checked that the certificate holds the JWK's key.
      if (!cert->is_ca()) return fail(where + "x5c certificate is not a CA");
      x509.push_back(std::move(*cert));
    } else {
      if (!jwk->kid() || jwk->kid()->empty()) {
        return fail(where + "jwt-svid entry needs a kid");
      }
      if (!jwt.emplace(*jwk->kid(), jwk->public_key()).second) {
        return fail(where + "duplicate kid");
      }
    }
  }
  auto bundle = Create(td, std::move(x509), std::move(jwt), *seq, *hint);
  if (!bundle) return fail(bundle.error().message());
  return bundle;
}

Json Bundle::ToJson() const {
  Json keys = Json::array();
  for (const auto& cert : x509_authorities_) {
    keys.push_back(Jwk::FromPublicKey(cert.public_key())
                       .WithUse(std::string(kUseX509))
                       .WithX5c({cert.der()})
                       .ToJson());
  }
  for (const auto& [kid, key] : jwt_authorities_) {
    keys.push_back(Jwk::FromPublicKey(key)
                       .WithUse(std::string(kUseJwt))
                       .WithKid(kid)
                       .ToJson());
  }
  Json doc = Json::object();
  doc["keys"] = std::move(keys);
  if (sequence_) doc["spiffe_sequence"] = *sequence_;
  if (refresh_hint_) doc["spiffe_refresh_hint"] = *refresh_hint_;
  return doc;
}

bool operator==(const Bundle& a, const Bundle& b) {
  return a.trust_domain_ == b.trust_domain_ &&
         a.x509_authorities_ == b.x509_authorities_ &&
         a.jwt_authorities_ == b.jwt_authorities_ &&
         a.sequence_ == b.sequence_ && a.refresh_hint_ == b.refresh_hint_;
}

void BundleSet::Put(Bundle bundle) {
  TrustDomain td = bundle.trust_domain();
  bundles_[td] = std::make_shared<const Bundle>(std::move(bundle));
}

bool BundleSet::Remove(const TrustDomain& td) { return bundles_.erase(td) > 0; }

std::shared_ptr<const Bundle> BundleSet::GetBundle(
    const TrustDomain& td) const {
  auto it = bundles_.find(td);
  return it == bundles_.end() ? nullptr : it->second;
}

Result<BundleSet> BundleSet::ParseMap(std::string_view json) {
  JsonLimits limits;
  limits.max_bytes = 16 * kMaxBundleBytes;
  AZTP_ASSIGN_OR_RETURN(Json doc, ParseJson(json, limits));
  if (!doc.is_object())
    return Error(Code::kMalformed, "bundle map: not an object");
  auto domains = doc.find("trust_domains");
  if (domains == doc.end() || !domains->is_object()) {
    return Error(Code::kMalformed,
                 "bundle map: member \"trust_domains\" must be an object");
  }
  BundleSet set;
  for (const auto& [name, bundle_doc] : domains->items()) {
    auto td = TrustDomain::Parse(name);
    if (!td) return td.error().WithContext("bundle map");
    AZTP_ASSIGN_OR_RETURN(Bundle bundle, Bundle::FromJson(*td, bundle_doc));
    // Refresh hints inside a map are ignored (bundle map §).
    AZTP_ASSIGN_OR_RETURN(
        Bundle without_hint,
        Bundle::Create(bundle.trust_domain(), bundle.x509_authorities(),
                       bundle.jwt_authorities(), bundle.sequence(),
                       std::nullopt));
    set.Put(std::move(without_hint));
  }
  return set;
}

Json BundleSet::ToMapJson() const {
  Json domains = Json::object();
  for (const auto& [td, bundle] : bundles_) {
    Json b = bundle->ToJson();
    b.erase("spiffe_refresh_hint");
    domains[td.name()] = std::move(b);
  }
  Json doc = Json::object();
  doc["trust_domains"] = std::move(domains);
  return doc;
}

SharedBundleSource::SharedBundleSource(BundleSet initial)
    : set_(std::make_shared<const BundleSet>(std::move(initial))) {}

void SharedBundleSource::Replace(BundleSet set) {
  auto next = std::make_shared<const BundleSet>(std::move(set));
  std::lock_guard<std::mutex> lock(mu_);
  set_ = std::move(next);
}

std::shared_ptr<const BundleSet> SharedBundleSource::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return set_;
}

std::shared_ptr<const Bundle> SharedBundleSource::GetBundle(
    const TrustDomain& td) const {
  return Snapshot()->GetBundle(td);
}

BundleFileKind SniffBundleFile(std::string_view text) {
  const std::size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return BundleFileKind::kOther;
  if (text.substr(start).starts_with("-----BEGIN ")) {
    return BundleFileKind::kPem;
  }
  JsonLimits limits;
  limits.max_bytes = 16 * kMaxBundleBytes;
  auto doc = ParseJson(text, limits);
  if (!doc || !doc->is_object()) return BundleFileKind::kOther;
  if (doc->contains("trust_domains")) return BundleFileKind::kBundleMap;
  if (doc->contains("keys")) return BundleFileKind::kBundle;
  return BundleFileKind::kOther;
}

}  // namespace aztp

// Bundle: the trust anchors of one trust domain, in the SPIFFE bundle
// format (SPIFFE Trust Domain and Bundle §4: a JWK Set whose keys have
// `use` "x509-svid" or "jwt-svid", with `spiffe_sequence` and
// `spiffe_refresh_hint`).
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/crypto/key.h"
#include "aztp/encoding/json.h"
#include "aztp/spiffeid/trust_domain.h"
#include "aztp/x509/certificate.h"

namespace aztp {

// Bundle is immutable once built; it is shared between threads through
// std::shared_ptr<const Bundle>.
class Bundle {
 public:
  // Create builds a bundle from its parts. X.509 authorities must be CA
  // certificates; JWT authority key IDs must be non-empty.
  static Result<Bundle> Create(TrustDomain td,
                               std::vector<Certificate> x509_authorities,
                               std::map<std::string, PublicKey> jwt_authorities,
                               std::optional<int64_t> sequence,
                               std::optional<int64_t> refresh_hint);

  // Parse reads a bundle document of `td` (at most 1 MiB). Per the spec,
  // JWK entries with an unknown `kty` or a missing or unknown `use` are
  // ignored and unknown top-level members are tolerated. An `x509-svid` entry
  // must carry exactly one certificate in `x5c`, matching the JWK's key; a
  // `jwt-svid` entry must carry a unique `kid`. Other violations are
  // kMalformed.
  static Result<Bundle> Parse(const TrustDomain& td, std::string_view json);
  static Result<Bundle> FromJson(const TrustDomain& td, const Json& doc);

  // ToJson renders the SPIFFE bundle document.
  Json ToJson() const;

  const TrustDomain& trust_domain() const { return trust_domain_; }
  const std::vector<Certificate>& x509_authorities() const {
    return x509_authorities_;
  }
  const std::map<std::string, PublicKey>& jwt_authorities() const {
    return jwt_authorities_;
  }
  std::optional<int64_t> sequence() const { return sequence_; }
  std::optional<int64_t> refresh_hint() const { return refresh_hint_; }

  // x509_store is an OpenSSL trust store holding exactly this bundle's X.509
  // authorities, built once; borrowed.
  X509_STORE* x509_store() const { return store_.get(); }

  // operator== compares trust domain, authorities, sequence and hint.
  friend bool operator==(const Bundle& a, const Bundle& b);

 private:
  Bundle(TrustDomain td) : trust_domain_(std::move(td)) {}
  TrustDomain trust_domain_;
  std::vector<Certificate> x509_authorities_;
  std::map<std::string, PublicKey> jwt_authorities_;
  std::optional<int64_t> sequence_;
  std::optional<int64_t> refresh_hint_;
  std::shared_ptr<X509_STORE> store_;
};

// BundleSource finds the bundle of a trust domain. Keys are never pooled
// across domains: each lookup returns one domain's bundle or nothing.
class BundleSource {
 public:
  virtual ~BundleSource() = default;
  // GetBundle returns the bundle of `td`, or null when `td` is not trusted.
  virtual std::shared_ptr<const Bundle> GetBundle(
      const TrustDomain& td) const = 0;
};

// BundleSet maps trust domains to their bundles. A value type: copy it to
// share a snapshot; not synchronised for concurrent mutation.
class BundleSet final : public BundleSource {
 public:
  BundleSet() = default;

  // Put adds or replaces the bundle of its trust domain.
  void Put(Bundle bundle);
  // Remove drops `td`; true if it was present.
  bool Remove(const TrustDomain& td);
  std::shared_ptr<const Bundle> GetBundle(const TrustDomain& td) const override;
  std::size_t size() const { return bundles_.size(); }
  const std::map<TrustDomain, std::shared_ptr<const Bundle>>& bundles() const {
    return bundles_;
  }

  // ParseMap reads the bundle-map form {"trust_domains": {"<td>": bundle}}
  // (duplicate names are rejected by the strict JSON parser).
  static Result<BundleSet> ParseMap(std::string_view json);
  // ToMapJson renders the bundle-map form, without refresh hints.
  Json ToMapJson() const;

 private:
  std::map<TrustDomain, std::shared_ptr<const Bundle>> bundles_;
};

// BundleFileKind is what a file given where a bundle is expected holds,
// judged by its first bytes and top-level members: enough to answer a
// wrong file with what to pass instead (docs/cli.md, "Bundles").
enum class BundleFileKind {
  kPem,        // PEM, such as ca.pem or bundle.pem
  kBundle,     // one trust domain's SPIFFE bundle: {"keys": [...]}
  kBundleMap,  // {"trust_domains": {...}}
  kOther,      // none of these
};
BundleFileKind SniffBundleFile(std::string_view text);

// SharedBundleSource hands out the bundles of a BundleSet that another
// thread may replace at any time (a rotated CA, a refreshed federation
// bundle). Readers see either the old or the new set, never a mix.
class SharedBundleSource final : public BundleSource {
 public:
  explicit SharedBundleSource(BundleSet initial = {});
  // Replace publishes `set` for all later lookups.
  void Replace(BundleSet set);
  // Snapshot is the current set.
  std::shared_ptr<const BundleSet> Snapshot() const;
  std::shared_ptr<const Bundle> GetBundle(const TrustDomain& td) const override;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const BundleSet> set_;
};

}  // namespace aztp

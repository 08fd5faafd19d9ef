// Test support (no test framework needed, so benchmarks and generators use
// it too): trust domains with CAs and hop signers at a fixed time.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "aztp/bundle/bundle.h"
#include "aztp/ca/authority.h"
#include "aztp/chain/builder.h"

namespace aztp::testing {

// TestDomains holds one CA per trust domain, all created at `now - 1 day`
// and valid for a year, and issues hop signers on demand. Failures abort:
// this is fixture code.
class TestDomains {
 public:
  explicit TestDomains(UnixTime now, KeyType key_type = KeyType::kEcP256);

  // AddDomain creates a CA for `name` (e.g. "org-a.example") whose CA and
  // SVID keys are of `key_type` (default: the constructor's).
  void AddDomain(const std::string& name, bool with_intermediate = false,
                 std::optional<KeyType> key_type = std::nullopt);
  // Signer issues (once) an SVID for `id` valid for `ttl` from now and
  // returns its signer. The ID's trust domain must have been added.
  const HopSigner& Signer(const std::string& id, int64_t ttl = 86400);
  // FreshSigner issues a new SVID for `id` at `issued_at` for `ttl`
  // seconds, without caching it.
  HopSigner FreshSigner(const std::string& id, UnixTime issued_at, int64_t ttl);
  // Ca returns the CA of a domain.
  const CertificateAuthority& Ca(const std::string& name) const;
  // Bundles is the set of every domain's bundle.
  std::shared_ptr<const BundleSet> Bundles() const { return bundles_; }
  UnixTime now() const { return now_; }
  KeyType key_type() const { return key_type_; }

 private:
  UnixTime now_;
  KeyType key_type_;
  std::map<std::string, CertificateAuthority> cas_;
  std::map<std::string, KeyType> key_types_;
  std::map<std::string, HopSigner> signers_;
  std::shared_ptr<BundleSet> bundles_ = std::make_shared<BundleSet>();
};

// MustFail prints `error` and aborts.
[[noreturn]] void MustFail(const Error& error);

// Must returns the value of `r`, aborting on an error.
template <typename T>
T Must(Result<T> r) {
  if (!r) MustFail(r.error());
  return std::move(*r);
}

}  // namespace aztp::testing

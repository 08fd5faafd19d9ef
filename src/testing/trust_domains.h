// Test support (no test framework needed, so benchmarks and generators use
// it too): trust domains with CAs and hop signers at a fixed time.
#pragma once

#include <openssl/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/bundle/bundle.h"
#include "aztp/ca/authority.h"
#include "aztp/chain/builder.h"

namespace aztp::test_support {

// RsaIdentity is an X.509-SVID over an RSA key and that key: what a CA
// other than aztp's could issue (aztp's refuses RSA subject keys, protocol
// §2.1). Hop tokens must never verify with it (§5.1).
struct RsaIdentity {
  std::vector<Certificate> chain;  // leaf first, no root
  std::shared_ptr<EVP_PKEY> key;   // RSA-2048 private key
};

// SignRsaHopToken signs `claims` by hand as a hop token under `alg` ("RS256"
// or "PS256"), with the header {alg, typ, x5c} of §5.1 and `identity`'s
// chain in x5c, bypassing every refusal of the library's signers.
std::string SignRsaHopToken(const RsaIdentity& identity, std::string_view alg,
                            const Json& claims);

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
  // RsaSvid issues an SVID for `id` over a fresh RSA-2048 key, with the leaf
  // profile of §2.2, signed directly by the domain's signing CA.
  RsaIdentity RsaSvid(const std::string& id, int64_t ttl = 86400);
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

}  // namespace aztp::test_support

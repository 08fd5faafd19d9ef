#include "testing/trust_domains.h"

#include <cstdio>
#include <cstdlib>

namespace aztp::testing {

void MustFail(const Error& error) {
  std::fprintf(stderr, "fixture failure: %s: %s\n",
               std::string(error.reason()).c_str(), error.message().c_str());
  std::abort();
}

TestDomains::TestDomains(UnixTime now, KeyType key_type)
    : now_(now), key_type_(key_type) {}

void TestDomains::AddDomain(const std::string& name, bool with_intermediate,
                            std::optional<KeyType> key_type) {
  CaOptions options;
  options.key_type = key_type.value_or(key_type_);
  key_types_[name] = options.key_type;
  options.with_intermediate = with_intermediate;
  options.ttl_seconds = 366 * 86400;
  TrustDomain td = Must(TrustDomain::Parse(name));
  auto ca = Must(CertificateAuthority::Create(td, options, now_ - 86400));
  bundles_->Put(Must(Bundle::Create(td, {ca.root()}, {}, 1, std::nullopt)));
  cas_.insert_or_assign(name, std::move(ca));
}

const HopSigner& TestDomains::Signer(const std::string& id, int64_t ttl) {
  auto it = signers_.find(id);
  if (it != signers_.end()) return it->second;
  return signers_.emplace(id, FreshSigner(id, now_, ttl)).first->second;
}

HopSigner TestDomains::FreshSigner(const std::string& id, UnixTime issued_at,
                                   int64_t ttl) {
  SpiffeId spiffe_id = Must(SpiffeId::Parse(id));
  const std::string& td = spiffe_id.trust_domain().name();
  const CertificateAuthority& ca = Ca(td);
  PrivateKey key = Must(PrivateKey::Generate(key_types_.at(td)));
  auto chain =
      Must(ca.IssueX509Svid(spiffe_id, key.public_key(), ttl, issued_at));
  return Must(HopSigner::Create(std::move(chain), std::move(key)));
}

const CertificateAuthority& TestDomains::Ca(const std::string& name) const {
  auto it = cas_.find(name);
  if (it == cas_.end()) {
    MustFail(Error(Code::kNotFound, "no test domain " + name));
  }
  return it->second;
}

}  // namespace aztp::testing

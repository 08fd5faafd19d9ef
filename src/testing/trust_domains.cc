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

void TestDomains::AddDomain(const std::string& name, bool with_intermediate) {
  CaOptions options;
  options.key_type = key_type_;
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
  SpiffeId spiffe_id = Must(SpiffeId::Parse(id));
  const CertificateAuthority& ca = Ca(spiffe_id.trust_domain().name());
  PrivateKey key = Must(PrivateKey::Generate(key_type_));
  auto chain = Must(ca.IssueX509Svid(spiffe_id, key.public_key(), ttl, now_));
  auto signer = Must(HopSigner::Create(std::move(chain), std::move(key)));
  return signers_.emplace(id, std::move(signer)).first->second;
}

const CertificateAuthority& TestDomains::Ca(const std::string& name) const {
  auto it = cas_.find(name);
  if (it == cas_.end()) {
    MustFail(Error(Code::kNotFound, "no test domain " + name));
  }
  return it->second;
}

}  // namespace aztp::testing

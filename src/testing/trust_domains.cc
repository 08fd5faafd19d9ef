#include "testing/trust_domains.h"

#include <openssl/rsa.h>

#include <cstdio>
#include <cstdlib>

#include "aztp/encoding/base64.h"
#include "internal/ossl.h"

namespace aztp::test_support {

using internal::OsslPtr;

namespace {

// RsaSign signs `input` with RSASSA-PKCS1-v1_5 (RS256) or RSASSA-PSS with
// MGF1-SHA-256 and a 32-byte salt (PS256), both over SHA-256 (RFC 7518
// §3.3, §3.5).
Bytes RsaSign(EVP_PKEY* key, bool pss, std::string_view input) {
  OsslPtr<EVP_MD_CTX> md(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = md && EVP_DigestSignInit(md.get(), &pctx, EVP_sha256(), nullptr,
                                     key) == 1;
  if (ok && pss) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  }
  std::size_t size = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  ok = ok && EVP_DigestSign(md.get(), nullptr, &size, data, input.size()) == 1;
  Bytes out(size);
  ok = ok &&
       EVP_DigestSign(md.get(), out.data(), &size, data, input.size()) == 1;
  if (!ok) MustFail(internal::OpensslError(Code::kInternal, "RSA signing"));
  out.resize(size);
  return out;
}

}  // namespace

std::string SignRsaHopToken(const RsaIdentity& identity, std::string_view alg,
                            const Json& claims) {
  Json x5c = Json::array();
  for (const auto& cert : identity.chain) {
    x5c.push_back(Base64Encode(cert.der()));
  }
  Json header{{"alg", std::string(alg)}, {"typ", "aztp+jwt"}, {"x5c", x5c}};
  std::string input = Base64UrlEncode(DumpJson(header)) + "." +
                      Base64UrlEncode(DumpJson(claims));
  Bytes sig = RsaSign(identity.key.get(), alg == "PS256", input);
  return input + "." + Base64UrlEncode(sig);
}

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

RsaIdentity TestDomains::RsaSvid(const std::string& id, int64_t ttl) {
  SpiffeId spiffe_id = Must(SpiffeId::Parse(id));
  const CertificateAuthority& ca = Ca(spiffe_id.trust_domain().name());
  std::shared_ptr<EVP_PKEY> key(
      EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}),
      EVP_PKEY_free);
  if (!key) MustFail(internal::OpensslError(Code::kInternal, "RSA keygen"));
  CertificateTemplate leaf =
      X509SvidTemplate(spiffe_id, now_ - kBackdateSeconds, now_ + ttl);
  PublicKey public_key = Must(PublicKey::FromEvp(key.get()));
  RsaIdentity out{{}, std::move(key)};
  out.chain.push_back(Must(SignCertificate(
      leaf, public_key, &ca.signing_certificate(), ca.signing_key())));
  out.chain.insert(out.chain.end(), ca.chain().begin(), ca.chain().end() - 1);
  return out;
}

const CertificateAuthority& TestDomains::Ca(const std::string& name) const {
  auto it = cas_.find(name);
  if (it == cas_.end()) {
    MustFail(Error(Code::kNotFound, "no test domain " + name));
  }
  return it->second;
}

}  // namespace aztp::test_support

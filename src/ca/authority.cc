#include "aztp/ca/authority.h"

#include <algorithm>

#include "aztp/crypto/digest.h"
#include "aztp/x509/builder.h"

namespace aztp {

namespace {

// CaTemplate is the SPIFFE signing-certificate profile (X509-SVID §4.1).
CertificateTemplate CaTemplate(const TrustDomain& td, std::string name,
                               UnixTime now, int64_t ttl) {
  CertificateTemplate t;
  t.common_name = std::move(name);
  t.uri_sans = {td.IdString()};
  t.ca = true;
  t.key_usage = kKuKeyCertSign | kKuCrlSign;
  t.not_before = now - kBackdateSeconds;
  t.not_after = now + ttl;
  return t;
}

}  // namespace

Result<CertificateAuthority> CertificateAuthority::Create(
    const TrustDomain& td, const CaOptions& options, UnixTime now) {
  if (options.ttl_seconds <= 0) {
    return Error(Code::kInvalidArgument, "CA lifetime must be positive");
  }
  AZTP_ASSIGN_OR_RETURN(PrivateKey root_key,
                        PrivateKey::Generate(options.key_type));
  AZTP_ASSIGN_OR_RETURN(Bytes tag, RandomBytes(4));
  AZTP_ASSIGN_OR_RETURN(
      Certificate root_cert,
      SignCertificate(CaTemplate(td, "aztp root CA " + HexEncode(tag), now,
                                 options.ttl_seconds),
                      root_key.public_key(), nullptr, root_key));
  if (!options.with_intermediate) {
    return CertificateAuthority(td, {root_cert}, std::move(root_key));
  }
  AZTP_ASSIGN_OR_RETURN(PrivateKey int_key,
                        PrivateKey::Generate(options.key_type));
  AZTP_ASSIGN_OR_RETURN(
      Certificate int_cert,
      SignCertificate(CaTemplate(td, "aztp intermediate CA " + HexEncode(tag),
                                 now, options.ttl_seconds),
                      int_key.public_key(), &root_cert, root_key));
  CertificateAuthority ca(td, {int_cert, root_cert}, std::move(int_key));
  ca.root_key_ = std::move(root_key);
  return ca;
}

Result<CertificateAuthority> CertificateAuthority::Load(
    const TrustDomain& td, std::vector<Certificate> chain,
    PrivateKey signing_key) {
  if (chain.empty()) return Error(Code::kInvalidArgument, "empty CA chain");
  if (!(chain.front().public_key() == signing_key.public_key())) {
    return Error(Code::kInvalidArgument,
                 "CA key does not match the signing certificate");
  }
  for (const auto& cert : chain) {
    if (!cert.is_ca()) {
      return Error(Code::kInvalidArgument,
                   "CA chain holds a non-CA certificate");
    }
    auto sans = cert.uri_sans();
    if (sans.size() != 1 || sans[0] != td.IdString()) {
      return Error(
          Code::kInvalidArgument,
          "CA certificate does not belong to trust domain " + td.name());
    }
  }
  return CertificateAuthority(td, std::move(chain), std::move(signing_key));
}

CertificateTemplate X509SvidTemplate(const SpiffeId& id, UnixTime not_before,
                                     UnixTime not_after) {
  CertificateTemplate leaf;
  leaf.uri_sans = {id.str()};
  leaf.ca = false;
  leaf.key_usage = kKuDigitalSignature;
  leaf.eku_server_auth = true;
  leaf.eku_client_auth = true;
  leaf.not_before = not_before;
  leaf.not_after = not_after;
  return leaf;
}

Result<std::vector<Certificate>> CertificateAuthority::IssueX509Svid(
    const SpiffeId& id, const PublicKey& subject_key, int64_t ttl_seconds,
    UnixTime now) const {
  if (!id.MemberOf(trust_domain_)) {
    return Error(Code::kInvalidArgument,
                 id.str() + " is not in trust domain " + trust_domain_.name());
  }
  if (!id.IsWorkload()) {
    return Error(Code::kInvalidArgument,
                 "an X.509-SVID needs a SPIFFE ID with a path");
  }
  if (subject_key.type() == KeyType::kRsa) {
    return Error(Code::kUnsupported,
                 "SVID keys must be ec-p256, ec-p384 or ed25519");
  }
  if (ttl_seconds <= 0) {
    return Error(Code::kInvalidArgument, "SVID lifetime must be positive");
  }
  const Certificate& signer = signing_certificate();
  if (now >= signer.not_after()) {
    return Error(Code::kExpired, "the signing CA certificate has expired");
  }
  CertificateTemplate leaf =
      X509SvidTemplate(id, now - kBackdateSeconds,
                       std::min(now + ttl_seconds, signer.not_after()));
  AZTP_ASSIGN_OR_RETURN(
      Certificate cert,
      SignCertificate(leaf, subject_key, &signer, signing_key_));
  std::vector<Certificate> out{std::move(cert)};
  out.insert(out.end(), chain_.begin(), chain_.end() - 1);
  return out;
}

Result<std::vector<Certificate>> CertificateAuthority::IssueFromCsr(
    const SpiffeId& id, const CertificateRequest& csr, int64_t ttl_seconds,
    UnixTime now) const {
  return IssueX509Svid(id, csr.public_key(), ttl_seconds, now);
}

}  // namespace aztp

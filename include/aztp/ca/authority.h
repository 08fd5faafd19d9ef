// CertificateAuthority: a trust domain's X.509 signing authority, and
// issuance of X.509-SVIDs from public keys or CSRs (SPIFFE X509-SVID §4-5).
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/crypto/key.h"
#include "aztp/spiffeid/spiffe_id.h"
#include "aztp/spiffeid/trust_domain.h"
#include "aztp/x509/builder.h"
#include "aztp/x509/certificate.h"
#include "aztp/x509/csr.h"

namespace aztp {

// CaOptions shapes a new authority.
struct CaOptions {
  KeyType key_type = KeyType::kEcP256;
  int64_t ttl_seconds = 365 * 86400;
  // with_intermediate: sign SVIDs with an intermediate CA under the root.
  bool with_intermediate = false;
};

// kBackdateSeconds is subtracted from notBefore of every issued certificate
// so that peers whose clocks lag slightly accept it at once.
inline constexpr int64_t kBackdateSeconds = 30;

// X509SvidTemplate is the leaf profile of docs/protocol.md §2.2 for `id`:
// one URI SAN, cA=FALSE, critical keyUsage digitalSignature, EKU serverAuth
// and clientAuth, valid from `not_before` to `not_after`.
CertificateTemplate X509SvidTemplate(const SpiffeId& id, UnixTime not_before,
                                     UnixTime not_after);

// CertificateAuthority signs X.509-SVIDs for one trust domain. Immutable;
// issuing is thread-safe.
class CertificateAuthority {
 public:
  // Create makes a self-signed root (cA=TRUE, keyCertSign+cRLSign,
  // URI SAN = the trust domain's SPIFFE ID) and, if asked, an intermediate
  // signed by it. When there is an intermediate, `root_key()` holds the root
  // key so that the caller may store it apart.
  static Result<CertificateAuthority> Create(const TrustDomain& td,
                                             const CaOptions& options,
                                             UnixTime now);

  // Load assembles an authority from its signing chain (signing certificate
  // first, self-signed root last) and the signing certificate's key. The
  // chain must belong to `td` and the key must match.
  static Result<CertificateAuthority> Load(const TrustDomain& td,
                                           std::vector<Certificate> chain,
                                           PrivateKey signing_key);

  const TrustDomain& trust_domain() const { return trust_domain_; }
  // chain is the signing certificate first, root last.
  const std::vector<Certificate>& chain() const { return chain_; }
  const Certificate& signing_certificate() const { return chain_.front(); }
  const Certificate& root() const { return chain_.back(); }
  const PrivateKey& signing_key() const { return signing_key_; }
  const std::optional<PrivateKey>& root_key() const { return root_key_; }

  // IssueX509Svid issues a leaf for `id` (which must be a workload ID of
  // this trust domain) over `subject_key`: one URI SAN, critical keyUsage
  // digitalSignature, EKU serverAuth+clientAuth, cA=FALSE, a random 128-bit
  // serial, notAfter = min(now + ttl, signing certificate notAfter).
  // Returns the leaf followed by the intermediates (never the root).
  Result<std::vector<Certificate>> IssueX509Svid(const SpiffeId& id,
                                                 const PublicKey& subject_key,
                                                 int64_t ttl_seconds,
                                                 UnixTime now) const;

  // IssueFromCsr issues for the CSR's key; any name in the CSR is ignored.
  Result<std::vector<Certificate>> IssueFromCsr(const SpiffeId& id,
                                                const CertificateRequest& csr,
                                                int64_t ttl_seconds,
                                                UnixTime now) const;

 private:
  CertificateAuthority(TrustDomain td, std::vector<Certificate> chain,
                       PrivateKey key)
      : trust_domain_(std::move(td)),
        chain_(std::move(chain)),
        signing_key_(std::move(key)) {}
  TrustDomain trust_domain_;
  std::vector<Certificate> chain_;
  PrivateKey signing_key_;
  std::optional<PrivateKey> root_key_;
};

}  // namespace aztp

// X.509-SVID verification (SPIFFE X509-SVID §4-5): the leaf rules and path
// validation against the bundle of the SVID's own trust domain.
#pragma once

#include <span>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/bundle/bundle.h"
#include "aztp/spiffeid/spiffe_id.h"
#include "aztp/x509/certificate.h"

namespace aztp {

// VerifiedX509Svid is an SVID chain that passed VerifyX509Svid. Only the
// verifier constructs it. Copyable.
class VerifiedX509Svid {
 public:
  const SpiffeId& id() const { return id_; }
  // chain is the presented chain, leaf first.
  const std::vector<Certificate>& chain() const { return chain_; }
  const Certificate& leaf() const { return chain_.front(); }
  // expires_at is the earliest notAfter along the verified path.
  UnixTime expires_at() const { return expires_at_; }

 private:
  friend Result<VerifiedX509Svid> VerifyX509Svid(std::span<const Certificate>,
                                                 const BundleSource&, UnixTime);
  VerifiedX509Svid(SpiffeId id, std::vector<Certificate> chain, UnixTime exp)
      : id_(std::move(id)), chain_(std::move(chain)), expires_at_(exp) {}
  SpiffeId id_;
  std::vector<Certificate> chain_;
  UnixTime expires_at_;
};

// X509SvidId checks the leaf rules of a certificate and returns its SPIFFE
// ID: cA=FALSE; keyUsage present with digitalSignature and without
// keyCertSign and cRLSign; extKeyUsage, when present, includes serverAuth and
// clientAuth; exactly one URI SAN, a SPIFFE ID with a non-empty path.
// Failures are kSvidInvalid.
Result<SpiffeId> X509SvidId(const Certificate& leaf);

// VerifyX509Svid verifies `chain` (leaf first, then intermediates, at most 8
// certificates) at time `now`: the leaf rules above, then RFC 5280 path
// validation to an X.509 authority of the leaf's own trust domain as found
// in `bundles` (kUntrustedTrustDomain when that domain has no bundle or no
// X.509 authorities). Path failures, including expiry, are kSvidInvalid.
Result<VerifiedX509Svid> VerifyX509Svid(std::span<const Certificate> chain,
                                        const BundleSource& bundles,
                                        UnixTime now);

}  // namespace aztp

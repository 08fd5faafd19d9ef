// CaDir: the on-disk layout of a trust domain's CA made by `aztp ca init`:
//   DIR/ca.pem       signing certificate first, root last (0644)
//   DIR/ca.key       the signing key, PKCS#8 (0600)
//   DIR/root.key     the root key when the CA has an intermediate (0600)
//   DIR/bundle.json  the trust domain's SPIFFE bundle (0644)
#pragma once

#include <string>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/bundle/bundle.h"
#include "aztp/ca/authority.h"

namespace aztp {

// LoadCaDir reads a CA folder; the trust domain is taken from the root's
// URI SAN.
Result<CertificateAuthority> LoadCaDir(const std::string& dir);

// CaDirFiles are the paths of the four files of a CA folder `dir`.
std::vector<std::string> CaDirFiles(const std::string& dir);

// WriteCaDir creates `dir` if needed and writes the CA's files and `bundle`;
// a root.key left by an earlier CA is removed when `ca` has no
// intermediate, so that it is never taken for this CA's root key.
Status WriteCaDir(const std::string& dir, const CertificateAuthority& ca,
                  const Bundle& bundle);

// CaBundle is the SPIFFE bundle of `ca` (its root as the only X.509
// authority) with the given sequence number.
Result<Bundle> CaBundle(const CertificateAuthority& ca, int64_t sequence);

}  // namespace aztp

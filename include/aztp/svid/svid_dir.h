// SvidDir: the on-disk layout of one workload's identity, shared by the CLI,
// the SDK agent and the proxy:
//   DIR/svid.pem     the X.509-SVID chain, leaf first (0644)
//   DIR/svid.key     its PKCS#8 private key (0600; absent if issued from a
//                    CSR whose key stays elsewhere)
//   DIR/bundle.json  the SPIFFE bundle of the SVID's trust domain (0644)
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/bundle/bundle.h"
#include "aztp/crypto/key.h"
#include "aztp/spiffeid/spiffe_id.h"
#include "aztp/x509/certificate.h"

namespace aztp {

// SvidDir is the loaded content of an identity folder.
struct SvidDir {
  SpiffeId id;                     // from the leaf's URI SAN
  std::vector<Certificate> chain;  // leaf first
  std::optional<PrivateKey> key;   // matches the leaf when present
  Bundle bundle;                   // of id.trust_domain()

  // Paths of the three files inside `dir`.
  static std::string SvidPath(const std::string& dir);
  static std::string KeyPath(const std::string& dir);
  static std::string BundlePath(const std::string& dir);
  // Paths are the three.
  static std::vector<std::string> Paths(const std::string& dir);
};

// SvidDirId is the SPIFFE ID of the SVID in `dir`/svid.pem, read without
// the key or the bundle: enough to tell whose folder it is.
Result<SpiffeId> SvidDirId(const std::string& dir);

// LoadSvidDir reads an identity folder. The leaf must satisfy the
// X.509-SVID leaf rules; when `require_key` the key file must exist and
// match the leaf. It does not verify the chain (use VerifyX509Svid).
Result<SvidDir> LoadSvidDir(const std::string& dir, bool require_key);

// WriteSvidDir creates `dir` if needed and writes the files atomically; the
// key file only when `key` is given.
Status WriteSvidDir(const std::string& dir,
                    const std::vector<Certificate>& chain,
                    const PrivateKey* key, const Bundle& bundle);

}  // namespace aztp

// CertificateRequest: PKCS#10 certificate signing requests (RFC 2986).
//
// A workload proves possession of its key by signing the request; the
// control plane takes only the public key from it and ignores every
// requested name in favour of the identity it registered.
#pragma once

#include <openssl/types.h>

struct X509_req_st;

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "aztp/base/result.h"
#include "aztp/crypto/key.h"
#include "aztp/spiffeid/spiffe_id.h"

namespace aztp {

// CertificateRequest is a parsed CSR whose self-signature has been checked.
class CertificateRequest {
 public:
  // Create builds a CSR signed by `key`, optionally carrying `id` as URI SAN.
  static Result<CertificateRequest> Create(const PrivateKey& key,
                                           const std::optional<SpiffeId>& id);
  // FromPem parses one "CERTIFICATE REQUEST" block (at most 64 KiB) and
  // verifies its signature (kBadSignature if it does not verify).
  static Result<CertificateRequest> FromPem(std::string_view pem);

  std::string ToPem() const;
  const PublicKey& public_key() const { return public_key_; }

 private:
  CertificateRequest(std::shared_ptr<X509_req_st> req, PublicKey key)
      : req_(std::move(req)), public_key_(std::move(key)) {}
  std::shared_ptr<X509_req_st> req_;
  PublicKey public_key_;
};

}  // namespace aztp

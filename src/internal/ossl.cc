#include "internal/ossl.h"

namespace aztp::internal {

Error OpensslError(Code code, std::string_view what) {
  unsigned long first = ERR_get_error();
  std::string message(what);
  if (first != 0) {
    const char* reason = ERR_reason_error_string(first);
    message += ": ";
    message += reason != nullptr ? reason : "unknown OpenSSL error";
  }
  ERR_clear_error();
  return Error(code, std::move(message));
}

const EVP_MD* SignatureDigest(SignatureAlgorithm alg) {
  switch (alg) {
    case SignatureAlgorithm::kES384:
      return EVP_sha384();
    case SignatureAlgorithm::kEdDSA:
      return nullptr;
    default:
      return EVP_sha256();
  }
}

const EVP_MD* CertificateDigest(KeyType type) {
  switch (type) {
    case KeyType::kEcP384:
      return EVP_sha384();
    case KeyType::kEd25519:
      return nullptr;
    default:
      return EVP_sha256();
  }
}

void ClearOpensslErrors() { ERR_clear_error(); }

OsslPtr<BIO> NewMemBio(std::string_view data) {
  return OsslPtr<BIO>(
      BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  if (n <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace aztp::internal

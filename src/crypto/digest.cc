#include "aztp/crypto/digest.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "internal/ossl.h"

namespace aztp {

Sha256Digest Sha256(std::span<const uint8_t> data) {
  Sha256Digest out;
  SHA256(data.data(), data.size(), out.data());
  return out;
}

Result<Bytes> RandomBytes(std::size_t n) {
  Bytes out(n);
  if (n > 0 && RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
    return internal::OpensslError(Code::kInternal, "random bytes");
  }
  return out;
}

}  // namespace aztp

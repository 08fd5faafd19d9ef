#include "aztp/base/secret.h"

#include <openssl/crypto.h>

namespace aztp::internal {

void WipeMemory(void* p, std::size_t n) {
  if (p != nullptr && n > 0) OPENSSL_cleanse(p, n);
}

bool ConstantTimeEquals(std::span<const uint8_t> a,
                        std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace aztp::internal

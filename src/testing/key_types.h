// Test support: parameterising tests over the key types aztp signs with.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "aztp/crypto/key.h"

namespace aztp::test_support {

// SigningKeyTypes is the gtest parameter set P-256, P-384, Ed25519.
inline auto SigningKeyTypes() {
  return testing::Values(KeyType::kEcP256, KeyType::kEcP384, KeyType::kEd25519);
}

// KeyTypeTestName names a parameterised test after its key type
// ("ecp256", "ecp384", "ed25519").
inline std::string KeyTypeTestName(
    const testing::TestParamInfo<KeyType>& info) {
  std::string name(KeyTypeName(info.param));
  name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
  return name;
}

}  // namespace aztp::test_support

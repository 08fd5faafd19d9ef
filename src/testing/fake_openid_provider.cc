#include "testing/fake_openid_provider.h"

#include "aztp/oidc/login.h"

namespace aztp::test_support {

Result<SecretBytes> FakeOpenIdProvider::RedeemCode(
    std::string_view code, std::string_view, const SecretBytes& verifier) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = codes_.find(std::string(code));
  // invalid_grant, as a provider answers a used or unknown code.
  if (it == codes_.end()) {
    return Error(Code::kUnauthenticated, "token endpoint: invalid_grant");
  }
  auto [token, challenge] = it->second;
  codes_.erase(it);
  if (PkceChallenge(verifier) != challenge) {
    return Error(Code::kUnauthenticated, "token endpoint: invalid_grant");
  }
  ++redeemed_;
  return SecretBytes(std::string_view(token));
}

}  // namespace aztp::test_support

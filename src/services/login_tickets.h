// The store's form of a browser login in flight (logins.h): a pending login
// between Start and the callback, and a result between the callback and
// Redeem, each a ticket (store/coordination.h) so that any replica can
// finish what another began (docs/scaling.md). The bodies are JSON written
// and read here only; reading is strict, so a damaged ticket is an error,
// never a login that differs from the one started.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/base/secret.h"
#include "aztp/encoding/json.h"
#include "aztp/services/logins.h"

namespace aztp::services::login_tickets {

// The ticket kinds.
inline constexpr const char* kPending = "login";
inline constexpr const char* kResult = "login_result";

// PendingLogin is what a callback needs of its login.
struct PendingLogin {
  LoginRequest request;
  std::string nonce;
  SecretBytes code_verifier;
};

Result<SecretBytes> EncodePending(const PendingLogin& login);
Result<PendingLogin> DecodePending(const SecretBytes& body);

Result<SecretBytes> EncodeResult(const LoginResult& result);
Result<LoginResult> DecodeResult(const SecretBytes& body);

// GetBool and GetStrings read a required boolean and array of strings.
Result<bool> GetBool(const Json& doc, std::string_view name);
Result<std::vector<std::string>> GetStrings(const Json& doc,
                                            std::string_view name);

}  // namespace aztp::services::login_tickets

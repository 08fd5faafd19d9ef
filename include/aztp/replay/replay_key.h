// ReplayKey: the one encoding of an (issuer, jti) pair that every replay
// memory keys on (protocol §4 step 7): in-process, the control plane's
// store, and Redis.
#pragma once

#include <string>
#include <string_view>

namespace aztp {

// ReplayKey joins issuer and jti unambiguously: the decimal length of the
// issuer, a colon, the issuer, then the jti (so ("a:", "b") and ("a",
// ":b") differ, whatever bytes either holds).
std::string ReplayKey(std::string_view issuer, std::string_view jti);

}  // namespace aztp

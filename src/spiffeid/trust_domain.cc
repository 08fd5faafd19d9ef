#include "aztp/spiffeid/trust_domain.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace aztp {
namespace {

constexpr std::string_view kScheme = "spiffe://";

bool IsTrustDomainChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

}  // namespace

Error TrustDomain::Reject(Code code, std::string_view what,
                          std::string_view input) {
  std::string message(what);
  message += ": ";
  message += QuoteInput(input);
  return Error(code, std::move(message));
}

Result<void> TrustDomain::CheckName(std::string_view name) {
  if (name.empty()) {
    return Error(Code::kMalformed, "trust domain is missing");
  }
  if (name.size() > kMaxNameBytes) {
    return Error(Code::kTooLarge, "trust domain exceeds the 255-byte limit");
  }
  for (char c : name) {
    if (!IsTrustDomainChar(c)) {
      return Error(Code::kMalformed,
                   "trust domain characters are limited to lowercase "
                   "letters, numbers, dots, dashes, and underscores");
    }
  }
  return Ok();
}

Result<TrustDomain> TrustDomain::Parse(std::string_view name) {
  std::string_view bare = name;
  bool has_path = false;
  if (name.starts_with(kScheme)) {
    bare = name.substr(kScheme.size());
    const size_t slash = bare.find('/');
    if (slash != std::string_view::npos) {
      has_path = true;
      bare = bare.substr(0, slash);
    }
  }
  if (Result<void> ok = CheckName(bare); !ok) {
    return Reject(ok.error().code(), ok.error().message(), name);
  }
  if (has_path) {
    return Reject(Code::kMalformed,
                  "a trust domain's SPIFFE ID cannot have a path", name);
  }
  return TrustDomain(std::string(bare));
}

std::string TrustDomain::IdString() const {
  std::string id(kScheme);
  id += name_;
  return id;
}

}  // namespace aztp

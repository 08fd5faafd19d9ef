#include "aztp/spiffeid/trust_domain.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace aztp {
namespace {

constexpr std::string_view kScheme = "spiffe://";

// kMaxQuotedBytes bounds how much caller input an error message repeats.
constexpr size_t kMaxQuotedBytes = 64;

bool IsTrustDomainChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

// Quote returns `input` cut to kMaxQuotedBytes, in double quotes, with every
// byte outside printable ASCII (and `"`, `\`) written as \xNN, so that a
// message never carries control bytes or more than the allowed prefix.
std::string Quote(std::string_view input) {
  static constexpr char kHex[] = "0123456789abcdef";
  const bool cut = input.size() > kMaxQuotedBytes;
  if (cut) {
    input = input.substr(0, kMaxQuotedBytes);
  }
  std::string out = "\"";
  for (char c : input) {
    const auto b = static_cast<uint8_t>(c);
    if (b >= 0x20 && b < 0x7f && c != '"' && c != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
    }
  }
  out += '"';
  if (cut) {
    out += " (first 64 bytes)";
  }
  return out;
}

}  // namespace

Error TrustDomain::Reject(Code code, std::string_view what,
                          std::string_view input) {
  std::string message(what);
  message += ": ";
  message += Quote(input);
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

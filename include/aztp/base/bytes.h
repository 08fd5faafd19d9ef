// Bytes: the library's byte-string type and conversions to and from text.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace aztp {

// Bytes is an owned, non-secret byte string (DER, signatures, digests).
using Bytes = std::vector<uint8_t>;

// AsBytes views the characters of `s` as bytes.
inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// AsChars views bytes as characters.
inline std::string_view AsChars(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// HexEncode returns lowercase hexadecimal.
std::string HexEncode(std::span<const uint8_t> bytes);

}  // namespace aztp

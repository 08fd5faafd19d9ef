// Strict base64 (RFC 4648 §4) and base64url (RFC 4648 §5) codecs.
//
// Decoders accept exactly one encoding of each byte string: the alphabet of
// the variant, padding only where the variant requires it, and zero bits in
// the unused part of the last character. Anything else is kMalformed.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "aztp/base/bytes.h"
#include "aztp/base/result.h"

namespace aztp {

// Base64UrlEncode encodes without padding (RFC 7515 §2 "Base64url").
std::string Base64UrlEncode(std::span<const uint8_t> bytes);
inline std::string Base64UrlEncode(std::string_view s) {
  return Base64UrlEncode(AsBytes(s));
}

// Base64UrlDecode decodes unpadded base64url; '=' is rejected.
Result<Bytes> Base64UrlDecode(std::string_view text);

// Base64Encode encodes with the standard alphabet and '=' padding.
std::string Base64Encode(std::span<const uint8_t> bytes);

// Base64Decode decodes standard, padded base64 (as in a JWK `x5c` entry).
Result<Bytes> Base64Decode(std::string_view text);

}  // namespace aztp

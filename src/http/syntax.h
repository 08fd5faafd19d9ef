// HTTP/1.1 syntax helpers shared by the server and the client (RFC 9110);
// internal to the http module.
#pragma once

#include <string>
#include <string_view>

namespace aztp::http::internal {

// ToLower lowercases ASCII letters (header names are case-insensitive).
std::string ToLower(std::string_view s);

// IsToken is true for a non-empty HTTP token (RFC 9110 §5.6.2).
bool IsToken(std::string_view s);

// IsFieldValue rejects the bytes that would end or split a header line.
bool IsFieldValue(std::string_view s);

}  // namespace aztp::http::internal

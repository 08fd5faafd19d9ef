// Hexadecimal digits, for the decoders that read them (percent-encoding,
// keys written as hex).
#pragma once

namespace aztp {

// HexDigit is the value of one hexadecimal digit (either case), -1 for
// any other character.
constexpr int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace aztp

#include "aztp/encoding/base64.h"

#include <array>

namespace aztp {

namespace {

constexpr char kStd[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrl[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<int8_t, 256> MakeTable(const char* alphabet) {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(alphabet[i])] = int8_t(i);
  return t;
}

constexpr auto kStdTable = MakeTable(kStd);
constexpr auto kUrlTable = MakeTable(kUrl);

std::string Encode(std::span<const uint8_t> in, const char* alphabet,
                   bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v =
        (uint32_t(in[i]) << 16) | (uint32_t(in[i + 1]) << 8) | in[i + 2];
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  size_t rest = in.size() - i;
  if (rest == 1) {
    uint32_t v = uint32_t(in[i]) << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (pad) out.append("==");
  } else if (rest == 2) {
    uint32_t v = (uint32_t(in[i]) << 16) | (uint32_t(in[i + 1]) << 8);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    if (pad) out.push_back('=');
  }
  return out;
}

// Decode decodes `text` (padding already removed) with `table`.
Result<Bytes> Decode(std::string_view text,
                     const std::array<int8_t, 256>& table, const char* name) {
  if (text.size() % 4 == 1) {
    return Error(Code::kMalformed, std::string(name) + ": invalid length");
  }
  Bytes out;
  out.reserve(text.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int8_t v = table[static_cast<uint8_t>(c)];
    if (v < 0) {
      return Error(Code::kMalformed, std::string(name) + ": invalid character");
    }
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(uint8_t(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) {
    return Error(Code::kMalformed,
                 std::string(name) + ": non-zero trailing bits");
  }
  return out;
}

}  // namespace

std::string Base64UrlEncode(std::span<const uint8_t> bytes) {
  return Encode(bytes, kUrl, false);
}

Result<Bytes> Base64UrlDecode(std::string_view text) {
  return Decode(text, kUrlTable, "base64url");
}

std::string Base64Encode(std::span<const uint8_t> bytes) {
  return Encode(bytes, kStd, true);
}

Result<Bytes> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return Error(Code::kMalformed, "base64: length is not a multiple of 4");
  }
  size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') {
    ++pad;
  }
  return Decode(text.substr(0, text.size() - pad), kStdTable, "base64");
}

}  // namespace aztp

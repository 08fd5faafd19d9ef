#include "aztp/base/hash.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace aztp {
namespace {

// The vectors of the SipHash paper (key 00..0f, message 00..n-1), which
// cover the empty message, partial and whole last words.
TEST(KeyedHash, SipHash24MatchesTheReferenceVectors) {
  std::array<uint8_t, 16> key;
  for (int i = 0; i < 16; ++i) key[i] = static_cast<uint8_t>(i);
  std::string message;
  for (int i = 0; i < 64; ++i) message.push_back(static_cast<char>(i));
  const std::pair<std::size_t, uint64_t> cases[] = {
      {0, 0x726fdb47dd0e0e31ull},  {1, 0x74f839c593dc67fdull},
      {7, 0xab0200f58b01d137ull},  {8, 0x93f5f5799a932462ull},
      {15, 0xa129ca6149be45e5ull}, {16, 0x3f2acc7f57c29bdbull},
      {63, 0x958a324ceb064572ull}};
  for (const auto& [size, want] : cases) {
    EXPECT_EQ(
        internal::SipHash24(key, std::string_view(message).substr(0, size)),
        want)
        << size;
  }
}

TEST(KeyedHash, UsesAKeyOtherThanZeroAndHashesEveryByte) {
  std::array<uint8_t, 16> zero{};
  EXPECT_NE(KeyedHash("aztp"), internal::SipHash24(zero, "aztp"));
  EXPECT_EQ(KeyedHash("aztp"), KeyedHash("aztp"));
  // Same length, same tail, different first byte.
  std::string a(200, 'x');
  std::string b = a;
  b[0] = 'y';
  EXPECT_NE(KeyedHash(a), KeyedHash(b));
  EXPECT_EQ(KeyedStringHash{}(a), static_cast<std::size_t>(KeyedHash(a)));
}

}  // namespace
}  // namespace aztp

#include "aztp/base/hash.h"

#include <sys/random.h>

#include <cerrno>
#include <random>

namespace aztp {

namespace {

uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

uint64_t LoadLe64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

struct SipState {
  uint64_t v0, v1, v2, v3;

  void Round() {
    v0 += v1;
    v1 = Rotl(v1, 13) ^ v0;
    v0 = Rotl(v0, 32);
    v2 += v3;
    v3 = Rotl(v3, 16) ^ v2;
    v0 += v3;
    v3 = Rotl(v3, 21) ^ v0;
    v2 += v1;
    v1 = Rotl(v1, 17) ^ v2;
    v2 = Rotl(v2, 32);
  }
  // Absorb mixes in one 64-bit message word with two rounds.
  void Absorb(uint64_t m) {
    v3 ^= m;
    Round();
    Round();
    v0 ^= m;
  }
};

// ProcessKey is drawn once, on first use. getrandom without flags blocks
// only until the kernel's pool is first seeded; should it still fail,
// std::random_device (another source of the same pool) is the fallback.
std::array<uint8_t, 16> ProcessKey() {
  std::array<uint8_t, 16> key{};
  std::size_t got = 0;
  while (got < key.size()) {
    ssize_t n = ::getrandom(key.data() + got, key.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got < key.size()) {
    std::random_device device;
    for (auto& byte : key) byte = static_cast<uint8_t>(device());
  }
  return key;
}

}  // namespace

namespace internal {

// SipHash-2-4 as specified by Aumasson and Bernstein (2012): 64-bit words
// read little-endian, two compression rounds per word, the length in the
// top byte of the last word, four finalisation rounds.
uint64_t SipHash24(const std::array<uint8_t, 16>& key, std::string_view data) {
  const uint64_t k0 = LoadLe64(key.data());
  const uint64_t k1 = LoadLe64(key.data() + 8);
  SipState s{k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull,
             k0 ^ 0x6c7967656e657261ull, k1 ^ 0x7465646279746573ull};
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const std::size_t whole = data.size() / 8 * 8;
  for (std::size_t i = 0; i < whole; i += 8) s.Absorb(LoadLe64(p + i));
  uint64_t last = static_cast<uint64_t>(data.size()) << 56;
  for (std::size_t i = whole; i < data.size(); ++i) {
    last |= static_cast<uint64_t>(p[i]) << (8 * (i - whole));
  }
  s.Absorb(last);
  s.v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) s.Round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace internal

uint64_t KeyedHash(std::string_view data) {
  static const std::array<uint8_t, 16> key = ProcessKey();
  return internal::SipHash24(key, data);
}

}  // namespace aztp

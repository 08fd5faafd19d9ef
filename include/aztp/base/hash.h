// KeyedHash: the hash for containers keyed by text a peer chooses.
//
// std::hash<std::string_view> is, in libstdc++, an unkeyed Murmur-style
// hash with a fixed seed: anyone can compute it offline and search for
// many keys that share a bucket, turning each lookup of a hash table into
// a long scan (hash flooding). KeyedHash is SipHash-2-4, a pseudorandom
// function, under a 128-bit key drawn once per process from the operating
// system's CSPRNG: without the key a peer cannot tell which keys collide.
// Use it (KeyedStringHash) wherever an unordered container is keyed by
// untrusted input: JSON member names, JWS headers, rate-limit keys, jtis.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace aztp {

// KeyedHash hashes all of `data` under this process's random key.
uint64_t KeyedHash(std::string_view data);

// KeyedStringHash is KeyedHash as the hasher of an unordered container;
// transparent, so that lookups by string_view copy nothing (use it with
// std::equal_to<>).
struct KeyedStringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view data) const noexcept {
    return static_cast<std::size_t>(KeyedHash(data));
  }
};

namespace internal {
// SipHash24 is SipHash-2-4 of `data` under `key` (exposed for its test
// vectors).
uint64_t SipHash24(const std::array<uint8_t, 16>& key, std::string_view data);
}  // namespace internal

}  // namespace aztp

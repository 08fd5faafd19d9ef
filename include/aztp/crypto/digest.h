// Digests and randomness used across the library.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "aztp/base/bytes.h"
#include "aztp/base/result.h"

namespace aztp {

// Sha256Digest is a SHA-256 output.
using Sha256Digest = std::array<uint8_t, 32>;

// Sha256 hashes `data` (FIPS 180-4).
Sha256Digest Sha256(std::span<const uint8_t> data);

// RandomBytes returns `n` bytes from OpenSSL's CSPRNG.
Result<Bytes> RandomBytes(std::size_t n);

}  // namespace aztp

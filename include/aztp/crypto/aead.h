// Authenticated encryption of secrets at rest: AES-256-GCM (NIST SP
// 800-38D) with a random 96-bit nonce per message. Used to seal private
// keys under a key-encryption key before they leave the process for a
// shared database (docs/scaling.md, "Signing keys").
#pragma once

#include <cstddef>
#include <string_view>

#include "aztp/base/bytes.h"
#include "aztp/base/result.h"
#include "aztp/base/secret.h"

namespace aztp {

// kSealKeyBytes is the size of a sealing key (AES-256).
inline constexpr std::size_t kSealKeyBytes = 32;

// Seal encrypts and authenticates `plaintext`, binding `context` (e.g. the
// name of what is sealed, so that a sealed value cannot be moved to
// another row): version byte 1, nonce (12), ciphertext, tag (16).
// kInvalidArgument unless the key is kSealKeyBytes long.
Result<Bytes> Seal(const SecretBytes& key, const SecretBytes& plaintext,
                   std::string_view context);

// Unseal reverses Seal: kBadSignature when the value or its context was
// changed or another key sealed it, kMalformed when it is not a sealed
// value at all.
Result<SecretBytes> Unseal(const SecretBytes& key,
                           std::span<const uint8_t> sealed,
                           std::string_view context);

}  // namespace aztp

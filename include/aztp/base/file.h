// Files: bounded reads and atomic writes, with private files created 0600.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "aztp/base/result.h"
#include "aztp/base/secret.h"

namespace aztp {

// ReadFile reads a whole file of at most `max_bytes` (kTooLarge beyond,
// kIo when it cannot be read).
Result<std::string> ReadFile(const std::string& path,
                             std::size_t max_bytes = 4 << 20);

// ReadSecretFile reads a private file (e.g. a PKCS#8 key) into SecretBytes.
Result<SecretBytes> ReadSecretFile(const std::string& path,
                                   std::size_t max_bytes = 64 << 10);

// WriteFile replaces `path` atomically (temporary file, fsync, rename) with
// permission bits `mode`.
Status WriteFile(const std::string& path, std::string_view data,
                 unsigned mode = 0644);

// WriteSecretFile is WriteFile with mode 0600; the file never exists with
// wider permissions, not even briefly.
Status WriteSecretFile(const std::string& path, const SecretBytes& data);

}  // namespace aztp

// Meta values: small named integers kept beside the records (e.g. the
// revocation sequence, the highest audit seq a control plane acknowledged).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "aztp/base/result.h"

namespace aztp {

class MetaRepository {
 public:
  virtual ~MetaRepository() = default;

  virtual Result<std::optional<int64_t>> GetMeta(const std::string& name) = 0;
  // PutMeta inserts or replaces a value.
  virtual Status PutMeta(const std::string& name, int64_t value) = 0;
};

}  // namespace aztp

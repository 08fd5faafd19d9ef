// The `store:` section of aztpd's configuration (docs/scaling.md,
// "Configuration"). Not installed.
#pragma once

#include "aztp/config/aztpd_config.h"
#include "config/yaml_fields.h"

namespace aztp::internal {

// StoreInto reads `store`.
Field StoreInto(StoreConfig& store);

// ValidateStore checks `store`: PostgreSQL needs a connection string and a
// key-encryption key file; the pool and timeouts in range.
Status ValidateStore(const StoreConfig& store);

}  // namespace aztp::internal

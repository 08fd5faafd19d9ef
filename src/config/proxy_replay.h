// The `replay:` section of aztp-proxy's configuration (docs/proxy.md,
// "Shared replay memory"). Not installed.
#pragma once

#include "aztp/config/proxy_config.h"
#include "config/yaml_fields.h"

namespace aztp::internal {

// ReplayInto reads `replay`.
Field ReplayInto(ProxyConfig::Replay& replay);

}  // namespace aztp::internal

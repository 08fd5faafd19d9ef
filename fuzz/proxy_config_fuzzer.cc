// Fuzzes aztp-proxy's YAML configuration parser (src/config): whatever the
// file holds, parsing returns a Result (yaml-cpp's exceptions never escape),
// every error names what it is about, and an accepted configuration has its
// required keys and keeps the ranges the parser promises.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "aztp/config/proxy_config.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = aztp::ParseProxyConfig(text);
  if (!config) {
    Check(!config.error().message().empty());
    Check(config.error().message().find('\n') == std::string::npos);
    return 0;
  }
  const aztp::ProxyConfig& c = *config;
  Check(!c.identity.empty() && !c.control_plane.url.empty() &&
        !c.control_plane.bundle_file.empty() && !c.audit.db.empty());
  Check(c.inbound.has_value() || c.egress.has_value());
  if (c.inbound) {
    Check(!c.inbound->listen.empty() && !c.inbound->upstream.empty());
    Check(!c.inbound->routes.empty());
    for (const auto& route : c.inbound->routes) {
      Check(!route.path.empty() && route.path[0] == '/');
      Check(!route.action.empty() && route.action.size() <= 256);
      Check(!route.method.empty() && !route.resource.empty());
    }
  }
  if (c.egress) {
    Check(!c.egress->listen.empty());
    Check(c.egress->root_ttl_seconds >= 1 &&
          c.egress->root_ttl_seconds <= 3600);
    Check(!c.egress->max_depth ||
          (*c.egress->max_depth >= 0 && *c.egress->max_depth <= 15));
  }
  Check(c.threads >= 1 && c.threads <= 64);
  Check(c.max_body_bytes >= 0 && c.max_body_bytes <= (int64_t{1} << 40));
  Check(c.grace_seconds >= 0 && c.grace_seconds <= 300);
  Check(c.replay_capacity >= 1024 && c.replay_capacity <= (1u << 26));
  return 0;
}

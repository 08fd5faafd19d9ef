// Fuzzes aztpd's YAML configuration parser (src/config): whatever the file
// holds, parsing returns a Result (yaml-cpp's exceptions never escape) and
// an accepted configuration passes validation.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "aztp/config/aztpd_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = aztp::ParseAztpdConfig(text);
  if (config) {
    if (!aztp::ValidateAztpdConfig(*config)) std::abort();
    if (config->threads < 1 || config->threads > 64) std::abort();
    const auto& rotation = config->control_plane.rotation;
    if (!(rotation.prepare_at < rotation.activate_at)) std::abort();
  } else if (config.error().message().empty()) {
    std::abort();
  }
  return 0;
}

// Durations as operators write them: `90s`, `15m`, `1h`, `30d`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "aztp/base/result.h"

namespace aztp {

// ParseDuration parses `<digits><unit>` with unit one of s, m, h, d into
// seconds. The number must be positive, without sign, spaces or leading
// zeros, and the total at most 100 years. Anything else is kInvalidArgument.
Result<int64_t> ParseDuration(std::string_view text);

// FormatDuration writes `seconds` in the largest unit that divides it.
std::string FormatDuration(int64_t seconds);

}  // namespace aztp

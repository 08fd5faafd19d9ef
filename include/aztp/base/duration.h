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

// ParseDurationOrZero is ParseDuration that also takes a zero, written
// with its unit (`0s`, `0m`, `0h`, `0d`), for settings where none is a
// meaning of its own (a grace period, a clock skew). A bare `0` is refused
// like any bare number: one syntax everywhere.
Result<int64_t> ParseDurationOrZero(std::string_view text);

// FormatDuration writes `seconds` in the largest unit that divides it.
std::string FormatDuration(int64_t seconds);

}  // namespace aztp

#include "aztp/base/duration.h"

namespace aztp {

namespace {
constexpr int64_t kMaxSeconds = int64_t{100} * 366 * 86400;
}

Result<int64_t> ParseDuration(std::string_view text) {
  // The input is quoted, as operators type it in flags and files and the
  // commonest mistake is a bare number: the example shows the unit.
  auto bad = [&] {
    return Error(
        Code::kInvalidArgument,
        QuoteInput(text) + " is not a duration; write e.g. 60s, 15m, 1h");
  };
  auto too_long = [&] {
    return Error(Code::kInvalidArgument,
                 QuoteInput(text) + " is longer than 100 years");
  };
  if (text.size() < 2 || text.size() > 16) return bad();
  int64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    default:
      return bad();
  }
  std::string_view digits = text.substr(0, text.size() - 1);
  if (digits[0] == '0') return bad();
  int64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return bad();
    n = n * 10 + (c - '0');
    if (n > kMaxSeconds) return too_long();
  }
  if (n * unit > kMaxSeconds) return too_long();
  return n * unit;
}

Result<int64_t> ParseDurationOrZero(std::string_view text) {
  if (text.size() == 2 && text[0] == '0' &&
      std::string_view("smhd").find(text[1]) != std::string_view::npos) {
    return 0;
  }
  return ParseDuration(text);
}

std::string FormatDuration(int64_t seconds) {
  if (seconds > 0 && seconds % 86400 == 0) {
    return std::to_string(seconds / 86400) + "d";
  }
  if (seconds > 0 && seconds % 3600 == 0) {
    return std::to_string(seconds / 3600) + "h";
  }
  if (seconds > 0 && seconds % 60 == 0) {
    return std::to_string(seconds / 60) + "m";
  }
  return std::to_string(seconds) + "s";
}

}  // namespace aztp

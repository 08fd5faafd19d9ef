// Dates of policy conditions and contexts: RFC 3339 timestamps.
#include <cstdint>
#include <optional>

#include "aztp/policy/policy.h"

namespace aztp {

namespace {

// DaysFromCivil counts days from 1970-01-01 to the proleptic Gregorian date
// y-m-d, using 400-year eras of 146097 days that start on March 1.
int64_t DaysFromCivil(int64_t y, int m, int d) {
  if (m <= 2) y -= 1;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t year_of_era = y - era * 400;               // [0, 399]
  const int64_t month_from_march = m > 2 ? m - 3 : m + 9;  // [0, 11]
  const int64_t day_of_year = (153 * month_from_march + 2) / 5 + d - 1;
  const int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

// Digits reads `count` decimal digits at `text[pos]`.
std::optional<int> Digits(std::string_view text, std::size_t pos,
                          std::size_t count) {
  if (pos + count > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace

Result<PolicyTime> ParseRfc3339(std::string_view text) {
  auto bad = [&](std::string_view what) {
    return Error(Code::kMalformed,
                 "date " + QuoteInput(text) + ": " + std::string(what));
  };
  // YYYY-MM-DDTHH:MM:SS is 19 bytes.
  const auto year = Digits(text, 0, 4);
  const auto month = Digits(text, 5, 2);
  const auto day = Digits(text, 8, 2);
  const auto hour = Digits(text, 11, 2);
  const auto minute = Digits(text, 14, 2);
  const auto second = Digits(text, 17, 2);
  if (text.size() < 20 || !year || !month || !day || !hour || !minute ||
      !second || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
      text[16] != ':') {
    return bad("must be YYYY-MM-DDTHH:MM:SS[.fraction] and a zone");
  }
  if (*month < 1 || *month > 12) return bad("month out of range");
  if (*day < 1 || *day > DaysInMonth(*year, *month)) {
    return bad("day out of range");
  }
  if (*hour > 23 || *minute > 59) return bad("time out of range");
  if (*second > 59) return bad("seconds out of range (no leap seconds)");
  std::size_t pos = 19;
  int32_t nanos = 0;
  if (text[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (++digits > 9) return bad("more than 9 fraction digits");
      nanos = nanos * 10 + (text[pos] - '0');
      ++pos;
    }
    if (digits == 0) return bad("empty fraction");
    for (std::size_t i = digits; i < 9; ++i) nanos *= 10;
  }
  int64_t offset = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const auto oh = Digits(text, pos + 1, 2);
    const auto om = Digits(text, pos + 4, 2);
    if (!oh || !om || text[pos + 3] != ':') {
      return bad("zone offset must be +HH:MM or -HH:MM");
    }
    if (*oh > 23 || *om > 59) return bad("zone offset out of range");
    offset = (*oh * 60 + *om) * 60;
    if (text[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return bad("missing zone (Z or +HH:MM)");
  }
  if (pos != text.size()) return bad("trailing characters");
  const int64_t days = DaysFromCivil(*year, *month, *day);
  PolicyTime t;
  t.seconds = days * 86400 + *hour * 3600 + *minute * 60 + *second - offset;
  t.nanos = nanos;
  return t;
}

}  // namespace aztp

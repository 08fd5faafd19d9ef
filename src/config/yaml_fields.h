// Strict reading of YAML configuration files, shared by the parsers of
// src/config (aztpd's and aztp-proxy's); not installed.
//
// A file is one YAML document whose mappings are read key by key: every
// known key has a Field that reads and checks its value, and an unknown or
// repeated key, a value of the wrong type or a value out of range is an
// error whose message starts with the key's path ("ca.rotation.prepare_at",
// "inbound.routes[2].action"). Wrong types and unknown keys are kMalformed,
// values out of range kInvalidArgument.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/file.h"
#include "aztp/base/result.h"
#include "aztp/config/aztpd_config.h"

namespace aztp::internal {

inline constexpr int64_t kDay = 86400;
// kMaxListEntries is the default bound of a list of strings.
inline constexpr std::size_t kMaxListEntries = 16;
// kTopLevel names the file as a whole, where an error concerns no one key.
inline constexpr const char* kTopLevel = "configuration";
// kMaxPlainInt is the largest integer ReadInt accepts by default (12
// digits); larger values are "out of range".
inline constexpr int64_t kMaxPlainInt = 999'999'999'999;
// kMaxWideInt is the largest integer ReadInt can accept at all (18 digits).
inline constexpr int64_t kMaxWideInt = 999'999'999'999'999'999;

// Malformed and Invalid build the errors of a key: "<path>: <message>".
Error Malformed(const std::string& path, const std::string& message);
Error Invalid(const std::string& path, const std::string& message);

// Child is the path of member `key` of the mapping at `path` (keys that do
// not look like keys are quoted); Item that of entry `index` of a list.
std::string Child(const std::string& path, std::string_view key);
std::string Item(const std::string& path, std::size_t index);

bool AllDigits(std::string_view s);

// ---- typed values ----

// ReadString accepts any scalar that is not null: plain or quoted.
Result<std::string> ReadString(const YAML::Node& n, const std::string& path);

// ReadInt accepts a plain decimal integer without sign or leading zeros:
// quoting a number makes it a string, and hex, octal or "1_000" are typos
// more often than intent. Values above `max` (at most kMaxWideInt) are
// kInvalidArgument "is out of range".
Result<int64_t> ReadInt(const YAML::Node& n, const std::string& path,
                        int64_t max = kMaxPlainInt);

// ReadNumber accepts a plain decimal number: digits, optionally a fraction.
Result<double> ReadNumber(const YAML::Node& n, const std::string& path);

// ReadBool accepts the plain scalars true and false (not yes/no/on/off,
// and not quoted).
Result<bool> ReadBool(const YAML::Node& n, const std::string& path);

// ReadDuration accepts "90s", "15m", "1h", "30d" (base/duration.h); a bare
// number is refused because its unit would be a guess. With `allow_zero`,
// 0 with a unit ("0s") is accepted too.
Result<int64_t> ReadDuration(const YAML::Node& n, const std::string& path,
                             bool allow_zero = false);

// ReadIntField and ReadDurationField are ReadInt and ReadDuration for an
// int: above INT_MAX is "out of range".
Result<int> ReadIntField(const YAML::Node& n, const std::string& path);
Result<int> ReadDurationField(const YAML::Node& n, const std::string& path);

// ReadStringList accepts a list of at most `max_entries` strings; null is
// the empty list.
Result<std::vector<std::string>> ReadStringList(
    const YAML::Node& n, const std::string& path,
    std::size_t max_entries = kMaxListEntries);

// ---- mappings ----

// Field reads the value of one known key into the configuration.
using Field = std::function<Status(const YAML::Node&, const std::string&)>;
struct Key {
  std::string_view name;
  Field read;
};

// ReadMapping applies `keys` to the members of mapping `n` (the whole file
// when `path` is empty); a missing section (null) keeps every default.
Status ReadMapping(const YAML::Node& n, const std::string& path,
                   const std::vector<Key>& keys);

// Section is the Field of a nested mapping.
Field Section(std::vector<Key> keys);

// OptionalSection is the Field of a section whose presence matters:
// present, even empty, it makes `field` hold a T with its defaults, whose
// keys are `keys(value)`.
template <typename T, typename Keys>
Field OptionalSection(std::optional<T>& field, Keys keys) {
  return
      [&field, keys](const YAML::Node& n, const std::string& path) -> Status {
        // Not emplace(): clang finds a nested struct with default member
        // initializers not default-constructible (is_constructible_v is
        // evaluated, and kept, before the enclosing class is complete).
        T& value = field.emplace(T{});
        return ReadMapping(n, path, keys(value));
      };
}

// Setters for the common shapes.
Field IntInto(int& field);
Field DurationInto(int& field);
Field DurationInto(int64_t& field);
Field NumberInto(double& field);
Field BoolInto(bool& field);
Field StringListInto(std::vector<std::string>& field);
Field NonEmptyStringInto(std::string& field);
// FileInto reads a file name: not empty, without NUL bytes.
Field FileInto(std::string& field);
Field LogLevelInto(LogLevel& field);
Field LogFormatInto(LogFormat& field);

// ---- ranges ----

// IntWithin and DurationWithin check lo <= v <= hi, naming `path`.
Status IntWithin(int64_t v, int64_t lo, int64_t hi, const std::string& path);
Status DurationWithin(int64_t v, int64_t lo, int64_t hi,
                      const std::string& path);

// IntWithinInto reads an integer that must lie in [lo, hi] (hi at most
// kMaxWideInt).
template <typename T>
Field IntWithinInto(T& field, int64_t lo, int64_t hi) {
  return
      [&field, lo, hi](const YAML::Node& n, const std::string& path) -> Status {
        AZTP_ASSIGN_OR_RETURN(int64_t v, ReadInt(n, path, kMaxWideInt));
        AZTP_RETURN_IF_ERROR(IntWithin(v, lo, hi, path));
        field = static_cast<T>(v);
        return Ok();
      };
}

// DurationWithinInto reads a duration, in seconds, that must lie in
// [lo, hi]; "0s" is accepted when lo is 0.
template <typename T>
Field DurationWithinInto(T& field, int64_t lo, int64_t hi) {
  return
      [&field, lo, hi](const YAML::Node& n, const std::string& path) -> Status {
        AZTP_ASSIGN_OR_RETURN(int64_t v, ReadDuration(n, path, lo == 0));
        AZTP_RETURN_IF_ERROR(DurationWithin(v, lo, hi, path));
        field = static_cast<T>(v);
        return Ok();
      };
}

// ---- the document ----

// ReadYamlDocument checks that `text` is at most `max_bytes` (kTooLarge),
// holds no NUL byte and at most one YAML document, then hands its root to
// `read`. yaml-cpp reports every problem by throwing; here each becomes a
// kMalformed error about the "configuration".
Status ReadYamlDocument(std::string_view text, std::size_t max_bytes,
                        const std::function<Status(const YAML::Node&)>& read);

// ParseConfig reads one document into a Config with `read` (through
// ReadYamlDocument), then checks the whole with `validate`.
template <typename Config>
Result<Config> ParseConfig(std::string_view text, std::size_t max_bytes,
                           Status (*read)(const YAML::Node&, Config&),
                           Status (*validate)(const Config&)) {
  Config config;
  AZTP_RETURN_IF_ERROR(ReadYamlDocument(
      text, max_bytes,
      [&](const YAML::Node& root) { return read(root, config); }));
  AZTP_RETURN_IF_ERROR(validate(config));
  return config;
}

// LoadConfig reads the file at `path` (kIo when it cannot be read,
// kTooLarge above `max_bytes`) and parses it with `parse`; a parse error is
// prefixed with `path`.
template <typename Config>
Result<Config> LoadConfig(const std::string& path, std::size_t max_bytes,
                          Result<Config> (*parse)(std::string_view)) {
  AZTP_ASSIGN_OR_RETURN(std::string text, ReadFile(path, max_bytes));
  auto config = parse(text);
  if (!config) return config.error().WithContext(path);
  return config;
}

// ---- network addresses ----

// ValidListen: `hp` is an address to bind, host:port or [v6]:port (port
// 0 = any), as http::ParseListenAddress reads it.
bool ValidListen(std::string_view hp);

}  // namespace aztp::internal

// Strict JSON (RFC 8259) parsing for untrusted input.
//
// `ParseJson` rejects what a lenient parser would silently accept: duplicate
// object members (RFC 8259 §4 leaves them undefined; SPIFFE bundle maps and
// JOSE headers must reject them), invalid UTF-8 and unpaired surrogate
// escapes, a byte-order mark, trailing data, and documents beyond the size or
// nesting limits. The DOM type is nlohmann's insertion-ordered JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "aztp/base/result.h"

namespace aztp {

// Json is the library's JSON document type (members keep insertion order).
using Json = nlohmann::ordered_json;

// JsonLimits bounds the work spent on one document.
struct JsonLimits {
  std::size_t max_bytes = 1 << 20;  // whole document
  int max_depth = 32;               // nested arrays/objects
};

// ParseJson parses one JSON document strictly. Errors are kMalformed, or
// kTooLarge when a limit is exceeded.
Result<Json> ParseJson(std::string_view text, const JsonLimits& limits = {});

// DumpJson serialises compactly; invalid UTF-8 cannot occur in documents
// built by the library, and is replaced rather than thrown on.
std::string DumpJson(const Json& value, int indent = -1);

// WrongMemberType is the one error of a member of the wrong type, for every
// reader of JSON objects: kMalformed, `member "<member>" must be <want>`
// (want: "a string", "an integer or null", ...).
Error WrongMemberType(std::string_view member, std::string_view want);

// Typed member access for parsed objects. Each returns kMalformed naming the
// member when it is missing or has the wrong type.
Result<std::string> GetString(const Json& object, std::string_view member);
Result<int64_t> GetInt(const Json& object, std::string_view member);
// GetOptional* return nullopt when the member is absent, an error when it is
// present with the wrong type.
Result<std::optional<std::string>> GetOptionalString(const Json& object,
                                                     std::string_view member);
Result<std::optional<int64_t>> GetOptionalInt(const Json& object,
                                              std::string_view member);

// IsInteger is true for JSON numbers written without fraction or exponent
// that fit in int64.
bool IsInteger(const Json& value);

}  // namespace aztp

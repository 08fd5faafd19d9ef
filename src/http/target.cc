#include "aztp/http/target.h"

#include <string>

#include "aztp/base/hex.h"

namespace aztp::http {

namespace {

Error Refuse(std::string_view what, std::string_view input) {
  return Error(Code::kMalformed,
               "request target " + QuoteInput(input) + " " + std::string(what));
}

bool IsAlnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

// IsUnreserved: RFC 3986 §2.3.
bool IsUnreserved(unsigned char c) {
  return IsAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// IsPlainPathChar: a pchar other than a percent-encoding (RFC 3986 §3.3),
// without ';', which aztp refuses in paths.
bool IsPlainPathChar(unsigned char c) {
  if (IsUnreserved(c)) return true;
  switch (c) {
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case '=':
    case ':':
    case '@':
      return true;
    default:
      return false;
  }
}

// DecodeAt reads the percent-encoding at s[i] ('%'), or -1 when it is not
// '%' followed by two hexadecimal digits.
int DecodeAt(std::string_view s, std::size_t i) {
  if (i + 2 >= s.size()) return -1;
  const int hi = HexDigit(s[i + 1]);
  const int lo = HexDigit(s[i + 2]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// CheckSegment checks one non-empty segment of `path` (which is quoted in
// errors).
Status CheckSegment(std::string_view segment, std::string_view path) {
  for (std::size_t i = 0; i < segment.size(); ++i) {
    const auto c = static_cast<unsigned char>(segment[i]);
    if (c == '%') {
      const int v = DecodeAt(segment, i);
      if (v < 0) return Refuse("has a malformed percent-encoding", path);
      // An encoded '.' is never needed, and is how dot segments hide
      // ("%2e%2e", ".%2E").
      if (v == '.') return Refuse("has an encoded '.'", path);
      if (v == '/' || v == '\\') {
        return Refuse("has an encoded '/' or '\\'", path);
      }
      if (v == ';') return Refuse("has an encoded ';'", path);
      if (v < 0x20 || v == 0x7f) {
        return Refuse("has an encoded NUL or control byte", path);
      }
      if (IsUnreserved(static_cast<unsigned char>(v))) {
        return Refuse("has a percent-encoded unreserved character", path);
      }
      i += 2;
      continue;
    }
    if (c == ';') {
      return Refuse("has ';' (path parameters are refused)", path);
    }
    if (c == '\\') return Refuse("has a backslash", path);
    if (c < 0x21 || c > 0x7e) {
      return Refuse("has a NUL, control, space or non-ASCII byte", path);
    }
    if (!IsPlainPathChar(c)) {
      return Refuse("has a character that must be percent-encoded", path);
    }
  }
  if (segment == "." || segment == "..") {
    return Refuse("has a dot segment (\".\" or \"..\")", path);
  }
  return Ok();
}

}  // namespace

Status CheckPath(std::string_view path) {
  if (path.empty() || path.front() != '/') {
    return Refuse("must start with '/'", path);
  }
  if (path.size() > kMaxTargetBytes) {
    return Error(Code::kTooLarge, "request target is longer than " +
                                      std::to_string(kMaxTargetBytes) +
                                      " bytes");
  }
  std::size_t start = 1;
  while (start < path.size()) {
    std::size_t slash = path.find('/', start);
    const bool last = slash == std::string_view::npos;
    std::string_view segment =
        path.substr(start, last ? std::string_view::npos : slash - start);
    if (segment.empty()) return Refuse("has an empty segment (\"//\")", path);
    AZTP_RETURN_IF_ERROR(CheckSegment(segment, path));
    if (last) break;
    start = slash + 1;  // a final '/' leaves start == size: accepted
  }
  return Ok();
}

Status CheckOriginTarget(std::string_view target) {
  if (target.size() > kMaxTargetBytes) {
    return Error(Code::kTooLarge, "request target is longer than " +
                                      std::to_string(kMaxTargetBytes) +
                                      " bytes");
  }
  const std::size_t q = target.find('?');
  AZTP_RETURN_IF_ERROR(CheckPath(target.substr(0, q)));
  if (q == std::string_view::npos) return Ok();
  std::string_view query = target.substr(q + 1);
  for (std::size_t i = 0; i < query.size(); ++i) {
    const auto c = static_cast<unsigned char>(query[i]);
    if (c == '%') {
      if (DecodeAt(query, i) < 0) {
        return Refuse("has a malformed percent-encoding in its query", target);
      }
      i += 2;
      continue;
    }
    // query = *( pchar / "/" / "?" ), RFC 3986 §3.4; ';' is a sub-delim.
    if (!IsPlainPathChar(c) && c != ';' && c != '/' && c != '?') {
      return Refuse("has a query character that must be percent-encoded",
                    target);
    }
  }
  return Ok();
}

}  // namespace aztp::http

// Request targets the way aztp routes them: one canonical spelling of each
// path, so that what a route matched is what the application behind it
// resolves (docs/proxy.md "What the proxy accepts").
//
// A path is a sequence of RFC 3986 §3.3 `pchar`s and '/'. On top of that
// grammar aztp refuses every spelling that a server, framework or file
// system behind the proxy may resolve differently from its bytes:
//   * dot segments ("." and "..", RFC 3986 §3.3 and §5.2.4), plain or
//     percent-encoded ("%2e", ".%2E", ...);
//   * percent-encoded '/', '\', ';', NUL and control bytes, and
//     percent-encoded unreserved characters (RFC 3986 §2.3: "%61" is "a",
//     which producers should never encode, §6.2.2.2);
//   * malformed percent-encoding ("%", "%4", "%zz");
//   * empty segments ("//") other than one final '/';
//   * ';' (path parameters, which some frameworks strip from each
//     segment: "/admin;x/y" is "/admin/y" to them and not to a router);
//   * '\', NUL, control bytes, whitespace and bytes above 0x7e (RFC 9112
//     §3.2 requires them percent-encoded).
// Such a target is refused (400) rather than rewritten.
#pragma once

#include <cstddef>
#include <string_view>

#include "aztp/base/result.h"

namespace aztp::http {

// kMaxTargetBytes bounds a request target the proxy accepts.
inline constexpr std::size_t kMaxTargetBytes = 8192;

// CheckPath accepts a canonical absolute path as described above: it
// starts with '/', may end with one '/' and is otherwise made of non-empty
// segments. Errors are kMalformed, naming the rule the path breaks (the
// path itself is quoted with QuoteInput).
Status CheckPath(std::string_view path);

// CheckOriginTarget accepts an origin-form request target (RFC 9112
// §3.2.1): a path accepted by CheckPath, then optionally '?' and a query of
// RFC 3986 §3.4 characters with well-formed percent-encoding. No fragment,
// at most kMaxTargetBytes. Errors are kMalformed.
Status CheckOriginTarget(std::string_view target);

}  // namespace aztp::http

// Percent-encoding (RFC 3986 §2.1) and the application/x-www-form-urlencoded
// form of query strings and request bodies (URL Standard §5): one encoder
// and one decoder for every query and form aztp writes or reads.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aztp::http {

// PercentEncode writes every byte but the RFC 3986 unreserved characters
// (ALPHA, DIGIT, "-", ".", "_", "~") as %XX, upper-case hex.
std::string PercentEncode(std::string_view s);

// PercentDecode decodes %XX escapes and, as forms do, '+' as a space; a
// '%' not followed by two hexadecimal digits is nullopt.
std::optional<std::string> PercentDecode(std::string_view s);

// FormEncode writes `pairs` as name=value&..., both percent-encoded, in
// the order given (empty values included).
std::string FormEncode(
    const std::vector<std::pair<std::string, std::string>>& pairs);

// WithQuery appends `pairs`, form-encoded, to `url`'s query: after '?',
// or after '&' when the URL has a query already (RFC 3986 §3.4).
std::string WithQuery(
    std::string_view url,
    const std::vector<std::pair<std::string, std::string>>& pairs);

// ParseForm splits `a=b&c=d` into decoded pairs: the last value of a
// repeated name wins, a name without '=' has an empty value, empty pairs
// are skipped. False when an escape is bad.
bool ParseForm(std::string_view form, std::map<std::string, std::string>& out);
// ParseFormOnce is ParseForm for OAuth 2.0 requests, whose parameters must
// not be repeated (RFC 6749 §3.1): false for a repeated name too.
bool ParseFormOnce(std::string_view form,
                   std::map<std::string, std::string>& out);

}  // namespace aztp::http

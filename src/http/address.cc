#include "aztp/http/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "aztp/http/target.h"

namespace aztp::http {

namespace {

// kMaxHostBytes: a DNS name has at most 253 bytes in text (RFC 1035
// §2.3.4: 255 on the wire).
constexpr std::size_t kMaxHostBytes = 253;
// kMaxPortDigits: "65535". More digits, even leading zeros, are refused,
// as aztp always did.
constexpr std::size_t kMaxPortDigits = 5;

constexpr std::string_view kHttp = "http://";
constexpr std::string_view kHttps = "https://";

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '-';
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// CheckHost says why `host` (without brackets) is not a host, or nullptr.
const char* CheckHost(std::string_view host, bool bracketed) {
  if (host.empty()) return "has no host";
  if (bracketed) {
    // inet_pton reads a C string: an embedded NUL would cut it short.
    in6_addr addr;
    if (host.size() >= INET6_ADDRSTRLEN ||
        host.find('\0') != std::string_view::npos ||
        inet_pton(AF_INET6, std::string(host).c_str(), &addr) != 1) {
      return "has no IPv6 address between its brackets";
    }
    return nullptr;
  }
  if (host.find(':') != std::string_view::npos) {
    return "has an IPv6 address without brackets (write [address]:port)";
  }
  if (host.size() > kMaxHostBytes) return "has a host longer than 253 bytes";
  if (!std::all_of(host.begin(), host.end(), IsHostChar)) {
    return "has a host that is not a DNS name or an IP address (letters, "
           "digits, '.' and '-', or an IPv6 address in brackets)";
  }
  return nullptr;
}

// CheckPort reads the decimal `digits` into `port`, or says why not.
const char* CheckPort(std::string_view digits, bool any_port, uint16_t& port) {
  if (digits.empty()) return "has an empty port";
  if (!std::all_of(digits.begin(), digits.end(), IsDigit)) {
    return "has a port that is not decimal digits";
  }
  unsigned value = 0;
  if (digits.size() <= kMaxPortDigits) {
    std::from_chars(digits.data(), digits.data() + digits.size(), value);
  }
  if (digits.size() > kMaxPortDigits || value > 65535 ||
      (value == 0 && !any_port)) {
    return any_port ? "has a port out of range (0 to 65535)"
                    : "has a port out of range (1 to 65535)";
  }
  port = static_cast<uint16_t>(value);
  return nullptr;
}

// Authority is "host[:port]" read: `has_port` says whether a port was
// written.
struct Authority {
  HostPort address;
  bool has_port = false;
};

// ReadAuthority reads "host", "host:port", "[v6]" or "[v6]:port" into
// `out`, or says why not.
const char* ReadAuthority(std::string_view text, bool any_port,
                          Authority& out) {
  std::string_view host = text;
  std::optional<std::string_view> port;
  const bool bracketed = !text.empty() && text.front() == '[';
  if (bracketed) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return "has no ']' closing its IPv6 address";
    }
    host = text.substr(1, close - 1);
    std::string_view after = text.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "has more than ':port' after ']'";
      port = after.substr(1);
    }
  } else if (const std::size_t colon = text.rfind(':');
             colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (const char* why = CheckHost(host, bracketed)) return why;
  out.address.host = std::string(host);
  out.has_port = port.has_value();
  if (port) return CheckPort(*port, any_port, out.address.port);
  return nullptr;
}

Error Invalid(std::string_view what, std::string_view text,
              std::string_view why, Code code = Code::kInvalidArgument) {
  return Error(code, std::string(what) + " " + QuoteInput(text) + " " +
                         std::string(why));
}

Result<HostPort> ParseAddress(std::string_view text, bool any_port) {
  Authority a;
  if (const char* why = ReadAuthority(text, any_port, a)) {
    return Invalid("address", text, why);
  }
  if (!a.has_port) return Invalid("address", text, "has no port (host:port)");
  return a.address;
}

// ParseAbsolute is ParseUrl, or ParseOrigin when `path_allowed` is false.
Result<Url> ParseAbsolute(std::string_view text, bool path_allowed) {
  Url url;
  std::string_view rest;
  uint16_t default_port = 0;
  if (text.starts_with(kHttps)) {
    url.scheme = "https";
    rest = text.substr(kHttps.size());
    default_port = 443;
  } else if (text.starts_with(kHttp)) {
    url.scheme = "http";
    rest = text.substr(kHttp.size());
    default_port = 80;
  } else {
    return Invalid("URL", text, "must start with http:// or https://");
  }
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  // Userinfo is deprecated (RFC 9110 §4.2.4) and only ever misleads: the
  // host is what follows the '@'.
  if (authority.find('@') != std::string_view::npos) {
    return Invalid("URL", text, "has userinfo (user@host), which is refused");
  }
  Authority a;
  if (const char* why = ReadAuthority(authority, /*any_port=*/false, a)) {
    return Invalid("URL", text, why);
  }
  url.address = std::move(a.address);
  url.explicit_port = a.has_port;
  if (!a.has_port) url.address.port = default_port;
  if (slash == std::string_view::npos) return url;
  if (!path_allowed) {
    return Invalid("URL", text, "has a path (expected scheme://host:port)");
  }
  const std::string_view path = rest.substr(slash);
  if (path.size() > kMaxTargetBytes) {
    return Invalid(
        "URL", text,
        "has a path longer than " + std::to_string(kMaxTargetBytes) + " bytes",
        Code::kTooLarge);
  }
  for (char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '#') {
      return Invalid("URL", text, "has a fragment ('#'), which is never sent",
                     Code::kMalformed);
    }
    if (u <= 0x20 || u >= 0x7f) {
      return Invalid("URL", text,
                     "has a space, control or non-ASCII byte in its path",
                     Code::kMalformed);
    }
  }
  url.path_and_query = std::string(path);
  return url;
}

}  // namespace

bool HostPort::IsIpv6() const { return host.find(':') != std::string::npos; }

std::string HostPort::HostForUrl() const {
  return IsIpv6() ? "[" + host + "]" : host;
}

std::string HostPort::str() const {
  return HostForUrl() + ":" + std::to_string(port);
}

Result<HostPort> ParseHostPort(std::string_view text) {
  return ParseAddress(text, /*any_port=*/false);
}

Result<HostPort> ParseListenAddress(std::string_view text) {
  return ParseAddress(text, /*any_port=*/true);
}

bool HasHttpScheme(std::string_view text) {
  return text.starts_with(kHttp) || text.starts_with(kHttps);
}

std::string Url::Target() const {
  return path_and_query.empty() ? "/" : path_and_query;
}

Result<Url> ParseUrl(std::string_view text) {
  return ParseAbsolute(text, /*path_allowed=*/true);
}

Result<Url> ParseOrigin(std::string_view text) {
  return ParseAbsolute(text, /*path_allowed=*/false);
}

}  // namespace aztp::http

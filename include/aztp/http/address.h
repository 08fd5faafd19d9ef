// Network addresses as aztp's configuration, its command line and the
// proxy's callers write them: "host:port" and absolute http(s) URLs. One
// parser for each, so that a listen address, an upstream, a control-plane
// URL and a URL an application names on egress are read by the same rules.
//
// A host is a DNS name or an IPv4 address (RFC 3986 §3.2.2 reg-name, kept
// to letters, digits, '.' and '-', at most 253 bytes, RFC 1035 §2.3.4), or
// an IPv6 address in brackets ("[::1]"; RFC 3986 §3.2.2 IP-literal, without
// a zone ID or IPvFuture). A port is one to five decimal digits (RFC 3986
// §3.2.3: no sign, no spaces) of a value from 1 to 65535; only a listen
// address may name port 0, which asks the system for any free port.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "aztp/base/result.h"

namespace aztp::http {

// HostPort is a parsed host and port.
struct HostPort {
  std::string host;  // without brackets: "::1", "127.0.0.1", "example.org"
  uint16_t port = 0;

  // IsIpv6: the host is an IPv6 address (written in brackets).
  bool IsIpv6() const;
  // HostForUrl is the host as a URL or a Host field writes it, IPv6 in
  // brackets.
  std::string HostForUrl() const;
  // str is "host:port", IPv6 in brackets; ParseHostPort reads it back.
  std::string str() const;

  bool operator==(const HostPort&) const = default;
};

// ParseHostPort reads "host:port" or "[ipv6]:port" with a port from 1 to
// 65535. Errors are kInvalidArgument; the message quotes `text` with
// QuoteInput and says which rule it breaks.
Result<HostPort> ParseHostPort(std::string_view text);

// ParseListenAddress is ParseHostPort for an address to bind: port 0 (any
// free port) is accepted too.
Result<HostPort> ParseListenAddress(std::string_view text);

// HasHttpScheme: `text` starts with "http://" or "https://", the only URLs
// aztp reads (lower case, as aztp writes them).
bool HasHttpScheme(std::string_view text);

// Url is a parsed absolute http or https URL (RFC 9110 §4.2).
struct Url {
  std::string scheme;  // "http" or "https"
  // The port is the scheme's default (80, 443) when the URL names none.
  HostPort address;
  bool explicit_port = false;  // the URL names its port
  // The path and query as written: "" when the URL has no path, else
  // starting with '/'. Never a fragment.
  std::string path_and_query;

  // Target is the request target to send: the path and query, "/" when
  // the URL has none.
  std::string Target() const;
};

// ParseUrl reads "http(s)://host[:port][/path[?query]]". The authority
// (up to the first '/') must be a host and an optional port as above:
// userinfo ("user@host"), an empty host, an empty port ("host:") or port 0
// are refused with kInvalidArgument, as is any other scheme. The path and
// query may hold only visible ASCII, and no '#': a fragment (never sent,
// RFC 9110 §7.1), a space, a control or a non-ASCII byte is refused with
// kMalformed, and a path and query over kMaxTargetBytes with kTooLarge,
// the codes http::CheckOriginTarget (target.h) gives a request target it
// refuses. ParseUrl does not apply that function's stricter rules, which
// callers that route by path add.
Result<Url> ParseUrl(std::string_view text);

// ParseOrigin reads a URL without a path: "http(s)://host[:port]", the
// serialization of an origin (RFC 6454 §6.2). Errors are ParseUrl's for
// the scheme and authority; any path, even "/", is refused with
// kInvalidArgument.
Result<Url> ParseOrigin(std::string_view text);

}  // namespace aztp::http

#include "proxy/http_rules.h"

#include <string>

#include "aztp/http/address.h"
#include "aztp/http/target.h"
#include "aztp/proxy/rpc_sessions.h"

namespace aztp::internal {

namespace bhttp = boost::beast::http;
using boost::beast::iequals;

namespace {

Error Refuse(std::string message) {
  return Error(Code::kMalformed, std::move(message));
}

// IsHostChar: a byte of host[:port] (RFC 3986 §3.2.2 reg-name, IP
// literals and a port): unreserved, sub-delims, ':', '[', ']' and '%'.
bool IsHostChar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("-._~!$&'()*+,;=:[]%").find(static_cast<char>(c)) !=
         std::string_view::npos;
}

Status CheckHost(const bhttp::request_header<>& req) {
  std::size_t count = 0;
  for (const auto& f : req) {
    if (f.name() != bhttp::field::host) continue;
    ++count;
    std::string_view v = f.value();
    for (char c : v) {
      if (!IsHostChar(static_cast<unsigned char>(c))) {
        return Refuse("Host " + QuoteInput(v) + " is not host[:port]");
      }
    }
  }
  if (count > 1) return Refuse("more than one Host field");
  if (count == 0 && req.version() == 11) {
    return Refuse("an HTTP/1.1 request must carry Host");
  }
  return Ok();
}

// CheckConnection refuses Connection and Proxy-Connection options that name
// a field the caller may not remove, and the Upgrade option.
Status CheckConnection(const bhttp::request_header<>& req) {
  for (const auto& f : req) {
    if (f.name() != bhttp::field::connection &&
        f.name() != bhttp::field::proxy_connection) {
      continue;
    }
    for (auto option : bhttp::token_list(f.value())) {
      std::string_view name(option.data(), option.size());
      if (IsFramingOrReserved(name)) {
        return Refuse(std::string(f.name_string()) + " may not name " +
                      QuoteInput(name));
      }
      if (iequals(name, "upgrade")) {
        return Refuse("protocol upgrades (WebSocket, h2c) are not relayed");
      }
    }
  }
  return Ok();
}

// CheckTransferEncoding: "chunked" alone, never with Content-Length.
Status CheckTransferEncoding(const bhttp::request_header<>& req) {
  std::size_t codings = 0;
  bool chunked = false;
  for (const auto& f : req) {
    if (f.name() != bhttp::field::transfer_encoding) continue;
    bool listed = false;
    for (auto coding : bhttp::token_list(f.value())) {
      listed = true;
      ++codings;
      chunked = iequals(coding, "chunked");
    }
    if (!listed) ++codings;  // an empty or unparsable list
  }
  if (codings == 0) return Ok();
  if (codings != 1 || !chunked) {
    return Refuse("Transfer-Encoding must be exactly \"chunked\"");
  }
  if (req.count(bhttp::field::content_length) > 0) {
    return Refuse("Transfer-Encoding and Content-Length together");
  }
  return Ok();
}

// Single reports whether `name` may appear once at most: the proxy's own
// fields, and those an agent protocol's session rests on (an app reading
// another value than the proxy checked would use another's session).
bool Single(std::string_view name) {
  return IsProxyHeader(name) || iequals(name, kMcpSessionHeader) ||
         iequals(name, kLastEventIdHeader) || iequals(name, "content-type");
}

// CheckNames refuses '_' in field names and repeated fields that must be
// single (Single).
Status CheckNames(const bhttp::request_header<>& req) {
  for (auto it = req.begin(); it != req.end(); ++it) {
    std::string_view name = it->name_string();
    if (name.find('_') != std::string_view::npos) {
      return Refuse("field name " + QuoteInput(name) +
                    " has '_' (refused: servers may read it as '-')");
    }
    if (!Single(name)) continue;
    for (auto next = std::next(it); next != req.end(); ++next) {
      if (iequals(name, next->name_string())) {
        return Refuse(QuoteInput(name) + " appears more than once");
      }
    }
  }
  return Ok();
}

Status CheckTarget(const bhttp::request_header<>& req, Side side) {
  std::string_view target = req.target();
  if (side == Side::kEgress && http::HasHttpScheme(target)) {
    return Ok();  // absolute-form: checked once resolved
  }
  if (target.empty() || target.front() != '/') {
    return Refuse(side == Side::kInbound
                      ? "inbound requests must use an origin-form target "
                        "(\"/path?query\")"
                      : "the request target must be an http(s) URL or "
                        "\"/path?query\"");
  }
  return http::CheckOriginTarget(target);
}

}  // namespace

bool IsFramingOrReserved(std::string_view name) {
  std::string normal(name);
  for (char& c : normal) {
    if (c == '_') c = '-';
  }
  return iequals(normal, "content-length") ||
         iequals(normal, "transfer-encoding") || iequals(normal, "host") ||
         IsProxyHeader(normal);
}

Status CheckRequestHead(const bhttp::request_header<>& req, Side side) {
  if (req.version() != 10 && req.version() != 11) {
    return Refuse("only HTTP/1.0 and HTTP/1.1 are accepted");
  }
  if (req.method() == bhttp::verb::connect || req.method_string() == "PRI") {
    return Refuse(QuoteInput(req.method_string()) + " is not relayed");
  }
  AZTP_RETURN_IF_ERROR(CheckTarget(req, side));
  AZTP_RETURN_IF_ERROR(CheckNames(req));
  AZTP_RETURN_IF_ERROR(CheckConnection(req));
  AZTP_RETURN_IF_ERROR(CheckTransferEncoding(req));
  AZTP_RETURN_IF_ERROR(CheckHost(req));
  if (req.count(bhttp::field::upgrade) > 0) {
    return Refuse("protocol upgrades (WebSocket, h2c) are not relayed");
  }
  for (const auto& f : req) {
    if (f.name() == bhttp::field::expect &&
        !iequals(f.value(), "100-continue")) {
      return Refuse("Expect other than \"100-continue\" is not supported");
    }
  }
  return Ok();
}

}  // namespace aztp::internal

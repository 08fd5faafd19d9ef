// The proxy's HTTP/1.1 rules, apart from any socket (docs/proxy.md "What the
// proxy accepts"): which request heads it refuses before anything else is
// decided, and how a message it relays is rebuilt. Whatever reaches the
// other side carries only fields the proxy chose to copy and framing the
// proxy generated from what it parsed, so that the peer can never parse a
// different message than the one that was routed and audited (RFC 9112
// §6.3, §11.2: request smuggling).
#pragma once

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "aztp/base/result.h"
#include "aztp/proxy/gate.h"

namespace aztp::internal {

// Side is which listener a request arrived on.
enum class Side {
  kInbound,  // from another agent, over mTLS: origin-form targets only
  kEgress,   // from the local app: origin-form or absolute-form
};

// CheckRequestHead applies the rules every request head must pass, before
// routing, chain verification or audit (errors are kMalformed, 400):
//   * HTTP/1.0 or HTTP/1.1; not CONNECT, not PRI;
//   * the target: origin-form accepted by http::CheckOriginTarget (the
//     egress side also takes absolute-form http(s) URLs, checked when they
//     are resolved);
//   * no field name with '_' (some servers read "Aztp_Caller" as
//     "Aztp-Caller", e.g. CGI/WSGI's HTTP_AZTP_CALLER);
//   * Connection and Proxy-Connection may not name Content-Length,
//     Transfer-Encoding, Host or any Aztp-* field: a caller must never be
//     able to remove framing or the proxy's own fields;
//   * Transfer-Encoding, if present, is exactly "chunked" and comes
//     without Content-Length (RFC 9112 §6.1, §6.3);
//   * exactly one Host for HTTP/1.1, at most one for 1.0, of host[:port]
//     characters (RFC 9112 §3.2);
//   * each Aztp-* field at most once;
//   * no Upgrade (WebSocket, h2c): protocols other than HTTP/1.1 are not
//     relayed;
//   * Expect, if present, is "100-continue".
Status CheckRequestHead(const boost::beast::http::request_header<>& req,
                        Side side);

// IsFramingOrReserved: a field name that Connection may not name.
bool IsFramingOrReserved(std::string_view name);

// CopyFields copies the end-to-end fields of `from` to `to`, leaving out
// hop-by-hop fields (RFC 9110 §7.6.1), fields named by Connection, Expect,
// Content-Length (framing is set by SetFraming) and, when `strip_proxy`,
// every Aztp-* field.
template <class From, class To>
void CopyFields(const From& from, To& to, bool strip_proxy) {
  namespace bhttp = boost::beast::http;
  auto named = [&](std::string_view name) {
    for (auto field :
         {bhttp::field::connection, bhttp::field::proxy_connection}) {
      for (auto part : bhttp::token_list(from[field])) {
        if (boost::beast::iequals(name, part)) return true;
      }
    }
    return false;
  };
  for (const auto& f : from) {
    std::string_view name = f.name_string();
    if (IsHopByHopHeader(name)) continue;
    if (strip_proxy && IsProxyHeader(name)) continue;
    if (boost::beast::iequals(name, "expect") ||
        boost::beast::iequals(name, "content-length")) {
      continue;
    }
    if (named(name)) continue;
    to.insert(f.name_string(), f.value());
  }
}

// BodyFraming is how a parsed message's body was delimited.
struct BodyFraming {
  bool chunked = false;
  std::optional<std::uint64_t> length;  // Content-Length, when given
};

// FramingOf is what parser `p` (past the header) found.
template <bool isRequest>
BodyFraming FramingOf(const boost::beast::http::basic_parser<isRequest>& p) {
  BodyFraming f;
  f.chunked = p.chunked();
  if (auto length = p.content_length()) f.length = *length;
  return f;
}

// SetFraming sets how `to`'s body is delimited, from what was parsed: the
// same Content-Length, chunked for a chunked body, chunked for a response
// read until the connection closed, nothing for a request without a body.
// When `no_body` (answers to HEAD, 204, 304) no body follows: the
// Content-Length of an answer to HEAD or a 304 is kept as the metadata it
// is there (RFC 9110 §8.6).
template <bool isRequest, class Body>
void SetFraming(const BodyFraming& from,
                boost::beast::http::message<isRequest, Body>& to,
                bool no_body) {
  if (no_body) {
    if constexpr (!isRequest) {
      if (from.length && to.result_int() != 204) {
        to.set(boost::beast::http::field::content_length,
               std::to_string(*from.length));
      }
    }
    return;
  }
  if (from.chunked) {
    to.chunked(true);
  } else if (from.length) {
    to.content_length(*from.length);
  } else if constexpr (!isRequest) {
    to.chunked(true);  // body until close
  }
}

// StartForward begins the request the proxy sends for `from` to `target`:
// the same method, HTTP/1.1, the end-to-end fields without Aztp-*, and the
// body framing `framing`. The caller adds its own Aztp-* fields (and Host
// on egress).
template <class Body>
void StartForward(const boost::beast::http::request_header<>& from,
                  const BodyFraming& framing, std::string_view target,
                  boost::beast::http::message<true, Body>& out) {
  out.method_string(from.method_string());
  out.target(target);
  out.version(11);
  CopyFields(from, out, /*strip_proxy=*/true);
  SetFraming(framing, out, false);
}

// SetPiece points `msg`'s body at the next piece the relay read from the
// sender (`size` bytes at `data`; `done`: the sender's body has ended) and
// says whether there is anything to write. An empty piece of an unfinished
// body is not written: in chunked encoding a chunk of size 0 is the last
// one, and the peer would read what follows as a new message. The end is
// written with no data.
template <bool isRequest>
bool SetPiece(boost::beast::http::message<isRequest,
                                          boost::beast::http::buffer_body>& msg,
              char* data, std::size_t size, bool done) {
  if (size == 0 && !done) return false;
  msg.body().data = size == 0 ? nullptr : data;
  msg.body().size = size;
  msg.body().more = !done;
  return true;
}

}  // namespace aztp::internal

// The relay shared by the proxy's two sides: bodies streamed a chunk at a
// time, requests and answers forwarded with the fields and framing the
// proxy chose (http_rules.h), error answers, and how one attempt at a
// request ended. Coroutines: included only by src/proxy/runtime_*.cc
// (runtime.h says why).
#pragma once

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/http_rules.h"
#include "proxy/runtime.h"

namespace aztp {

namespace proxy_runtime {

// BodyReadError: the body being relayed could not be read from its sender
// (a broken chunked encoding, a body over the limit, a timeout).
struct BodyReadError : beast::system_error {
  using beast::system_error::system_error;
};

// RequestBodyError: a BodyReadError of the caller's request, which is the
// caller's fault (400 or 413), not the upstream's.
struct RequestBodyError : std::runtime_error {
  RequestBodyError(const beast::error_code& ec)
      : std::runtime_error(ec.message()), code(ec) {}
  beast::error_code code;
};

// Relay copies the body behind parser `in` (already past its header) to
// `out` through serializer `sr` of message `msg`, each piece as soon as it
// arrives (an event stream's events are not held back). `piece_timeout`
// (seconds; 0: none) bounds the wait for each piece, on both streams,
// instead of the whole exchange's timeout (an event stream).
template <class InStream, class OutStream, bool isRequest>
awaitable<void> RelayBody(InStream& in, beast::flat_buffer& buffer,
                          bhttp::parser<isRequest, bhttp::buffer_body>& p,
                          OutStream& out,
                          bhttp::message<isRequest, bhttp::buffer_body>& msg,
                          bhttp::serializer<isRequest, bhttp::buffer_body>& sr,
                          std::vector<char>& chunk, int piece_timeout = 0) {
  while (!p.is_done()) {
    p.get().body().data = chunk.data();
    p.get().body().size = chunk.size();
    if (piece_timeout > 0) {
      beast::get_lowest_layer(in).expires_after(seconds(piece_timeout));
      beast::get_lowest_layer(out).expires_after(seconds(piece_timeout));
    }
    beast::error_code ec;
    co_await bhttp::async_read_some(in, buffer, p,
                                    asio::redirect_error(use_awaitable, ec));
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) throw BodyReadError(ec);
    if (!internal::SetPiece(msg, chunk.data(),
                            chunk.size() - p.get().body().size, p.is_done())) {
      continue;
    }
    co_await bhttp::async_write(out, sr,
                                asio::redirect_error(use_awaitable, ec));
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) throw beast::system_error(ec);
  }
  if (!sr.is_done()) {
    internal::SetPiece(msg, nullptr, 0, /*done=*/true);
    beast::error_code ec;
    co_await bhttp::async_write(out, sr,
                                asio::redirect_error(use_awaitable, ec));
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) throw beast::system_error(ec);
  }
}

// ApplyLimits bounds what parser `p` accepts.
template <bool isRequest>
void ApplyLimits(bhttp::parser<isRequest, bhttp::buffer_body>& p,
                 const ProxyConfig& c) {
  p.header_limit(static_cast<std::uint32_t>(c.max_header_bytes));
  // 0 means no limit. (Not boost::none: this Beast compares a length
  // with an empty limit as if it were exceeded.)
  p.body_limit(c.max_body_bytes > 0
                   ? static_cast<std::uint64_t>(c.max_body_bytes)
                   : std::numeric_limits<std::uint64_t>::max());
}

// HasBody: will the request parsed by `p` have body bytes?
bool HasBody(const RequestParser& p);

// ForwardRequest sends `out` (header from the caller, body read through
// `p` from `client`) to `up`.
template <class Down, class Up>
awaitable<void> ForwardRequest(Down& client, beast::flat_buffer& buffer,
                               bhttp::request_parser<bhttp::buffer_body>& p,
                               Up& up, bhttp::request<bhttp::buffer_body>& out,
                               std::vector<char>& chunk) {
  bhttp::request_serializer<bhttp::buffer_body> sr{out};
  co_await bhttp::async_write_header(up, sr, use_awaitable);
  try {
    co_await RelayBody(client, buffer, p, up, out, sr, chunk);
  } catch (const BodyReadError& e) {
    throw RequestBodyError(e.code());
  }
}

// ReadAnswerHeader reads the header of the answer from `up` into `rp`,
// skipping interim 1xx answers.
template <class Up>
awaitable<void> ReadAnswerHeader(
    Up& up, beast::flat_buffer& up_buffer,
    std::optional<bhttp::response_parser<bhttp::buffer_body>>& rp, bool head,
    const ProxyConfig& c) {
  do {
    rp.emplace();
    ApplyLimits(*rp, c);
    if (head) rp->skip(true);
    co_await bhttp::async_read_header(up, up_buffer, *rp, use_awaitable);
  } while (rp->get().result_int() / 100 == 1 && rp->get().result_int() != 101);
}

// IsMediaType: `content_type` is the media type `type` (lower case), in any
// case, parameters allowed.
bool IsMediaType(std::string_view content_type, std::string_view type);

// IsEventStream: the answer is an event stream (Content-Type
// text/event-stream, any case, parameters allowed).
bool IsEventStream(const bhttp::response_header<>& res);

// RelayResponse reads the answer from `up` (skipping interim 1xx answers)
// and relays it to `client`; `answered` is set once its header went out.
// An event stream is relayed for as long as each piece comes within
// stream_idle_timeout. Returns whether `up` may be reused.
template <class Up, class Down>
awaitable<bool> RelayResponse(Up& up, Down& client, bool head, bool keep_alive,
                              const ProxyConfig& c, std::vector<char>& chunk,
                              bool& answered, const Fields& fields = {}) {
  beast::flat_buffer up_buffer;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> rp;
  co_await ReadAnswerHeader(up, up_buffer, rp, head, c);
  bhttp::response<bhttp::buffer_body> res;
  res.result(rp->get().result_int());
  res.reason(rp->get().reason());
  res.version(11);
  // The answer's Aztp-* fields are the proxy's namespace too.
  internal::CopyFields(rp->get(), res, /*strip_proxy=*/true);
  for (const auto& [name, value] : fields) res.set(name, value);
  const int code = rp->get().result_int();
  internal::SetFraming(internal::FramingOf(*rp), res,
                       head || code == 204 || code == 304);
  res.keep_alive(keep_alive);
  bhttp::response_serializer<bhttp::buffer_body> sr{res};
  answered = true;
  co_await bhttp::async_write_header(client, sr, use_awaitable);
  co_await RelayBody(
      up, up_buffer, *rp, client, res, sr, chunk,
      IsEventStream(rp->get()) ? c.stream_idle_timeout_seconds : 0);
  co_return rp->keep_alive() && up_buffer.size() == 0;
}

template <class Stream>
awaitable<void> WriteJson(Stream& stream, int status, const std::string& body,
                          bool keep_alive, const Fields& fields = {}) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status),
                                          11};
  res.set(bhttp::field::content_type, "application/json");
  for (const auto& [name, value] : fields) res.set(name, value);
  res.body() = body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  co_await bhttp::async_write(stream, res, use_awaitable);
}

// WriteContinue sends the interim 100 (Continue) a caller asked for with
// Expect: 100-continue (RFC 9110 §10.1.1).
template <class Stream>
awaitable<void> WriteContinue(Stream& stream) {
  bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
  co_await bhttp::async_write(stream, cont, use_awaitable);
}

// EgressStatus is the status of the egress listener's own refusal with
// `code`: 400 for what the app sent, 503 when the control plane or the
// proxy cannot serve it now, 429 when rate-limited, else 403.
int EgressStatus(Code code);

// ReadWholeBody reads the body of the request whose head is in `p` whole,
// at most `limit` bytes, after the 100 (Continue) the caller asked for
// (`expects_continue`); nullopt when it is longer or breaks. A
// Content-Length was checked against the parser's own limit when the head
// was read, so it is checked against `limit` here, before anything is
// read; a chunked body is cut off by body_limit as it arrives.
template <class Stream>
awaitable<std::optional<std::string>> ReadWholeBody(Stream& client,
                                                    beast::flat_buffer& buffer,
                                                    RequestParser& p,
                                                    std::uint64_t limit,
                                                    bool expects_continue) {
  if (p.content_length().value_or(0) > limit) co_return std::nullopt;
  if (expects_continue) co_await WriteContinue(client);
  bhttp::request_parser<bhttp::string_body> whole(std::move(p));
  whole.body_limit(limit);
  beast::error_code ec;
  co_await bhttp::async_read(client, buffer, whole,
                             asio::redirect_error(use_awaitable, ec));
  if (ec) co_return std::nullopt;
  co_return std::move(whole.get().body());
}

// ErrorJson is the body of the proxy's own error answers:
// {"error": reason, "hop": null, "message": message}.
std::string ErrorJson(std::string_view reason, const std::string& message);

// BodyErrorAnswer is the status and body answering a request whose body
// could not be read.
std::pair<int, std::string> BodyErrorAnswer(const RequestBodyError& e);

bool IsTimeout(const beast::error_code& ec);

// ClosedByPeer: the error of a kept-alive connection the other side had
// closed, the only failure after which a request is sent again.
bool ClosedByPeer(const beast::error_code& ec);

// PathOf is `target` without its query.
std::string_view PathOf(std::string_view target);

// Exchange sends `f`'s request to `up`, its body streamed from the caller,
// and relays the answer back. Returns whether `up` may be reused.
template <class Down, class Up>
awaitable<bool> Exchange(Forward<Down>& f, Up& up, const ProxyConfig& c,
                         bool& answered) {
  co_await ForwardRequest(f.client, f.buffer, f.p, up, f.out, f.chunk);
  co_return co_await RelayResponse(up, f.client, f.head, f.keep_alive, c,
                                   f.chunk, answered, f.answer_fields);
}

// Attempted runs `relay` (one attempt at a request) and notes in `at` how
// it failed, if it did.
awaitable<void> Attempted(Attempt& at, awaitable<void> relay);

// AnswerBadBody answers a request whose body broke (`at.bad_body`),
// unless the upstream's answer had started already.
template <class Down>
awaitable<void> AnswerBadBody(Down& client, const Attempt& at) {
  if (!at.answered) {
    co_await WriteJson(client, at.bad_body->first, at.bad_body->second, false);
  }
}

}  // namespace proxy_runtime

template <class Stream>
awaitable<bool> Proxy::Impl::ReadHead(Stream& client, FlatBuffer& buffer,
                                      proxy_runtime::RequestParser& p,
                                      const ProxyConfig& c, bool first,
                                      Listener which) {
  proxy_runtime::ApplyLimits(p, c);
  auto& lowest = boost::beast::get_lowest_layer(client);
  lowest.expires_after(
      seconds(first ? c.handshake_timeout_seconds : c.idle_timeout_seconds));
  boost::beast::error_code ec;
  co_await bhttp::async_read_header(
      client, buffer, p, boost::asio::redirect_error(use_awaitable, ec));
  // The caller closed the connection or let it idle out. (Only a TLS
  // stream, inbound, can end truncated.)
  if (ec == bhttp::error::end_of_stream || ec == boost::asio::error::eof ||
      proxy_runtime::IsTimeout(ec) ||
      ec == boost::asio::ssl::error::stream_truncated) {
    co_return false;
  }
  if (ec) {
    metrics.Add("aztp_proxy_unparsable_requests_total",
                {{"listener", ListenerName(which)}});
    // 431 for a header over max_header_bytes is the inbound listener's
    // (docs/proxy.md); egress answers 400 to every head it cannot parse.
    const bool too_large =
        which == Listener::kInbound && ec == bhttp::error::header_limit;
    co_await proxy_runtime::WriteJson(
        client, too_large ? 431 : 400,
        proxy_runtime::ErrorJson("malformed", too_large
                                                  ? "request header too large"
                                                  : "malformed request"),
        false);
    co_return false;
  }
  lowest.expires_after(seconds(c.request_timeout_seconds));
  co_return true;
}

template <class Stream, class Serve>
awaitable<void> Proxy::Impl::ServeRequests(Stream& client, Listener which,
                                           Serve serve) {
  beast::flat_buffer buffer;
  for (bool first = true; !stopping; first = false) {
    // Each request runs with the settings in force when it began.
    auto current = CurrentSettings();
    proxy_runtime::RequestParser p;
    if (!co_await ReadHead(client, buffer, p, current->config, first, which)) {
      break;
    }
    if (!co_await serve(buffer, p, *current)) break;
  }
}

}  // namespace aztp

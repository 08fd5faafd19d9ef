// Fuzzes the proxy's request path without sockets (src/proxy/http_rules.h,
// http/target.h): raw bytes, as a caller would send them on a connection,
// are parsed as the proxy parses them (Beast, the proxy's limits), each
// head goes through the proxy's HTTP rules, and each request the rules
// accept is rebuilt the way the proxy forwards it and serialized. Those
// bytes are then parsed again, as the app behind the proxy would. The
// invariant of issue 12: the app parses exactly the requests the proxy
// accepted (and would audit), in order, each with the routed method and
// target, the same body, and no Aztp-* field but the proxy's own; never a
// byte more. A refused head ends the connection, as in the proxy.
#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/http/target.h"
#include "proxy/http_rules.h"

namespace {

namespace bhttp = boost::beast::http;

// Check aborts, naming the invariant's line, when `ok` is false.
void Check(bool ok, int line) {
  if (!ok) {
    std::fprintf(stderr, "proxy_request_fuzzer: check at line %d failed\n",
                 line);
    std::abort();
  }
}
#define CHECK(ok) Check((ok), __LINE__)

constexpr char kCaller[] = "spiffe://org-a.example/agents/caller";

struct Routed {
  std::string method;
  std::string target;
  std::string body;
};

// Parsed is one request and how its body was framed.
struct Parsed {
  bhttp::request<bhttp::string_body> message;
  aztp::internal::BodyFraming framing;
};

// ParseOne parses the request at `in`[used..]; nullopt when the bytes end
// or break first. `used` advances past what was consumed.
std::optional<Parsed> ParseOne(std::string_view in, std::size_t& used,
                               bool apply_proxy_limits) {
  bhttp::request_parser<bhttp::string_body> p;
  p.eager(true);
  if (apply_proxy_limits) {
    p.header_limit(16 << 10);
    p.body_limit(1 << 20);
  }
  boost::beast::error_code ec;
  while (!p.is_done()) {
    std::size_t n =
        p.put(boost::asio::buffer(in.data() + used, in.size() - used), ec);
    used += n;
    // All the rest was offered: "need more" with nothing consumed means
    // the message is cut off.
    if (ec == bhttp::error::need_more) ec = {};
    if (ec || n == 0) break;
  }
  if (!p.is_done()) return std::nullopt;
  Parsed out;
  out.framing = aztp::internal::FramingOf(p);
  out.message = p.release();
  return out;
}

// Relayed serializes `out` with `body` the way the proxy's relay writes it
// (RelayBody in src/proxy/runtime_relay.h): the header alone, then the body in
// pieces (here of 5 bytes), each with `more` until the last, then the end
// if the serializer is not done yet.
std::string Relayed(bhttp::request<bhttp::buffer_body>& out,
                    const std::string& body) {
  std::string wire;
  bhttp::request_serializer<bhttp::buffer_body> sr{out};
  auto drain = [&](bool header_only) {
    boost::beast::error_code ec;
    while (!sr.is_done() && !(header_only && sr.is_header_done())) {
      sr.next(ec, [&](boost::beast::error_code&, const auto& buffers) {
        std::size_t n = 0;
        for (auto b : boost::beast::buffers_range_ref(buffers)) {
          wire.append(static_cast<const char*>(b.data()), b.size());
          n += b.size();
        }
        sr.consume(n);
      });
      if (ec == bhttp::error::need_buffer) return;
      CHECK(!ec);
    }
  };
  sr.split(true);
  out.body().data = nullptr;
  out.body().size = 0;
  out.body().more = true;
  drain(/*header_only=*/true);
  // Pieces as the relay reads them: of at most 5 bytes, and an empty one
  // first (a read that got only a chunk header).
  constexpr std::size_t kPiece = 5;
  std::string copy = body;
  if (aztp::internal::SetPiece(out, copy.data(), 0, copy.empty())) {
    drain(false);
  }
  for (std::size_t at = 0; at < copy.size(); at += kPiece) {
    const std::size_t n = std::min(kPiece, copy.size() - at);
    if (aztp::internal::SetPiece(out, copy.data() + at, n,
                                 at + n == copy.size())) {
      drain(false);
    }
  }
  if (!sr.is_done()) {
    aztp::internal::SetPiece(out, nullptr, 0, /*done=*/true);
    drain(false);
  }
  return wire;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string upstream;
  std::vector<Routed> routed;
  // The proxy's side of one connection.
  for (std::size_t used = 0; used < in.size();) {
    auto parsed = ParseOne(in, used, /*apply_proxy_limits=*/true);
    if (!parsed) break;  // 400 or the connection ends: nothing forwarded
    auto* req = &parsed->message;
    aztp::Status rules = aztp::internal::CheckRequestHead(
        req->base(), aztp::internal::Side::kInbound);
    if (!rules) {
      CHECK(rules.error().code() == aztp::Code::kMalformed ||
            rules.error().code() == aztp::Code::kTooLarge);
      break;
    }
    // Accepted: the target is canonical, as routed.
    CHECK(aztp::http::CheckOriginTarget(req->target()).has_value());
    bhttp::request<bhttp::buffer_body> out;
    aztp::internal::StartForward(req->base(), parsed->framing, req->target(),
                                 out);
    out.set(aztp::kCallerHeader, kCaller);
    if (out.count(bhttp::field::host) == 0) out.set(bhttp::field::host, "app");
    upstream += Relayed(out, req->body());
    routed.push_back({std::string(req->method_string()),
                      std::string(req->target()), req->body()});
    if (!req->keep_alive()) break;
  }

  // The app's side: exactly the routed requests, and nothing else.
  std::size_t used = 0;
  for (const Routed& r : routed) {
    auto parsed = ParseOne(upstream, used, /*apply_proxy_limits=*/false);
    CHECK(parsed.has_value());
    const auto* seen = &parsed->message;
    CHECK(seen->method_string() == r.method);
    CHECK(seen->target() == r.target);
    CHECK(seen->body() == r.body);
    for (const auto& f : *seen) {
      if (aztp::IsProxyHeader(f.name_string())) {
        CHECK(f.name_string() == aztp::kCallerHeader && f.value() == kCaller);
      }
      CHECK(f.name_string().find('_') == std::string_view::npos);
    }
    CHECK(seen->count(bhttp::field::host) == 1);
  }
  CHECK(used == upstream.size());
  return 0;
}

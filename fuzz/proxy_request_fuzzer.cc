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
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/http/target.h"
#include "proxy/http_rules.h"

namespace {

namespace bhttp = boost::beast::http;

void Check(bool ok) {
  if (!ok) std::abort();
}

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
    if (ec == bhttp::error::need_more && used < in.size()) continue;
    if (ec || n == 0) break;
  }
  if (!p.is_done()) return std::nullopt;
  Parsed out;
  out.framing = aztp::internal::FramingOf(p);
  out.message = p.release();
  return out;
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
      Check(rules.error().code() == aztp::Code::kMalformed ||
            rules.error().code() == aztp::Code::kTooLarge);
      break;
    }
    // Accepted: the target is canonical, as routed.
    Check(aztp::http::CheckOriginTarget(req->target()).has_value());
    bhttp::request<bhttp::string_body> out;
    aztp::internal::StartForward(req->base(), parsed->framing, req->target(),
                                 out);
    out.set(aztp::kCallerHeader, kCaller);
    if (out.count(bhttp::field::host) == 0) out.set(bhttp::field::host, "app");
    out.body() = req->body();
    std::ostringstream wire;
    wire << out;
    upstream += wire.str();
    routed.push_back({std::string(req->method_string()),
                      std::string(req->target()), req->body()});
    if (!req->keep_alive()) break;
  }

  // The app's side: exactly the routed requests, and nothing else.
  std::size_t used = 0;
  for (const Routed& r : routed) {
    auto parsed = ParseOne(upstream, used, /*apply_proxy_limits=*/false);
    Check(parsed.has_value());
    const auto* seen = &parsed->message;
    Check(seen->method_string() == r.method);
    Check(seen->target() == r.target);
    Check(seen->body() == r.body);
    for (const auto& f : *seen) {
      if (aztp::IsProxyHeader(f.name_string())) {
        Check(f.name_string() == aztp::kCallerHeader && f.value() == kCaller);
      }
      Check(f.name_string().find('_') == std::string_view::npos);
    }
    Check(seen->count(bhttp::field::host) == 1);
  }
  Check(used == upstream.size());
  return 0;
}

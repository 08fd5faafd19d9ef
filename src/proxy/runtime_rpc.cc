// Agent protocols on the inbound side (docs/mcp.md, docs/a2a.md): a POST
// on an mcp or a2a route has each of its calls decided and audited; the
// refused ones are answered as JSON-RPC errors carrying their own ids and
// the others are forwarded; the answer's listings are filtered, also inside
// an event stream, and an MCP session is bound to the caller that opened
// it.
#include "aztp/proxy/agent_card.h"
#include "aztp/proxy/rpc_gate.h"
#include "proxy/runtime_relay.h"

namespace aztp {

using proxy_runtime::ErrorJson;
using proxy_runtime::Forward;
using proxy_runtime::RequestParser;
using proxy_runtime::TlsStream;
using proxy_runtime::WriteJson;

namespace {

// kMaxRpcBytes bounds a request, or a JSON answer, read whole: 4 MiB, the
// MCP SDK's own limit.
constexpr std::uint64_t kMaxRpcBytes = 4 << 20;

std::uint64_t RpcLimit(const ProxyConfig& c) {
  return c.max_body_bytes > 0
             ? std::min<std::uint64_t>(
                   static_cast<std::uint64_t>(c.max_body_bytes), kMaxRpcBytes)
             : kMaxRpcBytes;
}

// CheckRpcMedia: a call's body is application/json, in UTF-8 if a charset
// is named, without a Content-Encoding (an app's body parser honouring a
// charset such as UTF-7, or decompressing, would read other calls than
// the proxy decided).
Status CheckRpcMedia(const bhttp::request_header<>& req) {
  constexpr std::string_view kJson = "application/json";
  const std::string_view type = req[bhttp::field::content_type];
  // The only parameter allowed is the charset UTF-8, in any case.
  std::string params;
  for (char ch : type.substr(std::min(type.size(), kJson.size()))) {
    if (ch != ' ') params += static_cast<char>(std::tolower(ch));
  }
  if (!proxy_runtime::IsMediaType(type, kJson) ||
      (!params.empty() && params != ";charset=utf-8")) {
    return Error(Code::kInvalidArgument,
                 "a JSON-RPC request must be application/json (UTF-8), not " +
                     QuoteInput(type));
  }
  if (req.count(bhttp::field::content_encoding) > 0) {
    return Error(Code::kInvalidArgument,
                 "a JSON-RPC request must not be content-encoded");
  }
  return Ok();
}

// KeepSession binds the MCP session an answer names to `peer` (one the
// app names that is another caller's must not reach this one), and
// forgets `ended`, the session a DELETE ended, once the app agreed.
Status KeepSession(RpcSessions& sessions, const bhttp::response_header<>& h,
                   const SpiffeId& peer,
                   const std::optional<std::string>& ended, UnixTime now) {
  if (auto it = h.find(kMcpSessionHeader); it != h.end()) {
    AZTP_RETURN_IF_ERROR(sessions.Bind(
        std::string_view(it->value().data(), it->value().size()), peer, now));
  }
  if (ended && h.result_int() / 100 == 2) sessions.Forget(*ended);
  return Ok();
}

// WritePiece writes `data` as the next piece of `res`'s body (`done`: its
// last).
template <class Down>
awaitable<void> WritePiece(Down& client,
                           bhttp::response<bhttp::buffer_body>& res,
                           bhttp::response_serializer<bhttp::buffer_body>& sr,
                           std::string& data, bool done) {
  if (!internal::SetPiece(res, data.data(), data.size(), done)) co_return;
  beast::error_code ec;
  co_await bhttp::async_write(client, sr,
                              asio::redirect_error(use_awaitable, ec));
  if (ec == bhttp::error::need_buffer) ec = {};
  if (ec) throw beast::system_error(ec);
}

}  // namespace

awaitable<bool> Proxy::Impl::ServeRpc(TlsStream& client,
                                      beast::flat_buffer& buffer,
                                      RequestParser& p, const Settings& s,
                                      const Allowed& a,
                                      std::optional<std::string> body) {
  const ProxyConfig& c = s.config;
  const ProxyRoute& route = *a.outcome.route;
  const bool mcp = route.protocol == ProxyRoute::Protocol::kMcp;
  auto policies = CurrentPolicies();
  RpcRelay rpc;
  rpc.mcp = mcp;
  rpc.session = a.r.mcp_session;
  rpc.peer = &*a.r.peer;
  internal::RpcExchange& x = rpc.exchange;
  x.actions = RpcActionsOf(route);
  x.allowed = [&a, policies](const RpcCall& use) {
    return DecideRpcCall(a.outcome, use, policies->pointers,
                         policies->argument_names, a.now)
        .allowed;
  };
  if (s.agent_card && a.r.path == kAgentCardPath &&
      (a.req.method() == bhttp::verb::get ||
       a.req.method() == bhttp::verb::head)) {
    co_return co_await ServeAgentCard(client, s, a);
  }
  if (a.req.method() != bhttp::verb::post) {
    co_return co_await ForwardRpcStream(client, buffer, p, s, a, rpc);
  }
  bhttp::request<bhttp::buffer_body> out;
  // What the app reads is what was decided: JSON in UTF-8, not encoded.
  if (Status media = CheckRpcMedia(a.req); !media) {
    co_await RefuseRequest(client, a, 415, kRpcInvalidRequest,
                           "unsupported_media_type", media.error().message());
    co_return false;
  }
  if (!body) {
    body = co_await proxy_runtime::ReadWholeBody(client, buffer, p, RpcLimit(c),
                                                 a.expects_continue);
    if (!body) {
      co_await RefuseRequest(client, a, 413, kRpcInvalidRequest, "too_large",
                             "a JSON-RPC request must fit in " +
                                 std::to_string(RpcLimit(c)) + " bytes");
      co_return false;
    }
  }
  auto parsed = ParseRpcBody(*body, RpcProtocolOf(route), x.actions);
  if (!parsed) {
    const bool json =
        ParseJson(*body, JsonLimits{body->size() + 1, 64}).has_value();
    co_await RefuseRequest(
        client, a, 400, json ? kRpcInvalidRequest : kRpcParseError,
        std::string(parsed.error().reason()), parsed.error().message());
    co_return false;
  }
  std::vector<bool> allowed;
  x.batch = parsed->batch;
  if (!co_await DecideCalls(client, a, *parsed, allowed, x)) co_return false;
  if (std::find(allowed.begin(), allowed.end(), true) == allowed.end()) {
    // Nothing goes to the app. A refused notification or response has no
    // answer of its own: 403 with the first refusal.
    if (x.refusals.empty()) {
      co_await WriteJson(
          client, 403,
          DumpJson(RpcError(Json(nullptr), kRpcRefused, "refused",
                            "aztp-proxy refused every call")),
          a.keep_alive);
      co_return a.keep_alive;
    }
    co_await WriteJson(client, 200, internal::RefusalsBody(x), a.keep_alive);
    co_return a.keep_alive;
  }
  std::string forwarded = internal::ForwardedBody(*body, *parsed, allowed);
  StartAppRequest(a.req, internal::BodyFraming{false, forwarded.size()},
                  a.outcome, s, out);
  out.set(bhttp::field::content_type, "application/json");
  Forward<TlsStream> f{client, buffer, p, out, a.keep_alive, false};
  const bool relay = mcp || x.changes_answer();
  co_return co_await ForwardInbound(f, s, &forwarded, relay ? &rpc : nullptr);
}

awaitable<bool> Proxy::Impl::ServeAgentCard(TlsStream& client,
                                            const Settings& s,
                                            const Allowed& a) {
  auto signer = Signer();
  Result<Json> card = signer ? SignAgentCard(*s.agent_card, **signer)
                             : Result<Json>(signer.error());
  if (!card) {
    Log(LogLevel::kError, "agent_card_unsigned",
        Json{{"message", card.error().message()}});
    co_await WriteJson(
        client, 503,
        ErrorJson("unavailable", "the agent card cannot be signed now"), false);
    co_return false;
  }
  bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.set(bhttp::field::cache_control, "no-cache");
  res.body() = DumpJson(*card);
  res.keep_alive(a.keep_alive);
  res.prepare_payload();
  if (a.req.method() == bhttp::verb::head) {
    bhttp::response_serializer<bhttp::string_body> sr{res};
    co_await bhttp::async_write_header(client, sr, use_awaitable);
  } else {
    co_await bhttp::async_write(client, res, use_awaitable);
  }
  co_return a.keep_alive;
}

awaitable<bool> Proxy::Impl::ForwardRpcStream(TlsStream& client,
                                              beast::flat_buffer& buffer,
                                              RequestParser& p,
                                              const Settings& s,
                                              const Allowed& a, RpcRelay& rpc) {
  // The gate let no other method through than an MCP GET (the server's
  // stream) or DELETE: it carries no call, so no body.
  if (proxy_runtime::HasBody(p)) {
    co_await RefuseRequest(client, a, 400, kRpcInvalidRequest, "malformed",
                           "an MCP GET or DELETE has no body");
    co_return false;
  }
  rpc.delete_session = rpc.mcp && a.req.method() == bhttp::verb::delete_;
  rpc.exchange.guess_listings = rpc.mcp && a.req.method() == bhttp::verb::get;
  bhttp::request<bhttp::buffer_body> out;
  StartAppRequest(a.req, internal::FramingOf(p), a.outcome, s, out);
  if (a.expects_continue) co_await proxy_runtime::WriteContinue(client);
  Forward<TlsStream> f{client, buffer, p, out, a.keep_alive, false};
  co_return co_await ForwardInbound(f, s, nullptr, rpc.mcp ? &rpc : nullptr);
}

awaitable<bool> Proxy::Impl::DecideCalls(TlsStream& client, const Allowed& a,
                                         const RpcBody& body,
                                         std::vector<bool>& allowed,
                                         internal::RpcExchange& x) {
  auto policies = CurrentPolicies();
  for (const RpcCall& call : body.calls) {
    RpcVerdict v = DecideRpcCall(a.outcome, call, policies->pointers,
                                 policies->argument_names, a.now);
    if (!co_await Audited(client,
                          RpcCallAudit(self, a.r, a.outcome, call, v, a.now))) {
      co_return false;
    }
    CountDecision(Listener::kInbound, v.allowed ? "allow" : "deny", v.reason);
    allowed.push_back(v.allowed);
    if (v.allowed) {
      const bool listing = call.method == "tools/list" ||
                           call.method == "resources/list" ||
                           call.method == "prompts/list";
      if (listing && call.id) x.listings[DumpJson(*call.id)] = call.method;
      continue;
    }
    ++inbound_denied;
    Log(LogLevel::kInfo, "inbound_call_denied",
        Json{{"method", call.method},
             {"target", call.target},
             {"peer", a.r.peer->str()},
             {"txn", a.outcome.chain->txn()},
             {"reason", v.reason}});
    if (call.id && !call.response) x.refusals.push_back(RpcRefusal(call, v));
  }
  co_return true;
}

awaitable<void> Proxy::Impl::RefuseRequest(TlsStream& client, const Allowed& a,
                                           int status, int code,
                                           std::string reason,
                                           std::string message) {
  GateOutcome refused = a.outcome;
  refused.status = status;
  refused.reason = reason;
  refused.message = message;
  refused.decision.reset();
  if (!co_await Audited(client, refused.Audit(self, a.r, a.now))) co_return;
  CountDecision(Listener::kInbound, "deny", reason);
  ++inbound_denied;
  co_await WriteJson(client, status,
                     DumpJson(RpcError(Json(nullptr), code, reason, message)),
                     false);
}

awaitable<bool> Proxy::Impl::RelayRpcAnswer(beast::tcp_stream& up,
                                            Forward<TlsStream>& f,
                                            const ProxyConfig& c, RpcRelay& rpc,
                                            bool& answered) {
  beast::flat_buffer up_buffer;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> rp;
  co_await proxy_runtime::ReadAnswerHeader(up, up_buffer, rp, f.head, c);
  const int code = rp->get().result_int();
  if (Status kept =
          rpc.mcp ? KeepSession(*rpc_sessions, rp->get(), *rpc.peer,
                                rpc.delete_session ? rpc.session : std::nullopt,
                                clock->Now())
                  : Ok();
      !kept) {
    Log(LogLevel::kWarn, "mcp_session_refused",
        Json{{"peer", rpc.peer->str()}, {"message", kept.error().message()}});
    co_await WriteJson(f.client, 502,
                       ErrorJson("upstream_bad_answer",
                                 "the app named an MCP session this caller "
                                 "may not have"),
                       false);
    answered = true;
    co_return false;
  }
  const internal::RpcExchange& x = rpc.exchange;
  bhttp::response<bhttp::buffer_body> res;
  res.result(code);
  res.reason(rp->get().reason());
  res.version(11);
  internal::CopyFields(rp->get(), res, /*strip_proxy=*/true);
  res.keep_alive(f.keep_alive);
  const bool events = proxy_runtime::IsEventStream(rp->get());
  if (!x.changes_answer() || f.head || code == 204 || code == 304 ||
      (code / 100 != 2) ||
      (!events &&
       !proxy_runtime::IsMediaType(rp->get()[bhttp::field::content_type],
                                   "application/json") &&
       !(code == 202 && !x.refusals.empty()))) {
    // Passed on as it comes.
    internal::SetFraming(internal::FramingOf(*rp), res,
                         f.head || code == 204 || code == 304);
    bhttp::response_serializer<bhttp::buffer_body> sr{res};
    answered = true;
    co_await bhttp::async_write_header(f.client, sr, use_awaitable);
    co_await proxy_runtime::RelayBody(
        up, up_buffer, *rp, f.client, res, sr, f.chunk,
        events ? c.stream_idle_timeout_seconds : 0);
    co_return rp->keep_alive() && up_buffer.size() == 0;
  }
  if (events) {
    co_await RelayEvents(up, up_buffer, *rp, f, c, x, res);
    co_return rp->keep_alive() && up_buffer.size() == 0;
  }
  co_return co_await RelayJsonAnswer(up, up_buffer, *rp, f, c, x, answered);
}

awaitable<bool> Proxy::Impl::RelayJsonAnswer(
    beast::tcp_stream& up, beast::flat_buffer& up_buffer,
    bhttp::response_parser<bhttp::buffer_body>& rp, Forward<TlsStream>& f,
    const ProxyConfig& c, const internal::RpcExchange& x, bool& answered) {
  // A JSON answer (or a 202 to calls some of which were refused), read
  // whole, filtered and completed.
  const int code = rp.get().result_int();
  bhttp::response_parser<bhttp::string_body> whole(std::move(rp));
  whole.body_limit(RpcLimit(c));
  co_await bhttp::async_read(up, up_buffer, whole, use_awaitable);
  std::optional<std::string> rewritten =
      code == 202 ? std::optional<std::string>(internal::RefusalsBody(x))
                  : internal::RewriteJsonAnswer(whole.get().body(), x);
  answered = true;
  if (!rewritten) {
    co_await WriteJson(
        f.client, 502,
        ErrorJson("upstream_bad_answer", "the app's answer is not JSON-RPC"),
        false);
    co_return false;
  }
  bhttp::response<bhttp::string_body> done;
  done.result(code == 202 ? 200 : code);
  done.version(11);
  internal::CopyFields(whole.get(), done, /*strip_proxy=*/true);
  done.set(bhttp::field::content_type, "application/json");
  done.body() = std::move(*rewritten);
  done.keep_alive(f.keep_alive);
  done.prepare_payload();
  co_await bhttp::async_write(f.client, done, use_awaitable);
  co_return whole.keep_alive() && up_buffer.size() == 0;
}

awaitable<void> Proxy::Impl::RelayEvents(
    beast::tcp_stream& up, beast::flat_buffer& up_buffer,
    bhttp::response_parser<bhttp::buffer_body>& rp, Forward<TlsStream>& f,
    const ProxyConfig& c, const internal::RpcExchange& x,
    bhttp::response<bhttp::buffer_body>& res) {
  res.chunked(true);
  bhttp::response_serializer<bhttp::buffer_body> sr{res};
  co_await bhttp::async_write_header(f.client, sr, use_awaitable);
  std::string pending = internal::RefusalEvents(x);
  co_await WritePiece(f.client, res, sr, pending, false);
  SseReader reader(kMaxRpcBytes);
  while (!rp.is_done()) {
    rp.get().body().data = f.chunk.data();
    rp.get().body().size = f.chunk.size();
    beast::get_lowest_layer(up).expires_after(
        seconds(c.stream_idle_timeout_seconds));
    f.client.next_layer().expires_after(seconds(c.stream_idle_timeout_seconds));
    beast::error_code ec;
    co_await bhttp::async_read_some(up, up_buffer, rp,
                                    asio::redirect_error(use_awaitable, ec));
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) throw proxy_runtime::BodyReadError(ec);
    const std::size_t n = f.chunk.size() - rp.get().body().size;
    auto events = reader.Feed(std::string_view(f.chunk.data(), n));
    // An event over the bound cuts the stream: it is never buffered whole.
    if (!events) throw std::runtime_error(events.error().message());
    std::string piece;
    for (const SseEvent& e : *events) piece += internal::RewriteEvent(e, x);
    co_await WritePiece(f.client, res, sr, piece, false);
  }
  std::string none;
  co_await WritePiece(f.client, res, sr, none, true);
}

}  // namespace aztp

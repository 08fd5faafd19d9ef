// The inbound listener: mTLS from callers, each request described,
// decided by the gate, audited before anything else happens, and relayed
// to the local app when allowed (docs/proxy.md "Inbound").
#include <openssl/err.h>

#include <boost/asio/ssl/context.hpp>
#include <span>

#include "proxy/runtime_relay.h"

namespace aztp {

using proxy_runtime::ErrorJson;
using proxy_runtime::Forward;
using proxy_runtime::kMaxBoundBody;
using proxy_runtime::PathOf;
using proxy_runtime::RequestParser;
using proxy_runtime::TlsStream;
using proxy_runtime::WriteJson;

namespace {

// ReadBoundBody reads whole the body a chain must bind to (request
// binding, docs/protocol.md), after the 100 (Continue) the caller asked
// for, if it did; nullopt once it answered 413.
awaitable<std::optional<std::string>> ReadBoundBody(TlsStream& client,
                                                    beast::flat_buffer& buffer,
                                                    RequestParser& p,
                                                    const ProxyConfig& c,
                                                    bool expects_continue) {
  auto body = co_await proxy_runtime::ReadWholeBody(
      client, buffer, p,
      static_cast<std::uint64_t>(c.max_body_bytes > 0
                                     ? std::min(c.max_body_bytes, kMaxBoundBody)
                                     : kMaxBoundBody),
      expects_continue);
  if (!body) {
    co_await WriteJson(client, 413,
                       ErrorJson("too_large",
                                 "a request bound to its chain must fit in "
                                 "the binding limit"),
                       false);
    co_return std::nullopt;
  }
  co_return body;
}

}  // namespace

awaitable<void> Proxy::Impl::InboundSession(tcp::socket socket) {
  auto s = CurrentSettings();
  auto ctx = deps.agent->MakeServerContext();
  if (!ctx) {
    Log(LogLevel::kError, "inbound_no_svid",
        Json{{"reason", ctx.error().reason()},
             {"message", ctx.error().message()}});
    co_return;
  }
  SSL_CTX_up_ref(ctx->get());
  asio::ssl::context wrapper(ctx->get());
  TlsStream client(std::move(socket), wrapper);
  try {
    client.next_layer().expires_after(
        seconds(s->config.handshake_timeout_seconds));
    co_await client.async_handshake(asio::ssl::stream_base::server,
                                    use_awaitable);
    InboundRequest who;
    auto peer = deps.agent->AuthenticatePeer(client.native_handle());
    if (peer) {
      who.peer = peer->id();
    } else if (peer.error().code() != Code::kUnauthenticated) {
      who.peer_error = peer.error();
      // Once per connection, naming the trust domain the client claims:
      // after `federation remove` this says which partner is refused and
      // why (issue 13); each request is then answered 401 with the reason.
      const std::string claimed = ClaimedPeerId(client.native_handle());
      auto id = SpiffeId::Parse(claimed);
      Log(LogLevel::kInfo, "client_certificate_refused",
          Json{{"trust_domain", id ? id->trust_domain().name() : ""},
               {"peer", claimed},
               {"reason", peer.error().reason()},
               {"message", peer.error().message()}});
    }
    co_await ServeRequests(client, Listener::kInbound,
                           [&](beast::flat_buffer& buffer, RequestParser& p,
                               const Settings& current) {
                             return ServeInbound(client, buffer, p, current,
                                                 who);
                           });
    client.next_layer().expires_after(seconds(2));
    beast::error_code ec;
    co_await client.async_shutdown(asio::redirect_error(use_awaitable, ec));
  } catch (const std::exception&) {
    ERR_clear_error();
  }
}

awaitable<bool> Proxy::Impl::ServeInbound(TlsStream& client,
                                          beast::flat_buffer& buffer,
                                          RequestParser& p, const Settings& s,
                                          const InboundRequest& who) {
  const ProxyConfig& c = s.config;
  // The header, kept apart from the parser, which request binding moves.
  const bool keep_alive = p.get().keep_alive();
  const bhttp::request_header<> req = p.get().base();
  const internal::BodyFraming framing = internal::FramingOf(p);
  const bool expects_continue = req[bhttp::field::expect] == "100-continue";
  const UnixTime now = clock->Now();
  InboundRequest r = DescribeInbound(req, who, c, now);

  // A body read whole, only when the chain must bind to it.
  const bool bind = c.inbound->require_request_binding && !r.malformed &&
                    !r.revocations_stale;
  std::optional<std::string> bound_body;
  if (bind) {
    bound_body = co_await ReadBoundBody(client, buffer, p, c, expects_continue);
    if (!bound_body) co_return false;
    r.binding = RequestBinding::For(
        r.method,
        "https://" + std::string(req[bhttp::field::host]) +
            std::string(req.target()),
        std::span<const uint8_t>(
            reinterpret_cast<const uint8_t*>(bound_body->data()),
            bound_body->size()));
  }

  std::optional<GateOutcome> outcome =
      co_await DecideInbound(client, s, r, now);
  if (!outcome) co_return false;
  // (An allowed request is not logged: its audit record says it all.)
  ++inbound_allowed;
  // Kept for the app's calls out in the same transaction.
  if (c.egress) chains.Put(*outcome->chain);
  if (outcome->route->protocol != ProxyRoute::Protocol::kHttp) {
    co_return co_await ServeRpc(
        client, buffer, p, s,
        Allowed{req, r, *outcome, now, keep_alive, expects_continue},
        std::move(bound_body));
  }

  // Forward to the app: the target routed, fields and framing the proxy
  // chose.
  bhttp::request<bhttp::buffer_body> out;
  StartAppRequest(
      req, bind ? internal::BodyFraming{false, bound_body->size()} : framing,
      *outcome, s, out);
  if (!bind && expects_continue) {
    co_await proxy_runtime::WriteContinue(client);
  }
  Forward<TlsStream> f{client, buffer,     p,
                       out,    keep_alive, req.method() == bhttp::verb::head};
  co_return co_await ForwardInbound(f, s, bind ? &*bound_body : nullptr);
}

void Proxy::Impl::StartAppRequest(const RequestHeader& req,
                                  const internal::BodyFraming& framing,
                                  const GateOutcome& outcome, const Settings& s,
                                  bhttp::request<bhttp::buffer_body>& out) {
  internal::StartForward(req, framing, req.target(), out);
  for (const auto& [name, value] : outcome.ForwardHeaders()) {
    out.set(name, value);
  }
  // An HTTP/1.0 caller may send no Host; HTTP/1.1 to the app needs one.
  if (out.count(bhttp::field::host) == 0) {
    out.set(bhttp::field::host, s.upstream.str());
  }
}

InboundRequest Proxy::Impl::DescribeInbound(const RequestHeader& req,
                                            const InboundRequest& who,
                                            const ProxyConfig& c,
                                            UnixTime now) {
  InboundRequest r = who;
  r.method = std::string(req.method_string());
  r.path = std::string(PathOf(req.target()));
  if (auto it = req.find(kChainHeader); it != req.end()) {
    r.chain = std::string(it->value());
  }
  if (auto it = req.find(kMcpSessionHeader); it != req.end()) {
    r.mcp_session = std::string(it->value());
  }
  r.resumes_stream = req.find(kLastEventIdHeader) != req.end();
  // What is routed is what is forwarded: a head the rules refuse is
  // decided (400) and audited like any other request, and nothing of it is
  // read further.
  if (Status head = internal::CheckRequestHead(req, internal::Side::kInbound);
      !head) {
    ++malformed;
    r.malformed = head.error();
  }
  r.revocations_stale = RevocationsStale(c, now);
  return r;
}

awaitable<std::optional<GateOutcome>> Proxy::Impl::DecideInbound(
    TlsStream& client, const Settings& s, const InboundRequest& r,
    UnixTime now) {
  auto policies = CurrentPolicies();
  GateOutcome outcome = s.gate->Check(r, policies->pointers, now);
  // An allowed POST of an agent protocol is audited call by call
  // (ServeRpc).
  const bool by_call = outcome.allowed() &&
                       outcome.route->protocol != ProxyRoute::Protocol::kHttp &&
                       r.method == "POST";
  if (!by_call && !co_await Audited(client, outcome.Audit(self, r, now))) {
    co_return std::nullopt;
  }
  if (!by_call) {
    CountDecision(Listener::kInbound, outcome.allowed() ? "allow" : "deny",
                  outcome.allowed() ? "" : outcome.reason);
  }
  if (outcome.allowed()) co_return outcome;
  ++inbound_denied;
  Json fields{{"method", r.method},
              {"path", r.path},
              {"status", outcome.status},
              {"peer", r.peer ? r.peer->str() : ""},
              {"reason", outcome.reason}};
  if (outcome.chain) fields["txn"] = outcome.chain->txn();
  if (outcome.hop) fields["hop"] = *outcome.hop;
  Log(LogLevel::kInfo, "inbound_denied", fields);
  // The body is not read: the connection closes after the answer.
  co_await WriteJson(client, outcome.status, outcome.ErrorBody(), false);
  co_return std::nullopt;
}

awaitable<bool> Proxy::Impl::Audited(TlsStream& client, AuditRecord record) {
  Status stored = co_await AppendAudit(std::move(record));
  if (stored) co_return true;
  Log(LogLevel::kError, "audit_failed",
      Json{{"message", stored.error().message()}});
  co_await WriteJson(client, 503,
                     ErrorJson("unavailable", "the audit log is unavailable"),
                     false);
  co_return false;
}

awaitable<bool> Proxy::Impl::ForwardInbound(Forward<TlsStream>& f,
                                            const Settings& s,
                                            std::string* bound_body,
                                            RpcRelay* rpc) {
  const ProxyConfig& c = s.config;
  const bool retryable = bound_body != nullptr || !proxy_runtime::HasBody(f.p);
  const std::string key = s.upstream.str();
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<beast::tcp_stream> up;
    if (attempt == 0) {
      if (auto idle = plain_pool.Take(key, c.idle_timeout_seconds)) {
        up = std::move(idle->stream);
      }
    }
    const bool reused = up != nullptr;
    Attempt at;
    co_await proxy_runtime::Attempted(
        at, ToApp(f, s, bound_body, up, at.answered, rpc));
    if (at.bad_body) {
      // The app got a cut-off body (framed by the proxy): no retry.
      co_await proxy_runtime::AnswerBadBody(f.client, at);
      co_return false;
    }
    if (at.failure.empty()) co_return f.keep_alive;
    // A pooled connection the app had closed: one fresh attempt when
    // nothing of the request's body was consumed.
    if (reused && at.closed && !at.answered && retryable) continue;
    ++upstream_errors;
    Log(LogLevel::kWarn, "upstream_failed",
        Json{{"upstream", key}, {"message", at.failure}});
    if (!at.answered) {
      co_await WriteJson(
          f.client, 502,
          ErrorJson("upstream_unavailable",
                    "the local app at " + key + " did not answer"),
          false);
    }
    co_return false;
  }
}

awaitable<void> Proxy::Impl::ToApp(Forward<TlsStream>& f, const Settings& s,
                                   std::string* bound_body,
                                   std::unique_ptr<beast::tcp_stream>& up,
                                   bool& answered, RpcRelay* rpc) {
  const ProxyConfig& c = s.config;
  if (!up) up = co_await Connect(s.upstream, c.connect_timeout_seconds);
  up->expires_after(seconds(c.request_timeout_seconds));
  if (bound_body) {
    f.out.body().data = bound_body->empty() ? nullptr : bound_body->data();
    f.out.body().size = bound_body->size();
    f.out.body().more = false;
    bhttp::request_serializer<bhttp::buffer_body> sr{f.out};
    co_await bhttp::async_write(*up, sr, use_awaitable);
  } else {
    co_await proxy_runtime::ForwardRequest(f.client, f.buffer, f.p, *up, f.out,
                                           f.chunk);
  }
  const bool reusable =
      rpc != nullptr
          ? co_await RelayRpcAnswer(*up, f, c, *rpc, answered)
          : co_await proxy_runtime::RelayResponse(
                *up, f.client, f.head, f.keep_alive, c, f.chunk, answered);
  if (reusable) {
    plain_pool.Give(s.upstream.str(), IdlePlain{std::move(up), {}},
                    c.upstream_pool_size);
  }
}

}  // namespace aztp

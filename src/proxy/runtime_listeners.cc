// The proxy's listeners: accepting connections (a cap per listener, one
// coroutine per connection) and the metrics listener (GET /metrics).
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/http/empty_body.hpp>

#include "proxy/runtime_relay.h"

namespace aztp {

using proxy_runtime::ErrorJson;
using proxy_runtime::PathOf;

void Proxy::Impl::Accept(tcp::acceptor& acceptor, Listener which) {
  acceptor.async_accept(asio::make_strand(io), [this, &acceptor, which](
                                                   beast::error_code ec,
                                                   tcp::socket socket) {
    if (ec || stopping) {
      if (!stopping && ec != asio::error::operation_aborted) {
        // E.g. out of file descriptors: try again a little later.
        auto timer = std::make_shared<asio::steady_timer>(
            io, std::chrono::milliseconds(50));
        timer->async_wait([this, &acceptor, which, timer](beast::error_code) {
          if (!stopping) Accept(acceptor, which);
        });
      }
      return;
    }
    // Each listener has its own cap, so that connections held open on
    // one (even before TLS) never starve another.
    std::atomic<int64_t>* here = &open_by[static_cast<int>(which)];
    if (here->load() >= CurrentSettings()->config.max_connections) {
      ++connections_refused;
      metrics.Add("aztp_proxy_connections_refused_total",
                  {{"listener", ListenerName(which)}});
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      beast::error_code ignored;
      // Answers are small writes: never wait for an ACK to send them.
      socket.set_option(tcp::no_delay(true), ignored);
      auto ex = socket.get_executor();
      ++open;
      ++*here;
      auto session =
          which == Listener::kInbound  ? InboundSession(std::move(socket))
          : which == Listener::kEgress ? EgressSession(std::move(socket))
                                       : MetricsSession(std::move(socket));
      asio::co_spawn(ex, std::move(session), [this, here](std::exception_ptr) {
        --*here;
        if (--open == 0) stop_cv.notify_all();
      });
    }
    Accept(acceptor, which);
  });
}

awaitable<void> Proxy::Impl::MetricsSession(tcp::socket socket) {
  beast::tcp_stream client(std::move(socket));
  try {
    auto s = CurrentSettings();
    beast::flat_buffer buffer;
    bhttp::request_parser<bhttp::empty_body> p;
    p.header_limit(8 << 10);
    client.expires_after(seconds(s->config.handshake_timeout_seconds));
    co_await bhttp::async_read_header(client, buffer, p, use_awaitable);
    const auto& req = p.get();
    const bool found = PathOf(req.target()) == "/metrics";
    const bool allowed = req.method() == bhttp::verb::get;
    bhttp::response<bhttp::string_body> res{
        !found     ? bhttp::status::not_found
        : !allowed ? bhttp::status::method_not_allowed
                   : bhttp::status::ok,
        11};
    if (found && allowed) {
      res.set(bhttp::field::content_type, "text/plain; version=0.0.4");
      res.body() = RenderMetrics();
    } else {
      res.set(bhttp::field::content_type, "application/json");
      res.body() = ErrorJson(found ? "unsupported" : "not_found",
                             "only GET /metrics is served here");
    }
    res.keep_alive(false);
    res.prepare_payload();
    co_await bhttp::async_write(client, res, use_awaitable);
    beast::error_code ec;
    client.socket().shutdown(tcp::socket::shutdown_send, ec);
  } catch (const std::exception&) {
  }
}

void Proxy::Impl::CountDecision(Listener which, std::string_view decision,
                                std::string_view reason) {
  metrics.Add("aztp_proxy_decisions_total",
              {{"listener", ListenerName(which)},
               {"decision", std::string(decision)},
               {"reason", reason.empty() ? "none" : std::string(reason)}});
}

void Proxy::Impl::DescribeMetrics() {
  metrics.DescribeCounter(
      "aztp_proxy_decisions_total",
      "Audited decisions, by listener, decision and stable reason.");
  metrics.DescribeCounter(
      "aztp_proxy_unparsable_requests_total",
      "Requests that did not parse as HTTP/1.1 (answered 400, not audited).");
  metrics.DescribeCounter(
      "aztp_proxy_connections_refused_total",
      "Connections closed at once, over a listener's max_connections.");
  metrics.DescribeGauge("aztp_proxy_connections_open",
                        "Open client connections, by listener.");
  metrics.DescribeGauge(
      "aztp_proxy_revocations_age_seconds",
      "Seconds since the revocation list in force was fetched.");
  metrics.DescribeGauge("aztp_proxy_revocations_stale",
                        "1 while the revocation list is older than "
                        "control_plane.revocation_max_staleness.");
  metrics.DescribeGauge("aztp_proxy_audit_appended",
                        "Audit records written to the local log.");
  metrics.DescribeGauge("aztp_proxy_audit_acked",
                        "Highest audit seq the control plane acknowledged.");
  metrics.DescribeGauge("aztp_proxy_policies", "Policies in force.");
  metrics.DescribeCounter(
      "aztp_proxy_replay_unavailable_total",
      "Replay checks the shared replay store could not answer (refused, "
      "or answered from local memory with on_unavailable: local).");
}

std::string Proxy::Impl::RenderMetrics() {
  const UnixTime now = clock->Now();
  for (Listener which : {Listener::kInbound, Listener::kEgress}) {
    metrics.Set("aztp_proxy_connections_open",
                {{"listener", ListenerName(which)}},
                static_cast<double>(open_by[static_cast<int>(which)].load()));
  }
  metrics.Set("aztp_proxy_revocations_age_seconds", {},
              static_cast<double>(now - deps.agent->revocations_fetched_at()));
  metrics.Set("aztp_proxy_revocations_stale", {},
              revocations_stale.load() ? 1 : 0);
  metrics.Set("aztp_proxy_audit_appended", {},
              static_cast<double>(audit->appended()));
  metrics.Set("aztp_proxy_audit_acked", {},
              static_cast<double>(audit_acked.load()));
  metrics.Set("aztp_proxy_policies", {},
              static_cast<double>(CurrentPolicies()->policies.size()));
  if (deps.shared_replay) {
    // Moves forward only, so that two scrapes at once count each once.
    const uint64_t total = deps.shared_replay->unavailable_total();
    uint64_t before = replay_unavailable_reported.load();
    while (total > before &&
           !replay_unavailable_reported.compare_exchange_weak(before, total)) {
    }
    if (total > before) {
      metrics.Add("aztp_proxy_replay_unavailable_total", {},
                  static_cast<double>(total - before));
    }
  }
  return metrics.Render();
}

}  // namespace aztp

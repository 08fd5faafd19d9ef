#include "proxy/runtime_relay.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cctype>

namespace aztp {

namespace proxy_runtime {

bool HasBody(const RequestParser& p) {
  return p.chunked() || p.content_length().value_or(0) > 0;
}

std::string ErrorJson(std::string_view reason, const std::string& message) {
  return DumpJson(
      Json{{"error", reason}, {"hop", nullptr}, {"message", message}});
}

std::pair<int, std::string> BodyErrorAnswer(const RequestBodyError& e) {
  if (e.code == bhttp::error::body_limit) {
    return {413, ErrorJson("too_large", "the request body is over the limit")};
  }
  return {400, ErrorJson("malformed",
                         std::string("the request body could not be read: ") +
                             e.what())};
}

bool IsMediaType(std::string_view content_type, std::string_view type) {
  if (content_type.size() < type.size()) return false;
  for (std::size_t i = 0; i < type.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(content_type[i])) != type[i]) {
      return false;
    }
  }
  return content_type.size() == type.size() ||
         content_type[type.size()] == ';' || content_type[type.size()] == ' ';
}

bool IsEventStream(const bhttp::response_header<>& res) {
  return IsMediaType(res[bhttp::field::content_type], "text/event-stream");
}

bool IsTimeout(const beast::error_code& ec) {
  return ec == beast::error::timeout;
}

bool ClosedByPeer(const beast::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == bhttp::error::end_of_stream ||
         ec == asio::ssl::error::stream_truncated;
}

std::string_view PathOf(std::string_view target) {
  return target.substr(0, target.find('?'));
}

awaitable<void> Attempted(Attempt& at, awaitable<void> relay) {
  try {
    co_await std::move(relay);
  } catch (const RequestBodyError& e) {
    at.bad_body = BodyErrorAnswer(e);
  } catch (const beast::system_error& e) {
    at.failure = e.what();
    at.closed = ClosedByPeer(e.code());
  } catch (const std::exception& e) {
    at.failure = e.what();
  }
}

}  // namespace proxy_runtime

namespace proxy_runtime {

int EgressStatus(Code code) {
  switch (code) {
    case Code::kInvalidArgument:
    case Code::kMalformed:
    case Code::kNotFound:
    case Code::kTooLarge:
      return 400;
    case Code::kUnavailable:
    case Code::kIo:
    case Code::kUnsupported:
      return 503;
    case Code::kRateLimited:
      return 429;
    default:
      return 403;
  }
}

}  // namespace proxy_runtime

awaitable<Status> Proxy::Impl::AppendAudit(AuditRecord record) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer signal(ex, std::chrono::steady_clock::time_point::max());
  Status result = Ok();
  audit->Append(std::move(record), [&](Status s) {
    result = std::move(s);
    asio::post(signal.get_executor(), [&] { signal.cancel(); });
  });
  beast::error_code ec;
  co_await signal.async_wait(asio::redirect_error(use_awaitable, ec));
  co_return result;
}

awaitable<void> Proxy::Impl::OffThread(std::function<void()> work) {
  auto ex = co_await asio::this_coro::executor;
  auto done = std::make_shared<asio::steady_timer>(
      ex, std::chrono::steady_clock::time_point::max());
  asio::post(blocking_pool, [done, work = std::move(work)] {
    // An exception must not end the pool's thread (std::terminate) nor
    // leave the coroutine waiting: the work's result stays its default.
    try {
      work();
    } catch (...) {
    }
    asio::post(done->get_executor(), [done] { done->cancel(); });
  });
  beast::error_code ec;
  co_await done->async_wait(asio::redirect_error(use_awaitable, ec));
}

awaitable<std::unique_ptr<beast::tcp_stream>> Proxy::Impl::Connect(
    const http::HostPort& to, int timeout) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  auto endpoints = co_await resolver.async_resolve(
      to.host, std::to_string(to.port), tcp::resolver::numeric_service,
      use_awaitable);
  auto stream = std::make_unique<beast::tcp_stream>(ex);
  stream->expires_after(seconds(timeout));
  co_await stream->async_connect(endpoints, use_awaitable);
  stream->socket().set_option(tcp::no_delay(true));
  co_return stream;
}

bool Proxy::Impl::RevocationsStale(const ProxyConfig& c, UnixTime now) {
  const UnixTime fetched = deps.agent->revocations_fetched_at();
  const bool old =
      now - fetched > c.control_plane.revocation_max_staleness_seconds;
  if (old != revocations_stale.exchange(old)) {
    Log(old ? LogLevel::kError : LogLevel::kInfo,
        old ? "revocations_stale" : "revocations_fresh",
        Json{
            {"fetched_at", fetched},
            {"max_staleness", c.control_plane.revocation_max_staleness_seconds},
            {"fail_open", c.control_plane.revocation_fail_open}});
  }
  if (old && !c.control_plane.revocation_fail_open) {
    ++stale_refusals;
    return true;
  }
  return false;
}

}  // namespace aztp

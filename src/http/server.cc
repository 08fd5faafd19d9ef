// The HTTPS server: one io_context driven by a fixed pool of worker threads;
// every connection is a Session whose handlers run on its own strand, so a
// connection is never touched by two threads at once while different
// connections proceed in parallel. Request handlers run synchronously on the
// worker thread that finished reading the request.
//
// Connections: at most max_connections are open at once; one more is closed
// as soon as it is accepted (and reported to on_connection_refused).
//
// Timeouts (all on the connection's beast::tcp_stream timer):
//   * handshake: handshake_timeout_seconds (or read_timeout_seconds) from
//     accept;
//   * between requests: idle_timeout_seconds until the first byte of the
//     next request arrives;
//   * reading a request: read_timeout_seconds from its first byte to its
//     last, whatever the pace of the bytes in between (a client that
//     dribbles a request byte by byte is cut off just the same);
//   * writing a response: read_timeout_seconds;
//   * closing: at most kCloseTimeout for the peer's close_notify, or after
//     an error answer for the rest of the unread request to be discarded.
//
// Shutdown: the draining flag is raised and the acceptor closed; sessions
// that are handshaking or idle are closed at once, the others finish the
// request they are on and answer it with "Connection: close". Shutdown waits
// for the last session to end (or for the grace period), then stops the
// io_context and joins the workers. Handlers still pending in the
// io_context are destroyed with it, which releases their sessions. A
// handler may call Shutdown too: the work then moves to a thread of its own
// (a worker cannot join itself) and the call returns at once.

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "aztp/encoding/json.h"
#include "aztp/http/address.h"
#include "aztp/http/form.h"
#include "aztp/http/http.h"
#include "aztp/tls/tls.h"
#include "http/syntax.h"

namespace aztp::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

using internal::IsFieldValue;
using internal::IsToken;
using internal::ToLower;

// kCloseTimeout bounds how long a closing connection waits for the peer to
// acknowledge the TLS close_notify (it keeps reading meanwhile, so that
// unread request bytes do not turn the close into a reset that could destroy
// the response still in flight).
constexpr std::chrono::seconds kCloseTimeout{2};
// kFirstReadBytes is the size of the read that waits for a request to begin.
constexpr std::size_t kFirstReadBytes = 4096;
// After an error answer the rest of the request is read and discarded (at
// most kMaxDrainBytes, within kCloseTimeout) before the connection closes:
// closing with unread bytes would reset the connection, and a client still
// sending its request might never see the answer.
constexpr std::size_t kDrainChunk = 16 << 10;
constexpr std::size_t kMaxDrainBytes = 64 << 20;
// kAcceptRetry is the pause after a failed accept (e.g. out of descriptors).
constexpr std::chrono::milliseconds kAcceptRetry{100};

Response ErrorResponse(int status, std::string_view error,
                       std::string_view message) {
  Response r;
  r.status = status;
  r.body = DumpJson(
      Json{{"error", std::string(error)}, {"message", std::string(message)}});
  return r;
}

// IsReservedHeader names the headers the server controls itself.
bool IsReservedHeader(std::string_view lower) {
  return lower == "content-length" || lower == "transfer-encoding" ||
         lower == "connection" || lower == "keep-alive" || lower == "upgrade" ||
         lower == "trailer";
}

std::string EndpointString(const tcp::endpoint& ep) {
  asio::ip::address addr = ep.address();
  std::string host = addr.to_string();
  if (addr.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

class Session;

// ServerState is everything the sessions share. Member order matters: the
// io_context is destroyed before the session registry it may still release
// sessions into.
struct ServerState {
  ServerOptions options;
  Handler handler;
  const Clock* clock = nullptr;

  std::mutex mu;
  std::condition_variable cv;
  std::map<Session*, std::weak_ptr<Session>> sessions;  // guarded by mu
  bool stopped = false;                                 // guarded by mu
  std::atomic<bool> draining{false};

  std::mutex shutdown_mu;  // serialises Shutdown
  bool shut_down = false;  // guarded by shutdown_mu
  // stopper runs Shutdown when a handler asked for it (a worker cannot
  // join itself); joined by the next Shutdown from another thread.
  std::mutex stopper_mu;
  std::thread stopper;  // guarded by stopper_mu

  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>>
      work;
  tcp::acceptor acceptor{asio::make_strand(ioc)};
  asio::steady_timer accept_retry{acceptor.get_executor()};
  std::vector<std::thread> threads;
  uint16_t port = 0;

  // Register adds a new session unless the server is draining.
  bool Register(const std::shared_ptr<Session>& session);
  // Full: are max_connections sessions open?
  bool Full();
  void Unregister(Session* session);
  // Shutdown drains and stops the server (see the top of the file).
  void Shutdown(int grace_seconds);
  void Stop(int grace_seconds);
  void Wait();
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ServerState& state, tcp::socket socket, asio::ssl::context& ctx,
          std::string remote)
      : state_(state),
        stream_(std::move(socket), ctx),
        remote_(std::move(remote)) {}

  ~Session() {
    if (registered_) state_.Unregister(this);
  }

  void set_registered() { registered_ = true; }
  asio::any_io_executor executor() { return stream_.get_executor(); }

  // Start runs on the session's strand.
  void Start() {
    if (closed_) return;
    phase_ = Phase::kHandshake;
    Lowest().expires_after(HandshakeTimeout());
    stream_.async_handshake(
        asio::ssl::stream_base::server,
        beast::bind_front_handler(&Session::OnHandshake, shared_from_this()));
  }

  // Drain runs on the session's strand when the server shuts down.
  void Drain() {
    draining_ = true;
    if (phase_ == Phase::kHandshake || phase_ == Phase::kIdle) Close();
  }

 private:
  enum class Phase { kHandshake, kIdle, kReading, kWriting, kClosing };

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  std::chrono::seconds ReadTimeout() const {
    return std::chrono::seconds(
        std::max(1, state_.options.read_timeout_seconds));
  }
  std::chrono::seconds HandshakeTimeout() const {
    const int seconds = state_.options.handshake_timeout_seconds;
    return seconds > 0 ? std::chrono::seconds(seconds) : ReadTimeout();
  }
  std::chrono::seconds IdleTimeout() const {
    return std::chrono::seconds(
        std::max(1, state_.options.idle_timeout_seconds));
  }

  void OnHandshake(beast::error_code ec) {
    if (ec) {
      ERR_clear_error();
      return Close();
    }
    // The handshake accepted whatever certificate the client presented; it
    // is verified here against the bundle of the client's own trust domain.
    // A client that presents none is anonymous; one whose certificate fails
    // is answered 401 with the reason (Handle), never silently dropped: a
    // bare close reads as "empty reply" and tells the caller nothing.
    SSL* ssl = stream_.native_handle();
    if (state_.options.bundles != nullptr &&
        SSL_get0_peer_certificate(ssl) != nullptr) {
      auto verified =
          VerifyPeer(ssl, *state_.options.bundles, state_.clock->Now());
      if (!verified) {
        refused_ = verified.error();
        if (state_.options.on_peer_refused) {
          state_.options.on_peer_refused(ClaimedPeerId(ssl), remote_,
                                         *refused_);
        }
      } else {
        peer_ = verified->id();
      }
    }
    ReadNext();
  }

  // ReadNext waits for the next request of the connection.
  void ReadNext() {
    if (closed_) return;
    if (draining_ || state_.draining.load()) return GracefulClose();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(state_.options.max_header_bytes,
                              std::numeric_limits<std::uint32_t>::max())));
    parser_->body_limit(
        static_cast<std::uint64_t>(state_.options.max_body_bytes));
    if (buffer_.size() > 0) return ReadRequest();  // pipelined bytes
    phase_ = Phase::kIdle;
    Lowest().expires_after(IdleTimeout());
    stream_.async_read_some(
        buffer_.prepare(kFirstReadBytes),
        beast::bind_front_handler(&Session::OnFirstBytes, shared_from_this()));
  }

  void OnFirstBytes(beast::error_code ec, std::size_t n) {
    if (ec || closed_) return Close();
    buffer_.commit(n);
    ReadRequest();
  }

  void ReadRequest() {
    if (closed_) return;
    phase_ = Phase::kReading;
    Lowest().expires_after(ReadTimeout());
    bhttp::async_read(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t /*bytes*/) {
    if (closed_) return;
    if (ec) {
      if (ec == bhttp::error::body_limit) {
        drain_on_close_ = true;
        return Send(
            ErrorResponse(413, "too_large", "request body exceeds the limit"),
            false, 11, false);
      }
      if (ec == bhttp::error::header_limit) {
        drain_on_close_ = true;
        return Send(
            ErrorResponse(431, "too_large", "request header exceeds the limit"),
            false, 11, false);
      }
      if (ec.category() ==
              bhttp::make_error_code(bhttp::error::bad_method).category() &&
          ec != bhttp::error::end_of_stream &&
          ec != bhttp::error::partial_message) {
        drain_on_close_ = true;
        return Send(ErrorResponse(400, "malformed", "malformed request"), false,
                    11, false);
      }
      // Timeouts, resets, truncation: nothing can be answered.
      ERR_clear_error();
      return Close();
    }
    Handle();
  }

  void Handle() {
    bhttp::request<bhttp::string_body> msg = parser_->release();
    parser_.reset();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    std::size_t q = req.target.find('?');
    req.path = req.target.substr(0, q);
    for (const auto& field : msg.base()) {
      std::string name = ToLower(field.name_string());
      std::string value(field.value());
      auto [it, inserted] = req.headers.emplace(name, value);
      if (!inserted) it->second += ", " + value;  // RFC 9110 §5.3
    }
    req.body = std::move(msg.body());
    req.peer = peer_;
    req.remote = remote_;

    bool keep_alive = msg.keep_alive();
    Response response;
    if (refused_) {
      // Never the handler: the client is not who it claims to be.
      response =
          ErrorResponse(401, refused_->reason(),
                        "client certificate refused: " + refused_->message());
      keep_alive = false;
    } else if (q != std::string::npos &&
               !ParseForm(std::string_view(req.target).substr(q + 1),
                          req.query)) {
      response =
          ErrorResponse(400, "malformed", "malformed query string encoding");
    } else {
      response = CallHandler(req);
    }
    // Once the server drains, every answer ends its connection.
    if (draining_ || state_.draining.load()) keep_alive = false;
    Send(std::move(response), keep_alive, msg.version(),
         msg.method() == bhttp::verb::head);
  }

  Response CallHandler(const Request& req) {
    try {
      Response response = state_.handler(req);
      if (response.status < 200 || response.status > 599) {
        return ErrorResponse(500, "internal", "internal error");
      }
      return response;
    } catch (...) {
      // Nothing about the failure is sent or logged: its text may carry
      // request data.
      return ErrorResponse(500, "internal", "internal error");
    }
  }

  void Send(Response response, bool keep_alive, unsigned version, bool head) {
    res_ = {};
    res_.version(version == 10 ? 10 : 11);
    res_.result(static_cast<unsigned>(response.status));
    for (const auto& [name, value] : response.headers) {
      if (!IsToken(name) || !IsFieldValue(value) ||
          IsReservedHeader(ToLower(name))) {
        continue;
      }
      res_.insert(name, value);
    }
    if (!response.content_type.empty() && IsFieldValue(response.content_type)) {
      res_.set(bhttp::field::content_type, response.content_type);
    }
    res_.set(bhttp::field::cache_control, "no-store");
    res_.set(bhttp::field::connection, keep_alive ? "keep-alive" : "close");
    if (response.status == 204 || response.status == 304) {
      response.body.clear();
    }
    res_.body() = std::move(response.body);
    res_.prepare_payload();
    if (head) res_.body().clear();  // Content-Length stays that of GET
    keep_alive_ = keep_alive;
    phase_ = Phase::kWriting;
    Lowest().expires_after(ReadTimeout());
    bhttp::async_write(
        stream_, res_,
        beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, std::size_t /*bytes*/) {
    res_ = {};
    if (ec) {
      ERR_clear_error();
      return Close();
    }
    if (!keep_alive_) {
      return drain_on_close_ ? DrainAndClose() : GracefulClose();
    }
    ReadNext();
  }

  // DrainAndClose discards what the client still sends, then closes.
  void DrainAndClose() {
    if (closed_) return;
    phase_ = Phase::kClosing;
    buffer_.clear();
    Lowest().expires_after(
        std::min<std::chrono::seconds>(kCloseTimeout, ReadTimeout()));
    DrainSome(0);
  }

  void DrainSome(std::size_t drained) {
    stream_.async_read_some(
        buffer_.prepare(kDrainChunk), [self = shared_from_this(), drained](
                                          beast::error_code ec, std::size_t n) {
          if (ec || self->closed_ || drained + n > kMaxDrainBytes) {
            ERR_clear_error();
            return self->Close();
          }
          self->DrainSome(drained + n);
        });
  }

  // GracefulClose sends close_notify and waits a little for the peer's.
  void GracefulClose() {
    if (closed_) return;
    phase_ = Phase::kClosing;
    Lowest().expires_after(
        std::min<std::chrono::seconds>(kCloseTimeout, ReadTimeout()));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
      ERR_clear_error();
      self->Close();
    });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().close();
  }

  ServerState& state_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> res_;
  std::optional<SpiffeId> peer_;
  // refused_: the client's certificate did not verify (OnHandshake).
  std::optional<Error> refused_;
  std::string remote_;
  Phase phase_ = Phase::kHandshake;
  bool keep_alive_ = false;
  bool drain_on_close_ = false;
  bool draining_ = false;
  bool closed_ = false;
  bool registered_ = false;
};

bool ServerState::Register(const std::shared_ptr<Session>& session) {
  std::lock_guard<std::mutex> lock(mu);
  if (draining.load()) return false;
  sessions.emplace(session.get(), session);
  session->set_registered();
  return true;
}

bool ServerState::Full() {
  std::lock_guard<std::mutex> lock(mu);
  return sessions.size() >= static_cast<std::size_t>(options.max_connections);
}

void ServerState::Unregister(Session* session) {
  std::lock_guard<std::mutex> lock(mu);
  sessions.erase(session);
  if (sessions.empty()) cv.notify_all();
}

void StartSession(ServerState& st, tcp::socket socket) {
  beast::error_code ec;
  if (st.Full()) {
    // Counted, then closed before any TLS work: a connection over the cap
    // costs nothing but its accept.
    if (st.options.on_connection_refused) {
      try {
        st.options.on_connection_refused();
      } catch (...) {
        // Counting must never stop the accept loop.
      }
    }
    socket.close(ec);
    return;
  }
  tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) return;
  std::shared_ptr<SSL_CTX> ctx;
  try {
    ctx = st.options.tls_context();
  } catch (...) {
    return;
  }
  if (ctx == nullptr) return;
  // The asio context wrapper takes one reference of its own, dropped when
  // it goes out of scope; the connection's SSL object holds another.
  SSL_CTX_up_ref(ctx.get());
  asio::ssl::context wrapper(ctx.get());
  std::shared_ptr<Session> session;
  try {
    session = std::make_shared<Session>(st, std::move(socket), wrapper,
                                        EndpointString(remote));
  } catch (...) {
    ERR_clear_error();
    return;
  }
  if (!st.Register(session)) return;
  asio::dispatch(session->executor(), [session] { session->Start(); });
}

void Accept(ServerState& st) {
  st.acceptor.async_accept(
      asio::make_strand(st.ioc),
      [&st](beast::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !st.acceptor.is_open() ||
            st.draining.load()) {
          return;
        }
        if (ec) {
          // Typically out of descriptors: pause instead of spinning.
          st.accept_retry.expires_after(kAcceptRetry);
          st.accept_retry.async_wait([&st](beast::error_code wait_ec) {
            if (!wait_ec && !st.draining.load()) Accept(st);
          });
          return;
        }
        StartSession(st, std::move(socket));
        Accept(st);
      });
}

// current_server is the server whose worker pool the thread belongs to.
thread_local const ServerState* current_server = nullptr;

void ServerState::Shutdown(int grace_seconds) {
  if (current_server == this) {
    // Called from a handler: start the shutdown on a thread of its own and
    // return, so that the handler (and with it its request) can finish.
    {
      std::lock_guard<std::mutex> lock(mu);
      draining.store(true);  // so that this very response closes
    }
    std::lock_guard<std::mutex> lock(stopper_mu);
    if (!stopper.joinable()) {
      stopper = std::thread([this, grace_seconds] { Stop(grace_seconds); });
    }
    return;
  }
  Stop(grace_seconds);
  std::lock_guard<std::mutex> lock(stopper_mu);
  if (stopper.joinable()) stopper.join();
}

void ServerState::Stop(int grace_seconds) {
  std::lock_guard<std::mutex> serial(shutdown_mu);
  if (shut_down) return;
  shut_down = true;
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::seconds(std::max(0, grace_seconds));

  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard<std::mutex> lock(mu);
    draining.store(true);
    for (auto& [ptr, weak] : sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  asio::post(acceptor.get_executor(), [this] {
    beast::error_code ignored;
    acceptor.close(ignored);
    accept_retry.cancel();
  });
  for (auto& s : live) {
    asio::post(s->executor(), [s] { s->Drain(); });
  }
  live.clear();  // the posted calls keep the sessions alive until they run

  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_until(lock, deadline, [this] { return sessions.empty(); });
  }
  work.reset();
  ioc.stop();
  for (auto& t : threads) {
    if (t.joinable()) t.join();
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    stopped = true;
  }
  cv.notify_all();
}

void ServerState::Wait() {
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [this] { return stopped; });
}

}  // namespace

std::string Request::Header(const std::string& name) const {
  auto it = headers.find(ToLower(name));
  return it == headers.end() ? std::string() : it->second;
}

struct Server::Impl {
  ServerState state;
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  if (impl_ != nullptr) Shutdown();
}

uint16_t Server::port() const { return impl_->state.port; }

void Server::Shutdown(int grace_seconds) {
  impl_->state.Shutdown(grace_seconds);
}

void Server::Wait() { impl_->state.Wait(); }

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options,
                                              Handler handler) {
  if (!options.tls_context) {
    return Error(Code::kInvalidArgument, "server needs a TLS context source");
  }
  if (!handler) return Error(Code::kInvalidArgument, "server needs a handler");
  if (options.threads < 1 || options.threads > 256) {
    return Error(Code::kInvalidArgument, "server threads must be 1 to 256");
  }
  if (options.read_timeout_seconds < 1 || options.idle_timeout_seconds < 1 ||
      options.handshake_timeout_seconds < 0) {
    return Error(Code::kInvalidArgument, "server timeouts must be positive");
  }
  if (options.max_connections < 1) {
    return Error(Code::kInvalidArgument,
                 "server max_connections must be at least 1");
  }
  auto listen = ParseListenAddress(options.listen);
  if (!listen) return listen.error().WithContext("listen address");

  auto impl = std::make_unique<Impl>();
  ServerState& st = impl->state;
  st.clock = options.clock != nullptr ? options.clock : &SystemClock::Default();
  st.options = std::move(options);
  st.handler = std::move(handler);

  beast::error_code ec;
  tcp::resolver resolver(st.ioc);
  auto endpoints = resolver.resolve(
      listen->host, std::to_string(listen->port),
      tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    return Error(Code::kInvalidArgument, "cannot resolve listen address " +
                                             QuoteInput(st.options.listen));
  }
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  st.acceptor.open(endpoint.protocol(), ec);
  if (!ec) st.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) st.acceptor.bind(endpoint, ec);
  if (!ec) st.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error(Code::kIo, "cannot listen on " +
                                QuoteInput(st.options.listen) + ": " +
                                ec.message());
  }
  st.port = st.acceptor.local_endpoint(ec).port();
  if (ec) return Error(Code::kIo, "cannot read the bound port");

  st.work.emplace(st.ioc.get_executor());
  Accept(st);
  st.threads.reserve(static_cast<std::size_t>(st.options.threads));
  for (int i = 0; i < st.options.threads; ++i) {
    st.threads.emplace_back([&st] {
      current_server = &st;
      for (;;) {
        try {
          st.ioc.run();
          return;
        } catch (...) {
          // A completion handler threw (e.g. out of memory): the worker
          // keeps serving; the affected connection is released.
        }
      }
    });
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

}  // namespace aztp::http

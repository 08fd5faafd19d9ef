// The in-process proxy fixture shared by the proxy's tests
// (proxy_test.cc, smuggling_test.cc): a real control plane on loopback
// (testing/control_plane_server.h), a plain-HTTP app written here that
// records what it parses, a "payments" proxy in front of the app (inbound)
// and a "research" proxy the test sends through (egress), so that every
// request crosses test -> research (plain HTTP) -> payments (mTLS, AZTP
// chain) -> app. Everything shares the fixture's FixedClock; ports are all
// 0. Header-only: it is compiled into the proxy's test binary alone.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "aztp/base/bytes.h"
#include "aztp/chain/builder.h"
#include "aztp/crypto/digest.h"
#include "aztp/proxy/gate.h"
#include "aztp/proxy/proxy.h"
#include "testing/control_plane_fixture.h"
#include "testing/control_plane_server.h"
#include "testing/fake_openid_provider.h"
#include "testing/temp_dir.h"
#include "testing/trust_domains.h"

namespace aztp::proxy_testing {

using test_support::ControlPlaneServer;
using test_support::Must;
using SteadyClock = std::chrono::steady_clock;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr char kPayments[] = "spiffe://org-a.example/tools/payments";
constexpr char kResearch[] = "spiffe://org-a.example/agents/research";
// The control plane's OpenID provider (a fake one), whose people research
// may start chains for (person_egress_test.cc).
constexpr char kIssuer[] = "https://login.example.com";
constexpr char kReturnUrl[] = "http://127.0.0.1:1/login/done";
// kBig is the size of the streamed bodies: several relay chunks, and not a
// multiple of one.
constexpr std::size_t kBig = (3 << 20) + 12345;

inline std::string Sha256Hex(std::string_view data) {
  return HexEncode(Sha256(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(data.data()), data.size())));
}

// Pattern is `n` bytes of 0, 1, ..., 255, 0, 1, ...: what GET /big sends.
inline std::string Pattern(std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>(i % 256);
  return out;
}

inline double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// IncrementalSha256 hashes a body as it arrives, never holding it whole.
class IncrementalSha256 {
 public:
  IncrementalSha256() : ctx_(EVP_MD_CTX_new()) {
    if (ctx_ == nullptr ||
        EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) {
      std::abort();
    }
  }
  ~IncrementalSha256() { EVP_MD_CTX_free(ctx_); }
  IncrementalSha256(const IncrementalSha256&) = delete;
  IncrementalSha256& operator=(const IncrementalSha256&) = delete;
  void Update(const char* data, std::size_t n) {
    if (EVP_DigestUpdate(ctx_, data, n) != 1) std::abort();
    bytes_ += n;
  }
  std::size_t bytes() const { return bytes_; }
  std::string Hex() {
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_, md, &len) != 1) std::abort();
    return HexEncode(std::span<const uint8_t>(md, len));
  }

 private:
  EVP_MD_CTX* ctx_;
  std::size_t bytes_ = 0;
};

// EchoApp is the plain-HTTP/1.1 app behind the payments proxy: one thread
// per connection, keep-alive, bodies read in 64 KiB pieces and hashed.
// Every answer is JSON about the request: {"method", "path", "headers" (the
// Aztp-* ones; a repeated field's values joined with ", "), "body_bytes",
// "body_sha256", "conn" (which accepted connection served it, from 1)};
// but GET /big?n=N streams N bytes of Pattern, chunked, and GET /sleep/MS
// answers after MS milliseconds (or when the app stops).
class EchoApp {
 public:
  EchoApp()
      : acceptor_(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
    port_ = acceptor_.local_endpoint().port();
    accepting_ = std::thread([this] { AcceptLoop(); });
  }
  ~EchoApp() { Stop(); }
  EchoApp(const EchoApp&) = delete;
  EchoApp& operator=(const EchoApp&) = delete;

  uint16_t port() const { return port_; }
  // accepted counts the connections accepted so far.
  int accepted() const {
    std::lock_guard lock(mu_);
    return static_cast<int>(conns_.size());
  }
  // requests counts the requests whose header was read.
  int requests() const { return requests_.load(); }

  // Seen is one request as the app parsed it.
  struct Seen {
    std::string method;
    std::string target;
    Json aztp;  // its Aztp-* fields, by name
    std::string body_sha256;
    std::size_t body_bytes = 0;
    bool complete = false;  // the whole body arrived
  };
  // seen lists every request parsed so far, in the order they arrived.
  std::vector<Seen> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  // parse_errors counts the connections on which the app read bytes that
  // were not a well-formed request (a smuggled or broken message).
  int parse_errors() const { return parse_errors_.load(); }

  // WaitForSleepers waits (up to 10 s) until `n` /sleep requests arrived.
  bool WaitForSleepers(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10),
                        [&] { return sleepers_ >= n; });
  }

  // Stop closes the listener and every connection (the app is down) and
  // waits for its threads. Idempotent.
  void Stop() {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      for (auto& c : conns_) {
        beast::error_code ignored;
        c->shutdown(tcp::socket::shutdown_both, ignored);
      }
      threads.swap(threads_);
    }
    cv_.notify_all();
    // Wake the blocking accept; the loop sees `stopped_` and ends.
    {
      beast::error_code ignored;
      tcp::socket wake(io_);
      wake.connect(acceptor_.local_endpoint(), ignored);
      accepting_.join();
    }
    for (auto& t : threads) t.join();
    beast::error_code ignored;
    acceptor_.close(ignored);
  }

 private:
  void AcceptLoop() {
    for (;;) {
      auto socket = std::make_shared<tcp::socket>(io_);
      beast::error_code ec;
      acceptor_.accept(*socket, ec);
      std::lock_guard lock(mu_);
      if (stopped_) return;
      if (ec) continue;
      conns_.push_back(socket);
      const int n = static_cast<int>(conns_.size());
      threads_.emplace_back([this, socket, n] { Serve(*socket, n); });
    }
  }

  void Serve(tcp::socket& socket, int conn) {
    beast::flat_buffer buffer;
    std::vector<char> chunk(64 << 10);
    for (;;) {
      bhttp::request_parser<bhttp::buffer_body> p;
      // Not boost::none: Boost 1.74's parser then refuses every body with
      // a Content-Length (it compares the length with the empty optional).
      p.body_limit(std::numeric_limits<std::uint64_t>::max());
      beast::error_code ec;
      bhttp::read_header(socket, buffer, p, ec);
      if (ec) {
        if (ec != bhttp::error::end_of_stream && ec != asio::error::eof &&
            ec != asio::error::connection_reset && !stopped()) {
          ++parse_errors_;
        }
        break;
      }
      ++requests_;
      IncrementalSha256 body;
      while (!ec && !p.is_done()) {
        p.get().body().data = chunk.data();
        p.get().body().size = chunk.size();
        bhttp::read(socket, buffer, p, ec);
        if (ec == bhttp::error::need_buffer) ec = {};
        body.Update(chunk.data(), chunk.size() - p.get().body().size);
      }
      const Seen seen = Record(p.get(), body, !ec);
      if (ec || !Answer(socket, p.get(), seen, conn)) break;
      if (!p.get().keep_alive()) break;
    }
    beast::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
  }

  bool stopped() const {
    std::lock_guard lock(mu_);
    return stopped_;
  }

  static Json AztpFields(const bhttp::request<bhttp::buffer_body>& req) {
    Json headers = Json::object();
    for (const auto& f : req) {
      if (!IsProxyHeader(f.name_string())) continue;
      std::string name(f.name_string());
      std::string value(f.value());
      if (headers.contains(name)) {
        value = headers[name].get<std::string>() + ", " + value;
      }
      headers[name] = value;
    }
    return headers;
  }

  Seen Record(const bhttp::request<bhttp::buffer_body>& req,
              IncrementalSha256& body, bool complete) {
    Seen seen{std::string(req.method_string()),
              std::string(req.target()),
              AztpFields(req),
              body.Hex(),
              body.bytes(),
              complete};
    std::lock_guard lock(mu_);
    seen_.push_back(seen);
    return seen;
  }

  bool Answer(tcp::socket& socket,
              const bhttp::request<bhttp::buffer_body>& req, const Seen& seen,
              int conn) {
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));
    if (req.method() == bhttp::verb::get && path == "/big") {
      return SendPattern(socket,
                         std::stoull(target.substr(target.find("n=") + 2)),
                         req.keep_alive());
    }
    if (path.starts_with("/sleep/")) {
      std::unique_lock lock(mu_);
      ++sleepers_;
      cv_.notify_all();
      // Stop cuts the sleep short.
      cv_.wait_for(lock, std::chrono::milliseconds(std::stoi(path.substr(7))),
                   [&] { return stopped_; });
    }
    bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, "application/json");
    res.body() = DumpJson(Json{{"method", seen.method},
                               {"path", path},
                               {"headers", seen.aztp},
                               {"body_bytes", seen.body_bytes},
                               {"body_sha256", seen.body_sha256},
                               {"conn", conn}});
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    beast::error_code ec;
    bhttp::write(socket, res, ec);
    return !ec;
  }

  // SendPattern streams `n` bytes of Pattern as a chunked body.
  static bool SendPattern(tcp::socket& socket, std::size_t n, bool keep_alive) {
    std::string piece = Pattern(64 << 10);  // a multiple of 256
    bhttp::response<bhttp::buffer_body> res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, "application/octet-stream");
    res.chunked(true);
    res.keep_alive(keep_alive);
    bhttp::response_serializer<bhttp::buffer_body> sr{res};
    beast::error_code ec;
    bhttp::write_header(socket, sr, ec);
    for (std::size_t left = n; !ec;) {
      const std::size_t k = std::min(left, piece.size());
      res.body().data = k == 0 ? nullptr : piece.data();
      res.body().size = k;
      res.body().more = k > 0;
      bhttp::write(socket, sr, ec);
      if (ec == bhttp::error::need_buffer) ec = {};
      if (k == 0) break;
      left -= k;
    }
    return !ec;
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread accepting_;
  std::atomic<int> requests_{0};
  std::atomic<int> parse_errors_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;                             // guarded by mu_
  int sleepers_ = 0;                                 // guarded by mu_
  std::vector<Seen> seen_;                           // guarded by mu_
  std::vector<std::shared_ptr<tcp::socket>> conns_;  // guarded by mu_
  std::vector<std::thread> threads_;                 // guarded by mu_
};

// Reply is what the test's client received: status 0 when no answer came
// (then `error` says why).
struct Reply {
  int status = 0;
  std::string error;
  std::string body;
  bool keep_alive = false;
  std::map<std::string, std::string> headers;  // the answer's, by name
  Json json() const {
    auto parsed = ParseJson(body);
    return parsed ? *parsed : Json();
  }
};

// HttpConn is one plain-HTTP/1.1 connection of the test, blocking for its
// caller: each operation runs on a private io_context, cut off after 20 s
// (a safety net; no test waits that long).
class HttpConn {
 public:
  explicit HttpConn(uint16_t port) : stream_(io_) {
    connect_error_ = Run([&](auto done) {
      stream_.async_connect(
          tcp::endpoint(asio::ip::address_v4::loopback(), port),
          [done](beast::error_code ec) { done(ec); });
    });
  }

  Reply Send(bhttp::request<bhttp::string_body> req) {
    Reply r;
    if (connect_error_) {
      r.error = "connect: " + connect_error_.message();
      return r;
    }
    req.prepare_payload();
    beast::error_code ec = Run([&](auto done) {
      bhttp::async_write(stream_, req,
                         [done](beast::error_code e, std::size_t) { done(e); });
    });
    if (ec) {
      r.error = "write: " + ec.message();
      return r;
    }
    bhttp::response_parser<bhttp::string_body> p;
    p.body_limit(64 << 20);
    ec = Run([&](auto done) {
      bhttp::async_read(stream_, buffer_, p,
                        [done](beast::error_code e, std::size_t) { done(e); });
    });
    if (ec) {
      r.error = "read: " + ec.message();
      return r;
    }
    r.status = p.get().result_int();
    r.keep_alive = p.get().keep_alive();
    for (const auto& f : p.get()) {
      r.headers[std::string(f.name_string())] = std::string(f.value());
    }
    r.body = std::move(p.get().body());
    return r;
  }

  // ClosedByServer: the server ended the connection (the next read finds
  // its end, or a reset when it closed with bytes of ours unread).
  bool ClosedByServer() {
    char byte;
    beast::error_code ec = Run([&](auto done) {
      stream_.async_read_some(
          asio::buffer(&byte, 1),
          [done](beast::error_code e, std::size_t) { done(e); });
    });
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

 private:
  template <class Start>
  beast::error_code Run(Start start) {
    beast::error_code result = asio::error::operation_aborted;
    stream_.expires_after(std::chrono::seconds(20));
    start([&result](beast::error_code ec) { result = ec; });
    io_.restart();
    io_.run();
    return result;
  }

  asio::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  beast::error_code connect_error_;
};

// Statuses parses the answers in `wire`, in order.
inline std::vector<int> Statuses(const std::string& wire) {
  std::vector<int> out;
  std::size_t used = 0;
  while (used < wire.size()) {
    bhttp::response_parser<bhttp::string_body> p;
    p.eager(true);
    beast::error_code ec;
    std::size_t n = 0;
    do {
      n = p.put(asio::buffer(wire.data() + used, wire.size() - used), ec);
      used += n;
    } while (!ec && n > 0 && !p.is_done());
    if (ec && ec != bhttp::error::need_more) break;
    if (!p.is_header_done()) break;
    if (!p.is_done()) {  // a body until close
      p.put_eof(ec);
    }
    out.push_back(p.get().result_int());
    if (!p.is_done()) break;
  }
  return out;
}

// Exchange writes `bytes` to 127.0.0.1:`port` (over TLS with `ctx` when set,
// sending close_notify after them, else half-closing TCP) and returns what
// came back until the server closed.
inline std::string Exchange(uint16_t port, const std::string& bytes,
                            SSL_CTX* ctx) {
  asio::io_context io;
  tcp::socket socket(io);
  beast::error_code ec;
  socket.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port), ec);
  if (ec) return "connect failed: " + ec.message();
  timeval tv{10, 0};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string got;
  char buf[16384];
  if (ctx == nullptr) {
    asio::write(socket, asio::buffer(bytes), ec);
    socket.shutdown(tcp::socket::shutdown_send, ec);
    for (;;) {
      ssize_t n = ::recv(socket.native_handle(), buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, socket.native_handle());
  if (SSL_connect(ssl) == 1 &&
      SSL_write(ssl, bytes.data(), static_cast<int>(bytes.size())) > 0) {
    SSL_shutdown(ssl);  // close_notify: this side sends nothing more
    for (;;) {
      int n = SSL_read(ssl, buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
  }
  SSL_free(ssl);
  return got;
}

// Events keeps what a proxy logged: each event's name and fields.
struct Events {
  std::mutex mu;
  std::vector<std::pair<std::string, Json>> logged;
  ProxyLog Sink() {
    return [this](LogLevel, std::string_view event, const Json& fields) {
      std::lock_guard lock(mu);
      logged.emplace_back(event, fields);
    };
  }
  std::size_t Count(const std::string& name) {
    std::lock_guard lock(mu);
    return std::count_if(logged.begin(), logged.end(),
                         [&](const auto& e) { return e.first == name; });
  }
  // str is every event, one a line, for failure messages.
  std::string str() {
    std::lock_guard lock(mu);
    std::string out;
    for (const auto& [name, fields] : logged) {
      out += name + " " + DumpJson(fields) + "\n";
    }
    return out;
  }
};

inline ProxyRoute Route(const char* method, const char* path,
                        const char* action, const char* resource = "*") {
  ProxyRoute r;
  r.method = method;
  r.path = path;
  r.action = action;
  r.resource = resource;
  return r;
}

class ProxyTest : public testing::Test {
 protected:
  void SetUp() override {
    Admin("POST", "/v1/identities", Json{{"id", kPayments}}, 201);
    Admin("POST", "/v1/identities", Json{{"id", kResearch}}, 201);
    Json policy = Must(ParseJson(R"({"Statement":[
        {"Sid":"QuotesFromOurDomain","Effect":"Allow",
         "Action":"payments:quote",
         "Condition":{"StringEquals":{"aztp:CallerTrustDomain":"org-a.example"}}},
        {"Sid":"NoRefunds","Effect":"Deny","Action":"payments:refund"}]})"));
    Json created = Admin("POST", "/v1/policies",
                         Json{{"name", "payments"}, {"document", policy}}, 201);
    ASSERT_TRUE(created.contains("id")) << DumpJson(created);
    Admin("POST",
          "/v1/policies/" + created["id"].get<std::string>() + ":attach",
          Json{{"identity", kPayments}}, 200);

    payments_ = StartProxy(PaymentsConfig(), kPayments, payments_events_);
    ASSERT_NE(payments_, nullptr);
    ASSERT_NE(payments_->inbound_port(), 0);
    EXPECT_EQ(payments_->egress_port(), 0);
    research_ = StartProxy(ResearchConfig(), kResearch, research_events_);
    ASSERT_NE(research_, nullptr);
    ASSERT_NE(research_->egress_port(), 0);
    EXPECT_EQ(research_->inbound_port(), 0);
  }

  // Admin sends a request to the control plane's API as the admin key and
  // expects `status`; returns the JSON answer.
  Json Admin(const std::string& method, const std::string& path,
             const Json& body, int status) {
    http::Response r =
        server_.control_plane().Handle(test_support::NativeRequest(
            method, path, body.is_null() ? "" : DumpJson(body),
            server_.admin_api_key()));
    EXPECT_EQ(r.status, status) << method << " " << path << ": " << r.body;
    auto parsed = ParseJson(r.body);
    return parsed ? *parsed : Json();
  }

  ProxyConfig BaseConfig(const char* id, const std::string& name) {
    ProxyConfig c;
    c.identity = id;
    c.control_plane.url = server_.url();
    c.audit.db = dir_.File(name + "-audit.db");
    c.threads = 2;
    c.replay_capacity = 1024;
    return c;
  }

  ProxyConfig PaymentsConfig() {
    ProxyConfig c = BaseConfig(kPayments, "payments");
    c.metrics_listen = "127.0.0.1:0";
    c.inbound.emplace();
    c.inbound->listen = "127.0.0.1:0";
    c.inbound->upstream = "http://127.0.0.1:" + std::to_string(app_.port());
    c.inbound->routes = {
        Route("POST", "/quote", "payments:quote", "quotes"),
        Route("POST", "/refund", "payments:refund"),
        Route("POST", "/upload", "payments:quote"),
        Route("GET", "/big", "payments:quote"),
        Route("GET", "/sleep/*", "payments:quote"),
    };
    return c;
  }

  ProxyConfig ResearchConfig() {
    ProxyConfig c = BaseConfig(kResearch, "research");
    c.egress.emplace();
    c.egress->listen = "127.0.0.1:0";
    c.egress->root_capabilities = {"payments:quote", "payments:refund"};
    return c;
  }

  // Deps bootstraps the agent of `id` with the admin key and opens an
  // audit store at `audit_db`; nullopt (and a test failure) when the agent
  // cannot start.
  std::optional<ProxyDeps> Deps(const char* id, const std::string& audit_db,
                                Events& events) {
    AgentOptions o;
    o.base_url = server_.url();
    o.trust_bundle = std::make_shared<const Bundle>(server_.bundle());
    o.id = Must(SpiffeId::Parse(id));
    o.api_key = SecretBytes(std::string_view(server_.admin_api_key()));
    o.clock = &server_.clock();
    o.retry.max_attempts = 1;
    auto agent = Agent::Create(std::move(o));
    if (!agent) {
      ADD_FAILURE() << "agent " << id << ": " << agent.error().message();
      return std::nullopt;
    }
    ProxyDeps deps;
    deps.agent = std::move(*agent);
    deps.audit_store = Must(OpenSqliteAuditLog(audit_db));
    deps.control_plane_url = server_.url();
    deps.log = events.Sink();
    deps.clock = &server_.clock();
    return deps;
  }

  std::unique_ptr<Proxy> StartProxy(ProxyConfig config, const char* id,
                                    Events& events) {
    auto deps = Deps(id, config.audit.db, events);
    if (!deps) return nullptr;
    auto proxy = Proxy::Start(std::move(config), std::move(*deps));
    if (!proxy) {
      ADD_FAILURE() << "proxy " << id << ": " << proxy.error().message();
      return nullptr;
    }
    return std::move(*proxy);
  }

  // ToPayments is a request for the research proxy's egress listener to
  // send to the payments proxy (absolute-form target, Aztp-Target).
  bhttp::request<bhttp::string_body> ToPayments(bhttp::verb verb,
                                                const std::string& path,
                                                std::string body = "") {
    const std::string authority =
        "127.0.0.1:" + std::to_string(payments_->inbound_port());
    bhttp::request<bhttp::string_body> req{verb, "http://" + authority + path,
                                           11};
    req.set(bhttp::field::host, authority);
    req.set(kTargetHeader, kPayments);
    req.body() = std::move(body);
    return req;
  }

  // Send sends one request over a connection of its own.
  Reply Send(bhttp::request<bhttp::string_body> req) {
    HttpConn conn(research_->egress_port());
    return conn.Send(std::move(req));
  }

  // ExpectError checks for an error answer: `status` and the JSON body
  // {"error": reason, "hop": hop, "message": "..."}.
  static void ExpectError(const Reply& r, int status, const char* reason,
                          const Json& hop) {
    EXPECT_EQ(r.status, status) << r.error << r.body;
    Json body = r.json();
    ASSERT_TRUE(body.is_object()) << r.body;
    EXPECT_EQ(body.value("error", ""), reason) << r.body;
    EXPECT_EQ(body["hop"], hop) << r.body;
    EXPECT_TRUE(body["message"].is_string()) << r.body;
  }

  // Tester is an agent of the test's own: it holds an SVID, mints chains
  // and speaks mTLS with Exchange, as any caller of a proxy would.
  struct Tester {
    std::shared_ptr<Agent> agent;
    std::optional<HopSigner> signer;
    std::shared_ptr<SSL_CTX> context;
    const Clock* clock = nullptr;
    // Chain mints a root for `audience` granting `caps` (txn: random when
    // empty).
    std::string Chain(const char* audience, std::vector<std::string> caps,
                      std::string txn = "") const {
      MintOptions m;
      m.audience = Must(SpiffeId::Parse(audience));
      m.capabilities = Must(CapabilitySet::FromStrings(caps));
      if (!txn.empty()) m.txn = std::move(txn);
      return Must(MintChain(*signer, m, clock->Now()));
    }
  };

  // MakeTester registers `id` and bootstraps its agent (agent null and a
  // test failure when that fails).
  Tester MakeTester(const char* id) {
    // A peer that closes first must not kill the test with SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);
    Admin("POST", "/v1/identities", Json{{"id", id}}, 201);
    Tester t;
    auto deps = Deps(
        id,
        dir_.File(std::string("tester-") + std::to_string(++testers_) + ".db"),
        tester_events_);
    if (!deps) return t;
    t.agent = deps->agent;
    auto creds = t.agent->credentials();
    t.signer = Must(HopSigner::Create(creds->chain, creds->key));
    t.context = Must(t.agent->MakeClientContext());
    t.clock = &server_.clock();
    return t;
  }

  // ServerOptions: a control plane that accepts people of the fake
  // provider: ID tokens for "travel-app" exchanged by research, and logins
  // for research returning to kReturnUrl.
  static ControlPlaneServer::Options ServerOptions(
      std::shared_ptr<test_support::FakeOpenIdProvider> idp) {
    ControlPlaneServer::Options o;
    services::PersonProvider p = test_support::FakeOpenIdProvider::Provider(
        std::move(idp), "corp", kIssuer);
    p.exchange_clients["travel-app"] = {Must(SpiffeId::Parse(kResearch))};
    o.control_plane.people = {std::move(p)};
    o.control_plane.login.callback_url =
        "https://aztpd.org-a.example/v1/oidc/callback";
    o.control_plane.login.return_urls[kResearch] = {kReturnUrl};
    return o;
  }

  FixedClock idp_clock_{ControlPlaneServer::kDefaultNow};
  std::shared_ptr<test_support::FakeOpenIdProvider> idp_ =
      std::make_shared<test_support::FakeOpenIdProvider>(&idp_clock_);
  ControlPlaneServer server_{ServerOptions(idp_)};
  test_support::TempDir dir_{"aztp_proxy_test_"};
  Events tester_events_;
  int testers_ = 0;
  EchoApp app_;
  Events payments_events_, research_events_;
  std::unique_ptr<Proxy> payments_;
  std::unique_ptr<Proxy> research_;
};

}  // namespace aztp::proxy_testing

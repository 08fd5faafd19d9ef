// aztp::Proxy in one process, for the sanitizers: a real control plane on
// loopback (testing/control_plane_server.h), a plain-HTTP app written here,
// a "payments" proxy in front of the app (inbound) and a "research" proxy
// the test sends through (egress), so that every request crosses
// test -> research (plain HTTP) -> payments (mTLS, AZTP chain) -> app.
// Everything shares the fixture's FixedClock; ports are all 0.
#include "aztp/proxy/proxy.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

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
#include "aztp/crypto/digest.h"
#include "aztp/proxy/gate.h"
#include "testing/control_plane_fixture.h"
#include "testing/control_plane_server.h"
#include "testing/temp_dir.h"
#include "testing/trust_domains.h"

namespace aztp {
namespace {

using testing::ControlPlaneServer;
using testing::Must;
using SteadyClock = std::chrono::steady_clock;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr char kPayments[] = "spiffe://org-a.example/tools/payments";
constexpr char kResearch[] = "spiffe://org-a.example/agents/research";
// kBig is the size of the streamed bodies: several relay chunks, and not a
// multiple of one.
constexpr std::size_t kBig = (3 << 20) + 12345;

std::string Sha256Hex(std::string_view data) {
  return HexEncode(Sha256(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(data.data()), data.size())));
}

// Pattern is `n` bytes of 0, 1, ..., 255, 0, 1, ...: what GET /big sends.
std::string Pattern(std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>(i % 256);
  return out;
}

double SecondsSince(SteadyClock::time_point start) {
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
      if (ec) break;
      ++requests_;
      IncrementalSha256 body;
      while (!ec && !p.is_done()) {
        p.get().body().data = chunk.data();
        p.get().body().size = chunk.size();
        bhttp::read(socket, buffer, p, ec);
        if (ec == bhttp::error::need_buffer) ec = {};
        body.Update(chunk.data(), chunk.size() - p.get().body().size);
      }
      if (ec || !Answer(socket, p.get(), body, conn)) break;
      if (!p.get().keep_alive()) break;
    }
    beast::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
  }

  bool Answer(tcp::socket& socket,
              const bhttp::request<bhttp::buffer_body>& req,
              IncrementalSha256& body, int conn) {
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
    bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, "application/json");
    res.body() = DumpJson(Json{{"method", std::string(req.method_string())},
                               {"path", path},
                               {"headers", headers},
                               {"body_bytes", body.bytes()},
                               {"body_sha256", body.Hex()},
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
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;                             // guarded by mu_
  int sleepers_ = 0;                                 // guarded by mu_
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

ProxyRoute Route(const char* method, const char* path, const char* action,
                 const char* resource = "*") {
  ProxyRoute r;
  r.method = method;
  r.path = path;
  r.action = action;
  r.resource = resource;
  return r;
}

class ProxyTest : public ::testing::Test {
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
    http::Response r = server_.control_plane().Handle(testing::NativeRequest(
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
    deps.audit_store = Must(OpenSqliteStore(audit_db));
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

  ControlPlaneServer server_;
  testing::TempDir dir_{"aztp_proxy_test_"};
  EchoApp app_;
  Events payments_events_, research_events_;
  std::unique_ptr<Proxy> payments_;
  std::unique_ptr<Proxy> research_;
};

TEST_F(ProxyTest, AllowedRequestCarriesTheVerifiedChainAndNoSpoofedHeaders) {
  auto req =
      ToPayments(bhttp::verb::post, "/quote?currency=EUR", R"({"amount":12})");
  req.set(bhttp::field::content_type, "application/json");
  req.set("Aztp-Subject", "oidc:https://login.example#alice");
  req.set("Aztp-Caller", "spiffe://org-a.example/evil");
  req.set("Aztp-Path", "forged");
  req.set("Aztp-Chain", "forged.chain");
  req.set("Aztp-Forged", "yes");
  Reply r = Send(std::move(req));
  ASSERT_EQ(r.status, 200) << r.error << r.body << payments_events_.str();
  Json app = r.json();
  EXPECT_EQ(app["method"], "POST");
  EXPECT_EQ(app["path"], "/quote");
  EXPECT_EQ(app["body_bytes"], 13);
  EXPECT_EQ(app["body_sha256"], Sha256Hex(R"({"amount":12})"));
  const Json& h = app["headers"];
  EXPECT_EQ(h.value("Aztp-Caller", ""), kResearch) << h;
  EXPECT_EQ(h.value("Aztp-Path", ""), std::string(kResearch) + "," + kPayments)
      << h;
  EXPECT_EQ(h.value("Aztp-Capabilities", ""), "payments:quote payments:refund")
      << h;
  EXPECT_EQ(h.value("Aztp-Subject", ""), "oidc:https://login.example#alice")
      << h;
  EXPECT_EQ(h.value("Aztp-Txn", "").size(), 32u) << h;
  EXPECT_FALSE(h.contains("Aztp-Chain")) << "the chain reached the app: " << h;
  EXPECT_FALSE(h.contains("Aztp-Forged")) << h;
  EXPECT_FALSE(h.contains("Aztp-Target")) << h;
  EXPECT_EQ(h.size(), 5u) << h;

  ProxyStats p = payments_->stats();
  EXPECT_EQ(p.inbound_allowed, 1);
  EXPECT_EQ(p.inbound_denied, 0);
  EXPECT_EQ(p.policies, 1);
  EXPECT_EQ(p.audit_appended, 1);
  ProxyStats e = research_->stats();
  EXPECT_EQ(e.egress_sent, 1);
  EXPECT_EQ(e.egress_failed, 0);
  EXPECT_EQ(e.audit_appended, 1);
  EXPECT_EQ(e.policies, 0);
}

TEST_F(ProxyTest, DenialsAnswerWithTheirReasonAndNeverReachTheApp) {
  // The payments proxy's denials, relayed by the research proxy over one
  // kept-alive connection of the test.
  HttpConn conn(research_->egress_port());
  Reply refund = conn.Send(ToPayments(bhttp::verb::post, "/refund", "x"));
  ExpectError(refund, 403, "policy_denied", 0);
  EXPECT_NE(refund.body.find("NoRefunds"), std::string::npos) << refund.body;
  EXPECT_TRUE(refund.keep_alive);

  Reply route = conn.Send(ToPayments(bhttp::verb::post, "/nothing", "x"));
  ExpectError(route, 403, "route_not_found", nullptr);
  EXPECT_TRUE(route.keep_alive);

  auto narrowed = ToPayments(bhttp::verb::post, "/quote", "x");
  narrowed.set(kCapabilitiesHeader, "payments:refund");
  ExpectError(conn.Send(std::move(narrowed)), 403, "capability_not_granted", 0);

  // The research proxy itself refuses to mint more than it may grant, and
  // closes the connection.
  auto wider = ToPayments(bhttp::verb::post, "/quote", "x");
  wider.set(kCapabilitiesHeader, "admin:all");
  Reply escalation = conn.Send(std::move(wider));
  ExpectError(escalation, 403, "capability_escalation", nullptr);
  EXPECT_NE(escalation.body.find("admin:all"), std::string::npos)
      << escalation.body;
  EXPECT_FALSE(escalation.keep_alive);
  EXPECT_TRUE(conn.ClosedByServer());

  EXPECT_EQ(app_.requests(), 0);
  ProxyStats p = payments_->stats();
  EXPECT_EQ(p.inbound_allowed, 0);
  EXPECT_EQ(p.inbound_denied, 3);
  EXPECT_EQ(p.audit_appended, 3);
  EXPECT_EQ(payments_events_.Count("inbound_denied"), 3u);
  ProxyStats e = research_->stats();
  EXPECT_EQ(e.egress_sent, 3);
  EXPECT_EQ(e.egress_failed, 1);
  EXPECT_EQ(e.audit_appended, 4);
}

TEST_F(ProxyTest, KeepAliveReusesTheClientAndTheUpstreamConnections) {
  HttpConn conn(research_->egress_port());
  std::set<std::string> txns;
  constexpr int kRequests = 5;
  for (int i = 0; i < kRequests; ++i) {
    Reply r = conn.Send(ToPayments(bhttp::verb::post, "/quote", "q"));
    ASSERT_EQ(r.status, 200) << i << ": " << r.error << r.body;
    EXPECT_TRUE(r.keep_alive) << i;
    Json app = r.json();
    EXPECT_EQ(app["conn"], 1) << i << ": the app saw a new connection";
    txns.insert(app["headers"].value("Aztp-Txn", ""));
  }
  EXPECT_EQ(txns.size(), static_cast<std::size_t>(kRequests))
      << "each call is a transaction of its own";
  EXPECT_EQ(app_.accepted(), 1);
  // One connection each: the test's to research, research's (pooled) to
  // payments.
  EXPECT_EQ(research_->stats().connections_open, 1);
  EXPECT_EQ(payments_->stats().connections_open, 1);
  EXPECT_EQ(payments_->stats().inbound_allowed, kRequests);
}

TEST_F(ProxyTest, StreamsLargeBodiesBothWays) {
  std::string upload(kBig, '\0');
  for (std::size_t i = 0; i < upload.size(); ++i) {
    upload[i] = static_cast<char>((i * 7 + i / 4096) % 251);
  }
  const std::string upload_digest = Sha256Hex(upload);
  HttpConn conn(research_->egress_port());
  auto up = ToPayments(bhttp::verb::post, "/upload", std::move(upload));
  up.set(bhttp::field::content_type, "application/octet-stream");
  Reply r = conn.Send(std::move(up));
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(r.json()["body_bytes"], kBig);
  EXPECT_EQ(r.json()["body_sha256"], upload_digest);

  Reply down =
      conn.Send(ToPayments(bhttp::verb::get, "/big?n=" + std::to_string(kBig)));
  ASSERT_EQ(down.status, 200) << down.error;
  EXPECT_EQ(down.body.size(), kBig);
  EXPECT_EQ(Sha256Hex(down.body), Sha256Hex(Pattern(kBig)));
  EXPECT_TRUE(down.keep_alive);

  // The connection is still good after both.
  Reply after = conn.Send(ToPayments(bhttp::verb::post, "/quote", "x"));
  EXPECT_EQ(after.status, 200) << after.error << after.body;
  EXPECT_EQ(app_.accepted(), 1);
}

TEST_F(ProxyTest, AppDownAnswers502UpstreamUnavailable) {
  ASSERT_EQ(Send(ToPayments(bhttp::verb::post, "/quote", "x")).status, 200);
  // The payments proxy now pools a connection the app is about to close.
  app_.Stop();
  Reply r = Send(ToPayments(bhttp::verb::post, "/quote", "x"));
  ExpectError(r, 502, "upstream_unavailable", nullptr);
  EXPECT_NE(r.body.find(std::to_string(app_.port())), std::string::npos)
      << r.body;
  ProxyStats p = payments_->stats();
  EXPECT_EQ(p.upstream_errors, 1);
  EXPECT_EQ(p.inbound_allowed, 2);
  EXPECT_EQ(payments_events_.Count("upstream_failed"), 1u);
  // The research proxy relayed the payments proxy's answer: a call made.
  EXPECT_EQ(research_->stats().upstream_errors, 0);
  EXPECT_EQ(research_->stats().egress_sent, 2);
}

TEST_F(ProxyTest, ReloadAppliesANewRouteToNewRequests) {
  ExpectError(Send(ToPayments(bhttp::verb::get, "/reports")), 403,
              "route_not_found", nullptr);
  ProxyConfig c = PaymentsConfig();
  c.inbound->routes.push_back(Route("GET", "/reports", "payments:quote"));
  ASSERT_TRUE(payments_->Reload(c));
  Reply r = Send(ToPayments(bhttp::verb::get, "/reports"));
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(r.json()["path"], "/reports");

  // What cannot change is refused, and the settings in force stay.
  ProxyConfig moved = c;
  moved.inbound->listen = "127.0.0.1:1";
  moved.inbound->routes.pop_back();
  Status refused = payments_->Reload(moved);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), Code::kInvalidArgument);
  EXPECT_NE(refused.error().message().find("inbound.listen"), std::string::npos)
      << refused.error().message();
  EXPECT_EQ(Send(ToPayments(bhttp::verb::get, "/reports")).status, 200);
  EXPECT_EQ(payments_->stats().policies, 1);
}

TEST_F(ProxyTest, WithoutABodyLimitBodiesStillPass) {
  ProxyConfig c = PaymentsConfig();
  c.max_body_bytes = 0;  // documented as "no limit"
  ASSERT_TRUE(payments_->Reload(c));
  // (Boost 1.74's parser compares a Content-Length with an empty limit as
  // if it were exceeded; ApplyLimits must not pass one.)
  Reply r = Send(ToPayments(bhttp::verb::post, "/quote", "x"));
  EXPECT_EQ(r.status, 200) << r.error << r.body << payments_events_.str();
  EXPECT_EQ(r.json()["body_bytes"], 1);
  // A request without a body, whose answer has a Content-Length.
  Reply get = Send(ToPayments(bhttp::verb::get, "/sleep/0"));
  EXPECT_EQ(get.status, 200) << get.error << get.body;
}

TEST_F(ProxyTest, ShipsTheAuditLogToTheControlPlane) {
  ASSERT_EQ(Send(ToPayments(bhttp::verb::post, "/quote", "x")).status, 200);
  ASSERT_EQ(Send(ToPayments(bhttp::verb::post, "/refund", "x")).status, 403);
  auto payments_acked = payments_->ShipAudit();
  ASSERT_TRUE(payments_acked) << payments_acked.error().message();
  EXPECT_EQ(*payments_acked, 2);
  EXPECT_EQ(payments_->stats().audit_acked, 2);
  auto research_acked = research_->ShipAudit();
  ASSERT_TRUE(research_acked) << research_acked.error().message();
  EXPECT_EQ(*research_acked, 2);

  Json sources = Admin("GET", "/v1/audit/sources", nullptr, 200);
  std::map<std::string, int64_t> shipped;
  for (const Json& s : sources["sources"]) {
    shipped[s["source"].get<std::string>()] = s["seq"].get<int64_t>();
  }
  EXPECT_EQ(shipped[kPayments], 2) << DumpJson(sources);
  EXPECT_EQ(shipped[kResearch], 2) << DumpJson(sources);

  http::Request denied =
      testing::NativeRequest("GET", "/v1/audit", "", server_.admin_api_key());
  denied.query = {{"source", kPayments}, {"decision", "deny"}};
  http::Response r = server_.control_plane().Handle(denied);
  ASSERT_EQ(r.status, 200) << r.body;
  Json records = Must(ParseJson(r.body))["records"];
  ASSERT_EQ(records.size(), 1u) << r.body;
  EXPECT_EQ(records[0]["action"], "proxy.inbound");
  EXPECT_EQ(records[0]["actor"], kResearch);
  EXPECT_EQ(records[0]["reason"], "policy_denied");
}

TEST_F(ProxyTest, StartRefusesAConfigurationItCannotApply) {
  ProxyConfig c = PaymentsConfig();
  c.inbound->upstream = "ftp://127.0.0.1:1";
  c.audit.db = dir_.File("other-audit.db");
  Events events;
  auto deps = Deps(kPayments, c.audit.db, events);
  ASSERT_TRUE(deps.has_value());
  // The half-built proxy is destroyed inside Start: its Shutdown must not
  // ship audit records with settings that were never set.
  auto proxy = Proxy::Start(std::move(c), std::move(*deps));
  ASSERT_FALSE(proxy);
  EXPECT_EQ(proxy.error().code(), Code::kInvalidArgument);
  EXPECT_NE(proxy.error().message().find("ftp://"), std::string::npos)
      << proxy.error().message();
}

TEST_F(ProxyTest, ShutdownLetsTheRequestInFlightFinish) {
  Reply slow;
  std::jthread caller([&] {
    slow = Send(ToPayments(bhttp::verb::get, "/sleep/600"));
    // The research proxy goes away once answered, closing its pooled
    // connection: the payments proxy's last connection ends.
    research_->Shutdown(0);
  });
  ASSERT_TRUE(app_.WaitForSleepers(1));
  const auto start = SteadyClock::now();
  payments_->Shutdown(10);
  const double took = SecondsSince(start);
  caller.join();
  EXPECT_EQ(slow.status, 200) << slow.error << slow.body;
  EXPECT_EQ(slow.json()["path"], "/sleep/600");
  EXPECT_LT(took, 5.0) << "Shutdown waited for more than the request";
  ProxyStats p = payments_->stats();
  EXPECT_EQ(p.connections_open, 0);
  EXPECT_EQ(p.audit_acked, 1) << "Shutdown ships what is left";
  // Nothing is accepted any more; a second Shutdown returns at once.
  HttpConn refused(payments_->inbound_port());
  EXPECT_NE(refused.Send(ToPayments(bhttp::verb::get, "/")).error, "");
  const auto again = SteadyClock::now();
  payments_->Shutdown(10);
  EXPECT_LT(SecondsSince(again), 1.0);
}

// The research proxy stopped and destroyed while its call waits for the
// app: the caller's connection ends without an answer.
TEST_F(ProxyTest, ShutdownOfTheEgressSideWithoutGrace) {
  Reply slow;
  std::jthread caller(
      [&] { slow = Send(ToPayments(bhttp::verb::get, "/sleep/5000")); });
  ASSERT_TRUE(app_.WaitForSleepers(1));
  research_->Shutdown(0);
  research_.reset();
  caller.join();
  EXPECT_EQ(slow.status, 0) << slow.body;
  EXPECT_NE(slow.error, "");
}

// The payments proxy stopped and destroyed while the app works on a
// request: the coroutine waiting for the app is destroyed with the proxy,
// and the research proxy answers its caller 502 at once.
TEST_F(ProxyTest, ShutdownWithoutGraceDropsTheRequestInFlight) {
  Reply slow;
  std::jthread caller(
      [&] { slow = Send(ToPayments(bhttp::verb::get, "/sleep/5000")); });
  ASSERT_TRUE(app_.WaitForSleepers(1));
  const auto start = SteadyClock::now();
  payments_->Shutdown(0);
  payments_.reset();
  caller.join();
  EXPECT_LT(SecondsSince(start), 4.0) << "the caller waited for the app";
  ExpectError(slow, 502, "upstream_unavailable", nullptr);
  EXPECT_EQ(research_->stats().egress_sent, 1);
  EXPECT_EQ(research_->stats().upstream_errors, 1);
}

}  // namespace
}  // namespace aztp

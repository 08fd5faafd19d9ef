#include "aztp/http/http.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http/http_fixture.h"
#include "testing/temp_dir.h"
#include "testing/trust_domains.h"
#include "testing/web_pki.h"

namespace aztp::http {
namespace {

TEST_F(HttpTest, MutualTlsBothSidesVerifyTheOther) {
  auto server = StartServer(Options());
  auto client = MakeClient(ClientOpts(server->port()));
  auto r = client->Send("GET", "/who", "");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(HeaderOf(*r, "x-peer"), kClientId);
}

TEST_F(HttpTest, ClientWithoutCertificateIsAnonymous) {
  auto server = StartServer(Options());
  auto client = MakeClient(ClientOpts(server->port(), nullptr));
  auto r = client->Send("GET", "/who", "");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(HeaderOf(*r, "x-peer"), "anonymous");
}

TEST_F(HttpTest, ServerWithoutBundlesSeesEveryClientAsAnonymous) {
  ServerOptions o = Options();
  o.bundles = nullptr;
  auto server = StartServer(std::move(o));
  auto client = MakeClient(ClientOpts(server->port()));
  auto r = client->Send("GET", "/who", "");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(HeaderOf(*r, "x-peer"), "anonymous");
}

// A client whose SVID does not verify is answered 401 with the reason (an
// unknown trust domain, as after `federation remove`, or a trusted domain's
// name under another CA), never reaches the handler, and is reported once
// to on_peer_refused. Issue 13: it was a bare close ("empty reply").
TEST_F(HttpTest, ClientWithUntrustedSvidIsRefusedWithItsReason) {
  struct Refusal {
    std::string id, reason;
  };
  std::mutex mu;
  std::vector<Refusal> refused;
  ServerOptions options = Options();
  options.on_peer_refused = [&](std::string_view id, std::string_view,
                                const Error& e) {
    std::lock_guard lock(mu);
    refused.push_back({std::string(id), std::string(e.reason())});
  };
  std::atomic<int> handled{0};
  auto server = StartServer(std::move(options), [&](const Request& r) {
    ++handled;
    return Echo(r);
  });
  TestDomains rogue(domains_.now());
  rogue.AddDomain("b.example");
  rogue.AddDomain("evil.example");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"spiffe://evil.example/client", "untrusted_trust_domain"},
      {"spiffe://b.example/client", ""},  // a verification failure
  };
  for (const auto& [id, reason] : cases) {
    SCOPED_TRACE(id);
    ClientOptions o = ClientOpts(server->port(), nullptr);
    const HopSigner& s = rogue.Signer(id.c_str());
    o.credentials =
        std::make_shared<TlsCredentials>(TlsCredentials{s.chain(), s.key()});
    auto client = MakeClient(std::move(o));
    auto r = client->Send("GET", "/who", "");
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(r->status, 401);
    auto body = ParseJson(r->body);
    ASSERT_TRUE(body.has_value()) << r->body;
    const std::string error = body->value("error", "");
    if (!reason.empty()) {
      EXPECT_EQ(error, reason) << r->body;
    }
    EXPECT_FALSE(error.empty()) << r->body;
    EXPECT_EQ(
        body->value("message", "").rfind("client certificate refused: ", 0), 0u)
        << r->body;
  }
  EXPECT_EQ(handled.load(), 0);
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(refused.size(), 2u);
    EXPECT_EQ(refused[0].id, "spiffe://evil.example/client");
    EXPECT_EQ(refused[0].reason, "untrusted_trust_domain");
    EXPECT_EQ(refused[1].id, "spiffe://b.example/client");
  }
  // The server keeps serving good clients.
  auto good = MakeClient(ClientOpts(server->port()));
  auto r = good->Send("GET", "/who", "");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(HeaderOf(*r, "x-peer"), kClientId);
  EXPECT_EQ(handled.load(), 1);
}

TEST_F(HttpTest, ServerWithAnotherIdIsRefused) {
  auto server = StartServer(Options());
  auto client = MakeClient(
      ClientOpts(server->port(), kClientId, "spiffe://a.example/other"));
  auto r = client->Send("GET", "/who", "");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kUnauthenticated);
}

TEST_F(HttpTest, ServerWithUntrustedSvidIsRefused) {
  TestDomains rogue(domains_.now());
  rogue.AddDomain("a.example");
  const HopSigner& s = rogue.Signer(kServerId);
  ServerOptions o = Options();
  auto ctx = Must(MakeServerContext(TlsCredentials{s.chain(), s.key()}, true));
  o.tls_context = [ctx] { return ctx; };
  auto server = StartServer(std::move(o));
  auto client = MakeClient(ClientOpts(server->port()));
  auto r = client->Send("GET", "/who", "");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kUnauthenticated);
}

using test_support::WebPki;

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST_F(HttpTest, WebPkiModeChecksChainAndAddress) {
  test_support::TempDir dir;
  WebPki pki(SystemClock::Default().Now());
  WebPki other(SystemClock::Default().Now());
  WriteText(dir.File("ca.pem"), pki.CaPem());
  WriteText(dir.File("other.pem"), other.CaPem());

  for (bool with_ip_san : {true, false}) {
    auto server = StartServer(pki.ServerOptions(with_ip_san));
    ClientOptions co;
    co.base_url = "https://127.0.0.1:" + std::to_string(server->port());
    co.ca_file = dir.File("ca.pem");
    auto client = MakeClient(co);
    auto r = client->Send("GET", "/", "");
    if (with_ip_san) {
      ASSERT_TRUE(r.has_value()) << r.error().message();
      EXPECT_EQ(r->status, 200);
    } else {
      // The chain is fine but the certificate does not name 127.0.0.1.
      ASSERT_FALSE(r.has_value());
      EXPECT_EQ(r.error().code(), Code::kUnauthenticated);
    }
    // The same CA given as PEM text works the same way.
    ClientOptions by_pem = co;
    by_pem.ca_file.clear();
    by_pem.ca_pem = pki.CaPem();
    auto p = MakeClient(by_pem)->Send("GET", "/", "");
    EXPECT_EQ(p.has_value(), with_ip_san);
    // The system's CAs do not know this local CA.
    ClientOptions system = co;
    system.ca_file.clear();
    system.system_cas = true;
    auto q = MakeClient(system)->Send("GET", "/", "");
    ASSERT_FALSE(q.has_value());
    EXPECT_EQ(q.error().code(), Code::kUnauthenticated);
    // Another CA never verifies.
    co.ca_file = dir.File("other.pem");
    auto stranger = MakeClient(co);
    auto s = stranger->Send("GET", "/", "");
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().code(), Code::kUnauthenticated);
  }

  // A SPIFFE server is not a web-PKI server even with its root as the CA.
  WriteText(dir.File("spiffe.pem"), domains_.Ca("a.example").root().ToPem());
  auto server = StartServer(Options());
  ClientOptions co;
  co.base_url = "https://127.0.0.1:" + std::to_string(server->port());
  co.ca_file = dir.File("spiffe.pem");
  auto r = MakeClient(co)->Send("GET", "/", "");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kUnauthenticated);
}

TEST_F(HttpTest, ClientOptionsAreValidated) {
  auto code = [](ClientOptions o) {
    auto c = Client::Create(std::move(o));
    return c ? std::optional<Code>() : std::optional<Code>(c.error().code());
  };
  ClientOptions good = ClientOpts(443);
  EXPECT_EQ(code(good), std::nullopt);

  ClientOptions both = good;
  both.ca_file = "/nonexistent";
  EXPECT_EQ(code(both), Code::kInvalidArgument);
  ClientOptions neither = good;
  neither.bundles = nullptr;
  neither.server_id.reset();
  EXPECT_EQ(code(neither), Code::kInvalidArgument);
  ClientOptions no_id = good;
  no_id.server_id.reset();
  EXPECT_EQ(code(no_id), Code::kInvalidArgument);
  ClientOptions missing_file = neither;
  missing_file.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(code(missing_file), Code::kIo);
  ClientOptions two_web = missing_file;
  two_web.system_cas = true;
  EXPECT_EQ(code(two_web), Code::kInvalidArgument);
  ClientOptions bad_pem = neither;
  bad_pem.ca_pem = "not PEM";
  EXPECT_EQ(code(bad_pem), Code::kMalformed);

  for (const char* url :
       {"http://127.0.0.1:1", "https://", "https://:443", "https://h:0",
        "https://h:65536", "https://h:", "https://h/path", "https://u@h",
        "https://h:1?x", "ftp://h", "https://[::1", "https://[nope]:1",
        "HTTPS://h", "https://h:1#f", "https://h h"}) {
    ClientOptions o = good;
    o.base_url = url;
    EXPECT_EQ(code(o), Code::kInvalidArgument) << url;
  }
  for (const char* url : {"https://[::1]:8443", "https://example.org",
                          "https://example.org/", "https://10.0.0.1:1"}) {
    ClientOptions o = good;
    o.base_url = url;
    EXPECT_EQ(code(o), std::nullopt) << url;
  }

  auto client = MakeClient(good);
  for (auto [method, target] :
       {std::pair{"", "/"}, std::pair{"GET X", "/"}, std::pair{"GET", ""},
        std::pair{"GET", "relative"}, std::pair{"GET", "/a b"},
        std::pair{"GET", "/a\r\nX: y"}}) {
    auto r = client->Send(method, target, "");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << method << target;
  }
  auto r = client->Send("GET", "/", "", {{"X-Evil", "a\r\nInjected: 1"}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
}

TEST_F(HttpTest, ServerOptionsAreValidated) {
  ServerOptions no_ctx = Options();
  no_ctx.tls_context = nullptr;
  auto a = Server::Start(no_ctx, Echo);
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code(), Code::kInvalidArgument);

  for (const char* listen : {"nonsense", "127.0.0.1", "127.0.0.1:x",
                             "127.0.0.1:70000", ":80", "::1:80"}) {
    ServerOptions o = Options();
    o.listen = listen;
    auto s = Server::Start(o, Echo);
    ASSERT_FALSE(s.has_value()) << listen;
    EXPECT_EQ(s.error().code(), Code::kInvalidArgument) << listen;
  }

  auto first = StartServer(Options());
  ServerOptions taken = Options();
  taken.listen = "127.0.0.1:" + std::to_string(first->port());
  auto b = Server::Start(taken, Echo);
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().code(), Code::kIo);
}

TEST_F(HttpTest, RequestAndResponseDetails) {
  std::mutex mu;
  Request seen;
  auto server = StartServer(Options(), [&](const Request& req) {
    {
      std::lock_guard<std::mutex> lock(mu);
      seen = req;
    }
    Response r;
    r.status = 201;
    r.content_type = "text/plain";
    r.body = "created";
    r.headers = {{"X-Answer", "42"},
                 {"Content-Length", "999"},
                 {"X-Bad", "a\r\nInjected: yes"}};
    return r;
  });
  auto client = MakeClient(ClientOpts(server->port()));
  auto r = client->Send("POST", "/v1/things?x=1", "{\"a\":1}",
                        {{"X-Custom", "Hello"}});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "created");
  EXPECT_EQ(r->content_type, "text/plain");
  EXPECT_EQ(HeaderOf(*r, "x-answer"), "42");
  EXPECT_EQ(HeaderOf(*r, "content-length"), "7");
  EXPECT_EQ(HeaderOf(*r, "cache-control"), "no-store");
  EXPECT_EQ(HeaderOf(*r, "connection"), "keep-alive");
  EXPECT_EQ(HeaderOf(*r, "x-bad"), "");
  EXPECT_EQ(HeaderOf(*r, "injected"), "");

  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/v1/things?x=1");
  EXPECT_EQ(seen.path, "/v1/things");
  EXPECT_EQ(seen.query.at("x"), "1");
  EXPECT_EQ(seen.body, "{\"a\":1}");
  EXPECT_EQ(seen.headers.count("x-custom"), 1u);
  EXPECT_EQ(seen.Header("X-CUSTOM"), "Hello");
  EXPECT_EQ(seen.Header("content-type"), "application/json");
  EXPECT_EQ(seen.Header("Content-Length"), "7");
  EXPECT_EQ(seen.Header("user-agent"), "aztp/0.1");
  EXPECT_EQ(seen.Header("host"), "127.0.0.1:" + std::to_string(server->port()));
  EXPECT_EQ(seen.Header("missing"), "");
  ASSERT_TRUE(seen.peer.has_value());
  EXPECT_EQ(seen.peer->str(), kClientId);
  EXPECT_EQ(seen.remote.rfind("127.0.0.1:", 0), 0u) << seen.remote;
}

TEST_F(HttpTest, KeepAliveServesManyRequestsOnOneConnection) {
  auto server = StartServer(Options());
  auto client = MakeClient(ClientOpts(server->port()));
  std::string remote;
  for (int i = 0; i < 50; ++i) {
    std::string body = "request " + std::to_string(i);
    auto r = client->Send("POST", "/echo", body);
    ASSERT_TRUE(r.has_value()) << i << ": " << r.error().message();
    EXPECT_EQ(r->body, body);
    EXPECT_EQ(HeaderOf(*r, "connection"), "keep-alive");
    if (i == 0) remote = HeaderOf(*r, "x-remote");
    EXPECT_EQ(HeaderOf(*r, "x-remote"), remote) << "new connection at " << i;
  }
}

TEST_F(HttpTest, ClientReconnectsAfterServerClosedIdleConnection) {
  ServerOptions o = Options();
  o.idle_timeout_seconds = 1;
  auto server = StartServer(std::move(o));
  auto client = MakeClient(ClientOpts(server->port()));
  auto first = client->Send("GET", "/", "");
  ASSERT_TRUE(first.has_value()) << first.error().message();
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));
  auto second = client->Send("POST", "/", "again");
  ASSERT_TRUE(second.has_value()) << second.error().message();
  EXPECT_EQ(second->body, "again");
  EXPECT_NE(HeaderOf(*first, "x-remote"), HeaderOf(*second, "x-remote"));
}

TEST_F(HttpTest, TlsContextIsFetchedPerConnection) {
  auto one = ServerContext("spiffe://a.example/one");
  auto two = ServerContext("spiffe://a.example/two");
  std::atomic<int> calls{0};
  std::atomic<bool> rotated{false};
  ServerOptions o = Options();
  o.tls_context = [&] {
    ++calls;
    return rotated.load() ? two : one;
  };
  auto server = StartServer(std::move(o));
  auto old_client = MakeClient(
      ClientOpts(server->port(), kClientId, "spiffe://a.example/one"));
  ASSERT_TRUE(old_client->Send("GET", "/", "").has_value());
  rotated = true;
  auto new_client = MakeClient(
      ClientOpts(server->port(), kClientId, "spiffe://a.example/two"));
  auto r = new_client->Send("GET", "/", "");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  // The first connection stays on the certificate it started with.
  ASSERT_TRUE(old_client->Send("GET", "/", "").has_value());
  EXPECT_EQ(calls.load(), 2);
}

TEST_F(HttpTest, OversizedBodyIs413) {
  ServerOptions o = Options();
  o.max_body_bytes = 1024;
  auto server = StartServer(std::move(o));
  auto client = MakeClient(ClientOpts(server->port()));
  auto ok = client->Send("POST", "/", std::string(1024, 'a'));
  ASSERT_TRUE(ok.has_value()) << ok.error().message();
  EXPECT_EQ(ok->status, 200);
  auto r = client->Send("POST", "/", std::string(2000, 'a'));
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->content_type, "application/json");
  EXPECT_NE(r->body.find("\"error\":\"too_large\""), std::string::npos);
  EXPECT_EQ(HeaderOf(*r, "connection"), "close");
  // The client reconnects for the next request.
  auto next = client->Send("POST", "/", "small");
  ASSERT_TRUE(next.has_value()) << next.error().message();
  EXPECT_EQ(next->body, "small");
}

TEST_F(HttpTest, LargeOversizedBodyIs413) {
  // The default limit (1 MiB), exceeded by far more than socket buffers
  // hold: the server answers early and drains the rest while closing.
  auto server = StartServer(Options());
  auto client = MakeClient(ClientOpts(server->port()));
  auto r = client->Send("POST", "/", std::string(4 << 20, 'a'));
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->status, 413);
}

TEST_F(HttpTest, OversizedHeaderIs431) {
  ServerOptions o = Options();
  o.max_header_bytes = 1024;
  auto server = StartServer(std::move(o));
  auto client = MakeClient(ClientOpts(server->port()));
  auto r = client->Send("GET", "/", "", {{"X-Big", std::string(2000, 'b')}});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->status, 431);
  EXPECT_NE(r->body.find("\"error\":\"too_large\""), std::string::npos);
  EXPECT_EQ(HeaderOf(*r, "connection"), "close");
}

TEST_F(HttpTest, MalformedRequestIs400) {
  auto server = StartServer(Options());
  RawTls tls(server->port());
  ASSERT_TRUE(tls.ok());
  ASSERT_TRUE(tls.Write("GET / HTTP/1.1\r\nBad Header\r\n\r\n"));
  std::string received = tls.ReadUntil("}");
  EXPECT_EQ(received.rfind("HTTP/1.1 400 ", 0), 0u) << received;
  EXPECT_NE(received.find("Connection: close"), std::string::npos);
  EXPECT_NE(received.find(R"("error":"malformed")"), std::string::npos);
}

TEST_F(HttpTest, SlowClientsAreDisconnectedAfterReadTimeout) {
  ServerOptions o = Options();
  o.read_timeout_seconds = 1;
  o.idle_timeout_seconds = 30;
  auto server = StartServer(std::move(o));

  {  // Plain TCP that starts a TLS record and stalls in the handshake.
    RawSocket raw(server->port());
    ASSERT_TRUE(raw.connected());
    raw.Send(std::string("\x16\x03\x01\x00", 4));
    auto start = Clk::now();
    EXPECT_TRUE(raw.WaitClosed());
    double t = SecondsSince(start);
    EXPECT_GT(t, 0.5);
    EXPECT_LT(t, 4.0);
  }
  {  // TLS, then half a request header, then nothing.
    RawTls tls(server->port());
    ASSERT_TRUE(tls.ok());
    ASSERT_TRUE(tls.Write("GET / HTTP/1.1\r\nHost: x\r\n"));
    auto start = Clk::now();
    EXPECT_TRUE(tls.WaitClosed());
    double t = SecondsSince(start);
    EXPECT_GT(t, 0.5);
    EXPECT_LT(t, 4.0);
  }
  {  // A request dribbled byte by byte is cut off just the same.
    RawTls tls(server->port());
    ASSERT_TRUE(tls.ok());
    std::string request = "GET / HTTP/1.1\r\nX-Slow: " + std::string(200, 's');
    auto start = Clk::now();
    bool closed = false;
    for (char c : request) {
      if (!tls.Write(std::string_view(&c, 1)) || tls.Closed()) {
        closed = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(closed);
    double t = SecondsSince(start);
    EXPECT_GT(t, 0.5);
    EXPECT_LT(t, 4.0);
  }
  // The server still serves.
  auto client = MakeClient(ClientOpts(server->port()));
  EXPECT_TRUE(client->Send("GET", "/", "").has_value());
}

TEST_F(HttpTest, QueryIsDecodedAndBadEncodingIs400) {
  auto server = StartServer(Options());
  auto client = MakeClient(ClientOpts(server->port()));
  auto r = client->Send("GET", "/q?a=1&b=x%20y+z&a=2&flag&&c=%2F%3d", "");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(HeaderOf(*r, "x-path"), "/q");
  EXPECT_EQ(HeaderOf(*r, "x-q-a"), "2");
  EXPECT_EQ(HeaderOf(*r, "x-q-b"), "x y z");
  EXPECT_EQ(HeaderOf(*r, "x-q-c"), "/=");
  bool has_flag = false;
  for (const auto& [n, v] : r->headers) has_flag |= n == "x-q-flag";
  EXPECT_TRUE(has_flag);

  for (const char* target :
       {"/q?a=%zz", "/q?a=%4", "/q?a=%", "/q?%g1=x", "/q?a=1&b=%%"}) {
    auto bad = client->Send("GET", target, "");
    ASSERT_TRUE(bad.has_value()) << target << ": " << bad.error().message();
    EXPECT_EQ(bad->status, 400) << target;
    EXPECT_NE(bad->body.find("\"error\":\"malformed\""), std::string::npos);
  }
}

TEST_F(HttpTest, HandlerExceptionIs500AndServerKeepsServing) {
  auto server = StartServer(Options(), [](const Request& req) -> Response {
    if (req.path == "/throw") throw std::runtime_error("secret detail");
    if (req.path == "/throw-int") throw 42;
    if (req.path == "/bad-status") return Response{42, "text/plain", "", {}};
    return Echo(req);
  });
  auto client = MakeClient(ClientOpts(server->port()));
  for (const char* path : {"/throw", "/throw-int", "/bad-status"}) {
    auto r = client->Send("GET", path, "");
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(r->status, 500);
    EXPECT_EQ(r->body, R"({"error":"internal","message":"internal error"})");
    auto ok = client->Send("POST", "/fine", "still here");
    ASSERT_TRUE(ok.has_value()) << ok.error().message();
    EXPECT_EQ(ok->body, "still here");
  }
}

TEST_F(HttpTest, GracefulShutdownLetsInFlightRequestFinish) {
  std::atomic<bool> started{false};
  auto server = StartServer(Options(), [&](const Request& req) {
    if (req.path == "/slow") {
      started = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      return Response{200, "text/plain", "done", {}};
    }
    return Echo(req);
  });
  uint16_t port = server->port();
  // An idle kept-alive connection must not hold the shutdown up.
  auto idle = MakeClient(ClientOpts(port));
  ASSERT_TRUE(idle->Send("GET", "/", "").has_value());

  auto slow = MakeClient(ClientOpts(port));
  std::optional<Result<Response>> result;
  std::thread request([&] { result.emplace(slow->Send("GET", "/slow", "")); });
  auto wait_start = Clk::now();
  while (!started && SecondsSince(wait_start) < 5) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(started);

  auto start = Clk::now();
  std::thread stopper([&] { server->Shutdown(5); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // No new connection is served once the shutdown began.
  auto late = MakeClient(ClientOpts(port));
  EXPECT_FALSE(late->Send("GET", "/", "").has_value());
  stopper.join();
  double t = SecondsSince(start);
  request.join();

  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->has_value()) << (*result).error().message();
  EXPECT_EQ((*result)->status, 200);
  EXPECT_EQ((*result)->body, "done");
  EXPECT_EQ(HeaderOf(**result, "connection"), "close");
  EXPECT_GT(t, 0.15);  // it waited for the handler...
  EXPECT_LT(t, 3.0);   // ...not for the idle connection or the grace period
  server->Wait();      // returns at once
  server->Shutdown();  // idempotent
  EXPECT_FALSE(idle->Send("GET", "/", "").has_value());
}

TEST_F(HttpTest, HandlerMayShutTheServerDown) {
  std::atomic<Server*> self{nullptr};
  auto server = StartServer(Options(), [&](const Request& req) {
    if (req.path == "/stop") self.load()->Shutdown(5);
    return Echo(req);
  });
  self = server.get();
  auto client = MakeClient(ClientOpts(server->port()));
  auto r = client->Send("POST", "/stop", "bye");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->body, "bye");
  EXPECT_EQ(HeaderOf(*r, "connection"), "close");
  server->Wait();
  EXPECT_FALSE(client->Send("GET", "/", "").has_value());
}

TEST_F(HttpTest, WaitReturnsAfterShutdownFromAnotherThread) {
  auto server = StartServer(Options());
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server->Shutdown(1);
  });
  server->Wait();
  stopper.join();
}

TEST_F(HttpTest, ConcurrentClients) {
  ServerOptions o = Options();
  o.threads = 2;
  auto server = StartServer(std::move(o));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  // The fixture is not thread-safe: options are made before the threads.
  const ClientOptions options = ClientOpts(server->port());
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto client = Client::Create(options);
      if (!client) return;
      for (int i = 0; i < 100; ++i) {
        std::string body = std::to_string(t) + "/" + std::to_string(i);
        auto r = (*client)->Send("POST", "/echo", body);
        if (r && r->status == 200 && r->body == body) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 400);
}

}  // namespace
}  // namespace aztp::http

// The fixture of the HTTP server and client tests: a CA per trust domain
// for SVIDs, servers on 127.0.0.1:0, and raw TCP and TLS connections that
// behave as clients the library's own Client never would.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <string_view>

#include "aztp/http/http.h"
#include "testing/trust_domains.h"

namespace aztp::http {

using test_support::Must;
using test_support::TestDomains;
using Clk = std::chrono::steady_clock;

inline constexpr char kServerId[] = "spiffe://a.example/server";
inline constexpr char kClientId[] = "spiffe://b.example/client";

inline double SecondsSince(Clk::time_point start) {
  return std::chrono::duration<double>(Clk::now() - start).count();
}

inline std::string HeaderOf(const Response& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

// Echo answers with what it saw of the request.
inline Response Echo(const Request& req) {
  Response r;
  r.content_type = "text/plain";
  r.body = req.body;
  r.headers = {{"X-Peer", req.peer ? req.peer->str() : "anonymous"},
               {"X-Method", req.method},
               {"X-Path", req.path},
               {"X-Remote", req.remote}};
  for (const auto& [name, value] : req.query) {
    r.headers.emplace_back("X-Q-" + name, value);
  }
  return r;
}

// RawSocket is a plain blocking TCP connection to the loopback server.
class RawSocket {
 public:
  explicit RawSocket(uint16_t port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ =
        connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{10, 0};  // a safety net: no test waits longer
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawSocket() { close(fd_); }
  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  void Send(std::string_view data) {
    ASSERT_EQ(send(fd_, data.data(), data.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(data.size()));
  }
  // WaitClosed reads until the server ends the connection; false if it
  // stayed open for the safety net's 10 s.
  bool WaitClosed() {
    char buf[256];
    for (;;) {
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n == 0) return true;
      if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
    }
  }

 private:
  int fd_;
  bool connected_ = false;
};

// RawTls is a blocking TLS connection driven directly through OpenSSL.
class RawTls {
 public:
  explicit RawTls(uint16_t port) : socket_(port) {
    ctx_ = Must(MakeClientContext(nullptr));
    ssl_ = SSL_new(ctx_.get());
    SSL_set_fd(ssl_, socket_.fd());
    ok_ = socket_.connected() && SSL_connect(ssl_) == 1;
  }
  ~RawTls() {
    SSL_free(ssl_);
    ERR_clear_error();
  }
  bool ok() const { return ok_; }
  bool Write(std::string_view data) {
    return SSL_write(ssl_, data.data(), static_cast<int>(data.size())) ==
           static_cast<int>(data.size());
  }
  // Closed polls without blocking for the end of the connection.
  bool Closed() {
    pollfd p{socket_.fd(), POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) return false;
    char buf[256];
    return SSL_read(ssl_, buf, sizeof buf) <= 0;
  }
  // WaitClosed blocks until the server ends the connection (true) or the
  // 10 s safety net expires (false).
  bool WaitClosed() {
    char buf[256];
    for (;;) {
      int n = SSL_read(ssl_, buf, sizeof buf);
      if (n > 0) continue;
      int err = SSL_get_error(ssl_, n);
      return err != SSL_ERROR_WANT_READ;
    }
  }
  // ReadUntil reads until what arrived ends with `suffix` or the connection
  // ends.
  std::string ReadUntil(std::string_view suffix) {
    std::string received;
    char buf[256];
    while (!received.ends_with(suffix)) {
      int n = SSL_read(ssl_, buf, sizeof buf);
      if (n <= 0) break;
      received.append(buf, static_cast<std::size_t>(n));
    }
    return received;
  }

 private:
  RawSocket socket_;
  std::shared_ptr<SSL_CTX> ctx_;
  SSL* ssl_ = nullptr;
  bool ok_ = false;
};

class HttpTest : public testing::Test {
 protected:
  HttpTest()
      : domains_(SystemClock::Default().Now()), clock_(domains_.now() + 5) {
    std::signal(SIGPIPE, SIG_IGN);
    domains_.AddDomain("a.example");
    domains_.AddDomain("b.example", /*with_intermediate=*/true);
  }

  std::shared_ptr<SSL_CTX> ServerContext(const std::string& id) {
    const HopSigner& s = domains_.Signer(id);
    return Must(MakeServerContext(TlsCredentials{s.chain(), s.key()}, true));
  }

  ServerOptions Options(const std::string& id = kServerId) {
    ServerOptions o;
    auto ctx = ServerContext(id);
    o.tls_context = [ctx] { return ctx; };
    o.bundles = domains_.Bundles();
    o.clock = &clock_;
    return o;
  }

  std::unique_ptr<Server> StartServer(ServerOptions o, Handler h = Echo) {
    auto s = Server::Start(std::move(o), std::move(h));
    EXPECT_TRUE(s.has_value()) << s.error().message();
    return s ? std::move(*s) : nullptr;
  }

  ClientOptions ClientOpts(uint16_t port, const char* client_id = kClientId,
                           const char* server_id = kServerId) {
    ClientOptions o;
    o.base_url = "https://127.0.0.1:" + std::to_string(port);
    o.bundles = domains_.Bundles();
    o.server_id = Must(SpiffeId::Parse(server_id));
    if (client_id != nullptr) {
      const HopSigner& s = domains_.Signer(client_id);
      o.credentials =
          std::make_shared<TlsCredentials>(TlsCredentials{s.chain(), s.key()});
    }
    o.timeout_seconds = 5;
    o.clock = &clock_;
    return o;
  }

  std::unique_ptr<Client> MakeClient(ClientOptions o) {
    auto c = Client::Create(std::move(o));
    EXPECT_TRUE(c.has_value()) << c.error().message();
    return c ? std::move(*c) : nullptr;
  }

  TestDomains domains_;
  FixedClock clock_;
};

}  // namespace aztp::http

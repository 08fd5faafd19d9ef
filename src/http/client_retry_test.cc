// The client's one retry on a kept-alive connection the server closed: a
// request the server may have acted on is sent again only when the caller
// says it may be (replayable).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "aztp/http/http.h"

namespace aztp::http {
namespace {

// DyingServer answers the first request of its first connection (kept
// alive), reads the second and closes without answering, as a server that
// acted and died would; every later connection gets one answer and closes.
class DyingServer {
 public:
  DyingServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
        listen(fd_, 4) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      std::abort();
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~DyingServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  int requests() const { return requests_.load(); }

 private:
  // ReadRequest reads one request head (the tests send no body).
  bool ReadRequest(int c) {
    std::string head;
    char ch;
    while (head.find("\r\n\r\n") == std::string::npos) {
      if (read(c, &ch, 1) != 1) return false;
      head += ch;
    }
    ++requests_;
    return true;
  }
  void Answer(int c, bool keep_alive) {
    std::string r = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n";
    r += keep_alive ? "" : "Connection: close\r\n";
    r += "Content-Length: 2\r\n\r\n{}";
    if (write(c, r.data(), r.size()) != static_cast<ssize_t>(r.size())) {
      return;
    }
  }
  void Serve() {
    for (int n = 0;; ++n) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      if (n == 0) {
        if (ReadRequest(c)) Answer(c, true);
        ReadRequest(c);  // acted on, then gone
      } else if (ReadRequest(c)) {
        Answer(c, false);
      }
      close(c);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

std::unique_ptr<Client> ClientFor(const DyingServer& s) {
  ClientOptions o;
  o.base_url = "http://127.0.0.1:" + std::to_string(s.port());
  o.allow_loopback_http = true;
  o.timeout_seconds = 5;
  return Client::Create(o).value();
}

TEST(HttpClientRetry, AReplayableRequestIsSentAgainOnANewConnection) {
  DyingServer s;
  auto c = ClientFor(s);
  ASSERT_TRUE(c->Send("GET", "/one", "").has_value());
  auto second = c->Send("GET", "/two", "");
  ASSERT_TRUE(second.has_value()) << second.error().message();
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(s.requests(), 3) << "the second request reached it twice";
}

TEST(HttpClientRetry, ARequestThatMustNotBeRepeatedIsNot) {
  DyingServer s;
  auto c = ClientFor(s);
  ASSERT_TRUE(c->Send("POST", "/one", "", {}, false).has_value());
  auto second = c->Send("POST", "/two", "", {}, false);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), Code::kIo);
  EXPECT_EQ(s.requests(), 2) << "sent once: the server may have acted on it";
}

}  // namespace
}  // namespace aztp::http

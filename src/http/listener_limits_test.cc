// What one listener's clients may hold: at most max_connections open
// connections, and a TLS handshake of at most handshake_timeout_seconds.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "aztp/http/http.h"
#include "http/http_fixture.h"

namespace aztp::http {
namespace {

// Finding 8: aztpd's listeners had no connection cap and no handshake
// timeout of their own. With a cap of 2, two idle TCP connections fill one
// listener: a third is closed at once and counted, another listener keeps
// answering, and the idle ones are closed after the handshake timeout.
TEST_F(HttpTest, Finding8ListenersCapConnectionsAndTimeOutHandshakes) {
  std::atomic<int> refused{0};
  ServerOptions capped = Options();
  capped.max_connections = 2;
  capped.handshake_timeout_seconds = 1;
  capped.read_timeout_seconds = 30;  // the handshake no longer waits this
  capped.on_connection_refused = [&refused] { ++refused; };
  auto full = StartServer(std::move(capped));
  auto other = StartServer(Options());
  ASSERT_NE(full, nullptr);
  ASSERT_NE(other, nullptr);

  const auto start = Clk::now();
  RawSocket idle1(full->port());
  RawSocket idle2(full->port());
  ASSERT_TRUE(idle1.connected() && idle2.connected());
  {
    RawSocket over(full->port());  // accepted by the kernel, then closed
    ASSERT_TRUE(over.connected());
    EXPECT_TRUE(over.WaitClosed());
    EXPECT_LT(SecondsSince(start), 0.9);
  }
  EXPECT_EQ(refused.load(), 1);
  auto client = MakeClient(ClientOpts(other->port()));
  auto answered = client->Send("GET", "/", "");
  ASSERT_TRUE(answered.has_value()) << answered.error().message();
  EXPECT_EQ(answered->status, 200);

  EXPECT_TRUE(idle1.WaitClosed());
  EXPECT_TRUE(idle2.WaitClosed());
  const double t = SecondsSince(start);
  EXPECT_GT(t, 0.9);
  EXPECT_LT(t, 5.0);
  // Once they are gone, the listener serves again (a closed session leaves
  // the count a moment after its socket closes).
  Result<Response> again = Error(Code::kIo, "not tried");
  for (int i = 0; i < 40 && !again; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    again = MakeClient(ClientOpts(full->port()))->Send("GET", "/", "");
  }
  ASSERT_TRUE(again.has_value()) << again.error().message();
  EXPECT_EQ(again->status, 200);
}

TEST_F(HttpTest, Finding8ListenerLimitsAreValidated) {
  for (auto change :
       {+[](ServerOptions& o) { o.max_connections = 0; },
        +[](ServerOptions& o) { o.max_connections = -1; },
        +[](ServerOptions& o) { o.handshake_timeout_seconds = -1; }}) {
    ServerOptions o = Options();
    change(o);
    auto s = Server::Start(o, Echo);
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().code(), Code::kInvalidArgument);
  }
}

}  // namespace
}  // namespace aztp::http

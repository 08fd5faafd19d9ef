// The client's opt-in plain http to a loopback test server, and its bound
// on the size of an answer.
#include <gtest/gtest.h>

#include <string>

#include "aztp/http/http.h"
#include "http/http_fixture.h"
#include "testing/plain_http_server.h"
#include "testing/web_pki.h"

namespace aztp::http {
namespace {

using test_support::PlainHttpServer;
using test_support::WebPki;

Response Sized(const Request& req) {
  Response r = Echo(req);
  auto it = req.query.find("size");
  if (it != req.query.end()) r.body.assign(std::stoul(it->second), 'x');
  return r;
}

Result<Response> GetFrom(ClientOptions o, const std::string& target) {
  AZTP_ASSIGN_OR_RETURN(auto client, Client::Create(std::move(o)));
  return client->Send("GET", target, "");
}

TEST_F(HttpTest, LoopbackHttpOnlyWhenAskedForAndOnlyOnLoopback) {
  PlainHttpServer server(Echo);
  ClientOptions o;
  o.base_url = "http://127.0.0.1:" + std::to_string(server.port());
  // Refused by default, as it always was.
  auto refused = Client::Create(o);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), Code::kInvalidArgument);

  o.allow_loopback_http = true;
  auto r = GetFrom(o, "/plain?x=1");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(HeaderOf(*r, "x-path"), "/plain");
  EXPECT_EQ(HeaderOf(*r, "x-q-x"), "1");
  // The answer closed the connection: the next request opens another.
  auto client = Client::Create(o).value();
  ASSERT_TRUE(client->Send("GET", "/a", "").has_value());
  ASSERT_TRUE(client->Send("GET", "/b", "").has_value());

  // Never a name, never another address, never with a trust source or
  // credentials (there is no TLS to use them).
  for (const char* url : {"http://localhost:80", "http://10.0.0.1:80",
                          "http://127.0.0.2:80", "http://example.org"}) {
    ClientOptions other = o;
    other.base_url = url;
    auto c = Client::Create(other);
    ASSERT_FALSE(c.has_value()) << url;
    EXPECT_EQ(c.error().code(), Code::kInvalidArgument) << url;
  }
  ClientOptions with_ca = o;
  with_ca.system_cas = true;
  EXPECT_FALSE(Client::Create(with_ca).has_value());
  ClientOptions with_bundles = ClientOpts(server.port());
  with_bundles.base_url = o.base_url;
  with_bundles.allow_loopback_http = true;
  EXPECT_FALSE(Client::Create(with_bundles).has_value());
}

TEST_F(HttpTest, LoopbackHttpOptionLeavesHttpsAsItIs) {
  WebPki pki(SystemClock::Default().Now());
  auto server = StartServer(pki.ServerOptions());
  ClientOptions o;
  o.base_url = "https://127.0.0.1:" + std::to_string(server->port());
  o.ca_pem = pki.CaPem();
  o.allow_loopback_http = true;
  auto r = GetFrom(o, "/");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  // And https still needs a trust source.
  o.ca_pem.clear();
  EXPECT_FALSE(Client::Create(o).has_value());
}

TEST_F(HttpTest, AnAnswerOverTheLimitIsTooLarge) {
  auto server = StartServer(Options(), Sized);
  ClientOptions o = ClientOpts(server->port());
  o.max_response_bytes = 1000;
  auto client = MakeClient(o);
  auto fits = client->Send("GET", "/?size=1000", "");
  ASSERT_TRUE(fits.has_value()) << fits.error().message();
  EXPECT_EQ(fits->body.size(), 1000u);
  auto over = client->Send("GET", "/?size=1001", "");
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error().code(), Code::kTooLarge);
  // The connection is dropped, the client keeps working.
  EXPECT_TRUE(client->Send("GET", "/?size=10", "").has_value());
  // The default admits what it always did.
  auto big = GetFrom(ClientOpts(server->port()), "/?size=200000");
  ASSERT_TRUE(big.has_value()) << big.error().message();
  EXPECT_EQ(big->body.size(), 200000u);

  // Over plain http the same.
  PlainHttpServer plain(Sized);
  ClientOptions p;
  p.base_url = "http://127.0.0.1:" + std::to_string(plain.port());
  p.allow_loopback_http = true;
  p.max_response_bytes = 1000;
  auto plain_over = GetFrom(p, "/?size=5000");
  ASSERT_FALSE(plain_over.has_value());
  EXPECT_EQ(plain_over.error().code(), Code::kTooLarge);
}

}  // namespace
}  // namespace aztp::http

// Regression tests of issue 12's findings against the proxy that are not
// about bytes on the wire (those are smuggling_test.cc): connection caps
// per listener (finding 8), remembered chains keyed by transaction and
// origin, and revocation lists that are too old (finding 12).
#include <gtest/gtest.h>

#include <fstream>

#include "proxy/proxy_test_fixture.h"

namespace aztp::proxy_testing {
namespace {

constexpr char kBroker[] = "spiffe://org-a.example/agents/broker";
constexpr char kAlice[] = "spiffe://org-a.example/agents/alice-assistant";
constexpr char kMallory[] = "spiffe://org-a.example/agents/mallory";

// A broker proxy with both listeners: calls come in on POST /work and its
// app calls payments through its egress listener.
class HardeningTest : public ProxyTest {
 protected:
  void SetUp() override {
    ProxyTest::SetUp();
    Admin("POST", "/v1/identities", Json{{"id", kBroker}}, 201);
    std::ofstream(dir_.File("broker-policy.json"))
        << R"({"Statement":[{"Effect":"Allow","Action":"broker:*"}]})";
    broker_ = StartProxy(BrokerConfig(), kBroker, broker_events_);
    ASSERT_NE(broker_, nullptr);
  }

  ProxyConfig BrokerConfig() {
    ProxyConfig c = BaseConfig(kBroker, "broker");
    c.inbound.emplace();
    c.inbound->listen = "127.0.0.1:0";
    c.inbound->upstream = "http://127.0.0.1:" + std::to_string(app_.port());
    c.inbound->routes = {Route("POST", "/work", "broker:work")};
    c.inbound->policy_file = dir_.File("broker-policy.json");
    c.egress.emplace();
    c.egress->listen = "127.0.0.1:0";
    c.egress->root_capabilities = {"payments:quote"};
    c.max_connections = 4;
    c.handshake_timeout_seconds = 1;
    return c;
  }

  // Work sends POST /work to the broker as `who` with `chain`.
  int Work(const Tester& who, const std::string& chain) {
    std::string wire = Exchange(broker_->inbound_port(),
                                "POST /work HTTP/1.1\r\nHost: broker\r\n"
                                "Aztp-Chain: " +
                                    chain + "\r\nContent-Length: 0\r\n\r\n",
                                who.context.get());
    auto statuses = Statuses(wire);
    return statuses.empty() ? 0 : statuses.front();
  }

  // CallPayments is the broker's app calling payments through egress.
  Reply CallPayments(const std::string& txn, const char* origin) {
    const std::string authority =
        "127.0.0.1:" + std::to_string(payments_->inbound_port());
    bhttp::request<bhttp::string_body> req{
        bhttp::verb::post, "http://" + authority + "/quote", 11};
    req.set(bhttp::field::host, authority);
    req.set(kTargetHeader, kPayments);
    req.set(kTxnHeader, txn);
    if (origin != nullptr) req.set(kOriginHeader, origin);
    req.body() = "q";
    HttpConn conn(broker_->egress_port());
    return conn.Send(std::move(req));
  }

  Events broker_events_;
  std::unique_ptr<Proxy> broker_;
};

// Finding 8: four idle TCP connections to the inbound port (with
// max_connections 4) made egress calls fail; connections that never
// started TLS were held for the request timeout.
TEST_F(HardeningTest, Finding8EachListenerHasItsOwnCapAndAHandshakeTimeout) {
  asio::io_context io;
  std::vector<std::unique_ptr<tcp::socket>> idle;
  for (int i = 0; i < 4; ++i) {
    idle.push_back(std::make_unique<tcp::socket>(io));
    idle.back()->connect(tcp::endpoint(asio::ip::address_v4::loopback(),
                                       broker_->inbound_port()));
  }
  // Wait until the broker has accepted the four.
  for (int i = 0; i < 200 && broker_->stats().connections_open < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(broker_->stats().connections_open, 4);

  // A fifth inbound connection is closed at once ...
  tcp::socket fifth(io);
  fifth.connect(
      tcp::endpoint(asio::ip::address_v4::loopback(), broker_->inbound_port()));
  char byte;
  beast::error_code ec;
  fifth.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset)
      << ec.message();
  EXPECT_EQ(broker_->stats().connections_refused, 1);
  // ... while the egress listener still serves the app.
  bhttp::request<bhttp::string_body> root{
      bhttp::verb::post,
      "http://127.0.0.1:" + std::to_string(payments_->inbound_port()) +
          "/quote",
      11};
  root.set(bhttp::field::host, "payments");
  root.set(kTargetHeader, kPayments);
  HttpConn conn(broker_->egress_port());
  Reply sent = conn.Send(std::move(root));
  EXPECT_EQ(sent.status, 200) << sent.error << sent.body;

  // The idle ones never sent a ClientHello: closed after the 1 s handshake
  // timeout, not the 30 s request timeout.
  const auto start = SteadyClock::now();
  idle[0]->read_some(asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset)
      << ec.message();
  EXPECT_LT(SecondsSince(start), 5.0);
}

// Finding 12: chains remembered for egress were keyed by txn alone, first
// come first served, so a caller who reused another's transaction ID could
// have its own chain extended for the other's call.
TEST_F(HardeningTest, Finding12RememberedChainsAreKeyedByTxnAndOrigin) {
  Tester alice = MakeTester(kAlice);
  Tester mallory = MakeTester(kMallory);
  ASSERT_TRUE(alice.agent && mallory.agent);
  const std::vector<std::string> caps = {"broker:work", "payments:quote"};
  // Mallory claims the transaction first, then Alice's call arrives.
  ASSERT_EQ(Work(mallory, mallory.Chain(kBroker, caps, "txn-shared")), 200);
  ASSERT_EQ(Work(alice, alice.Chain(kBroker, caps, "txn-shared")), 200);

  // Without naming the origin the app cannot be given either chain.
  Reply ambiguous = CallPayments("txn-shared", nullptr);
  EXPECT_EQ(ambiguous.status, 400) << ambiguous.body;
  EXPECT_NE(ambiguous.body.find("several origins"), std::string::npos)
      << ambiguous.body;
  // Named, each origin gets its own chain extended.
  for (const char* origin : {kAlice, kMallory}) {
    Reply r = CallPayments("txn-shared", origin);
    ASSERT_EQ(r.status, 200) << origin << ": " << r.error << r.body;
    const Json app = r.json();
    const Json& h = app["headers"];
    EXPECT_EQ(h.value("Aztp-Origin", ""), origin) << h;
    EXPECT_EQ(h.value("Aztp-Path", ""),
              std::string(origin) + "," + kBroker + "," + kPayments)
        << h;
  }
  Reply stranger = CallPayments("txn-shared", "spiffe://org-a.example/x");
  EXPECT_EQ(stranger.status, 400) << stranger.body;
  EXPECT_NE(stranger.body.find("not_found"), std::string::npos)
      << stranger.body;
}

// Finding 12: the last revocation list stayed in force with no maximum age
// when aztpd was unreachable.
TEST_F(HardeningTest, Finding12StaleRevocationsFailClosedUnlessFailOpen) {
  ProxyConfig c = PaymentsConfig();
  c.control_plane.revocation_refresh_seconds = 30;
  c.control_plane.revocation_max_staleness_seconds = 60;
  ASSERT_TRUE(payments_->Reload(c));
  // Nobody refreshes in this test: the lists age with the clock.
  server_.clock().Advance(100);
  Reply r = Send(ToPayments(bhttp::verb::post, "/quote", "x"));
  ExpectError(r, 503, "revocations_stale", nullptr);
  EXPECT_EQ(app_.requests(), 0);
  EXPECT_EQ(payments_->stats().revocations_stale_refusals, 1);
  EXPECT_EQ(payments_events_.Count("revocations_stale"), 1u);
  // The refusal is audited like any decision, and counted in the metrics.
  EXPECT_EQ(payments_->stats().audit_appended, 1);
  const std::string metrics =
      Exchange(payments_->metrics_port(),
               "GET /metrics HTTP/1.1\r\nHost: m\r\n\r\n", nullptr);
  EXPECT_NE(
      metrics.find("aztp_proxy_decisions_total{decision=\"deny\","
                   "listener=\"inbound\",reason=\"revocations_stale\"} 1"),
      std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("aztp_proxy_revocations_stale 1"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("aztp_proxy_revocations_age_seconds 100"),
            std::string::npos)
      << metrics;

  // Failing open is a setting of its own.
  c.control_plane.revocation_fail_open = true;
  ASSERT_TRUE(payments_->Reload(c));
  EXPECT_EQ(Send(ToPayments(bhttp::verb::post, "/quote", "x")).status, 200);

  // The egress side refuses too: a stale list could pass a revoked
  // target's certificate.
  ProxyConfig e = ResearchConfig();
  e.control_plane.revocation_refresh_seconds = 30;
  e.control_plane.revocation_max_staleness_seconds = 60;
  ASSERT_TRUE(research_->Reload(e));
  Reply out = Send(ToPayments(bhttp::verb::post, "/quote", "x"));
  ExpectError(out, 503, "revocations_stale", nullptr);
  EXPECT_EQ(research_->stats().revocations_stale_refusals, 1);
}

}  // namespace
}  // namespace aztp::proxy_testing

// aztp::Proxy in one process, for the sanitizers (the fixture is
// proxy_test_fixture.h).
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "aztp/base/file.h"
#include "aztp/tls/tls.h"
#include "proxy/proxy_test_fixture.h"

namespace aztp::proxy_testing {
namespace {

TEST_F(ProxyTest, AllowedRequestCarriesTheVerifiedChainAndNoSpoofedHeaders) {
  auto req =
      ToPayments(bhttp::verb::post, "/quote?currency=EUR", R"({"amount":12})");
  req.set(bhttp::field::content_type, "application/json");
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
  EXPECT_EQ(h.value("Aztp-Subject", ""), kResearch) << h;
  EXPECT_EQ(h.value("Aztp-Txn", "").size(), 32u) << h;
  EXPECT_EQ(h.value("Aztp-Origin", ""), kResearch) << h;
  EXPECT_FALSE(h.contains("Aztp-Chain")) << "the chain reached the app: " << h;
  EXPECT_FALSE(h.contains("Aztp-Forged")) << h;
  EXPECT_FALSE(h.contains("Aztp-Target")) << h;
  EXPECT_EQ(h.size(), 6u) << h;

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

// Issue 13: a target nobody listens on is 502 upstream_unavailable, the
// reason docs/proxy.md documents, in the answer and the log alike (it was
// io_error).
TEST_F(ProxyTest, EgressToAnUnreachableTargetAnswers502UpstreamUnavailable) {
  uint16_t closed = 0;
  {
    asio::io_context io;
    tcp::acceptor probe(io,
                        tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    closed = probe.local_endpoint().port();
  }  // closed again: nothing listens on `closed`
  const std::string authority = "127.0.0.1:" + std::to_string(closed);
  bhttp::request<bhttp::string_body> req{bhttp::verb::get,
                                         "http://" + authority + "/quote", 11};
  req.set(bhttp::field::host, authority);
  req.set(kTargetHeader, kPayments);
  Reply r = Send(std::move(req));
  ExpectError(r, 502, "upstream_unavailable", nullptr);
  EXPECT_NE(r.body.find(authority), std::string::npos) << r.body;
  ASSERT_EQ(research_events_.Count("egress_refused"), 1u)
      << research_events_.str();
  std::lock_guard lock(research_events_.mu);
  for (const auto& [event, fields] : research_events_.logged) {
    if (event == "egress_refused") {
      EXPECT_EQ(fields.value("reason", ""), "upstream_unavailable");
    }
  }
  EXPECT_EQ(research_->stats().egress_failed, 1);
}

// The URL an app names on egress is read by http::ParseUrl: a port out of
// range, port 0, no port, userinfo or a path in Aztp-Target-Url is 400
// invalid_argument, audited, and nothing is sent.
TEST_F(ProxyTest, EgressRefusesATargetUrlItCannotReadWith400) {
  struct Case {
    const char* target;      // the request target
    const char* target_url;  // Aztp-Target-Url, when not null
  };
  const Case cases[] = {
      {"http://127.0.0.1:99999/quote", nullptr},
      {"http://127.0.0.1:65536/quote", nullptr},
      {"http://127.0.0.1:0/quote", nullptr},
      {"http://127.0.0.1/quote", nullptr},
      {"http://[::1]:99999/quote", nullptr},
      {"http://u@127.0.0.1:1/quote", nullptr},
      {"/quote", "https://127.0.0.1:99999"},
      {"/quote", "https://127.0.0.1:0"},
      {"/quote", "https://127.0.0.1:"},
      {"/quote", "https://127.0.0.1"},
      {"/quote", "https://127.0.0.1:1/"},
      {"/quote", "https://127.0.0.1:1/a#b"},
  };
  int64_t refused = 0;
  for (const Case& k : cases) {
    SCOPED_TRACE(std::string(k.target) + " " +
                 (k.target_url ? k.target_url : ""));
    bhttp::request<bhttp::string_body> req{bhttp::verb::get, k.target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    req.set(kTargetHeader, kPayments);
    if (k.target_url) req.set(kTargetUrlHeader, k.target_url);
    Reply r = Send(std::move(req));
    ExpectError(r, 400, "invalid_argument", nullptr);
    EXPECT_EQ(research_->stats().egress_failed, ++refused);
  }
  EXPECT_EQ(research_->stats().egress_sent, 0);
  EXPECT_EQ(payments_->stats().inbound_allowed, 0);
}

// Protocol §5.3: the app cannot name a person for its call. Aztp-Subject
// on egress is refused before anything is signed, with or without Aztp-Txn.
TEST_F(ProxyTest, EgressRefusesAPersonNamedInAHeader) {
  for (const char* txn : {"", "txn-of-someone"}) {
    SCOPED_TRACE(txn);
    auto req = ToPayments(bhttp::verb::post, "/quote", "x");
    req.set("Aztp-Subject", "oidc:https://login.example#cfo");
    if (*txn) req.set(kTxnHeader, txn);
    Reply r = Send(std::move(req));
    ExpectError(r, 403, "unvouched_subject", nullptr);
    EXPECT_NE(r.body.find("Aztp-Subject"), std::string::npos) << r.body;
  }
  EXPECT_EQ(research_->stats().egress_sent, 0);
  EXPECT_EQ(research_->stats().egress_failed, 2);
  EXPECT_EQ(app_.requests(), 0);
}

// Issue 13: a client whose trust domain the proxy has no bundle for (as
// after `federation remove`) gets 401 with the reason, and the proxy logs
// one info line naming the trust domain it claimed.
TEST_F(ProxyTest, AClientOfAnUnknownTrustDomainIsAnswered401AndLogged) {
  test_support::TestDomains rogue(server_.clock().Now());
  rogue.AddDomain("gone.example");
  const HopSigner& s = rogue.Signer("spiffe://gone.example/agents/x");
  TlsCredentials creds{s.chain(), s.key()};
  auto ctx = Must(MakeClientContext(&creds));
  std::string got = Exchange(payments_->inbound_port(),
                             "POST /quote HTTP/1.1\r\nHost: p\r\n"
                             "Content-Length: 0\r\n\r\n",
                             ctx.get());
  EXPECT_EQ(got.rfind("HTTP/1.1 401", 0), 0u) << got;
  EXPECT_NE(got.find("untrusted_trust_domain"), std::string::npos) << got;
  std::lock_guard lock(payments_events_.mu);
  int refused = 0;
  for (const auto& [event, fields] : payments_events_.logged) {
    if (event != "client_certificate_refused") continue;
    ++refused;
    EXPECT_EQ(fields.value("trust_domain", ""), "gone.example");
    EXPECT_EQ(fields.value("peer", ""), "spiffe://gone.example/agents/x");
    EXPECT_EQ(fields.value("reason", ""), "untrusted_trust_domain");
  }
  EXPECT_EQ(refused, 1);
  EXPECT_EQ(app_.requests(), 0);
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

  http::Request denied = test_support::NativeRequest("GET", "/v1/audit", "",
                                                     server_.admin_api_key());
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

// Issue 13: `aztp-proxy check` runs CheckProxyConfig; Start must refuse
// nothing for its configuration that CheckProxyConfig accepted, and refuse
// what it refuses with the same error.
TEST_F(ProxyTest, CheckProxyConfigRefusesWhatStartRefusesWithItsError) {
  ASSERT_TRUE(WriteFile(dir_.File("bad-policy.json"),
                        R"({"Statement":[{"Effect":"Allow","Action":"a:b",
                        "Condition":{"StringEqual":{"k":"v"}}}]})"));
  struct Case {
    const char* name;
    std::function<void(ProxyConfig&)> edit;
    const char* message_starts;
  };
  const std::string bad_policy = dir_.File("bad-policy.json");
  const std::string missing = dir_.File("missing.json");
  const std::vector<Case> cases = {
      {"host name to listen on",
       [](ProxyConfig& c) { c.inbound->listen = "localhost:0"; },
       "inbound.listen: listen address \"localhost:0\" is not an IP"},
      {"unknown policy operator",
       [&](ProxyConfig& c) { c.inbound->policy_file = bad_policy; },
       "inbound.policy_file: "},
      {"missing policy file",
       [&](ProxyConfig& c) { c.inbound->policy_file = missing; },
       "inbound.policy_file: "},
      {"bad upstream",
       [](ProxyConfig& c) { c.inbound->upstream = "ftp://x:1"; },
       "inbound.upstream: "},
      {"host name for metrics",
       [](ProxyConfig& c) { c.metrics_listen = "localhost:0"; },
       "metrics_listen: "},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    ProxyConfig c = PaymentsConfig();
    c.audit.db = dir_.File(std::string("check-") + k.name + ".db");
    k.edit(c);
    Status checked = CheckProxyConfig(c);
    ASSERT_FALSE(checked);
    EXPECT_EQ(checked.error().message().rfind(k.message_starts, 0), 0u)
        << checked.error().message();
    Events events;
    auto deps = Deps(kPayments, c.audit.db, events);
    ASSERT_TRUE(deps.has_value());
    auto started = Proxy::Start(std::move(c), std::move(*deps));
    ASSERT_FALSE(started);
    EXPECT_EQ(started.error().reason(), checked.error().reason());
    EXPECT_EQ(started.error().message(), checked.error().message());
  }
  EXPECT_TRUE(CheckProxyConfig(PaymentsConfig()));
  EXPECT_TRUE(CheckProxyConfig(ResearchConfig()));
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
}  // namespace aztp::proxy_testing

// A differential request-smuggling suite (finding 1 of issue 12 and its
// siblings): raw bytes, written as an attacker would write them, sent to the
// payments proxy's inbound listener (mTLS, as the test's own agent) and to
// the research proxy's egress listener (plain HTTP, as the local app). The
// app behind payments records every request it parses. For each variant:
// either the proxy answers 4xx and nothing reaches the app, or the app sees
// exactly the requests that were routed, audited and allowed, one audit
// record each, and never a byte it cannot parse.
#include <gtest/gtest.h>

#include <functional>

#include "proxy/proxy_test_fixture.h"

namespace aztp::proxy_testing {
namespace {

constexpr char kTester[] = "spiffe://org-a.example/agents/tester";

// Up is a request the app must see: its method and target, and its body.
struct Up {
  std::string method;
  std::string target;
  std::string body;
  // complete: the whole body arrives (false: the caller's body broke
  // mid-stream, and the app sees it cut off, never as another request).
  bool complete = true;
};

// Variant is one attack. In `raw`, {CHAIN} (each occurrence a fresh chain
// of the tester for payments), {URL} (http://127.0.0.1:<payments port>),
// {PAY} (the payments ID) and {SMUGGLED} (a complete second request) are
// replaced before sending.
struct Variant {
  const char* name;
  bool inbound;  // else egress, through research
  std::string raw;
  std::vector<int> statuses;  // the answers, in order
  std::vector<Up> upstream;   // what the app parses, in order
};

// kSmuggled is the request finding 1 hid in a body: an admin call with
// caller-chosen identity fields.
const char kSmuggled[] =
    "GET /admin HTTP/1.1\r\nHost: app\r\n"
    "Aztp-Caller: spiffe://org-a.example/root-admin\r\n"
    "Aztp-Capabilities: admin:write\r\n\r\n";

std::string Replace(std::string s, const std::string& from,
                    const std::function<std::string()>& to) {
  for (std::size_t at = s.find(from); at != std::string::npos;
       at = s.find(from, at)) {
    std::string value = to();
    s.replace(at, from.size(), value);
    at += value.size();
  }
  return s;
}

class SmugglingTest : public ProxyTest {
 protected:
  void SetUp() override {
    ProxyTest::SetUp();
    tester_ = MakeTester(kTester);
    ASSERT_TRUE(tester_.agent != nullptr);
  }

  std::string FreshChain() {
    return tester_.Chain(kPayments, {"payments:quote"});
  }

  std::string Expand(std::string raw) {
    const std::string url =
        "http://127.0.0.1:" + std::to_string(payments_->inbound_port());
    raw = Replace(raw, "{SMUGGLED}", [] { return std::string(kSmuggled); });
    raw = Replace(raw, "{URL}", [&] { return url; });
    raw = Replace(raw, "{PAY}", [] { return std::string(kPayments); });
    return Replace(raw, "{CHAIN}", [&] { return FreshChain(); });
  }

  // Run sends one variant and checks the invariant of this file.
  void Run(const Variant& v) {
    SCOPED_TRACE(v.name);
    const auto before = app_.seen().size();
    const ProxyStats p0 = payments_->stats();
    const ProxyStats r0 = research_->stats();
    const std::string wire = Exchange(
        v.inbound ? payments_->inbound_port() : research_->egress_port(),
        Expand(v.raw), v.inbound ? tester_.context.get() : nullptr);
    EXPECT_EQ(Statuses(wire), v.statuses) << wire.substr(0, 600);
    for (int status : Statuses(wire)) {
      if (status >= 400 && status < 500) {
        EXPECT_NE(wire.find("\"error\""), std::string::npos) << wire;
      }
    }
    // The app may still be reading when the answer came (a cut body).
    std::vector<EchoApp::Seen> seen;
    for (int i = 0; i < 100; ++i) {
      seen = app_.seen();
      if (seen.size() - before >= v.upstream.size()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    seen.erase(seen.begin(), seen.begin() + static_cast<long>(before));
    ASSERT_EQ(seen.size(), v.upstream.size());
    for (std::size_t i = 0; i < seen.size(); ++i) {
      EXPECT_EQ(seen[i].method, v.upstream[i].method) << i;
      EXPECT_EQ(seen[i].target, v.upstream[i].target) << i;
      EXPECT_EQ(seen[i].body_sha256, Sha256Hex(v.upstream[i].body)) << i;
      EXPECT_EQ(seen[i].complete, v.upstream[i].complete) << i;
      // Identity fields are the proxy's, from the verified chain.
      EXPECT_EQ(seen[i].aztp.value("Aztp-Caller", ""),
                v.inbound ? kTester : kResearch)
          << seen[i].aztp;
      EXPECT_EQ(seen[i].aztp.value("Aztp-Capabilities", ""),
                v.inbound ? "payments:quote" : "payments:quote payments:refund")
          << seen[i].aztp;
    }
    EXPECT_EQ(app_.parse_errors(), 0) << "the app read a broken message";
    // One allowed audit record per request the app saw.
    const ProxyStats p1 = payments_->stats();
    EXPECT_EQ(p1.inbound_allowed - p0.inbound_allowed,
              static_cast<int64_t>(v.upstream.size()));
    EXPECT_EQ(p1.audit_appended - p0.audit_appended,
              (p1.inbound_allowed - p0.inbound_allowed) +
                  (p1.inbound_denied - p0.inbound_denied));
    if (!v.inbound) {
      EXPECT_EQ(research_->stats().egress_sent - r0.egress_sent,
                static_cast<int64_t>(v.upstream.size()));
    }
  }

  Tester tester_;
};

// In(...) and Eg(...) build inbound and egress variants.
Variant In(const char* name, std::string raw, std::vector<int> statuses,
           std::vector<Up> upstream = {}) {
  return {name, true, std::move(raw), std::move(statuses), std::move(upstream)};
}
Variant Eg(const char* name, std::string raw, std::vector<int> statuses,
           std::vector<Up> upstream = {}) {
  return {name, false, std::move(raw), std::move(statuses),
          std::move(upstream)};
}

// Head starts an inbound request with its chain; EgHead an egress one.
std::string Head(const std::string& line) {
  return line + "\r\nHost: pay\r\nAztp-Chain: {CHAIN}\r\n";
}
std::string EgHead(const std::string& method, const std::string& path) {
  return method + " {URL}" + path + " HTTP/1.1\r\nHost: pay\r\n" +
         "Aztp-Target: {PAY}\r\n";
}
std::string Smuggle() { return std::to_string(sizeof(kSmuggled) - 1); }

const Up kQuote{"POST", "/quote", "abc"};

std::vector<Variant> Variants() {
  const std::string cl_smuggled = "Content-Length: " + Smuggle() + "\r\n\r\n";
  return {
      // Baselines: the same request whole, both sides.
      In("plain request",
         Head("POST /quote HTTP/1.1") + "Content-Length: 3\r\n\r\nabc", {200},
         {kQuote}),
      Eg("plain egress request",
         EgHead("POST", "/quote") + "Content-Length: 3\r\n\r\nabc", {200},
         {kQuote}),
      // Finding 1: Connection names framing or Aztp-* fields.
      In("Connection names Content-Length (finding 1)",
         Head("POST /quote HTTP/1.1") +
             "Connection: keep-alive, Content-Length\r\n" + cl_smuggled +
             "{SMUGGLED}",
         {400}),
      Eg("Connection names Content-Length on egress (finding 1)",
         EgHead("POST", "/quote") +
             "Connection: keep-alive, Content-Length\r\n" + cl_smuggled +
             "{SMUGGLED}",
         {400}),
      In("Connection names Transfer-Encoding",
         Head("POST /quote HTTP/1.1") +
             "Connection: Transfer-Encoding\r\nTransfer-Encoding: chunked"
             "\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
         {400}),
      In("Connection names Host",
         Head("POST /quote HTTP/1.1") +
             "Connection: Host\r\nContent-Length: 3\r\n\r\nabc",
         {400}),
      In("Connection names Aztp-Chain",
         Head("POST /quote HTTP/1.1") +
             "Connection: Aztp-Chain\r\nContent-Length: 3\r\n\r\nabc",
         {400}),
      Eg("Connection names Aztp-Target",
         EgHead("POST", "/quote") +
             "Connection: Aztp-Target\r\nContent-Length: 3\r\n\r\nabc",
         {400}),
      In("Proxy-Connection names content-length",
         Head("POST /quote HTTP/1.1") + "Proxy-Connection: content-length\r\n" +
             cl_smuggled + "{SMUGGLED}",
         {400}),
      In("Connection names aztp_caller",
         Head("POST /quote HTTP/1.1") +
             "Connection: aztp_caller\r\nContent-Length: 3\r\n\r\nabc",
         {400}),
      // Content-Length and Transfer-Encoding together.
      In("CL then TE",
         Head("POST /quote HTTP/1.1") +
             "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
             "3\r\nabc\r\n0\r\n\r\n",
         {400}),
      In("TE then CL",
         Head("POST /quote HTTP/1.1") +
             "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
             "3\r\nabc\r\n0\r\n\r\n",
         {400}),
      Eg("CL and TE on egress",
         EgHead("POST", "/quote") +
             "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
             "3\r\nabc\r\n0\r\n\r\n",
         {400}),
      // Duplicate, differing and odd lengths.
      In("the same Content-Length twice",
         Head("POST /quote HTTP/1.1") +
             "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
         {200}, {kQuote}),
      In("differing Content-Lengths",
         Head("POST /quote HTTP/1.1") +
             "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
         {400}),
      In("a list of differing lengths",
         Head("POST /quote HTTP/1.1") + "Content-Length: 3, 4\r\n\r\nabcd",
         {400}),
      In("a signed length",
         Head("POST /quote HTTP/1.1") + "Content-Length: +3\r\n\r\nabc", {400}),
      In("a negative length",
         Head("POST /quote HTTP/1.1") + "Content-Length: -1\r\n\r\nabc", {400}),
      In("a length with inner whitespace",
         Head("POST /quote HTTP/1.1") + "Content-Length: 1 2\r\n\r\nabc",
         {400}),
      In("a length beyond 64 bits",
         Head("POST /quote HTTP/1.1") +
             "Content-Length: 99999999999999999999999\r\n\r\nabc",
         {400}),
      In("leading zeros and spaces in the length",
         Head("POST /quote HTTP/1.1") + "Content-Length:   0003  \r\n\r\nabc",
         {200}, {kQuote}),
      // Transfer-Encoding variants.
      In("chunked, identity",
         Head("POST /quote HTTP/1.1") +
             "Transfer-Encoding: chunked, identity\r\n\r\n"
             "3\r\nabc\r\n0\r\n\r\n",
         {400}),
      In("identity alone, body follows",
         Head("POST /quote HTTP/1.1") +
             "Transfer-Encoding: identity\r\n\r\n{SMUGGLED}",
         {400}),
      In("two chunked fields",
         Head("POST /quote HTTP/1.1") +
             "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
             "3\r\nabc\r\n0\r\n\r\n",
         {400}),
      Eg("gzip, chunked on egress",
         EgHead("POST", "/quote") +
             "Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
         {400}),
      In("an empty chunked body",
         Head("POST /quote HTTP/1.1") +
             "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         {200}, {{"POST", "/quote", ""}}),
      In("an empty chunked body, then a request",
         Head("POST /quote HTTP/1.1") +
             "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
             Head("POST /quote?n=2 HTTP/1.1") + "Content-Length: 2\r\n\r\nxy",
         {200, 200}, {{"POST", "/quote", ""}, {"POST", "/quote?n=2", "xy"}}),
      In("CHUNKED in capitals",
         Head("POST /quote HTTP/1.1") +
             "Transfer-Encoding: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
         {200}, {kQuote}),
      In("chunk extensions",
         Head("POST /quote HTTP/1.1") +
             "Transfer-Encoding: chunked\r\n\r\n2;ext=\"x\"\r\nab\r\n"
             "1;a=b\r\nc\r\n0;last\r\n\r\n",
         {200}, {kQuote}),
      In("chunk size overflow",
         Head("POST /quote HTTP/1.1") +
             "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nabc\r\n"
             "0\r\n\r\n",
         {400}, {{"POST", "/quote", "", false}}),
      In("Aztp-* in trailers",
         Head("POST /quote HTTP/1.1") +
             "Trailer: Aztp-Caller\r\nTransfer-Encoding: chunked\r\n\r\n"
             "3\r\nabc\r\n0\r\nAztp-Caller: spiffe://org-a.example/evil\r\n"
             "Aztp-Capabilities: admin:write\r\n\r\n",
         {200}, {kQuote}),
      // Line and byte tricks.
      In("obs-fold in a value is merged",
         Head("POST /quote HTTP/1.1") +
             "X-A: 1\r\nHost2: a\r\n Connection: close\r\n"
             "Content-Length: 3\r\n\r\nabc",
         {200}, {kQuote}),
      In("obs-fold hides a second Host",
         "POST /quote HTTP/1.1\r\nHost: pay\r\n Host: evil\r\n"
         "Aztp-Chain: {CHAIN}\r\nContent-Length: 3\r\n\r\nabc",
         {400}),
      In("bare LF",
         "POST /quote HTTP/1.1\nHost: pay\nAztp-Chain: {CHAIN}\n"
         "Content-Length: 3\n\nabc",
         {400}),
      In("NUL in a value",
         Head("POST /quote HTTP/1.1") +
             std::string("X-A: a\0b\r\nContent-Length: 3\r\n\r\nabc", 35),
         {400}),
      In("a control byte in a name",
         Head("POST /quote HTTP/1.1") +
             "X\x01A: 1\r\nContent-Length: 3\r\n\r\nabc",
         {400}),
      In("a lone CR in a value",
         Head("POST /quote HTTP/1.1") +
             "X-A: a\rb\r\nContent-Length: 3\r\n\r\nabc",
         {400}),
      In("an underscore name (finding 6)",
         Head("POST /quote HTTP/1.1") +
             "Aztp_Caller: spiffe://org-a.example/evil\r\n"
             "Content-Length: 3\r\n\r\nabc",
         {400}),
      Eg("an underscore name on egress (finding 6)",
         EgHead("POST", "/quote") +
             "Aztp_Capabilities: admin:write\r\nContent-Length: 3\r\n\r\nabc",
         {400}),
      // Pipelining: each request decided alone.
      In("two pipelined requests",
         Head("POST /quote HTTP/1.1") + "Content-Length: 3\r\n\r\nabc" +
             Head("POST /quote?n=2 HTTP/1.1") + "Content-Length: 2\r\n\r\nxy",
         {200, 200}, {kQuote, {"POST", "/quote?n=2", "xy"}}),
      In("a denied request ends the pipeline",
         Head("POST /refund HTTP/1.1") + "Content-Length: 3\r\n\r\nabc" +
             Head("POST /quote HTTP/1.1") + "Content-Length: 3\r\n\r\nabc",
         {403}),
      In("pipelined body that is a request",
         Head("POST /quote HTTP/1.1") + cl_smuggled + "{SMUGGLED}", {200},
         {{"POST", "/quote", kSmuggled}}),
      In("a pipelined replay",
         "POST /quote HTTP/1.1\r\nHost: pay\r\nAztp-Chain: REPLAYED\r\n"
         "Content-Length: 3\r\n\r\nabc"
         "POST /quote HTTP/1.1\r\nHost: pay\r\nAztp-Chain: REPLAYED\r\n"
         "Content-Length: 3\r\n\r\nabc",
         {200, 401}, {kQuote}),
      // HTTP/1.0 and Expect.
      In("HTTP/1.0 keep-alive, twice",
         "GET /sleep/0 HTTP/1.0\r\nConnection: keep-alive\r\n"
         "Aztp-Chain: {CHAIN}\r\n\r\n"
         "GET /sleep/1 HTTP/1.0\r\nAztp-Chain: {CHAIN}\r\n\r\n",
         {200, 200}, {{"GET", "/sleep/0", ""}, {"GET", "/sleep/1", ""}}),
      In("Expect: 100-continue",
         Head("POST /quote HTTP/1.1") +
             "Expect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
         {100, 200}, {kQuote}),
      In("Expect: 100-continue on a denied request",
         Head("POST /refund HTTP/1.1") +
             "Expect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
         {403}),
      // Target forms the proxy does not relay.
      In("absolute-form inbound",
         Head("POST http://pay/quote HTTP/1.1") +
             "Content-Length: 3\r\n\r\nabc",
         {400}),
      In("asterisk-form", Head("OPTIONS * HTTP/1.1") + "\r\n", {400}),
      In("CONNECT", Head("CONNECT pay:443 HTTP/1.1") + "\r\n", {400}),
      Eg("CONNECT on egress",
         "CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n"
         "Aztp-Target: {PAY}\r\n\r\n",
         {400}),
      Eg("asterisk-form on egress",
         "OPTIONS * HTTP/1.1\r\nHost: p\r\nAztp-Target: {PAY}\r\n\r\n", {400}),
      In("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {400}),
      // Upgrades.
      In("Upgrade: h2c",
         Head("GET /sleep/0 HTTP/1.1") +
             "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
             "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n",
         {400}),
      In("Upgrade: websocket",
         Head("GET /sleep/0 HTTP/1.1") +
             "Connection: Upgrade\r\nUpgrade: websocket\r\n"
             "Sec-WebSocket-Version: 13\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
         {400}),
      Eg("Upgrade: websocket on egress",
         EgHead("GET", "/sleep/0") + "Upgrade: websocket\r\n\r\n", {400}),
      // Paths (finding 4).
      In("an encoded dot segment",
         Head("GET /sleep/..%2f..%2fadmin HTTP/1.1") + "\r\n", {400}),
      Eg("an encoded dot segment on egress",
         EgHead("GET", "/sleep/%2e%2e") + "\r\n", {400}),
  };
}

TEST_F(SmugglingTest, EveryVariantIsRefusedOrRelayedExactlyAsAudited) {
  const auto variants = Variants();
  ASSERT_GE(variants.size(), 40u);
  for (const Variant& v : variants) {
    if (v.raw.find("REPLAYED") != std::string::npos) {
      const std::string chain = FreshChain();
      Variant same = v;
      same.raw = Replace(v.raw, "REPLAYED", [&] { return chain; });
      Run(same);
      continue;
    }
    Run(v);
  }
}

}  // namespace
}  // namespace aztp::proxy_testing

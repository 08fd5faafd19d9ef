// The proxy's HTTP rules on request heads parsed from raw bytes, without a
// socket: what is refused, and what a forwarded request is made of.
#include "proxy/http_rules.h"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <memory>
#include <sstream>
#include <string>

namespace aztp::internal {
namespace {

namespace bhttp = boost::beast::http;

using Parser = bhttp::request_parser<bhttp::string_body>;

// Head parses the head of `raw` (which must end its head with CRLF CRLF);
// null when Beast refuses it.
std::unique_ptr<Parser> Head(const std::string& raw) {
  auto p = std::make_unique<Parser>();
  p->eager(false);
  boost::beast::error_code ec;
  std::size_t used = 0;
  while (!p->is_header_done()) {
    std::size_t n =
        p->put(boost::asio::buffer(raw.data() + used, raw.size() - used), ec);
    if (ec || n == 0) return nullptr;
    used += n;
  }
  return p;
}

Status Check(const std::string& raw, Side side = Side::kInbound) {
  auto p = Head(raw);
  if (!p) return Error(Code::kInternal, "Beast refused the head");
  return CheckRequestHead(p->get().base(), side);
}

void ExpectRefused(const std::string& raw, const char* why,
                   Side side = Side::kInbound) {
  Status s = Check(raw, side);
  ASSERT_FALSE(s) << raw;
  EXPECT_EQ(s.error().code(), Code::kMalformed) << raw;
  EXPECT_NE(s.error().message().find(why), std::string::npos)
      << raw << ": " << s.error().message();
}

const char kOk[] = "GET /quote HTTP/1.1\r\nHost: pay\r\n\r\n";

TEST(CheckRequestHead, AcceptsAnOrdinaryRequest) {
  EXPECT_TRUE(Check(kOk));
  EXPECT_TRUE(
      Check("POST /quote?x=1 HTTP/1.1\r\nHost: pay:9443\r\n"
            "Content-Length: 3\r\nConnection: keep-alive\r\n"
            "Expect: 100-continue\r\n\r\n"));
  EXPECT_TRUE(
      Check("POST /q HTTP/1.1\r\nHost: [::1]:1\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"));
  EXPECT_TRUE(Check("GET /q HTTP/1.0\r\n\r\n"));  // 1.0 needs no Host
  EXPECT_TRUE(
      Check("GET http://pay:1/q HTTP/1.1\r\nHost: pay\r\n\r\n", Side::kEgress));
}

// Finding 1 (critical): Connection named Content-Length, the proxy dropped
// it and streamed the body, which the app read as a second request.
TEST(CheckRequestHead, Finding1ConnectionMayNotNameFramingOrAztpFields) {
  for (const char* named :
       {"Content-Length", "content-length", "Transfer-Encoding", "Host",
        "Aztp-Chain", "aztp-caller", "Aztp_Caller", "AZTP-TXN"}) {
    ExpectRefused(std::string("POST /q HTTP/1.1\r\nHost: pay\r\n"
                              "Connection: keep-alive, ") +
                      named + "\r\nContent-Length: 0\r\n\r\n",
                  "Connection may not name");
    ExpectRefused(std::string("GET /q HTTP/1.1\r\nHost: pay\r\n"
                              "Proxy-Connection: ") +
                      named + "\r\n\r\n",
                  "Proxy-Connection may not name");
  }
  // Other fields may be named (and are then not forwarded).
  EXPECT_TRUE(
      Check("GET /q HTTP/1.1\r\nHost: pay\r\n"
            "Connection: close, X-Private\r\nX-Private: 1\r\n\r\n"));
}

TEST(CheckRequestHead, TransferEncodingIsChunkedAloneOrNothing) {
  ExpectRefused(
      "POST /q HTTP/1.1\r\nHost: p\r\n"
      "Transfer-Encoding: chunked, identity\r\n\r\n",
      "exactly \"chunked\"");
  ExpectRefused(
      "POST /q HTTP/1.1\r\nHost: p\r\n"
      "Transfer-Encoding: gzip\r\n\r\n",
      "exactly \"chunked\"");
  ExpectRefused(
      "POST /q HTTP/1.1\r\nHost: p\r\n"
      "Transfer-Encoding: gzip, chunked\r\n\r\n",
      "exactly \"chunked\"");
  ExpectRefused(
      "POST /q HTTP/1.1\r\nHost: p\r\nTransfer-Encoding: identity"
      "\r\nTransfer-Encoding: chunked\r\n\r\n",
      "exactly \"chunked\"");
  ExpectRefused(
      "POST /q HTTP/1.1\r\nHost: p\r\n"
      "Transfer-Encoding: \r\n\r\n",
      "exactly \"chunked\"");
  // Beast itself refuses chunked before Content-Length; the rule also
  // covers a coding that Beast does not read as chunked.
  ExpectRefused(
      "POST /q HTTP/1.1\r\nHost: p\r\nTransfer-Encoding: "
      "xchunked\r\nContent-Length: 3\r\n\r\n",
      "exactly \"chunked\"");
}

TEST(CheckRequestHead, FieldsASessionRestsOnAppearOnce) {
  // An app reading another value than the proxy checked would use another
  // caller's MCP session, or parse another body than was decided.
  for (const char* field :
       {"Mcp-Session-Id: a\r\nmcp-session-id: b",
        "Last-Event-ID: 1\r\nLast-Event-ID: 2",
        "Content-Type: application/json\r\nContent-Type: text/plain"}) {
    ExpectRefused(std::string("POST /mcp HTTP/1.1\r\nHost: pay\r\n") + field +
                      "\r\nContent-Length: 0\r\n\r\n",
                  "appears more than once");
  }
}

TEST(CheckRequestHead, HostIsOneHostAndPort) {
  ExpectRefused("GET /q HTTP/1.1\r\n\r\n", "must carry Host");
  ExpectRefused("GET /q HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                "more than one Host");
  ExpectRefused("GET /q HTTP/1.1\r\nHost: a/b\r\n\r\n", "host[:port]");
  ExpectRefused("GET /q HTTP/1.1\r\nHost: user@a\r\n\r\n", "host[:port]");
  ExpectRefused("GET /q HTTP/1.1\r\nHost: a b\r\n\r\n", "host[:port]");
}

// Finding 6: "Aztp_Caller" reached the app, which read it as Aztp-Caller.
TEST(CheckRequestHead, Finding6UnderscoresInFieldNamesAreRefused) {
  ExpectRefused("GET /q HTTP/1.1\r\nHost: p\r\nAztp_Caller: x\r\n\r\n",
                "has '_'");
  ExpectRefused("GET /q HTTP/1.1\r\nHost: p\r\nX_Anything: x\r\n\r\n",
                "has '_'");
  ExpectRefused(
      "GET /q HTTP/1.1\r\nHost: p\r\nAztp-Chain: a\r\n"
      "aztp-chain: b\r\n\r\n",
      "more than once");
}

TEST(CheckRequestHead, OnlyHttp11FormsTheProxyRelays) {
  ExpectRefused("CONNECT pay:443 HTTP/1.1\r\nHost: pay:443\r\n\r\n",
                "is not relayed");
  ExpectRefused(
      "GET /q HTTP/1.1\r\nHost: p\r\nUpgrade: h2c\r\n"
      "Connection: Upgrade, HTTP2-Settings\r\n\r\n",
      "upgrades");
  ExpectRefused("GET /q HTTP/1.1\r\nHost: p\r\nUpgrade: websocket\r\n\r\n",
                "upgrades");
  ExpectRefused("OPTIONS * HTTP/1.1\r\nHost: p\r\n\r\n", "origin-form");
  ExpectRefused("GET http://pay/q HTTP/1.1\r\nHost: p\r\n\r\n", "origin-form");
  ExpectRefused("GET pay/q HTTP/1.1\r\nHost: p\r\n\r\n", "http(s) URL",
                Side::kEgress);
  ExpectRefused("POST /q HTTP/1.1\r\nHost: p\r\nExpect: 200-ok\r\n\r\n",
                "Expect");
  ExpectRefused("GET /files/%2e%2e/admin HTTP/1.1\r\nHost: p\r\n\r\n",
                "encoded '.'");
  ExpectRefused("GET /files/%2e%2e/admin HTTP/1.1\r\nHost: p\r\n\r\n",
                "encoded '.'", Side::kEgress);
}

// Serialized is what the proxy would send for the head of `raw` with body
// `body` read from it.
std::string Serialized(const std::string& raw, const std::string& body) {
  auto p = Head(raw);
  EXPECT_TRUE(p != nullptr) << raw;
  if (!p) return "";
  bhttp::request<bhttp::string_body> out;
  StartForward(p->get().base(), FramingOf(*p), p->get().target(), out);
  out.body() = body;
  std::ostringstream os;
  os << out;
  return os.str();
}

TEST(StartForward, CarriesOnlyEndToEndFieldsAndItsOwnFraming) {
  std::string wire = Serialized(
      "POST /q HTTP/1.0\r\nHost: pay\r\nConnection: keep-alive, X-Hop\r\n"
      "X-Hop: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n"
      "Aztp-Chain: c\r\nAztp-Caller: forged\r\nExpect: 100-continue\r\n"
      "Content-Length: 005\r\nX-End: 2\r\n\r\n",
      "hello");
  EXPECT_EQ(wire,
            "POST /q HTTP/1.1\r\nHost: pay\r\nX-End: 2\r\n"
            "Content-Length: 5\r\n\r\nhello");
}

TEST(StartForward, ChunkedStaysChunkedWithoutTheCallersTrailers) {
  auto p = Head(
      "POST /q HTTP/1.1\r\nHost: pay\r\nTrailer: Aztp-Caller\r\n"
      "Transfer-Encoding: chunked\r\n\r\n");
  ASSERT_TRUE(p != nullptr);
  bhttp::request<bhttp::string_body> out;
  StartForward(p->get().base(), FramingOf(*p), "/q", out);
  EXPECT_TRUE(out.chunked());
  EXPECT_EQ(out.count(bhttp::field::trailer), 0u);
  EXPECT_EQ(out.count(bhttp::field::content_length), 0u);
}

TEST(SetFraming, AnswersWithoutBodiesKeepTheirLengthAsMetadata) {
  bhttp::response<bhttp::string_body> head_answer{bhttp::status::ok, 11};
  SetFraming(BodyFraming{false, 42}, head_answer, /*no_body=*/true);
  EXPECT_EQ(head_answer[bhttp::field::content_length], "42");
  bhttp::response<bhttp::string_body> no_content{bhttp::status::no_content, 11};
  SetFraming(BodyFraming{false, 42}, no_content, /*no_body=*/true);
  EXPECT_EQ(no_content.count(bhttp::field::content_length), 0u);
  bhttp::response<bhttp::string_body> until_close{bhttp::status::ok, 11};
  SetFraming(BodyFraming{}, until_close, /*no_body=*/false);
  EXPECT_TRUE(until_close.chunked());
}

}  // namespace
}  // namespace aztp::internal

// The host:port and URL tables: every address aztp reads (listen
// addresses, upstreams, control-plane and federation URLs, the URLs the
// proxy's callers name) goes through these two parsers.
#include "aztp/http/address.h"

#include <gtest/gtest.h>

#include <string>

#include "aztp/http/target.h"

namespace aztp::http {
namespace {

using namespace std::string_literals;  // "...\0..."s keeps the NUL

struct AddressCase {
  std::string text;
  bool accepted;     // by ParseHostPort
  bool listenable;   // by ParseListenAddress
  const char* host;  // when accepted: the host without brackets
  int port;
  const char* why;  // when refused: words the message must contain
};

const AddressCase kAddresses[] = {
    {"127.0.0.1:8080", true, true, "127.0.0.1", 8080, ""},
    {"example.org:443", true, true, "example.org", 443, ""},
    {"Example-1.org:1", true, true, "Example-1.org", 1, ""},
    {"localhost:65535", true, true, "localhost", 65535, ""},
    {"[::1]:443", true, true, "::1", 443, ""},
    {"[2001:db8::1]:8443", true, true, "2001:db8::1", 8443, ""},
    {"[::ffff:127.0.0.1]:80", true, true, "::ffff:127.0.0.1", 80, ""},
    // Leading zeros: decimal digits, five at most, as ever.
    {"127.0.0.1:080", true, true, "127.0.0.1", 80, ""},
    {"127.0.0.1:000080", false, false, "", 0, "out of range"},
    // Port 0 is only for binding (any free port).
    {"127.0.0.1:0", false, true, "127.0.0.1", 0, "out of range (1 to 65535)"},
    {"[::1]:0", false, true, "::1", 0, "out of range (1 to 65535)"},
    {"127.0.0.1:00", false, true, "127.0.0.1", 0, "out of range"},
    {"127.0.0.1:65536", false, false, "", 0, "out of range"},
    {"127.0.0.1:99999", false, false, "", 0, "out of range"},
    {"127.0.0.1:4294967377", false, false, "", 0, "out of range"},
    // Missing parts.
    {"127.0.0.1", false, false, "", 0, "has no port"},
    {"[::1]", false, false, "", 0, "has no port"},
    {"127.0.0.1:", false, false, "", 0, "empty port"},
    {"[::1]:", false, false, "", 0, "empty port"},
    {":8080", false, false, "", 0, "has no host"},
    {"[]:8080", false, false, "", 0, "has no host"},
    {"", false, false, "", 0, "has no host"},
    {":", false, false, "", 0, "has no host"},
    // Ports that are not decimal digits.
    {"127.0.0.1:+80", false, false, "", 0, "not decimal digits"},
    {"127.0.0.1:-1", false, false, "", 0, "not decimal digits"},
    {"127.0.0.1:8a", false, false, "", 0, "not decimal digits"},
    {"127.0.0.1:http", false, false, "", 0, "not decimal digits"},
    {"127.0.0.1:80 ", false, false, "", 0, "not decimal digits"},
    {"127.0.0.1:80/", false, false, "", 0, "not decimal digits"},
    {"127.0.0.1:0x50", false, false, "", 0, "not decimal digits"},
    // IPv6: brackets, and only an IPv6 address inside them.
    {"::1:443", false, false, "", 0, "without brackets"},
    {"2001:db8::1", false, false, "", 0, "without brackets"},
    {"[::1:443", false, false, "", 0, "no ']'"},
    {"[::1]]:80", false, false, "", 0, "more than ':port'"},
    {"[::1]x:80", false, false, "", 0, "more than ':port'"},
    {"[::1]:80]", false, false, "", 0, "not decimal digits"},
    {"[[::1]]:80", false, false, "", 0, "more than ':port'"},
    {"[1:2]:80", false, false, "", 0, "no IPv6 address"},
    {"[127.0.0.1]:80", false, false, "", 0, "no IPv6 address"},
    {"[example.org]:80", false, false, "", 0, "no IPv6 address"},
    {"[fe80::1%eth0]:80", false, false, "", 0, "no IPv6 address"},
    // Hosts: letters, digits, '.' and '-' only.
    {"my_host:80", false, false, "", 0, "not a DNS name"},
    {"a b:80", false, false, "", 0, "not a DNS name"},
    {" 127.0.0.1:80", false, false, "", 0, "not a DNS name"},
    {"user@example.org:80", false, false, "", 0, "not a DNS name"},
    {"example.org/x:80", false, false, "", 0, "not a DNS name"},
    {"caf\xc3\xa9.example:80", false, false, "", 0, "not a DNS name"},
    {std::string(254, 'a') + ":80", false, false, "", 0, "longer than 253"},
    {std::string(253, 'a') + ":80", true, true, "", 80, ""},
    // NUL and control bytes, anywhere.
    {"a\0b:80"s, false, false, "", 0, "not a DNS name"},
    {"a\x01"
     "b:80",
     false, false, "", 0, "not a DNS name"},
    {"127.0.0.1:80\0"s, false, false, "", 0, "not decimal digits"},
    {"[::1\0]:80"s, false, false, "", 0, "no IPv6 address"},
    {"127.0.0.1\r\n:80", false, false, "", 0, "not a DNS name"},
};

void CheckAddress(const AddressCase& k, const Result<HostPort>& got,
                  bool want) {
  if (!want) {
    ASSERT_FALSE(got) << got->str();
    EXPECT_EQ(got.error().code(), Code::kInvalidArgument);
    EXPECT_NE(got.error().message().find(k.why), std::string::npos)
        << got.error().message();
    // The input is quoted, never repeated raw (control bytes escaped).
    EXPECT_EQ(got.error().message().find('\0'), std::string::npos);
    EXPECT_EQ(got.error().message().find('\x01'), std::string::npos);
    return;
  }
  ASSERT_TRUE(got) << got.error().message();
  if (*k.host != '\0') {
    EXPECT_EQ(got->host, k.host);
  }
  EXPECT_EQ(got->port, k.port);
  // str() is read back as the same address.
  auto again = ParseListenAddress(got->str());
  ASSERT_TRUE(again) << got->str();
  EXPECT_EQ(*again, *got);
}

TEST(AddressTest, HostPortTable) {
  for (const AddressCase& k : kAddresses) {
    SCOPED_TRACE(QuoteInput(k.text));
    CheckAddress(k, ParseHostPort(k.text), k.accepted);
    CheckAddress(k, ParseListenAddress(k.text), k.listenable);
  }
}

TEST(AddressTest, PortZeroAndOutOfRangeSayTheRange) {
  auto zero = ParseHostPort("127.0.0.1:0");
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().message(),
            "address \"127.0.0.1:0\" has a port out of range (1 to 65535)");
  auto big = ParseListenAddress("127.0.0.1:99999");
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().message(),
            "address \"127.0.0.1:99999\" has a port out of range (0 to "
            "65535)");
}

TEST(AddressTest, StrBracketsIpv6Only) {
  EXPECT_EQ((HostPort{"::1", 443}).str(), "[::1]:443");
  EXPECT_EQ((HostPort{"::1", 443}).HostForUrl(), "[::1]");
  EXPECT_TRUE((HostPort{"::1", 443}).IsIpv6());
  EXPECT_EQ((HostPort{"127.0.0.1", 80}).str(), "127.0.0.1:80");
  EXPECT_FALSE((HostPort{"example.org", 80}).IsIpv6());
}

struct UrlCase {
  std::string text;
  Code code;  // of the refusal (kNone where accepted)
  bool accepted;
  const char* scheme;
  const char* address;  // HostPort::str()
  bool explicit_port;
  const char* path_and_query;
  const char* why;
};

constexpr Code kNone = Code::kInvalidArgument;  // not looked at
// The scheme and authority are invalid arguments; a path or query no
// request target could carry is malformed, as http::CheckOriginTarget says.
constexpr Code kBad = Code::kInvalidArgument;
constexpr Code kBadTarget = Code::kMalformed;

const UrlCase kUrls[] = {
    {"https://example.org", kNone, true, "https", "example.org:443", false, "",
     ""},
    {"https://example.org/", kNone, true, "https", "example.org:443", false,
     "/", ""},
    {"http://example.org", kNone, true, "http", "example.org:80", false, "",
     ""},
    {"http://127.0.0.1:8080", kNone, true, "http", "127.0.0.1:8080", true, "",
     ""},
    {"https://[::1]:8443/b?x=1&y", kNone, true, "https", "[::1]:8443", true,
     "/b?x=1&y", ""},
    {"https://[::1]", kNone, true, "https", "[::1]:443", false, "", ""},
    {"https://example.org:65535/a@b", kNone, true, "https", "example.org:65535",
     true, "/a@b", ""},
    // Not this parser's to refuse: CheckOriginTarget's rules.
    {"https://example.org:1//a/../b;c", kNone, true, "https", "example.org:1",
     true, "//a/../b;c", ""},
    // Schemes.
    {"ftp://x:1", kBad, false, "", "", false, "", "http:// or https://"},
    {"HTTPS://example.org:1", kBad, false, "", "", false, "", "http://"},
    {"https:/example.org", kBad, false, "", "", false, "", "http://"},
    {"example.org:443", kBad, false, "", "", false, "", "http://"},
    {"", kBad, false, "", "", false, "", "http://"},
    // The authority.
    {"https://", kBad, false, "", "", false, "", "has no host"},
    {"https:///x", kBad, false, "", "", false, "", "has no host"},
    {"https://:443/", kBad, false, "", "", false, "", "has no host"},
    {"https://example.org:/", kBad, false, "", "", false, "", "empty port"},
    {"https://example.org:0/x", kBad, false, "", "", false, "",
     "out of range (1 to 65535)"},
    {"https://example.org:65536/", kBad, false, "", "", false, "",
     "out of range"},
    {"https://example.org:99999/bundle", kBad, false, "", "", false, "",
     "out of range"},
    {"https://[::1]:99999/b", kBad, false, "", "", false, "", "out of range"},
    {"https://example.org:8a/", kBad, false, "", "", false, "",
     "not decimal digits"},
    {"https://example.org:443x", kBad, false, "", "", false, "",
     "not decimal digits"},
    {"https://::1:443/", kBad, false, "", "", false, "", "without brackets"},
    {"https://user@example.org:8443/", kBad, false, "", "", false, "",
     "userinfo"},
    {"https://user:pw@example.org/", kBad, false, "", "", false, "",
     "userinfo"},
    {"https://ex_ample.org:1/", kBad, false, "", "", false, "",
     "not a DNS name"},
    {"https://exa mple.org/", kBad, false, "", "", false, "", "not a DNS name"},
    {"https://example.org:8443#f", kBad, false, "", "", false, "",
     "not decimal digits"},
    {"https://example.org#f", kBad, false, "", "", false, "", "not a DNS name"},
    {"https://example.org:8443?x", kBad, false, "", "", false, "",
     "not decimal digits"},
    {"https://a\0b/"s, kBad, false, "", "", false, "", "not a DNS name"},
    // The path and query: visible ASCII, no fragment.
    {"https://example.org/a#b", kBadTarget, false, "", "", false, "",
     "fragment"},
    {"https://example.org/#", kBadTarget, false, "", "", false, "", "fragment"},
    {"https://example.org/a b", kBadTarget, false, "", "", false, "",
     "space, control or non-ASCII"},
    {"https://example.org/a\tb", kBadTarget, false, "", "", false, "",
     "space, control"},
    {"https://example.org/a\x01", kBadTarget, false, "", "", false, "",
     "control"},
    {"https://example.org/a\0"s, kBadTarget, false, "", "", false, "",
     "control"},
    {"https://example.org/a\x7f", kBadTarget, false, "", "", false, "",
     "control"},
    {"https://example.org/caf\xc3\xa9", kBadTarget, false, "", "", false, "",
     "non-ASCII"},
    {"https://example.org/\r\nHost: x", kBadTarget, false, "", "", false, "",
     "control"},
};

TEST(AddressTest, UrlTable) {
  for (const UrlCase& k : kUrls) {
    SCOPED_TRACE(QuoteInput(k.text));
    auto got = ParseUrl(k.text);
    if (!k.accepted) {
      ASSERT_FALSE(got) << got->address.str();
      EXPECT_EQ(got.error().code(), k.code);
      EXPECT_NE(got.error().message().find(k.why), std::string::npos)
          << got.error().message();
      EXPECT_EQ(got.error().message().find('\0'), std::string::npos);
      continue;
    }
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(got->scheme, k.scheme);
    EXPECT_EQ(got->address.str(), k.address);
    EXPECT_EQ(got->explicit_port, k.explicit_port);
    EXPECT_EQ(got->path_and_query, k.path_and_query);
    EXPECT_EQ(got->Target(), *k.path_and_query ? k.path_and_query : "/");
  }
}

TEST(AddressTest, OriginHasNoPath) {
  auto origin = ParseOrigin("https://[::1]:8443");
  ASSERT_TRUE(origin) << origin.error().message();
  EXPECT_EQ(origin->address.str(), "[::1]:8443");
  EXPECT_EQ(origin->path_and_query, "");
  for (const char* with_path :
       {"https://example.org/", "https://example.org:1/x",
        "http://example.org:1/a#b", "http://example.org:1/a b"}) {
    SCOPED_TRACE(with_path);
    auto got = ParseOrigin(with_path);
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().code(), Code::kInvalidArgument);
    EXPECT_NE(got.error().message().find("has a path"), std::string::npos);
  }
  // The authority is checked first, as by ParseUrl.
  auto bad = ParseOrigin("https://example.org:0/x");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("out of range"), std::string::npos);
}

TEST(AddressTest, HasHttpScheme) {
  EXPECT_TRUE(HasHttpScheme("http://x"));
  EXPECT_TRUE(HasHttpScheme("https://"));
  EXPECT_FALSE(HasHttpScheme("HTTP://x"));
  EXPECT_FALSE(HasHttpScheme("/path"));
  EXPECT_FALSE(HasHttpScheme("ftp://x"));
}

TEST(AddressTest, PathOverTheTargetLimitIsTooLarge) {
  const std::string path = "/" + std::string(kMaxTargetBytes, 'a');
  auto got = ParseUrl("https://example.org" + path);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code(), Code::kTooLarge);
  // The size is checked first, as by CheckOriginTarget.
  auto also = ParseUrl("https://example.org" + path + "#");
  ASSERT_FALSE(also);
  EXPECT_EQ(also.error().code(), Code::kTooLarge);
  auto longest =
      ParseUrl("https://example.org" + path.substr(0, kMaxTargetBytes));
  EXPECT_TRUE(longest);
}

// Messages quote at most 64 bytes of what they were given.
TEST(AddressTest, LongInputIsQuotedCut) {
  const std::string text = "https://" + std::string(4000, 'a') + ":1/";
  auto got = ParseUrl(text);
  ASSERT_FALSE(got);
  EXPECT_LT(got.error().message().size(), 200u);
}

}  // namespace
}  // namespace aztp::http

// The path table of docs/proxy.md "What the proxy accepts": every target
// either is canonical (routed and forwarded byte for byte) or is refused
// before routing.
#include "aztp/http/target.h"

#include <gtest/gtest.h>

#include <string>

namespace aztp::http {
namespace {

struct PathCase {
  std::string target;
  bool accepted;
  const char* why;  // the words the refusal must contain
};

// Finding 4 of the review (issue 12): /files/.., /files/..%2fadmin,
// /files/%2e%2e and /files/..\admin matched GET /files/* and reached the
// app byte for byte. Each spelling below is one way a server behind the
// proxy may resolve a path differently from its bytes.
const PathCase kPaths[] = {
    // Canonical: accepted as they are.
    {"/", true, ""},
    {"/files/report.pdf", true, ""},
    {"/files/", true, ""},  // one final '/'
    {"/files/a/b/c", true, ""},
    {"/files/a-b_c~d.e", true, ""},
    {"/files/..a", true, ""},  // not a dot segment
    {"/files/a..", true, ""},
    {"/files/...", true, ""},
    {"/files/.well-known", true, ""},
    {"/files/%20space", true, ""},         // encoded space
    {"/files/%C3%A9t%C3%A9", true, ""},    // UTF-8, encoded
    {"/files/a:b@c!$&'()*+,=", true, ""},  // pchar sub-delims
    {"/files/%25", true, ""},              // an encoded '%'
    // Dot segments, plain and encoded.
    {"/files/..", false, "dot segment"},
    {"/files/.", false, "dot segment"},
    {"/files/../admin", false, "dot segment"},
    {"/files/./admin", false, "dot segment"},
    {"/..", false, "dot segment"},
    {"/files/%2e%2e", false, "encoded '.'"},
    {"/files/%2E%2E/admin", false, "encoded '.'"},
    {"/files/.%2e/admin", false, "encoded '.'"},
    {"/files/%2e./admin", false, "encoded '.'"},
    {"/files/%2e", false, "encoded '.'"},
    {"/files/a%2ejson", false, "encoded '.'"},
    // Encoded separators, backslashes.
    {"/files/..%2fadmin", false, "encoded '/'"},
    {"/files/a%2Fb", false, "encoded '/'"},
    {"/files/a%5cb", false, "encoded '/' or '\\'"},
    {"/files/..\\admin", false, "backslash"},
    {"/files\\admin", false, "backslash"},
    // NUL, controls, whitespace, non-ASCII.
    {std::string("/files/a\0b", 10), false, "NUL"},
    {"/files/%00", false, "NUL or control"},
    {"/files/%0d%0aX:y", false, "NUL or control"},
    {"/files/%7F", false, "NUL or control"},
    {"/files/a b", false, "space"},
    {"/files/a\tb", false, "control"},
    {"/files/\xC3\xA9", false, "non-ASCII"},
    // Empty segments.
    {"//admin", false, "empty segment"},
    {"/files//admin", false, "empty segment"},
    {"/files//", false, "empty segment"},
    // Path parameters and their encodings.
    {"/files/..;/admin", false, "';'"},
    {"/admin;x=1/users", false, "';'"},
    {"/files/a%3bb", false, "encoded ';'"},
    // Percent-encoded unreserved characters, malformed encodings.
    {"/%61dmin", false, "unreserved"},
    {"/files/%7e", false, "unreserved"},
    {"/files/%2D", false, "unreserved"},
    {"/files/%", false, "malformed percent"},
    {"/files/%4", false, "malformed percent"},
    {"/files/%zz", false, "malformed percent"},
    // Characters that must be encoded, and what is not a path at all.
    {"/files/a\"b", false, "must be percent-encoded"},
    {"/files/<script>", false, "must be percent-encoded"},
    {"/files/a#frag", false, "must be percent-encoded"},
    {"/files/a|b", false, "must be percent-encoded"},
    {"*", false, "start with '/'"},
    {"", false, "start with '/'"},
    {"files/a", false, "start with '/'"},
    {"http://example.org/files", false, "start with '/'"},
};

TEST(CheckPath, PathTableOfFinding4) {
  ASSERT_GE(std::size(kPaths), 30u);
  for (const PathCase& c : kPaths) {
    Status s = CheckPath(c.target);
    EXPECT_EQ(bool(s), c.accepted) << QuoteInput(c.target);
    if (!s) {
      EXPECT_EQ(s.error().code(), Code::kMalformed) << QuoteInput(c.target);
      EXPECT_NE(s.error().message().find(c.why), std::string::npos)
          << QuoteInput(c.target) << ": " << s.error().message();
      // The message quotes the input safely: no raw control bytes.
      for (char ch : s.error().message()) {
        EXPECT_FALSE(static_cast<unsigned char>(ch) < 0x20)
            << QuoteInput(c.target);
      }
    }
  }
}

TEST(CheckPath, LongPathsAreTooLarge) {
  std::string path = "/" + std::string(kMaxTargetBytes, 'a');
  Status s = CheckPath(path);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Code::kTooLarge);
  EXPECT_TRUE(CheckPath("/" + std::string(kMaxTargetBytes - 1, 'a')));
}

TEST(CheckOriginTarget, QueriesAreCheckedButNotNormalised) {
  EXPECT_TRUE(CheckOriginTarget("/files/a?x=1&y=%2e%2e/../;z"));
  EXPECT_TRUE(CheckOriginTarget("/files/a?"));
  EXPECT_TRUE(CheckOriginTarget("/files/a?q=a?b/c"));
  // The path before '?' follows the path rules.
  Status dots = CheckOriginTarget("/files/..?x=1");
  ASSERT_FALSE(dots);
  EXPECT_NE(dots.error().message().find("dot segment"), std::string::npos);
  for (const char* bad :
       {"/a?x=%zz", "/a?x=%", "/a?x=a b", "/a?x=#y", "/a?x=\"", "/a?x=\\"}) {
    Status s = CheckOriginTarget(bad);
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().code(), Code::kMalformed) << bad;
    EXPECT_NE(s.error().message().find("query"), std::string::npos)
        << bad << ": " << s.error().message();
  }
  EXPECT_EQ(CheckOriginTarget("/a?" + std::string(kMaxTargetBytes, 'q'))
                .error()
                .code(),
            Code::kTooLarge);
}

}  // namespace
}  // namespace aztp::http

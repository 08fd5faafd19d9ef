#include "aztp/encoding/base64.h"

#include <gtest/gtest.h>

namespace aztp {
namespace {

TEST(Base64Url, RoundTripsEveryLength) {
  Bytes data;
  for (int n = 0; n < 70; ++n) {
    auto text = Base64UrlEncode(data);
    EXPECT_EQ(text.find('='), std::string::npos);
    auto back = Base64UrlDecode(text);
    ASSERT_TRUE(back.has_value()) << back.error().message();
    EXPECT_EQ(*back, data);
    data.push_back(static_cast<uint8_t>(n * 37 + 11));
  }
}

TEST(Base64Url, MatchesRfc4648Vectors) {
  EXPECT_EQ(Base64UrlEncode(std::string_view("")), "");
  EXPECT_EQ(Base64UrlEncode(std::string_view("f")), "Zg");
  EXPECT_EQ(Base64UrlEncode(std::string_view("fo")), "Zm8");
  EXPECT_EQ(Base64UrlEncode(std::string_view("foo")), "Zm9v");
  EXPECT_EQ(Base64UrlEncode(std::string_view("foobar")), "Zm9vYmFy");
  const uint8_t hi[] = {0xfb, 0xff};
  EXPECT_EQ(Base64UrlEncode(hi), "-_8");
  EXPECT_EQ(Base64Encode(hi), "+/8=");
}

TEST(Base64Url, RejectsPaddingAndForeignAlphabet) {
  EXPECT_FALSE(Base64UrlDecode("Zg==").has_value());
  EXPECT_FALSE(Base64UrlDecode("+/8").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zm9v Zg").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zm9v\n").has_value());
  EXPECT_EQ(Base64UrlDecode("Z").error().code(), Code::kMalformed);
}

TEST(Base64Url, RejectsNonCanonicalTrailingBits) {
  EXPECT_TRUE(Base64UrlDecode("Zg").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zh").has_value());
  EXPECT_TRUE(Base64UrlDecode("Zm8").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zm9").has_value());
}

TEST(Base64, RequiresCanonicalPadding) {
  EXPECT_EQ(AsChars(*Base64Decode("Zm8=")), "fo");
  EXPECT_EQ(AsChars(*Base64Decode("Zg==")), "f");
  EXPECT_FALSE(Base64Decode("Zg").has_value());
  EXPECT_FALSE(Base64Decode("Zg=").has_value());
  EXPECT_FALSE(Base64Decode("Z===").has_value());
  EXPECT_FALSE(Base64Decode("Zg=a").has_value());
  EXPECT_FALSE(Base64Decode("-_8=").has_value());
  EXPECT_FALSE(Base64Decode("Zh==").has_value());
}

}  // namespace
}  // namespace aztp

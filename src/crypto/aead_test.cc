#include "aztp/crypto/aead.h"

#include <gtest/gtest.h>

#include <string>

namespace aztp {
namespace {

SecretBytes Key(char fill) { return SecretBytes(std::string(32, fill)); }

TEST(SealTest, RoundTripsAnySecret) {
  for (const std::string& text :
       {std::string(), std::string("k"), std::string("\0\xff\0", 3),
        std::string(70000, 'x')}) {
    auto sealed = Seal(Key('a'), SecretBytes(text), "ca-key-1");
    ASSERT_TRUE(sealed.has_value()) << sealed.error().message();
    EXPECT_EQ(sealed->size(), text.size() + 29);
    auto back = Unseal(Key('a'), *sealed, "ca-key-1");
    ASSERT_TRUE(back.has_value()) << back.error().message();
    EXPECT_TRUE(*back == SecretBytes(text));
  }
}

TEST(SealTest, EachSealUsesAFreshNonce) {
  auto a = Seal(Key('a'), SecretBytes(std::string("same")), "c");
  auto b = Seal(Key('a'), SecretBytes(std::string("same")), "c");
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_NE(*a, *b);
}

TEST(SealTest, AnyChangeIsRefused) {
  const std::string text = "-----BEGIN PRIVATE KEY-----";
  auto sealed = Seal(Key('a'), SecretBytes(text), "ca-key-1");
  ASSERT_TRUE(sealed.has_value());
  // Every bit of the sealed value is covered: version, nonce, body, tag.
  for (std::size_t i = 0; i < sealed->size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes changed = *sealed;
      changed[i] ^= static_cast<uint8_t>(1 << bit);
      auto back = Unseal(Key('a'), changed, "ca-key-1");
      ASSERT_FALSE(back.has_value()) << "byte " << i << " bit " << bit;
      EXPECT_EQ(back.error().code(),
                i == 0 ? Code::kMalformed : Code::kBadSignature);
    }
  }
  // Another row's context, another key, a cut value.
  EXPECT_EQ(Unseal(Key('a'), *sealed, "ca-key-2").error().code(),
            Code::kBadSignature);
  EXPECT_EQ(Unseal(Key('b'), *sealed, "ca-key-1").error().code(),
            Code::kBadSignature);
  Bytes cut(sealed->begin(), sealed->end() - 1);
  EXPECT_EQ(Unseal(Key('a'), cut, "ca-key-1").error().code(),
            Code::kBadSignature);
  Bytes tiny(sealed->begin(), sealed->begin() + 28);
  EXPECT_EQ(Unseal(Key('a'), tiny, "ca-key-1").error().code(),
            Code::kMalformed);
}

TEST(SealTest, RefusesKeysOfOtherSizes) {
  for (std::size_t n : {0, 16, 31, 33, 64}) {
    SecretBytes key(std::string(n, 'k'));
    auto sealed = Seal(key, SecretBytes(std::string("x")), "c");
    ASSERT_FALSE(sealed.has_value());
    EXPECT_EQ(sealed.error().code(), Code::kInvalidArgument);
    EXPECT_EQ(Unseal(key, Bytes(40, 1), "c").error().code(),
              Code::kInvalidArgument);
  }
}

TEST(SealTest, SealedTextDoesNotHoldThePlaintext) {
  const std::string text = "-----BEGIN PRIVATE KEY-----MIIEvQIBADANBgkqhkiG";
  auto sealed = Seal(Key('a'), SecretBytes(text), "c");
  ASSERT_TRUE(sealed.has_value());
  const std::string raw(sealed->begin(), sealed->end());
  EXPECT_EQ(raw.find("PRIVATE"), std::string::npos);
}

}  // namespace
}  // namespace aztp

// OidcKeyCache: a provider's keys kept for their maximum age, fetched again
// once for an unknown kid (key rotation), never more often than the rate
// limit allows, and kept when a fetch fails.
#include "aztp/oidc/key_cache.h"

#include <gtest/gtest.h>

#include "aztp/jose/jws.h"

namespace aztp {
namespace {

constexpr UnixTime kNow = 1'800'000'000;
constexpr char kIssuer[] = "https://login.example.com";

class OidcKeyCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rules_.issuer = kIssuer;
    rules_.client_id = "aztpd";
    Publish({{&old_key_, "old"}});
  }

  // Publish makes the provider serve the public keys given, by kid.
  void Publish(std::vector<std::pair<const PrivateKey*, std::string>> keys) {
    Json set{{"keys", Json::array()}};
    for (const auto& [key, kid] : keys) {
      Json jwk = Jwk::FromPublicKey(key->public_key()).ToJson();
      jwk["kid"] = kid;
      set["keys"].push_back(jwk);
    }
    served_ = DumpJson(set);
  }
  std::string Token(const PrivateKey& key, const std::string& kid) {
    Json claims{{"iss", kIssuer},
                {"sub", "alice"},
                {"aud", "aztpd"},
                {"iat", clock_.Now() - 1},
                {"exp", clock_.Now() + 300}};
    return SignCompact(Json{{"alg", "ES256"}, {"kid", kid}},
                       AsBytes(DumpJson(claims)), key)
        .value();
  }
  OidcKeyCache Cache() {
    return OidcKeyCache(
        [this]() -> Result<std::string> {
          if (down_) return Error(Code::kIo, "connection refused");
          return served_;
        },
        OidcKeyCacheOptions{}, &clock_);
  }

  FixedClock clock_{kNow};
  IdTokenRules rules_;
  PrivateKey old_key_ = PrivateKey::Generate(KeyType::kEcP256).value();
  PrivateKey new_key_ = PrivateKey::Generate(KeyType::kEcP256).value();
  std::string served_;
  bool down_ = false;
};

TEST_F(OidcKeyCacheTest, FetchesOnceAndAgainAfterTheMaximumAge) {
  OidcKeyCache cache = Cache();
  ASSERT_TRUE(cache.Validate(Token(old_key_, "old"), rules_, "").has_value());
  ASSERT_TRUE(cache.Validate(Token(old_key_, "old"), rules_, "").has_value());
  EXPECT_EQ(cache.fetches(), 1);
  clock_.Advance(3600);
  ASSERT_TRUE(cache.Keys().has_value());
  EXPECT_EQ(cache.fetches(), 2);
}

TEST_F(OidcKeyCacheTest, AnUnknownKidFetchesTheRotatedSetOnce) {
  OidcKeyCache cache = Cache();
  ASSERT_TRUE(cache.Validate(Token(old_key_, "old"), rules_, "").has_value());
  clock_.Advance(61);
  Publish({{&old_key_, "old"}, {&new_key_, "new"}});
  auto v = cache.Validate(Token(new_key_, "new"), rules_, "");
  ASSERT_TRUE(v.has_value()) << v.error().message();
  EXPECT_EQ(v->kid(), "new");
  EXPECT_EQ(cache.fetches(), 2);
}

TEST_F(OidcKeyCacheTest, MadeUpKidsCannotMakeItFetchMoreThanTheLimit) {
  OidcKeyCache cache = Cache();
  ASSERT_TRUE(cache.Keys().has_value());
  PrivateKey attacker = PrivateKey::Generate(KeyType::kEcP256).value();
  for (int i = 0; i < 50; ++i) {
    auto v =
        cache.Validate(Token(attacker, "kid-" + std::to_string(i)), rules_, "");
    ASSERT_FALSE(v.has_value());
    EXPECT_EQ(v.error().code(), Code::kNotFound);
  }
  EXPECT_EQ(cache.fetches(), 1);  // the first fetch was under a minute ago
  clock_.Advance(60);
  EXPECT_FALSE(cache.Validate(Token(attacker, "x"), rules_, "").has_value());
  EXPECT_EQ(cache.fetches(), 2);  // one early fetch per minute
}

TEST_F(OidcKeyCacheTest, AFailedFetchKeepsTheLastGoodSet) {
  OidcKeyCache cache = Cache();
  ASSERT_TRUE(cache.Keys().has_value());
  down_ = true;
  clock_.Advance(3600);
  auto v = cache.Validate(Token(old_key_, "old"), rules_, "");
  EXPECT_TRUE(v.has_value());
  EXPECT_EQ(cache.fetches(), 2);
  // A set that does not parse is a failed fetch too.
  down_ = false;
  served_ = R"({"keys":[{"kty":"oct","k":"c2VjcmV0"}]})";
  clock_.Advance(3600);
  EXPECT_TRUE(cache.Validate(Token(old_key_, "old"), rules_, "").has_value());
  EXPECT_EQ(cache.fetches(), 3);
}

TEST_F(OidcKeyCacheTest, WithoutAnySetItIsUnavailableAndRetriesSlowly) {
  down_ = true;
  OidcKeyCache cache = Cache();
  auto first = cache.Keys();
  ASSERT_FALSE(first.has_value());
  EXPECT_EQ(first.error().code(), Code::kIo);
  auto again = cache.Keys();
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), Code::kUnavailable);
  EXPECT_EQ(cache.fetches(), 1);
  down_ = false;
  clock_.Advance(60);
  EXPECT_TRUE(cache.Keys().has_value());
}

TEST_F(OidcKeyCacheTest, OversizedOrEmptySetsAreRefused) {
  served_ = std::string(300 << 10, ' ');
  OidcKeyCache big = Cache();
  auto r = big.Keys();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kTooLarge);
  served_ = R"({"keys":[]})";
  OidcKeyCache empty = Cache();
  r = empty.Keys();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kMalformed);
}

}  // namespace
}  // namespace aztp

#include "aztp/crypto/key.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "aztp/base/bytes.h"
#include "testing/key_types.h"

namespace aztp {
namespace {

class KeyTypes : public testing::TestWithParam<KeyType> {};

TEST_P(KeyTypes, SignsAndVerifiesWithItsAlgorithm) {
  auto key = PrivateKey::Generate(GetParam());
  ASSERT_TRUE(key.has_value()) << key.error().message();
  auto msg = AsBytes("header.payload");
  auto sig = key->Sign(msg);
  ASSERT_TRUE(sig.has_value());
  EXPECT_TRUE(
      key->public_key().Verify(key->algorithm(), msg, *sig).has_value());
  Bytes tampered = *sig;
  tampered[tampered.size() / 2] ^= 1;
  EXPECT_EQ(
      key->public_key().Verify(key->algorithm(), msg, tampered).error().code(),
      Code::kBadSignature);
  EXPECT_EQ(key->public_key()
                .Verify(key->algorithm(), AsBytes("header.payloaD"), *sig)
                .error()
                .code(),
            Code::kBadSignature);
}

TEST_P(KeyTypes, RejectsAlgorithmsOfOtherKeyTypes) {
  auto key = *PrivateKey::Generate(GetParam());
  auto sig = *key.Sign(AsBytes("m"));
  for (auto alg : {SignatureAlgorithm::kES256, SignatureAlgorithm::kES384,
                   SignatureAlgorithm::kEdDSA, SignatureAlgorithm::kRS256,
                   SignatureAlgorithm::kPS256}) {
    if (alg == key.algorithm()) continue;
    auto st = key.public_key().Verify(alg, AsBytes("m"), sig);
    ASSERT_FALSE(st.has_value());
    EXPECT_EQ(st.error().code(), Code::kAlgNotAllowed);
  }
}

TEST_P(KeyTypes, Pkcs8PemRoundTrips) {
  auto key = *PrivateKey::Generate(GetParam());
  auto pem = key.ToPkcs8Pem();
  ASSERT_TRUE(pem.has_value());
  EXPECT_NE(pem->View(InsecureSecretAccess::Get()).find("BEGIN PRIVATE KEY"),
            std::string_view::npos);
  auto back = PrivateKey::FromPkcs8Pem(*pem);
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(back->public_key(), key.public_key());
  auto sig = *back->Sign(AsBytes("m"));
  EXPECT_TRUE(key.public_key().Verify(key.algorithm(), AsBytes("m"), sig));
}

TEST_P(KeyTypes, PublicKeyRoundTripsThroughSpkiAndComponents) {
  auto key = *PrivateKey::Generate(GetParam());
  const PublicKey& pub = key.public_key();
  EXPECT_EQ(*PublicKey::FromSpkiDer(pub.SpkiDer()), pub);
  EXPECT_EQ(*PublicKey::FromPem(pub.ToPem()), pub);
  if (GetParam() == KeyType::kEd25519) {
    EXPECT_EQ(*PublicKey::FromEd25519(*pub.Ed25519Raw()), pub);
  } else {
    auto [x, y] = *pub.EcCoordinates();
    EXPECT_EQ(*PublicKey::FromEcCoordinates(GetParam(), x, y), pub);
  }
}

INSTANTIATE_TEST_SUITE_P(All, KeyTypes, test_support::SigningKeyTypes(),
                         test_support::KeyTypeTestName);

TEST(Key, RejectsPointsOffTheCurve) {
  auto key = *PrivateKey::Generate(KeyType::kEcP256);
  auto [x, y] = *key.public_key().EcCoordinates();
  y[31] ^= 1;
  auto r = PublicKey::FromEcCoordinates(KeyType::kEcP256, x, y);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kMalformed);
}

TEST(Key, RejectsUnknownAlgorithmNames) {
  for (const char* name : {"none", "HS256", "ES512", "RS384", "es256", ""}) {
    auto r = ParseAlgorithm(name);
    ASSERT_FALSE(r.has_value()) << name;
    EXPECT_EQ(r.error().code(), Code::kAlgNotAllowed);
  }
}

TEST(Key, RejectsNonPkcs8AndGarbagePem) {
  EXPECT_FALSE(
      PrivateKey::FromPkcs8Pem(
          SecretBytes(std::string_view("-----BEGIN EC PRIVATE KEY-----\n")))
          .has_value());
  EXPECT_FALSE(
      PrivateKey::FromPkcs8Pem(
          SecretBytes(std::string_view("-----BEGIN PRIVATE KEY-----\n"
                                       "AAAA\n-----END PRIVATE KEY-----\n")))
          .has_value());
}

}  // namespace
}  // namespace aztp

namespace aztp {
namespace {

// RsaModulus returns a 2048-bit odd modulus (not a real key: enough for the
// structural checks).
Bytes RsaModulus() {
  Bytes n(256, 0xA5);
  n[0] = 0xC3;
  n[255] |= 1;
  return n;
}

TEST(Key, RefusesRsaExponentsBelowThreeOrEven) {
  Bytes n = RsaModulus();
  for (Bytes e : {Bytes{1}, Bytes{2}, Bytes{1, 0, 0}}) {
    auto r = PublicKey::FromRsa(n, e);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), Code::kMalformed);
  }
  EXPECT_TRUE(PublicKey::FromRsa(n, Bytes{1, 0, 1}).has_value());
}

TEST(Key, RefusesEvenAndShortRsaModuli) {
  Bytes even = RsaModulus();
  even[255] &= 0xFE;
  EXPECT_FALSE(PublicKey::FromRsa(even, Bytes{1, 0, 1}).has_value());
  Bytes short_n(128, 0xA5);
  short_n[127] |= 1;
  auto r = PublicKey::FromRsa(short_n, Bytes{1, 0, 1});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kUnsupported);
}

}  // namespace
}  // namespace aztp

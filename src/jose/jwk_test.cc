#include "aztp/jose/jwk.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "aztp/base/bytes.h"
#include "aztp/encoding/base64.h"
#include "testing/key_types.h"

namespace aztp {
namespace {

// RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint.
constexpr char kRfc7638N[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPF"
    "FxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93l"
    "qt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHz"
    "u6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPks"
    "INHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
constexpr char kRfc7638Thumbprint[] =
    "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

// RFC 8037 §A.2-A.3: the example Ed25519 public key and its thumbprint.
constexpr char kRfc8037X[] = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
constexpr char kRfc8037Thumbprint[] =
    "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

Json J(std::string_view text) { return *ParseJson(text); }

Json RsaJwk() {
  Json j = Json::object();
  j["kty"] = "RSA";
  j["n"] = kRfc7638N;
  j["e"] = "AQAB";
  return j;
}

Json EcJwk(KeyType type = KeyType::kEcP256) {
  return Jwk::FromPublicKey(PrivateKey::Generate(type)->public_key()).ToJson();
}

Code ParseCode(const Json& j) {
  auto r = Jwk::Parse(j);
  EXPECT_FALSE(r.has_value()) << DumpJson(j);
  return r.has_value() ? Code::kInternal : r.error().code();
}

std::vector<std::string> Members(const Json& j) {
  std::vector<std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it) out.push_back(it.key());
  return out;
}

// SelfSigned returns a DER certificate holding `key`'s public key.
Bytes SelfSigned(const PrivateKey& key) {
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("test"), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.evp());
  const EVP_MD* md = key.type() == KeyType::kEd25519 ? nullptr : EVP_sha256();
  EXPECT_GT(X509_sign(cert.get(), key.evp(), md), 0);
  unsigned char* der = nullptr;
  int n = i2d_X509(cert.get(), &der);
  Bytes out(der, der + n);
  OPENSSL_free(der);
  return out;
}

TEST(Jwk, Rfc7638ThumbprintExample) {
  Json j = RsaJwk();
  j["alg"] = "RS256";
  j["kid"] = "2011-04-29";
  auto jwk = Jwk::Parse(j);
  ASSERT_TRUE(jwk.has_value()) << jwk.error().message();
  EXPECT_EQ(jwk->Thumbprint(), kRfc7638Thumbprint);
  EXPECT_EQ(jwk->public_key().type(), KeyType::kRsa);
  EXPECT_EQ(jwk->public_key().bits(), 2048);
  EXPECT_EQ(*jwk->kid(), "2011-04-29");
  EXPECT_EQ(*jwk->alg(), SignatureAlgorithm::kRS256);
  // Optional members are not part of the thumbprint (RFC 7638 §3.2).
  EXPECT_EQ(Jwk::FromPublicKey(jwk->public_key()).Thumbprint(),
            kRfc7638Thumbprint);
  EXPECT_EQ(Members(jwk->ToJson()),
            (std::vector<std::string>{"e", "kty", "n", "kid", "alg"}));
  EXPECT_EQ(jwk->ToJson()["n"], kRfc7638N);
}

TEST(Jwk, Rfc8037Ed25519ThumbprintExample) {
  auto jwk = Jwk::FromJson(R"({"kty":"OKP","crv":"Ed25519","x":")" +
                           std::string(kRfc8037X) + R"("})");
  ASSERT_TRUE(jwk.has_value()) << jwk.error().message();
  EXPECT_EQ(jwk->public_key().type(), KeyType::kEd25519);
  EXPECT_EQ(jwk->Thumbprint(), kRfc8037Thumbprint);
}

class JwkKeyTypes : public testing::TestWithParam<KeyType> {};

TEST_P(JwkKeyTypes, RoundTripsThroughJson) {
  auto key = *PrivateKey::Generate(GetParam());
  Jwk jwk = Jwk::FromPublicKey(key.public_key())
                .WithKid("k1")
                .WithUse("sig")
                .WithX5c({SelfSigned(key)});
  jwk = *jwk.WithAlg(key.algorithm());
  jwk = *jwk.WithKeyOps({"verify"});
  std::string text = DumpJson(jwk.ToJson());
  auto back = Jwk::FromJson(text);
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(back->public_key(), key.public_key());
  EXPECT_EQ(back->Thumbprint(), jwk.Thumbprint());
  EXPECT_EQ(*back->kid(), "k1");
  EXPECT_EQ(*back->use(), "sig");
  EXPECT_EQ(*back->alg(), key.algorithm());
  EXPECT_EQ(*back->key_ops(), std::vector<std::string>{"verify"});
  EXPECT_EQ(back->x5c(), jwk.x5c());
  EXPECT_EQ(DumpJson(back->ToJson()), text);
  EXPECT_TRUE(back->CheckVerificationUse(key.algorithm()).has_value());

  std::vector<std::string> required =
      GetParam() == KeyType::kEd25519
          ? std::vector<std::string>{"crv", "kty", "x"}
          : std::vector<std::string>{"crv", "kty", "x", "y"};
  std::vector<std::string> members = Members(back->ToJson());
  members.resize(required.size());
  EXPECT_EQ(members, required);
  // The thumbprint is the base64url of a SHA-256 digest.
  EXPECT_EQ(jwk.Thumbprint().size(), 43u);
}

TEST_P(JwkKeyTypes, RejectsWrongCoordinateLengths) {
  Json good = EcJwk(GetParam());
  for (const char* member : {"x", "y"}) {
    if (!good.contains(member)) continue;
    Bytes bytes = *Base64UrlDecode(good[member].get<std::string>());
    Bytes shorter(bytes.begin() + 1, bytes.end());
    Bytes longer = bytes;
    longer.insert(longer.begin(), 0);
    for (const Bytes& b : {shorter, longer}) {
      Json j = good;
      j[member] = Base64UrlEncode(b);
      EXPECT_EQ(ParseCode(j), Code::kMalformed) << member;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, JwkKeyTypes, test_support::SigningKeyTypes(),
                         test_support::KeyTypeTestName);

TEST(Jwk, RejectsPrivateMembers) {
  for (const char* member : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
    Json ec = EcJwk();
    ec[member] = "AQAB";
    EXPECT_EQ(ParseCode(ec), Code::kMalformed) << member;
    Json rsa = RsaJwk();
    rsa[member] = "AQAB";
    EXPECT_EQ(ParseCode(rsa), Code::kMalformed) << member;
  }
  // Even for a key type that is otherwise unknown.
  EXPECT_EQ(ParseCode(J(R"({"kty":"oct","k":"AAAA"})")), Code::kMalformed);
}

TEST(Jwk, RejectsBadEcKeys) {
  Json good = EcJwk();
  Json j = good;
  j.erase("y");
  EXPECT_EQ(ParseCode(j), Code::kMalformed);
  j = good;
  j["x"] = 7;
  EXPECT_EQ(ParseCode(j), Code::kMalformed);
  j = good;
  j["x"] = good["x"].get<std::string>() + "=";  // padding
  EXPECT_EQ(ParseCode(j), Code::kMalformed);
  j = good;
  std::string x = good["x"].get<std::string>();
  std::replace(x.begin(), x.end(), '_', '/');
  std::replace(x.begin(), x.end(), '-', '+');
  if (x != good["x"].get<std::string>()) {
    j["x"] = x;  // the standard alphabet
    EXPECT_EQ(ParseCode(j), Code::kMalformed);
  }
  j = good;
  Bytes y = *Base64UrlDecode(good["y"].get<std::string>());
  y[31] ^= 1;  // off the curve
  j["y"] = Base64UrlEncode(y);
  EXPECT_EQ(ParseCode(j), Code::kMalformed);
  j = good;
  j["crv"] = "P-384";  // 32-byte coordinates on the wrong curve
  EXPECT_EQ(ParseCode(j), Code::kMalformed);
  j = good;
  j["kty"] = "RSA";
  EXPECT_EQ(ParseCode(j), Code::kMalformed);
  j = good;
  j.erase("kty");
  EXPECT_EQ(ParseCode(j), Code::kMalformed);
  EXPECT_EQ(ParseCode(Json::array()), Code::kMalformed);
}

TEST(Jwk, UnknownTypesAndCurvesAreUnsupported) {
  Json j = EcJwk();
  j["crv"] = "P-521";
  EXPECT_EQ(ParseCode(j), Code::kUnsupported);
  j["crv"] = "secp256k1";
  EXPECT_EQ(ParseCode(j), Code::kUnsupported);
  EXPECT_EQ(ParseCode(J(R"({"kty":"OKP","crv":"X25519","x":"AAAA"})")),
            Code::kUnsupported);
  EXPECT_EQ(ParseCode(J(R"({"kty":"oct"})")), Code::kUnsupported);
  EXPECT_EQ(ParseCode(J(R"({"kty":"ec"})")), Code::kUnsupported);
}

TEST(Jwk, RejectsBadRsaKeys) {
  Json j = RsaJwk();
  j["e"] = "AQ";  // e = 1
  EXPECT_EQ(ParseCode(j), Code::kMalformed);
  j["e"] = "Ag";  // e = 2, even
  EXPECT_EQ(ParseCode(j), Code::kMalformed);
  j["e"] = "AAEAAQ";  // leading zero octet
  EXPECT_EQ(ParseCode(j), Code::kMalformed);
  j = RsaJwk();
  Bytes n = *Base64UrlDecode(kRfc7638N);
  Bytes padded = n;
  padded.insert(padded.begin(), 0);
  j["n"] = Base64UrlEncode(padded);  // leading zero octet
  EXPECT_EQ(ParseCode(j), Code::kMalformed);
  Bytes small(n.begin(), n.begin() + 128);  // 1024 bits
  small.back() |= 1;
  j["n"] = Base64UrlEncode(small);
  EXPECT_EQ(ParseCode(j), Code::kUnsupported);
  j = RsaJwk();
  j.erase("e");
  EXPECT_EQ(ParseCode(j), Code::kMalformed);
}

TEST(Jwk, RejectsRsaModuliWithTheRocaStructure) {
  // 65537^128 (2049 bits, odd) is in the subgroup of 65537 modulo every
  // prime: it carries the fingerprint without being a real key.
  std::unique_ptr<BIGNUM, decltype(&BN_free)> n(BN_new(), BN_free),
      g(BN_new(), BN_free), k(BN_new(), BN_free);
  std::unique_ptr<BN_CTX, decltype(&BN_CTX_free)> ctx(BN_CTX_new(),
                                                      BN_CTX_free);
  BN_set_word(g.get(), 65537);
  BN_set_word(k.get(), 128);
  ASSERT_EQ(BN_exp(n.get(), g.get(), k.get(), ctx.get()), 1);
  Bytes bytes(static_cast<size_t>(BN_num_bytes(n.get())));
  BN_bn2bin(n.get(), bytes.data());
  Json j = RsaJwk();
  j["n"] = Base64UrlEncode(bytes);
  EXPECT_EQ(ParseCode(j), Code::kUnsupported);
  bytes.back() += 2;  // no longer in the subgroup modulo some prime
  j["n"] = Base64UrlEncode(bytes);
  EXPECT_TRUE(Jwk::Parse(j).has_value());
}

TEST(Jwk, AlgMustFitTheKey) {
  Json j = EcJwk();
  j["alg"] = "ES384";
  EXPECT_EQ(ParseCode(j), Code::kAlgNotAllowed);
  for (const char* alg : {"none", "HS256", "ES512", "es256", "RSA1_5"}) {
    j["alg"] = alg;
    EXPECT_EQ(ParseCode(j), Code::kAlgNotAllowed) << alg;
  }
  j["alg"] = 1;
  EXPECT_EQ(ParseCode(j), Code::kMalformed);
  j = RsaJwk();
  j["alg"] = "PS256";
  auto rsa = Jwk::Parse(j);
  ASSERT_TRUE(rsa.has_value());
  EXPECT_TRUE(rsa->CheckVerificationUse(SignatureAlgorithm::kPS256));
  EXPECT_EQ(
      rsa->CheckVerificationUse(SignatureAlgorithm::kRS256).error().code(),
      Code::kAlgNotAllowed);
  EXPECT_EQ(
      rsa->CheckVerificationUse(SignatureAlgorithm::kES256).error().code(),
      Code::kAlgNotAllowed);
  auto ed =
      Jwk::FromPublicKey(PrivateKey::Generate(KeyType::kEd25519)->public_key());
  EXPECT_EQ(ed.WithAlg(SignatureAlgorithm::kES256).error().code(),
            Code::kAlgNotAllowed);
}

TEST(Jwk, UseAndKeyOpsRestrictVerification) {
  Json j = EcJwk();
  j["use"] = "enc";
  auto enc = Jwk::Parse(j);
  ASSERT_TRUE(enc.has_value());  // a valid JWK, but not for signatures
  EXPECT_EQ(
      enc->CheckVerificationUse(SignatureAlgorithm::kES256).error().code(),
      Code::kAlgNotAllowed);
  j = EcJwk();
  j["key_ops"] = Json::array({"encrypt"});
  auto ops = Jwk::Parse(j);
  ASSERT_TRUE(ops.has_value());
  EXPECT_EQ(
      ops->CheckVerificationUse(SignatureAlgorithm::kES256).error().code(),
      Code::kAlgNotAllowed);
  j["key_ops"] = Json::array({"verify", "verify"});
  EXPECT_EQ(ParseCode(j), Code::kMalformed);
  j["key_ops"] = "verify";
  EXPECT_EQ(ParseCode(j), Code::kMalformed);
  j["key_ops"] = Json::array({"sign", "verify"});
  EXPECT_TRUE(Jwk::Parse(j)->CheckVerificationUse(SignatureAlgorithm::kES256));
  EXPECT_FALSE(Jwk::FromPublicKey(Jwk::Parse(j)->public_key())
                   .WithKeyOps({"verify", "verify"})
                   .has_value());
  j = EcJwk();
  j["kid"] = Json::array();
  EXPECT_EQ(ParseCode(j), Code::kMalformed);
  j = EcJwk();
  j["use"] = nullptr;
  EXPECT_EQ(ParseCode(j), Code::kMalformed);
}

TEST(Jwk, X5cLeafMustHoldTheKey) {
  auto key = *PrivateKey::Generate(KeyType::kEcP256);
  auto other = *PrivateKey::Generate(KeyType::kEcP256);
  Bytes cert = SelfSigned(key);
  Json j = Jwk::FromPublicKey(key.public_key()).ToJson();
  j["x5c"] = Json::array({Base64Encode(cert), Base64Encode(SelfSigned(other))});
  auto jwk = Jwk::Parse(j);
  ASSERT_TRUE(jwk.has_value()) << jwk.error().message();
  ASSERT_EQ(jwk->x5c().size(), 2u);
  EXPECT_EQ(jwk->x5c()[0], cert);

  j["x5c"] = Json::array({Base64Encode(SelfSigned(other))});
  EXPECT_EQ(ParseCode(j), Code::kMalformed);
  j["x5c"] = Json::array({Base64UrlEncode(cert)});  // not standard base64
  EXPECT_EQ(ParseCode(j), Code::kMalformed);
  j["x5c"] = Json::array();
  EXPECT_EQ(ParseCode(j), Code::kMalformed);
  j["x5c"] = Base64Encode(cert);
  EXPECT_EQ(ParseCode(j), Code::kMalformed);
  Bytes trailing = cert;
  trailing.push_back(0);
  j["x5c"] = Json::array({Base64Encode(trailing)});
  EXPECT_EQ(ParseCode(j), Code::kMalformed);
}

TEST(Jwk, FromJsonIsStrict) {
  std::string good = DumpJson(EcJwk());
  EXPECT_TRUE(Jwk::FromJson(good).has_value());
  EXPECT_EQ(Jwk::FromJson(R"({"kty":"EC","kty":"EC"})").error().code(),
            Code::kMalformed);
  EXPECT_EQ(Jwk::FromJson(good + " x").error().code(), Code::kMalformed);
  JsonLimits tiny;
  tiny.max_bytes = 10;
  EXPECT_EQ(Jwk::FromJson(good, tiny).error().code(), Code::kTooLarge);
}

TEST(Jwks, ParsesSkipsUnknownTypesAndFindsByKid) {
  Json p521 = EcJwk();
  p521["crv"] = "P-521";
  Json set = Json::object();
  set["keys"] = Json::array(
      {EcJwk(), J(R"({"kty":"AKP","alg":"ML-DSA-44","pub":"AAAA"})"),
       Jwk::FromPublicKey(PrivateKey::Generate(KeyType::kEd25519)->public_key())
           .WithKid("ed")
           .ToJson(),
       p521, RsaJwk()});
  set["keys"][0]["kid"] = "ec";
  set["spiffe_sequence"] = 3;
  auto jwks = Jwks::Parse(set);
  ASSERT_TRUE(jwks.has_value()) << jwks.error().message();
  ASSERT_EQ(jwks->keys().size(), 3u);
  EXPECT_EQ(jwks->skipped(), 2u);
  ASSERT_NE(jwks->FindByKid("ed"), nullptr);
  EXPECT_EQ(jwks->FindByKid("ed")->public_key().type(), KeyType::kEd25519);
  EXPECT_EQ(jwks->FindByKid("ec")->public_key().type(), KeyType::kEcP256);
  EXPECT_EQ(jwks->FindByKid("nope"), nullptr);
  EXPECT_EQ(jwks->FindByKid(""), nullptr);

  auto again = Jwks::FromJson(DumpJson(jwks->ToJson()));
  ASSERT_TRUE(again.has_value());
  ASSERT_EQ(again->keys().size(), 3u);
  EXPECT_EQ(again->skipped(), 0u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(again->keys()[i].Thumbprint(), jwks->keys()[i].Thumbprint());
  }
}

TEST(Jwks, RejectsBadSets) {
  auto code = [](const Json& j) {
    auto r = Jwks::Parse(j);
    EXPECT_FALSE(r.has_value()) << DumpJson(j);
    return r.has_value() ? Code::kInternal : r.error().code();
  };
  EXPECT_EQ(code(Json::array()), Code::kMalformed);
  EXPECT_EQ(code(Json::object()), Code::kMalformed);
  EXPECT_EQ(code(J(R"({"keys":{}})")), Code::kMalformed);
  Json set = Json::object();
  Json a = EcJwk();
  a["kid"] = "same";
  Json b = EcJwk();
  b["kid"] = "same";
  set["keys"] = Json::array({a, b});
  EXPECT_EQ(code(set), Code::kMalformed);  // duplicate kid
  Json priv = EcJwk();
  priv["d"] = "AAAA";
  set["keys"] = Json::array({a, priv});
  EXPECT_EQ(code(set), Code::kMalformed);  // a private key in the set
  set["keys"] = Json::array({a, J(R"({"kty":"oct","k":"AAAA"})")});
  EXPECT_EQ(code(set), Code::kMalformed);  // a secret key in the set
  Json broken = EcJwk();
  broken.erase("x");
  set["keys"] = Json::array({a, broken});
  EXPECT_EQ(code(set), Code::kMalformed);  // known type, malformed entry
  set["keys"] = Json::array({a, 5});
  EXPECT_EQ(code(set), Code::kMalformed);
  Json alg = EcJwk();
  alg["alg"] = "HS256";
  set["keys"] = Json::array({a, alg});
  EXPECT_EQ(code(set), Code::kAlgNotAllowed);
  set["keys"] = Json::array();
  auto empty = Jwks::Parse(set);
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->keys().empty());
}

TEST(Jwks, AddRefusesDuplicateKids) {
  Jwks set;
  auto pub = PrivateKey::Generate(KeyType::kEcP256)->public_key();
  EXPECT_TRUE(set.Add(Jwk::FromPublicKey(pub).WithKid("a")).has_value());
  EXPECT_TRUE(set.Add(Jwk::FromPublicKey(pub)).has_value());
  EXPECT_TRUE(set.Add(Jwk::FromPublicKey(pub)).has_value());
  EXPECT_EQ(set.Add(Jwk::FromPublicKey(pub).WithKid("a")).error().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(set.keys().size(), 3u);
  EXPECT_EQ(DumpJson(set.ToJson()).find("\"keys\":["), 1u);
}

}  // namespace
}  // namespace aztp

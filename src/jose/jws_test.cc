#include "aztp/jose/jws.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "aztp/base/bytes.h"
#include "aztp/encoding/base64.h"
#include "aztp/jose/jwk.h"
#include "testing/key_types.h"

namespace aztp {
namespace {

constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// RFC 8037 §A.1-A.4: the Ed25519 example key and JWS.
constexpr char kRfc8037D[] = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
constexpr char kRfc8037X[] = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
constexpr char kRfc8037Jws[] =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sV"
    "vpAr_MuM0KAg";

// RFC 7515 §A.3: the ES256 example key and JWS.
constexpr char kRfc7515EcX[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
constexpr char kRfc7515EcY[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
constexpr char kRfc7515Jws[] =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvb"
    "S9pc19yb290Ijp0cnVlfQ."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJ"
    "qPP3-Kg6NU1Q";

Json J(std::string_view text) { return *ParseJson(text); }

Json Header(const PrivateKey& key) {
  Json h = Json::object();
  h["alg"] = std::string(AlgorithmName(key.algorithm()));
  h["typ"] = "JWT";
  return h;
}

// Assemble builds a compact JWS from a raw header text, signed by `key`
// whatever the header says.
std::string Assemble(std::string_view header, std::string_view payload,
                     const PrivateKey& key) {
  std::string input = Base64UrlEncode(header) + "." + Base64UrlEncode(payload);
  return input + "." + Base64UrlEncode(*key.Sign(AsBytes(input)));
}

Code ParseError(std::string_view compact, const JwsLimits& limits = {}) {
  auto r = ParseCompact(compact, limits);
  EXPECT_FALSE(r.has_value());
  return r.has_value() ? Code::kInternal : r.error().code();
}

// Accepts is true when `compact` parses and verifies with `key`.
bool Accepts(std::string_view compact, const PublicKey& key) {
  auto jws = ParseCompact(compact);
  return jws.has_value() && VerifySignature(*jws, key).has_value();
}

class JwsKeyTypes : public testing::TestWithParam<KeyType> {};

TEST_P(JwsKeyTypes, SignsParsesAndVerifies) {
  auto key = *PrivateKey::Generate(GetParam());
  std::string payload = R"({"iss":"spiffe://example.org/a"})";
  auto compact = SignCompact(Header(key), AsBytes(payload), key);
  ASSERT_TRUE(compact.has_value()) << compact.error().message();
  auto jws = ParseCompact(*compact);
  ASSERT_TRUE(jws.has_value()) << jws.error().message();
  EXPECT_EQ(jws->algorithm(), key.algorithm());
  EXPECT_EQ(jws->header(), Header(key));
  EXPECT_EQ(AsChars(jws->payload()), payload);
  EXPECT_EQ(jws->compact(), *compact);
  EXPECT_EQ(jws->signing_input(), compact->substr(0, compact->rfind('.')));
  EXPECT_EQ(Base64UrlEncode(jws->signature()),
            compact->substr(compact->rfind('.') + 1));
  EXPECT_TRUE(VerifySignature(*jws, key.public_key()).has_value());
  EXPECT_TRUE(
      VerifySignature(*jws, Jwk::FromPublicKey(key.public_key())).has_value());

  // Another key of the same type.
  auto other = *PrivateKey::Generate(GetParam());
  EXPECT_EQ(VerifySignature(*jws, other.public_key()).error().code(),
            Code::kBadSignature);

  // The views survive copies and the death of the original.
  std::optional<ParsedJws> copy;
  {
    ParsedJws original = *jws;
    copy = original;
  }
  EXPECT_EQ(copy->signing_input(), jws->signing_input());
  EXPECT_TRUE(VerifySignature(*copy, key.public_key()).has_value());
  ParsedJws moved = std::move(*copy);
  EXPECT_TRUE(VerifySignature(moved, key.public_key()).has_value());
}

TEST_P(JwsKeyTypes, EveryOneCharacterChangeIsRejected) {
  auto key = *PrivateKey::Generate(GetParam());
  std::string compact =
      *SignCompact(Header(key), AsBytes(R"({"sub":"x"})"), key);
  ASSERT_TRUE(Accepts(compact, key.public_key()));
  int changed = 0;
  for (size_t i = 0; i < compact.size(); ++i) {
    if (compact[i] == '.') continue;
    for (char c :
         {kAlphabet[(std::string_view(kAlphabet).find(compact[i]) + 1) % 64],
          '='}) {
      std::string tampered = compact;
      tampered[i] = c;
      EXPECT_FALSE(Accepts(tampered, key.public_key())) << "position " << i;
      ++changed;
    }
  }
  EXPECT_EQ(changed, 2 * static_cast<int>(compact.size() - 2));
}

TEST_P(JwsKeyTypes, SignsAndVerifiesAnEmptyPayload) {
  auto key = *PrivateKey::Generate(GetParam());
  auto compact = SignCompact(Header(key), {}, key);
  ASSERT_TRUE(compact.has_value());
  EXPECT_NE(compact->find(".."), std::string::npos);
  auto jws = ParseCompact(*compact);
  ASSERT_TRUE(jws.has_value());
  EXPECT_TRUE(jws->payload().empty());
  EXPECT_TRUE(VerifySignature(*jws, key.public_key()).has_value());
}

INSTANTIATE_TEST_SUITE_P(All, JwsKeyTypes, test_support::SigningKeyTypes(),
                         test_support::KeyTypeTestName);

TEST(Jws, HeaderAlgMustMatchTheVerifyingKey) {
  auto p256 = *PrivateKey::Generate(KeyType::kEcP256);
  auto p384 = *PrivateKey::Generate(KeyType::kEcP384);
  auto ed = *PrivateKey::Generate(KeyType::kEd25519);
  auto jws = *ParseCompact(*SignCompact(Header(p256), AsBytes("m"), p256));
  EXPECT_EQ(VerifySignature(jws, ed.public_key()).error().code(),
            Code::kAlgNotAllowed);
  EXPECT_EQ(VerifySignature(jws, p384.public_key()).error().code(),
            Code::kAlgNotAllowed);
  EXPECT_EQ(
      VerifySignature(jws, Jwk::FromPublicKey(ed.public_key())).error().code(),
      Code::kAlgNotAllowed);
  // An EdDSA signature relabelled as ES256 (same key) does not pass either.
  std::string forged = Assemble(R"({"alg":"ES256"})", "m", ed);
  auto parsed = ParseCompact(forged);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(VerifySignature(*parsed, ed.public_key()).error().code(),
            Code::kAlgNotAllowed);
}

TEST(Jws, JwkUseAndAlgRestrictVerification) {
  auto key = *PrivateKey::Generate(KeyType::kEcP256);
  auto jws = *ParseCompact(*SignCompact(Header(key), AsBytes("m"), key));
  Jwk jwk = Jwk::FromPublicKey(key.public_key());
  EXPECT_TRUE(VerifySignature(jws, jwk.WithUse("sig")).has_value());
  EXPECT_EQ(VerifySignature(jws, jwk.WithUse("enc")).error().code(),
            Code::kAlgNotAllowed);
  EXPECT_EQ(VerifySignature(jws, *jwk.WithKeyOps({"sign"})).error().code(),
            Code::kAlgNotAllowed);
}

TEST(Jws, SignRequiresTheKeysAlgInTheHeader) {
  auto key = *PrivateKey::Generate(KeyType::kEcP256);
  auto code = [&](const Json& header) {
    auto r = SignCompact(header, AsBytes("m"), key);
    EXPECT_FALSE(r.has_value()) << DumpJson(header);
    return r.has_value() ? Code::kInternal : r.error().code();
  };
  EXPECT_EQ(code(J(R"({"typ":"JWT"})")), Code::kInvalidArgument);
  EXPECT_EQ(code(J(R"({"alg":"ES384"})")), Code::kInvalidArgument);
  EXPECT_EQ(code(J(R"({"alg":"EdDSA"})")), Code::kInvalidArgument);
  EXPECT_EQ(code(J(R"({"alg":"none"})")), Code::kInvalidArgument);
  EXPECT_EQ(code(J(R"({"alg":["ES256"]})")), Code::kInvalidArgument);
  EXPECT_EQ(code(J(R"(["ES256"])")), Code::kInvalidArgument);
  EXPECT_EQ(code(J(R"({"alg":"ES256","crit":["exp"]})")),
            Code::kInvalidArgument);
  // The header is serialised as given: member order and extra members.
  Json h = J(R"({"typ":"aztp+jwt","alg":"ES256","x":[1,{"y":null}]})");
  auto jws = ParseCompact(*SignCompact(h, AsBytes("m"), key));
  ASSERT_TRUE(jws.has_value());
  EXPECT_EQ(DumpJson(jws->header()), DumpJson(h));
}

TEST(Jws, RejectsUnsecuredAndUnknownAlgorithms) {
  auto key = *PrivateKey::Generate(KeyType::kEcP256);
  for (const char* alg :
       {"none", "None", "NONE", "HS256", "HS384", "HS512", "RS384", "PS512",
        "ES512", "ES256K", "Ed25519", "es256", "ES256 ", ""}) {
    std::string header = std::string(R"({"alg":")") + alg + R"("})";
    EXPECT_EQ(ParseError(Assemble(header, "m", key)), Code::kAlgNotAllowed)
        << alg;
    // The unsecured form (RFC 7515 §A.5): empty signature.
    std::string unsecured =
        Base64UrlEncode(header) + "." + Base64UrlEncode("m") + ".";
    EXPECT_EQ(ParseError(unsecured), Code::kAlgNotAllowed) << alg;
  }
  // The RFC 7515 §A.5 example.
  EXPECT_EQ(ParseError("eyJhbGciOiJub25lIn0."
                       "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dH"
                       "A6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."),
            Code::kAlgNotAllowed);
}

TEST(Jws, RejectsBadHeaders) {
  auto key = *PrivateKey::Generate(KeyType::kEcP256);
  auto code = [&](std::string_view header) {
    return ParseError(Assemble(header, "m", key));
  };
  EXPECT_EQ(code(R"({"alg":"ES256","crit":["b64"],"b64":false})"),
            Code::kMalformed);
  EXPECT_EQ(code(R"({"alg":"ES256","crit":[]})"), Code::kMalformed);
  EXPECT_EQ(code(R"({"alg":"ES256","alg":"ES256"})"), Code::kMalformed);
  EXPECT_EQ(code(R"({"alg":"none","alg":"ES256"})"), Code::kMalformed);
  EXPECT_EQ(code(R"({"alg":"ES256","kid":"a","kid":"b"})"), Code::kMalformed);
  EXPECT_EQ(code(R"({"typ":"JWT"})"), Code::kMalformed);
  EXPECT_EQ(code(R"({"alg":256})"), Code::kMalformed);
  EXPECT_EQ(code(R"({"alg":null})"), Code::kMalformed);
  EXPECT_EQ(code(R"(["ES256"])"), Code::kMalformed);
  EXPECT_EQ(code(R"("ES256")"), Code::kMalformed);
  EXPECT_EQ(code(""), Code::kMalformed);
  EXPECT_EQ(code(R"({"alg":"ES256"} )"
                 "\n{}"),
            Code::kMalformed);
  EXPECT_EQ(code(R"({"alg":"ES256",})"), Code::kMalformed);
  EXPECT_EQ(code("\xEF\xBB\xBF{\"alg\":\"ES256\"}"), Code::kMalformed);
  EXPECT_EQ(code("{\"alg\":\"ES256\",\"x\":\"\xC0\xAF\"}"), Code::kMalformed);
  EXPECT_EQ(code("{\"alg\":\"ES256\",\"x\":\"\\ud800\"}"), Code::kMalformed);
  // Whitespace inside the JSON is fine (RFC 8259 §2).
  std::string spaced = Assemble("{ \"alg\" : \"ES256\" }", "m", key);
  EXPECT_TRUE(Accepts(spaced, key.public_key()));
}

TEST(Jws, B64WithoutCritIsAnOrdinaryMember) {
  // RFC 7797 §6: b64 only counts when listed in crit, which is refused; on
  // its own it is ignored and the payload is still base64url.
  auto key = *PrivateKey::Generate(KeyType::kEcP256);
  std::string compact =
      Assemble(R"({"alg":"ES256","b64":false})", "payload", key);
  auto jws = ParseCompact(compact);
  ASSERT_TRUE(jws.has_value()) << jws.error().message();
  EXPECT_EQ(AsChars(jws->payload()), "payload");
  EXPECT_TRUE(VerifySignature(*jws, key.public_key()).has_value());
}

TEST(Jws, RejectsBadStructure) {
  auto key = *PrivateKey::Generate(KeyType::kEd25519);
  std::string good = *SignCompact(Header(key), AsBytes("payload"), key);
  size_t first = good.find('.');
  size_t second = good.rfind('.');
  std::string h = good.substr(0, first);
  std::string p = good.substr(first + 1, second - first - 1);
  std::string s = good.substr(second + 1);
  ASSERT_TRUE(Accepts(good, key.public_key()));
  for (const std::string& bad : std::vector<std::string>{
           "",
           ".",
           "..",
           "...",
           h,
           h + "." + p,
           h + "." + p + "." + s + ".",
           h + "." + p + "." + s + "." + s,
           "." + h + "." + p + "." + s,
           h + ".." + p + "." + s,
           h + "." + p + ".." + s,
           h + "." + p + "." + s + "." + s + "." + s,  // JWE-shaped
           "." + p + "." + s,
           h + "." + p + ".",
           h + "=." + p + "." + s,
           h + "." + p + "=." + s,
           h + "." + p + "." + s + "=",
           h + "." + p + "." + s + "==",
           h + "." + p + "." + s + "\n",
           " " + good,
           h + ". " + p + "." + s,
           h + "." + p + "." + s.substr(0, s.size() - 1) + "+",
           h + "." + p + "." + s.substr(0, s.size() - 1) + "/",
           h + "." + p + "." + std::string(s.size(), '*'),
           h + "." + p + "." + s.substr(1),
           h + "." + p + "." + s + "A",
           h + "." + p + "." + s + "AAAA",
           h + "." + p + std::string("\0.", 2) + s}) {
    auto jws = ParseCompact(bad);
    if (jws.has_value()) {
      // Only a signature of the wrong length can parse; it must not verify.
      EXPECT_EQ(VerifySignature(*jws, key.public_key()).error().code(),
                Code::kBadSignature)
          << bad;
    } else {
      EXPECT_EQ(jws.error().code(), Code::kMalformed) << bad;
    }
  }
}

TEST(Jws, EnforcesSizeLimits) {
  auto key = *PrivateKey::Generate(KeyType::kEcP256);
  std::string big = *SignCompact(Header(key), Bytes(7000, 'a'), key);
  ASSERT_GT(big.size(), 8192u);
  EXPECT_EQ(ParseError(big), Code::kTooLarge);
  JwsLimits roomy;
  roomy.max_compact_bytes = big.size();
  auto jws = ParseCompact(big, roomy);
  ASSERT_TRUE(jws.has_value());
  EXPECT_TRUE(VerifySignature(*jws, key.public_key()).has_value());
  roomy.max_compact_bytes = big.size() - 1;
  EXPECT_EQ(ParseError(big, roomy), Code::kTooLarge);
  // An 8 KiB token is fine by default.
  std::string at_limit;
  for (size_t n = 5900; n < 6200; ++n) {
    at_limit = *SignCompact(Header(key), Bytes(n, 'a'), key);
    if (at_limit.size() >= 8190) break;
  }
  ASSERT_LE(at_limit.size(), 8192u);
  EXPECT_TRUE(ParseCompact(at_limit).has_value());
  // Nesting in the header.
  std::string nested = Assemble(R"({"alg":"ES256","x":[[[[1]]]]})", "m", key);
  JwsLimits shallow;
  shallow.max_header_depth = 4;
  EXPECT_EQ(ParseError(nested, shallow), Code::kTooLarge);
  shallow.max_header_depth = 5;
  EXPECT_TRUE(ParseCompact(nested, shallow).has_value());
}

TEST(Jws, Rfc8037Ed25519Example) {
  auto jwk = Jwk::FromJson(R"({"kty":"OKP","crv":"Ed25519","x":")" +
                           std::string(kRfc8037X) + R"("})");
  ASSERT_TRUE(jwk.has_value()) << jwk.error().message();
  auto jws = ParseCompact(kRfc8037Jws);
  ASSERT_TRUE(jws.has_value()) << jws.error().message();
  EXPECT_EQ(jws->algorithm(), SignatureAlgorithm::kEdDSA);
  EXPECT_EQ(AsChars(jws->payload()), "Example of Ed25519 signing");
  EXPECT_TRUE(VerifySignature(*jws, *jwk).has_value());
  std::string tampered = kRfc8037Jws;
  tampered[25] = tampered[25] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(Accepts(tampered, jwk->public_key()));

  // Ed25519 is deterministic: the RFC's private key reproduces the token.
  // PKCS#8 (RFC 8410 §7) wrapping of the 32-byte seed.
  Bytes der = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
               0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
  Bytes seed = *Base64UrlDecode(kRfc8037D);
  der.insert(der.end(), seed.begin(), seed.end());
  std::string pem = "-----BEGIN PRIVATE KEY-----\n" + Base64Encode(der) +
                    "\n-----END PRIVATE KEY-----\n";
  auto key = PrivateKey::FromPkcs8Pem(SecretBytes(std::string_view(pem)));
  ASSERT_TRUE(key.has_value()) << key.error().message();
  EXPECT_EQ(key->public_key(), jwk->public_key());
  auto signed_again = SignCompact(J(R"({"alg":"EdDSA"})"),
                                  AsBytes("Example of Ed25519 signing"), *key);
  ASSERT_TRUE(signed_again.has_value());
  EXPECT_EQ(*signed_again, kRfc8037Jws);
}

TEST(Jws, Rfc7515Es256Example) {
  auto jwk = Jwk::FromJson(std::string(R"({"kty":"EC","crv":"P-256","x":")") +
                           kRfc7515EcX + R"(","y":")" + kRfc7515EcY + R"("})");
  ASSERT_TRUE(jwk.has_value()) << jwk.error().message();
  auto jws = ParseCompact(kRfc7515Jws);
  ASSERT_TRUE(jws.has_value()) << jws.error().message();
  EXPECT_EQ(jws->algorithm(), SignatureAlgorithm::kES256);
  // The payload keeps its CR LF bytes; nothing is re-serialised.
  EXPECT_EQ(AsChars(jws->payload()),
            "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n "
            "\"http://example.com/is_root\":true}");
  EXPECT_TRUE(VerifySignature(*jws, *jwk).has_value());
}

}  // namespace
}  // namespace aztp

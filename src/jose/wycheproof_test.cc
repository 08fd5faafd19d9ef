// Wycheproof test vectors (tests/vectors/wycheproof/, vendored; see its
// README) run through aztp's verification paths.
//
// Signature files: each group's key is loaded from `publicKeyDer` with
// PublicKey::FromSpkiDer and every test is verified with
// PublicKey::Verify, the function VerifySignature uses:
//   ecdsa_secp256r1_sha256_p1363_test.json   ES256
//   ecdsa_secp384r1_sha384_p1363_test.json   ES384
//   ed25519_test.json                        EdDSA
//   rsa_signature_2048_sha256_test.json      RS256
//   rsa_pss_2048_sha256_mgf1_32_test.json    PS256 (salt = hash length)
// `valid` must verify, `invalid` must not (a group whose key does not load
// may only hold `invalid` tests), `acceptable` is counted either way.
//
// json_web_signature_test.json and json_web_key_test.json: every case is
// run end to end — ParseCompact, the group's key as a JWK (Jwk::Parse) or
// JWK Set (Jwks::Parse, the key picked by the header's `kid`, or the only
// key), then VerifySignature(ParsedJws, Jwk), which also applies the JWK's
// `alg`, `use` and `key_ops`. The verifier only ever sees public keys: a
// group's `public` member when present, otherwise its `private` member with
// the private members removed (the vectors only give the private form for
// symmetric keys and for a few RSA keys). Expected:
//   * `valid` cases whose header `alg` aztp implements (RS256, PS256, ES256
//     here) must be accepted;
//   * `valid` cases for other algorithms (HS*, RS384/512, PS384/512,
//     ES512, PS384 under a PS256 key) must be rejected: outside our
//     profile, never accepted;
//   * every `invalid` case must be rejected. This includes what the
//     vectors flag as ambiguous (mixed public/secret key sets, duplicate
//     kids), which aztp rejects by design.
// Nothing is skipped.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>

#include "aztp/base/bytes.h"
#include "aztp/base/file.h"
#include "aztp/crypto/key.h"
#include "aztp/encoding/base64.h"
#include "aztp/encoding/json.h"
#include "aztp/jose/jwk.h"
#include "aztp/jose/jws.h"
#include "testing/source_dir.h"

namespace aztp {
namespace {

const std::string kVectorDir =
    std::string(test_support::SourceDir()) + "/tests/vectors/wycheproof/";

Json Load(std::string_view name) {
  std::string path = kVectorDir + std::string(name);
  auto text = ReadFile(path, 64 << 20);
  EXPECT_TRUE(text.has_value()) << path << ": " << text.error().message();
  if (!text) return Json();
  JsonLimits limits;
  limits.max_bytes = 64 << 20;
  limits.max_depth = 64;
  auto json = ParseJson(*text, limits);
  EXPECT_TRUE(json.has_value()) << path << ": " << json.error().message();
  return json ? *json : Json();
}

Bytes Hex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  EXPECT_EQ(hex.size() % 2, 0u);
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    EXPECT_TRUE(hi >= 0 && lo >= 0) << hex;
    out.push_back(static_cast<uint8_t>(hi * 16 + lo));
  }
  return out;
}

struct Tally {
  int groups = 0;
  int unloadable_groups = 0;
  int valid = 0;
  int invalid = 0;
  int acceptable = 0;
  int acceptable_accepted = 0;
  int total() const { return valid + invalid + acceptable; }
};

Tally RunSignatureFile(std::string_view name, SignatureAlgorithm alg,
                       KeyType type) {
  Tally tally;
  Json doc = Load(name);
  if (!doc.is_object()) return tally;
  for (const Json& group : doc["testGroups"]) {
    ++tally.groups;
    auto key =
        PublicKey::FromSpkiDer(Hex(group["publicKeyDer"].get<std::string>()));
    if (!key) ++tally.unloadable_groups;
    if (key) {
      EXPECT_EQ(key->type(), type) << name;
    }
    for (const Json& test : group["tests"]) {
      int id = test["tcId"].get<int>();
      std::string result = test["result"].get<std::string>();
      std::string what = std::string(name) + " tcId " + std::to_string(id) +
                         " (" + test["comment"].get<std::string>() + ")";
      bool accepted =
          key && key->Verify(alg, Hex(test["msg"].get<std::string>()),
                             Hex(test["sig"].get<std::string>()))
                     .has_value();
      if (result == "valid") {
        ++tally.valid;
        EXPECT_TRUE(accepted) << what;
      } else if (result == "invalid") {
        ++tally.invalid;
        EXPECT_FALSE(accepted) << what;
      } else {
        EXPECT_EQ(result, "acceptable") << what;
        ++tally.acceptable;
        if (accepted) ++tally.acceptable_accepted;
      }
    }
  }
  EXPECT_EQ(tally.total(), doc["numberOfTests"].get<int>()) << name;
  return tally;
}

TEST(Wycheproof, EcdsaP256Sha256P1363) {
  Tally t = RunSignatureFile("ecdsa_secp256r1_sha256_p1363_test.json",
                             SignatureAlgorithm::kES256, KeyType::kEcP256);
  EXPECT_EQ(t.groups, 112);
  EXPECT_EQ(t.unloadable_groups, 0);
  EXPECT_EQ(t.valid, 173);
  EXPECT_EQ(t.invalid, 89);
  EXPECT_EQ(t.acceptable, 0);
}

TEST(Wycheproof, EcdsaP384Sha384P1363) {
  Tally t = RunSignatureFile("ecdsa_secp384r1_sha384_p1363_test.json",
                             SignatureAlgorithm::kES384, KeyType::kEcP384);
  EXPECT_EQ(t.groups, 104);
  EXPECT_EQ(t.unloadable_groups, 0);
  EXPECT_EQ(t.valid, 193);
  EXPECT_EQ(t.invalid, 87);
  EXPECT_EQ(t.acceptable, 0);
}

TEST(Wycheproof, Ed25519) {
  Tally t = RunSignatureFile("ed25519_test.json", SignatureAlgorithm::kEdDSA,
                             KeyType::kEd25519);
  EXPECT_EQ(t.groups, 78);
  EXPECT_EQ(t.unloadable_groups, 0);
  EXPECT_EQ(t.valid, 88);
  EXPECT_EQ(t.invalid, 63);
  EXPECT_EQ(t.acceptable, 0);
}

TEST(Wycheproof, RsaPkcs1Sha256_2048) {
  Tally t = RunSignatureFile("rsa_signature_2048_sha256_test.json",
                             SignatureAlgorithm::kRS256, KeyType::kRsa);
  EXPECT_EQ(t.groups, 3);
  EXPECT_EQ(t.unloadable_groups, 0);
  EXPECT_EQ(t.valid, 9);
  EXPECT_EQ(t.invalid, 249);
  // tcId 8, a DigestInfo without the NULL parameters.
  EXPECT_EQ(t.acceptable, 1);
}

TEST(Wycheproof, RsaPssSha256Mgf1Salt32_2048) {
  Tally t = RunSignatureFile("rsa_pss_2048_sha256_mgf1_32_test.json",
                             SignatureAlgorithm::kPS256, KeyType::kRsa);
  EXPECT_EQ(t.groups, 1);
  EXPECT_EQ(t.unloadable_groups, 0);
  EXPECT_EQ(t.valid, 63);
  EXPECT_EQ(t.invalid, 45);
  EXPECT_EQ(t.acceptable, 0);
}

// ---- JSON web files ----

// PublicOnly removes the private members of a JWK or of each key of a JWK
// Set, the view a verifier has.
Json PublicOnly(Json key) {
  if (key.contains("keys") && key["keys"].is_array()) {
    for (Json& entry : key["keys"]) entry = PublicOnly(entry);
    return key;
  }
  for (const char* member : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
    key.erase(member);
  }
  return key;
}

Json VerifierKey(const Json& group) {
  if (group.contains("public")) return group["public"];
  return PublicOnly(group["private"]);
}

// HeaderAlgSupported is true when the first part of `compact` decodes to a
// JSON object whose `alg` is one aztp implements. Independent of
// ParseCompact, to classify the vectors.
bool HeaderAlgSupported(std::string_view compact) {
  auto header = Base64UrlDecode(compact.substr(0, compact.find('.')));
  if (!header) return false;
  auto json = ParseJson(AsChars(*header));
  if (!json || !json->is_object()) return false;
  auto alg = GetString(*json, "alg");
  return alg && ParseAlgorithm(*alg).has_value();
}

Status VerifyWithKey(std::string_view compact, const Json& key_json) {
  AZTP_ASSIGN_OR_RETURN(ParsedJws jws, ParseCompact(compact));
  if (key_json.contains("keys")) {
    AZTP_ASSIGN_OR_RETURN(Jwks set, Jwks::Parse(key_json));
    const Jwk* key = nullptr;
    auto kid = GetOptionalString(jws.header(), "kid");
    if (kid && *kid) {
      key = set.FindByKid(**kid);
    } else if (set.keys().size() == 1) {
      key = &set.keys()[0];
    }
    if (key == nullptr) return Error(Code::kNotFound, "no key for the kid");
    return VerifySignature(jws, *key);
  }
  AZTP_ASSIGN_OR_RETURN(Jwk key, Jwk::Parse(key_json));
  return VerifySignature(jws, key);
}

struct JoseTally {
  int total = 0;
  int accepted = 0;                // valid, supported alg: accepted
  int rejected_valid_foreign = 0;  // valid, other alg: rejected
  int rejected_invalid = 0;        // invalid: rejected
};

JoseTally RunJoseFile(std::string_view name) {
  JoseTally tally;
  Json doc = Load(name);
  if (!doc.is_object()) return tally;
  for (const Json& group : doc["testGroups"]) {
    Json key = VerifierKey(group);
    for (const Json& test : group["tests"]) {
      ++tally.total;
      std::string compact = test["jws"].get<std::string>();
      std::string result = test["result"].get<std::string>();
      std::string what = std::string(name) + " tcId " +
                         std::to_string(test["tcId"].get<int>()) + " (" +
                         test["comment"].get<std::string>() + ")";
      Status status = VerifyWithKey(compact, key);
      if (result == "valid" && HeaderAlgSupported(compact)) {
        EXPECT_TRUE(status.has_value())
            << what << ": " << status.error().message();
        if (status) ++tally.accepted;
      } else {
        EXPECT_FALSE(status.has_value()) << what;
        if (status) continue;
        if (result == "valid") {
          ++tally.rejected_valid_foreign;
        } else {
          EXPECT_EQ(result, "invalid") << what;
          ++tally.rejected_invalid;
        }
      }
    }
  }
  EXPECT_EQ(tally.total, doc["numberOfTests"].get<int>()) << name;
  return tally;
}

TEST(Wycheproof, JsonWebSignature) {
  JoseTally t = RunJoseFile("json_web_signature_test.json");
  EXPECT_EQ(t.total, 401);
  // es256 18, rs256 33 and 259-263, ps256 272-275, 287-288, rfc7520
  // Figure13 345 and 349, SpecialCaseEs256 378.
  EXPECT_EQ(t.accepted, 16);
  EXPECT_EQ(t.rejected_valid_foreign, 30);
  EXPECT_EQ(t.rejected_invalid, 355);
}

TEST(Wycheproof, JsonWebKey) {
  JoseTally t = RunJoseFile("json_web_key_test.json");
  EXPECT_EQ(t.total, 26);
  EXPECT_EQ(t.accepted, 1);  // tcId 5, RS256 with a sig key
  EXPECT_EQ(t.rejected_valid_foreign, 4);
  EXPECT_EQ(t.rejected_invalid, 21);
}

// Review finding "a fresh clone's make test fails": the vectors were read
// from a folder outside the repository. They are vendored with their
// license, and only the files the tests above read.
TEST(Finding14FreshClone, WycheproofVectorsAreVendoredWithTheirLicense) {
  auto license = ReadFile(kVectorDir + "LICENSE");
  ASSERT_TRUE(license.has_value()) << license.error().message();
  EXPECT_NE(license->find("Apache License"), std::string::npos);
  std::set<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator(kVectorDir)) {
    found.insert(entry.path().filename().string());
  }
  EXPECT_EQ(found, (std::set<std::string>{
                       "LICENSE",
                       "README.md",
                       "ecdsa_secp256r1_sha256_p1363_test.json",
                       "ecdsa_secp384r1_sha384_p1363_test.json",
                       "ed25519_test.json",
                       "json_web_key_test.json",
                       "json_web_signature_test.json",
                       "rsa_pss_2048_sha256_mgf1_32_test.json",
                       "rsa_signature_2048_sha256_test.json",
                   }));
}

}  // namespace
}  // namespace aztp

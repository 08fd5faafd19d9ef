#include "aztp/bundle/bundle.h"

#include <gtest/gtest.h>

#include "aztp/ca/authority.h"
#include "aztp/encoding/base64.h"

namespace aztp {
namespace {

constexpr UnixTime kNow = 1'800'000'000;

TrustDomain Td(const char* name) { return *TrustDomain::Parse(name); }

class BundleTest : public testing::Test {
 protected:
  void SetUp() override {
    ca_ = std::make_unique<CertificateAuthority>(
        *CertificateAuthority::Create(Td("example.org"), {}, kNow));
    jwt_key_ =
        std::make_unique<PrivateKey>(*PrivateKey::Generate(KeyType::kEcP256));
  }
  Bundle Make(std::optional<int64_t> seq = 7,
              std::optional<int64_t> hint = 300) {
    return *Bundle::Create(Td("example.org"), {ca_->root()},
                           {{"k1", jwt_key_->public_key()}}, seq, hint);
  }
  std::unique_ptr<CertificateAuthority> ca_;
  std::unique_ptr<PrivateKey> jwt_key_;
};

TEST_F(BundleTest, RoundTripsThroughSpiffeJson) {
  Bundle b = Make();
  Json doc = b.ToJson();
  EXPECT_EQ(doc["spiffe_sequence"], 7);
  EXPECT_EQ(doc["spiffe_refresh_hint"], 300);
  ASSERT_EQ(doc["keys"].size(), 2u);
  EXPECT_EQ(doc["keys"][0]["use"], "x509-svid");
  EXPECT_FALSE(doc["keys"][0].contains("kid"));
  EXPECT_EQ(doc["keys"][1]["use"], "jwt-svid");
  EXPECT_EQ(doc["keys"][1]["kid"], "k1");
  auto back = Bundle::Parse(Td("example.org"), DumpJson(doc));
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(*back, b);
}

// Issue 13: `--bundle FILE` given a PEM file or a single bundle where a
// map is expected failed with a JSON parser's message; the CLI now says
// what to pass instead, from what the file holds.
TEST_F(BundleTest, SniffTellsTheKindsOfFileApart) {
  const std::string bundle = DumpJson(Make().ToJson(), 2);
  BundleSet set;
  set.Put(Make());
  EXPECT_EQ(SniffBundleFile(bundle), BundleFileKind::kBundle);
  EXPECT_EQ(SniffBundleFile(DumpJson(set.ToMapJson())),
            BundleFileKind::kBundleMap);
  EXPECT_EQ(SniffBundleFile("\n" + ca_->root().ToPem()), BundleFileKind::kPem);
  EXPECT_EQ(SniffBundleFile(""), BundleFileKind::kOther);
  EXPECT_EQ(SniffBundleFile("[1]"), BundleFileKind::kOther);
  EXPECT_EQ(SniffBundleFile("{\"keys\": "), BundleFileKind::kOther);
  EXPECT_EQ(SniffBundleFile("{}"), BundleFileKind::kOther);
}

TEST_F(BundleTest, IgnoresUnknownKtyUseAndTopLevelMembers) {
  Json doc = Make().ToJson();
  doc["keys"].push_back({{"kty", "oct"}, {"use", "x509-svid"}, {"k", "AA"}});
  Json no_use = doc["keys"][1];
  no_use.erase("use");
  doc["keys"].push_back(no_use);
  Json odd_use = doc["keys"][1];
  odd_use["use"] = "wit-svid";
  doc["keys"].push_back(odd_use);
  doc["x_vendor"] = {{"anything", true}};
  auto b = Bundle::FromJson(Td("example.org"), doc);
  ASSERT_TRUE(b.has_value()) << b.error().message();
  EXPECT_EQ(b->x509_authorities().size(), 1u);
  EXPECT_EQ(b->jwt_authorities().size(), 1u);
}

TEST_F(BundleTest, AcceptsEmptyKeysAndMissingOptionalMembers) {
  auto b = Bundle::Parse(Td("example.org"), R"({"keys":[]})");
  ASSERT_TRUE(b.has_value());
  EXPECT_TRUE(b->x509_authorities().empty());
  EXPECT_FALSE(b->sequence().has_value());
}

TEST_F(BundleTest, RejectsMalformedDocuments) {
  const TrustDomain td = Td("example.org");
  for (const char* bad :
       {R"([])", R"({})", R"({"keys":{}})", R"({"keys":[1]})",
        R"({"keys":[],"spiffe_sequence":"1"})",
        R"({"keys":[],"spiffe_sequence":1.5})",
        R"({"keys":[],"spiffe_refresh_hint":-1})", R"({"keys":[],"keys":[]})",
        R"({"keys":[{"use":"x509-svid"}]})"}) {
    auto r = Bundle::Parse(td, bad);
    EXPECT_FALSE(r.has_value()) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code(), Code::kMalformed) << bad;
    }
  }
}

TEST_F(BundleTest, RejectsX509EntryWithoutExactlyOneCertificate) {
  Json doc = Make().ToJson();
  Json& entry = doc["keys"][0];
  entry["x5c"].push_back(entry["x5c"][0]);
  EXPECT_FALSE(Bundle::FromJson(Td("example.org"), doc).has_value());
  entry.erase("x5c");
  EXPECT_FALSE(Bundle::FromJson(Td("example.org"), doc).has_value());
}

TEST_F(BundleTest, RejectsX509EntryWhoseKeyDiffersFromItsCertificate) {
  Json doc = Make().ToJson();
  Json other = Json::parse(DumpJson(doc["keys"][1]));
  doc["keys"][0]["x"] = other["x"];
  doc["keys"][0]["y"] = other["y"];
  auto r = Bundle::FromJson(Td("example.org"), doc);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("another key"), std::string::npos)
      << r.error().message();
}

TEST_F(BundleTest, RejectsJwtEntryWithoutKidOrWithDuplicateKid) {
  Json doc = Make().ToJson();
  doc["keys"].push_back(doc["keys"][1]);
  EXPECT_FALSE(Bundle::FromJson(Td("example.org"), doc).has_value());
  doc["keys"].erase(2);
  doc["keys"][1].erase("kid");
  EXPECT_FALSE(Bundle::FromJson(Td("example.org"), doc).has_value());
}

TEST_F(BundleTest, RejectsNonCaCertificateAsAuthority) {
  auto key = *PrivateKey::Generate(KeyType::kEcP256);
  auto leaf = *ca_->IssueX509Svid(*SpiffeId::Parse("spiffe://example.org/w"),
                                  key.public_key(), 60, kNow);
  EXPECT_FALSE(Bundle::Create(Td("example.org"), {leaf[0]}, {}, 1, std::nullopt)
                   .has_value());
}

TEST_F(BundleTest, BundleSetKeepsDomainsApart) {
  BundleSet set;
  set.Put(Make());
  auto other = *CertificateAuthority::Create(Td("other.org"), {}, kNow);
  set.Put(
      *Bundle::Create(Td("other.org"), {other.root()}, {}, 3, std::nullopt));
  EXPECT_EQ(set.size(), 2u);
  EXPECT_EQ(set.GetBundle(Td("example.org"))->x509_authorities()[0],
            ca_->root());
  EXPECT_EQ(set.GetBundle(Td("other.org"))->x509_authorities()[0],
            other.root());
  EXPECT_EQ(set.GetBundle(Td("third.org")), nullptr);
  EXPECT_TRUE(set.Remove(Td("other.org")));
  EXPECT_EQ(set.GetBundle(Td("other.org")), nullptr);
}

TEST_F(BundleTest, BundleMapRoundTripsAndDropsRefreshHints) {
  BundleSet set;
  set.Put(Make());
  Json map = set.ToMapJson();
  EXPECT_FALSE(
      map["trust_domains"]["example.org"].contains("spiffe_refresh_hint"));
  auto back = BundleSet::ParseMap(DumpJson(map));
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(*back->GetBundle(Td("example.org")), Make(7, std::nullopt));
}

TEST_F(BundleTest, BundleMapRejectsDuplicateDomainsAndBadNames) {
  std::string one = DumpJson(Make().ToJson());
  EXPECT_FALSE(BundleSet::ParseMap(R"({"trust_domains":{"example.org":)" + one +
                                   R"(,"example.org":)" + one + "}}")
                   .has_value());
  EXPECT_FALSE(
      BundleSet::ParseMap(R"({"trust_domains":{"Example.org":)" + one + "}}")
          .has_value());
  EXPECT_FALSE(BundleSet::ParseMap(R"({"domains":{}})").has_value());
}

}  // namespace
}  // namespace aztp

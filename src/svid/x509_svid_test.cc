#include "aztp/svid/x509_svid.h"

#include <gtest/gtest.h>

#include <set>

#include "aztp/ca/authority.h"
#include "aztp/x509/builder.h"

namespace aztp {
namespace {

constexpr UnixTime kNow = 1'800'000'000;

TrustDomain Td(const char* name) { return *TrustDomain::Parse(name); }
SpiffeId Id(const char* id) { return *SpiffeId::Parse(id); }

// The SPIFFE leaf profile; each test breaks one rule of it.
CertificateTemplate GoodLeaf(const std::string& id) {
  CertificateTemplate t;
  t.uri_sans = {id};
  t.ca = false;
  t.key_usage = kKuDigitalSignature;
  t.eku_server_auth = true;
  t.eku_client_auth = true;
  t.not_before = kNow - 60;
  t.not_after = kNow + 3600;
  return t;
}

class X509SvidTest : public testing::Test {
 protected:
  void SetUp() override {
    ca_ = std::make_unique<CertificateAuthority>(
        *CertificateAuthority::Create(Td("example.org"), {}, kNow - 86400));
    other_ca_ = std::make_unique<CertificateAuthority>(
        *CertificateAuthority::Create(Td("other.org"), {}, kNow - 86400));
    bundles_.Put(
        *Bundle::Create(Td("example.org"), {ca_->root()}, {}, 1, std::nullopt));
    bundles_.Put(*Bundle::Create(Td("other.org"), {other_ca_->root()}, {}, 1,
                                 std::nullopt));
    leaf_key_ =
        std::make_unique<PrivateKey>(*PrivateKey::Generate(KeyType::kEcP256));
  }

  // Issue signs `tmpl` with the example.org CA.
  std::vector<Certificate> Issue(const CertificateTemplate& tmpl) {
    auto cert =
        SignCertificate(tmpl, leaf_key_->public_key(),
                        &ca_->signing_certificate(), ca_->signing_key());
    EXPECT_TRUE(cert.has_value());
    return {*cert};
  }

  Error Reject(const std::vector<Certificate>& chain, UnixTime now = kNow) {
    auto r = VerifyX509Svid(chain, bundles_, now);
    EXPECT_FALSE(r.has_value());
    if (r) return Error(Code::kInternal, "accepted");
    return r.error();
  }

  std::unique_ptr<CertificateAuthority> ca_;
  std::unique_ptr<CertificateAuthority> other_ca_;
  std::unique_ptr<PrivateKey> leaf_key_;
  BundleSet bundles_;
};

TEST_F(X509SvidTest, AcceptsIssuedLeaf) {
  auto chain = *ca_->IssueX509Svid(Id("spiffe://example.org/agent"),
                                   leaf_key_->public_key(), 3600, kNow);
  auto v = VerifyX509Svid(chain, bundles_, kNow);
  ASSERT_TRUE(v.has_value()) << v.error().message();
  EXPECT_EQ(v->id().str(), "spiffe://example.org/agent");
  EXPECT_EQ(v->expires_at(), kNow + 3600);
}

TEST_F(X509SvidTest, AcceptsLeafUnderIntermediate) {
  CaOptions options;
  options.with_intermediate = true;
  options.key_type = KeyType::kEcP384;
  auto ca = *CertificateAuthority::Create(Td("inter.org"), options, kNow - 10);
  ASSERT_EQ(ca.chain().size(), 2u);
  bundles_.Put(
      *Bundle::Create(Td("inter.org"), {ca.root()}, {}, 1, std::nullopt));
  auto chain = *ca.IssueX509Svid(Id("spiffe://inter.org/a/b"),
                                 leaf_key_->public_key(), 600, kNow);
  ASSERT_EQ(chain.size(), 2u);
  auto v = VerifyX509Svid(chain, bundles_, kNow);
  ASSERT_TRUE(v.has_value()) << v.error().message();
  // Without the intermediate there is no path.
  EXPECT_EQ(Reject({chain[0]}).code(), Code::kSvidInvalid);
}

TEST_F(X509SvidTest, AcceptsEd25519Everywhere) {
  CaOptions options;
  options.key_type = KeyType::kEd25519;
  auto ca = *CertificateAuthority::Create(Td("ed.org"), options, kNow - 10);
  bundles_.Put(*Bundle::Create(Td("ed.org"), {ca.root()}, {}, 1, std::nullopt));
  auto key = *PrivateKey::Generate(KeyType::kEd25519);
  auto chain =
      *ca.IssueX509Svid(Id("spiffe://ed.org/w"), key.public_key(), 600, kNow);
  EXPECT_TRUE(VerifyX509Svid(chain, bundles_, kNow).has_value());
}

TEST_F(X509SvidTest, RejectsLeafWithCaFlag) {
  auto t = GoodLeaf("spiffe://example.org/w");
  t.ca = true;
  EXPECT_NE(Reject(Issue(t)).message().find("CA flag"), std::string::npos);
}

TEST_F(X509SvidTest, RejectsLeafWithKeyCertSign) {
  auto t = GoodLeaf("spiffe://example.org/w");
  t.key_usage |= kKuKeyCertSign;
  EXPECT_NE(Reject(Issue(t)).message().find("keyCertSign"), std::string::npos);
}

TEST_F(X509SvidTest, RejectsLeafWithCrlSign) {
  auto t = GoodLeaf("spiffe://example.org/w");
  t.key_usage |= kKuCrlSign;
  EXPECT_NE(Reject(Issue(t)).message().find("cRLSign"), std::string::npos);
}

TEST_F(X509SvidTest, RejectsLeafWithoutDigitalSignature) {
  auto t = GoodLeaf("spiffe://example.org/w");
  t.key_usage = kKuKeyAgreement;
  EXPECT_NE(Reject(Issue(t)).message().find("digitalSignature"),
            std::string::npos);
}

TEST_F(X509SvidTest, RejectsLeafWithoutKeyUsage) {
  auto t = GoodLeaf("spiffe://example.org/w");
  t.key_usage = 0;
  EXPECT_EQ(Reject(Issue(t)).code(), Code::kSvidInvalid);
}

TEST_F(X509SvidTest, RejectsLeafWithOnlyClientAuth) {
  auto t = GoodLeaf("spiffe://example.org/w");
  t.eku_server_auth = false;
  EXPECT_NE(Reject(Issue(t)).message().find("serverAuth"), std::string::npos);
}

TEST_F(X509SvidTest, RejectsTwoUriSans) {
  auto t = GoodLeaf("spiffe://example.org/w");
  t.uri_sans.push_back("spiffe://example.org/x");
  EXPECT_NE(Reject(Issue(t)).message().find("more than one URI SAN"),
            std::string::npos);
}

TEST_F(X509SvidTest, RejectsMissingUriSan) {
  auto t = GoodLeaf("spiffe://example.org/w");
  t.uri_sans.clear();
  EXPECT_NE(Reject(Issue(t)).message().find("no URI SAN"), std::string::npos);
}

TEST_F(X509SvidTest, RejectsWrongScheme) {
  EXPECT_NE(Reject(Issue(GoodLeaf("https://example.org/w")))
                .message()
                .find("not a SPIFFE ID"),
            std::string::npos);
}

TEST_F(X509SvidTest, RejectsRootPath) {
  EXPECT_NE(
      Reject(Issue(GoodLeaf("spiffe://example.org"))).message().find("path"),
      std::string::npos);
}

TEST_F(X509SvidTest, RejectsExpiredLeaf) {
  auto chain = Issue(GoodLeaf("spiffe://example.org/w"));
  // Valid while notBefore <= now < notAfter (OpenSSL's reading of the
  // RFC 5280 validity period, documented in docs/protocol.md).
  EXPECT_TRUE(VerifyX509Svid(chain, bundles_, kNow + 3599).has_value());
  auto e = Reject(chain, kNow + 3600);
  EXPECT_EQ(e.code(), Code::kSvidInvalid);
  EXPECT_NE(e.message().find("expired"), std::string::npos);
}

TEST_F(X509SvidTest, RejectsNotYetValidLeaf) {
  auto chain = Issue(GoodLeaf("spiffe://example.org/w"));
  EXPECT_TRUE(VerifyX509Svid(chain, bundles_, kNow - 60).has_value());
  auto e = Reject(chain, kNow - 61);
  EXPECT_NE(e.message().find("not yet valid"), std::string::npos);
}

TEST_F(X509SvidTest, RejectsLeafSignedByAnotherDomainsCa) {
  // An example.org ID signed by other.org's CA: the bundle of the ID's own
  // domain is the only one consulted.
  auto cert = *SignCertificate(
      GoodLeaf("spiffe://example.org/w"), leaf_key_->public_key(),
      &other_ca_->signing_certificate(), other_ca_->signing_key());
  EXPECT_EQ(Reject({cert}).code(), Code::kSvidInvalid);
}

TEST_F(X509SvidTest, RejectsUnknownTrustDomain) {
  auto ca = *CertificateAuthority::Create(Td("stranger.org"), {}, kNow - 10);
  auto chain = *ca.IssueX509Svid(Id("spiffe://stranger.org/w"),
                                 leaf_key_->public_key(), 600, kNow);
  EXPECT_EQ(Reject(chain).code(), Code::kUntrustedTrustDomain);
}

TEST_F(X509SvidTest, RejectsIntermediateWithoutCaBit) {
  // A "CA" that is a plain leaf certificate signs the SVID.
  auto mid_key = *PrivateKey::Generate(KeyType::kEcP256);
  auto mid_tmpl = GoodLeaf("spiffe://example.org");
  mid_tmpl.ca = false;
  mid_tmpl.key_usage = kKuDigitalSignature | kKuKeyCertSign;
  auto mid = *SignCertificate(mid_tmpl, mid_key.public_key(),
                              &ca_->signing_certificate(), ca_->signing_key());
  auto leaf = *SignCertificate(GoodLeaf("spiffe://example.org/w"),
                               leaf_key_->public_key(), &mid, mid_key);
  auto e = Reject({leaf, mid});
  EXPECT_EQ(e.code(), Code::kSvidInvalid);
}

TEST_F(X509SvidTest, RejectsIntermediateWithoutKeyCertSign) {
  auto mid_key = *PrivateKey::Generate(KeyType::kEcP256);
  auto mid_tmpl = GoodLeaf("spiffe://example.org");
  mid_tmpl.ca = true;
  mid_tmpl.key_usage = kKuDigitalSignature;
  auto mid = *SignCertificate(mid_tmpl, mid_key.public_key(),
                              &ca_->signing_certificate(), ca_->signing_key());
  auto leaf = *SignCertificate(GoodLeaf("spiffe://example.org/w"),
                               leaf_key_->public_key(), &mid, mid_key);
  EXPECT_EQ(Reject({leaf, mid}).code(), Code::kSvidInvalid);
}

TEST_F(X509SvidTest, RejectsSelfSignedLeaf) {
  auto cert = *SignCertificate(GoodLeaf("spiffe://example.org/w"),
                               leaf_key_->public_key(), nullptr, *leaf_key_);
  EXPECT_EQ(Reject({cert}).code(), Code::kSvidInvalid);
}

TEST_F(X509SvidTest, RejectsTooLongChains) {
  auto chain = Issue(GoodLeaf("spiffe://example.org/w"));
  std::vector<Certificate> long_chain(9, chain[0]);
  EXPECT_EQ(Reject(long_chain).code(), Code::kTooLarge);
  EXPECT_EQ(Reject({}).code(), Code::kSvidInvalid);
}

TEST_F(X509SvidTest, IssuanceCapsLifetimeAtTheCa) {
  auto chain =
      *ca_->IssueX509Svid(Id("spiffe://example.org/w"), leaf_key_->public_key(),
                          10 * 365 * 86400, kNow);
  EXPECT_EQ(chain[0].not_after(), ca_->signing_certificate().not_after());
}

TEST_F(X509SvidTest, IssuanceRefusesForeignAndRootIds) {
  EXPECT_FALSE(ca_->IssueX509Svid(Id("spiffe://other.org/w"),
                                  leaf_key_->public_key(), 60, kNow)
                   .has_value());
  EXPECT_FALSE(ca_->IssueX509Svid(Id("spiffe://example.org"),
                                  leaf_key_->public_key(), 60, kNow)
                   .has_value());
}

TEST_F(X509SvidTest, SerialsAreRandom128Bit) {
  std::set<std::string> serials;
  for (int i = 0; i < 20; ++i) {
    auto chain = *ca_->IssueX509Svid(Id("spiffe://example.org/w"),
                                     leaf_key_->public_key(), 60, kNow);
    EXPECT_EQ(chain[0].serial_hex().size(), 32u);
    serials.insert(chain[0].serial_hex());
  }
  EXPECT_EQ(serials.size(), 20u);
}

TEST_F(X509SvidTest, IssuesFromCsrIgnoringRequestedNames) {
  auto csr =
      *CertificateRequest::Create(*leaf_key_, Id("spiffe://example.org/admin"));
  auto parsed = *CertificateRequest::FromPem(csr.ToPem());
  auto chain =
      *ca_->IssueFromCsr(Id("spiffe://example.org/worker"), parsed, 60, kNow);
  EXPECT_EQ(chain[0].uri_sans(),
            std::vector<std::string>{"spiffe://example.org/worker"});
  EXPECT_EQ(chain[0].public_key(), leaf_key_->public_key());
}

TEST_F(X509SvidTest, RejectsCsrWithBadSignature) {
  auto pem = CertificateRequest::Create(*leaf_key_, std::nullopt)->ToPem();
  // Flip one base64 character inside the signature (near the end).
  auto pos = pem.rfind("-----END");
  pos -= 6;
  pem[pos] = pem[pos] == 'A' ? 'B' : 'A';
  auto r = CertificateRequest::FromPem(pem);
  ASSERT_FALSE(r.has_value());
}

}  // namespace
}  // namespace aztp

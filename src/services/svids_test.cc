// SvidService, called directly: who may obtain which SVIDs, what is
// issued, and its audit record.
#include "aztp/services/svids.h"

#include <gtest/gtest.h>

#include "aztp/crypto/key.h"
#include "aztp/jose/jws.h"
#include "aztp/services/identities.h"
#include "aztp/svid/x509_svid.h"
#include "aztp/x509/csr.h"
#include "services_fixture.h"

namespace aztp::services {
namespace {

constexpr char kPay[] = "spiffe://org-a.example/tools/payments";
constexpr char kOther[] = "spiffe://org-a.example/agents/other";

// kRsaCsr is a CSR for a 2048-bit RSA key (openssl req -newkey rsa:2048).
constexpr char kRsaCsr[] =
    "-----BEGIN CERTIFICATE REQUEST-----\n"
    "MIICUTCCATkCAQAwDDEKMAgGA1UECgwBeDCCASIwDQYJKoZIhvcNAQEBBQADggEP\n"
    "ADCCAQoCggEBAJaf0cB9VxWpmGctibG7vpNa2eNKSm337k/ufzlbOMxZ1uTbk626\n"
    "b9u3wyQqmz5fUrULRPdZYUz6xqotjQec1f2Fv42PFRB8Kix67E1R4QhVvupKtXyC\n"
    "b5uncWO8NoQJPNZOOQrE6SwKV6iHu5rV5AbOXWZJqmeO/Tmrk1GLgBZ7Iki41GGx\n"
    "RjtadtlnDTMzHha0I8V6n9O7u7ANZnOeLGbGyAEIFXBNxcNqHDiASgxW9FrfM06Q\n"
    "YdRyvciUMPhkFaPZxDvIJeQ9IsQI6L3Dy7wVYBvKC7DPpq1MFON2S+sdWXkre1IC\n"
    "KWVY5lOsH6EOoDGE2VUPEtd6sjlU7DtPfMMCAwEAAaAAMA0GCSqGSIb3DQEBCwUA\n"
    "A4IBAQBO/vf92Tdsgt0ZhCyiTliC6A0FDLnMypeh+rh29se8+R0/whxccjf9O0lR\n"
    "UzFI/iffxB2Z7RD5eK+gfqc8Ga74bFOv5hb7R3zeyLGoUsfUQPKu1wgZ6IbQ3dEd\n"
    "6RVoPoLj4DEMTqKz3BuYoYqkxdhJ742puCzxkAHKcKqcxdydlUf1M1NTwv8gjtVc\n"
    "11XOh3Rp184D5ewPMcvzBOCD5JPZ/aPh5+Fr9uFuSFwneZpDSIw2hdXG3r3e0NJx\n"
    "AKRDFQyVHpXuYCm9N0Mlo0pY+6IgRkeQ9s8BZ5D/6LDsXGLD41J4sPtcM0ew5ybQ\n"
    "IRN3E2TedS5fmcvFyBEXhUQCzs9Q\n"
    "-----END CERTIFICATE REQUEST-----\n";

std::string CsrPem() {
  auto key = PrivateKey::Generate(KeyType::kEcP256);
  return CertificateRequest::Create(*key, std::nullopt)->ToPem();
}

class SvidServiceTest : public ServiceTest {
 protected:
  void SetUp() override {
    for (const char* id : {kPay, kOther}) {
      ASSERT_TRUE(identities_.Register(admin_, NewIdentity{Id(id)}));
    }
  }
  X509SvidRequest X509(const char* id, std::optional<int64_t> ttl = {}) {
    return X509SvidRequest{Id(id), CsrPem(), ttl};
  }
  JwtSvidRequest Jwt(const char* id, std::vector<std::string> audience = {
                                         "spiffe://org-a.example/svc"}) {
    return JwtSvidRequest{Id(id), std::move(audience), std::nullopt};
  }
  // Issuances is what the hook heard.
  std::vector<SvidKind> issued_;
  IdentityService identities_{ctx_};
  TestKeyRing ring_{ctx_};
  SvidService svids_{ctx_, ring_, SvidLifetimes{},
                     [this](SvidKind k) { issued_.push_back(k); }};
};

TEST_F(SvidServiceTest, IssuesAnX509SvidTheBundleVerifies) {
  auto svid = svids_.IssueX509(admin_, X509(kPay, 600));
  ASSERT_TRUE(svid.has_value()) << svid.error().message();
  EXPECT_EQ(svid->expires_at, kServiceTestNow + 600);
  EXPECT_EQ(svid->chain.front().not_after(), kServiceTestNow + 600);
  EXPECT_EQ(svid->bundle, ring_.Current().bundle);
  BundleSet bundles;
  bundles.Put(*svid->bundle);
  auto verified = VerifyX509Svid(svid->chain, bundles, kServiceTestNow);
  ASSERT_TRUE(verified.has_value()) << verified.error().message();
  EXPECT_EQ(verified->id().str(), kPay);
  // Stored (for the revocation list's serials) and audited.
  std::vector<SvidRecord> stored;
  ASSERT_TRUE(ctx_.store->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(stored, tx.ListSvids(kPay));
    return Ok();
  }));
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].serial, svid->chain.front().serial_hex());
  auto audit = Audit();
  ASSERT_EQ(audit.size(), 3u);  // two registrations, the issuance
  EXPECT_EQ(audit[2].action, "svid.issue");
  EXPECT_EQ(audit[2].actor, "apikey:admin");
  EXPECT_EQ(audit[2].subject, kPay);
  EXPECT_EQ(audit[2].details["serial"], stored[0].serial);
  EXPECT_EQ(issued_, std::vector<SvidKind>{SvidKind::kX509});
}

TEST_F(SvidServiceTest, AnSvidRenewsItselfOnly) {
  const Principal self = Principal::Workload(Id(kPay));
  auto svid = svids_.IssueX509(self, X509(kPay));
  ASSERT_TRUE(svid.has_value()) << svid.error().message();
  EXPECT_EQ(svid->expires_at,
            kServiceTestNow + SvidLifetimes{}.default_x509_ttl);
  EXPECT_EQ(Audit().back().action, "svid.renew");
  EXPECT_EQ(Audit().back().actor, kPay);
  auto other = svids_.IssueX509(self, X509(kOther));
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code(), Code::kPermissionDenied);
  EXPECT_EQ(svids_.IssueJwt(self, Jwt(kOther)).error().code(),
            Code::kPermissionDenied);
  EXPECT_TRUE(svids_.IssueJwt(self, Jwt(kPay)).has_value());
}

TEST_F(SvidServiceTest, ScopedKeysObtainSvidsUnderTheirScope) {
  const Principal scoped = Scoped("/tools");
  EXPECT_TRUE(svids_.IssueX509(scoped, X509(kPay)).has_value());
  EXPECT_TRUE(svids_.IssueJwt(scoped, Jwt(kPay)).has_value());
  EXPECT_EQ(svids_.IssueX509(scoped, X509(kOther)).error().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(svids_.IssueJwt(scoped, Jwt(kOther)).error().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(issued_.size(), 2u);
}

TEST_F(SvidServiceTest, RefusesBadRequestsBeforeIssuing) {
  struct Case {
    const char* what;
    X509SvidRequest request;
    Code code;
  };
  X509SvidRequest foreign = X509(kPay);
  foreign.id = Id("spiffe://org-b.example/tools/payments");
  X509SvidRequest domain = X509(kPay);
  domain.id = Id("spiffe://org-a.example");
  X509SvidRequest garbage = X509(kPay);
  garbage.csr_pem = "not a CSR";
  X509SvidRequest rsa = X509(kPay);
  rsa.csr_pem = kRsaCsr;
  for (auto& c : std::vector<Case>{
           {"foreign", foreign, Code::kInvalidArgument},
           {"trust domain", domain, Code::kInvalidArgument},
           {"ttl 59", X509(kPay, 59), Code::kInvalidArgument},
           {"ttl above max", X509(kPay, 86401), Code::kInvalidArgument},
           {"rsa", rsa, Code::kInvalidArgument},
           {"unregistered", X509("spiffe://org-a.example/x"), Code::kNotFound},
       }) {
    auto r = svids_.IssueX509(admin_, c.request);
    ASSERT_FALSE(r.has_value()) << c.what;
    EXPECT_EQ(r.error().code(), c.code)
        << c.what << ": " << r.error().message();
  }
  auto r = svids_.IssueX509(admin_, garbage);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().code(), Code::kInternal);
  EXPECT_EQ(svids_.IssueX509(admin_, X509(kPay, 59)).error().message(),
            "ttl must be between 60 and 86400 seconds");
  EXPECT_EQ(Audit().size(), 2u);  // the registrations only
  EXPECT_TRUE(issued_.empty());
}

TEST_F(SvidServiceTest, ARevokedIdentityGetsNoSvid) {
  ASSERT_TRUE(identities_.Revoke(admin_, Id(kPay), "lost"));
  EXPECT_EQ(svids_.IssueX509(admin_, X509(kPay)).error().code(),
            Code::kRevoked);
  EXPECT_EQ(svids_.IssueJwt(admin_, Jwt(kPay)).error().code(), Code::kRevoked);
  // Its own SVID cannot renew it either.
  EXPECT_EQ(svids_.IssueX509(Principal::Workload(Id(kPay)), X509(kPay))
                .error()
                .code(),
            Code::kRevoked);
  EXPECT_EQ(Audit().back().action, "identity.revoke");
  EXPECT_TRUE(issued_.empty());
}

// A store written before the ID was reserved may hold an identity for
// aztpd's own ID: it still gets no SVID, from anyone.
TEST_F(SvidServiceTest, NoSvidForTheControlPlanesOwnId) {
  constexpr char cp[] = "spiffe://org-a.example/aztpd";
  ASSERT_TRUE(ctx_.store->Write([&](Transaction& tx) -> Status {
    IdentityRecord r;
    r.id = cp;
    return tx.InsertIdentity(r);
  }));
  for (const Principal& who : {admin_, Principal::Workload(Id(cp))}) {
    auto x509 = svids_.IssueX509(who, X509(cp));
    ASSERT_FALSE(x509.has_value());
    EXPECT_EQ(x509.error().code(), Code::kInvalidArgument);
    EXPECT_EQ(svids_.IssueJwt(who, Jwt(cp)).error().code(),
              Code::kInvalidArgument);
  }
  EXPECT_TRUE(issued_.empty());
}

TEST_F(SvidServiceTest, IssuesAJwtSvidTheBundleVerifies) {
  JwtSvidRequest request = Jwt(kPay, {"a", "b"});
  request.ttl = 120;
  auto svid = svids_.IssueJwt(admin_, request);
  ASSERT_TRUE(svid.has_value()) << svid.error().message();
  EXPECT_EQ(svid->expires_at, kServiceTestNow + 120);
  auto jws = ParseCompact(svid->token);
  ASSERT_TRUE(jws.has_value());
  const auto& keys = ring_.Current().bundle->jwt_authorities();
  auto key = keys.find(jws->header()["kid"].get<std::string>());
  ASSERT_NE(key, keys.end());
  EXPECT_TRUE(VerifySignature(*jws, key->second).has_value());
  Json claims =
      *ParseJson(std::string(jws->payload().begin(), jws->payload().end()));
  EXPECT_EQ(claims["sub"], kPay);
  EXPECT_EQ(claims["aud"], Json({"a", "b"}));
  EXPECT_EQ(claims["exp"], kServiceTestNow + 120);
  EXPECT_EQ(claims["iat"], kServiceTestNow);
  auto audit = Audit();
  EXPECT_EQ(audit.back().action, "svid.jwt");
  EXPECT_EQ(audit.back().details["jti"], claims["jti"]);
  EXPECT_EQ(audit.back().details["aud"], claims["aud"]);
  EXPECT_EQ(issued_, std::vector<SvidKind>{SvidKind::kJwt});
}

TEST_F(SvidServiceTest, JwtAudiencesAndLifetimesAreBounded) {
  const std::vector<std::vector<std::string>> bad = {
      {}, std::vector<std::string>(9, "a"), {""}, {std::string(257, 'a')}};
  for (const auto& audience : bad) {
    auto r = svids_.IssueJwt(admin_, Jwt(kPay, audience));
    ASSERT_FALSE(r.has_value()) << audience.size();
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  }
  JwtSvidRequest long_lived = Jwt(kPay);
  long_lived.ttl = 3601;
  EXPECT_EQ(svids_.IssueJwt(admin_, long_lived).error().message(),
            "ttl must be between 60 and 3600 seconds");
  auto r = svids_.IssueJwt(admin_, Jwt(kPay, std::vector<std::string>(8, "a")));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->expires_at, kServiceTestNow + 300);  // the default lifetime
}

// A store from before JWT-SVIDs has an X.509 key only.
class SvidServiceNoJwtKeyTest : public ServiceTest {
 protected:
  TestKeyRing ring_{ctx_, {KeyKind::kX509}};
  SvidService svids_{ctx_, ring_, SvidLifetimes{}};
};

TEST_F(SvidServiceNoJwtKeyTest, IsUnavailableWithoutAJwtKey) {
  IdentityService identities(ctx_);
  ASSERT_TRUE(identities.Register(admin_, NewIdentity{Id(kPay)}));
  auto r = svids_.IssueJwt(admin_, JwtSvidRequest{Id(kPay), {"a"}, {}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kUnavailable);
  EXPECT_TRUE(svids_.IssueX509(admin_, X509SvidRequest{Id(kPay), CsrPem(), {}})
                  .has_value());
}

}  // namespace
}  // namespace aztp::services

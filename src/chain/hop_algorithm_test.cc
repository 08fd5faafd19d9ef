// The hop-token algorithm rule of docs/protocol.md §5.1: ES256, ES384 or
// EdDSA, and the one that fits the signer's SVID key. Includes the
// regression tests of the security review finding "hop tokens signed with
// RSA keys verify": a chain signed RS256 (or PS256) by an RSA leaf under a
// trusted CA verified.
#include <gtest/gtest.h>

#include "aztp/chain/builder.h"
#include "aztp/chain/verifier.h"
#include "aztp/encoding/base64.h"
#include "testing/trust_domains.h"

namespace aztp {
namespace {

using test_support::Must;
using test_support::RsaIdentity;

constexpr UnixTime kNow = 1'800'000'000;
const char* kPlanner = "spiffe://org-a.example/agent/planner";
const char* kResearch = "spiffe://org-a.example/agent/research";
const char* kAnalyst = "spiffe://org-b.example/agent/analyst";
const char* kScheduler = "spiffe://org-c.example/agent/scheduler";

SpiffeId Id(const char* s) { return Must(SpiffeId::Parse(s)); }

class HopAlgorithmTest : public testing::Test {
 protected:
  HopAlgorithmTest() : domains_(kNow), clock_(kNow) {
    domains_.AddDomain("org-a.example");  // P-256
    domains_.AddDomain("org-b.example", false, KeyType::kEd25519);
    domains_.AddDomain("org-c.example", false, KeyType::kEcP384);
  }

  Result<VerifiedChain> VerifyAs(const char* audience,
                                 const std::string& chain) {
    ChainVerifierOptions o;
    o.audience = Id(audience);
    o.bundles = domains_.Bundles();
    o.clock = &clock_;
    return Must(ChainVerifier::Create(std::move(o)))->Verify(chain);
  }

  static HopClaims Root(const char* iss, const char* aud) {
    HopClaims c{Id(iss), iss, Id(aud)};
    c.iat = kNow;
    c.exp = kNow + 300;
    c.jti = Base64UrlEncode(Must(RandomBytes(16)));
    c.txn = "txn-alg";
    c.max = 15;
    c.cap = Must(CapabilitySet::FromStrings({"payments:*"}));
    return c;
  }

  test_support::TestDomains domains_;
  FixedClock clock_;
};

void ExpectAlgNotAllowed(const Result<VerifiedChain>& v, int hop) {
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().reason(), "alg_not_allowed") << v.error().message();
  EXPECT_EQ(v.error().hop(), hop);
}

// Finding: an RS256 root token signed by an RSA leaf under the trusted
// org-a CA verified `valid: true`.
TEST_F(HopAlgorithmTest, Finding7RsaHopTokenRs256RootIsRefused) {
  RsaIdentity rsa = domains_.RsaSvid(kPlanner);
  HopClaims c = Root(kPlanner, kResearch);
  std::string token = test_support::SignRsaHopToken(rsa, "RS256", c.ToJson());
  ExpectAlgNotAllowed(VerifyAs(kResearch, token), 0);
  // Step 2 already refuses it, before any certificate is looked at.
  auto parsed = HopToken::Parse(token, 8 << 10);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().code(), Code::kAlgNotAllowed);
}

TEST_F(HopAlgorithmTest, Finding7RsaHopTokenPs256RootIsRefused) {
  RsaIdentity rsa = domains_.RsaSvid(kPlanner);
  HopClaims c = Root(kPlanner, kResearch);
  ExpectAlgNotAllowed(VerifyAs(kResearch, test_support::SignRsaHopToken(
                                              rsa, "PS256", c.ToJson())),
                      0);
}

// The RSA hop inside an otherwise valid linked chain is named.
TEST_F(HopAlgorithmTest, Finding7RsaHopTokenInTheMiddleIsRefused) {
  MintOptions m;
  m.audience = Id(kResearch);
  m.capabilities = Must(CapabilitySet::FromStrings({"payments:*"}));
  std::string root = Must(MintChain(domains_.Signer(kPlanner), m, kNow));
  HopClaims c = Must(HopToken::Parse(root, 8 << 10)).claims();
  c.iss = Id(kResearch);
  c.aud = Id(kAnalyst);
  c.jti = Base64UrlEncode(Must(RandomBytes(16)));
  c.dep = 1;
  c.prv = TokenDigest(root);
  RsaIdentity rsa = domains_.RsaSvid(kResearch);
  std::string chain =
      root + "," + test_support::SignRsaHopToken(rsa, "RS256", c.ToJson());
  ExpectAlgNotAllowed(VerifyAs(kAnalyst, chain), 1);
}

TEST_F(HopAlgorithmTest, Finding7RsaHopTokenSignerRefusesAnRsaLeaf) {
  RsaIdentity rsa = domains_.RsaSvid(kPlanner);
  // No PrivateKey can hold RSA; the leaf is refused before the key is
  // compared with it.
  auto signer = HopSigner::Create(rsa.chain,
                                  Must(PrivateKey::Generate(KeyType::kEcP256)));
  ASSERT_FALSE(signer.has_value());
  EXPECT_EQ(signer.error().code(), Code::kUnsupported);
  EXPECT_EQ(signer.error().message(),
            "the SVID's key (rsa) cannot sign hop tokens, which are ES256, "
            "ES384 or EdDSA (P-256, P-384 or Ed25519 keys)");
}

// §5.1, §6 step 3e: ES256 <-> P-256, ES384 <-> P-384, EdDSA <-> Ed25519.
// Every other allowed algorithm on a leaf is alg_not_allowed, whatever the
// signature.
TEST_F(HopAlgorithmTest, AlgMustFitTheLeafKey) {
  for (const char* iss : {kPlanner, kAnalyst, kScheduler}) {
    const HopSigner& signer = domains_.Signer(iss);
    std::string token = Must(signer.Sign(Root(iss, kResearch)));
    ASSERT_TRUE(VerifyAs(kResearch, token).has_value()) << iss;
    std::string payload_and_signature = token.substr(token.find('.'));
    for (const char* alg : {"ES256", "ES384", "EdDSA"}) {
      if (AlgorithmName(signer.key().algorithm()) == alg) continue;
      Json header{{"alg", alg}, {"typ", "aztp+jwt"}, {"x5c", Json::array()}};
      for (const auto& cert : signer.chain()) {
        header["x5c"].push_back(Base64Encode(cert.der()));
      }
      std::string forged =
          Base64UrlEncode(DumpJson(header)) + payload_and_signature;
      SCOPED_TRACE(std::string(iss) + " as " + alg);
      ExpectAlgNotAllowed(VerifyAs(kResearch, forged), 0);
    }
  }
}

TEST(HopTokenAlgorithms, OnlyEs256Es384AndEdDsa) {
  EXPECT_TRUE(IsHopTokenAlgorithm(SignatureAlgorithm::kES256));
  EXPECT_TRUE(IsHopTokenAlgorithm(SignatureAlgorithm::kES384));
  EXPECT_TRUE(IsHopTokenAlgorithm(SignatureAlgorithm::kEdDSA));
  EXPECT_FALSE(IsHopTokenAlgorithm(SignatureAlgorithm::kRS256));
  EXPECT_FALSE(IsHopTokenAlgorithm(SignatureAlgorithm::kPS256));
}

}  // namespace
}  // namespace aztp

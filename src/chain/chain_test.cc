// Minting, extending and verifying chains end to end with the library's own
// builder, and the verifier's checks that the builder cannot be made to
// break (those use HopSigner::Sign on hand-made claims).
#include <gtest/gtest.h>

#include <map>

#include "aztp/chain/builder.h"
#include "aztp/chain/verifier.h"
#include "testing/trust_domains.h"

namespace aztp {
namespace {

using test_support::Must;

constexpr UnixTime kNow = 1'800'000'000;
const char* kPlanner = "spiffe://org-a.example/agent/planner";
const char* kResearch = "spiffe://org-a.example/agent/research";
const char* kPayments = "spiffe://org-b.example/tool/payments";

SpiffeId Id(const char* s) { return Must(SpiffeId::Parse(s)); }
CapabilitySet Caps(std::vector<std::string> v) {
  return Must(CapabilitySet::FromStrings(v));
}

class ChainTest : public testing::TestWithParam<ChainEncoding> {
 protected:
  ChainTest() : domains_(kNow), clock_(kNow) {
    domains_.AddDomain("org-a.example");
    domains_.AddDomain("org-b.example", /*with_intermediate=*/true);
  }

  std::unique_ptr<ChainVerifier> VerifierFor(
      const char* audience, bool with_replay = false,
      std::shared_ptr<const RevocationSource> revocations = nullptr) {
    ChainVerifierOptions o;
    o.audience = Id(audience);
    o.bundles = domains_.Bundles();
    o.clock = &clock_;
    if (with_replay) o.replay = std::make_shared<InMemoryReplayStore>();
    o.revocations = std::move(revocations);
    return Must(ChainVerifier::Create(std::move(o)));
  }

  std::string Root(const char* signer, const char* aud,
                   std::vector<std::string> caps) {
    MintOptions o;
    o.audience = Id(aud);
    o.capabilities = Caps(caps);
    o.encoding = GetParam();
    o.txn = "txn-1";
    return Must(MintChain(domains_.Signer(signer), o, kNow));
  }

  std::string Extend(const std::string& chain, const char* signer,
                     const char* aud,
                     std::optional<std::vector<std::string>> caps = {}) {
    auto v = VerifierFor(signer)->Verify(chain);
    EXPECT_TRUE(v.has_value()) << v.error().message();
    ExtendOptions o;
    o.audience = Id(aud);
    if (caps) o.capabilities = Caps(*caps);
    return Must(ExtendChain(*v, domains_.Signer(signer), o, kNow));
  }

  test_support::TestDomains domains_;
  FixedClock clock_;
};

TEST_P(ChainTest, ThreeHopsAcrossTwoDomainsVerify) {
  std::string c0 = Root(kPlanner, kResearch, {"payments:*", "calendar:read"});
  std::string c1 = Extend(c0, kResearch, kPayments, {{"payments:quote"}});
  auto v = VerifierFor(kPayments)->Verify(c1);
  ASSERT_TRUE(v.has_value()) << v.error().message();
  EXPECT_EQ(v->subject(), kPlanner);
  EXPECT_EQ(v->txn(), "txn-1");
  ASSERT_EQ(v->path().size(), 3u);
  EXPECT_EQ(v->path()[0].str(), kPlanner);
  EXPECT_EQ(v->path()[1].str(), kResearch);
  EXPECT_EQ(v->path()[2].str(), kPayments);
  EXPECT_EQ(v->caller().str(), kResearch);
  EXPECT_EQ(v->capabilities().Strings(),
            std::vector<std::string>{"payments:quote"});
  EXPECT_EQ(v->depth(), 1);
  EXPECT_EQ(v->encoding(), GetParam());
  if (GetParam() == ChainEncoding::kNested) {
    EXPECT_EQ(c1.find(','), std::string::npos);
  } else {
    EXPECT_EQ(std::count(c1.begin(), c1.end(), ','), 1);
  }
}

TEST_P(ChainTest, ExtensionKeepsTheReceivedEncoding) {
  std::string c0 = Root(kPlanner, kResearch, {"*"});
  std::string c1 = Extend(c0, kResearch, kPlanner);
  std::string c2 = Extend(c1, kPlanner, kPayments);
  auto v = VerifierFor(kPayments)->Verify(c2);
  ASSERT_TRUE(v.has_value()) << v.error().message();
  EXPECT_EQ(v->encoding(), GetParam());
  EXPECT_EQ(v->depth(), 2);
}

TEST_P(ChainTest, ExtendRefusesToWiden) {
  std::string c0 = Root(kPlanner, kResearch, {"payments:quote"});
  auto v = Must(VerifierFor(kResearch)->Verify(c0));
  const HopSigner& research = domains_.Signer(kResearch);
  ExtendOptions o;
  o.audience = Id(kPayments);

  o.capabilities = Caps({"payments:refund"});
  EXPECT_EQ(ExtendChain(v, research, o, kNow).error().code(),
            Code::kCapabilityEscalation);
  o.capabilities.reset();

  o.max_depth = 99;
  EXPECT_EQ(ExtendChain(v, research, o, kNow).error().code(),
            Code::kDepthExceeded);
  o.max_depth.reset();

  o.ttl_seconds = 3600;  // the root lives 300 s
  EXPECT_EQ(ExtendChain(v, research, o, kNow).error().code(),
            Code::kLifetimeExceeded);
  o.ttl_seconds.reset();

  // Signed by a hop the chain is not addressed to.
  EXPECT_EQ(ExtendChain(v, domains_.Signer(kPlanner), o, kNow).error().code(),
            Code::kAudienceMismatch);
  EXPECT_TRUE(ExtendChain(v, research, o, kNow).has_value());
}

TEST_P(ChainTest, ExtendRefusesToGrowPastMaxDepth) {
  MintOptions m;
  m.audience = Id(kResearch);
  m.capabilities = Caps({"a"});
  m.max_depth = 0;
  m.encoding = GetParam();
  std::string c0 = Must(MintChain(domains_.Signer(kPlanner), m, kNow));
  auto v = Must(VerifierFor(kResearch)->Verify(c0));
  ExtendOptions o;
  o.audience = Id(kPayments);
  EXPECT_EQ(ExtendChain(v, domains_.Signer(kResearch), o, kNow).error().code(),
            Code::kDepthExceeded);
}

TEST_P(ChainTest, ConstraintsAreEnforcedWhenExtending) {
  MintOptions m;
  m.audience = Id(kResearch);
  m.capabilities = Caps({"a"});
  m.constraints =
      Must(Constraints::FromJson(Json::parse(R"({"tds":["org-a.example"]})")));
  m.encoding = GetParam();
  std::string c0 = Must(MintChain(domains_.Signer(kPlanner), m, kNow));
  auto v = Must(VerifierFor(kResearch)->Verify(c0));
  ExtendOptions o;
  o.audience = Id(kPayments);  // org-b: outside the allowed domains
  EXPECT_EQ(ExtendChain(v, domains_.Signer(kResearch), o, kNow).error().code(),
            Code::kConstraintViolation);
  o.audience = Id(kPlanner);
  o.constraints = Must(Constraints::FromJson(
      Json::parse(R"({"tds":["org-a.example","org-b.example"]})")));
  EXPECT_EQ(ExtendChain(v, domains_.Signer(kResearch), o, kNow).error().code(),
            Code::kConstraintViolation);
  o.constraints = Must(Constraints::FromJson(
      Json::parse(R"({"auds":["spiffe://org-a.example/agent/*"]})")));
  auto c1 = ExtendChain(v, domains_.Signer(kResearch), o, kNow);
  ASSERT_TRUE(c1.has_value()) << c1.error().message();
  auto v1 = Must(VerifierFor(kPlanner)->Verify(*c1));
  EXPECT_TRUE(v1.constraints().tds().has_value());
  EXPECT_TRUE(v1.constraints().auds().has_value());
}

TEST_P(ChainTest, ReplayIsDetectedOnce) {
  std::string c0 = Root(kPlanner, kResearch, {"a"});
  auto verifier = VerifierFor(kResearch, /*with_replay=*/true);
  EXPECT_TRUE(verifier->Verify(c0).has_value());
  auto again = verifier->Verify(c0);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), Code::kReplay);
  EXPECT_EQ(again.error().hop(), 0);
}

TEST_P(ChainTest, PeerAndAudienceAreBound) {
  std::string c0 = Root(kPlanner, kResearch, {"a"});
  VerifyContext ctx;
  ctx.peer = Id(kPayments);
  auto v = VerifierFor(kResearch)->Verify(c0, ctx);
  EXPECT_EQ(v.error().code(), Code::kPeerMismatch);
  ctx.peer = Id(kPlanner);
  EXPECT_TRUE(VerifierFor(kResearch)->Verify(c0, ctx).has_value());
  EXPECT_EQ(VerifierFor(kPayments)->Verify(c0).error().code(),
            Code::kAudienceMismatch);
}

TEST_P(ChainTest, RequestBindingIsChecked) {
  MintOptions m;
  m.audience = Id(kResearch);
  m.capabilities = Caps({"a"});
  m.encoding = GetParam();
  m.request =
      RequestBinding::For("POST", "https://research/x", AsBytes("body"));
  std::string c0 = Must(MintChain(domains_.Signer(kPlanner), m, kNow));
  ChainVerifierOptions o;
  o.audience = Id(kResearch);
  o.bundles = domains_.Bundles();
  o.clock = &clock_;
  o.require_request_binding = true;
  auto verifier = Must(ChainVerifier::Create(std::move(o)));
  VerifyContext ctx;
  EXPECT_EQ(verifier->Verify(c0, ctx).error().code(), Code::kRequestMismatch);
  ctx.request =
      RequestBinding::For("POST", "https://research/x", AsBytes("bodY"));
  EXPECT_EQ(verifier->Verify(c0, ctx).error().code(), Code::kRequestMismatch);
  ctx.request =
      RequestBinding::For("POST", "https://research/x", AsBytes("body"));
  EXPECT_TRUE(verifier->Verify(c0, ctx).has_value());
}

TEST_P(ChainTest, RevocationOfAnyHopIsEnforced) {
  std::string c0 = Root(kPlanner, kResearch, {"*"});
  std::string c1 = Extend(c0, kResearch, kPayments);
  auto source = std::make_shared<StaticRevocationSource>(
      Must(RevocationList::Create(1, {Id(kPlanner)}, {}, {})));
  auto verifier = VerifierFor(kPayments, false, source);
  auto v = verifier->Verify(c1);
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().code(), Code::kRevoked);
  EXPECT_EQ(v.error().hop(), 0);
  source->Set(RevocationList::Empty());
  EXPECT_TRUE(verifier->Verify(c1).has_value());
}

// DomainLists holds one revocation list per trust domain, as an agent
// does (its own domain's and each federated domain's).
class DomainLists final : public RevocationSource {
 public:
  explicit DomainLists(std::string own) : own_(std::move(own)) {}
  std::shared_ptr<const RevocationList> Current() const override {
    return ForDomain(Must(TrustDomain::Parse(own_)));
  }
  std::shared_ptr<const RevocationList> ForDomain(
      const TrustDomain& td) const override {
    auto it = lists_.find(td.name());
    return it != lists_.end() ? it->second
                              : std::make_shared<const RevocationList>(
                                    RevocationList::Empty());
  }
  void Set(const std::string& td, RevocationList list) {
    lists_[td] = std::make_shared<const RevocationList>(std::move(list));
  }

 private:
  std::string own_;
  std::map<std::string, std::shared_ptr<const RevocationList>> lists_;
};

TEST_P(ChainTest, Finding13EachDomainsListRevokesOnlyItsOwnHops) {
  // Hop 0 is org-a's planner, hop 1 org-b's payments; research (org-a)
  // verifies, holding org-a's list and org-b's (federated) one.
  std::string c0 = Root(kPlanner, kPayments, {"*"});
  const std::string planner_jti =
      Must(VerifierFor(kPayments)->Verify(c0)).outermost_claims().jti;
  std::string c1 = Extend(c0, kPayments, kResearch);
  const std::string planner_serial =
      domains_.Signer(kPlanner).chain().front().serial_hex();
  const std::string payments_serial =
      domains_.Signer(kPayments).chain().front().serial_hex();
  auto lists = std::make_shared<DomainLists>("org-a.example");
  auto verifier = VerifierFor(kResearch, false, lists);
  ASSERT_TRUE(verifier->Verify(c1).has_value());

  // org-b's list naming org-a's planner (its ID, token or serial, say one
  // seen in a handshake) does not revoke it; nor does org-a's list naming
  // org-b's serial revoke payments.
  lists->Set("org-b.example",
             Must(RevocationList::Create(1, {Id(kPlanner)}, {planner_jti},
                                         {planner_serial})));
  lists->Set("org-a.example",
             Must(RevocationList::Create(1, {}, {}, {payments_serial})));
  auto v = verifier->Verify(c1);
  ASSERT_TRUE(v.has_value()) << v.error().message();

  // org-b's list naming its own payments (serial, then ID) revokes hop 1.
  lists->Set("org-b.example",
             Must(RevocationList::Create(2, {}, {}, {payments_serial})));
  v = verifier->Verify(c1);
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().code(), Code::kRevoked);
  EXPECT_EQ(v.error().hop(), 1);
  lists->Set("org-b.example",
             Must(RevocationList::Create(3, {Id(kPayments)}, {}, {})));
  EXPECT_EQ(verifier->Verify(c1).error().hop(), 1);
  // org-a's own list still revokes its planner, at hop 0.
  lists->Set("org-a.example",
             Must(RevocationList::Create(2, {}, {}, {planner_serial})));
  v = verifier->Verify(c1);
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().code(), Code::kRevoked);
  EXPECT_EQ(v.error().hop(), 0);

  // A source of one list (a file, a static list) applies it to every hop.
  auto one = std::make_shared<StaticRevocationSource>(
      Must(RevocationList::Create(1, {}, {}, {payments_serial})));
  EXPECT_EQ(VerifierFor(kResearch, false, one)->Verify(c1).error().hop(), 1);
}

TEST_P(ChainTest, ExpiryAndSkewBoundaries) {
  std::string c0 = Root(kPlanner, kResearch, {"a"});  // exp = kNow + 300
  auto verifier = VerifierFor(kResearch);
  clock_.Set(kNow + 300 + 29);  // now < exp + skew(30)
  EXPECT_TRUE(verifier->Verify(c0).has_value());
  clock_.Set(kNow + 300 + 30);  // now == exp + skew
  EXPECT_EQ(verifier->Verify(c0).error().code(), Code::kExpired);
  // A token issued at kNow + 100 (its SVID is valid from kNow - 30).
  MintOptions m;
  m.audience = Id(kResearch);
  m.capabilities = Caps({"a"});
  m.encoding = GetParam();
  std::string later = Must(MintChain(domains_.Signer(kPlanner), m, kNow + 100));
  clock_.Set(kNow + 70);  // iat - skew == now
  EXPECT_TRUE(verifier->Verify(later).has_value());
  clock_.Set(kNow + 69);
  EXPECT_EQ(verifier->Verify(later).error().code(), Code::kNotYetValid);
}

TEST_P(ChainTest, WarmVerifierReusesItsCertificateCache) {
  std::string c0 = Root(kPlanner, kResearch, {"*"});
  std::string c1 = Extend(c0, kResearch, kPayments);
  auto verifier = VerifierFor(kPayments);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(verifier->Verify(c1).has_value());
  // One entry per distinct signer, however often the chain is verified.
  EXPECT_EQ(verifier->cached_certificates(), 2u);
}

TEST_P(ChainTest, BundleUpdateInvalidatesCachedCertificates) {
  std::string c0 = Root(kPlanner, kResearch, {"*"});
  auto bundles = std::make_shared<BundleSet>(*domains_.Bundles());
  ChainVerifierOptions o;
  o.audience = Id(kResearch);
  o.bundles = bundles;
  o.clock = &clock_;
  auto verifier = Must(ChainVerifier::Create(std::move(o)));
  ASSERT_TRUE(verifier->Verify(c0).has_value());
  // org-a's bundle is replaced by one without its CA (e.g. after a
  // rotation completed): the cached verification must not be used.
  auto other = Must(CertificateAuthority::Create(
      Must(TrustDomain::Parse("org-a.example")), {}, kNow - 10));
  bundles->Put(Must(Bundle::Create(Must(TrustDomain::Parse("org-a.example")),
                                   {other.root()}, {}, 2, std::nullopt)));
  auto v = verifier->Verify(c0);
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().code(), Code::kSvidInvalid);
}

INSTANTIATE_TEST_SUITE_P(Encodings, ChainTest,
                         testing::Values(ChainEncoding::kLinked,
                                         ChainEncoding::kNested),
                         [](const auto& info) {
                           return std::string(EncodingName(info.param));
                         });

TEST(ChainVerifierOptions, RejectsUnsafeConfigurations) {
  ChainVerifierOptions o;
  EXPECT_FALSE(ChainVerifier::Create(o).has_value());
  o.audience = Id(kPlanner);
  EXPECT_FALSE(ChainVerifier::Create(o).has_value());
  o.bundles = std::make_shared<BundleSet>();
  o.skew_seconds = 301;
  EXPECT_FALSE(ChainVerifier::Create(o).has_value());
  o.skew_seconds = 300;
  EXPECT_TRUE(ChainVerifier::Create(o).has_value());
}

}  // namespace
}  // namespace aztp

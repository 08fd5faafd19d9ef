// FederationService, called directly with a scripted fetcher: an admin's
// relationships, their fetches on the audit record, and which bundles each
// identity trusts.
#include "aztp/services/federation.h"

#include <gtest/gtest.h>

#include "aztp/ca/authority.h"
#include "aztp/services/identities.h"
#include "services_fixture.h"

namespace aztp::services {
namespace {

constexpr char kDenial[] = "federation needs an admin key";
constexpr char kPay[] = "spiffe://org-a.example/tools/payments";

template <typename T>
Status StatusOf(const Result<T>& r) {
  if (r) return Ok();
  return r.error();
}

Bundle BundleOf(const TrustDomain& td, int64_t sequence) {
  auto ca = CertificateAuthority::Create(td, {}, kServiceTestNow - 60);
  return *Bundle::Create(td, {ca->root()}, {}, sequence, 60);
}

// Host stands in for the control plane: the own bundle and the poller's
// published together, and what it hears.
class Host final : public FederationHost {
 public:
  Host(const TrustDomain& own, BundlePoller& poller)
      : own_(BundleOf(own, 1)), poller_(poller) {
    Publish();
  }
  Status Exclusive(const std::function<Status()>& fn) override {
    ++exclusive;
    return fn();
  }
  std::shared_ptr<const BundleSet> Published() const override {
    return published_;
  }
  void Publish() override {
    BundleSet set = poller_.Bundles();
    set.Put(own_);
    published_ = std::make_shared<const BundleSet>(std::move(set));
  }
  void Fetched(const PollEvent& ev) override { fetched.push_back(ev.kind); }
  void Recorded(const PollEvent& ev) override { recorded.push_back(ev.kind); }

  int exclusive = 0;
  std::vector<PollEvent::Kind> fetched;
  std::vector<PollEvent::Kind> recorded;

 private:
  Bundle own_;
  BundlePoller& poller_;
  std::shared_ptr<const BundleSet> published_;
};

class FederationServiceTest : public ServiceTest {
 protected:
  using Kind = PollEvent::Kind;

  // Fetches answer with `answers` in turn, then fail.
  BundleFetcher Fetcher() {
    return [this](const FederationRelationship& rel,
                  std::shared_ptr<const Bundle>) -> Result<Bundle> {
      if (next_ < answers_.size()) return answers_[next_++];
      return Error(Code::kUnavailable, "endpoint down " + rel.endpoint_url);
    };
  }
  static NewFederation Web(const TrustDomain& td) {
    return NewFederation{td, "https://bundle." + td.name() + "/bundle",
                         "https_web"};
  }
  std::vector<std::string> Actions() {
    std::vector<std::string> out;
    for (const auto& a : Audit()) out.push_back(a.action + " " + a.decision);
    return out;
  }
  std::vector<std::string> Domains(const BundleSet& set) {
    std::vector<std::string> out;
    for (const auto& [td, b] : set.bundles()) out.push_back(td.name());
    return out;
  }

  const TrustDomain org_b_ = *TrustDomain::Parse("org-b.example");
  const TrustDomain org_c_ = *TrustDomain::Parse("org-c.example");
  std::vector<Result<Bundle>> answers_ = {BundleOf(org_b_, 1),
                                          BundleOf(org_b_, 2)};
  std::size_t next_ = 0;
  BundlePoller poller_{Fetcher()};
  Host host_{ctx_.trust_domain, poller_};
  FederationService federation_{ctx_, poller_, host_, {}};
};

TEST_F(FederationServiceTest, AddStoresAuditsAndFetchesAtOnce) {
  ASSERT_TRUE(federation_.Load());
  auto added = federation_.Add(admin_, Web(org_b_));
  ASSERT_TRUE(added.has_value()) << added.error().message();
  EXPECT_EQ(added->trust_domain, org_b_);
  ASSERT_EQ(added->first_fetch.size(), 1u);
  EXPECT_EQ(added->first_fetch[0].kind, Kind::kUpdated);
  EXPECT_EQ(host_.exclusive, 1);
  // Published and kept for a restart.
  ASSERT_NE(host_.Published()->GetBundle(org_b_), nullptr);
  std::vector<FederationRecord> stored;
  std::vector<FederatedBundleRecord> kept;
  ASSERT_TRUE(ctx_.store->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(stored, tx.ListFederations());
    AZTP_ASSIGN_OR_RETURN(kept, tx.ListFederatedBundles());
    return Ok();
  }));
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(ToString(stored[0].profile), "https_web");
  EXPECT_EQ(stored[0].created_at, kServiceTestNow);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(Actions(), (std::vector<std::string>{"federation.add allow",
                                                 "federation.updated allow"}));
  EXPECT_EQ(Audit()[0].actor, "apikey:admin");
  EXPECT_EQ(Audit()[1].details["new_sequence"], 1);
  EXPECT_EQ(host_.recorded, std::vector<Kind>{Kind::kUpdated});
  auto list = federation_.List(admin_);
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_FALSE((*list)[0].from_config);
  EXPECT_EQ((*list)[0].state.bundle->sequence(), 1);
  // Twice is a conflict, and changes nothing.
  EXPECT_EQ(federation_.Add(admin_, Web(org_b_)).error().code(),
            Code::kAlreadyExists);
  EXPECT_EQ(Audit().size(), 2u);
}

TEST_F(FederationServiceTest, AddRefusesWhatItCannotStoreAndLoad) {
  NewFederation spiffe_without_id = Web(org_b_);
  spiffe_without_id.profile = "https_spiffe";
  NewFederation web_with_bundle = Web(org_b_);
  web_with_bundle.bootstrap_bundle = BundleOf(org_b_, 1).ToJson();
  NewFederation not_a_bundle = Web(org_b_);
  not_a_bundle.bootstrap_bundle = Json::array();
  NewFederation bad_pem = Web(org_b_);
  bad_pem.web_ca_pem = "not PEM";
  NewFederation big_pem = Web(org_b_);
  big_pem.web_ca_pem.assign(kMaxWebCaPemBytes + 1, 'a');
  NewFederation self = Web(ctx_.trust_domain);
  struct Case {
    const char* what;
    const NewFederation& request;
    Code code;
  };
  for (const Case& c : std::vector<Case>{
           {"https_spiffe without endpoint_id", spiffe_without_id,
            Code::kInvalidArgument},
           {"https_web with a bundle", web_with_bundle, Code::kInvalidArgument},
           {"bundle not an object", not_a_bundle, Code::kInvalidArgument},
           {"web CA not PEM", bad_pem, Code::kMalformed},
           {"web CA too large", big_pem, Code::kTooLarge},
           {"own domain", self, Code::kInvalidArgument}}) {
    auto r = federation_.Add(admin_, c.request);
    ASSERT_FALSE(r.has_value()) << c.what;
    EXPECT_EQ(r.error().code(), c.code)
        << c.what << ": " << r.error().message();
  }
  EXPECT_TRUE(Audit().empty());
  EXPECT_EQ(next_, 0u);
}

TEST_F(FederationServiceTest, OnlyAdminsManageRelationships) {
  ASSERT_TRUE(federation_.Add(admin_, Web(org_b_)));
  const std::size_t audited = Audit().size();
  for (const Principal& who : {Scoped("/"), Principal::Workload(Id(kPay))}) {
    for (const Status& s : {StatusOf(federation_.List(who)),
                            StatusOf(federation_.Add(who, Web(org_c_))),
                            federation_.Remove(who, org_b_),
                            StatusOf(federation_.Refresh(who, org_b_))}) {
      ASSERT_FALSE(s.has_value());
      EXPECT_EQ(s.error().code(), Code::kPermissionDenied);
      EXPECT_EQ(s.error().message(), kDenial);
    }
  }
  EXPECT_EQ(Audit().size(), audited);
  EXPECT_EQ(next_, 1u);
}

TEST_F(FederationServiceTest, RefreshRecordsChangesAndFailures) {
  ASSERT_TRUE(federation_.Add(admin_, Web(org_b_)));
  auto events = federation_.Refresh(admin_, org_b_);
  ASSERT_TRUE(events.has_value()) << events.error().message();
  EXPECT_EQ((*events)[0].new_sequence, 2);
  events = federation_.Refresh(admin_, org_b_);
  ASSERT_TRUE(events.has_value());
  EXPECT_EQ((*events)[0].kind, Kind::kFailed);
  // The last good bundle stays in force.
  EXPECT_EQ(host_.Published()->GetBundle(org_b_)->sequence(), 2);
  EXPECT_EQ(federation_.Refresh(admin_, org_c_).error().code(),
            Code::kNotFound);
  EXPECT_EQ(Actions(),
            (std::vector<std::string>{
                "federation.add allow", "federation.updated allow",
                "federation.updated allow", "federation.failed deny"}));
  EXPECT_EQ(Audit().back().reason, (*events)[0].reason);
}

TEST_F(FederationServiceTest, PollRecordsWhatWasDueAsTheMaintenancePass) {
  ASSERT_TRUE(federation_.Add(admin_, Web(org_b_)));
  auto changed = federation_.Poll("aztpd rotation");
  ASSERT_TRUE(changed.has_value());
  EXPECT_FALSE(*changed);  // nothing due yet
  clock_.Advance(61);      // the bundle's refresh hint
  changed = federation_.Poll("aztpd rotation");
  ASSERT_TRUE(changed.has_value());
  EXPECT_TRUE(*changed);
  EXPECT_EQ(host_.Published()->GetBundle(org_b_)->sequence(), 2);
  EXPECT_EQ(Audit().back().action, "federation.updated");
  EXPECT_EQ(Audit().back().actor, "aztpd rotation");
}

TEST_F(FederationServiceTest, RemoveDropsAStoredRelationshipOnly) {
  ASSERT_TRUE(federation_.Add(admin_, Web(org_b_)));
  ASSERT_TRUE(federation_.Remove(admin_, org_b_));
  EXPECT_EQ(host_.Published()->GetBundle(org_b_), nullptr);
  EXPECT_TRUE(federation_.List(admin_)->empty());
  EXPECT_EQ(Audit().back().action, "federation.remove");
  EXPECT_EQ(federation_.Remove(admin_, org_b_).error().code(), Code::kNotFound);
}

TEST_F(FederationServiceTest, ConfiguredRelationshipsAreTheFilesOnly) {
  FederationRelationship rel{org_b_};
  rel.endpoint_url = "https://bundle.org-b.example/bundle";
  rel.profile = EndpointProfile::kHttpsWeb;
  FederationService configured(ctx_, poller_, host_, {rel});
  ASSERT_TRUE(configured.Load());
  auto list = configured.List(admin_);
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_TRUE((*list)[0].from_config);
  EXPECT_EQ(configured.Add(admin_, Web(org_b_)).error().code(),
            Code::kAlreadyExists);
  EXPECT_EQ(configured.Remove(admin_, org_b_).error().code(),
            Code::kInvalidArgument);
  // The same domain stored through the API as well cannot load.
  ASSERT_TRUE(federation_.Add(admin_, Web(org_b_)));
  auto both = configured.Load();
  ASSERT_FALSE(both.has_value());
  EXPECT_EQ(both.error().code(), Code::kAlreadyExists);
}

TEST_F(FederationServiceTest, LoadSeedsTheBundlesKeptAcrossARestart) {
  ASSERT_TRUE(federation_.Add(admin_, Web(org_b_)));
  ASSERT_TRUE(federation_.Refresh(admin_, org_b_));  // sequence 2
  // A restart: a new poller whose endpoint is down.
  BundlePoller poller(Fetcher());
  Host host(ctx_.trust_domain, poller);
  FederationService restarted(ctx_, poller, host, {});
  ASSERT_TRUE(restarted.Load());
  host.Publish();
  auto kept = host.Published()->GetBundle(org_b_);
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->sequence(), 2);
}

TEST_F(FederationServiceTest, BundlesAreNarrowedToWhatAnIdentityAccepts) {
  answers_ = {BundleOf(org_b_, 1), BundleOf(org_c_, 1)};
  ASSERT_TRUE(federation_.Add(admin_, Web(org_b_)));
  ASSERT_TRUE(federation_.Add(admin_, Web(org_c_)));
  IdentityService identities(ctx_);
  NewIdentity pay{Id(kPay)};
  pay.federates_with = std::vector<TrustDomain>{org_b_};
  ASSERT_TRUE(identities.Register(admin_, pay));
  ASSERT_TRUE(identities.Register(
      admin_, NewIdentity{Id("spiffe://org-a.example/any")}));
  const std::vector<std::string> all = {"org-a.example", "org-b.example",
                                        "org-c.example"};
  const std::vector<std::string> narrowed = {"org-a.example", "org-b.example"};
  EXPECT_EQ(Domains(*federation_.Bundles(std::nullopt)), all);
  EXPECT_EQ(Domains(*federation_.Bundles(Id(kPay))), narrowed);
  EXPECT_EQ(Domains(*federation_.Bundles(Id("spiffe://org-b.example/x"))), all);
  EXPECT_EQ(Domains(*federation_.BundlesFor(admin_, Id(kPay))), narrowed);
  EXPECT_EQ(
      Domains(*federation_.BundlesFor(Principal::Workload(Id(kPay)), Id(kPay))),
      narrowed);
  EXPECT_EQ(Domains(*federation_.BundlesFor(admin_,
                                            Id("spiffe://org-a.example/any"))),
            all);
  // Naming an identity needs credentials for it.
  EXPECT_EQ(federation_.BundlesFor(Scoped("/agents"), Id(kPay)).error().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(
      federation_
          .BundlesFor(Principal::Workload(Id("spiffe://org-a.example/any")),
                      Id(kPay))
          .error()
          .code(),
      Code::kPermissionDenied);
  EXPECT_EQ(federation_.BundlesFor(admin_, Id("spiffe://org-b.example/x"))
                .error()
                .code(),
            Code::kInvalidArgument);
  EXPECT_EQ(federation_.BundlesFor(admin_, Id("spiffe://org-a.example/none"))
                .error()
                .code(),
            Code::kNotFound);
  EXPECT_EQ(
      federation_.Bundles(Id("spiffe://org-a.example/none")).error().code(),
      Code::kNotFound);
}

}  // namespace
}  // namespace aztp::services

// aztp::Client's federation calls against a real control plane
// (client_test_fixture.h) whose partners' bundle endpoints `fetches_` plays.
#include <gtest/gtest.h>

#include "aztp/client/client.h"
#include "client/client_test_fixture.h"

namespace aztp::client_test {
namespace {

using std::chrono::milliseconds;
using test_support::ControlPlaneServer;
using test_support::Must;

// Domains lists the trust domains of a bundle set.
std::vector<std::string> Domains(const BundleSet& set) {
  std::vector<std::string> out;
  for (const auto& [td, bundle] : set.bundles()) out.push_back(td.name());
  return out;
}
// ---- federation ----

// A relationship added, listed, refreshed and removed through the client;
// the control plane fetches the partner's bundle from `fetches_`.
TEST_F(ClientTest, FederationIsAddedListedRefreshedAndRemoved) {
  const TrustDomain org_b = Td("org-b.example");
  fetches_->Push("org-b.example", PartnerBundle(1));
  fetches_->Push("org-b.example", PartnerBundle(2));
  const UnixTime now = server_.clock().Now();

  auto added = admin().AddFederation(PartnerSpec());
  ASSERT_TRUE(added.has_value()) << added.error().message();
  EXPECT_EQ(added->trust_domain, org_b);
  EXPECT_EQ(added->result, FederationFetchResult::kUpdated);
  EXPECT_FALSE(added->old_sequence.has_value());
  EXPECT_EQ(added->new_sequence, 1);
  auto again = admin().AddFederation(PartnerSpec());
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), Code::kAlreadyExists);

  auto list = admin().ListFederations();
  ASSERT_TRUE(list.has_value()) << list.error().message();
  ASSERT_EQ(list->size(), 1u);
  const Federation& f = list->front();
  EXPECT_EQ(f.trust_domain, org_b);
  EXPECT_EQ(f.endpoint_url, "https://127.0.0.1:1/v1/bundle");
  EXPECT_EQ(f.profile, EndpointProfile::kHttpsSpiffe);
  ASSERT_TRUE(f.endpoint_id.has_value());
  EXPECT_EQ(f.endpoint_id->str(), "spiffe://org-b.example/aztpd");
  EXPECT_EQ(f.source, "api");
  EXPECT_EQ(f.bundle_sequence, 1);
  EXPECT_TRUE(f.trusted);
  EXPECT_EQ(f.last_fetch, now);
  ASSERT_TRUE(f.last.has_value());
  EXPECT_EQ(f.last->result, FederationFetchResult::kUpdated);
  EXPECT_EQ(f.failures, 0);
  EXPECT_GT(f.next_refresh, now);

  auto refreshed = admin().RefreshFederation(org_b);
  ASSERT_TRUE(refreshed.has_value()) << refreshed.error().message();
  EXPECT_EQ(refreshed->result, FederationFetchResult::kUpdated);
  EXPECT_EQ(refreshed->old_sequence, 1);
  EXPECT_EQ(refreshed->new_sequence, 2);
  // The endpoint is down now: the fetch fails, the bundle stays trusted.
  auto failed = admin().RefreshFederation(org_b);
  ASSERT_TRUE(failed.has_value()) << failed.error().message();
  EXPECT_EQ(failed->result, FederationFetchResult::kFailed);
  EXPECT_EQ(failed->reason, "unavailable");
  EXPECT_EQ(failed->message, "endpoint down");
  list = admin().ListFederations();
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(list->front().failures, 1);
  EXPECT_EQ(list->front().bundle_sequence, 2);
  EXPECT_TRUE(list->front().trusted);
  auto unknown = admin().RefreshFederation(Td("org-c.example"));
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code(), Code::kNotFound);

  auto map = admin().GetBundles();
  ASSERT_TRUE(map.has_value()) << map.error().message();
  EXPECT_EQ(Domains(*map),
            (std::vector<std::string>{"org-a.example", "org-b.example"}));
  EXPECT_EQ(map->GetBundle(org_b)->sequence(), 2);
  // A map's bundles carry no refresh hint (SPIFFE bundle map).
  const Bundle& own = *map->GetBundle(server_.trust_domain());
  EXPECT_EQ(own.x509_authorities(), server_.bundle().x509_authorities());
  EXPECT_EQ(own.sequence(), server_.bundle().sequence());
  EXPECT_FALSE(own.refresh_hint().has_value());

  ASSERT_TRUE(admin().RemoveFederation(org_b));
  auto gone = admin().RemoveFederation(org_b);
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().code(), Code::kNotFound);
  list = admin().ListFederations();
  ASSERT_TRUE(list.has_value());
  EXPECT_TRUE(list->empty());
  map = admin().GetBundles();
  ASSERT_TRUE(map.has_value());
  EXPECT_EQ(Domains(*map), std::vector<std::string>{"org-a.example"});
  EXPECT_TRUE(waits().empty());
}

TEST_F(ClientTest, FederationNeedsAnAdminAndAWellFormedSpec) {
  auto created = Must(admin().CreateApiKey("/agents/"));
  auto scoped =
      Make(std::string(created.api_key.View(InsecureSecretAccess::Get())));
  auto list = scoped->ListFederations();
  ASSERT_FALSE(list.has_value());
  EXPECT_EQ(list.error().code(), Code::kPermissionDenied);
  auto add = scoped->AddFederation(PartnerSpec());
  ASSERT_FALSE(add.has_value());
  EXPECT_EQ(add.error().code(), Code::kPermissionDenied);
  auto remove = scoped->RemoveFederation(Td("org-b.example"));
  ASSERT_FALSE(remove.has_value());
  EXPECT_EQ(remove.error().code(), Code::kPermissionDenied);

  // https_spiffe without its endpoint ID; https_web with one.
  FederationSpec no_id = PartnerSpec();
  no_id.endpoint_id.reset();
  auto refused = admin().AddFederation(no_id);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), Code::kInvalidArgument);
  FederationSpec web = PartnerSpec();
  web.profile = EndpointProfile::kHttpsWeb;
  refused = admin().AddFederation(web);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), Code::kInvalidArgument);
  // With oneself.
  FederationSpec self = PartnerSpec();
  self.trust_domain = server_.trust_domain();
  self.endpoint_id = Id("spiffe://org-a.example/aztpd");
  self.bootstrap_bundle = server_.bundle();
  refused = admin().AddFederation(self);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), Code::kInvalidArgument);
  // A bootstrap bundle of another domain never leaves the client.
  server_.ClearRequests();
  FederationSpec mixed = PartnerSpec();
  mixed.bootstrap_bundle = server_.bundle();
  refused = admin().AddFederation(mixed);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), Code::kInvalidArgument);
  EXPECT_TRUE(server_.requests().empty());
  EXPECT_TRUE(Must(admin().ListFederations()).empty());
}

// federates_with narrows an identity's view of the bundle map: by `for`
// with a key that manages it, or over mTLS with its own SVID.
TEST_F(ClientTest, GetBundlesNarrowsToWhatAnIdentityFederatesWith) {
  fetches_->Push("org-b.example", PartnerBundle(1));
  ASSERT_TRUE(admin().AddFederation(PartnerSpec()).has_value());
  test_support::TestDomains org_c(server_.clock().Now());
  org_c.AddDomain("org-c.example");
  fetches_->Push("org-c.example",
                 Bundle::Create(Td("org-c.example"),
                                {org_c.Ca("org-c.example").root()}, {}, 1, 60));
  FederationSpec spec_c{.trust_domain = Td("org-c.example")};
  spec_c.endpoint_url = "https://org-c.example/bundle";
  spec_c.profile = EndpointProfile::kHttpsWeb;
  auto added = admin().AddFederation(spec_c);
  ASSERT_TRUE(added.has_value()) << added.error().message();
  ASSERT_EQ(added->result, FederationFetchResult::kUpdated);
  const std::vector<std::string> all = {"org-a.example", "org-b.example",
                                        "org-c.example"};

  const SpiffeId pay = Id("spiffe://org-a.example/agents/pay");
  const SpiffeId open = Id("spiffe://org-a.example/agents/open");
  IdentityRegistration r{.id = pay};
  r.federates_with = std::vector<std::string>{"org-b.example"};
  auto registered = admin().RegisterIdentity(r);
  ASSERT_TRUE(registered.has_value()) << registered.error().message();
  EXPECT_EQ(registered->federates_with,
            std::vector<std::string>{"org-b.example"});
  Register(open.str());
  EXPECT_FALSE(Must(admin().GetIdentity(open)).federates_with.has_value());
  EXPECT_EQ(Must(admin().GetIdentity(pay)).federates_with,
            std::vector<std::string>{"org-b.example"});

  auto anonymous = Make("");
  EXPECT_EQ(Domains(Must(anonymous->GetBundles())), all);
  EXPECT_EQ(Domains(Must(admin().GetBundles())), all);
  EXPECT_EQ(Domains(Must(admin().GetBundles(pay))),
            (std::vector<std::string>{"org-a.example", "org-b.example"}));
  EXPECT_EQ(Domains(Must(admin().GetBundles(open))), all);
  auto no_key = anonymous->GetBundles(pay);
  ASSERT_FALSE(no_key.has_value());
  EXPECT_EQ(no_key.error().code(), Code::kUnauthenticated);
  auto missing = admin().GetBundles(Id("spiffe://org-a.example/agents/none"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);

  // Over mTLS the server narrows by the client's SVID; naming another
  // identity needs credentials for it.
  auto key = Must(PrivateKey::Generate(KeyType::kEcP256));
  auto svid = Must(
      admin().IssueX509Svid(pay, Must(CertificateRequest::Create(key, {}))));
  ClientOptions o = Options("");
  o.credentials =
      std::make_shared<const TlsCredentials>(TlsCredentials{svid.chain, key});
  auto mtls = Must(Client::Create(std::move(o)));
  EXPECT_EQ(Domains(Must(mtls->GetBundles())),
            (std::vector<std::string>{"org-a.example", "org-b.example"}));
  EXPECT_EQ(Domains(Must(mtls->GetBundles(pay))),
            (std::vector<std::string>{"org-a.example", "org-b.example"}));
  auto other = mtls->GetBundles(open);
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code(), Code::kPermissionDenied);

  // SetFederatesWith: none, then every domain again.
  auto none = admin().SetFederatesWith(pay, std::vector<std::string>{});
  ASSERT_TRUE(none.has_value()) << none.error().message();
  ASSERT_TRUE(none->federates_with.has_value());
  EXPECT_TRUE(none->federates_with->empty());
  EXPECT_EQ(Domains(Must(mtls->GetBundles())),
            std::vector<std::string>{"org-a.example"});
  auto every = admin().SetFederatesWith(pay, std::nullopt);
  ASSERT_TRUE(every.has_value()) << every.error().message();
  EXPECT_FALSE(every->federates_with.has_value());
  EXPECT_EQ(Domains(Must(mtls->GetBundles())), all);
  auto only_c =
      admin().SetFederatesWith(pay, std::vector<std::string>{"org-c.example"});
  ASSERT_TRUE(only_c.has_value());
  EXPECT_EQ(Domains(Must(admin().GetBundles(pay))),
            (std::vector<std::string>{"org-a.example", "org-c.example"}));

  auto self =
      admin().SetFederatesWith(pay, std::vector<std::string>{"org-a.example"});
  ASSERT_FALSE(self.has_value());
  EXPECT_EQ(self.error().code(), Code::kInvalidArgument);
  auto bad = admin().SetFederatesWith(pay, std::vector<std::string>{"Org B"});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().code(), Code::kInternal);
  auto unregistered = admin().SetFederatesWith(
      Id("spiffe://org-a.example/agents/none"), std::vector<std::string>{});
  ASSERT_FALSE(unregistered.has_value());
  EXPECT_EQ(unregistered.error().code(), Code::kNotFound);
  auto created = Must(admin().CreateApiKey("/tools/"));
  auto scoped =
      Make(std::string(created.api_key.View(InsecureSecretAccess::Get())));
  auto denied = scoped->SetFederatesWith(pay, std::nullopt);
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().code(), Code::kPermissionDenied);
  auto denied_view = scoped->GetBundles(pay);
  ASSERT_FALSE(denied_view.has_value());
  EXPECT_EQ(denied_view.error().code(), Code::kPermissionDenied);
}

// A bundle map must key every bundle under its own trust domain and be a
// map at all.
TEST_F(ClientTest, GetBundlesRefusesMisfiledBundles) {
  auto answer = std::make_shared<std::string>();
  server_.SetInterceptor(
      [answer](const http::Request& r) -> std::optional<http::Response> {
        if (r.path != "/v1/bundles") return std::nullopt;
        return JsonResponse(200, *answer);
      });
  // org-b's CA filed under org-c.
  Json misfiled = Json::object();
  misfiled["trust_domains"]["org-a.example"] = server_.bundle().ToJson();
  misfiled["trust_domains"]["org-c.example"] = PartnerBundle(1).ToJson();
  for (const std::string& body :
       {DumpJson(misfiled), std::string(R"({"trust_domains":[]})"),
        std::string(R"({"trust_domains":{"Org-B":{"keys":[]}}})"),
        std::string(R"({"bundles":{}})")}) {
    *answer = body;
    auto map = admin().GetBundles();
    ASSERT_FALSE(map.has_value()) << body;
    EXPECT_EQ(map.error().code(), Code::kMalformed) << body;
  }
  // The same map with org-b's CA under org-b is fine.
  misfiled["trust_domains"].erase("org-c.example");
  misfiled["trust_domains"]["org-b.example"] = PartnerBundle(1).ToJson();
  *answer = DumpJson(misfiled);
  auto map = admin().GetBundles();
  ASSERT_TRUE(map.has_value()) << map.error().message();
  EXPECT_EQ(Domains(*map),
            (std::vector<std::string>{"org-a.example", "org-b.example"}));
}

// The revocation lists by domain: the server's own, and a partner's whose
// fetch is recorded with the relationship (its endpoint is down here).
TEST_F(ClientTest, Finding13GetRevocationListsKeepsEachListToItsDomain) {
  const TrustDomain org_b = Td("org-b.example");
  fetches_->Push("org-b.example", PartnerBundle(1));
  FederationSpec spec = PartnerSpec();
  spec.revocations_url = "https://127.0.0.1:1/revocations";
  auto added = admin().AddFederation(spec);
  ASSERT_TRUE(added.has_value()) << added.error().message();
  ASSERT_NE(added->revocations, nullptr);
  EXPECT_EQ(added->revocations->result, FederationFetchResult::kFailed);
  EXPECT_EQ(added->revocations->trust_domain, org_b);
  auto list = admin().ListFederations();
  ASSERT_TRUE(list.has_value()) << list.error().message();
  EXPECT_EQ(list->front().revocations_url, spec.revocations_url);
  EXPECT_FALSE(list->front().revocations_sequence.has_value());
  ASSERT_TRUE(list->front().revocations_last.has_value());
  EXPECT_EQ(list->front().revocations_last->result,
            FederationFetchResult::kFailed);
  auto lists = admin().GetRevocationLists();
  ASSERT_TRUE(lists.has_value()) << lists.error().message();
  ASSERT_EQ(lists->size(), 1u);  // no good list of org-b yet
  EXPECT_EQ(lists->begin()->first, server_.trust_domain());

  auto answer = std::make_shared<std::string>();
  server_.SetInterceptor(
      [answer](const http::Request& r) -> std::optional<http::Response> {
        if (r.path != "/v1/revocation-lists") return std::nullopt;
        return JsonResponse(200, *answer);
      });
  const std::string own = R"("org-a.example":{"sequence":2,"ids":[]})";
  for (const std::string& body : {
           // org-b's list naming an org-a identity.
           "{\"trust_domains\":{" + own +
               R"(,"org-b.example":{"sequence":1,)"
               R"("ids":["spiffe://org-a.example/agents/a"]}}})",
           // Without the server's own domain.
           std::string(R"({"trust_domains":{"org-b.example":{"sequence":1}}})"),
           "{\"trust_domains\":{" + own + R"(,"org-b.example":{"ids":[]}}})",
           std::string(R"({"trust_domains":[]})"),
       }) {
    *answer = body;
    auto got = admin().GetRevocationLists();
    ASSERT_FALSE(got.has_value()) << body;
    EXPECT_EQ(got.error().code(), Code::kMalformed) << body;
  }
  *answer = "{\"trust_domains\":{" + own +
            R"(,"org-b.example":{"sequence":5,)"
            R"("ids":["spiffe://org-b.example/agents/x"]}}})";
  lists = admin().GetRevocationLists();
  ASSERT_TRUE(lists.has_value()) << lists.error().message();
  ASSERT_EQ(lists->size(), 2u);
  EXPECT_EQ(lists->at(server_.trust_domain()).sequence(), 2);
  EXPECT_TRUE(
      lists->at(org_b).IsRevokedId(Id("spiffe://org-b.example/agents/x")));
}

}  // namespace
}  // namespace aztp::client_test

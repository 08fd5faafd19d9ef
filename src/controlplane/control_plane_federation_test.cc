// The control plane's federation through Handle(): fetched bundles,
// relationships added through the API, and federates_with.
#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <atomic>
#include <thread>

#include "aztp/ca/authority.h"
#include "aztp/jose/jws.h"
#include "aztp/svid/x509_svid.h"
#include "aztp/x509/csr.h"
#include "control_plane_test_fixture.h"

namespace aztp {
namespace {

// Federation with a scripted fetcher: Maintain fetches org-b's bundle, which
// then verifies org-b's clients and is served in the bundle map; a failed
// refresh keeps it; every change is audited.
TEST_F(ControlPlaneTest, FetchesFederatedBundlesAndAuditsChanges) {
  auto org_b = *TrustDomain::Parse("org-b.example");
  auto ca_b = *CertificateAuthority::Create(org_b, {}, kNow - 60);
  Bundle b1 = *Bundle::Create(org_b, {ca_b.root()}, {}, 1, 60);
  std::vector<Result<Bundle>> answers = {b1, Error(Code::kUnavailable, "down")};
  std::size_t next = 0;
  ControlPlaneOptions o = Options();
  FederationRelationship rel{org_b};
  rel.endpoint_url = "https://127.0.0.1:1/v1/bundle";
  rel.endpoint_id = *SpiffeId::Parse("spiffe://org-b.example/aztpd");
  rel.bootstrap_bundle = std::make_shared<const Bundle>(b1);
  o.federation = {rel};
  o.fetcher = [&](const FederationRelationship&,
                  std::shared_ptr<const Bundle>) -> Result<Bundle> {
    return next < answers.size() ? answers[next++]
                                 : Result<Bundle>(Error(Code::kIo, "none"));
  };
  Reopen(o);  // Open runs Maintain once: the first fetch
  EXPECT_EQ(next, 1u);
  ASSERT_NE(cp_->bundles()->GetBundle(org_b), nullptr);
  http::Request r;
  r.method = "GET";
  r.path = "/v1/bundles";
  auto map = BundleSet::ParseMap(cp_->Handle(r).body);
  ASSERT_TRUE(map.has_value());
  EXPECT_EQ(map->size(), 2u);
  // An org-b workload's SVID verifies (mTLS between workloads) but does not
  // authenticate to this control plane.
  http::Request d = Get("/v1/discover", "");
  d.headers.clear();
  d.peer = *SpiffeId::Parse("spiffe://org-b.example/agent");
  EXPECT_EQ(cp_->Handle(d).status, 401);
  clock_.Advance(61);
  ASSERT_TRUE(cp_->Maintain().has_value());
  EXPECT_EQ(next, 2u);
  EXPECT_NE(cp_->bundles()->GetBundle(org_b), nullptr);  // last good kept
  std::vector<AuditRecord> records;
  ASSERT_TRUE(store_->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(records, tx.ListAudit(0, 100));
    return Ok();
  }));
  std::vector<std::string> federation;
  for (const auto& a : records) {
    if (a.action.rfind("federation.", 0) == 0) {
      federation.push_back(a.action + " " + a.decision);
    }
  }
  EXPECT_EQ(federation, (std::vector<std::string>{"federation.updated allow",
                                                  "federation.failed deny"}));
  // Federating with oneself is refused.
  rel.trust_domain = *TrustDomain::Parse("org-a.example");
  rel.endpoint_id = *SpiffeId::Parse("spiffe://org-a.example/aztpd");
  rel.bootstrap_bundle = std::make_shared<const Bundle>(cp_->bundle());
  ASSERT_TRUE(rel.Validate());
  o.federation = {rel};
  auto self = ControlPlane::Open(store_, o);
  ASSERT_FALSE(self.has_value());
  EXPECT_NE(self.error().message().find("itself"), std::string::npos);
}

// Relationships added through the API: stored, audited, fetched at once,
// listed with their state, refreshed on demand, kept across a restart
// together with their last good bundle, and removed.
TEST_F(ControlPlaneTest, FederationApiAddsListsRefreshesAndRemoves) {
  auto org_b = *TrustDomain::Parse("org-b.example");
  auto ca_b = *CertificateAuthority::Create(org_b, {}, kNow - 60);
  Bundle b1 = *Bundle::Create(org_b, {ca_b.root()}, {}, 1, 60);
  Bundle b2 = *Bundle::Create(org_b, {ca_b.root()}, {}, 2, 60);
  std::vector<Result<Bundle>> answers = {b1, b2};
  std::size_t next = 0;
  ControlPlaneOptions o = Options();
  o.fetcher = [&](const FederationRelationship&,
                  std::shared_ptr<const Bundle>) -> Result<Bundle> {
    return next < answers.size()
               ? answers[next++]
               : Result<Bundle>(Error(Code::kUnavailable, "endpoint down"));
  };
  Reopen(o);
  Json add{{"trust_domain", "org-b.example"},
           {"endpoint_url", "https://127.0.0.1:1/bundle"},
           {"profile", "https_spiffe"},
           {"endpoint_id", "spiffe://org-b.example/aztpd"},
           {"bootstrap_bundle", b1.ToJson()}};
  // Only admins; exactly the profile's parameters.
  auto scoped = Body(Call("POST", "/v1/apikeys", R"({"scope":"/agents/"})"));
  EXPECT_EQ(Call("POST", "/v1/federations", DumpJson(add),
                 scoped["api_key"].get<std::string>())
                .status,
            403);
  Json no_id = add;
  no_id.erase("endpoint_id");
  EXPECT_EQ(Call("POST", "/v1/federations", DumpJson(no_id)).status, 400);
  Json web_with_boot = add;
  web_with_boot["profile"] = "https_web";
  web_with_boot.erase("endpoint_id");
  EXPECT_EQ(Call("POST", "/v1/federations", DumpJson(web_with_boot)).status,
            400);
  Json self = add;
  self["trust_domain"] = "org-a.example";
  EXPECT_EQ(Call("POST", "/v1/federations", DumpJson(self)).status, 400);
  Json extra = add;
  extra["guess"] = true;
  EXPECT_EQ(Call("POST", "/v1/federations", DumpJson(extra)).status, 400);

  auto created = Call("POST", "/v1/federations", DumpJson(add));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(Body(created)["first_fetch"]["result"], "updated");
  EXPECT_NE(cp_->bundles()->GetBundle(org_b), nullptr);
  EXPECT_EQ(Call("POST", "/v1/federations", DumpJson(add)).status, 409);

  auto list = Body(Call("GET", "/v1/federations"))["federations"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["source"], "api");
  EXPECT_EQ(list[0]["bundle_sequence"], 1);
  EXPECT_EQ(list[0]["last"]["result"], "updated");

  auto refreshed =
      Call("POST", "/v1/federations/org-b.example:refresh", "", "");
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  EXPECT_EQ(Body(refreshed)["new_sequence"], 2);
  auto failed = Body(Call("POST", "/v1/federations/org-b.example:refresh"));
  EXPECT_EQ(failed["result"], "failed");
  EXPECT_EQ(failed["message"], "endpoint down");
  EXPECT_EQ(Call("POST", "/v1/federations/org-c.example:refresh").status, 404);

  // After a restart with the endpoint down, the kept bundle (sequence 2)
  // is trusted at once.
  Reopen(o);
  auto kept = cp_->bundles()->GetBundle(org_b);
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->sequence(), 2);

  auto removed = Call("DELETE", "/v1/federations/org-b.example");
  ASSERT_EQ(removed.status, 200) << removed.body;
  EXPECT_EQ(cp_->bundles()->GetBundle(org_b), nullptr);
  EXPECT_EQ(Call("DELETE", "/v1/federations/org-b.example").status, 404);
  EXPECT_TRUE(Body(Call("GET", "/v1/federations"))["federations"].empty());

  std::vector<std::string> actions;
  ASSERT_TRUE(store_->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto records, tx.ListAudit(0, 1000));
    for (const auto& a : records) {
      if (a.action.rfind("federation.", 0) == 0) actions.push_back(a.action);
    }
    return Ok();
  }));
  EXPECT_EQ(actions, (std::vector<std::string>{
                         "federation.add", "federation.updated",
                         "federation.updated", "federation.failed",
                         "federation.failed", "federation.remove"}));

  // A relationship of the configuration file cannot be added or removed
  // through the API.
  FederationRelationship rel{org_b};
  rel.endpoint_url = "https://127.0.0.1:1/v1/bundle";
  rel.endpoint_id = *SpiffeId::Parse("spiffe://org-b.example/aztpd");
  rel.bootstrap_bundle = std::make_shared<const Bundle>(b1);
  o.federation = {rel};
  Reopen(o);
  EXPECT_EQ(Body(Call("GET", "/v1/federations"))["federations"][0]["source"],
            "config");
  EXPECT_EQ(Call("POST", "/v1/federations", DumpJson(add)).status, 409);
  EXPECT_EQ(Call("DELETE", "/v1/federations/org-b.example").status, 400);
}

// federates_with narrows which federated domains an identity accepts: its
// view of /v1/bundles holds only those (and its own domain).
TEST_F(ControlPlaneTest, FederatesWithNarrowsAnIdentitysBundles) {
  ControlPlaneOptions o = Options();
  std::vector<FederationRelationship> rels;
  for (const char* name : {"org-b.example", "org-c.example"}) {
    auto td = *TrustDomain::Parse(name);
    auto ca = *CertificateAuthority::Create(td, {}, kNow - 60);
    FederationRelationship rel{td};
    rel.endpoint_url = std::string("https://") + name + "/bundle";
    rel.profile = EndpointProfile::kHttpsWeb;
    rels.push_back(rel);
  }
  o.federation = rels;
  o.fetcher = [&](const FederationRelationship& rel,
                  std::shared_ptr<const Bundle>) -> Result<Bundle> {
    auto ca = *CertificateAuthority::Create(rel.trust_domain, {}, kNow - 60);
    return Bundle::Create(rel.trust_domain, {ca.root()}, {}, 1, 60);
  };
  Reopen(o);
  auto domains = [&](const http::Response& r) {
    std::vector<std::string> out;
    auto map = ParseJson(r.body);
    if (!map) return out;
    for (auto& [k, v] : (*map)["trust_domains"].items()) out.push_back(k);
    return out;
  };
  const std::vector<std::string> all = {"org-a.example", "org-b.example",
                                        "org-c.example"};
  auto reg = Call("POST", "/v1/identities",
                  R"({"id":"spiffe://org-a.example/agents/pay",)"
                  R"("federates_with":["org-b.example"]})");
  ASSERT_EQ(reg.status, 201) << reg.body;
  EXPECT_EQ(Body(reg)["federates_with"], Json::array({"org-b.example"}));
  ASSERT_EQ(Call("POST", "/v1/identities",
                 R"({"id":"spiffe://org-a.example/agents/open"})")
                .status,
            201);
  EXPECT_EQ(Call("POST", "/v1/identities",
                 R"({"id":"spiffe://org-a.example/agents/x",)"
                 R"("federates_with":["org-a.example"]})")
                .status,
            400);

  // Anonymous: the whole set. For an identity: narrowed.
  http::Request anon;
  anon.method = "GET";
  anon.path = "/v1/bundles";
  EXPECT_EQ(domains(cp_->Handle(anon)), all);
  EXPECT_EQ(domains(Call("GET", "/v1/bundles")), all);
  http::Request for_pay = Get("/v1/bundles", admin_);
  for_pay.query["for"] = "spiffe://org-a.example/agents/pay";
  EXPECT_EQ(domains(cp_->Handle(for_pay)),
            (std::vector<std::string>{"org-a.example", "org-b.example"}));
  http::Request for_open = for_pay;
  for_open.query["for"] = "spiffe://org-a.example/agents/open";
  EXPECT_EQ(domains(cp_->Handle(for_open)), all);
  // The mTLS caller gets its own view; naming another identity needs
  // credentials for it.
  http::Request peer;
  peer.method = "GET";
  peer.path = "/v1/bundles";
  peer.peer = *SpiffeId::Parse("spiffe://org-a.example/agents/pay");
  EXPECT_EQ(domains(cp_->Handle(peer)),
            (std::vector<std::string>{"org-a.example", "org-b.example"}));
  peer.query["for"] = "spiffe://org-a.example/agents/open";
  EXPECT_EQ(cp_->Handle(peer).status, 403);
  anon.query["for"] = "spiffe://org-a.example/agents/pay";
  EXPECT_EQ(cp_->Handle(anon).status, 401);

  // PATCH changes the list; an empty list accepts no federated domain,
  // null every one.
  auto patched = Call("PATCH", "/v1/identities/org-a.example/agents/pay",
                      R"({"federates_with":[]})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(domains(cp_->Handle(for_pay)),
            std::vector<std::string>{"org-a.example"});
  ASSERT_EQ(Call("PATCH", "/v1/identities/org-a.example/agents/pay",
                 R"({"federates_with":null})")
                .status,
            200);
  EXPECT_EQ(domains(cp_->Handle(for_pay)), all);
  EXPECT_EQ(Call("PATCH", "/v1/identities/org-a.example/agents/pay",
                 R"({"global":true})")
                .status,
            400);
  EXPECT_EQ(Call("PATCH", "/v1/identities/org-a.example/agents/none",
                 R"({"federates_with":[]})")
                .status,
            404);
}

}  // namespace
}  // namespace aztp

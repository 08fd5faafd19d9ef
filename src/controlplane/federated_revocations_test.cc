// Revocation lists across federation at the control plane
// (docs/federation.md, "Revocations across federation"): a partner's list
// fetched after its bundle with scripted fetchers, kept, audited, counted,
// kept across a restart, and served with the own list at
// GET /v1/revocation-lists.
#include <gtest/gtest.h>

#include <deque>

#include "aztp/ca/authority.h"
#include "aztp/controlplane/control_plane.h"
#include "testing/control_plane_fixture.h"
#include "testing/temp_dir.h"

namespace aztp {
namespace {

constexpr UnixTime kNow = 1'800'000'000;
const char* kRogue = "spiffe://org-b.example/agent/rogue";

RevocationList List(int64_t seq, std::vector<const char*> ids) {
  std::vector<SpiffeId> parsed;
  for (const char* id : ids) parsed.push_back(*SpiffeId::Parse(id));
  return *RevocationList::Create(seq, std::move(parsed), {}, {});
}

class FederatedRevocationsTest : public testing::Test {
 protected:
  void SetUp() override {
    options_ = test_support::TestControlPlaneOptions(&clock_);
    options_.fetcher = [this](const FederationRelationship&,
                              std::shared_ptr<const Bundle>) {
      return Result<Bundle>(bundle_);
    };
    options_.revocations_fetcher =
        [this](const FederationRelationship& rel,
               std::shared_ptr<const Bundle> trust) -> Result<RevocationList> {
      EXPECT_EQ(rel.revocations_url, "https://127.0.0.1:1/revocations");
      EXPECT_NE(trust, nullptr);
      ++list_fetches_;
      if (lists_.empty()) return Error(Code::kIo, "endpoint down");
      Result<RevocationList> next = std::move(lists_.front());
      lists_.pop_front();
      return next;
    };
    Reopen();
  }

  void Reopen() {
    cp_.reset();  // one control plane over the store at a time
    cp_ = test_support::OpenTestControlPlane(store_, options_);
  }

  // Call sends a request as the admin, or with `key` ("-": none).
  http::Response Call(const std::string& method, const std::string& path,
                      const std::string& body = "", std::string key = "") {
    if (key.empty()) key = admin_;
    return cp_->Handle(test_support::NativeRequest(method, path, body, key));
  }
  static Json Body(const http::Response& r) { return *ParseJson(r.body); }

  // Lists is GET /v1/revocation-lists, without credentials.
  Json Lists() {
    http::Response r = Call("GET", "/v1/revocation-lists", "", "-");
    EXPECT_EQ(r.status, 200) << r.body;
    return Body(r)["trust_domains"];
  }

  Json AddBody(bool with_revocations) {
    Json add{{"trust_domain", "org-b.example"},
             {"endpoint_url", "https://127.0.0.1:1/bundle"},
             {"profile", "https_spiffe"},
             {"endpoint_id", "spiffe://org-b.example/aztpd"},
             {"bootstrap_bundle", bundle_.ToJson()}};
    if (with_revocations) {
      add["revocations_url"] = "https://127.0.0.1:1/revocations";
    }
    return add;
  }

  // RevocationActions are the audited revocation list fetches, each as
  // "action reason".
  std::vector<std::string> RevocationActions() {
    std::vector<std::string> actions;
    for (const auto& a : test_support::AuditRecords(*store_)) {
      if (a.action.starts_with("federation.revocations_")) {
        actions.push_back(a.action + " " + a.reason);
      }
    }
    return actions;
  }

  test_support::TempDir dir_{"aztp_fedrev_"};
  const test_support::InitializedStore init_ =
      test_support::InitializeTestStore(dir_.File("aztpd.db"), "org-a.example",
                                        kNow - 3600);
  const std::shared_ptr<Store> store_ = init_.store;
  const std::string admin_ = init_.admin_api_key;
  FixedClock clock_{kNow};
  TrustDomain org_b_ = *TrustDomain::Parse("org-b.example");
  CertificateAuthority ca_b_ =
      *CertificateAuthority::Create(org_b_, {}, kNow - 60);
  Bundle bundle_ = *Bundle::Create(org_b_, {ca_b_.root()}, {}, 1, 60);
  std::deque<Result<RevocationList>> lists_;
  int list_fetches_ = 0;
  ControlPlaneOptions options_;
  std::unique_ptr<ControlPlane> cp_;
};

TEST_F(FederatedRevocationsTest, Finding13PartnersListIsFetchedKeptAndServed) {
  // revocations_url is explicit and on the bundle endpoint's server.
  Json elsewhere = AddBody(true);
  elsewhere["revocations_url"] = "https://127.0.0.2:1/revocations";
  EXPECT_EQ(Call("POST", "/v1/federations", DumpJson(elsewhere)).status, 400);

  lists_.push_back(List(3, {kRogue}));
  auto created = Call("POST", "/v1/federations", DumpJson(AddBody(true)));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(Body(created)["first_fetch"]["result"], "updated");
  EXPECT_EQ(Body(created)["first_fetch"]["revocations"]["result"], "updated");
  EXPECT_EQ(Body(created)["first_fetch"]["revocations"]["new_sequence"], 3);

  // Public, each list under its own domain; the own one is /v1/revocations.
  Json lists = Lists();
  ASSERT_EQ(lists.size(), 2u) << lists;
  EXPECT_EQ(lists["org-b.example"]["ids"], Json::array({kRogue}));
  EXPECT_EQ(lists["org-a.example"],
            Body(Call("GET", "/v1/revocations", "", "-")));
  ASSERT_EQ(Call("POST", "/v1/identities",
                 R"({"id":"spiffe://org-a.example/agent/research"})")
                .status,
            201);
  ASSERT_EQ(
      Call("POST", "/v1/identities/org-a.example/agent/research:revoke").status,
      200);
  lists = Lists();
  EXPECT_EQ(lists["org-a.example"]["ids"],
            Json::array({"spiffe://org-a.example/agent/research"}));
  EXPECT_EQ(lists["org-b.example"]["sequence"], 3);

  // A rollback and another domain's IDs are rejected; failures too: the
  // last good list stays. The refresh answer says why.
  lists_.push_back(List(2, {}));
  Json r = Body(Call("POST", "/v1/federations/org-b.example:refresh"));
  EXPECT_EQ(r["revocations"]["result"], "rejected");
  EXPECT_EQ(r["revocations"]["reason"], "sequence_rollback");
  lists_.push_back(List(4, {kRogue, "spiffe://org-a.example/agent/planner"}));
  r = Body(Call("POST", "/v1/federations/org-b.example:refresh"));
  EXPECT_EQ(r["revocations"]["reason"], "foreign_id");
  r = Body(Call("POST", "/v1/federations/org-b.example:refresh"));
  EXPECT_EQ(r["revocations"]["result"], "failed");
  EXPECT_EQ(r["revocations"]["reason"], "io_error");
  EXPECT_EQ(Lists()["org-b.example"]["sequence"], 3);

  Json item = Body(Call("GET", "/v1/federations"))["federations"][0];
  EXPECT_EQ(item["revocations_url"], "https://127.0.0.1:1/revocations");
  EXPECT_EQ(item["revocations_sequence"], 3);
  EXPECT_EQ(item["revocations_last"]["result"], "failed");
  EXPECT_EQ(item["revocations_last_fetch"], kNow);

  http::Response m = Call("GET", "/metrics", "", "-");
  EXPECT_NE(m.body.find("aztpd_federation_revocations_fetches_total{result="
                        "\"rejected\",trust_domain=\"org-b.example\"} 2"),
            std::string::npos)
      << m.body;

  // After a restart with the partner's endpoint down, the kept list is in
  // force at once.
  Reopen();
  EXPECT_EQ(Lists()["org-b.example"]["sequence"], 3);
  EXPECT_EQ(Lists()["org-b.example"]["ids"], Json::array({kRogue}));

  EXPECT_EQ(RevocationActions(),
            (std::vector<std::string>{
                "federation.revocations_updated ",
                "federation.revocations_rejected sequence_rollback",
                "federation.revocations_rejected foreign_id",
                "federation.revocations_failed io_error",
                // Open's first Maintain, with the endpoint still down.
                "federation.revocations_failed io_error"}));

  // Removing the relationship removes its list.
  ASSERT_EQ(Call("DELETE", "/v1/federations/org-b.example").status, 200);
  EXPECT_EQ(Lists().size(), 1u);
  Reopen();
  EXPECT_EQ(Lists().size(), 1u);
}

TEST_F(FederatedRevocationsTest,
       Finding13WithoutRevocationsUrlNothingIsFetched) {
  auto created = Call("POST", "/v1/federations", DumpJson(AddBody(false)));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_FALSE(Body(created)["first_fetch"].contains("revocations"));
  EXPECT_EQ(list_fetches_, 0);
  Json lists = Lists();
  EXPECT_EQ(lists.size(), 1u);
  EXPECT_TRUE(lists.contains("org-a.example"));
  Json item = Body(Call("GET", "/v1/federations"))["federations"][0];
  EXPECT_TRUE(item["revocations_url"].is_null());
  EXPECT_TRUE(item["revocations_sequence"].is_null());
}

TEST_F(FederatedRevocationsTest, Finding13MaxRefreshBoundsThePartnersHint) {
  options_.federation_max_refresh_seconds = 2;  // the bundle's hint is 60
  Reopen();
  lists_.push_back(List(1, {}));
  ASSERT_EQ(Call("POST", "/v1/federations", DumpJson(AddBody(true))).status,
            201);
  Json item = Body(Call("GET", "/v1/federations"))["federations"][0];
  EXPECT_EQ(item["next_refresh"], kNow + 2);
  lists_.push_back(List(2, {kRogue}));
  clock_.Advance(2);
  ASSERT_TRUE(cp_->Maintain().has_value());
  EXPECT_EQ(Lists()["org-b.example"]["sequence"], 2);
}

}  // namespace
}  // namespace aztp

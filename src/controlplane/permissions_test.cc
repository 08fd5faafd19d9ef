// Who may do what on aztpd's API: the regression tests of the security
// review's findings (docs/aztpd.md, "Hardening").
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "aztp/controlplane/control_plane.h"
#include "controlplane/api.h"
#include "testing/control_plane_fixture.h"
#include "testing/temp_dir.h"

namespace aztp {
namespace {

constexpr UnixTime kNow = 1'800'000'000;
constexpr char kPayments[] = "spiffe://org-a.example/tools/payments";
constexpr char kPaymentsAdmin[] = "spiffe://org-a.example/tools/payments-admin";
constexpr char kOther[] = "spiffe://org-a.example/tools/other";
constexpr char kFederated[] = "spiffe://org-b.example/tools/payments";

class PermissionsTest : public ::testing::Test {
 protected:
  void SetUp() override { Open("aztpd.db"); }

  // Open starts over on a new store in file `name` with three identities.
  void Open(const std::string& name) {
    cp_.reset();
    auto init = testing::InitializeTestStore(dir_.File(name), "org-a.example",
                                             kNow - 3600);
    store_ = init.store;
    admin_ = init.admin_api_key;
    cp_ = testing::OpenTestControlPlane(store_, &clock_);
    for (const char* id : {kPayments, kPaymentsAdmin, kOther}) {
      ASSERT_EQ(Register(id).status, 201);
    }
  }

  http::Response Call(const std::string& method, const std::string& path,
                      const std::string& body = "",
                      const std::string& key = "") {
    return cp_->Handle(
        testing::NativeRequest(method, path, body, key.empty() ? admin_ : key));
  }
  // AsPeer sends a request authenticated by an mTLS client SVID only.
  http::Response AsPeer(const std::string& peer, const std::string& method,
                        const std::string& path, const std::string& body = "") {
    http::Request r = testing::NativeRequest(method, path, body, "-");
    r.peer = *SpiffeId::Parse(peer);
    return cp_->Handle(r);
  }
  http::Response Register(const std::string& id, const std::string& key = "",
                          const std::string& extra = "") {
    return Call("POST", "/v1/identities",
                R"({"id":")" + id + "\"" + extra + "}", key);
  }
  // Path is the /v1/identities route of `id`, with `action` when given.
  static std::string Path(const std::string& id,
                          const std::string& action = "") {
    return "/v1/identities/" + id.substr(9) +
           (action.empty() ? "" : ":" + action);
  }
  Json Body(const http::Response& r) {
    auto j = ParseJson(r.body);
    EXPECT_TRUE(j.has_value()) << r.body;
    return j ? *j : Json::object();
  }
  std::string Reason(const http::Response& r) {
    return Body(r).value("error", "");
  }
  std::string Key(const std::string& scope) {
    auto r = Call("POST", "/v1/apikeys", R"({"scope":")" + scope + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    return Body(r).value("api_key", "");
  }

  testing::TempDir dir_{"aztp_perm_"};
  FixedClock clock_{kNow};
  std::shared_ptr<Store> store_;
  std::unique_ptr<ControlPlane> cp_;
  std::string admin_;
};

// Finding 1: a key scoped /tools/payments reached /tools/payments-admin and
// registered /tools/paymentsXYZ, because scopes matched string prefixes.
TEST_F(PermissionsTest, Finding1ScopesMatchWholePathSegments) {
  const std::string key = Key("/tools/payments");
  EXPECT_EQ(Call("GET", Path(kPayments), "", key).status, 200);
  EXPECT_EQ(Register(std::string(kPayments) + "/quotes", key).status, 201);
  EXPECT_EQ(Register("spiffe://org-a.example/tools/paymentsXYZ", key).status,
            403);
  for (const auto& [method, path, body] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"GET", Path(kPaymentsAdmin), ""},
           {"POST", Path(kPaymentsAdmin, "revoke"), ""},
           {"POST", Path(kPaymentsAdmin, "reissue"), ""},
           {"PATCH", Path(kPaymentsAdmin), R"({"federates_with":[]})"},
           {"POST", "/v1/svid/x509",
            R"({"id":")" + std::string(kPaymentsAdmin) + R"(","csr":)" +
                testing::CsrJson() + "}"},
           {"POST", "/v1/svid/jwt",
            R"({"id":")" + std::string(kPaymentsAdmin) +
                R"(","audience":["x"]})"}}) {
    auto r = Call(method, path, body, key);
    EXPECT_EQ(r.status, 403) << method << " " << path << " -> " << r.body;
  }
  // Listing shows the scope's own identities only.
  Json list = Body(Call("GET", "/v1/identities", "", key));
  std::vector<std::string> ids;
  for (const auto& i : list["identities"]) ids.push_back(i["id"]);
  EXPECT_EQ(ids, (std::vector<std::string>{
                     kPayments, std::string(kPayments) + "/quotes"}));
}

// Finding 1: scopes are normalised when a key is created, and what is not a
// plain SPIFFE path is refused with a 400 that says what a scope is.
TEST_F(PermissionsTest, Finding1ScopesAreNormalisedOrRefusedAtCreation) {
  for (const auto& [given, stored] :
       std::vector<std::pair<std::string, std::string>>{
           {"/tools/", "/tools"},
           {"/tools/payments", "/tools/payments"},
           {"/", "/"},
           {"admin", "admin"}}) {
    auto r = Call("POST", "/v1/apikeys", R"({"scope":")" + given + R"("})");
    ASSERT_EQ(r.status, 201) << given << " -> " << r.body;
    EXPECT_EQ(Body(r)["scope"], stored) << given;
  }
  for (const char* bad :
       {"", "tools", "//", "/tools//", "/tools//x", "/tools/./x", "/tools/..",
        "/tools/../agents", "/tools/x y", "/tools/%41",
        "spiffe://org-a.example/x", "/tools/\u00e9"}) {
    auto r = Call("POST", "/v1/apikeys",
                  DumpJson(Json{{"scope", std::string(bad)}}));
    EXPECT_EQ(r.status, 400) << bad << " -> " << r.body;
    EXPECT_EQ(Reason(r), "invalid_argument") << bad;
    EXPECT_NE(Body(r)["message"].get<std::string>().find("SPIFFE path"),
              std::string::npos)
        << r.body;
  }
  // A long scope is refused like a long ID.
  auto r = Call("POST", "/v1/apikeys",
                DumpJson(Json{{"scope", "/" + std::string(2100, 'a')}}));
  EXPECT_EQ(r.status, 400) << r.body;
}

// Finding 1: keys stored before normalisation ("/tools/") keep working,
// with the segment rule.
TEST_F(PermissionsTest, Finding1StoredScopesWithATrailingSlashStillWork) {
  auto key = internal::MakeApiKey("/tools/", "stored before the fix", kNow);
  ASSERT_TRUE(key.has_value());
  ASSERT_TRUE(store_->Write(
      [&](Transaction& tx) { return tx.InsertApiKey(key->record); }));
  EXPECT_EQ(
      Register("spiffe://org-a.example/tools/new", key->secret_text).status,
      201);
  EXPECT_EQ(
      Register("spiffe://org-a.example/toolsXYZ", key->secret_text).status,
      403);
  // A stored scope that is no path at all manages nothing.
  auto broken = internal::MakeApiKey("tools", "corrupt", kNow);
  ASSERT_TRUE(broken.has_value());
  ASSERT_TRUE(store_->Write(
      [&](Transaction& tx) { return tx.InsertApiKey(broken->record); }));
  EXPECT_EQ(Call("GET", Path(kPayments), "", broken->secret_text).status, 403);
}

// Finding 1 (sibling): a scoped key manages IDs of aztpd's own trust domain
// only; a matching path in another trust domain is not covered.
TEST_F(PermissionsTest, Finding1ScopesCoverOnlyTheOwnTrustDomain) {
  ControlPlane::Principal p;
  p.scope = *internal::ParseScope(*TrustDomain::Parse("org-a.example"),
                                  "/tools/payments");
  EXPECT_TRUE(p.MayManage(*SpiffeId::Parse(kPayments)));
  EXPECT_TRUE(p.MayManage(*SpiffeId::Parse(std::string(kPayments) + "/x")));
  EXPECT_FALSE(p.MayManage(*SpiffeId::Parse(kFederated)));
  EXPECT_FALSE(p.MayManage(*SpiffeId::Parse(kPaymentsAdmin)));
  EXPECT_FALSE(p.MayManage(*SpiffeId::Parse("spiffe://org-a.example/tools")));
  ControlPlane::Principal whole;
  whole.scope =
      *internal::ParseScope(*TrustDomain::Parse("org-a.example"), "/");
  EXPECT_TRUE(whole.MayManage(*SpiffeId::Parse(kOther)));
  EXPECT_FALSE(whole.MayManage(*SpiffeId::Parse(kFederated)));

  const std::string key = Key("/tools/payments");
  EXPECT_EQ(Call("GET", "/v1/identities/org-b.example/tools/payments", "", key)
                .status,
            403);
  http::Request policies =
      testing::NativeRequest("GET", "/v1/policies", "", key);
  policies.query["identity"] = kFederated;
  EXPECT_EQ(cp_->Handle(policies).status, 403);
}

// Finding 2: an SVID of a federated trust domain (trusted at the TLS
// handshake, since the listener trusts federated bundles) authenticated to
// the API: it listed /v1/discover and wrote to /v1/audit:ingest.
TEST_F(PermissionsTest, Finding2FederatedSvidsDoNotAuthenticate) {
  for (const auto& [method, path, body] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"GET", "/v1/discover", ""},
           {"POST", "/v1/audit:ingest", R"({"records":[]})"},
           {"GET", "/v1/identities", ""},
           {"POST", "/v1/svid/jwt",
            R"({"id":")" + std::string(kFederated) + R"(","audience":["x"]})"},
           {"POST", "/v1/authorize",
            R"({"identity":")" + std::string(kPayments) +
                R"(","action":"a"})"}}) {
    auto r = AsPeer(kFederated, method, path, body);
    EXPECT_EQ(r.status, 401) << method << " " << path << " -> " << r.body;
    EXPECT_EQ(Reason(r), "unauthenticated");
    EXPECT_NE(r.body.find("trust domain org-b.example"), std::string::npos)
        << r.body;
    EXPECT_NE(r.body.find("org-a.example only"), std::string::npos) << r.body;
  }
  // Nothing was shipped under the federated source.
  Json sources = Body(Call("GET", "/v1/audit/sources"));
  EXPECT_EQ(sources["sources"].size(), 0u) << sources;
  // Public routes stay public; the federated peer gets the anonymous view.
  EXPECT_EQ(AsPeer(kFederated, "GET", "/v1/bundles").status, 200);
  EXPECT_EQ(AsPeer(kFederated, "GET", "/v1/revocations").status, 200);
  // The own trust domain's SVIDs still authenticate.
  EXPECT_EQ(AsPeer(kOther, "GET", "/v1/discover").status, 200);
}

// Finding 3: a scoped key linked its identity to one it does not manage;
// links, and parents given at registration, need rights on both ends.
TEST_F(PermissionsTest, Finding3LinksNeedRightsOnBothEnds) {
  const std::string key = Key("/tools/payments");
  ASSERT_EQ(Register(std::string(kPayments) + "/child", key).status, 201);
  auto r = Call("POST", Path(kPayments, "link"),
                R"({"to":")" + std::string(kOther) + R"("})", key);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("both"), std::string::npos) << r.body;
  // Not registered and not managed: still 403, not 404.
  r = Call("POST", Path(kPayments, "link"),
           R"({"to":"spiffe://org-a.example/nobody"})", key);
  EXPECT_EQ(r.status, 403) << r.body;
  r = Call("POST", Path(kPayments, "link"),
           R"({"to":")" + std::string(kPayments) + R"(/child"})", key);
  EXPECT_EQ(r.status, 201) << r.body;
  r = Register(std::string(kPayments) + "/second", key,
               R"(,"parent":")" + std::string(kOther) + "\"");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(Call("GET", Path(std::string(kPayments) + "/second")).status, 404);
  r = Register(std::string(kPayments) + "/second", key,
               R"(,"parent":")" + std::string(kPayments) + "\"");
  EXPECT_EQ(r.status, 201) << r.body;
  // No link reaches kOther.
  Json other = Body(Call("GET", Path(kOther)));
  EXPECT_EQ(other["links"].size(), 0u) << other;
}

}  // namespace
}  // namespace aztp

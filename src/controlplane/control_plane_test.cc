// The control plane's API driven directly through Handle(), with a real
// SQLite store in a temporary folder and a fixed clock.
#include "aztp/controlplane/control_plane.h"

#include <gtest/gtest.h>

#include "aztp/svid/x509_svid.h"
#include "aztp/x509/csr.h"
#include "testing/temp_dir.h"

namespace aztp {
namespace {

constexpr UnixTime kNow = 1'800'000'000;

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenSqliteStore(dir_.File("aztpd.db"));
    ASSERT_TRUE(store.has_value()) << store.error().message();
    store_ = std::shared_ptr<Store>(std::move(*store));
    auto init = ControlPlane::Initialize(
        *store_, *TrustDomain::Parse("org-a.example"), {}, kNow - 3600);
    ASSERT_TRUE(init.has_value()) << init.error().message();
    admin_ = init->admin_api_key;
    ControlPlaneOptions o;
    o.clock = &clock_;
    auto cp = ControlPlane::Open(store_, o);
    ASSERT_TRUE(cp.has_value()) << cp.error().message();
    cp_ = std::move(*cp);
  }

  http::Response Call(const std::string& method, const std::string& path,
                      const std::string& body = "",
                      const std::string& key = "") {
    http::Request r;
    r.method = method;
    r.path = path;
    r.target = path;
    r.body = body;
    if (!body.empty()) r.headers["content-type"] = "application/json";
    std::string k = key.empty() ? admin_ : key;
    if (k != "-") r.headers["authorization"] = "Bearer " + k;
    return cp_->Handle(r);
  }
  Json Body(const http::Response& r) { return *ParseJson(r.body); }

  std::string CsrJson() {
    auto key = *PrivateKey::Generate(KeyType::kEcP256);
    return DumpJson(
        Json(CertificateRequest::Create(key, std::nullopt)->ToPem()));
  }

  testing::TempDir dir_{"aztp_cp_"};
  FixedClock clock_{kNow};
  std::shared_ptr<Store> store_;
  std::unique_ptr<ControlPlane> cp_;
  std::string admin_;
};

TEST_F(ControlPlaneTest, InitializeRefusesASecondTime) {
  auto again = ControlPlane::Initialize(
      *store_, *TrustDomain::Parse("org-a.example"), {}, kNow);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), Code::kAlreadyExists);
}

TEST_F(ControlPlaneTest, RegistersIssuesRevokesAndReissues) {
  auto r =
      Call("POST", "/v1/identities",
           R"({"id":"aztp://org-a.example/agents/a","discoverable":true})");
  ASSERT_EQ(r.status, 201) << r.body;
  r = Call(
      "POST", "/v1/svid/x509",
      R"({"id":"spiffe://org-a.example/agents/a","csr":)" + CsrJson() + "}");
  ASSERT_EQ(r.status, 201) << r.body;
  auto chain = *ParsePemCertificates(Body(r)["svid"].get<std::string>());
  BundleSet bundles;
  bundles.Put(cp_->bundle());
  auto svid = VerifyX509Svid(chain, bundles, kNow);
  ASSERT_TRUE(svid.has_value()) << svid.error().message();
  EXPECT_EQ(svid->id().str(), "spiffe://org-a.example/agents/a");
  EXPECT_EQ(Body(r)["expires_at"], kNow + 3600);

  r = Call("POST", "/v1/identities/org-a.example/agents/a:revoke",
           R"({"reason":"lost laptop"})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = Call(
      "POST", "/v1/svid/x509",
      R"({"id":"spiffe://org-a.example/agents/a","csr":)" + CsrJson() + "}");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(Body(r)["error"], "revoked");
  r = Call("GET", "/v1/revocations", "", "-");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Body(r)["ids"], Json::array({"spiffe://org-a.example/agents/a"}));
  EXPECT_EQ(Body(r)["serials"], Json::array({chain[0].serial_hex()}));
  EXPECT_EQ(Body(r)["sequence"], 1);
  r = Call("POST", "/v1/identities/org-a.example/agents/a:reissue");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(Call("GET", "/v1/revocations", "", "-"))["ids"].size(), 0u);
}

TEST_F(ControlPlaneTest, EveryMutationIsAudited) {
  Call("POST", "/v1/identities", R"({"id":"spiffe://org-a.example/x"})");
  Call("POST", "/v1/identities/org-a.example/x:revoke");
  std::vector<AuditRecord> records;
  ASSERT_TRUE(store_->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(records, tx.ListAudit(0, 100));
    return Ok();
  }));
  ASSERT_EQ(records.size(), 4u);  // ca.create, apikey.create, register, revoke
  EXPECT_EQ(records[2].action, "identity.register");
  EXPECT_EQ(records[3].action, "identity.revoke");
  EXPECT_EQ(records[3].subject, "spiffe://org-a.example/x");
  for (const auto& a : records) {
    EXPECT_EQ(a.details.dump().find("PRIVATE"), std::string::npos);
  }
}

TEST_F(ControlPlaneTest, RejectsBadRequestsWithReasons) {
  struct Case {
    const char* method;
    const char* path;
    const char* body;
    int status;
    const char* error;
  } cases[] = {
      {"POST", "/v1/identities", "{", 400, "malformed"},
      {"POST", "/v1/identities", "[]", 400, "malformed"},
      {"POST", "/v1/identities", R"({"id":"spiffe://org-b.example/x"})", 400,
       "invalid_argument"},
      {"POST", "/v1/identities", R"({"id":"spiffe://org-a.example"})", 400,
       "invalid_argument"},
      {"POST", "/v1/identities", R"({"id":"spiffe://Org-a.example/x"})", 400,
       "malformed"},
      {"POST", "/v1/identities", R"({"id":"spiffe://org-a.example/x","x":1})",
       400, "malformed"},
      {"POST", "/v1/identities",
       R"({"id":"spiffe://org-a.example/y","parent":"spiffe://org-a.example/none"})",
       400, "invalid_argument"},
      {"GET", "/v1/identities/org-a.example/missing", "", 404, "not_found"},
      {"POST", "/v1/svid/x509",
       R"({"id":"spiffe://org-a.example/missing","csr":"x"})", 400,
       "malformed"},
      {"GET", "/v1/nope", "", 404, "not_found"},
      {"DELETE", "/v1/identities", "", 404, "not_found"},
  };
  for (const auto& c : cases) {
    auto r = Call(c.method, c.path, c.body);
    EXPECT_EQ(r.status, c.status)
        << c.method << " " << c.path << " " << c.body << " -> " << r.body;
    EXPECT_EQ(Body(r)["error"], c.error) << c.body;
  }
}

TEST_F(ControlPlaneTest, AuthenticationAndScopes) {
  EXPECT_EQ(Call("GET", "/v1/identities", "", "-").status, 401);
  EXPECT_EQ(Call("GET", "/v1/identities", "", "aztp_00.x").status, 401);
  EXPECT_EQ(Call("GET", "/v1/identities", "", admin_ + "x").status, 401);
  auto r = Call("POST", "/v1/apikeys", R"({"scope":"/tools/"})");
  ASSERT_EQ(r.status, 201) << r.body;
  std::string scoped = Body(r)["api_key"];
  std::string key_id = Body(r)["key_id"];
  EXPECT_EQ(Call("POST", "/v1/identities",
                 R"({"id":"spiffe://org-a.example/tools/t"})", scoped)
                .status,
            201);
  EXPECT_EQ(Call("POST", "/v1/identities",
                 R"({"id":"spiffe://org-a.example/agents/t"})", scoped)
                .status,
            403);
  EXPECT_EQ(Call("GET", "/v1/apikeys", "", scoped).status, 403);
  EXPECT_EQ(Call("POST", "/v1/apikeys/" + key_id + ":revoke").status, 200);
  EXPECT_EQ(Call("GET", "/v1/identities", "", scoped).status, 401);
}

TEST_F(ControlPlaneTest, MtlsPeerMayRenewOnlyItsOwnSvid) {
  Call("POST", "/v1/identities", R"({"id":"spiffe://org-a.example/w"})");
  http::Request r;
  r.method = "POST";
  r.path = "/v1/svid/x509";
  r.headers["content-type"] = "application/json";
  r.peer = *SpiffeId::Parse("spiffe://org-a.example/w");
  r.body = R"({"id":"spiffe://org-a.example/w","csr":)" + CsrJson() + "}";
  EXPECT_EQ(cp_->Handle(r).status, 201);
  r.peer = *SpiffeId::Parse("spiffe://org-a.example/other");
  EXPECT_EQ(cp_->Handle(r).status, 403);
}

TEST_F(ControlPlaneTest, ListsWithPagination) {
  for (int i = 0; i < 25; ++i) {
    char id[64];
    std::snprintf(id, sizeof(id), "spiffe://org-a.example/agents/a%02d", i);
    ASSERT_EQ(
        Call("POST", "/v1/identities", std::string(R"({"id":")") + id + "\"}")
            .status,
        201);
  }
  http::Request r;
  r.method = "GET";
  r.path = "/v1/identities";
  r.headers["authorization"] = "Bearer " + admin_;
  r.query["limit"] = "10";
  int seen = 0;
  for (;;) {
    auto page = Body(cp_->Handle(r));
    seen += static_cast<int>(page["identities"].size());
    if (page["next"].is_null()) break;
    r.query["after"] = page["next"].get<std::string>();
  }
  EXPECT_EQ(seen, 25);
}

}  // namespace
}  // namespace aztp

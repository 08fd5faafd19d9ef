// The control plane's API driven directly through Handle(), with a real
// SQLite store in a temporary folder and a fixed clock.
#include "aztp/controlplane/control_plane.h"

#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <atomic>
#include <thread>

#include "aztp/ca/authority.h"
#include "aztp/jose/jws.h"
#include "aztp/svid/x509_svid.h"
#include "aztp/x509/csr.h"
#include "testing/control_plane_fixture.h"
#include "testing/temp_dir.h"

namespace aztp {
namespace {

constexpr UnixTime kNow = 1'800'000'000;

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto init = testing::InitializeTestStore(dir_.File("aztpd.db"),
                                             "org-a.example", kNow - 3600);
    store_ = init.store;
    admin_ = init.admin_api_key;
    Reopen(Options());
  }

  // Options are the test defaults: a fixed clock, no rate limit.
  ControlPlaneOptions Options() {
    return testing::TestControlPlaneOptions(&clock_);
  }
  void Reopen(ControlPlaneOptions o) {
    cp_.reset();
    auto cp = ControlPlane::Open(store_, o);
    ASSERT_TRUE(cp.has_value()) << cp.error().message();
    cp_ = std::move(*cp);
  }

  http::Response Call(const std::string& method, const std::string& path,
                      const std::string& body = "",
                      const std::string& key = "") {
    return cp_->Handle(
        testing::NativeRequest(method, path, body, key.empty() ? admin_ : key));
  }
  Json Body(const http::Response& r) { return *ParseJson(r.body); }

  static std::string CsrJson() { return testing::CsrJson(); }

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
  // ca.create (x509), ca.create (jwt), apikey.create, register, revoke
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[0].action, "ca.create");
  EXPECT_EQ(records[2].action, "apikey.create");
  EXPECT_EQ(records[3].action, "identity.register");
  EXPECT_EQ(records[4].action, "identity.revoke");
  EXPECT_EQ(records[4].subject, "spiffe://org-a.example/x");
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

bool SignedBy(const Certificate& leaf, const Certificate& ca) {
  return X509_verify(leaf.x509(), X509_get0_pubkey(ca.x509())) == 1;
}

http::Request Get(const std::string& path, const std::string& key,
                  std::map<std::string, std::string> query = {}) {
  http::Request r;
  r.method = "GET";
  r.path = path;
  r.target = path;
  r.headers["authorization"] = "Bearer " + key;
  r.query = std::move(query);
  return r;
}

TEST_F(ControlPlaneTest, LinksIdentities) {
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_EQ(
        Call("POST", "/v1/identities",
             std::string(R"({"id":"spiffe://org-a.example/)") + id + R"("})")
            .status,
        201);
  }
  auto r = Call("POST", "/v1/identities/org-a.example/a:link",
                R"({"to":"aztp://org-a.example/b","kind":"linked",)"
                R"("metadata":{"why":"tool"}})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(Body(r)["to"], "spiffe://org-a.example/b");
  EXPECT_EQ(Body(r)["metadata"]["why"], "tool");
  EXPECT_EQ(Call("POST", "/v1/identities/org-a.example/a:link",
                 R"({"to":"spiffe://org-a.example/b","kind":"linked"})")
                .status,
            409);
  EXPECT_EQ(Call("POST", "/v1/identities/org-a.example/a:link",
                 R"({"to":"spiffe://org-a.example/c","kind":"parent"})")
                .status,
            201);
  struct Bad {
    const char* body;
    int status;
  } bad[] = {
      {R"({"to":"spiffe://org-a.example/a"})", 400},
      {R"({"to":"spiffe://org-a.example/none"})", 404},
      {R"({"to":"spiffe://org-a.example/b","kind":"friend"})", 400},
      {R"({"to":"spiffe://org-a.example/b","extra":1})", 400},
  };
  for (const auto& b : bad) {
    EXPECT_EQ(
        Call("POST", "/v1/identities/org-a.example/a:link", b.body).status,
        b.status)
        << b.body;
  }
  auto got = Body(Call("GET", "/v1/identities/org-a.example/b"));
  ASSERT_EQ(got["links"].size(), 1u);
  EXPECT_EQ(got["links"][0]["from"], "spiffe://org-a.example/a");
  EXPECT_EQ(Body(Call("GET", "/v1/identities/org-a.example/a"))["links"].size(),
            2u);
}

TEST_F(ControlPlaneTest, DiscoversOnlyActiveDiscoverableIdentities) {
  Call("POST", "/v1/identities",
       R"({"id":"spiffe://org-a.example/agents/seen","discoverable":true})");
  Call("POST", "/v1/identities",
       R"({"id":"spiffe://org-a.example/agents/hidden"})");
  Call("POST", "/v1/identities",
       R"({"id":"spiffe://org-a.example/tools/gone","discoverable":true})");
  Call("POST", "/v1/identities/org-a.example/tools/gone:revoke");
  auto r = cp_->Handle(Get("/v1/discover", admin_));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(Body(r)["identities"].size(), 1u);
  EXPECT_EQ(Body(r)["identities"][0]["id"],
            "spiffe://org-a.example/agents/seen");
  // A scoped key may discover beyond its own prefix: that is the point.
  auto key = Body(Call("POST", "/v1/apikeys", R"({"scope":"/tools/"})"));
  r = cp_->Handle(
      Get("/v1/discover", key["api_key"],
          {{"trust_domain", "org-a.example"}, {"prefix", "/agents/"}}));
  EXPECT_EQ(Body(r)["identities"].size(), 1u) << r.body;
  r = cp_->Handle(Get("/v1/discover", admin_, {{"prefix", "/tools/"}}));
  EXPECT_EQ(Body(r)["identities"].size(), 0u) << r.body;
  r = cp_->Handle(
      Get("/v1/discover", admin_, {{"trust_domain", "org-b.example"}}));
  EXPECT_EQ(r.status, 404);
  r = cp_->Handle(Get("/v1/discover", admin_, {{"prefix", "spiffe://x/"}}));
  EXPECT_EQ(r.status, 400);
}

TEST_F(ControlPlaneTest, IssuesJwtSvidsVerifiableWithTheBundle) {
  Call("POST", "/v1/identities", R"({"id":"spiffe://org-a.example/j"})");
  auto r = Call("POST", "/v1/svid/jwt",
                R"({"id":"spiffe://org-a.example/j","audience":["svc-b"],)"
                R"("ttl":120})");
  ASSERT_EQ(r.status, 201) << r.body;
  std::string token = Body(r)["token"];
  EXPECT_EQ(Body(r)["expires_at"], kNow + 120);
  auto jws = ParseCompact(token);
  ASSERT_TRUE(jws.has_value());
  Bundle bundle = cp_->bundle();
  const std::string kid = jws->header()["kid"];
  auto key = bundle.jwt_authorities().find(kid);
  ASSERT_NE(key, bundle.jwt_authorities().end());
  EXPECT_TRUE(VerifySignature(*jws, key->second).has_value());
  Json claims =
      *ParseJson(std::string(jws->payload().begin(), jws->payload().end()));
  EXPECT_EQ(claims["sub"], "spiffe://org-a.example/j");
  EXPECT_EQ(claims["aud"][0], "svc-b");
  EXPECT_EQ(claims["exp"], kNow + 120);
  // Bad requests, and a revoked identity gets none.
  for (const char* body :
       {R"({"id":"spiffe://org-a.example/j","audience":[]})",
        R"({"id":"spiffe://org-a.example/j","audience":"svc"})",
        R"({"id":"spiffe://org-a.example/j","audience":["a"],"ttl":7200})",
        R"({"id":"spiffe://org-a.example/j","audience":[1]})"}) {
    EXPECT_EQ(Call("POST", "/v1/svid/jwt", body).status, 400) << body;
  }
  Call("POST", "/v1/identities/org-a.example/j:revoke");
  EXPECT_EQ(Call("POST", "/v1/svid/jwt",
                 R"({"id":"spiffe://org-a.example/j","audience":["b"]})")
                .status,
            403);
}

// Rotation on a fake clock: a CA of 100 days, prepared at 50 days, active at
// 75 days, the old key gone once its last SVID (max TTL 1 day) expired.
TEST_F(ControlPlaneTest, RotatesTheCaWithPublicationBeforeUse) {
  auto store = OpenSqliteStore(dir_.File("rotating.db"));
  ASSERT_TRUE(store.has_value());
  store_ = std::shared_ptr<Store>(std::move(*store));
  const int64_t day = 86400;
  CaOptions ca;
  ca.ttl_seconds = 100 * day;
  const UnixTime t0 = kNow;
  clock_.Set(t0);
  auto init = ControlPlane::Initialize(
      *store_, *TrustDomain::Parse("org-a.example"), ca, t0);
  ASSERT_TRUE(init.has_value());
  admin_ = std::string(init->admin_api_key.View(InsecureSecretAccess::Get()));
  ControlPlaneOptions o = Options();
  o.ca = ca;
  Reopen(o);
  Call("POST", "/v1/identities", R"({"id":"spiffe://org-a.example/w"})");
  auto issue = [&] {
    auto r = Call("POST", "/v1/svid/x509",
                  R"({"id":"spiffe://org-a.example/w","ttl":86400,"csr":)" +
                      CsrJson() + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    return *ParsePemCertificates(Body(r)["svid"].get<std::string>());
  };
  auto verifies = [&](const std::vector<Certificate>& chain) {
    BundleSet set;
    set.Put(cp_->bundle());
    auto v = VerifyX509Svid(chain, set, clock_.Now());
    if (!v) {
      ADD_FAILURE() << v.error().message() << " now " << clock_.Now() << " nb "
                    << chain.front().not_before() << " na "
                    << chain.front().not_after();
    }
    return v.has_value();
  };
  auto roots = [&] { return cp_->bundle().x509_authorities().size(); };
  EXPECT_TRUE(*cp_->Maintain());  // first call reports the bundle
  EXPECT_FALSE(*cp_->Maintain());
  auto before = issue();
  const auto seq0 = cp_->bundle().sequence();
  const Certificate old_root = cp_->bundle().x509_authorities().front();

  clock_.Set(t0 + 49 * day);
  EXPECT_FALSE(*cp_->Maintain());
  EXPECT_EQ(roots(), 1u);
  clock_.Set(t0 + 50 * day);
  EXPECT_TRUE(*cp_->Maintain());  // successor prepared and published...
  EXPECT_EQ(roots(), 2u);
  EXPECT_GT(cp_->bundle().sequence(), seq0);
  auto during = issue();  // ...but not used yet
  EXPECT_TRUE(SignedBy(during.front(), old_root));

  clock_.Set(t0 + 75 * day - 600);
  auto last_old = issue();
  EXPECT_TRUE(SignedBy(last_old.front(), old_root));
  clock_.Set(t0 + 75 * day);
  EXPECT_FALSE(*cp_->Maintain());  // activation leaves the bundle alone
  clock_.Set(t0 + 75 * day + 3600);
  auto after = issue();
  EXPECT_FALSE(SignedBy(after.front(), old_root));
  EXPECT_TRUE(verifies(after));
  EXPECT_TRUE(verifies(last_old));  // the old key stays published
  EXPECT_EQ(roots(), 2u);

  clock_.Set(t0 + 76 * day);  // activation + max SVID TTL (1 day)
  EXPECT_TRUE(*cp_->Maintain());
  EXPECT_EQ(roots(), 1u);
  EXPECT_TRUE(verifies(after));
  // The server's own SVID was renewed under the new CA.
  const Certificate new_root = cp_->bundle().x509_authorities().front();
  EXPECT_TRUE(SignedBy(after.front(), new_root));
  EXPECT_TRUE(SignedBy(cp_->server_credentials()->chain.front(), new_root));

  // The JWT key rotated on the same schedule; every step was audited.
  auto keys = Body(Call("GET", "/v1/ca"))["keys"];
  ASSERT_EQ(keys.size(), 2u) << keys.dump();
  std::vector<AuditRecord> records;
  ASSERT_TRUE(store_->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(records, tx.ListAudit(0, 100));
    return Ok();
  }));
  int prepares = 0, activates = 0, removes = 0;
  for (const auto& a : records) {
    prepares += a.action == "ca.prepare";
    activates += a.action == "ca.activate";
    removes += a.action == "ca.remove";
  }
  EXPECT_EQ(prepares, 2);
  EXPECT_EQ(activates, 2);
  EXPECT_EQ(removes, 2);
}

TEST_F(ControlPlaneTest, ForcedRotationPreparesThenActivates) {
  auto keys = [&] { return Body(Call("GET", "/v1/ca"))["keys"]; };
  ASSERT_EQ(keys().size(), 2u);
  auto r = Call("POST", "/v1/ca:rotate", R"({"kind":"jwt"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["keys"].size(), 3u);
  EXPECT_EQ(cp_->bundle().jwt_authorities().size(), 2u);
  EXPECT_TRUE(*cp_->Maintain());  // the daemon learns of the new bundle
  r = Call("POST", "/v1/ca:rotate", R"({"kind":"jwt"})");
  ASSERT_EQ(r.status, 200);
  int active = 0;
  const Json listed = Body(r)["keys"];
  for (const auto& k : listed) active += k["state"] == "active";
  EXPECT_EQ(active, 2) << r.body;  // one per kind
  EXPECT_EQ(Call("POST", "/v1/ca:rotate", R"({"kind":"rsa"})").status, 400);
  auto scoped = Body(Call("POST", "/v1/apikeys", R"({"scope":"/x/"})"));
  EXPECT_EQ(Call("GET", "/v1/ca", "", scoped["api_key"]).status, 403);
}

TEST_F(ControlPlaneTest, RateLimitsEachCaller) {
  ControlPlaneOptions o = Options();
  o.rate_limit.requests_per_second = 0.001;
  o.rate_limit.burst = 3;
  Reopen(o);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Call("GET", "/v1/identities").status, 200);
  }
  auto r = Call("GET", "/v1/identities");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(Body(r)["error"], "rate_limited");
  bool retry_after = false;
  for (const auto& [name, value] : r.headers) {
    retry_after |= name == "Retry-After" && std::stoi(value) >= 1;
  }
  EXPECT_TRUE(retry_after);
  // Another caller has its own bucket.
  http::Request anon;
  anon.method = "GET";
  anon.path = "/healthz";
  anon.remote = "127.0.0.2:5000";
  EXPECT_EQ(cp_->Handle(anon).status, 200);
}

TEST_F(ControlPlaneTest, ExportsMetrics) {
  Call("POST", "/v1/identities", R"({"id":"spiffe://org-a.example/m"})");
  Call("POST", "/v1/svid/x509",
       R"({"id":"spiffe://org-a.example/m","csr":)" + CsrJson() + "}");
  Call("GET", "/v1/identities/org-a.example/nope");
  http::Request r;
  r.method = "GET";
  r.path = "/metrics";
  auto m = cp_->Handle(r);
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.content_type.rfind("text/plain", 0), 0u);
  for (
      const char* line : {
          R"(aztpd_requests_total{route="/v1/identities",status="201"} 1)",
          R"(aztpd_requests_total{route="/v1/identities/{id}",status="404"} 1)",
          R"(aztpd_svids_issued_total{kind="x509"} 1)",
          R"(aztpd_identities{status="active"} 1)",
          R"(aztpd_request_duration_seconds_count{route="/v1/svid/x509"} 1)",
          "aztpd_ca_expiry_timestamp_seconds{kind=\"x509\"}",
      }) {
    EXPECT_NE(m.body.find(line), std::string::npos) << line << "\n" << m.body;
  }
}

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

// The audit log: every mutation is a record in one hash chain, readable
// by admins with filters; proxies ship their own chains, which must
// continue where aztpd's copy ends.
TEST_F(ControlPlaneTest, AuditLogIsChainedFilteredAndReceivesShipments) {
  for (const char* id : {"spiffe://org-a.example/a", "spiffe://org-a.example/b",
                         "spiffe://org-a.example/proxy"}) {
    ASSERT_EQ(
        Call("POST", "/v1/identities", std::string(R"({"id":")") + id + "\"}")
            .status,
        201);
  }
  http::Request filtered =
      testing::NativeRequest("GET", "/v1/audit", "", admin_);
  filtered.query = {{"limit", "1000"}};
  auto page = cp_->Handle(filtered);
  ASSERT_EQ(page.status, 200) << page.body;
  Json all = Body(page);
  AuditChainChecker checker;
  for (const Json& j : all["records"]) checker.Add(*AuditRecordFromJson(j));
  EXPECT_TRUE(checker.ok()) << checker.reason();
  EXPECT_GE(checker.checked(), 3);
  EXPECT_EQ(all["end"], true);
  filtered.query = {{"identity", "spiffe://org-a.example/b"}};
  Json b = Body(cp_->Handle(filtered));
  ASSERT_EQ(b["records"].size(), 1u);
  EXPECT_EQ(b["records"][0]["action"], "identity.register");
  filtered.query = {{"after", "1"}, {"limit", "1"}};
  Json second = Body(cp_->Handle(filtered));
  ASSERT_EQ(second["records"].size(), 1u);
  EXPECT_EQ(second["records"][0]["seq"], 2);
  EXPECT_EQ(second["next"], 2);
  filtered.query = {{"since", "x"}};
  EXPECT_EQ(cp_->Handle(filtered).status, 400);

  // A proxy's chain, shipped in two batches with its own SVID.
  std::vector<AuditRecord> chain;
  std::string prev = kAuditGenesis;
  for (int i = 1; i <= 5; ++i) {
    AuditRecord r;
    r.time = 1700000000 + i;
    r.actor = "spiffe://org-a.example/a";
    r.action = "proxy.request";
    r.subject = "spiffe://org-a.example/proxy";
    r.decision = i == 3 ? "deny" : "allow";
    SealAudit(r, i, prev);
    prev = r.hash;
    chain.push_back(r);
  }
  auto ship = [&](std::size_t from, std::size_t to, const char* peer) {
    Json records = Json::array();
    for (std::size_t i = from; i < to; ++i) {
      records.push_back(AuditRecordJson(chain[i]));
    }
    http::Request r = testing::NativeRequest(
        "POST", "/v1/audit:ingest", DumpJson(Json{{"records", records}}), "-");
    if (peer != nullptr) r.peer = *SpiffeId::Parse(peer);
    return cp_->Handle(r);
  };
  const char* proxy = "spiffe://org-a.example/proxy";
  auto first = ship(0, 3, proxy);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(Body(first)["acked"], 3);
  // A batch that skips a record is refused, naming where the chain breaks.
  auto gap = ship(4, 5, proxy);
  EXPECT_EQ(gap.status, 400);
  EXPECT_NE(gap.body.find("record 4 is missing"), std::string::npos)
      << gap.body;
  // A resend after a lost acknowledgement is harmless...
  auto again = ship(1, 5, proxy);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Body(again)["acked"], 5);
  EXPECT_EQ(Body(again)["hash"], chain[4].hash);
  // ...but a record that differs from the one held is not.
  chain[2].reason = "rewritten";
  chain[2].hash = AuditHash(chain[2]);
  EXPECT_EQ(ship(2, 3, proxy).status, 409);
  // Without an SVID, or as an admin key, nothing is shipped.
  EXPECT_EQ(ship(0, 1, nullptr).status, 401);
  EXPECT_EQ(Call("POST", "/v1/audit:ingest",
                 DumpJson(Json{{"records", {AuditRecordJson(chain[0])}}}))
                .status,
            403);

  // Five records were accepted (the resend added none).
  http::Request metrics = testing::NativeRequest("GET", "/metrics", "", "-");
  EXPECT_NE(cp_->Handle(metrics).body.find("aztpd_audit_ingested_total 5"),
            std::string::npos);
  Json sources = Body(Call("GET", "/v1/audit/sources"));
  ASSERT_EQ(sources["sources"].size(), 1u);
  EXPECT_EQ(sources["sources"][0]["source"], proxy);
  EXPECT_EQ(sources["sources"][0]["seq"], 5);
  http::Request shipped =
      testing::NativeRequest("GET", "/v1/audit", "", admin_);
  shipped.query = {{"source", proxy}, {"decision", "deny"}};
  Json denied = Body(cp_->Handle(shipped));
  ASSERT_EQ(denied["records"].size(), 1u);
  EXPECT_EQ(denied["records"][0]["seq"], 3);
  // Issue 13: a misspelt source or filter is an error, never an empty
  // answer that a scheduled check would read as "all is well".
  shipped.query = {{"source", "spiffe://org-a.example/proxi"}};
  auto unknown = cp_->Handle(shipped);
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(Body(unknown)["error"], "not_found");
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{
           {"decision", "denied"},
           {"action", "proxy"},
           {"identity", "org-a.example/a"}}) {
    filtered.query = {{name, value}};
    auto refused = cp_->Handle(filtered);
    EXPECT_EQ(refused.status, 400) << name << ": " << refused.body;
    EXPECT_EQ(Body(refused)["error"], "invalid_argument") << name;
  }
  // aztpd's own log anchors each shipment's head.
  filtered.query = {{"action", "audit.ingest"}};
  Json anchors = Body(cp_->Handle(filtered));
  ASSERT_EQ(anchors["records"].size(), 2u);
  EXPECT_EQ(anchors["records"][1]["details"]["to"], 5);
  // Reading needs admin.
  http::Request as_proxy = testing::NativeRequest("GET", "/v1/audit", "", "-");
  as_proxy.peer = *SpiffeId::Parse(proxy);
  EXPECT_EQ(cp_->Handle(as_proxy).status, 403);
}

// Policies: validated and canonicalised on write, versioned with
// optimistic concurrency, attached to identities, evaluated by
// POST /v1/authorize with every decision audited.
TEST_F(ControlPlaneTest, PoliciesAreValidatedVersionedAttachedAndEvaluated) {
  ASSERT_EQ(Call("POST", "/v1/identities",
                 R"({"id":"spiffe://org-a.example/tools/payments"})")
                .status,
            201);
  const std::string doc = R"({"Statement":[
      {"Sid":"Quotes","Effect":"Allow","Action":"payments:quote",
       "Condition":{"StringEquals":{"aztp:CallerTrustDomain":"org-b.example"}}},
      {"Sid":"NoRefunds","Effect":"Deny","Action":"payments:refund"}]})";
  auto created = Call("POST", "/v1/policies",
                      R"({"name":"payments","document":)" + doc + "}");
  ASSERT_EQ(created.status, 201) << created.body;
  Json policy = Body(created);
  const std::string id = policy["id"];
  EXPECT_EQ(id.rfind("policy:", 0), 0u);
  EXPECT_EQ(id.size(), 19u);
  EXPECT_EQ(policy["version"], 1);
  // Canonical form: Action as an array.
  EXPECT_EQ(policy["document"]["Statement"][0]["Action"],
            Json::array({"payments:quote"}));

  // Invalid documents never get stored, and the error names the problem.
  auto unknown_op = Call(
      "POST", "/v1/policies",
      R"({"name":"bad","document":{"Statement":{"Effect":"Allow","Action":"a",)"
      R"("Condition":{"StringEqualz":{"aztp:CallerId":"x"}}}}})");
  EXPECT_EQ(unknown_op.status, 400);
  EXPECT_NE(unknown_op.body.find("StringEqualz"), std::string::npos);
  auto bare_key = Call(
      "POST", "/v1/policies",
      R"({"name":"bad","document":{"Statement":{"Effect":"Allow","Action":"a",)"
      R"("Condition":{"StringEquals":{"department":"x"}}}}})");
  EXPECT_EQ(bare_key.status, 400);
  EXPECT_EQ(Call("POST", "/v1/policies",
                 R"({"name":"payments","document":{"Statement":)"
                 R"({"Effect":"Allow","Action":"a"}}})")
                .status,
            409);  // the name is taken

  auto authorize = [&](const std::string& action, const char* td,
                       const std::string& key = "") {
    Json body{{"identity", "spiffe://org-a.example/tools/payments"},
              {"action", action},
              {"context", Json{{"aztp:CallerTrustDomain", td}}}};
    return Call("POST", "/v1/authorize", DumpJson(body), key);
  };
  // Nothing attached: default deny.
  Json d = Body(authorize("payments:quote", "org-b.example"));
  EXPECT_EQ(d["allowed"], false);
  EXPECT_EQ(d["basis"], "default_deny");

  auto attach = Call("POST", "/v1/policies/" + id + ":attach",
                     R"({"identity":"spiffe://org-a.example/tools/payments"})");
  ASSERT_EQ(attach.status, 200) << attach.body;
  d = Body(authorize("payments:quote", "org-b.example"));
  EXPECT_EQ(d["allowed"], true);
  EXPECT_EQ(d["policy_id"], id);
  EXPECT_EQ(d["sid"], "Quotes");
  d = Body(authorize("payments:quote", "org-c.example"));
  EXPECT_EQ(d["allowed"], false);
  d = Body(authorize("payments:refund", "org-b.example"));
  EXPECT_EQ(d["allowed"], false);
  EXPECT_EQ(d["basis"], "explicit_deny");
  EXPECT_EQ(d["sid"], "NoRefunds");
  // Context keys must be aztp:* or request:*.
  EXPECT_EQ(Call("POST", "/v1/authorize",
                 R"({"identity":"spiffe://org-a.example/tools/payments",)"
                 R"("action":"a","context":{"department":"x"}})")
                .status,
            400);

  // The identity's own SVID may read its policies and ask; another's not.
  http::Request own =
      Get("/v1/policies", "",
          {{"identity", "spiffe://org-a.example/tools/payments"}});
  own.headers.clear();
  own.peer = *SpiffeId::Parse("spiffe://org-a.example/tools/payments");
  auto mine = cp_->Handle(own);
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(Body(mine)["policies"].size(), 1u);
  own.peer = *SpiffeId::Parse("spiffe://org-a.example/tools/other");
  EXPECT_EQ(cp_->Handle(own).status, 403);

  // A new version needs the current version number.
  const std::string v2 =
      R"({"version":1,"document":{"Statement":{"Effect":"Allow",)"
      R"("Action":"payments:*"}}})";
  auto updated = Call("PUT", "/v1/policies/" + id, v2);
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(Body(updated)["version"], 2);
  EXPECT_EQ(Call("PUT", "/v1/policies/" + id, v2).status, 409);  // stale
  d = Body(authorize("payments:refund", "org-c.example"));
  EXPECT_EQ(d["allowed"], true);
  http::Request first_req =
      Get("/v1/policies/" + id, admin_, {{"version", "1"}});
  Json old = Body(cp_->Handle(first_req));
  EXPECT_EQ(old["version"], 1);
  EXPECT_EQ(old["attached_to"],
            Json::array({"spiffe://org-a.example/tools/payments"}));
  // Issue 13: a version that does not exist is not a policy that does
  // not: still 404, but the message says which.
  auto ninth =
      cp_->Handle(Get("/v1/policies/" + id, admin_, {{"version", "9"}}));
  EXPECT_EQ(ninth.status, 404);
  EXPECT_EQ(Body(ninth)["error"], "not_found");
  EXPECT_EQ(Body(ninth)["message"], "policy \"" + id +
                                        "\" has no version 9; its versions "
                                        "are 1 to 2");

  // Scoped keys manage attachments of their identities only, and not the
  // policies themselves.
  auto scoped = Body(Call("POST", "/v1/apikeys", R"({"scope":"/agents/"})"));
  const std::string skey = scoped["api_key"];
  EXPECT_EQ(
      Call("POST", "/v1/policies/" + id + ":detach",
           R"({"identity":"spiffe://org-a.example/tools/payments"})", skey)
          .status,
      403);
  EXPECT_EQ(Call("GET", "/v1/policies", "", skey).status, 403);
  EXPECT_EQ(authorize("payments:quote", "org-b.example", skey).status, 403);

  ASSERT_EQ(Call("POST", "/v1/policies/" + id + ":detach",
                 R"({"identity":"spiffe://org-a.example/tools/payments"})")
                .status,
            200);
  ASSERT_EQ(Call("DELETE", "/v1/policies/" + id).status, 200);
  EXPECT_EQ(Call("GET", "/v1/policies/" + id).status, 404);

  std::vector<std::string> trail;
  ASSERT_TRUE(store_->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto records, tx.ListAudit(0, 1000));
    for (const auto& a : records) {
      if (a.action.rfind("policy.", 0) == 0) {
        trail.push_back(a.action + " " + a.decision);
      }
    }
    return Ok();
  }));
  EXPECT_EQ(trail, (std::vector<std::string>{
                       "policy.create allow", "policy.authorize deny",
                       "policy.attach allow", "policy.authorize allow",
                       "policy.authorize deny", "policy.authorize deny",
                       "policy.update allow", "policy.authorize allow",
                       "policy.detach allow", "policy.delete allow"}));
}

// Several HTTPS clients at once, over real sockets: two threads issue SVIDs
// for their own identities while a third revokes every other one of them.
// Every acknowledged mutation must be in the store with its audit record,
// and every revoked identity in the revocation list.
TEST_F(ControlPlaneTest, ConcurrentClientsIssueAndRevoke) {
  constexpr int kIdsPerThread = 12;
  constexpr int kIssuers = 2;
  ControlPlane* cp = cp_.get();
  http::ServerOptions so;
  so.threads = 3;
  so.tls_context = [cp] { return cp->server_tls_context(); };
  so.bundles = cp->bundles();
  so.clock = &clock_;
  auto server = http::Server::Start(
      so, [cp](const http::Request& r) { return cp->Handle(r); });
  ASSERT_TRUE(server.has_value()) << server.error().message();
  auto client = [&]() {
    http::ClientOptions co;
    co.base_url = "https://127.0.0.1:" + std::to_string((*server)->port());
    co.bundles = cp->bundles();
    co.server_id = *SpiffeId::Parse("spiffe://org-a.example/aztpd");
    co.clock = &clock_;  // the fixture's CA lives in kNow's time
    return std::move(*http::Client::Create(co));
  };
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Type", "application/json"},
      {"Authorization", "Bearer " + admin_}};
  auto id_of = [](int thread, int i) {
    return "spiffe://org-a.example/t" + std::to_string(thread) + "/w" +
           std::to_string(i);
  };
  for (int t = 0; t < kIssuers; ++t) {
    for (int i = 0; i < kIdsPerThread; ++i) {
      ASSERT_EQ(
          Call("POST", "/v1/identities", DumpJson(Json{{"id", id_of(t, i)}}))
              .status,
          201);
    }
  }
  const std::string csr = CsrJson();
  std::atomic<int> issued{0}, refused{0}, revoked{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kIssuers; ++t) {
    threads.emplace_back([&, t] {
      auto c = client();
      for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < kIdsPerThread; ++i) {
          auto r = c->Send(
              "POST", "/v1/svid/x509",
              R"({"id":")" + id_of(t, i) + R"(","csr":)" + csr + "}", headers);
          if (!r) {
            ADD_FAILURE() << r.error().message();
            ++failures;
          } else if (r->status == 201) {
            ++issued;
          } else if (r->status == 403 &&
                     r->body.find("revoked") != std::string::npos) {
            ++refused;  // revoked in the meantime
          } else {
            ADD_FAILURE() << r->status << " " << r->body;
            ++failures;
          }
        }
      }
    });
  }
  threads.emplace_back([&] {
    auto c = client();
    for (int i = 0; i < kIdsPerThread; i += 2) {
      for (int t = 0; t < kIssuers; ++t) {
        std::string path =
            "/v1/identities/" + id_of(t, i).substr(9) + ":revoke";
        auto r = c->Send("POST", path, R"({"reason":"test"})", headers);
        if (r && r->status == 200) {
          ++revoked;
        } else {
          ++failures;
        }
      }
    }
  });
  for (auto& th : threads) th.join();
  (*server)->Shutdown(1);
  (*server)->Wait();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(revoked.load(), kIssuers * kIdsPerThread / 2);
  EXPECT_EQ(issued.load() + refused.load(), kIssuers * kIdsPerThread * 2);
  // Identities never revoked got both of their SVIDs.
  EXPECT_GE(issued.load(), kIssuers * kIdsPerThread);
  int64_t stored_svids = 0;
  std::vector<AuditRecord> audit;
  ASSERT_TRUE(store_->Read([&](Transaction& tx) -> Status {
    for (int t = 0; t < kIssuers; ++t) {
      for (int i = 0; i < kIdsPerThread; ++i) {
        AZTP_ASSIGN_OR_RETURN(auto svids, tx.ListSvids(id_of(t, i)));
        stored_svids += static_cast<int64_t>(svids.size());
      }
    }
    AZTP_ASSIGN_OR_RETURN(audit, tx.ListAudit(0, 1000));
    return Ok();
  }));
  EXPECT_EQ(stored_svids, issued.load());
  int issue_audits = 0, revoke_audits = 0;
  for (const auto& a : audit) {
    issue_audits += a.action == "svid.issue";
    revoke_audits += a.action == "identity.revoke";
  }
  EXPECT_EQ(issue_audits, issued.load());
  EXPECT_EQ(revoke_audits, revoked.load());
  auto list = Body(Call("GET", "/v1/revocations", "", "-"));
  EXPECT_EQ(list["ids"].size(), static_cast<std::size_t>(revoked.load()));
  EXPECT_EQ(list["sequence"], revoked.load());
}

}  // namespace
}  // namespace aztp

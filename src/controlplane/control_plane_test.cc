// The control plane's API through Handle(): identities, SVIDs, keys, rate
// limits, metrics, and concurrent clients over real sockets.
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
  // ca.create (x509), ca.create (jwt), apikey.create, the maintenance
  // lease taken at the first pass, register, revoke
  ASSERT_EQ(records.size(), 6u);
  EXPECT_EQ(records[0].action, "ca.create");
  EXPECT_EQ(records[2].action, "apikey.create");
  EXPECT_EQ(records[3].action, "lease.acquire");
  EXPECT_EQ(records[4].action, "identity.register");
  EXPECT_EQ(records[5].action, "identity.revoke");
  EXPECT_EQ(records[5].subject, "spiffe://org-a.example/x");
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
  r = Call("POST", "/v1/ca:rotate", R"({"kind":"rsa"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Body(r)["message"], "kind must be \"x509\" or \"jwt\"");
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

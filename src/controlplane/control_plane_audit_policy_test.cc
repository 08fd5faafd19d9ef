// The control plane's audit log and policies through Handle().
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
      test_support::NativeRequest("GET", "/v1/audit", "", admin_);
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
    http::Request r = test_support::NativeRequest(
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
  http::Request metrics =
      test_support::NativeRequest("GET", "/metrics", "", "-");
  EXPECT_NE(cp_->Handle(metrics).body.find("aztpd_audit_ingested_total 5"),
            std::string::npos);
  Json sources = Body(Call("GET", "/v1/audit/sources"));
  ASSERT_EQ(sources["sources"].size(), 1u);
  EXPECT_EQ(sources["sources"][0]["source"], proxy);
  EXPECT_EQ(sources["sources"][0]["seq"], 5);
  http::Request shipped =
      test_support::NativeRequest("GET", "/v1/audit", "", admin_);
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
  http::Request as_proxy =
      test_support::NativeRequest("GET", "/v1/audit", "", "-");
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

}  // namespace
}  // namespace aztp

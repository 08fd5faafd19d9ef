// Who may do what on aztpd's API (docs/aztpd.md, "Permissions"): the
// regression tests of the security review's findings, and the permission
// table checked route by route for every kind of caller.
#include <gtest/gtest.h>

#include <map>
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

std::string Text(const SecretBytes& key) {
  return std::string(key.View(InsecureSecretAccess::Get()));
}
constexpr char kPayments[] = "spiffe://org-a.example/tools/payments";
constexpr char kPaymentsAdmin[] = "spiffe://org-a.example/tools/payments-admin";
constexpr char kOther[] = "spiffe://org-a.example/tools/other";
constexpr char kFederated[] = "spiffe://org-b.example/tools/payments";

class PermissionsTest : public testing::Test {
 protected:
  void SetUp() override { Open("aztpd.db"); }

  // Open starts over on a new store in file `name` with three identities.
  void Open(const std::string& name) {
    cp_.reset();
    auto init = test_support::InitializeTestStore(dir_.File(name),
                                                  "org-a.example", kNow - 3600);
    store_ = init.store;
    admin_ = init.admin_api_key;
    cp_ = test_support::OpenTestControlPlane(store_, &clock_);
    for (const char* id : {kPayments, kPaymentsAdmin, kOther}) {
      ASSERT_EQ(Register(id).status, 201);
    }
  }

  http::Response Call(const std::string& method, const std::string& path,
                      const std::string& body = "",
                      const std::string& key = "") {
    return cp_->Handle(test_support::NativeRequest(method, path, body,
                                                   key.empty() ? admin_ : key));
  }
  // AsPeer sends a request authenticated by an mTLS client SVID only.
  http::Response AsPeer(const std::string& peer, const std::string& method,
                        const std::string& path, const std::string& body = "") {
    http::Request r = test_support::NativeRequest(method, path, body, "-");
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

  test_support::TempDir dir_{"aztp_perm_"};
  FixedClock clock_{kNow};
  std::shared_ptr<Store> store_;
  std::unique_ptr<ControlPlane> cp_;
  std::string admin_;
};

// Finding 2: a key scoped /tools/payments reached /tools/payments-admin and
// registered /tools/paymentsXYZ, because scopes matched string prefixes.
TEST_F(PermissionsTest, Finding2ScopesMatchWholePathSegments) {
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
                test_support::CsrJson() + "}"},
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

// Finding 2: scopes are normalised when a key is created, and what is not a
// plain SPIFFE path is refused with a 400 that says what a scope is.
TEST_F(PermissionsTest, Finding2ScopesAreNormalisedOrRefusedAtCreation) {
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

// Finding 2: keys stored before normalisation ("/tools/") keep working,
// with the segment rule.
TEST_F(PermissionsTest, Finding2StoredScopesWithATrailingSlashStillWork) {
  auto key = services::MintApiKey("/tools/", "stored before the fix", kNow);
  ASSERT_TRUE(key.has_value());
  ASSERT_TRUE(store_->Write(
      [&](Transaction& tx) { return tx.InsertApiKey(key->record); }));
  EXPECT_EQ(Register("spiffe://org-a.example/tools/new", Text(key->key)).status,
            201);
  EXPECT_EQ(Register("spiffe://org-a.example/toolsXYZ", Text(key->key)).status,
            403);
  // A stored scope that is no path at all manages nothing.
  auto broken = services::MintApiKey("tools", "corrupt", kNow);
  ASSERT_TRUE(broken.has_value());
  ASSERT_TRUE(store_->Write(
      [&](Transaction& tx) { return tx.InsertApiKey(broken->record); }));
  EXPECT_EQ(Call("GET", Path(kPayments), "", Text(broken->key)).status, 403);
}

// Finding 2 (sibling): a scoped key manages IDs of aztpd's own trust domain
// only; a matching path in another trust domain is not covered.
TEST_F(PermissionsTest, Finding2ScopesCoverOnlyTheOwnTrustDomain) {
  auto p = services::Principal::ScopedKey(
      "k1", *services::ParseScope(*TrustDomain::Parse("org-a.example"),
                                  "/tools/payments"));
  EXPECT_TRUE(p.MayManage(*SpiffeId::Parse(kPayments)));
  EXPECT_TRUE(p.MayManage(*SpiffeId::Parse(std::string(kPayments) + "/x")));
  EXPECT_FALSE(p.MayManage(*SpiffeId::Parse(kFederated)));
  EXPECT_FALSE(p.MayManage(*SpiffeId::Parse(kPaymentsAdmin)));
  EXPECT_FALSE(p.MayManage(*SpiffeId::Parse("spiffe://org-a.example/tools")));
  auto whole = services::Principal::ScopedKey(
      "k2", *services::ParseScope(*TrustDomain::Parse("org-a.example"), "/"));
  EXPECT_TRUE(whole.MayManage(*SpiffeId::Parse(kOther)));
  EXPECT_FALSE(whole.MayManage(*SpiffeId::Parse(kFederated)));

  const std::string key = Key("/tools/payments");
  EXPECT_EQ(Call("GET", "/v1/identities/org-b.example/tools/payments", "", key)
                .status,
            403);
  http::Request policies =
      test_support::NativeRequest("GET", "/v1/policies", "", key);
  policies.query["identity"] = kFederated;
  EXPECT_EQ(cp_->Handle(policies).status, 403);
}

// Finding 3: an SVID of a federated trust domain (trusted at the TLS
// handshake, since the listener trusts federated bundles) authenticated to
// the API: it listed /v1/discover and wrote to /v1/audit:ingest.
TEST_F(PermissionsTest, Finding3FederatedSvidsDoNotAuthenticate) {
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

// Finding 3's sibling: an SVID outlives its identity's revocation; until it
// expires it must authenticate nothing here, as unregistered IDs do not.
TEST_F(PermissionsTest,
       Finding3SiblingRevokedIdentitiesSvidsDoNotAuthenticate) {
  ASSERT_EQ(AsPeer(kOther, "GET", "/v1/discover").status, 200);
  ASSERT_EQ(Call("POST", Path(kOther, "revoke"), "").status, 200);
  for (const auto& [method, path, body] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"GET", "/v1/discover", ""},
           {"POST", "/v1/audit:ingest", R"({"records":[]})"},
           {"POST", "/v1/svid/jwt",
            R"({"id":")" + std::string(kOther) + R"(","audience":["x"]})"}}) {
    auto r = AsPeer(kOther, method, path, body);
    EXPECT_EQ(r.status, 403) << method << " " << path << " -> " << r.body;
    EXPECT_EQ(Reason(r), "revoked") << r.body;
  }
  ASSERT_EQ(Call("POST", Path(kOther, "reissue"), "").status, 200);
  EXPECT_EQ(AsPeer(kOther, "GET", "/v1/discover").status, 200);
}

// Finding 5: a scoped key linked its identity to one it does not manage;
// links, and parents given at registration, need rights on both ends.
TEST_F(PermissionsTest, Finding5LinksNeedRightsOnBothEnds) {
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

// Finding 9: a key scoped to an identity reissued it after an admin had
// revoked it. Who revoked is recorded; an admin's revocation is undone, or
// rewritten, by admins only.
TEST_F(PermissionsTest, Finding9ScopedKeysCannotUndoAnAdminsRevocation) {
  const std::string key = Key("/tools/payments");
  auto r = Call("POST", Path(kPayments, "revoke"), R"({"reason":"incident"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["revoked_by"].get<std::string>().rfind("apikey:", 0), 0u);
  r = Call("POST", Path(kPayments, "reissue"), "", key);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("revoked with an admin key"), std::string::npos);
  r = Call("POST", Path(kPayments, "revoke"), R"({"reason":"mine now"})", key);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(Body(Call("GET", Path(kPayments)))["revoked_reason"], "incident");
  EXPECT_EQ(Call("POST", Path(kPayments, "reissue")).status, 200);

  // What the scoped key revoked itself, it may reissue.
  const std::string child = std::string(kPayments) + "/child";
  ASSERT_EQ(Register(child, key).status, 201);
  ASSERT_EQ(Call("POST", Path(child, "revoke"), "", key).status, 200);
  r = Call("POST", Path(child, "reissue"), "", key);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["status"], "active");
  EXPECT_FALSE(Body(r).contains("revoked_by"));
  // An admin's revocation over the scoped key's one makes it the admin's.
  ASSERT_EQ(Call("POST", Path(child, "revoke"), "", key).status, 200);
  ASSERT_EQ(Call("POST", Path(child, "revoke")).status, 200);
  EXPECT_EQ(Call("POST", Path(child, "reissue"), "", key).status, 403);
}

// Finding 9: attaching and detaching policies needs admin, even for a key
// that manages the identity.
TEST_F(PermissionsTest, Finding9AttachingPoliciesNeedsAdmin) {
  const std::string key = Key("/tools/payments");
  auto created = Call("POST", "/v1/policies",
                      R"({"name":"p","document":{"Statement":)"
                      R"({"Effect":"Deny","Action":"*"}}})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = Body(created)["id"];
  const std::string target =
      R"({"identity":")" + std::string(kPayments) + R"("})";
  for (const char* action : {":attach", ":detach"}) {
    auto r = Call("POST", "/v1/policies/" + id + action, target, key);
    EXPECT_EQ(r.status, 403) << action << " -> " << r.body;
  }
  ASSERT_EQ(Call("POST", "/v1/policies/" + id + ":attach", target).status, 200);
  EXPECT_EQ(Call("POST", "/v1/policies/" + id + ":detach", target, key).status,
            403);
  // Reading the identity's policies stays open to the key.
  http::Request read =
      test_support::NativeRequest("GET", "/v1/policies", "", key);
  read.query["identity"] = kPayments;
  auto listed = cp_->Handle(read);
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(Body(listed)["policies"].size(), 1u);
}

// Finding 9 (sibling): federates_with limits whom an identity accepts; a
// scoped key may narrow it but not widen it (which could undo an admin's
// narrowing).
TEST_F(PermissionsTest, Finding9ScopedKeysMayOnlyNarrowFederatesWith) {
  const std::string key = Key("/tools/payments");
  const std::string path = Path(kPayments);
  auto patch = [&](const char* body, const std::string& k) {
    return Call("PATCH", path, body, k).status;
  };
  EXPECT_EQ(
      patch(R"({"federates_with":["org-b.example","org-c.example"]})", key),
      200);
  EXPECT_EQ(patch(R"({"federates_with":["org-b.example"]})", key), 200);
  EXPECT_EQ(patch(R"({"federates_with":["org-c.example"]})", key), 403);
  EXPECT_EQ(patch(R"({"federates_with":null})", key), 403);
  EXPECT_EQ(patch(R"({"federates_with":[]})", key), 200);
  EXPECT_EQ(patch(R"({"federates_with":null})", ""), 200);
}

// The permission table of docs/aztpd.md, "Permissions": every route, for
// each kind of caller. 'A' is allowed (any answer but 401/403), 'D' is 403,
// 'U' is 401. Each row runs on a fresh control plane, callers in the order
// anonymous, federated SVID, other SVID, own SVID, scoped key, admin key.
struct Row {
  const char* method;
  std::string path;
  std::string body;
  std::map<std::string, std::string> query;
  const char* expect;  // admin, scoped, own SVID, other SVID, federated, anon
};

std::vector<Row> PermissionTable() {
  const std::string id = kPayments;
  const std::string idpath = "/v1/identities/org-a.example/tools/payments";
  const std::string of_id = R"({"identity":")" + id + R"("})";
  const std::string flow = "/v1/flows/{flow}";
  return {
      {"GET", "/healthz", "", {}, "AAAAAA"},
      {"GET", "/metrics", "", {}, "AAAAAA"},
      {"GET", "/v1/bundle", "", {}, "AAAAAA"},
      {"GET", "/v1/bundles", "", {}, "AAAAAA"},
      {"GET", "/v1/revocations", "", {}, "AAAAAA"},
      {"GET", "/v1/bundles", "", {{"for", id}}, "AAADUU"},
      {"POST", "/v1/identities", R"({"id":")" + id + R"(/new"})", {}, "AADDUU"},
      {"GET", "/v1/identities", "", {}, "AAAAUU"},
      {"GET", idpath, "", {}, "AADDUU"},
      {"PATCH", idpath, R"({"federates_with":[]})", {}, "AADDUU"},
      {"POST",
       idpath + ":link",
       R"({"to":")" + id + R"(/child"})",
       {},
       "AADDUU"},
      {"POST", idpath + ":revoke", "", {}, "AADDUU"},
      {"POST", idpath + ":reissue", "", {}, "AADDUU"},
      {"POST", "/v1/svid/x509", "{csr}", {}, "AAADUU"},
      {"POST",
       "/v1/svid/jwt",
       R"({"id":")" + id + R"(","audience":["a"]})",
       {},
       "AAADUU"},
      {"GET", "/v1/discover", "", {}, "AAAAUU"},
      {"GET", "/v1/policies", "", {{"identity", id}}, "AAADUU"},
      {"POST",
       "/v1/authorize",
       R"({"identity":")" + id + R"(","action":"a"})",
       {},
       "AAADUU"},
      {"POST", "/v1/policies/{policy}:attach", of_id, {}, "ADDDUU"},
      {"POST", "/v1/policies/{policy}:detach", of_id, {}, "ADDDUU"},
      {"GET", "/v1/policies", "", {}, "ADDDUU"},
      {"POST",
       "/v1/policies",
       R"({"name":"n","document":{"Statement":{"Effect":"Deny","Action":"*"}}})",
       {},
       "ADDDUU"},
      {"GET", "/v1/policies/{policy}", "", {}, "ADDDUU"},
      {"DELETE", "/v1/policies/{policy}", "", {}, "ADDDUU"},
      {"POST", "/v1/flows", R"({"name":"f"})", {}, "AADDUU"},
      {"GET", "/v1/flows", "", {}, "AADDUU"},
      {"GET", flow, "", {}, "AADDUU"},
      {"PUT", flow, R"({"name":"g"})", {}, "ADDDUU"},
      {"POST", flow + ":add", of_id, {}, "ADDDUU"},
      {"POST", flow + ":revoke", of_id, {}, "AADDUU"},
      {"POST", flow + ":remove", of_id, {}, "AADDUU"},
      {"POST", flow + ":reissue", of_id, {}, "ADDDUU"},
      {"DELETE", flow, "", {}, "ADDDUU"},
      {"GET", "/v1/audit", "", {}, "ADDDUU"},
      {"GET", "/v1/audit/sources", "", {}, "ADDDUU"},
      {"POST", "/v1/audit:ingest", R"({"records":[]})", {}, "DDAAUU"},
      // A token exchange: any agent's own SVID (the OAuth answer says
      // whether it is listed for the token's client), never an API key.
      {"POST", "/v1/oidc/token", "grant_type=x", {}, "DDAAUU"},
      // A login for the identity: whoever may obtain its SVID (no login is
      // configured here: 503 once allowed). Redeeming: a result is handed
      // out only to its agent, which the token names (404 before that).
      {"POST",
       "/v1/oidc/login",
       R"({"provider":"p","agent":")" + id + R"(","return_url":"https://x"})",
       {},
       "AAADUU"},
      {"POST",
       "/v1/oidc/login:redeem",
       R"({"token":"t","state":"s"})",
       {},
       "AAAAUU"},
      {"GET", "/v1/oidc/callback", "", {{"state", "s"}}, "AAAAAA"},
      {"GET", "/v1/apikeys", "", {}, "ADDDUU"},
      {"POST", "/v1/apikeys", R"({"scope":"/x"})", {}, "ADDDUU"},
      {"POST", "/v1/apikeys/0000000000000000:revoke", "", {}, "ADDDUU"},
      {"GET", "/v1/ca", "", {}, "ADDDUU"},
      {"POST", "/v1/ca:rotate", R"({"kind":"jwt"})", {}, "ADDDUU"},
      {"GET", "/v1/federations", "", {}, "ADDDUU"},
      {"POST", "/v1/federations/org-b.example:refresh", "", {}, "ADDDUU"},
      {"DELETE", "/v1/federations/org-b.example", "", {}, "ADDDUU"},
  };
}

TEST_F(PermissionsTest, PermissionTableOfTheDocs) {
  int n = 0;
  for (const Row& row : PermissionTable()) {
    SCOPED_TRACE(std::string(row.method) + " " + row.path);
    Open("row" + std::to_string(++n) + ".db");
    const std::string scoped = Key("/tools/payments");
    ASSERT_EQ(Register(std::string(kPayments) + "/child").status, 201);
    // A public flow with the identity in it, made by the admin; a policy
    // attached to the identity.
    auto flow = Call("POST", "/v1/flows", R"({"name":"shared"})");
    const std::string flow_id = Body(flow)["id"];
    Call("POST", "/v1/flows/" + flow_id + ":add",
         R"({"identity":")" + std::string(kPayments) + R"("})");
    auto policy = Call("POST", "/v1/policies",
                       R"({"name":"p","document":{"Statement":)"
                       R"({"Effect":"Allow","Action":"*"}}})");
    const std::string policy_id = Body(policy)["id"];
    std::string path = row.path;
    for (const auto& [name, value] :
         {std::pair<std::string, std::string>{"{flow}", flow_id},
          {"{policy}", policy_id}}) {
      if (auto at = path.find(name); at != std::string::npos) {
        path.replace(at, name.size(), value);
      }
    }
    const std::string body =
        row.body == "{csr}" ? R"({"id":")" + std::string(kPayments) +
                                  R"(","csr":)" + test_support::CsrJson() + "}"
                            : row.body;
    // Callers from the last column to the first: refusals change nothing.
    for (int col = 5; col >= 0; --col) {
      http::Request r =
          test_support::NativeRequest(row.method, path, body, "-");
      r.query = row.query;
      if (col == 0) r.headers["authorization"] = "Bearer " + admin_;
      if (col == 1) r.headers["authorization"] = "Bearer " + scoped;
      if (col == 2) r.peer = *SpiffeId::Parse(kPayments);
      if (col == 3) r.peer = *SpiffeId::Parse(kOther);
      if (col == 4) r.peer = *SpiffeId::Parse(kFederated);
      auto got = cp_->Handle(r);
      const char want = row.expect[col];
      const char seen = got.status == 401 ? 'U'
                        : got.status == 403
                            ? (Reason(got) == "revoked" ? 'A' : 'D')
                            : 'A';
      EXPECT_EQ(seen, want)
          << "caller column " << col << " -> " << got.status << " " << got.body;
    }
  }
}

}  // namespace
}  // namespace aztp

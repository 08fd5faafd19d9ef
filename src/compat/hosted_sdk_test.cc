// The hosted SDK's API driven through HostedSdkApi::Handle() over a real
// ControlPlane (SQLite store in a temporary folder, fixed clock, no rate
// limit), with the headers and bodies the hosted SDK sends.
#include "aztp/compat/hosted_sdk.h"

#include <gtest/gtest.h>

#include "testing/control_plane_fixture.h"
#include "testing/temp_dir.h"

namespace aztp::compat {
namespace {

constexpr UnixTime kNow = 1'800'000'000;
constexpr char kAgent[] = "aztp://org-a.example/workload/production/node/agent";
constexpr char kTool[] = "aztp://org-a.example/workload/production/node/tool";

class HostedSdkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto init = testing::InitializeTestStore(dir_.File("aztpd.db"),
                                             "org-a.example", kNow - 3600);
    store_ = init.store;
    key_ = init.admin_api_key;
    auto cp =
        ControlPlane::Open(store_, testing::TestControlPlaneOptions(&clock_));
    ASSERT_TRUE(cp.has_value()) << cp.error().message();
    cp_ = std::move(*cp);
    api_ = std::make_unique<HostedSdkApi>(*cp_);
  }

  // Call sends what the hosted SDK sends: api_access_key and a JSON body.
  http::Response Call(const std::string& method, const std::string& route,
                      const std::string& body = "",
                      std::map<std::string, std::string> query = {},
                      const std::string& key = "") {
    http::Request r;
    r.method = method;
    r.path = "/astha/v1/" + route;
    r.target = r.path;
    r.query = std::move(query);
    r.body = body;
    r.headers["content-type"] = "application/json";
    std::string k = key.empty() ? key_ : key;
    if (k != "-") r.headers["api_access_key"] = k;
    return api_->Handle(r);
  }

  // Envelope parses an answer and checks its shape.
  Json Envelope(const http::Response& r) {
    auto j = ParseJson(r.body);
    EXPECT_TRUE(j.has_value()) << r.body;
    if (!j) return Json::object();
    EXPECT_TRUE(j->is_object()) << r.body;
    EXPECT_TRUE((*j)["success"].is_boolean()) << r.body;
    EXPECT_TRUE((*j)["message"].is_string()) << r.body;
    EXPECT_TRUE(j->contains("data")) << r.body;
    return *j;
  }
  std::string Code(const http::Response& r) {
    std::string m = Envelope(r).value("message", "");
    return m.substr(0, m.find(' '));
  }

  Json Issue(const std::string& name, const std::string& extra_meta = "",
             const std::string& extra = "") {
    std::string body =
        R"({"workloadId":")" + name +
        R"(","agentId":"aztp","timestamp":"2026-11-28T12:00:00+00:00",)"
        R"("isGlobalIdentity":false,"method":"node","metadata":{)"
        R"("hostname":"host-1","environment":"production","extra":{},)"
        R"("trustDomain":null,"parentIdentity":null)" +
        extra_meta + "}" + extra + "}";
    auto r = Call("POST", "aztp/issue-identity", body);
    EXPECT_EQ(r.status, 200) << r.body;
    return Envelope(r);
  }

  bool Verify(const std::string& id, std::string* code = nullptr) {
    auto r =
        Call("POST", "aztp/verify-identity", R"({"aztpId":")" + id + R"("})");
    EXPECT_EQ(r.status, 200) << r.body;
    if (code) *code = Code(r);
    return Envelope(r)["data"].value("valid", false);
  }

  testing::TempDir dir_{"aztp_compat_"};
  FixedClock clock_{kNow};
  std::shared_ptr<Store> store_;
  std::unique_ptr<ControlPlane> cp_;
  std::unique_ptr<HostedSdkApi> api_;
  std::string key_;
};

TEST_F(HostedSdkTest, IssueIdentityRegistersOnceAndAnswersTheRecord) {
  Json e = Issue("agent");
  EXPECT_TRUE(e["success"]);
  EXPECT_EQ(e["message"], "AZTP-ID-S-001 - Identity issued successfully");
  const Json& d = e["data"];
  EXPECT_EQ(d["aztpId"], kAgent);
  EXPECT_EQ(d["name"], "agent");
  EXPECT_EQ(d["valid"], true);
  EXPECT_EQ(d["status"], "active");
  EXPECT_EQ(d["environment"], "production");
  EXPECT_EQ(d["isGlobalIdentity"], false);
  EXPECT_TRUE(d["parentIdentity"].is_null());
  EXPECT_EQ(d["workloadInfo"]["workloadId"], "agent");
  EXPECT_EQ(d["workloadInfo"]["trustDomain"], "org-a.example");
  EXPECT_EQ(d["workloadInfo"]["hostname"], "host-1");
  EXPECT_FALSE(d.contains("certificate"));
  // The native API sees the SPIFFE form of the same ID.
  http::Request n;
  n.method = "GET";
  n.path = "/v1/identities/org-a.example/workload/production/node/agent";
  n.headers["authorization"] = "Bearer " + key_;
  EXPECT_EQ(cp_->Handle(n).status, 200);
  // A second issue answers the same identity.
  Json again = Issue("agent");
  EXPECT_TRUE(again["success"]);
  EXPECT_EQ(again["data"]["aztpId"], kAgent);
  EXPECT_EQ(again["message"], "AZTP-ID-S-005 - Identity already issued");
}

TEST_F(HostedSdkTest, IssueMapsEnvironmentParentGlobalAndLinkTo) {
  auto r = Call("POST", "aztp/issue-identity",
                R"({"workloadId":"root","isGlobalIdentity":true,)"
                R"("metadata":{"environment":"staging"}})");
  Json root = Envelope(r);
  ASSERT_TRUE(root["success"]) << r.body;
  const std::string root_id = "aztp://org-a.example/workload/staging/node/root";
  EXPECT_EQ(root["data"]["aztpId"], root_id);
  EXPECT_EQ(root["data"]["isGlobalIdentity"], true);
  Issue("tool");
  r = Call("POST", "aztp/issue-identity",
           R"({"workloadId":"child","metadata":{"parentIdentity":")" + root_id +
               R"("},"linkTo":[")" + kTool + R"("]})");
  Json c = Envelope(r);
  ASSERT_TRUE(c["success"]) << r.body;
  EXPECT_EQ(c["data"]["parentIdentity"], root_id);
  ASSERT_EQ(c["data"]["links"].size(), 2u) << r.body;
  const std::string child_id =
      "aztp://org-a.example/workload/production/node/child";
  r = Call(
      "POST", "aztp/verify-identity-for-connection",
      R"({"aztpId":")" + child_id + R"(","requestAztpId":")" + kTool + R"("})");
  EXPECT_TRUE(Envelope(r)["data"]["valid"]) << r.body;
}

TEST_F(HostedSdkTest, IssueRefusesAnotherTrustDomainAndBadInput) {
  auto r = Call("POST", "aztp/issue-identity",
                R"({"workloadId":"a","metadata":{"trustDomain":"x.example"}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Code(r), "AZTP-ID-E-004");
  r = Call("POST", "aztp/issue-identity",
           R"({"workloadId":"a","metadata":{"trustDomain":"org-a.example"}})");
  EXPECT_EQ(r.status, 200) << r.body;
  for (const char* body : {
           "",
           "{",
           "[]",
           "null",
           R"({"workloadId":5})",
           R"({})",
           R"({"workloadId":""})",
           R"({"workloadId":"a","metadata":[]})",
           R"({"workloadId":"a","isGlobalIdentity":"yes"})",
           R"({"workloadId":"a","linkTo":"x"})",
           R"({"workloadId":"a","linkTo":["spiffe://org-a.example/x"]})",
           R"({"workloadId":"a","metadata":{"parentIdentity":"nope"}})",
           R"({"workloadId":"a","method":"k8s"})",
           R"({"workloadId":"a/../b"})",
           R"({"workloadId":"a","metadata":{"environment":"x/y"}})",
           R"({"workloadId":"a","metadata":{"environment":3}})",
       }) {
    r = Call("POST", "aztp/issue-identity", body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    EXPECT_FALSE(Envelope(r)["success"]) << body;
    EXPECT_EQ(Code(r), "AZTP-REQ-E-001") << body << " -> " << r.body;
  }
  // A parent that is not registered is the control plane's refusal.
  r = Call("POST", "aztp/issue-identity",
           R"({"workloadId":"b","metadata":{"parentIdentity":")" +
               std::string(kTool) + R"("}})");
  EXPECT_FALSE(Envelope(r)["success"]) << r.body;
  r = Call("POST", "aztp/issue-identity", R"({"workloadId":"a","csr":"x"})");
  EXPECT_EQ(r.status, 501);
  EXPECT_EQ(Code(r), "AZTP-API-E-501");
}

TEST_F(HostedSdkTest, AuthHeaderIsRequiredAndChecked) {
  auto r = Call("POST", "aztp/verify-identity", R"({"aztpId":"x"})", {}, "-");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(Code(r), "AZTP-AUTH-E-001");
  EXPECT_FALSE(Envelope(r)["success"]);
  r = Call("POST", "aztp/issue-identity", R"({"workloadId":"a"})", {},
           "aztp_nokey.secret");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(Code(r), "AZTP-AUTH-E-001");
  EXPECT_EQ(r.body.find("secret"), std::string::npos) << r.body;
  // A native Authorization header alone is not the hosted header.
  http::Request n;
  n.method = "GET";
  n.path = "/astha/v1/aztp/discoverable";
  n.headers["authorization"] = "Bearer " + key_;
  EXPECT_EQ(api_->Handle(n).status, 401);
}

TEST_F(HostedSdkTest, GetIdentityByPathNameAndQuery) {
  Issue("agent");
  for (auto r :
       {Call("GET", "aztp/get-identity/agent"),
        Call("GET", "aztp/get-identity/", "", {{"agentName", "agent"}}),
        Call("GET", "aztp/get-identity", "", {{"agentName", kAgent}})}) {
    Json e = Envelope(r);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(e["message"],
              "WI-FND-S-001 - Workload identity found successfully");
    EXPECT_EQ(e["data"]["aztpId"], kAgent);
  }
  Json slashed = Issue("team/helper");
  EXPECT_EQ(slashed["data"]["name"], "team/helper");
  auto r = Call("GET", "aztp/get-identity/team/helper");
  EXPECT_EQ(Envelope(r)["data"]["aztpId"],
            "aztp://org-a.example/workload/production/node/team/helper")
      << r.body;
  r = Call("GET", "aztp/get-identity/nobody");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Code(r), "AZTP-ID-E-002");
  r = Call("GET", "aztp/get-identity/");
  EXPECT_EQ(r.status, 400);
  r = Call("GET", "aztp/get-identity", "",
           {{"agentName", "aztp://org-a.example/workload/production/node/x"}});
  EXPECT_EQ(r.status, 404);
}

TEST_F(HostedSdkTest, VerifyRevokeReissue) {
  Issue("agent");
  std::string code;
  EXPECT_TRUE(Verify(kAgent, &code));
  EXPECT_EQ(code, "AZTP-ID-S-002");
  auto r =
      Call("POST", "aztp/revoke-identity",
           R"({"aztpId":")" + std::string(kAgent) + R"(","reason":"demo"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Envelope(r)["data"]["status"], "revoked");
  EXPECT_FALSE(Verify(kAgent, &code));
  EXPECT_EQ(code, "AZTP-ID-E-001");
  r = Call("POST", "aztp/verify-identity",
           R"({"aztpId":")" + std::string(kAgent) + R"("})");
  EXPECT_EQ(Envelope(r)["message"],
            "AZTP-ID-E-001 - Identity has been revoked");
  EXPECT_FALSE(Envelope(r)["success"]);
  r = Call("POST", "aztp/reissue-revoked-identity",
           R"({"aztpId":")" + std::string(kAgent) + R"("})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Envelope(r)["data"]["status"], "active");
  EXPECT_TRUE(Verify(kAgent));
  // Unknown identities are not valid; bad input is an envelope error.
  EXPECT_FALSE(Verify(kTool, &code));
  EXPECT_EQ(code, "AZTP-ID-E-002");
  for (const char* body :
       {"", "{}", R"({"aztpId":1})", R"({"aztpId":"spiffe://org-a.example/a"})",
        R"({"aztpId":"aztp://"})"}) {
    for (const char* route : {"aztp/verify-identity", "aztp/revoke-identity",
                              "aztp/reissue-revoked-identity"}) {
      r = Call("POST", route, body);
      EXPECT_EQ(r.status, 400) << route << " " << body << " " << r.body;
      EXPECT_FALSE(Envelope(r)["success"]);
    }
  }
  r = Call("POST", "aztp/revoke-identity",
           R"({"aztpId":")" + std::string(kTool) + R"("})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Code(r), "AZTP-ID-E-002");
  r = Call(
      "POST", "aztp/verify-identity",
      R"({"aztpId":")" + std::string(kAgent) + R"(","identityFlowId":"f1"})");
  EXPECT_EQ(r.status, 501);
}

TEST_F(HostedSdkTest, LinksAndConnections) {
  Issue("agent");
  Issue("tool");
  const std::string pair = R"({"aztpId":")" + std::string(kAgent) +
                           R"(","requestAztpId":")" + kTool + R"("})";
  auto r = Call("POST", "aztp/verify-identity-for-connection", pair);
  EXPECT_FALSE(Envelope(r)["data"]["valid"]) << r.body;
  EXPECT_EQ(Code(r), "AZTP-LNK-E-001");
  r = Call("POST", "aztp/create-workload-identity-link",
           R"({"sourceIdentity":")" + std::string(kAgent) +
               R"(","targetIdentity":")" + kTool +
               R"(","relationshipType":"linked","metadata":{"why":"t"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  Json link = Envelope(r)["data"];
  EXPECT_EQ(link["sourceIdentity"], kAgent);
  EXPECT_EQ(link["targetIdentity"], kTool);
  EXPECT_EQ(link["relationshipType"], "linked");
  for (const char* route : {"aztp/verify-identity-for-connection",
                            "aztp/authorize-connection-with-identities"}) {
    r = Call("POST", route, pair);
    EXPECT_TRUE(Envelope(r)["data"]["valid"]) << r.body;
    // Both directions: a link connects the two.
    r = Call("POST", route,
             R"({"aztpId":")" + std::string(kTool) + R"(","requestAztpId":")" +
                 kAgent + R"("})");
    EXPECT_TRUE(Envelope(r)["data"]["valid"]) << r.body;
  }
  // A revoked end makes the connection invalid.
  Call("POST", "aztp/revoke-identity",
       R"({"aztpId":")" + std::string(kTool) + R"("})");
  r = Call("POST", "aztp/verify-identity-for-connection", pair);
  EXPECT_FALSE(Envelope(r)["data"]["valid"]);
  EXPECT_EQ(Code(r), "AZTP-ID-E-001");
  // Duplicates, unknown kinds, bad input.
  r = Call("POST", "aztp/create-workload-identity-link",
           R"({"sourceIdentity":")" + std::string(kAgent) +
               R"(","targetIdentity":")" + kTool + R"("})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(Code(r), "AZTP-ID-E-003");
  for (const char* body :
       {"{}", R"({"sourceIdentity":"a","targetIdentity":"b"})",
        R"({"sourceIdentity":1,"targetIdentity":2})"}) {
    r = Call("POST", "aztp/create-workload-identity-link", body);
    EXPECT_EQ(r.status, 400) << body;
  }
  r = Call("POST", "aztp/create-workload-identity-link",
           R"({"sourceIdentity":")" + std::string(kAgent) +
               R"(","targetIdentity":")" + kTool +
               R"(","relationshipType":"friend"})");
  EXPECT_EQ(r.status, 400);
  r = Call("POST", "aztp/verify-identity-for-connection",
           R"({"aztpId":")" + std::string(kAgent) + R"("})");
  EXPECT_EQ(r.status, 400);
  r = Call("POST", "aztp/authorize-connection-with-identities",
           R"({"aztpId":")" + std::string(kAgent) + R"(","requestAztpId":")" +
               kTool + R"(","policyCode":"policy:1"})");
  EXPECT_EQ(r.status, 501);
}

TEST_F(HostedSdkTest, Discovery) {
  Issue("agent");
  Issue("hidden", "", R"(,"discoverable":false)");
  auto r = Call("GET", "aztp/discoverable", "", {{"discoverable", "True"}});
  ASSERT_EQ(r.status, 200) << r.body;
  Json data = Envelope(r)["data"];
  ASSERT_EQ(data.size(), 1u) << r.body;
  EXPECT_EQ(data[0]["aztpId"], kAgent);
  r = Call("GET", "aztp/discover-with-trust-domain", "",
           {{"trustDomain", "org-a.example"}, {"aztpId", kAgent}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Envelope(r)["data"].size(), 1u);
  r = Call("GET", "aztp/discover-with-trust-domain", "",
           {{"trustDomain", "other.example"}, {"aztpId", kAgent}});
  EXPECT_EQ(r.status, 404);
  EXPECT_FALSE(Envelope(r)["success"]);
  r = Call("GET", "aztp/discover-with-trust-domain", "", {});
  EXPECT_EQ(r.status, 400);
}

TEST_F(HostedSdkTest, PolicyFlowAndUnknownRoutesAreStableErrors) {
  for (auto [method, route] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "aztp/get-identity-access-policy"},
           {"GET", "aztp/get-identity-action-permissions"},
           {"POST", "aztp/revoke-identity-for-flow"},
           {"GET", "identity-flow/health"},
           {"POST", "identity-flow/create"},
           {"PUT", "identity-flow/update/1"},
           {"DELETE", "identity-flow/delete/1"},
           {"POST", "identity-flow/add-identity-to-flow"},
           {"POST", "identity-flow/remove-identity-from-flow"},
           {"POST", "oiap/evaluate"},
           {"POST", "oidc/provider"},
           {"POST", "oidc/validate-jwt-token"}}) {
    auto r = Call(method, route, "{}");
    EXPECT_EQ(r.status, 501) << route;
    EXPECT_EQ(Code(r), "AZTP-API-E-501") << route;
  }
  auto r = Call("GET", "aztp/nothing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Code(r), "AZTP-API-E-404");
  r = Call("GET", "aztp/issue-identity");
  EXPECT_EQ(r.status, 404);
  EXPECT_FALSE(HostedSdkApi::Handles("/v1/identities"));
  EXPECT_TRUE(HostedSdkApi::Handles("/astha/v1/aztp/discoverable"));
}

}  // namespace
}  // namespace aztp::compat

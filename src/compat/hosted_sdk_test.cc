// The hosted SDK's API driven through HostedSdkApi::Handle() over a real
// ControlPlane (SQLite store in a temporary folder, fixed clock, no rate
// limit), with the headers and bodies the hosted SDK sends.
#include "aztp/compat/hosted_sdk.h"

#include <gtest/gtest.h>

#include "compat/hosted_sdk_fixture.h"

namespace aztp::compat {
namespace {

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
  // A flow that does not exist makes the verification negative.
  r = Call(
      "POST", "aztp/verify-identity",
      R"({"aztpId":")" + std::string(kAgent) + R"(","identityFlowId":"f1"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Code(r), "AZTP-FLW-E-001");
  EXPECT_FALSE(Envelope(r)["data"]["valid"]);
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
  // (kTool is revoked by now: identity checks come before the policy.)
  r = Call("POST", "aztp/authorize-connection-with-identities",
           R"({"aztpId":")" + std::string(kAgent) + R"(","requestAztpId":")" +
               kTool + R"(","policyCode":"policy:1"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Code(r), "AZTP-ID-E-001");
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

TEST_F(HostedSdkTest, OiapAndUnknownRoutesAreStableErrors) {
  for (auto [method, route] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "oiap/evaluate"}, {"GET", "oiap/evaluate"}}) {
    auto r = Call(method, route, "{}");
    EXPECT_EQ(r.status, 501) << route;
    EXPECT_EQ(Code(r), "AZTP-API-E-501") << route;
    EXPECT_FALSE(Envelope(r)["success"]);
  }
  // Policy and flow routes with another method are unknown routes.
  for (auto [method, route] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "aztp/get-identity-access-policy"},
           {"POST", "aztp/get-identity-action-permissions"},
           {"GET", "aztp/revoke-identity-for-flow"},
           {"POST", "identity-flow/health"},
           {"GET", "identity-flow/create"},
           {"POST", "identity-flow/update/flow_1"},
           {"GET", "identity-flow/delete/flow_1"},
           {"GET", "identity-flow/add-identity-to-flow"},
           {"PUT", "identity-flow/remove-identity-from-flow"},
           {"GET", "identity-flow/nothing"}}) {
    auto r = Call(method, route, "{}");
    EXPECT_EQ(r.status, 404) << method << " " << route;
    EXPECT_EQ(Code(r), "AZTP-API-E-404") << route;
  }
  auto r = Call("GET", "aztp/nothing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Code(r), "AZTP-API-E-404");
  r = Call("GET", "aztp/issue-identity");
  EXPECT_EQ(r.status, 404);
  EXPECT_FALSE(HostedSdkApi::Handles("/v1/identities"));
  EXPECT_TRUE(HostedSdkApi::Handles("/astha/v1/aztp/discoverable"));
}

// The policy of the hosted examples, written with aztp: keys (bare keys
// such as "trust_domain" are refused by the native API).
constexpr char kUserPolicy[] = R"({
  "Version": "2025-05-12",
  "Statement": [
    {"Sid": "Users", "Effect": "Allow",
     "Action": ["read_user_profile", "list_users"]},
    {"Sid": "PayPal", "Effect": "Allow", "Action": "paypal_operations",
     "Condition": {"StringEquals": {"aztp:CallerTrustDomain": "org-a.example"}}},
    {"Sid": "NoDelete", "Effect": "Deny", "Action": ["delete_user", "list_users"],
     "Condition": {"StringEquals": {"aztp:CallerTrustDomain": "evil.example"}}}
  ]
})";

class HostedSdkPolicyTest : public HostedSdkTest {
 protected:
  // Native sends a native request with the admin key.
  http::Response Native(const std::string& method, const std::string& path,
                        const std::string& body = "") {
    return cp_->Handle(test_support::NativeRequest(method, path, body, key_));
  }
  // MakePolicy stores a policy and attaches it to `identities` (native
  // IDs); returns its ID.
  std::string MakePolicy(const std::string& name, const std::string& document,
                         const std::vector<std::string>& identities) {
    auto r =
        Native("POST", "/v1/policies",
               R"({"name":")" + name + R"(","description":"demo","document":)" +
                   document + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    std::string id = ParseJson(r.body)->value("id", "");
    for (const auto& i : identities) {
      r = Native("POST", "/v1/policies/" + id + ":attach",
                 R"({"identity":")" + i + R"("})");
      EXPECT_EQ(r.status, 200) << r.body;
    }
    return id;
  }
  Json Permissions(std::map<std::string, std::string> query, int status = 200) {
    auto r = Call("GET", "aztp/get-identity-action-permissions", "", query);
    EXPECT_EQ(r.status, status) << r.body;
    return Envelope(r);
  }
};

constexpr char kNativeAgent[] =
    "spiffe://org-a.example/workload/production/node/agent";
constexpr char kNativeTool[] =
    "spiffe://org-a.example/workload/production/node/tool";

TEST_F(HostedSdkPolicyTest, GetIdentityAccessPolicyListsAttachedPolicies) {
  Issue("agent");
  Issue("tool");
  auto r =
      Call("GET", "aztp/get-identity-access-policy", "", {{"aztpId", kAgent}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Envelope(r)["data"], Json::array());
  const std::string code = MakePolicy("users", kUserPolicy, {kNativeAgent});
  MakePolicy("unattached", kUserPolicy, {kNativeTool});
  r = Call("GET", "aztp/get-identity-access-policy", "", {{"aztpId", kAgent}});
  ASSERT_EQ(r.status, 200) << r.body;
  Json e = Envelope(r);
  EXPECT_TRUE(e["success"]);
  EXPECT_EQ(Code(r), "AZTP-POL-S-001");
  ASSERT_EQ(e["data"].size(), 1u) << r.body;
  const Json& p = e["data"][0];
  EXPECT_TRUE(code.rfind("policy:", 0) == 0 && code.size() == 19) << code;
  EXPECT_EQ(p["code"], code);
  EXPECT_EQ(p["policyName"], "users");
  EXPECT_EQ(p["description"], "demo");
  EXPECT_EQ(p["version"], 1);
  EXPECT_EQ(p["createdAt"], kNow);
  // get_policy_value(list, "code", code) -> policyStatement, which the
  // SDK's is_action_allowed reads.
  const Json& statement = p["policyStatement"];
  EXPECT_EQ(statement["Version"], "2025-05-12");
  EXPECT_EQ(statement["Statement"][0]["Effect"], "Allow");
  EXPECT_EQ(statement["Statement"][0]["Action"][1], "list_users");

  r = Call("GET", "aztp/get-identity-access-policy");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Code(r), "AZTP-REQ-E-001");
  r = Call("GET", "aztp/get-identity-access-policy", "",
           {{"aztpId", "spiffe://org-a.example/workload/production/node/a"}});
  EXPECT_EQ(r.status, 400);
  r = Call(
      "GET", "aztp/get-identity-access-policy", "",
      {{"aztpId", "aztp://org-a.example/workload/production/node/nobody"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Code(r), "AZTP-ID-E-002");
}

TEST_F(HostedSdkPolicyTest, PermissionsMapAllowsDeniesAndUsesTrustDomain) {
  Issue("agent");
  Issue("tool");
  const std::string code = MakePolicy("users", kUserPolicy, {kNativeAgent});
  const std::string other = MakePolicy("other", kUserPolicy, {kNativeTool});
  Json e =
      Permissions({{"aztpId", kAgent},
                   {"action", "list_users, delete_user,write,list_users"}});
  EXPECT_TRUE(e["success"]);
  EXPECT_EQ(e["message"], "AZTP-POL-S-002 - Identity permissions evaluated");
  // data is wrapped once more: the SDK hands back data, the demo reads
  // result["data"][action].
  EXPECT_EQ(e["data"]["success"], true);
  EXPECT_EQ(
      e["data"]["data"],
      (Json{{"list_users", true}, {"delete_user", false}, {"write", false}}));
  e = Permissions({{"aztpId", kAgent},
                   {"policy_code", code},
                   {"action", "read_user_profile"}});
  EXPECT_EQ(e["data"]["data"], (Json{{"read_user_profile", true}}));
  e = Permissions(
      {{"aztpId", kAgent}, {"policy_id", code}, {"action", "list_users"}});
  EXPECT_EQ(e["data"]["data"]["list_users"], true);
  // The trust domain condition.
  e = Permissions({{"aztpId", kAgent},
                   {"policy_code", code},
                   {"action", "paypal_operations,list_users"},
                   {"trust_domain", "org-a.example"}});
  EXPECT_EQ(e["data"]["data"],
            (Json{{"paypal_operations", true}, {"list_users", true}}));
  e = Permissions({{"aztpId", kAgent},
                   {"policy_code", code},
                   {"action", "paypal_operations,list_users"},
                   {"trust_domain", "evil.example"}});
  EXPECT_EQ(e["data"]["data"],
            (Json{{"paypal_operations", false}, {"list_users", false}}));
  e = Permissions({{"aztpId", kAgent}, {"action", "paypal_operations"}});
  EXPECT_EQ(e["data"]["data"]["paypal_operations"], false);

  // A policy that is not the identity's, unknown identities, no action.
  auto r = Call(
      "GET", "aztp/get-identity-action-permissions", "",
      {{"aztpId", kAgent}, {"policy_code", other}, {"action", "list_users"}});
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(Code(r), "AZTP-POL-E-001");
  EXPECT_FALSE(Envelope(r)["success"]);
  EXPECT_TRUE(Envelope(r)["data"].is_null());
  for (const auto& policy : {std::string(), code}) {
    std::map<std::string, std::string> q{
        {"aztpId", "aztp://org-a.example/workload/production/node/nobody"},
        {"action", "list_users"}};
    if (!policy.empty()) q["policy_code"] = policy;
    r = Call("GET", "aztp/get-identity-action-permissions", "", q);
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_EQ(Code(r), "AZTP-ID-E-002") << r.body;
  }
  for (const auto& q : std::vector<std::map<std::string, std::string>>{
           {{"aztpId", kAgent}},
           {{"aztpId", kAgent}, {"action", " , "}},
           {{"action", "list_users"}},
           {{"aztpId", kAgent},
            {"action", "list_users"},
            {"policy_code", code},
            {"policy_id", other}}}) {
    r = Call("GET", "aztp/get-identity-action-permissions", "", q);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(Code(r), "AZTP-REQ-E-001");
  }
  std::string many;
  for (int i = 0; i < 33; ++i) many += "a" + std::to_string(i) + ",";
  r = Call("GET", "aztp/get-identity-action-permissions", "",
           {{"aztpId", kAgent}, {"action", many}});
  EXPECT_EQ(r.status, 400);
}

TEST_F(HostedSdkPolicyTest, ConnectionWithPolicyCode) {
  Issue("agent");
  Issue("tool");
  Issue("intruder");
  const std::string intruder =
      "aztp://org-a.example/workload/production/node/intruder";
  for (const std::string& from : {std::string(kAgent), intruder}) {
    auto r = Call("POST", "aztp/create-workload-identity-link",
                  R"({"sourceIdentity":")" + from + R"(","targetIdentity":")" +
                      kTool + R"("})");
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // The tool accepts connections from the agent only.
  const std::string code = MakePolicy(
      "tool-callers",
      std::string(R"({"Statement":{"Effect":"Allow","Action":"connect",)"
                  R"("Condition":{"StringEquals":{"aztp:CallerId":")") +
          kNativeAgent +
          R"("},"StringLike":{"aztp:CallerTrustDomain":"org-a.*"}}}})",
      {kNativeTool});
  auto check = [&](const std::string& route, const std::string& from,
                   const std::string& to, const std::string& policy,
                   std::string* code_out) {
    std::string body =
        R"({"aztpId":")" + from + R"(","requestAztpId":")" + to + R"(")";
    if (!policy.empty()) body += R"(,"policyCode":")" + policy + R"(")";
    auto r = Call("POST", route, body + "}");
    EXPECT_EQ(r.status, 200) << r.body;
    *code_out = Code(r);
    return Envelope(r)["data"].value("valid", false);
  };
  std::string c;
  for (const char* route : {"aztp/authorize-connection-with-identities",
                            "aztp/verify-identity-for-connection"}) {
    EXPECT_TRUE(check(route, kAgent, kTool, code, &c)) << route;
    EXPECT_EQ(c, "AZTP-LNK-S-002");
    // Linked, but the policy does not allow the intruder.
    EXPECT_FALSE(check(route, intruder, kTool, code, &c)) << route;
    EXPECT_EQ(c, "AZTP-POL-E-002");
    // Without policyCode the links alone decide.
    EXPECT_TRUE(check(route, intruder, kTool, "", &c));
    // The policy belongs to the identity connected to (requestAztpId).
    EXPECT_FALSE(check(route, kTool, kAgent, code, &c));
    EXPECT_EQ(c, "AZTP-POL-E-001");
    EXPECT_FALSE(check(route, kAgent, kTool, "policy:000000000000", &c));
    EXPECT_EQ(c, "AZTP-POL-E-001");
    // Links are still required.
    EXPECT_FALSE(check(route, kAgent, intruder, code, &c));
    EXPECT_EQ(c, "AZTP-LNK-E-001");
  }
  auto r = Call("POST", "aztp/verify-identity",
                R"({"aztpId":")" + std::string(kAgent) + R"(","policyCode":")" +
                    code + R"("})");
  EXPECT_EQ(r.status, 400) << r.body;
  r = Call("POST", "aztp/authorize-connection-with-identities",
           R"({"aztpId":")" + std::string(kAgent) + R"(","requestAztpId":")" +
               kTool + R"(","policyCode":5})");
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(HostedSdkTest, IdentityFlows) {
  Issue("agent");
  Issue("tool");
  auto r = Call("GET", "identity-flow/health");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Code(r), "AZTP-FLW-S-007");
  EXPECT_EQ(Envelope(r)["data"]["status"], "ok");

  // create_flow sends unset arguments as null.
  r = Call("POST", "identity-flow/create",
           R"({"name":"deploy","discoverable":"public","description":null,)"
           R"("tags":["prod"],"metadata":{"astha-flow":{"id":"u1"}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  Json flow = Envelope(r)["data"];
  EXPECT_EQ(Code(r), "AZTP-FLW-S-001");
  const std::string id = flow["_id"];
  EXPECT_EQ(id.rfind("flow_", 0), 0u) << r.body;
  EXPECT_EQ(flow["name"], "deploy");
  EXPECT_EQ(flow["discoverable"], "public");
  EXPECT_EQ(flow["tags"], Json::array({"prod"}));
  EXPECT_EQ(flow["metadata"]["astha-flow"]["id"], "u1");
  EXPECT_EQ(flow["createdAt"], kNow);
  EXPECT_FALSE(flow.contains("id"));

  auto add = [&](const std::string& aztp_id) {
    return Call("POST", "identity-flow/add-identity-to-flow",
                R"({"identityFlowId":")" + id + R"(","identity":{"aztpId":")" +
                    aztp_id + R"("}})");
  };
  auto verify_in = [&](const std::string& aztp_id, const std::string& flow_id,
                       std::string* code) {
    auto v = Call("POST", "aztp/verify-identity",
                  R"({"aztpId":")" + aztp_id + R"(","identityFlowId":")" +
                      flow_id + R"("})");
    EXPECT_EQ(v.status, 200) << v.body;
    *code = Code(v);
    return Envelope(v)["data"].value("valid", false);
  };
  std::string code;
  EXPECT_FALSE(verify_in(kAgent, id, &code));
  EXPECT_EQ(code, "AZTP-FLW-E-002");
  for (const char* who : {kAgent, kTool}) {
    r = add(who);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Code(r), "AZTP-FLW-S-004");
    EXPECT_EQ(Envelope(r)["data"]["aztpId"], who);
    EXPECT_EQ(Envelope(r)["data"]["identityFlowId"], id);
    EXPECT_EQ(Envelope(r)["data"]["status"], "active");
  }
  EXPECT_TRUE(verify_in(kAgent, id, &code));
  EXPECT_EQ(code, "AZTP-ID-S-002");

  // Revoked in the flow: invalid there, valid everywhere else.
  r = Call("POST", "aztp/revoke-identity-for-flow",
           R"({"aztpId":")" + std::string(kAgent) + R"(","identityFlowId":")" +
               id + R"(","reason":"suspicious"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Code(r), "AZTP-FLW-S-006");
  EXPECT_EQ(Envelope(r)["data"]["status"], "revoked");
  EXPECT_EQ(Envelope(r)["data"]["reason"], "suspicious");
  EXPECT_FALSE(verify_in(kAgent, id, &code));
  EXPECT_EQ(code, "AZTP-FLW-E-003");
  EXPECT_TRUE(Verify(kAgent));
  EXPECT_TRUE(verify_in(kTool, id, &code));
  // A globally revoked identity is not valid in any flow.
  Call("POST", "aztp/revoke-identity",
       R"({"aztpId":")" + std::string(kTool) + R"("})");
  EXPECT_FALSE(verify_in(kTool, id, &code));
  EXPECT_EQ(code, "AZTP-ID-E-001");
  Call("POST", "aztp/reissue-revoked-identity",
       R"({"aztpId":")" + std::string(kTool) + R"("})");

  r = Call("PUT", "identity-flow/update/" + id,
           R"({"name":"deploy-2","description":"d","discoverable":null})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Code(r), "AZTP-FLW-S-002");
  EXPECT_EQ(Envelope(r)["data"]["name"], "deploy-2");
  EXPECT_EQ(Envelope(r)["data"]["discoverable"], "public");

  r = Call("POST", "identity-flow/remove-identity-from-flow",
           R"({"identityFlowId":")" + id + R"(","aztpId":")" + kTool + R"("})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Code(r), "AZTP-FLW-S-005");
  EXPECT_EQ(Envelope(r)["data"]["removed"], true);
  EXPECT_FALSE(verify_in(kTool, id, &code));
  EXPECT_EQ(code, "AZTP-FLW-E-002");

  // Errors: duplicates, non-members, unknown identities and flows.
  r = add(kAgent);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(Code(r), "AZTP-ID-E-003");
  r = Call("POST", "identity-flow/remove-identity-from-flow",
           R"({"identityFlowId":")" + id + R"(","aztpId":")" + kTool + R"("})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Code(r), "AZTP-FLW-E-002");
  r = add("aztp://org-a.example/workload/production/node/nobody");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Code(r), "AZTP-ID-E-002");
  const std::string missing = "flow_000000000000000000000000";
  r = Call("POST", "identity-flow/add-identity-to-flow",
           R"({"identityFlowId":")" + missing + R"(","identity":{"aztpId":")" +
               kAgent + R"("}})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Code(r), "AZTP-FLW-E-001");
  for (const auto& [method, route, body] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"POST", "identity-flow/create", "{}"},
           {"POST", "identity-flow/create", R"({"name":"x","tags":"y"})"},
           {"POST", "identity-flow/create",
            R"({"name":"x","discoverable":"everyone"})"},
           {"PUT", "identity-flow/update/" + id, "{}"},
           {"PUT", "identity-flow/update/a:b", R"({"name":"x"})"},
           {"DELETE", "identity-flow/delete/", ""},
           {"POST", "identity-flow/add-identity-to-flow",
            R"({"identity":{"aztpId":")" + std::string(kAgent) + R"("}})"},
           {"POST", "identity-flow/add-identity-to-flow",
            R"({"identityFlowId":")" + id + R"("})"},
           {"POST", "identity-flow/add-identity-to-flow",
            R"({"identityFlowId":"../x","identity":{"aztpId":")" +
                std::string(kAgent) + R"("}})"},
           {"POST", "identity-flow/remove-identity-from-flow",
            R"({"identityFlowId":")" + id +
                R"(","aztpId":"spiffe://org-a.example/x"})"},
           {"POST", "aztp/revoke-identity-for-flow",
            R"({"identityFlowId":")" + id + R"("})"},
           {"POST", "aztp/verify-identity",
            R"({"aztpId":")" + std::string(kAgent) +
                R"(","identityFlowId":"a/b"})"},
           {"POST", "aztp/verify-identity-for-connection",
            R"({"aztpId":")" + std::string(kAgent) + R"(","requestAztpId":")" +
                kTool + R"(","identityFlowId":")" + id + R"("})"}}) {
    r = Call(method, route, body);
    EXPECT_EQ(r.status, 400)
        << method << " " << route << " " << body << " -> " << r.body;
    EXPECT_EQ(Code(r), "AZTP-REQ-E-001") << route << " " << r.body;
  }

  r = Call("DELETE", "identity-flow/delete/" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Code(r), "AZTP-FLW-S-003");
  EXPECT_EQ(Envelope(r)["data"]["_id"], id);
  EXPECT_FALSE(verify_in(kAgent, id, &code));
  EXPECT_EQ(code, "AZTP-FLW-E-001");
  r = Call("DELETE", "identity-flow/delete/" + id);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Code(r), "AZTP-FLW-E-001");
  r = Call("PUT", "identity-flow/update/" + id, R"({"name":"x"})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Code(r), "AZTP-FLW-E-001");
  EXPECT_TRUE(Verify(kAgent));
}

}  // namespace
}  // namespace aztp::compat

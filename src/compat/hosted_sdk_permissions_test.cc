// The security review's findings through the hosted SDK's routes: they
// call the services behind the native routes as the caller's key, so a
// scoped key gets exactly the native rights (docs/aztpd.md, "Permissions").
#include <gtest/gtest.h>

#include "aztp/compat/hosted_sdk.h"
#include "compat/hosted_sdk_fixture.h"

namespace aztp::compat {
namespace {

constexpr char kNativeAgent[] =
    "spiffe://org-a.example/workload/production/node/agent";

class HostedSdkPermissionsTest : public HostedSdkTest {
 protected:
  // ScopedKey makes an API key (with the admin key) for the path `scope`.
  std::string ScopedKey(const std::string& scope) {
    auto r = cp_->Handle(test_support::NativeRequest(
        "POST", "/v1/apikeys", R"({"scope":")" + scope + R"("})", key_));
    EXPECT_EQ(r.status, 201) << r.body;
    return ParseJson(r.body)->value("api_key", "");
  }
  // Registered: is `id` (aztp://) registered, as the admin sees it?
  bool Registered(const std::string& id) {
    return Call("GET", "aztp/get-identity/" + id).status == 200;
  }
  static std::string Pair(const std::string& from, const std::string& to) {
    return R"({"aztpId":")" + from + R"(","requestAztpId":")" + to + R"("})";
  }
};

// Finding 5: a scoped key linked its identity to one it does not manage, and
// verify-identity-for-connection then reported the pair as connected.
TEST_F(HostedSdkPermissionsTest, Finding5HostedLinksNeedRightsOnBothEnds) {
  Issue("agent");
  Issue("tool");
  const std::string agent_key = ScopedKey("/workload/production/node/agent");
  auto r = Call("POST", "aztp/create-workload-identity-link",
                R"({"sourceIdentity":")" + std::string(kAgent) +
                    R"(","targetIdentity":")" + kTool + R"("})",
                {}, agent_key);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(Code(r), "AZTP-AUTH-E-002");
  r = Call("POST", "aztp/verify-identity-for-connection", Pair(kAgent, kTool));
  EXPECT_EQ(Code(r), "AZTP-LNK-E-001") << r.body;
  EXPECT_FALSE(Envelope(r)["data"]["valid"]);
  // The scoped key cannot read the other end either.
  r = Call("POST", "aztp/verify-identity-for-connection", Pair(kAgent, kTool),
           {}, agent_key);
  EXPECT_EQ(r.status, 403) << r.body;
}

// Finding 5 (sibling): issue-identity's linkTo and parentIdentity bind the
// new identity to others; without rights on those, nothing is registered.
TEST_F(HostedSdkPermissionsTest, Finding5HostedIssueLinksNeedRightsOnBothEnds) {
  Issue("tool");
  const std::string key = ScopedKey("/workload/production/node/new");
  const std::string id = "aztp://org-a.example/workload/production/node/new";
  for (const std::string& extra :
       {R"(,"linkTo":[")" + std::string(kTool) + R"("])",
        R"(,"metadata":{"parentIdentity":")" + std::string(kTool) + R"("})"}) {
    auto r = Call("POST", "aztp/issue-identity",
                  R"({"workloadId":"new")" + extra + "}", {}, key);
    EXPECT_EQ(r.status, 403) << extra << " -> " << r.body;
    EXPECT_EQ(Code(r), "AZTP-AUTH-E-002");
    EXPECT_FALSE(Registered(id)) << extra;
  }
  auto r =
      Call("POST", "aztp/issue-identity", R"({"workloadId":"new"})", {}, key);
  EXPECT_EQ(r.status, 200) << r.body;
}

// Finding 5 (sibling): a flow membership binds an identity and a flow; a key
// that manages the identity may not put it into a flow it does not own.
TEST_F(HostedSdkPermissionsTest, Finding5HostedFlowMembersNeedTheFlowsOwner) {
  Issue("agent");
  auto r = Call("POST", "identity-flow/create", R"({"name":"shared"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string flow = Envelope(r)["data"]["_id"];
  const std::string key = ScopedKey("/workload/production/node/agent");
  const std::string member = R"({"identityFlowId":")" + flow +
                             R"(","identity":{"aztpId":")" + kAgent + R"("}})";
  r = Call("POST", "identity-flow/add-identity-to-flow", member, {}, key);
  EXPECT_EQ(r.status, 403) << r.body;
  r = Call("POST", "aztp/verify-identity",
           R"({"aztpId":")" + std::string(kAgent) + R"(","identityFlowId":")" +
               flow + R"("})");
  EXPECT_EQ(Code(r), "AZTP-FLW-E-002") << r.body;
  // The owner adds it and revokes it in the flow; the key cannot reissue.
  ASSERT_EQ(Call("POST", "identity-flow/add-identity-to-flow", member).status,
            200);
  const std::string in_flow =
      R"({"identityFlowId":")" + flow + R"(","aztpId":")" + kAgent + R"("})";
  ASSERT_EQ(Call("POST", "aztp/revoke-identity-for-flow", in_flow).status, 200);
  r = cp_->Handle(test_support::NativeRequest(
      "POST", "/v1/flows/" + flow + ":reissue",
      R"({"identity":")" + std::string(kNativeAgent) + R"("})", key));
  EXPECT_EQ(r.status, 403) << r.body;
}

// Finding 9: reissue-revoked-identity with a scoped key after an admin
// revoked the identity.
TEST_F(HostedSdkPermissionsTest, Finding9HostedReissueOfAnAdminsRevocation) {
  Issue("agent");
  const std::string key = ScopedKey("/workload/production/node/agent");
  const std::string body = R"({"aztpId":")" + std::string(kAgent) + R"("})";
  ASSERT_EQ(Call("POST", "aztp/revoke-identity", body).status, 200);
  auto r = Call("POST", "aztp/reissue-revoked-identity", body, {}, key);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(Code(r), "AZTP-AUTH-E-002");
  EXPECT_FALSE(Verify(kAgent));
  r = Call("POST", "aztp/reissue-revoked-identity", body);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(Verify(kAgent));
}

}  // namespace
}  // namespace aztp::compat

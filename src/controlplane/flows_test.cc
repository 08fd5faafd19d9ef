// Identity flows (/v1/flows) driven through ControlPlane::Handle(), with a
// real SQLite store in a temporary folder and a fixed clock.
#include <gtest/gtest.h>

#include <regex>

#include "aztp/controlplane/control_plane.h"
#include "testing/control_plane_fixture.h"
#include "testing/temp_dir.h"

namespace aztp {
namespace {

constexpr UnixTime kNow = 1'800'000'000;
constexpr char kAgent[] = "spiffe://org-a.example/agents/a";
constexpr char kTool[] = "spiffe://org-a.example/tools/t";

class FlowsTest : public testing::Test {
 protected:
  void SetUp() override {
    auto init = test_support::InitializeTestStore(dir_.File("aztpd.db"),
                                                  "org-a.example", kNow - 3600);
    store_ = init.store;
    admin_ = init.admin_api_key;
    cp_ = test_support::OpenTestControlPlane(store_, &clock_);
    for (const char* id : {kAgent, kTool}) {
      auto r = Call("POST", "/v1/identities",
                    std::string(R"({"id":")") + id + R"("})");
      ASSERT_EQ(r.status, 201) << r.body;
    }
  }

  http::Response Call(const std::string& method, const std::string& path,
                      const std::string& body = "",
                      const std::string& key = "") {
    return cp_->Handle(test_support::NativeRequest(method, path, body,
                                                   key.empty() ? admin_ : key));
  }
  Json Body(const http::Response& r) {
    auto j = ParseJson(r.body);
    EXPECT_TRUE(j.has_value()) << r.body;
    return j ? *j : Json::object();
  }
  // ScopedKey makes an API key for the SPIFFE path prefix `scope`.
  std::string ScopedKey(const std::string& scope) {
    auto r = Call("POST", "/v1/apikeys", R"({"scope":")" + scope + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    return Body(r).value("api_key", "");
  }
  // Create makes a flow and returns its ID.
  std::string Create(const std::string& body, const std::string& key = "") {
    auto r = Call("POST", "/v1/flows", body, key);
    EXPECT_EQ(r.status, 201) << body << " -> " << r.body;
    return Body(r).value("id", "");
  }
  std::string Member(const std::string& id) {
    return std::string(R"({"identity":")") + id + R"("})";
  }
  std::vector<AuditRecord> Audit() {
    std::vector<AuditRecord> records;
    EXPECT_TRUE(store_->Read([&](Transaction& tx) -> Status {
      AZTP_ASSIGN_OR_RETURN(records, tx.ListAudit(0, 1000));
      return Ok();
    }));
    return records;
  }

  test_support::TempDir dir_{"aztp_flows_"};
  FixedClock clock_{kNow};
  std::shared_ptr<Store> store_;
  std::unique_ptr<ControlPlane> cp_;
  std::string admin_;
};

TEST_F(FlowsTest, CreateGetListUpdateDelete) {
  auto r =
      Call("POST", "/v1/flows",
           R"({"name":"deploy","description":"the deployment",)"
           R"("tags":["prod","eu"],"metadata":{"astha-flow":{"id":"x"}}})");
  ASSERT_EQ(r.status, 201) << r.body;
  Json f = Body(r);
  const std::string id = f["id"];
  EXPECT_TRUE(std::regex_match(id, std::regex("flow_[0-9a-f]{24}"))) << id;
  EXPECT_EQ(f["name"], "deploy");
  EXPECT_EQ(f["description"], "the deployment");
  EXPECT_EQ(f["discoverable"], "public");
  EXPECT_EQ(f["tags"], Json::array({"prod", "eu"}));
  EXPECT_EQ(f["metadata"]["astha-flow"]["id"], "x");
  EXPECT_EQ(f["created_at"], kNow);
  EXPECT_EQ(f["updated_at"], kNow);
  EXPECT_EQ(f["created_by"].get<std::string>().rfind("apikey:", 0), 0u);

  r = Call("GET", "/v1/flows/" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["name"], "deploy");
  EXPECT_EQ(Body(r)["members"], Json::array());

  std::string second = Create(R"({"name":"other","discoverable":"private"})");
  r = Call("GET", "/v1/flows");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["flows"].size(), 2u);

  clock_.Set(kNow + 10);
  r = Call("PUT", "/v1/flows/" + id,
           R"({"name":"deploy-2","discoverable":"private","tags":[]})");
  ASSERT_EQ(r.status, 200) << r.body;
  f = Body(r);
  EXPECT_EQ(f["name"], "deploy-2");
  EXPECT_EQ(f["description"], "the deployment");  // kept
  EXPECT_EQ(f["discoverable"], "private");
  EXPECT_EQ(f["tags"], Json::array());
  EXPECT_EQ(f["created_at"], kNow);
  EXPECT_EQ(f["updated_at"], kNow + 10);
  EXPECT_EQ(Body(Call("GET", "/v1/flows/" + id))["name"], "deploy-2");

  r = Call("DELETE", "/v1/flows/" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["deleted"], true);
  EXPECT_EQ(Call("GET", "/v1/flows/" + id).status, 404);
  EXPECT_EQ(Call("DELETE", "/v1/flows/" + id).status, 404);
  EXPECT_EQ(Call("PUT", "/v1/flows/" + id, R"({"name":"x"})").status, 404);
  EXPECT_EQ(Body(Call("GET", "/v1/flows"))["flows"].size(), 1u);
  EXPECT_EQ(Call("DELETE", "/v1/flows/" + second).status, 200);
}

TEST_F(FlowsTest, RejectsBadBodiesWithReasons) {
  const std::string long_name(129, 'n');
  const std::string long_tag(65, 't');
  std::string many_tags = "[";
  for (int i = 0; i < 33; ++i) {
    many_tags += (i ? ",\"t" : "\"t") + std::to_string(i) + "\"";
  }
  many_tags += "]";
  const std::string big_meta =
      R"({"name":"a","metadata":{"x":")" + std::string(17000, 'x') + R"("}})";
  struct Case {
    std::string body;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {"{}", "invalid_argument"},
           {R"({"name":""})", "invalid_argument"},
           {R"({"name":")" + long_name + R"("})", "invalid_argument"},
           {R"({"name":5})", "malformed"},
           {R"({"name":null})", "malformed"},
           {R"({"name":"a","discoverable":"secret"})", "invalid_argument"},
           {R"({"name":"a","discoverable":true})", "malformed"},
           {R"({"name":"a","tags":"x"})", "invalid_argument"},
           {R"({"name":"a","tags":[1]})", "invalid_argument"},
           {R"({"name":"a","tags":[""]})", "invalid_argument"},
           {R"({"name":"a","tags":[")" + long_tag + R"("]})",
            "invalid_argument"},
           {R"({"name":"a","tags":)" + many_tags + "}", "invalid_argument"},
           {R"({"name":"a","tags":["x","x"]})", "invalid_argument"},
           {R"({"name":"a","metadata":[]})", "invalid_argument"},
           {big_meta, "invalid_argument"},
           {R"({"name":"a","owner":"me"})", "malformed"},
           {"[]", "malformed"},
           {"{", "malformed"},
       }) {
    auto r = Call("POST", "/v1/flows", c.body);
    EXPECT_EQ(r.status, 400) << c.body.substr(0, 80) << " -> " << r.body;
    EXPECT_EQ(Body(r)["error"], c.error) << c.body.substr(0, 80);
    EXPECT_FALSE(Body(r).value("message", "").empty());
  }
  // 32 tags of 64 bytes are fine.
  std::string tags = "[";
  for (int i = 0; i < 32; ++i) {
    std::string t = std::to_string(i);
    tags += (i ? ",\"" : "\"") + t + std::string(64 - t.size(), 'x') + "\"";
  }
  tags += "]";
  const std::string id = Create(R"({"name":")" + std::string(128, 'n') +
                                R"(","tags":)" + tags + "}");
  for (const char* body : {"{}", R"({"name":""})", R"({"discoverable":"x"})",
                           R"({"unknown":1})", R"({"tags":[2]})"}) {
    auto r = Call("PUT", "/v1/flows/" + id, body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
  }
  // Unknown flows, malformed IDs and actions.
  for (const char* path :
       {"/v1/flows/flow_000000000000000000000000", "/v1/flows/nope",
        "/v1/flows/flow_00000000000000000000000Z"}) {
    auto r = Call("GET", path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(Body(r)["error"], "not_found");
  }
  EXPECT_EQ(Call("POST", "/v1/flows/" + id + ":merge", "{}").status, 404);
  EXPECT_EQ(Call("GET", "/v1/flows/" + id + ":add").status, 404);
  EXPECT_EQ(Call("PATCH", "/v1/flows/" + id, "{}").status, 404);
  EXPECT_EQ(Call("GET", "/v1/flowsx").status, 404);
  EXPECT_EQ(Call("GET", "/v1/flows", "", "-").status, 401);
}

TEST_F(FlowsTest, MembershipAndFlowScopedRevocation) {
  const std::string id = Create(R"({"name":"pipeline"})");
  const std::string base = "/v1/flows/" + id;
  auto r = Call("POST", base + ":add", Member(kAgent));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(Body(r)["identity"], kAgent);
  EXPECT_EQ(Body(r)["status"], "active");
  EXPECT_EQ(Body(r)["flow"], id);
  // The aztp:// alias names the same identity.
  r = Call("POST", base + ":add",
           R"({"identity":"aztp://org-a.example/tools/t"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(Body(r)["identity"], kTool);
  r = Call("POST", base + ":add", Member(kAgent));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(Body(r)["error"], "already_exists");

  clock_.Set(kNow + 5);
  r = Call("POST", base + ":revoke",
           R"({"identity":")" + std::string(kAgent) + R"(","reason":"leak"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["status"], "revoked");
  EXPECT_EQ(Body(r)["reason"], "leak");
  EXPECT_EQ(Body(r)["added_at"], kNow);
  EXPECT_EQ(Body(r)["updated_at"], kNow + 5);
  Json flow = Body(Call("GET", base));
  ASSERT_EQ(flow["members"].size(), 2u);
  EXPECT_EQ(flow["members"][0]["identity"], kAgent);
  EXPECT_EQ(flow["members"][0]["status"], "revoked");
  EXPECT_EQ(flow["members"][0]["reason"], "leak");
  EXPECT_EQ(flow["members"][1]["status"], "active");
  // Revoked in the flow only: the identity stays valid everywhere else.
  r = Call("GET", "/v1/identities/org-a.example/agents/a");
  EXPECT_EQ(Body(r)["status"], "active");
  EXPECT_EQ(Body(Call("GET", "/v1/revocations", "", "-"))["ids"].size(), 0u);
  const std::string other = Create(R"({"name":"other"})");
  r = Call("POST", "/v1/flows/" + other + ":add", Member(kAgent));
  EXPECT_EQ(Body(r)["status"], "active");

  r = Call("POST", base + ":reissue", Member(kAgent));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["status"], "active");
  EXPECT_EQ(Body(r)["reason"], "");
  r = Call("POST", base + ":remove", Member(kTool));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["removed"], true);
  EXPECT_EQ(Body(Call("GET", base))["members"].size(), 1u);
  r = Call("POST", base + ":remove", Member(kTool));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Call("POST", base + ":revoke", Member(kTool)).status, 404);
  EXPECT_EQ(Call("POST", base + ":reissue", Member(kTool)).status, 404);

  // Unknown identities and flows, bad bodies.
  r = Call("POST", base + ":add", Member("spiffe://org-a.example/nobody"));
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(Body(r)["message"].get<std::string>().find("not registered"),
            std::string::npos);
  r = Call("POST", "/v1/flows/flow_000000000000000000000000:add",
           Member(kAgent));
  EXPECT_EQ(r.status, 404);
  for (const char* body :
       {"{}", R"({"identity":5})", R"({"identity":"not an id"})",
        R"({"identity":"spiffe://other.example/x"})",
        R"({"identity":"spiffe://org-a.example/agents/a","reason":"x"})"}) {
    r = Call("POST", base + ":add", body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
  }
  r = Call("POST", base + ":revoke",
           R"({"identity":")" + std::string(kAgent) + R"(","reason":")" +
               std::string(1025, 'r') + R"("})");
  EXPECT_EQ(r.status, 400) << r.body;

  // Deleting the flow removes its memberships, not the identities.
  ASSERT_EQ(Call("DELETE", base).status, 200);
  EXPECT_EQ(Call("GET", "/v1/identities/org-a.example/agents/a").status, 200);
  EXPECT_EQ(Body(Call("GET", "/v1/flows/" + other))["members"].size(), 1u);
}

TEST_F(FlowsTest, VisibilityAndOwnership) {
  const std::string agents = ScopedKey("/agents/");
  const std::string tools = ScopedKey("/tools/");
  const std::string priv =
      Create(R"({"name":"mine","discoverable":"private"})", agents);
  const std::string pub = Create(R"({"name":"shared"})", agents);
  const std::string admins =
      Create(R"({"name":"ops","discoverable":"private"})");

  auto names = [&](const std::string& key) {
    std::vector<std::string> out;
    const Json list = Body(Call("GET", "/v1/flows", "", key));
    for (const auto& f : list["flows"]) {
      out.push_back(f["name"]);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(names(agents), (std::vector<std::string>{"mine", "shared"}));
  EXPECT_EQ(names(tools), (std::vector<std::string>{"shared"}));
  EXPECT_EQ(names(admin_), (std::vector<std::string>{"mine", "ops", "shared"}));

  // Another key's private flow does not exist for the others.
  for (const auto& [method, suffix, body] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"GET", "", ""},
           {"PUT", "", R"({"name":"x"})"},
           {"DELETE", "", ""},
           {"POST", ":add", Member(kTool)}}) {
    auto r = Call(method, "/v1/flows/" + priv + suffix, body, tools);
    EXPECT_EQ(r.status, 404) << method << suffix << " -> " << r.body;
    EXPECT_EQ(r.body.find("private"), std::string::npos) << r.body;
  }
  EXPECT_EQ(Call("GET", "/v1/flows/" + admins, "", agents).status, 404);
  EXPECT_EQ(Call("GET", "/v1/flows/" + priv).status, 200);  // admin

  // A public flow is visible but only its creator (or an admin) changes it.
  EXPECT_EQ(Call("GET", "/v1/flows/" + pub, "", tools).status, 200);
  EXPECT_EQ(Call("PUT", "/v1/flows/" + pub, R"({"name":"x"})", tools).status,
            403);
  EXPECT_EQ(Call("DELETE", "/v1/flows/" + pub, "", tools).status, 403);
  EXPECT_EQ(Call("PUT", "/v1/flows/" + pub, R"({"name":"y"})", agents).status,
            200);
  EXPECT_EQ(Call("PUT", "/v1/flows/" + pub, R"({"name":"z"})").status, 200);

  // Adding needs a key that manages the identity and owns the flow: a
  // membership binds both ends.
  auto r = Call("POST", "/v1/flows/" + pub + ":add", Member(kAgent), tools);
  EXPECT_EQ(r.status, 403) << r.body;
  r = Call("POST", "/v1/flows/" + pub + ":add", Member(kTool), tools);
  EXPECT_EQ(r.status, 403) << r.body;
  r = Call("POST", "/v1/flows/" + pub + ":add", Member(kTool));
  EXPECT_EQ(r.status, 201) << r.body;
  r = Call("POST", "/v1/flows/" + pub + ":add", Member(kAgent), agents);
  EXPECT_EQ(r.status, 201) << r.body;
  // The flow's owner may revoke and remove members it does not manage;
  // another key may act only on its own identities, and may not undo the
  // owner's revocation.
  r = Call("POST", "/v1/flows/" + pub + ":revoke", Member(kTool), agents);
  EXPECT_EQ(r.status, 200) << r.body;
  r = Call("POST", "/v1/flows/" + pub + ":revoke", Member(kAgent), tools);
  EXPECT_EQ(r.status, 403) << r.body;
  r = Call("POST", "/v1/flows/" + pub + ":reissue", Member(kTool), tools);
  EXPECT_EQ(r.status, 403) << r.body;
  r = Call("POST", "/v1/flows/" + pub + ":reissue", Member(kTool), agents);
  EXPECT_EQ(r.status, 200) << r.body;
  r = Call("POST", "/v1/flows/" + pub + ":remove", Member(kAgent), tools);
  EXPECT_EQ(r.status, 403) << r.body;
  r = Call("POST", "/v1/flows/" + pub + ":remove", Member(kTool), agents);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Call("DELETE", "/v1/flows/" + pub, "", agents).status, 200);
}

TEST_F(FlowsTest, WorkloadSvidsMayNotUseFlows) {
  const std::string id = Create(R"({"name":"f"})");
  for (const auto& [method, path] :
       std::vector<std::pair<std::string, std::string>>{
           {"GET", "/v1/flows"},
           {"GET", "/v1/flows/" + id},
           {"POST", "/v1/flows"}}) {
    http::Request r;
    r.method = method;
    r.path = path;
    r.target = path;
    r.peer = *SpiffeId::Parse(kAgent);
    if (method == "POST") {
      r.headers["content-type"] = "application/json";
      r.body = R"({"name":"x"})";
    }
    EXPECT_EQ(cp_->Handle(r).status, 403) << method << " " << path;
  }
}

TEST_F(FlowsTest, EveryMutationIsAuditedInItsTransaction) {
  const std::size_t before = Audit().size();
  const std::string id = Create(R"({"name":"audited"})");
  Call("PUT", "/v1/flows/" + id, R"({"description":"d"})");
  Call("POST", "/v1/flows/" + id + ":add", Member(kAgent));
  Call("POST", "/v1/flows/" + id + ":revoke",
       R"({"identity":")" + std::string(kAgent) + R"(","reason":"why"})");
  Call("POST", "/v1/flows/" + id + ":reissue", Member(kAgent));
  Call("POST", "/v1/flows/" + id + ":remove", Member(kAgent));
  Call("DELETE", "/v1/flows/" + id);
  // Refused requests leave no record.
  Call("POST", "/v1/flows/" + id + ":add", Member(kAgent));
  Call("POST", "/v1/flows", R"({"name":""})");
  auto records = Audit();
  ASSERT_EQ(records.size(), before + 7);
  std::vector<std::string> actions;
  for (std::size_t i = before; i < records.size(); ++i) {
    actions.push_back(records[i].action);
    EXPECT_EQ(records[i].actor.rfind("apikey:", 0), 0u);
  }
  EXPECT_EQ(actions,
            (std::vector<std::string>{"flow.create", "flow.update", "flow.add",
                                      "flow.revoke", "flow.reissue",
                                      "flow.remove", "flow.delete"}));
  EXPECT_EQ(records[before].subject, id);
  EXPECT_EQ(records[before + 2].subject, kAgent);
  EXPECT_EQ(records[before + 2].details["flow"], id);
  EXPECT_EQ(records[before + 3].reason, "why");
  EXPECT_EQ(records[before + 6].subject, id);
}

}  // namespace
}  // namespace aztp

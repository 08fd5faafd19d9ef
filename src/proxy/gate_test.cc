#include "aztp/proxy/gate.h"

#include <gtest/gtest.h>

#include <map>

#include "aztp/chain/builder.h"
#include "aztp/proxy/rpc_gate.h"
#include "aztp/replay/replay_store.h"
#include "testing/trust_domains.h"

namespace aztp {
namespace {

using test_support::Must;

constexpr UnixTime kNow = 1'800'000'000;
const char* kPlanner = "spiffe://org-a.example/agents/planner";
const char* kPlaneA = "spiffe://org-a.example/aztpd";
const char* kResearch = "spiffe://org-a.example/agents/research";
const char* kPayments = "spiffe://org-b.example/tools/payments";

SpiffeId Id(const char* s) { return Must(SpiffeId::Parse(s)); }

TEST(MatchRouteTest, PatternsMatchWholeSegments) {
  struct Case {
    const char* method;
    const char* pattern;
    const char* req_method;
    const char* path;
    bool match;
  };
  const Case cases[] = {
      {"POST", "/quote", "POST", "/quote", true},
      {"POST", "/quote", "GET", "/quote", false},
      {"*", "/quote", "DELETE", "/quote", true},
      // One final '/' routes as the path without it (finding 4's sibling:
      // an app serving "/quote/" as "/quote" must not get it unrouted or
      // routed by a broader pattern).
      {"POST", "/quote", "POST", "/quote/", true},
      {"GET", "/admin", "GET", "/admin/", true},
      {"GET", "/admin/*", "GET", "/admin/x/", true},
      {"GET", "/admin", "GET", "/admin//", false},
      {"POST", "/quote", "POST", "/quotes", false},
      {"POST", "/quote", "POST", "/QUOTE", false},
      {"GET", "/orders/*", "GET", "/orders/42", true},
      {"GET", "/orders/*", "GET", "/orders/", false},
      {"GET", "/orders/*", "GET", "/orders", false},
      {"GET", "/orders/*", "GET", "/orders/42/items", false},
      {"GET", "/orders/*/items", "GET", "/orders/42/items", true},
      {"GET", "/files/**", "GET", "/files", true},
      {"GET", "/files/**", "GET", "/files/", true},
      {"GET", "/files/**", "GET", "/files/a/b/c", true},
      {"GET", "/files/**", "GET", "/filesystem", false},
      {"GET", "/**", "GET", "/anything/at/all", true},
      {"GET", "/", "GET", "/", true},
      {"GET", "/", "GET", "/x", false},
      {"GET", "/a", "GET", "", false},
      {"GET", "/a", "GET", "a", false},
  };
  for (const Case& c : cases) {
    ProxyRoute r;
    r.method = c.method;
    r.path = c.pattern;
    r.action = "x:y";
    EXPECT_EQ(MatchRoute(r, c.req_method, c.path), c.match)
        << c.method << " " << c.pattern << " vs " << c.req_method << " "
        << c.path;
  }
}

TEST(ProxyHeadersTest, Classification) {
  EXPECT_TRUE(IsProxyHeader("Aztp-Caller"));
  EXPECT_TRUE(IsProxyHeader("aztp-chain"));
  EXPECT_TRUE(IsProxyHeader("AZTP-anything"));
  EXPECT_FALSE(IsProxyHeader("Aztp"));
  EXPECT_FALSE(IsProxyHeader("X-Aztp-Caller"));
  EXPECT_TRUE(IsHopByHopHeader("Connection"));
  EXPECT_TRUE(IsHopByHopHeader("transfer-encoding"));
  EXPECT_TRUE(IsHopByHopHeader("Proxy-Authorization"));
  EXPECT_FALSE(IsHopByHopHeader("Content-Length"));
  EXPECT_FALSE(IsHopByHopHeader("Authorization"));
}

class GateTest : public testing::Test {
 protected:
  GateTest() : domains_(kNow), clock_(kNow) {
    domains_.AddDomain("org-a.example");
    domains_.AddDomain("org-b.example");
    ChainVerifierOptions o;
    o.audience = Id(kPayments);
    o.bundles = domains_.Bundles();
    o.clock = &clock_;
    o.replay = std::make_shared<InMemoryReplayStore>();
    // payments (org-b) believes org-a's control plane for its people.
    o.person_issuers["org-a.example"] = {"https://login.example"};
    verifier_ = Must(ChainVerifier::Create(std::move(o)));
    std::vector<ProxyRoute> routes = {
        {"POST", "/quote", "payments:quote", "quotes"},
        {"POST", "/refund/*", "payments:refund", "refunds"},
        {"GET", "/admin/**", "payments:admin", "*"},
    };
    ProxyRoute mcp;
    mcp.path = "/mcp";
    mcp.action = "payments:mcp";
    mcp.protocol = ProxyRoute::Protocol::kMcp;
    mcp.tool_action = "payments:mcp:tool:{name}";
    mcp.resource_action = "payments:mcp:resource:{name}";
    mcp.prompt_action = "payments:mcp:prompt:{name}";
    mcp.method_action = "payments:mcp:{method}";
    routes.push_back(mcp);
    gate_ = std::make_unique<Gate>(Id(kPayments), routes, verifier_, sessions_);
    policy_ = Must(ParsePolicy(R"({"Statement":[
        {"Sid":"QuotesFromOrgA","Effect":"Allow","Action":"payments:*",
         "Condition":{"StringEquals":{"aztp:CallerTrustDomain":"org-a.example"}}},
        {"Sid":"NoRefunds","Effect":"Deny","Action":"payments:refund"}]})"));
  }

  // Chain is alice's, vouched for by org-a's control plane (§5.3): aztpd ->
  // research -> payments with `caps` granted at the root.
  std::string Chain(std::vector<std::string> caps) {
    MintOptions m;
    m.audience = Id(kResearch);
    m.capabilities = Must(CapabilitySet::FromStrings(caps));
    m.subject = "oidc:https://login.example#alice";
    m.txn = "txn-" + std::to_string(++n_);
    std::string root = Must(MintChain(domains_.Signer(kPlaneA), m, kNow));
    ChainVerifierOptions o;
    o.audience = Id(kResearch);
    o.bundles = domains_.Bundles();
    o.clock = &clock_;
    auto v = Must(Must(ChainVerifier::Create(std::move(o)))->Verify(root));
    ExtendOptions e;
    e.audience = Id(kPayments);
    return Must(ExtendChain(v, domains_.Signer(kResearch), e, kNow));
  }

  // PersonNamedByAnAgent is the attack of §5.3: research signs a root for
  // payments naming a person itself, with a JWS library of its own
  // (MintChain refuses to).
  std::string PersonNamedByAnAgent() {
    HopClaims c{Id(kResearch), "oidc:https://login.example#cfo", Id(kPayments)};
    c.iat = kNow;
    c.exp = kNow + 300;
    c.jti = "AAAAAAAAAAAAAAAAAAAAAA";
    c.txn = "txn-forged";
    c.max = 15;
    c.cap = Must(CapabilitySet::FromStrings({"payments:*"}));
    return Must(domains_.Signer(kResearch).Sign(c));
  }

  InboundRequest Request(std::string method, std::string path,
                         std::optional<std::string> chain,
                         const char* peer = kResearch) {
    InboundRequest r;
    if (peer != nullptr) r.peer = Id(peer);
    r.method = std::move(method);
    r.path = std::move(path);
    r.chain = std::move(chain);
    return r;
  }

  GateOutcome Check(const InboundRequest& r) {
    return gate_->Check(r, {&*policy_}, kNow);
  }

  // PlannerChain is planner's own root for payments.
  std::string PlannerChain(std::vector<std::string> caps) {
    MintOptions m;
    m.audience = Id(kPayments);
    m.capabilities = Must(CapabilitySet::FromStrings(caps));
    m.txn = "txn-p" + std::to_string(++n_);
    return Must(MintChain(domains_.Signer(kPlanner), m, kNow));
  }

  std::shared_ptr<RpcSessions> sessions_ =
      std::make_shared<RpcSessions>(16, 3600);
  test_support::TestDomains domains_;
  FixedClock clock_;
  std::shared_ptr<ChainVerifier> verifier_;
  std::unique_ptr<Gate> gate_;
  std::optional<Policy> policy_;
  int n_ = 0;
};

TEST_F(GateTest, AllowedRequestCarriesTheVerifiedCallerToTheApp) {
  GateOutcome o =
      Check(Request("POST", "/quote", Chain({"payments:quote", "x:y"})));
  ASSERT_TRUE(o.allowed()) << o.reason << ": " << o.message;
  ASSERT_NE(o.route, nullptr);
  EXPECT_EQ(o.route->action, "payments:quote");
  ASSERT_TRUE(o.decision.has_value());
  EXPECT_EQ(o.decision->sid, "QuotesFromOrgA");
  auto headers = o.ForwardHeaders();
  std::map<std::string, std::string> h(headers.begin(), headers.end());
  EXPECT_EQ(h["Aztp-Caller"], kResearch);
  EXPECT_EQ(h["Aztp-Subject"], "oidc:https://login.example#alice");
  EXPECT_EQ(h["Aztp-Txn"], "txn-1");
  EXPECT_EQ(h["Aztp-Origin"], kPlaneA);
  EXPECT_EQ(h["Aztp-Capabilities"], "payments:quote x:y");
  EXPECT_EQ(h["Aztp-Path"],
            std::string(kPlaneA) + "," + kResearch + "," + kPayments);
  AuditRecord a = o.Audit(Id(kPayments), Request("POST", "/quote", ""), kNow);
  EXPECT_EQ(a.decision, "allow");
  EXPECT_EQ(a.txn, "txn-1");
  EXPECT_EQ(a.details["path"].size(), 3u);
  EXPECT_EQ(a.details["action"], "payments:quote");
  // Nothing of the tokens is in the record.
  EXPECT_EQ(DumpJson(a.details).find("eyJ"), std::string::npos);
}

TEST_F(GateTest, EachDenialHasItsStatusReasonAndHop) {
  struct Case {
    const char* name;
    InboundRequest request;
    int status;
    const char* reason;
    std::optional<int> hop;
  };
  std::string good = Chain({"payments:*"});
  std::string tampered = Chain({"payments:quote"});
  // One character of the outermost token's signature, replaced by another
  // base64url character (a flipped bit could leave the alphabet).
  char& c = tampered[tampered.size() - 5];
  c = c == 'A' ? 'B' : 'A';
  std::string replayed = Chain({"payments:quote"});
  ASSERT_TRUE(Check(Request("POST", "/quote", replayed)).allowed());
  InboundRequest refused_cert = Request("POST", "/quote", good, nullptr);
  refused_cert.peer_error = Error(Code::kUntrustedTrustDomain, "no bundle");
  std::vector<Case> cases;
  InboundRequest malformed = Request("POST", "/quote", good);
  malformed.malformed = Error(Code::kMalformed, "Connection may not name x");
  cases.push_back({"head breaks the HTTP rules (first of all)", malformed, 400,
                   "malformed", std::nullopt});
  InboundRequest stale = Request("POST", "/quote", good);
  stale.revocations_stale = true;
  cases.push_back({"revocation list too old (finding 12)", stale, 503,
                   "revocations_stale", std::nullopt});
  cases.push_back({"no client certificate",
                   Request("POST", "/quote", good, nullptr), 401,
                   "unauthenticated", std::nullopt});
  cases.push_back({"certificate refused", refused_cert, 401,
                   "untrusted_trust_domain", std::nullopt});
  cases.push_back({"no chain", Request("POST", "/quote", std::nullopt), 401,
                   "unauthenticated", std::nullopt});
  cases.push_back({"garbage chain", Request("POST", "/quote", "x.y.z"), 401,
                   "malformed", std::nullopt});
  cases.push_back({"forged hop", Request("POST", "/quote", tampered), 401,
                   "bad_signature", 1});
  cases.push_back({"peer is not the outer issuer",
                   Request("POST", "/quote", Chain({"payments:*"}), kPlanner),
                   401, "peer_mismatch", std::nullopt});
  cases.push_back({"replayed", Request("POST", "/quote", replayed), 401,
                   "replay", std::nullopt});
  cases.push_back({"an agent names a person at the root (§5.3)",
                   Request("POST", "/quote", PersonNamedByAnAgent()), 401,
                   "unvouched_subject", 0});
  cases.push_back({"no route", Request("POST", "/nothing", Chain({"x:y"})), 403,
                   "route_not_found", std::nullopt});
  cases.push_back({"capability not granted",
                   Request("POST", "/quote", Chain({"calendar:read"})), 403,
                   "capability_not_granted", 1});
  cases.push_back({"policy denies",
                   Request("POST", "/refund/7", Chain({"payments:*"})), 403,
                   "policy_denied", 1});
  cases.push_back({"allowed by a wildcard statement",
                   Request("GET", "/admin/x", Chain({"payments:*"})), 200, "",
                   std::nullopt});
  for (const Case& c : cases) {
    GateOutcome o = Check(c.request);
    EXPECT_EQ(o.status, c.status) << c.name << ": " << o.message;
    EXPECT_EQ(o.reason, c.reason) << c.name << ": " << o.message;
    if (c.hop) {
      EXPECT_EQ(o.hop, c.hop) << c.name;
    }
    if (!o.allowed()) {
      Json body = *ParseJson(o.ErrorBody());
      EXPECT_EQ(body["error"], c.reason) << c.name;
      EXPECT_TRUE(o.ForwardHeaders().empty() || o.status == 403) << c.name;
      AuditRecord a = o.Audit(Id(kPayments), c.request, kNow);
      EXPECT_EQ(a.decision, "deny") << c.name;
      EXPECT_EQ(a.reason, c.reason) << c.name;
    }
  }
}

TEST_F(GateTest, EachMcpCallIsDecidedOnItsOwnActionAndArguments) {
  const std::vector<std::string> caps = {"payments:mcp",
                                         "payments:mcp:tool:quote"};
  InboundRequest r = Request("POST", "/mcp", Chain(caps));
  GateOutcome o = Check(r);
  ASSERT_TRUE(o.allowed()) << o.reason << ": " << o.message;
  RpcBody body = Must(ParseRpcBody(
      R"([{"jsonrpc":"2.0","id":1,"method":"tools/call",
           "params":{"name":"quote","arguments":{"amount":50}}},
          {"jsonrpc":"2.0","id":2,"method":"tools/call",
           "params":{"name":"quote","arguments":{"amount":500}}},
          {"jsonrpc":"2.0","id":3,"method":"tools/call",
           "params":{"name":"refund","arguments":{"amount":1}}},
          {"jsonrpc":"2.0","method":"notifications/initialized"}])",
      RpcProtocol::kMcp, RpcActionsOf(*o.route)));
  // Quotes over 100 are for nobody: the policy names the argument.
  Policy limit = Must(ParsePolicy(R"({"Statement":{"Sid":"Small",
      "Effect":"Deny","Action":"payments:mcp:tool:quote",
      "Condition":{"NumericGreaterThan":{"request:amount":100}}}})"));
  std::vector<const Policy*> policies = {&*policy_, &limit};
  const std::vector<std::string> names = PolicyArgumentNames(policies);
  EXPECT_EQ(names, std::vector<std::string>{"amount"});
  std::vector<RpcVerdict> v;
  for (const RpcCall& call : body.calls) {
    v.push_back(DecideRpcCall(o, call, policies, names, kNow));
  }
  EXPECT_TRUE(v[0].allowed) << v[0].message;
  EXPECT_EQ(v[1].reason, "policy_denied");
  EXPECT_NE(v[1].message.find("Small"), std::string::npos) << v[1].message;
  EXPECT_EQ(v[2].reason, "capability_not_granted");
  EXPECT_TRUE(v[3].allowed) << "the session's own: the route's action";
  // Without a policy naming it, the argument is never read.
  EXPECT_TRUE(DecideRpcCall(o, body.calls[1], {&*policy_}, {}, kNow).allowed);
  // Each call's audit record names the method and tool, not the arguments.
  AuditRecord a = RpcCallAudit(Id(kPayments), r, o, body.calls[1], v[1], kNow);
  EXPECT_EQ(a.decision, "deny");
  EXPECT_EQ(a.reason, "policy_denied");
  EXPECT_EQ(a.details["action"], "payments:mcp:tool:quote");
  EXPECT_EQ(a.details["rpc"],
            Json::parse(R"({"protocol":"mcp","method":"tools/call",
                            "target":"quote"})"));
  EXPECT_EQ(DumpJson(a.details).find("500"), std::string::npos);
  Json refusal = RpcRefusal(body.calls[2], v[2]);
  EXPECT_EQ(refusal["id"], 3);
  EXPECT_EQ(refusal["error"]["code"], kRpcRefused);
  EXPECT_EQ(refusal["error"]["data"]["reason"], "capability_not_granted");
  EXPECT_TRUE(RpcRefusal(body.calls[3], v[3])["id"].is_null());
  // A method the policy context names.
  Policy by_method = Must(ParsePolicy(R"({"Statement":{"Effect":"Allow",
      "Action":"payments:*","Condition":{"StringEquals":{
      "aztp:RpcMethod":"tools/call","aztp:RpcTarget":"quote"}}}})"));
  EXPECT_TRUE(DecideRpcCall(o, body.calls[0], {&by_method}, {}, kNow).allowed);
  EXPECT_FALSE(DecideRpcCall(o, body.calls[3], {&by_method}, {}, kNow).allowed);
}

TEST_F(GateTest, AnMcpSessionIsOnlyItsCallers) {
  ASSERT_TRUE(sessions_->Bind("s-1", Id(kResearch), kNow));
  InboundRequest r = Request("POST", "/mcp", Chain({"payments:mcp"}));
  r.mcp_session = "s-1";
  EXPECT_TRUE(Check(r).allowed());
  InboundRequest stolen =
      Request("POST", "/mcp", PlannerChain({"payments:*"}), kPlanner);
  stolen.mcp_session = "s-1";
  GateOutcome o = Check(stolen);
  EXPECT_EQ(o.status, 403);
  EXPECT_EQ(o.reason, "session_not_owned");
  stolen.mcp_session = "s-unknown";
  stolen.chain = PlannerChain({"payments:*"});
  o = Check(stolen);
  EXPECT_EQ(o.status, 404);
  EXPECT_EQ(o.reason, "session_unknown");
  // Resuming a stream by event id alone (a server keeping events without
  // sessions would replay another caller's), and in another's session.
  InboundRequest resume =
      Request("GET", "/mcp", PlannerChain({"payments:*"}), kPlanner);
  resume.resumes_stream = true;
  o = Check(resume);
  EXPECT_EQ(o.status, 404);
  EXPECT_EQ(o.reason, "session_unknown");
  EXPECT_NE(o.message.find("Last-Event-ID"), std::string::npos);
  resume.chain = PlannerChain({"payments:*"});
  resume.mcp_session = "s-1";
  EXPECT_EQ(Check(resume).reason, "session_not_owned");
  InboundRequest mine = Request("GET", "/mcp", Chain({"payments:mcp"}));
  mine.mcp_session = "s-1";
  mine.resumes_stream = true;
  EXPECT_TRUE(Check(mine).allowed());
  // Only the methods of the transport reach an MCP server.
  for (const char* method : {"PUT", "PATCH", "HEAD", "post"}) {
    InboundRequest odd = Request(method, "/mcp", Chain({"payments:*"}));
    o = Check(odd);
    EXPECT_EQ(o.status, 405) << method;
    EXPECT_EQ(o.reason, "method_not_allowed");
  }
}

TEST_F(GateTest, WithoutPoliciesEverythingIsDenied) {
  GateOutcome o = gate_->Check(
      Request("POST", "/quote", Chain({"payments:quote"})), {}, kNow);
  EXPECT_EQ(o.status, 403);
  EXPECT_EQ(o.reason, "policy_denied");
}

}  // namespace
}  // namespace aztp

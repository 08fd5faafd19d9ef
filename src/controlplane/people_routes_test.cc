// POST /v1/oidc/token (RFC 8693) through ControlPlane::Handle: the form,
// the OAuth answers and errors, and who may call it. The checks of the ID
// token and of the policies are PersonService's (people_test.cc).
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <optional>

#include "aztp/chain/verifier.h"
#include "aztp/crypto/key.h"
#include "aztp/http/form.h"
#include "aztp/jose/jwk.h"
#include "aztp/jose/jws.h"
#include "controlplane/control_plane_test_fixture.h"
#include "testing/fake_openid_provider.h"
#include "testing/http_query.h"

namespace aztp {
namespace {

constexpr char kIssuer[] = "https://login.example.com";
constexpr char kAgent[] = "spiffe://org-a.example/agents/assistant";
constexpr char kCallback[] = "https://aztpd.org-a.example/v1/oidc/callback";
constexpr char kReturn[] = "https://app.example/done?from=aztp";

class PersonRoutesTest : public ControlPlaneTest {
 public:
  void SetUp() override {
    ControlPlaneTest::SetUp();
    services::PersonProvider p =
        test_support::FakeOpenIdProvider::Provider(idp_, "corp", kIssuer);
    p.exchange_clients["travel-app"] = {*SpiffeId::Parse(kAgent)};
    options_ = Options();
    options_.people = {p};
    options_.login.callback_url = kCallback;
    options_.login.return_urls[kAgent] = {kReturn};
    Reopen(options_);
    ASSERT_EQ(
        Call("POST", "/v1/identities", Json{{"id", kAgent}}.dump()).status,
        201);
    Json policy = Json::parse(R"({"name":"quotes","document":{"Statement":[
        {"Effect":"Allow","Action":"payments:quote"}]}})");
    auto created = Call("POST", "/v1/policies", policy.dump());
    ASSERT_EQ(created.status, 201) << created.body;
    const std::string id = Body(created)["id"];
    ASSERT_EQ(Call("POST", "/v1/policies/" + id + ":attach",
                   Json{{"identity", kAgent}}.dump())
                  .status,
              200);
  }

  std::string IdToken() { return idp_->Sign(Claims()); }
  static Json Claims() {
    return Json{{"iss", kIssuer},      {"sub", "alice"},
                {"aud", "travel-app"}, {"exp", kNow + 300},
                {"iat", kNow - 5},     {"groups", {"finance"}}};
  }
  // IdTokenBy signs the claims with a key that is not the provider's.
  static std::string IdTokenBy(const PrivateKey& key) {
    return *SignCompact(Json{{"alg", "ES256"}, {"kid", "k1"}},
                        AsBytes(DumpJson(Claims())), key);
  }
  // Exchange posts `form` as the agent's SVID (peer), without an API key.
  http::Response Exchange(
      const std::vector<std::pair<std::string, std::string>>& form,
      const char* peer = kAgent) {
    http::Request r;
    r.method = "POST";
    r.path = r.target = "/v1/oidc/token";
    r.headers["content-type"] = "application/x-www-form-urlencoded";
    r.body = http::FormEncode(form);
    if (peer) r.peer = *SpiffeId::Parse(peer);
    return cp_->Handle(r);
  }
  std::vector<std::pair<std::string, std::string>> Good() {
    return {{"grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"},
            {"subject_token", IdToken()},
            {"subject_token_type", "urn:ietf:params:oauth:token-type:id_token"},
            {"scope", "payments:quote"}};
  }
  void ExpectOAuthError(const http::Response& r, const std::string& error,
                        const std::string& reason) {
    EXPECT_EQ(r.status, 400) << r.body;
    Json b = Body(r);
    EXPECT_EQ(b.value("error", ""), error) << r.body;
    EXPECT_EQ(b.value("reason", ""), reason) << r.body;
    // The token is never echoed.
    EXPECT_EQ(r.body.find("eyJ"), std::string::npos) << r.body;
  }

  std::shared_ptr<test_support::FakeOpenIdProvider> idp_ =
      std::make_shared<test_support::FakeOpenIdProvider>(&clock_);
  ControlPlaneOptions options_;
};

TEST_F(PersonRoutesTest, AnAgentExchangesItsUsersIdToken) {
  http::Response r = Exchange(Good());
  ASSERT_EQ(r.status, 200) << r.body;
  Json b = Body(r);
  EXPECT_EQ(b["issued_token_type"], "urn:aztp:token-type:chain");
  EXPECT_EQ(b["token_type"], "N_A");
  EXPECT_EQ(b["expires_in"], 300);
  EXPECT_EQ(b["scope"], "payments:quote");
  EXPECT_EQ(b["subject"], "oidc:https://login.example.com#alice");
  bool no_store = false;
  for (const auto& [k, v] : r.headers) {
    no_store |= k == "Cache-Control" && v == "no-store";
  }
  EXPECT_TRUE(no_store);
  // The chain verifies at the agent against the trust domain's bundle, and
  // starts at the control plane.
  auto bundles = std::make_shared<BundleSet>();
  bundles->Put(cp_->bundle());
  ChainVerifierOptions o;
  o.audience = *SpiffeId::Parse(kAgent);
  o.bundles = bundles;
  o.clock = &clock_;
  auto v = (*ChainVerifier::Create(std::move(o)))
               ->Verify(b["access_token"].get<std::string>());
  ASSERT_TRUE(v.has_value()) << v.error().message();
  EXPECT_EQ(v->path().front().str(), "spiffe://org-a.example/aztpd");
  EXPECT_EQ(v->person()->groups, std::vector<std::string>{"finance"});
}

TEST_F(PersonRoutesTest, RequestsAreStrictOAuthForms) {
  auto with = [&](const std::string& name, const std::string& value) {
    auto f = Good();
    for (auto& [k, v] : f) {
      if (k == name) v = value;
    }
    if (std::none_of(f.begin(), f.end(),
                     [&](const auto& p) { return p.first == name; })) {
      f.emplace_back(name, value);
    }
    return Exchange(f);
  };
  http::Response grant = with("grant_type", "client_credentials");
  EXPECT_EQ(Body(grant)["error"], "unsupported_grant_type") << grant.body;
  ExpectOAuthError(
      with("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
      "invalid_request", "invalid_argument");
  ExpectOAuthError(with("actor_token", "x"), "invalid_request",
                   "invalid_argument");
  ExpectOAuthError(with("audience", "spiffe://org-a.example/agents/other"),
                   "invalid_target", "invalid_argument");
  ExpectOAuthError(with("scope", "payments:*"), "invalid_request",
                   "invalid_argument");
  ExpectOAuthError(with("scope", "payments:refund"), "invalid_scope",
                   "policy_denied");
  ExpectOAuthError(
      with("subject_token", IdTokenBy(*PrivateKey::Generate(KeyType::kEcP256))),
      "invalid_grant", "bad_signature");
  // A parameter sent twice (RFC 6749 §3.1).
  auto twice = Good();
  twice.emplace_back("scope", "payments:quote");
  ExpectOAuthError(Exchange(twice), "invalid_request", "invalid_argument");
}

TEST_F(PersonRoutesTest, OnlyTheAgentsOwnSvidMayExchange) {
  // An admin API key is no actor: refused before the form is read.
  http::Request r = test_support::NativeRequest(
      "POST", "/v1/oidc/token", http::FormEncode(Good()), admin_);
  r.headers["content-type"] = "application/x-www-form-urlencoded";
  EXPECT_EQ(cp_->Handle(r).status, 403);
  // Nor is an anonymous caller.
  EXPECT_EQ(Exchange(Good(), nullptr).status, 401);
  // A registered agent not listed for travel-app's tokens.
  ASSERT_EQ(Call("POST", "/v1/identities",
                 Json{{"id", "spiffe://org-a.example/agents/other"}}.dump())
                .status,
            201);
  ExpectOAuthError(Exchange(Good(), "spiffe://org-a.example/agents/other"),
                   "unauthorized_client", "permission_denied");
}

// ---- aztpd's own browser login (services/logins.h) ----

using test_support::HeaderOf;
using test_support::QueryOf;

class LoginRoutesTest : public PersonRoutesTest {
 public:  // for the cases' functions
  // Start begins alice's login for the agent, as the admin key, and keeps
  // what the browser is sent to the provider with.
  void Start(const std::string& return_url = kReturn) {
    Json body{{"provider", "corp"},
              {"agent", kAgent},
              {"return_url", return_url},
              {"capabilities", {"payments:quote"}}};
    started_ = Call("POST", "/v1/oidc/login", body.dump());
    if (started_.status == 200)
      sent_ = QueryOf(Body(started_)["redirect_url"].get<std::string>());
  }
  // Provider answers the login as the provider would, with `claims` for
  // aztpd (its nonce unless changed), and returns the callback's answer.
  http::Response Provider(Json claims, const std::string& extra = "") {
    claims["aud"] = "aztpd";
    return Callback(idp_->Answer(sent_, std::move(claims), "code-1") + extra);
  }
  http::Response Callback(const std::string& query) {
    return cp_->Handle(test_support::GetRequest("/v1/oidc/callback", query));
  }
  http::Response Redeem(const std::string& token, const char* peer = kAgent,
                        std::optional<std::string> state = std::nullopt) {
    http::Request r;
    r.method = "POST";
    r.path = r.target = "/v1/oidc/login:redeem";
    r.headers["content-type"] = "application/json";
    r.body = Json{{"token", token}, {"state", state.value_or(sent_["state"])}}
                 .dump();
    r.peer = *SpiffeId::Parse(peer);
    return cp_->Handle(r);
  }

  http::Response started_;
  std::map<std::string, std::string> sent_;
};

TEST_F(LoginRoutesTest, ALoginReturnsAOneTimeResultToTheRegisteredUrl) {
  Start();
  ASSERT_EQ(started_.status, 200) << started_.body;
  // The authorization request: code flow, PKCE S256, state and nonce.
  EXPECT_EQ(sent_["response_type"], "code");
  EXPECT_EQ(sent_["client_id"], "aztpd");
  EXPECT_EQ(sent_["redirect_uri"], kCallback);
  EXPECT_EQ(sent_["code_challenge_method"], "S256");
  EXPECT_EQ(sent_["state"].size(), 43u);
  EXPECT_EQ(sent_["nonce"].size(), 43u);
  http::Response back = Provider(Claims(), "&iss=" + std::string(kIssuer));
  ASSERT_EQ(back.status, 303) << back.body;
  const std::string location = HeaderOf(back, "Location");
  ASSERT_EQ(location.rfind(std::string(kReturn) + "&", 0), 0u) << location;
  auto q = QueryOf(location);
  EXPECT_EQ(q["agent"], kAgent);
  EXPECT_EQ(q["provider"], "corp");
  EXPECT_EQ(q["state"], sent_["state"]);
  ASSERT_EQ(q["token"].size(), 43u);
  http::Response redeemed = Redeem(q["token"]);
  ASSERT_EQ(redeemed.status, 200) << redeemed.body;
  Json r = Body(redeemed);
  EXPECT_EQ(r["person"]["subject"], "alice");
  EXPECT_EQ(r["subject"], "oidc:https://login.example.com#alice");
  EXPECT_EQ(r["capabilities"], Json::array({"payments:quote"}));
  EXPECT_FALSE(r["chain"].get<std::string>().empty());
  // Once: the result, the state and the code are all used up.
  EXPECT_EQ(Redeem(q["token"]).status, 404);
  EXPECT_EQ(Callback("state=" + sent_["state"] + "&code=code-1").status, 404);
  EXPECT_EQ(idp_->redeemed(), 1);
}

TEST_F(LoginRoutesTest, ALoginStartedAtOneReplicaFinishesAtAnother) {
  // A second control plane on the same store: another replica.
  options_.replica = "other";
  auto other = ControlPlane::Open(store_, options_);
  ASSERT_TRUE(other.has_value()) << other.error().message();
  Start();
  ASSERT_EQ(started_.status, 200) << started_.body;
  Json claims = Claims();
  claims["aud"] = "aztpd";
  http::Response back = (*other)->Handle(test_support::GetRequest(
      "/v1/oidc/callback", idp_->Answer(sent_, claims, "code-1")));
  ASSERT_EQ(back.status, 303) << back.body;
  auto q = QueryOf(HeaderOf(back, "Location"));
  ASSERT_EQ(q["token"].size(), 43u);
  // Taken at the other replica: the state is used up here too.
  EXPECT_EQ(Callback("state=" + sent_["state"] + "&code=code-1").status, 404);
  http::Response redeemed = Redeem(q["token"]);
  ASSERT_EQ(redeemed.status, 200) << redeemed.body;
  EXPECT_EQ(Body(redeemed)["person"]["subject"], "alice");
  EXPECT_EQ(Body(redeemed)["person"]["groups"], Json::array({"finance"}));
  EXPECT_FALSE(Body(redeemed)["chain"].get<std::string>().empty());
  // Redeemed here: gone at the other replica as well.
  http::Request again;
  again.method = "POST";
  again.path = again.target = "/v1/oidc/login:redeem";
  again.headers["content-type"] = "application/json";
  again.body = Json{{"token", q["token"]}, {"state", sent_["state"]}}.dump();
  again.peer = *SpiffeId::Parse(kAgent);
  EXPECT_EQ((*other)->Handle(again).status, 404);
}

TEST_F(LoginRoutesTest, LoginsInFlightAreBoundedPerAgent) {
  options_.login.max_pending_per_agent = 2;
  Reopen(options_);
  Start();
  EXPECT_EQ(started_.status, 200);
  Start();
  EXPECT_EQ(started_.status, 200);
  Start();
  EXPECT_EQ(started_.status, 503) << started_.body;
  // Expired logins leave room again.
  clock_.Advance(options_.login.login_ttl_seconds);
  Start();
  EXPECT_EQ(started_.status, 200) << started_.body;
}

TEST_F(LoginRoutesTest, OnlyRegisteredReturnUrlsAndOnlyTheAgentRedeems) {
  for (const char* url :
       {"https://app.example/done", "https://app.example/done?from=aztp&x=1",
        "https://evil.example/done?from=aztp",
        "https://app.example/done?from"}) {
    Start(url);
    EXPECT_EQ(started_.status, 400) << url << ": " << started_.body;
  }
  Start();
  auto q = QueryOf(HeaderOf(Provider(Claims()), "Location"));
  ASSERT_FALSE(q["token"].empty());
  ASSERT_EQ(Call("POST", "/v1/identities",
                 Json{{"id", "spiffe://org-a.example/agents/other"}}.dump())
                .status,
            201);
  EXPECT_EQ(Redeem(q["token"], "spiffe://org-a.example/agents/other").status,
            403);
  // Login CSRF: a result brought to the app by another browser (the state
  // the app kept for this user is another) is not handed out.
  EXPECT_EQ(Redeem(q["token"], kAgent, "the-state-of-someone-else").status,
            404);
  // A refused attempt does not use the result up.
  EXPECT_EQ(Redeem(q["token"]).status, 200);
  // A login that asks for a capability no root may grant never starts.
  Json wildcard{{"provider", "corp"},
                {"agent", kAgent},
                {"return_url", kReturn},
                {"capabilities", {"payments:*"}}};
  EXPECT_EQ(Call("POST", "/v1/oidc/login", wildcard.dump()).status, 400);
}

TEST_F(LoginRoutesTest, ABrokenAnswerReturnsAnErrorAndNoResult) {
  struct Case {
    const char* name;
    std::function<http::Response(LoginRoutesTest&)> answer;
    const char* error;
  };
  const Case cases[] = {
      {"another nonce",
       [](LoginRoutesTest& t) {
         Json c = Claims();
         c["nonce"] = "not-the-one";
         return t.Provider(c);
       },
       "request_mismatch"},
      {"another issuer in the callback",
       [](LoginRoutesTest& t) {
         return t.Provider(Claims(), "&iss=https://login.example.org");
       },
       "issuer_mismatch"},
      {"the provider refused",
       [](LoginRoutesTest& t) {
         return t.Callback("state=" + t.sent_["state"] +
                           "&error=access_denied");
       },
       "unauthenticated"},
      {"a code for another PKCE challenge",
       [](LoginRoutesTest& t) {
         t.idp_->IssueCode("code-2", t.idp_->Sign(Claims()), "other");
         return t.Callback("state=" + t.sent_["state"] + "&code=code-2");
       },
       "unauthenticated"},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    Start();
    http::Response back = k.answer(*this);
    ASSERT_EQ(back.status, 303) << back.body;
    auto q = QueryOf(HeaderOf(back, "Location"));
    EXPECT_EQ(q["error"], k.error);
    EXPECT_EQ(q["state"], sent_["state"]);
    EXPECT_EQ(q.count("token"), 0u);
  }
  // An unknown state redirects nowhere.
  http::Response unknown = Callback("state=nobody&code=x");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(HeaderOf(unknown, "Location"), "");
}

}  // namespace
}  // namespace aztp

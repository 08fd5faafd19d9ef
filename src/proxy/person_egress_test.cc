// A person's chain started on egress (docs/proxy.md "A person's chain"):
// the app hands research's proxy its user's ID token or the one-time
// result of aztpd's login; the proxy obtains the person's root from the
// control plane with its own SVID and the chain reaches payments acting
// for the person. The app never names the person itself.
#include "aztp/base/file.h"
#include "proxy/proxy_test_fixture.h"
#include "testing/http_query.h"

namespace aztp::proxy_testing {
namespace {

constexpr char kAlice[] = "oidc:https://login.example.com#alice";
constexpr char kPlane[] = "spiffe://org-a.example/aztpd";

using test_support::QueryOf;

class PersonEgressTest : public ProxyTest {
 protected:
  void SetUp() override {
    ProxyTest::SetUp();
    // research may act for people with quotes (its policies decide what a
    // person's root grants, docs/oidc.md).
    Json policy = Must(ParseJson(
        R"({"Statement":[{"Effect":"Allow","Action":"payments:quote"}]})"));
    Json created = Admin("POST", "/v1/policies",
                         Json{{"name", "research"}, {"document", policy}}, 201);
    Admin("POST",
          "/v1/policies/" + created["id"].get<std::string>() + ":attach",
          Json{{"identity", kResearch}}, 200);
  }

  static Json Claims(const std::string& aud = "travel-app") {
    const UnixTime now = ControlPlaneServer::kDefaultNow;
    return Json{{"iss", kIssuer},
                {"sub", "alice"},
                {"aud", aud},
                {"exp", now + 300},
                {"iat", now - 5},
                {"groups", {"finance"}},
                {"email", "alice@example.com"},
                {"email_verified", true}};
  }
  // Quote is research's call to payments' /quote with `fields` set.
  Reply Quote(const std::map<std::string, std::string>& fields) {
    auto req = ToPayments(bhttp::verb::post, "/quote", "{}");
    for (const auto& [name, value] : fields) req.set(name, value);
    return Send(std::move(req));
  }
  // Login runs alice's login for research as the app and her browser
  // would: the app starts it at its proxy, the provider answers aztpd's
  // callback; returns the return URL's query (token, state, ...).
  std::map<std::string, std::string> Login(Json capabilities) {
    bhttp::request<bhttp::string_body> start{bhttp::verb::post, "/aztp/login",
                                             11};
    start.set(bhttp::field::host, "127.0.0.1");
    start.set(bhttp::field::content_type, "application/json");
    start.body() = DumpJson(Json{{"provider", "corp"},
                                 {"return_url", kReturnUrl},
                                 {"capabilities", std::move(capabilities)}});
    Reply started = Send(std::move(start));
    EXPECT_EQ(started.status, 200) << started.body;
    auto sent = QueryOf(started.json().value("redirect_url", ""));
    EXPECT_EQ(sent["state"], started.json().value("state", ""));
    const std::string answer =
        idp_->Answer(sent, Claims("aztpd"), "code-" + sent["state"]);
    http::Response back = server_.control_plane().Handle(
        test_support::GetRequest("/v1/oidc/callback", answer));
    EXPECT_EQ(back.status, 303) << back.body;
    return QueryOf(test_support::HeaderOf(back, "Location"));
  }
  // ExpectPersonAtPayments: the app behind payments got alice's chain
  // through research, which started it.
  static void ExpectAliceAtPayments(const Reply& r) {
    ASSERT_EQ(r.status, 200) << r.body;
    const Json h = r.json()["headers"];
    EXPECT_EQ(h.value("Aztp-Subject", ""), kAlice) << h;
    EXPECT_EQ(h.value("Aztp-Origin", ""), kPlane) << h;
    EXPECT_EQ(h.value("Aztp-Path", ""),
              std::string(kPlane) + "," + kResearch + "," + kPayments)
        << h;
    EXPECT_EQ(h.value("Aztp-Capabilities", ""), "payments:quote") << h;
    // The credential never leaves the proxy.
    EXPECT_FALSE(h.contains("Aztp-Id-Token")) << h;
    EXPECT_FALSE(h.contains("Aztp-Login")) << h;
    EXPECT_EQ(r.body.find("eyJ"), std::string::npos) << r.body;
  }
};

TEST_F(PersonEgressTest, AnIdTokenStartsThePersonsChain) {
  Reply r = Quote({{"Aztp-Id-Token", idp_->Sign(Claims())},
                   {"Aztp-Capabilities", "payments:quote"}});
  ExpectAliceAtPayments(r);
  // The answer names the transaction; the app continues it.
  const std::string txn = r.headers["Aztp-Txn"];
  EXPECT_EQ(txn, r.json()["headers"].value("Aztp-Txn", ""));
  EXPECT_EQ(r.headers["Aztp-Origin"], kPlane);
  Reply again = Quote({{"Aztp-Txn", txn}, {"Aztp-Origin", kPlane}});
  ExpectAliceAtPayments(again);
  EXPECT_EQ(again.json()["headers"].value("Aztp-Txn", ""), txn);
  // aztpd vouched for her (its audit), research's proxy audited the calls.
  int roots = 0;
  for (const AuditRecord& a : server_.Audit()) {
    if (a.action == "person.root" && a.decision == "allow") ++roots;
  }
  EXPECT_EQ(roots, 1);
  EXPECT_EQ(research_->stats().egress_sent, 2);
}

TEST_F(PersonEgressTest, RefusedIdTokensReachNobody) {
  // Signed by a key that is not the provider's.
  const PrivateKey other = Must(PrivateKey::Generate(KeyType::kEcP256));
  const std::string forged =
      Must(SignCompact(Json{{"alg", "ES256"}, {"kid", "k1"}},
                       AsBytes(DumpJson(Claims())), other));
  const std::vector<std::string> tokens = {forged, idp_->Sign(Claims()),
                                           idp_->Sign(Claims("other-app")),
                                           idp_->Sign(Claims())};
  Reply r = Quote(
      {{"Aztp-Id-Token", tokens[0]}, {"Aztp-Capabilities", "payments:quote"}});
  ExpectError(r, 403, "bad_signature", nullptr);
  std::string replies = r.body;
  // A capability research's policies do not allow for her.
  r = Quote(
      {{"Aztp-Id-Token", tokens[1]}, {"Aztp-Capabilities", "payments:refund"}});
  ExpectError(r, 403, "policy_denied", nullptr);
  replies += r.body;
  // Issued to an app research is not listed for.
  r = Quote(
      {{"Aztp-Id-Token", tokens[2]}, {"Aztp-Capabilities", "payments:quote"}});
  EXPECT_EQ(r.status, 403) << r.body;
  replies += r.body;
  // No capabilities asked for: refused before the control plane is asked.
  r = Quote({{"Aztp-Id-Token", tokens[3]}});
  ExpectError(r, 400, "invalid_argument", nullptr);
  replies += r.body;
  EXPECT_EQ(app_.requests(), 0);
  EXPECT_EQ(research_->stats().egress_sent, 0);
  // No token in any answer, log line or audit record of the proxy.
  const std::string logged = research_events_.str();
  std::string audit;
  for (const char* suffix : {"", "-wal"}) {
    auto file =
        ReadFile(dir_.File(std::string("research-audit.db") + suffix), 1 << 26);
    if (file) audit += *file;
  }
  EXPECT_GT(audit.size(), 0u);
  for (const std::string& token : tokens) {
    const std::size_t dot = token.find('.');
    const std::string payload =
        token.substr(dot + 1, token.rfind('.') - dot - 1);
    const std::string signature = token.substr(token.rfind('.') + 1);
    for (const std::string* where :
         std::vector<const std::string*>{&replies, &logged, &audit}) {
      EXPECT_EQ(where->find(signature), std::string::npos);
      EXPECT_EQ(where->find(payload), std::string::npos);
    }
  }
}

TEST_F(PersonEgressTest, CredentialsCannotBeMixed) {
  const std::string token = idp_->Sign(Claims());
  const std::vector<std::map<std::string, std::string>> cases = {
      {{"Aztp-Id-Token", token}, {"Aztp-Login", "x"}},
      {{"Aztp-Id-Token", token}, {"Aztp-Txn", "t"}},
      {{"Aztp-Id-Token", token}, {"Aztp-Login-State", "s"}},
      {{"Aztp-Login", "x"}},
      {{"Aztp-Login-State", "s"}},
      {{"Aztp-Provider", "corp"}},
      {{"Aztp-Login", "x"}, {"Aztp-Login-State", "s"}, {"Aztp-Provider", "c"}},
      {{"Aztp-Id-Token", ""}, {"Aztp-Capabilities", "payments:quote"}},
  };
  for (const auto& fields : cases) {
    Reply r = Quote(fields);
    ExpectError(r, 400, "invalid_argument", nullptr);
  }
  // Naming the person stays refused, whatever comes with it.
  Reply r = Quote({{"Aztp-Id-Token", token},
                   {"Aztp-Capabilities", "payments:quote"},
                   {"Aztp-Subject", kAlice}});
  ExpectError(r, 403, "unvouched_subject", nullptr);
  EXPECT_EQ(app_.requests(), 0);
  int roots = 0;
  for (const AuditRecord& a : server_.Audit()) {
    if (a.action == "person.root") ++roots;
  }
  EXPECT_EQ(roots, 0) << "nothing was exchanged";
}

TEST_F(PersonEgressTest, ALoginResultStartsThePersonsChainOnce) {
  auto q = Login(Json::array({"payments:quote"}));
  ASSERT_EQ(q["token"].size(), 43u);
  // Another session's state: refused, and the result stays for its own.
  Reply r = Quote({{"Aztp-Login", q["token"]}, {"Aztp-Login-State", "nope"}});
  ExpectError(r, 400, "not_found", nullptr);
  r = Quote({{"Aztp-Login", q["token"]}, {"Aztp-Login-State", q["state"]}});
  ExpectAliceAtPayments(r);
  // Once.
  r = Quote({{"Aztp-Login", q["token"]}, {"Aztp-Login-State", q["state"]}});
  ExpectError(r, 400, "not_found", nullptr);
  EXPECT_EQ(app_.requests(), 1);
}

// The credential is used up once the person's root is issued: even a call
// refused after that names the transaction, so that the app keeps it.
TEST_F(PersonEgressTest, ARefusedCallStillNamesTheStartedTransaction) {
  auto q = Login(Json::array({"payments:quote"}));
  Reply r = Quote({{"Aztp-Login", q["token"]},
                   {"Aztp-Login-State", q["state"]},
                   {"Aztp-Capabilities", "payments:refund"}});
  ExpectError(r, 403, "capability_escalation", nullptr);
  const std::string txn = r.headers["Aztp-Txn"];
  ASSERT_EQ(txn.size(), 32u) << r.body;
  EXPECT_EQ(r.headers["Aztp-Origin"], kPlane);
  ExpectAliceAtPayments(Quote({{"Aztp-Txn", txn}, {"Aztp-Origin", kPlane}}));
  // An unknown target, after the start: the same.
  auto again = Login(Json::array({"payments:quote"}));
  auto req = ToPayments(bhttp::verb::post, "/quote", "{}");
  req.target("http://127.0.0.1:1/quote");
  req.set("Aztp-Login", again["token"]);
  req.set("Aztp-Login-State", again["state"]);
  r = Send(std::move(req));
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.headers["Aztp-Txn"].size(), 32u) << r.body;
  EXPECT_EQ(app_.requests(), 1);
}

TEST_F(PersonEgressTest, ALoginWithoutCapabilitiesHoldsNoRoot) {
  auto q = Login(Json::array());
  Reply r =
      Quote({{"Aztp-Login", q["token"]}, {"Aztp-Login-State", q["state"]}});
  ExpectError(r, 400, "invalid_argument", nullptr);
  EXPECT_NE(r.body.find("no capabilities"), std::string::npos) << r.body;
}

TEST_F(PersonEgressTest, LoginStartsAreCheckedBeforeTheControlPlane) {
  auto start = [&](const std::string& body,
                   const char* type = "Application/JSON; charset=utf-8") {
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/aztp/login",
                                           11};
    req.set(bhttp::field::host, "127.0.0.1");
    req.set(bhttp::field::content_type, type);
    req.body() = body;
    return Send(std::move(req));
  };
  // What a web page can send without a CORS preflight is refused.
  const std::string good = R"({"provider":"corp","return_url":")" +
                           std::string(kReturnUrl) + R"("})";
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded",
                           "multipart/form-data; boundary=x", ""}) {
    ExpectError(start(good, type), 400, "invalid_argument", nullptr);
  }
  ExpectError(start("{}"), 400, "malformed", nullptr);
  ExpectError(start(R"({"provider":"corp","return_url":"x","agent":"y"})"), 400,
              "malformed", nullptr);
  ExpectError(start(R"({"provider":"corp","return_url":"x","capabilities":1})"),
              400, "malformed", nullptr);
  ExpectError(
      start(R"({"provider":"corp","return_url":"x","capabilities":["a",1]})"),
      400, "malformed", nullptr);
  ExpectError(start(std::string(20000, ' ')), 413, "too_large", nullptr);
  // The same, chunked: cut off as it arrives.
  const std::string chunked =
      "POST /aztp/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n4e20\r\n" +
      std::string(20000, ' ') + "\r\n0\r\n\r\n";
  EXPECT_EQ(Statuses(Exchange(research_->egress_port(), chunked, nullptr)),
            std::vector<int>{413});
  // An unregistered return URL is the control plane's refusal.
  ExpectError(
      start(R"({"provider":"corp","return_url":"http://127.0.0.1:2/x"})"), 400,
      "invalid_argument", nullptr);
  // The egress listener's HTTP rules hold here too.
  const std::string smuggled =
      "POST /aztp/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/json\r\nContent-Length: 2\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
  EXPECT_EQ(Statuses(Exchange(research_->egress_port(), smuggled, nullptr)),
            std::vector<int>{400});
  EXPECT_TRUE(start(good).status == 200) << start(good).body;
}

}  // namespace
}  // namespace aztp::proxy_testing

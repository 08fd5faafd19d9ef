// The hosted SDK's OIDC login (oidc/provider, the callback, then
// oidc/validate-jwt-token) answered by aztpd's own login, with the shapes
// the SDK's OIDC sub-client reads.
#include <gtest/gtest.h>

#include "aztp/http/form.h"
#include "compat/hosted_sdk_fixture.h"
#include "testing/fake_openid_provider.h"
#include "testing/http_query.h"

namespace aztp::compat {
namespace {

constexpr char kIssuer[] = "https://login.example.com";
constexpr char kAppReturn[] = "http://localhost:3000/api/auth/callback";

class HostedOidcTest : public HostedSdkTest {
 protected:
  void SetUp() override {
    HostedSdkTest::SetUp();
    Issue("agent");
    services::PersonProvider p =
        test_support::FakeOpenIdProvider::Provider(idp_, "google", kIssuer);
    ControlPlaneOptions o = test_support::TestControlPlaneOptions(&clock_);
    o.people = {p};
    o.login.callback_url = "https://aztpd.example/v1/oidc/callback";
    o.login.return_urls[SpiffeId::ParseUserInput(kAgent)->str()] = {kAppReturn};
    api_.reset();
    cp_ = test_support::OpenTestControlPlane(store_, o);
    api_ = std::make_unique<HostedSdkApi>(*cp_);
  }
  // LoggedIn runs alice's hosted login up to the app's return URL and
  // returns the `token` it carries.
  std::string LoggedIn() {
    // As the Python SDK sends it: stateless, returnUrl; nulls allowed.
    auto r = Call("POST", "oidc/provider",
                  std::string(R"({"provider":"google","agent":")") + kAgent +
                      R"(","stateless":true,"returnUrl":null})");
    EXPECT_EQ(r.status, 200) << r.body;
    Json e = Envelope(r);
    const std::string redirect = e.value("redirectUrl", "");
    EXPECT_EQ(e["redirect_url"], redirect);
    EXPECT_EQ(e["data"]["redirectUrl"], redirect);
    auto sent = test_support::QueryOf(redirect);
    EXPECT_EQ(e["state"], sent["state"]);
    // The provider's answer at aztpd's callback.
    const std::string answer = idp_->Answer(sent,
                                            Json{{"iss", kIssuer},
                                                 {"sub", "alice"},
                                                 {"email", "alice@example.com"},
                                                 {"email_verified", verified_},
                                                 {"name", "Alice"},
                                                 {"iat", kNow},
                                                 {"exp", kNow + 300}},
                                            "c1");
    http::Response back =
        cp_->Handle(test_support::GetRequest("/v1/oidc/callback", answer));
    EXPECT_EQ(back.status, 303) << back.body;
    const std::string location = test_support::HeaderOf(back, "Location");
    // The hosted callback parameters: token, agent, provider.
    EXPECT_EQ(location.rfind(std::string(kAppReturn) + "?", 0), 0u) << location;
    auto q = test_support::QueryOf(location);
    EXPECT_EQ(q["provider"], "google");
    EXPECT_EQ(q["agent"], kAgent);
    return q["token"];
  }

  bool verified_ = true;
  std::shared_ptr<test_support::FakeOpenIdProvider> idp_ =
      std::make_shared<test_support::FakeOpenIdProvider>(&clock_);
};

TEST_F(HostedOidcTest, TheHostedLoginRunsOnAztpdsOwn) {
  const std::string body = R"({"token":")" + LoggedIn() + R"("})";
  auto r = Call("POST", "oidc/validate-jwt-token", body);
  ASSERT_EQ(r.status, 200) << r.body;
  Json e = Envelope(r);
  EXPECT_EQ(e["success"], true);
  EXPECT_EQ(e["valid"], true);
  EXPECT_EQ(e["user"]["sub"], "alice");
  EXPECT_EQ(e["user"]["email"], "alice@example.com");
  EXPECT_EQ(e["user"]["name"], "Alice");
  EXPECT_EQ(e["user"]["provider"], "google");
  EXPECT_EQ(e["user"]["agent"], kAgent);
  // Once.
  r = Call("POST", "oidc/validate-jwt-token", body);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Envelope(r)["success"], false);
  EXPECT_EQ(Envelope(r)["valid"], false);
}

// An app may key its accounts by the email it is given: an address the
// provider did not verify is not given.
TEST_F(HostedOidcTest, AnUnverifiedEmailIsNotHandedOut) {
  verified_ = false;
  auto r = Call("POST", "oidc/validate-jwt-token",
                R"({"token":")" + LoggedIn() + R"("})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Envelope(r)["valid"], true);
  EXPECT_TRUE(Envelope(r)["user"]["email"].is_null()) << r.body;
}

TEST_F(HostedOidcTest, AReturnUrlNotRegisteredIsRefused) {
  auto r = Call("POST", "oidc/provider",
                std::string(R"({"provider":"google","agent":")") + kAgent +
                    R"(","returnUrl":"https://evil.example/cb"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_FALSE(Envelope(r)["success"]);
  r = Call("POST", "oidc/provider",
           std::string(R"({"provider":"nobody","agent":")") + kAgent + "\"}");
  EXPECT_EQ(r.status, 404) << r.body;
}

}  // namespace
}  // namespace aztp::compat

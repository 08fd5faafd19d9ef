// The store's form of logins in flight (login_tickets.h): what is written
// reads back the same, and a damaged ticket is an error.
#include "login_tickets.h"

#include <gtest/gtest.h>

namespace aztp::services::login_tickets {
namespace {

TEST(LoginTickets, APendingLoginReadsBackTheSame) {
  PendingLogin login{
      LoginRequest{"", *SpiffeId::Parse("spiffe://org-a.example/agents/a")},
      "",
      {}};
  login.request.provider = "corp";
  login.request.return_url = "https://app.example/done?x=1";
  login.request.capabilities = {"payments:quote", "payments:refund"};
  login.request.aztp_alias = true;
  login.nonce = "n-123";
  login.code_verifier = SecretBytes(std::string_view("verifier-456"));
  auto body = EncodePending(login);
  ASSERT_TRUE(body.has_value());
  auto back = DecodePending(*body);
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(back->request.provider, "corp");
  EXPECT_EQ(back->request.agent, login.request.agent);
  EXPECT_EQ(back->request.return_url, login.request.return_url);
  EXPECT_EQ(back->request.capabilities, login.request.capabilities);
  EXPECT_TRUE(back->request.aztp_alias);
  EXPECT_EQ(back->nonce, "n-123");
  EXPECT_EQ(back->code_verifier.View(InsecureSecretAccess::Get()),
            "verifier-456");
}

TEST(LoginTickets, AResultWithARootReadsBackTheSame) {
  LoginResult r{*SpiffeId::Parse("spiffe://org-a.example/agents/a")};
  r.state = "s-1";
  r.provider = "corp";
  r.person.issuer = "https://login.example.com";
  r.person.subject = "alice";
  r.person.email = "alice@example.com";
  r.person.email_verified = true;
  r.person.groups = {"finance", "staff"};
  r.person.amr = {"pwd", "otp"};
  r.person.auth_time = 1'800'000'000;
  PersonRoot root;
  root.chain = "eyJhbGciOiJFUzI1NiJ9.e30.sig";
  root.subject = "oidc:https://login.example.com#alice";
  root.person.email = "alice@example.com";
  root.person.groups = {"finance"};
  root.capabilities = *CapabilitySet::FromStrings({"payments:quote"});
  root.expires_at = 1'800'000'300;
  r.root = root;
  auto body = EncodeResult(r);
  ASSERT_TRUE(body.has_value());
  auto back = DecodeResult(*body);
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(back->agent, r.agent);
  EXPECT_EQ(back->state, "s-1");
  EXPECT_EQ(back->person, r.person);
  ASSERT_TRUE(back->root.has_value());
  EXPECT_EQ(back->root->chain, root.chain);
  EXPECT_EQ(back->root->subject, root.subject);
  EXPECT_EQ(back->root->person, root.person);
  EXPECT_EQ(back->root->capabilities.Strings(), root.capabilities.Strings());
  EXPECT_EQ(back->root->expires_at, root.expires_at);
  r.root.reset();
  auto plain = DecodeResult(*EncodeResult(r));
  ASSERT_TRUE(plain.has_value());
  EXPECT_FALSE(plain->root.has_value());
}

TEST(LoginTickets, ADamagedTicketIsAnErrorNotALogin) {
  for (const char* text :
       {"", "[]", "{", R"({"provider":"corp"})",
        R"({"provider":"corp","agent":"https://x","return_url":"u",
            "capabilities":[],"aztp_alias":false,"nonce":"n",
            "code_verifier":"v"})",
        R"({"provider":"corp","agent":"spiffe://a/b","return_url":"u",
            "capabilities":[1],"aztp_alias":false,"nonce":"n",
            "code_verifier":"v"})"}) {
    SecretBytes body{std::string_view(text)};
    EXPECT_FALSE(DecodePending(body).has_value()) << text;
    EXPECT_FALSE(DecodeResult(body).has_value()) << text;
  }
}

}  // namespace
}  // namespace aztp::services::login_tickets

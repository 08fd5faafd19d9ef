// aztp::Client with several control plane URLs (ClientOptions::
// failover_urls): idempotent calls move on at once, mutations only when
// nothing of them was sent, and the URL that answered is tried first next
// time. "https://localhost:<port>" is a second URL for the fixture's one
// server, so that every request is counted in one place.
#include <gtest/gtest.h>

#include <atomic>

#include "aztp/client/client.h"
#include "client/client_test_fixture.h"

namespace aztp::client_test {
namespace {

using test_support::Must;

// kNowhere is a URL where nothing listens: its connection is refused.
constexpr const char* kNowhere = "https://127.0.0.1:1";

class FailoverTest : public ClientTest {
 protected:
  std::string Localhost() {
    return "https://localhost:" +
           server_.url().substr(server_.url().rfind(':') + 1);
  }
  std::unique_ptr<Client> With(std::string first,
                               std::vector<std::string> others) {
    ClientOptions o = Options(server_.admin_api_key());
    o.base_url = std::move(first);
    o.failover_urls = std::move(others);
    return Must(Client::Create(std::move(o)));
  }
  // AlwaysUnavailable makes the server answer every request with 503.
  void AlwaysUnavailable() {
    server_.SetInterceptor([](const http::Request&) {
      return std::optional<http::Response>(
          JsonResponse(503, R"({"error":"unavailable","message":"down"})"));
    });
  }
};

TEST_F(FailoverTest, AnUnreachableFirstUrlIsPassedAtOnce) {
  auto c = With(kNowhere, {server_.url()});
  ASSERT_TRUE(c->GetBundle().has_value());
  EXPECT_TRUE(waits().empty()) << "the next URL is tried without backoff";
}

TEST_F(FailoverTest, TheUrlThatAnsweredIsTriedFirstNextTime) {
  // Requests through the first URL (Host: localhost:<port>) get 503.
  auto refused = std::make_shared<std::atomic<int>>(0);
  server_.SetInterceptor(
      [refused](const http::Request& r) -> std::optional<http::Response> {
        if (r.Header("host").rfind("localhost:", 0) != 0) return std::nullopt;
        refused->fetch_add(1);
        return JsonResponse(503, R"({"error":"unavailable","message":"x"})");
      });
  auto c = With(Localhost(), {server_.url()});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c->GetBundle().has_value());
  EXPECT_EQ(refused->load(), 1) << "only the first call went there";
  EXPECT_EQ(Count("/v1/bundle"), 6);
  EXPECT_TRUE(waits().empty());
}

TEST_F(FailoverTest, AMutationMovesOnWhenItsConnectionCouldNotBeOpened) {
  auto c = With(kNowhere, {server_.url()});
  auto r = c->RegisterIdentity({.id = Id("spiffe://org-a.example/a")});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(Count("/v1/identities"), 1);
  EXPECT_TRUE(waits().empty());
}

TEST_F(FailoverTest, AMutationThatReachedAServerIsNeverSentAgain) {
  AlwaysUnavailable();
  auto c = With(server_.url(), {Localhost()});
  auto r = c->RegisterIdentity({.id = Id("spiffe://org-a.example/a")});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kUnavailable);
  EXPECT_EQ(Count("/v1/identities"), 1) << "not at the second URL either";
  auto key = Must(PrivateKey::Generate(KeyType::kEcP256));
  EXPECT_FALSE(c->IssueX509Svid(Id("spiffe://org-a.example/a"),
                                Must(CertificateRequest::Create(key, {})))
                   .has_value());
  EXPECT_EQ(Count("/v1/svid/x509"), 1);
  EXPECT_TRUE(waits().empty());
}

TEST_F(FailoverTest, AnIdempotentCallTriesEveryUrlInEachRound) {
  AlwaysUnavailable();
  auto c = With(server_.url(), {Localhost()});
  auto r = c->GetRevocations();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kUnavailable);
  EXPECT_NE(r.error().message().find("down"), std::string::npos);
  // 4 rounds (max_attempts) over 2 URLs, with backoff between rounds only.
  EXPECT_EQ(Count("/v1/revocations"), 8);
  EXPECT_EQ(waits().size(), 3u);
}

TEST_F(FailoverTest, A503AtOneUrlIsAnsweredByTheNextInTheSameRound) {
  auto failures = std::make_shared<std::atomic<int>>(1);
  server_.SetInterceptor(
      [failures](const http::Request&) -> std::optional<http::Response> {
        if (failures->fetch_sub(1) <= 0) return std::nullopt;
        return JsonResponse(503, R"({"error":"unavailable","message":"x"})");
      });
  auto c = With(server_.url(), {Localhost()});
  ASSERT_TRUE(c->ListIdentities({}).has_value());
  EXPECT_EQ(Count("/v1/identities"), 2);
  EXPECT_TRUE(waits().empty());
}

TEST_F(FailoverTest, EveryUrlUnreachableIsRetriedInRoundsThenReported) {
  ClientOptions o = Options(server_.admin_api_key());
  o.base_url = kNowhere;
  o.failover_urls = {"https://127.0.0.1:2"};
  o.retry.max_attempts = 2;
  auto c = Must(Client::Create(std::move(o)));
  auto r = c->RegisterIdentity({.id = Id("spiffe://org-a.example/a")});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kIo);
  EXPECT_EQ(waits().size(), 1u) << "one backoff between the two rounds";
}

TEST_F(FailoverTest, AServerThatIsNotTheControlPlaneEndsTheCall) {
  ClientOptions o = Options(server_.admin_api_key());
  o.failover_urls = {Localhost()};
  o.server_id = Id("spiffe://org-a.example/not-aztpd");
  auto c = Must(Client::Create(std::move(o)));
  auto r = c->GetBundle();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kUnauthenticated);
  EXPECT_TRUE(waits().empty()) << "an impostor is not an outage";
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(FailoverTest, CreateRefusesARepeatedOrUnusableUrl) {
  ClientOptions twice = Options("");
  twice.failover_urls = {server_.url()};
  EXPECT_EQ(Client::Create(twice).error().code(), Code::kInvalidArgument);
  ClientOptions plain = Options("");
  plain.failover_urls = {"http://127.0.0.1:80"};
  EXPECT_EQ(Client::Create(plain).error().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace aztp::client_test

// aztp::Client when things go wrong: retries and backoff, servers that
// cannot be authenticated, unusable options and malformed answers
// (client_test_fixture.h).
#include <gtest/gtest.h>

#include <atomic>

#include "aztp/client/client.h"
#include "client/client_test_fixture.h"

namespace aztp::client_test {
namespace {

using std::chrono::milliseconds;
using test_support::ControlPlaneServer;
using test_support::Must;

// StatusOf drops the value of a result.
template <typename T>
Status StatusOf(const Result<T>& r) {
  if (!r) return r.error();
  return Ok();
}
// ---- retries ----
TEST_F(ClientTest, RetriesIdempotentCallsWithBackoffAfter503) {
  auto failures = std::make_shared<std::atomic<int>>(2);
  server_.SetInterceptor(
      [failures](const http::Request& r) -> std::optional<http::Response> {
        if (r.path == "/v1/bundle" && failures->fetch_sub(1) > 0) {
          return JsonResponse(503, R"({"error":"unavailable","message":"x"})");
        }
        return std::nullopt;
      });
  auto bundle = admin().GetBundle();
  ASSERT_TRUE(bundle.has_value()) << bundle.error().message();
  EXPECT_EQ(Count("/v1/bundle"), 3);
  auto w = waits();
  ASSERT_EQ(w.size(), 2u);
  // 100 ms then 200 ms, each scaled by a jitter factor in [0.5, 1].
  EXPECT_GE(w[0], milliseconds(50));
  EXPECT_LE(w[0], milliseconds(100));
  EXPECT_GE(w[1], milliseconds(100));
  EXPECT_LE(w[1], milliseconds(200));
}

TEST_F(ClientTest, GivesUpAfterMaxAttempts) {
  server_.SetInterceptor([](const http::Request&) {
    return std::optional<http::Response>(
        JsonResponse(503, R"({"error":"unavailable","message":"draining"})"));
  });
  auto list = admin().GetRevocations();
  ASSERT_FALSE(list.has_value());
  EXPECT_EQ(list.error().code(), Code::kUnavailable);
  EXPECT_NE(list.error().message().find("draining"), std::string::npos);
  EXPECT_EQ(Count("/v1/revocations"), 4);
  auto w = waits();
  ASSERT_EQ(w.size(), 3u);
  EXPECT_GE(w[2], milliseconds(200));
  EXPECT_LE(w[2], milliseconds(400));
}

TEST_F(ClientTest, HonoursRetryAfterOn429UpToTheCap) {
  auto failures = std::make_shared<std::atomic<int>>(1);
  server_.SetInterceptor(
      [failures](const http::Request&) -> std::optional<http::Response> {
        if (failures->fetch_sub(1) <= 0) return std::nullopt;
        auto r = JsonResponse(429, R"({"error":"rate_limited","message":"x"})");
        r.headers.emplace_back("Retry-After", "2");
        return r;
      });
  ASSERT_TRUE(admin().ListIdentities({}).has_value());
  auto w = waits();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0], milliseconds(2000));
}

TEST_F(ClientTest, NeverRetriesCallsThatAreNotIdempotent) {
  server_.SetInterceptor([](const http::Request&) {
    return std::optional<http::Response>(
        JsonResponse(503, R"({"error":"unavailable","message":"x"})"));
  });
  auto r = admin().RegisterIdentity({.id = Id("spiffe://org-a.example/a")});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kUnavailable);
  auto k = admin().CreateApiKey("/x/");
  ASSERT_FALSE(k.has_value());
  auto key = Must(PrivateKey::Generate(KeyType::kEcP256));
  auto s = admin().IssueX509Svid(Id("spiffe://org-a.example/a"),
                                 Must(CertificateRequest::Create(key, {})));
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(Count("/v1/identities"), 1);
  EXPECT_EQ(Count("/v1/apikeys"), 1);
  EXPECT_EQ(Count("/v1/svid/x509"), 1);
  EXPECT_TRUE(waits().empty());
  // Revocation is idempotent and is retried.
  auto revoke = admin().RevokeIdentity(Id("spiffe://org-a.example/a"));
  ASSERT_FALSE(revoke.has_value());
  EXPECT_EQ(Count("/v1/identities/org-a.example/a:revoke"), 4);

  // Federation: adding, refreshing and removing are sent once; listing,
  // reading the bundle map and setting federates_with are retried.
  const TrustDomain org_b = Td("org-b.example");
  EXPECT_FALSE(admin().AddFederation(PartnerSpec()).has_value());
  EXPECT_FALSE(admin().RefreshFederation(org_b).has_value());
  EXPECT_FALSE(admin().RemoveFederation(org_b).has_value());
  EXPECT_EQ(Count("/v1/federations"), 1);
  EXPECT_EQ(Count("/v1/federations/org-b.example:refresh"), 1);
  EXPECT_EQ(Count("/v1/federations/org-b.example"), 1);
  server_.ClearRequests();
  EXPECT_FALSE(admin().ListFederations().has_value());
  EXPECT_EQ(Count("/v1/federations"), 4);
  EXPECT_FALSE(admin().GetBundles().has_value());
  EXPECT_EQ(Count("/v1/bundles"), 4);
  EXPECT_FALSE(admin()
                   .SetFederatesWith(Id("spiffe://org-a.example/a"),
                                     std::vector<std::string>{})
                   .has_value());
  EXPECT_EQ(Count("/v1/identities/org-a.example/a"), 4);

  // Policies: writes are sent once; reads and decisions are retried.
  server_.ClearRequests();
  const Policy policy = Parsed(kPaymentsPolicy);
  const std::string id = "policy:0123456789ab";
  const SpiffeId a = Id("spiffe://org-a.example/a");
  EXPECT_FALSE(admin().CreatePolicy("p", policy).has_value());
  EXPECT_EQ(Count("/v1/policies"), 1);
  EXPECT_FALSE(admin().UpdatePolicy(id, 1, policy).has_value());
  EXPECT_FALSE(admin().DeletePolicy(id).has_value());
  EXPECT_EQ(Count("/v1/policies/" + id), 2);
  EXPECT_FALSE(admin().AttachPolicy(id, a).has_value());
  EXPECT_EQ(Count("/v1/policies/" + id + ":attach"), 1);
  EXPECT_FALSE(admin().DetachPolicy(id, a).has_value());
  EXPECT_EQ(Count("/v1/policies/" + id + ":detach"), 1);
  server_.ClearRequests();
  EXPECT_FALSE(admin().ListPolicies().has_value());
  EXPECT_EQ(Count("/v1/policies"), 4);
  EXPECT_FALSE(admin().GetPolicy(id, 1).has_value());
  EXPECT_EQ(Count("/v1/policies/" + id), 4);
  EXPECT_FALSE(admin().Authorize({.identity = a, .action = "x"}).has_value());
  EXPECT_EQ(Count("/v1/authorize"), 4);
}

TEST_F(ClientTest, RetriesTransportFailures) {
  ClientOptions o = Options(server_.admin_api_key());
  o.base_url = "https://127.0.0.1:1";  // nothing listens on port 1
  o.retry.max_attempts = 3;
  auto c = Must(Client::Create(std::move(o)));
  auto r = c->GetBundle();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kIo);
  EXPECT_EQ(waits().size(), 2u);
  EXPECT_EQ(r.error().message().find(SecretPart(server_.admin_api_key())),
            std::string::npos);
}

// ---- server authentication ----

TEST_F(ClientTest, RefusesAServerThatTheBundleDoesNotVouchFor) {
  // Same trust domain name, different CA.
  test_support::TestDomains impostor(server_.clock().Now());
  impostor.AddDomain("org-a.example");
  ClientOptions o = Options(server_.admin_api_key());
  o.SetTrustBundle(*impostor.Bundles()->GetBundle(
      Must(TrustDomain::Parse("org-a.example"))));
  auto c = Must(Client::Create(std::move(o)));
  auto r = c->Healthz();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kUnauthenticated);
  EXPECT_TRUE(waits().empty());
  EXPECT_TRUE(server_.requests().empty()) << "nothing was sent";
}

TEST_F(ClientTest, RefusesAServerWithAnotherId) {
  ClientOptions o = Options(server_.admin_api_key());
  o.server_id = Id("spiffe://org-a.example/not-aztpd");
  auto c = Must(Client::Create(std::move(o)));
  auto r = c->ListIdentities({});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kUnauthenticated);
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(ClientTest, CreateRefusesUnusableOptions) {
  ClientOptions none;
  none.base_url = server_.url();
  EXPECT_EQ(Client::Create(none).error().code(), Code::kInvalidArgument);
  ClientOptions plain = Options("");
  plain.base_url = "http://127.0.0.1:80";
  EXPECT_EQ(Client::Create(plain).error().code(), Code::kInvalidArgument);
  auto bad_key = Client::Create(Options("aztp_1.abc\r\nX-Evil: 1"));
  ASSERT_FALSE(bad_key.has_value());
  EXPECT_EQ(bad_key.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad_key.error().message().find("abc"), std::string::npos);
  ClientOptions no_attempts = Options("");
  no_attempts.retry.max_attempts = 0;
  EXPECT_EQ(Client::Create(no_attempts).error().code(), Code::kInvalidArgument);
}

// ---- bad answers ----

TEST_F(ClientTest, MalformedResponsesAreErrorsNotCrashes) {
  Register("spiffe://org-a.example/agents/a");
  auto answer = std::make_shared<std::pair<int, std::string>>();
  server_.SetInterceptor(
      [answer](const http::Request& r) -> std::optional<http::Response> {
        if (r.path == "/healthz") return std::nullopt;
        return JsonResponse(answer->first, answer->second);
      });
  auto key = Must(PrivateKey::Generate(KeyType::kEcP256));
  auto csr = Must(CertificateRequest::Create(key, std::nullopt));
  const SpiffeId a = Id("spiffe://org-a.example/agents/a");
  // `every`: each call fails with `want`; otherwise only the identity
  // list, whose shape the case breaks, must fail (and nothing may crash).
  struct Case {
    int status;
    std::string body;
    Code want;
    bool every;
  } cases[] = {
      {200, "not json", Code::kMalformed, true},
      {200, "[]", Code::kMalformed, true},
      {200, "{}", Code::kMalformed, false},
      {200, R"({"identities":5})", Code::kMalformed, false},
      {200, R"({"identities":[{"id":"not an id","status":"active"}]})",
       Code::kMalformed, false},
      {200,
       R"({"identities":[{"id":"spiffe://org-a.example/a","status":"odd"}]})",
       Code::kMalformed, false},
      {200, R"({"identities":[],"next":7})", Code::kMalformed, false},
      {200,
       R"({"identities":[{"id":"spiffe://org-a.example/a","status":"active","global":"yes"}]})",
       Code::kMalformed, false},
      {200,
       R"({"identities":[{"id":"spiffe://org-a.example/a","status":"active","federates_with":"org-b.example"}]})",
       Code::kMalformed, false},
      {200,
       R"({"identities":[{"id":"spiffe://org-a.example/a","status":"active","federates_with":[7]}]})",
       Code::kMalformed, false},
      {200, R"({"svid":"x","bundle":{},"expires_at":1})", Code::kMalformed,
       false},
      {500, "<html>oops</html>", Code::kInternal, true},
      {418, R"({"error":"teapot","message":"short and stout"})",
       Code::kInvalidArgument, true},
      {404, R"({"error":5})", Code::kNotFound, true},
  };
  for (const auto& c : cases) {
    *answer = {c.status, c.body};
    std::vector<Result<int>> results;
    auto wrap = [](auto r) -> Result<int> {
      if (!r) return r.error();
      return 0;
    };
    results.push_back(wrap(admin().ListIdentities({})));
    results.push_back(wrap(admin().GetIdentity(a)));
    results.push_back(wrap(admin().Discover({})));
    results.push_back(wrap(admin().GetBundle()));
    results.push_back(wrap(admin().GetRevocations()));
    results.push_back(wrap(admin().ListApiKeys()));
    results.push_back(wrap(admin().ListCaKeys()));
    results.push_back(wrap(admin().IssueX509Svid(a, csr)));
    results.push_back(wrap(admin().IssueJwtSvid(a, {"x"})));
    results.push_back(wrap(admin().CreateApiKey("admin")));
    results.push_back(wrap(admin().LinkIdentity(a, a, LinkKind::kLinked)));
    results.push_back(wrap(admin().GetBundles()));
    results.push_back(wrap(admin().ListFederations()));
    results.push_back(wrap(admin().RefreshFederation(Td("org-b.example"))));
    results.push_back(wrap(admin().SetFederatesWith(a, std::nullopt)));
    results.push_back(wrap(admin().AddFederation(PartnerSpec())));
    results.push_back([&]() -> Result<int> {
      auto removed = admin().RemoveFederation(Td("org-b.example"));
      if (!removed) return removed.error();
      return 0;
    }());
    const std::string pid = "policy:0123456789ab";
    const Policy policy = Parsed(kPaymentsPolicy);
    results.push_back(wrap(admin().CreatePolicy("p", policy)));
    results.push_back(wrap(admin().UpdatePolicy(pid, 1, policy)));
    results.push_back(wrap(admin().GetPolicy(pid)));
    results.push_back(wrap(admin().ListPolicies(a)));
    results.push_back(wrap(admin().Authorize({.identity = a, .action = "x"})));
    results.push_back(wrap(admin().DeletePolicy(pid)));
    results.push_back(wrap(admin().AttachPolicy(pid, a)));
    results.push_back(wrap(admin().DetachPolicy(pid, a)));
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (!c.every && i > 0) continue;
      ASSERT_FALSE(results[i].has_value()) << i << ": " << c.body;
      EXPECT_EQ(results[i].error().code(), c.want) << i << ": " << c.body;
    }
  }

  // Policy answers of the wrong shape.
  const std::string pid = "policy:0123456789ab";
  const std::string head =
      R"({"id":"policy:0123456789ab","name":"p","created_at":1,)";
  struct PolicyCase {
    std::string body;
    std::function<Status()> call;
  } policy_cases[] = {
      {head + R"("version":1})",
       [&] { return StatusOf(admin().GetPolicy(pid)); }},
      {head + R"("version":1,"document":"text"})",
       [&] { return StatusOf(admin().GetPolicy(pid)); }},
      {head + R"("version":1,"document":{},"attached_to":["not an id"]})",
       [&] { return StatusOf(admin().GetPolicy(pid)); }},
      {head + R"("version":"1","document":{}})",
       [&] { return StatusOf(admin().GetPolicy(pid)); }},
      {R"({"policies":{}})", [&] { return StatusOf(admin().ListPolicies()); }},
      {R"({"policies":[7]})", [&] { return StatusOf(admin().ListPolicies()); }},
      {R"({"deleted":false})", [&] { return admin().DeletePolicy(pid); }},
      {R"({"detach":true})", [&] { return admin().AttachPolicy(pid, a); }},
      {R"({"allowed":true,"verdict":"deny","basis":"statement","reason":""})",
       [&] {
         return StatusOf(admin().Authorize({.identity = a, .action = "x"}));
       }},
      {R"({"allowed":true,"verdict":"allow","basis":"luck","reason":""})",
       [&] {
         return StatusOf(admin().Authorize({.identity = a, .action = "x"}));
       }},
      {R"({"allowed":true,"verdict":"allow","basis":"statement","reason":"",)"
       R"("statement_index":-1})",
       [&] {
         return StatusOf(admin().Authorize({.identity = a, .action = "x"}));
       }},
      {R"({"allowed":true,"verdict":"allow","basis":"statement","reason":"",)"
       R"("policy_id":7})",
       [&] {
         return StatusOf(admin().Authorize({.identity = a, .action = "x"}));
       }},
  };
  // The same shapes, well-formed, are accepted (so each case above fails
  // for its one fault).
  *answer = {200, head + R"("version":1,"document":{},"attached_to":[]})"};
  EXPECT_TRUE(StatusOf(admin().GetPolicy(pid)));
  *answer = {200, R"({"allowed":true,"verdict":"allow","basis":"statement",)"
                  R"("reason":"","statement_index":0,"policy_id":null})"};
  EXPECT_TRUE(StatusOf(admin().Authorize({.identity = a, .action = "x"})));
  for (const auto& c : policy_cases) {
    *answer = {200, c.body};
    Status got = c.call();
    ASSERT_FALSE(got.has_value()) << c.body;
    EXPECT_EQ(got.error().code(), Code::kMalformed) << c.body;
  }

  // Control bytes in a server message do not reach the caller.
  *answer = {400, "{\"error\":\"malformed\",\"message\":\"a\\nb\\u001b[31m\"}"};
  auto r = admin().GetIdentity(a);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kMalformed);
  EXPECT_EQ(r.error().message().find('\n'), std::string::npos);
  EXPECT_EQ(r.error().message().find('\x1b'), std::string::npos);

  // An SVID for another identity or key is refused.
  server_.SetInterceptor(nullptr);
  Register("spiffe://org-a.example/agents/b");
  auto other =
      Must(admin().IssueX509Svid(Id("spiffe://org-a.example/agents/b"), csr));
  Json forged{{"svid", ToPem(other.chain)},
              {"bundle", server_.bundle().ToJson()},
              {"expires_at", other.expires_at}};
  server_.SetInterceptor([forged](const http::Request&) {
    return std::optional<http::Response>(JsonResponse(201, DumpJson(forged)));
  });
  auto wrong_id = admin().IssueX509Svid(a, csr);
  ASSERT_FALSE(wrong_id.has_value());
  EXPECT_EQ(wrong_id.error().code(), Code::kMalformed);
  auto other_key = Must(PrivateKey::Generate(KeyType::kEcP256));
  auto wrong_key = admin().IssueX509Svid(
      Id("spiffe://org-a.example/agents/b"),
      Must(CertificateRequest::Create(other_key, std::nullopt)));
  ASSERT_FALSE(wrong_key.has_value());
  EXPECT_EQ(wrong_key.error().code(), Code::kMalformed);
}

}  // namespace
}  // namespace aztp::client_test

// aztp::Agent against a real control plane on loopback (agent_test_fixture.h):
// bootstrap, renewal, refreshes, revocation, authenticating peers, the
// identity folder and the background thread. Federation is tested in
// agent_federation_test.cc.
#include "aztp/client/agent.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "aztp/svid/svid_dir.h"
#include "client/agent_test_fixture.h"

namespace aztp::agent_test {
namespace {

using test_support::ControlPlaneServer;
using test_support::Must;
using test_support::SslPtr;

TEST_F(AgentTest, BootstrapsWithTheApiKeyAndRenewsOverMtlsAtHalfLife) {
  const std::string id = "spiffe://org-a.example/agents/planner";
  auto agent = Bootstrap(id);
  ASSERT_NE(agent, nullptr);
  AgentStatus first = agent->status();
  EXPECT_EQ(first.generation, 1u);
  EXPECT_FALSE(first.revoked);
  auto creds = agent->credentials();
  BundleSet trusted;
  trusted.Put(server_.bundle());
  auto verified = VerifyX509Svid(creds->chain, trusted, server_.clock().Now());
  ASSERT_TRUE(verified.has_value()) << verified.error().message();
  EXPECT_EQ(verified->id().str(), id);
  EXPECT_EQ(first.expires_at, server_.clock().Now() + 3600);
  const Certificate& leaf = creds->chain.front();
  EXPECT_EQ(first.renew_at,
            leaf.not_before() + (leaf.not_after() - leaf.not_before()) / 2);

  // Just before half-life nothing is due.
  AdvanceTo(first.renew_at - 1);
  server_.ClearRequests();
  auto early = agent->RunOnce();
  ASSERT_TRUE(early.has_value()) << early.error().message();
  EXPECT_FALSE(early->renewed);
  EXPECT_EQ(agent->status().serial, first.serial);

  AdvanceTo(first.renew_at);
  auto renewal = agent->RunOnce();
  ASSERT_TRUE(renewal.has_value()) << renewal.error().message();
  EXPECT_TRUE(renewal->renewed);
  AgentStatus second = agent->status();
  EXPECT_EQ(second.generation, 2u);
  EXPECT_NE(second.serial, first.serial);
  EXPECT_GT(second.expires_at, first.expires_at);
  EXPECT_GT(second.renew_at, first.renew_at);
  EXPECT_FALSE(agent->credentials()->key.public_key() ==
               creds->key.public_key())
      << "each renewal uses a fresh key";

  // The renewal went over mTLS, authenticated by the old SVID, no API key.
  int renewals = 0;
  for (const auto& r : server_.requests()) {
    if (r.path != "/v1/svid/x509") continue;
    ++renewals;
    EXPECT_FALSE(r.had_authorization);
    ASSERT_TRUE(r.peer.has_value());
    EXPECT_EQ(r.peer->str(), id);
    EXPECT_EQ(r.status, 201);
  }
  EXPECT_EQ(renewals, 1);
  bool audited = false;
  for (const auto& a : server_.Audit()) {
    if (a.action == "svid.renew" && a.actor == id) audited = true;
  }
  EXPECT_TRUE(audited);
}

TEST_F(AgentTest, ForgetsTheApiKeyAfterTheBootstrap) {
  auto agent = Bootstrap("spiffe://org-a.example/agents/a");
  ASSERT_NE(agent, nullptr);
  server_.ClearRequests();
  // Every later request of the agent is without an Authorization header.
  AdvanceTo(agent->status().renew_at + 300);
  ASSERT_TRUE(agent->RunOnce().has_value());
  auto seen = server_.requests();
  ASSERT_FALSE(seen.empty());
  for (const auto& r : seen) {
    EXPECT_FALSE(r.had_authorization) << r.method << " " << r.path;
  }
}

TEST_F(AgentTest, RefreshesBundleAndRevocationsWhenDue) {
  AgentOptions o =
      Options("spiffe://org-a.example/agents/a", server_.admin_api_key());
  o.bundle_refresh_seconds = 100;
  o.revocation_refresh_seconds = 50;
  Register("spiffe://org-a.example/agents/a");
  Register("spiffe://org-a.example/agents/other");
  auto agent = Must(Agent::Create(std::move(o)));
  const UnixTime start = server_.clock().Now();
  server_.ClearRequests();
  auto idle = agent->RunOnce();
  ASSERT_TRUE(idle.has_value());
  EXPECT_EQ(idle->next_due, start + 50);
  EXPECT_TRUE(server_.requests().empty()) << "nothing was due";

  ASSERT_TRUE(
      admin_->RevokeIdentity(Id("spiffe://org-a.example/agents/other")));
  AdvanceTo(start + 50);
  auto r = agent->RunOnce();
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_TRUE(r->revocations_changed);
  EXPECT_FALSE(r->bundle_changed);
  EXPECT_TRUE(agent->revocations()->IsRevokedId(
      Id("spiffe://org-a.example/agents/other")));
  EXPECT_EQ(agent->status().revocation_sequence, 1);
  EXPECT_EQ(r->next_due, start + 100);
  AdvanceTo(start + 100);
  r = agent->RunOnce();
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_FALSE(r->bundle_changed);
  EXPECT_EQ(*agent->bundle(), server_.bundle());
}

TEST_F(AgentTest, PicksUpARotatedCaBundle) {
  AgentOptions o =
      Options("spiffe://org-a.example/agents/a", server_.admin_api_key());
  o.bundle_refresh_seconds = 100;
  Register("spiffe://org-a.example/agents/a");
  auto agent = Must(Agent::Create(std::move(o)));
  const std::size_t before = agent->bundle()->x509_authorities().size();
  auto rotated = admin_->RotateCa(CaKeyKind::kX509);
  ASSERT_TRUE(rotated.has_value()) << rotated.error().message();
  AdvanceTo(server_.clock().Now() + 100);
  auto r = agent->RunOnce();
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_TRUE(r->bundle_changed);
  EXPECT_EQ(agent->bundle()->x509_authorities().size(), before + 1);
  // Taken from the bundle map, which carries no refresh hints.
  EXPECT_EQ(agent->bundle()->x509_authorities(),
            server_.bundle().x509_authorities());
  EXPECT_EQ(agent->bundle()->sequence(), server_.bundle().sequence());
  EXPECT_EQ(*agent->bundles()->GetBundle(server_.trust_domain()),
            *agent->bundle());
}

TEST_F(AgentTest, ReportsRevocationAndRefusesContexts) {
  const std::string id = "spiffe://org-a.example/agents/rogue";
  auto agent = Bootstrap(id);
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(agent->MakeServerContext().has_value());
  ASSERT_TRUE(admin_->RevokeIdentity(Id(id), "compromised"));

  // Learnt from the revocation list...
  AdvanceTo(server_.clock().Now() + 60);
  auto r = agent->RunOnce();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kRevoked);
  EXPECT_TRUE(agent->status().revoked);
  ASSERT_TRUE(agent->status().last_error.has_value());
  EXPECT_EQ(agent->status().last_error->code(), Code::kRevoked);
  auto server_ctx = agent->MakeServerContext();
  ASSERT_FALSE(server_ctx.has_value());
  EXPECT_EQ(server_ctx.error().code(), Code::kRevoked);
  auto client_ctx = agent->MakeClientContext();
  ASSERT_FALSE(client_ctx.has_value());
  EXPECT_EQ(client_ctx.error().code(), Code::kRevoked);

  // ...and from the refused renewal.
  AdvanceTo(agent->status().renew_at);
  r = agent->RunOnce();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kRevoked);
  EXPECT_EQ(agent->status().generation, 1u);

  // Reissued, the identity renews and the agent recovers.
  ASSERT_TRUE(admin_->ReissueIdentity(Id(id)));
  AdvanceTo(server_.clock().Now() + 60);
  r = agent->RunOnce();
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_TRUE(r->renewed);
  EXPECT_FALSE(agent->status().revoked);
  EXPECT_TRUE(agent->MakeServerContext().has_value());
}

TEST_F(AgentTest, ReportsAnExpiredSvid) {
  auto agent = Bootstrap("spiffe://org-a.example/agents/a");
  ASSERT_NE(agent, nullptr);
  server_.SetInterceptor([](const http::Request&) {
    http::Response r;
    r.status = 503;
    r.body = R"({"error":"unavailable","message":"maintenance"})";
    return std::optional<http::Response>(r);
  });
  AdvanceTo(agent->status().expires_at);
  auto r = agent->RunOnce();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kExpired);
  auto ctx = agent->MakeClientContext();
  ASSERT_FALSE(ctx.has_value());
  EXPECT_EQ(ctx.error().code(), Code::kExpired);
}

TEST_F(AgentTest, BootstrapFailsWithReasons) {
  auto unregistered = Agent::Create(
      Options("spiffe://org-a.example/agents/none", server_.admin_api_key()));
  ASSERT_FALSE(unregistered.has_value());
  EXPECT_EQ(unregistered.error().code(), Code::kNotFound);

  Register("spiffe://org-a.example/agents/a");
  auto created = Must(admin_->CreateApiKey("/tools/"));
  std::string scoped(created.api_key.View(InsecureSecretAccess::Get()));
  auto denied =
      Agent::Create(Options("spiffe://org-a.example/agents/a", scoped));
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().code(), Code::kPermissionDenied);
  EXPECT_EQ(denied.error().message().find(scoped.substr(scoped.find('.') + 1)),
            std::string::npos);

  test_support::TestDomains impostor(server_.clock().Now());
  impostor.AddDomain("org-a.example");
  AgentOptions wrong =
      Options("spiffe://org-a.example/agents/a", server_.admin_api_key());
  wrong.trust_bundle =
      impostor.Bundles()->GetBundle(Must(TrustDomain::Parse("org-a.example")));
  auto unauthenticated = Agent::Create(std::move(wrong));
  ASSERT_FALSE(unauthenticated.has_value());
  EXPECT_EQ(unauthenticated.error().code(), Code::kUnauthenticated);

  auto foreign = Agent::Create(
      Options("spiffe://org-b.example/agents/a", server_.admin_api_key()));
  ASSERT_FALSE(foreign.has_value());
  EXPECT_EQ(foreign.error().code(), Code::kInvalidArgument);
  auto keyless = Agent::Create(Options("spiffe://org-a.example/agents/a", ""));
  ASSERT_FALSE(keyless.has_value());
  EXPECT_EQ(keyless.error().code(), Code::kInvalidArgument);
}

TEST_F(AgentTest, TwoAgentsAuthenticateEachOtherOverMtls) {
  const SpiffeId a_id = Id("spiffe://org-a.example/agents/a");
  const SpiffeId b_id = Id("spiffe://org-a.example/agents/b");
  auto a = Bootstrap(a_id.str());
  auto b = Bootstrap(b_id.str());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto client_ctx = Must(a->MakeClientContext());
  auto server_ctx = Must(b->MakeServerContext());
  EXPECT_EQ(Must(b->MakeServerContext()), server_ctx)
      << "the context is reused until the SVID changes";
  SslPtr client, server;
  ASSERT_TRUE(Handshake(client_ctx.get(), server_ctx.get(), client, server));

  auto server_seen = b->VerifyPeer(server.get(), a_id);
  ASSERT_TRUE(server_seen.has_value()) << server_seen.error().message();
  EXPECT_EQ(server_seen->id(), a_id);
  auto client_seen = a->VerifyPeer(client.get(), b_id);
  ASSERT_TRUE(client_seen.has_value()) << client_seen.error().message();
  EXPECT_EQ(client_seen->id(), b_id);

  auto wrong = a->VerifyPeer(client.get(), Id("spiffe://org-a.example/x"));
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code(), Code::kPeerMismatch);

  // Once b knows that a is revoked, it refuses a as a peer.
  ASSERT_TRUE(admin_->RevokeIdentity(a_id));
  AdvanceTo(server_.clock().Now() + 60);
  auto refreshed = b->RunOnce();
  ASSERT_TRUE(refreshed.has_value()) << refreshed.error().message();
  auto revoked = b->VerifyPeer(server.get(), a_id);
  ASSERT_FALSE(revoked.has_value());
  EXPECT_EQ(revoked.error().code(), Code::kRevoked);

  // After a renewal the contexts present the new SVID.
  AdvanceTo(b->status().renew_at);
  ASSERT_TRUE(b->RunOnce().has_value());
  auto renewed_ctx = Must(b->MakeServerContext());
  EXPECT_NE(renewed_ctx, server_ctx);
}

TEST_F(AgentTest, RefusesPeersOfUntrustedOrUnknownDomains) {
  auto a = Bootstrap("spiffe://org-a.example/agents/a");
  ASSERT_NE(a, nullptr);
  test_support::TestDomains other(server_.clock().Now());
  other.AddDomain("org-b.example");
  const HopSigner& stranger = other.Signer("spiffe://org-b.example/agents/s");
  TlsCredentials creds{stranger.chain(), stranger.key()};
  auto stranger_ctx = Must(MakeClientContext(&creds));
  SslPtr client, server;
  ASSERT_TRUE(Handshake(stranger_ctx.get(), Must(a->MakeServerContext()).get(),
                        client, server));
  auto untrusted = a->AuthenticatePeer(server.get());
  ASSERT_FALSE(untrusted.has_value());
  EXPECT_EQ(untrusted.error().code(), Code::kUntrustedTrustDomain);

  // With org-b's bundle federated, the same peer is accepted.
  AgentOptions o =
      Options("spiffe://org-a.example/agents/f", server_.admin_api_key());
  o.federated_bundles.Put(
      *other.Bundles()->GetBundle(Must(TrustDomain::Parse("org-b.example"))));
  Register("spiffe://org-a.example/agents/f");
  auto federated = Must(Agent::Create(std::move(o)));
  ASSERT_TRUE(Handshake(stranger_ctx.get(),
                        Must(federated->MakeServerContext()).get(), client,
                        server));
  auto accepted = federated->VerifyPeer(server.get(),
                                        Id("spiffe://org-b.example/agents/s"));
  ASSERT_TRUE(accepted.has_value()) << accepted.error().message();

  // A peer without a certificate is not authenticated.
  auto anonymous_ctx = Must(MakeClientContext(nullptr));
  ASSERT_TRUE(Handshake(anonymous_ctx.get(), Must(a->MakeServerContext()).get(),
                        client, server));
  auto anonymous = a->AuthenticatePeer(server.get());
  ASSERT_FALSE(anonymous.has_value());
  EXPECT_EQ(anonymous.error().code(), Code::kUnauthenticated);
}

TEST_F(AgentTest, WritesAnIdentityFolder) {
  auto agent = Bootstrap("spiffe://org-a.example/agents/a");
  ASSERT_NE(agent, nullptr);
  test_support::TempDir out("aztp_agent_dir_");
  ASSERT_TRUE(agent->WriteSvidDir(out.File("id")));
  auto dir = LoadSvidDir(out.File("id"), /*require_key=*/true);
  ASSERT_TRUE(dir.has_value()) << dir.error().message();
  EXPECT_EQ(dir->id.str(), "spiffe://org-a.example/agents/a");
  EXPECT_EQ(dir->chain, agent->credentials()->chain);
  EXPECT_TRUE(dir->key->public_key() == agent->credentials()->key.public_key());
  EXPECT_EQ(dir->bundle, server_.bundle());
}

TEST_F(AgentTest, BackgroundThreadRenewsAndStops) {
  Register("spiffe://org-a.example/agents/a");
  AgentOptions o =
      Options("spiffe://org-a.example/agents/a", server_.admin_api_key());
  std::mutex mu;
  std::condition_variable cv;
  int renewals = 0;
  o.on_change = [&](const RefreshReport& r) {
    std::lock_guard<std::mutex> lock(mu);
    if (r.renewed) ++renewals;
    cv.notify_all();
  };
  auto agent = Must(Agent::Create(std::move(o)));
  ASSERT_TRUE(agent->Start());
  EXPECT_FALSE(agent->Start().has_value()) << "one thread per agent";
  AdvanceTo(agent->status().renew_at);
  agent->WakeUp();
  {
    // A generous bound so that a broken thread fails the test instead of
    // hanging it; the renewal itself takes milliseconds.
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30),
                            [&] { return renewals >= 1; }));
  }
  EXPECT_EQ(agent->status().generation, 2u);
  // The thread now waits for the next due work (up to a minute); Stop must
  // wake it rather than wait. The bound is far from both.
  auto before = std::chrono::steady_clock::now();
  agent->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before,
            std::chrono::seconds(20));
  agent->Stop();  // idempotent
  // Stopped: a due renewal is no longer done in the background.
  const uint64_t generation = agent->status().generation;
  AdvanceTo(agent->status().renew_at);
  agent->WakeUp();
  EXPECT_EQ(agent->status().generation, generation);
  // And it can be started again.
  ASSERT_TRUE(agent->Start());
}

}  // namespace
}  // namespace aztp::agent_test

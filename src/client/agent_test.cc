// aztp::Agent against a real control plane on loopback
// (testing/control_plane_server.h). Time moves only when a test moves the
// FixedClock that the server, the control plane and the agents share.
#include "aztp/client/agent.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>

#include "aztp/svid/svid_dir.h"
#include "testing/control_plane_server.h"
#include "testing/tls_pair.h"
#include "testing/trust_domains.h"

namespace aztp {
namespace {

using testing::ControlPlaneServer;
using testing::Must;

SpiffeId Id(const std::string& text) { return Must(SpiffeId::Parse(text)); }

using testing::SslPtr;

// Handshake runs a TLS handshake between two contexts in memory; false if
// either side fails. The connections stay in `client` and `server`.
bool Handshake(SSL_CTX* client_ctx, SSL_CTX* server_ctx, SslPtr& client,
               SslPtr& server) {
  testing::TlsPair p = testing::ConnectInMemory(client_ctx, server_ctx);
  const bool done = testing::Handshake(p);
  client = std::move(p.client);
  server = std::move(p.server);
  return done;
}

TrustDomain Td(const std::string& name) {
  return Must(TrustDomain::Parse(name));
}

// Endpoints plays the partners' bundle endpoints for the control plane's
// federation (ControlPlaneOptions::fetcher, revocations_fetcher): each
// serves what it was last told to; one never told is down.
struct Endpoints {
  std::mutex mu;
  std::map<std::string, Result<Bundle>> serving;
  std::map<std::string, RevocationList> lists;
  void Serve(const std::string& td, Result<Bundle> answer) {
    std::lock_guard<std::mutex> lock(mu);
    serving.insert_or_assign(td, std::move(answer));
  }
  void ServeList(const std::string& td, RevocationList list) {
    std::lock_guard<std::mutex> lock(mu);
    lists.insert_or_assign(td, std::move(list));
  }
  Result<Bundle> Fetch(const TrustDomain& td) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = serving.find(td.name());
    if (it == serving.end()) return Error(Code::kUnavailable, "endpoint down");
    return it->second;
  }
  Result<RevocationList> FetchList(const TrustDomain& td) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = lists.find(td.name());
    if (it == lists.end()) return Error(Code::kUnavailable, "endpoint down");
    return it->second;
  }
};

ControlPlaneServer::Options WithEndpoints(
    std::shared_ptr<Endpoints> endpoints) {
  ControlPlaneServer::Options o;
  o.control_plane.fetcher = [endpoints](const FederationRelationship& rel,
                                        std::shared_ptr<const Bundle>) {
    return endpoints->Fetch(rel.trust_domain);
  };
  o.control_plane.revocations_fetcher = [endpoints](
                                            const FederationRelationship& rel,
                                            std::shared_ptr<const Bundle>) {
    return endpoints->FetchList(rel.trust_domain);
  };
  return o;
}

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClientOptions o;
    o.base_url = server_.url();
    o.SetTrustBundle(server_.bundle());
    o.api_key = SecretBytes(std::string_view(server_.admin_api_key()));
    o.clock = &server_.clock();
    admin_ = Must(Client::Create(std::move(o)));
  }

  void Register(const std::string& id) {
    auto r = admin_->RegisterIdentity({.id = Id(id)});
    ASSERT_TRUE(r.has_value()) << r.error().message();
  }

  AgentOptions Options(const std::string& id, const std::string& key) {
    AgentOptions o;
    o.base_url = server_.url();
    o.trust_bundle = std::make_shared<const Bundle>(server_.bundle());
    o.id = Id(id);
    o.api_key = SecretBytes(std::string_view(key));
    o.clock = &server_.clock();
    o.retry.max_attempts = 1;
    return o;
  }

  std::unique_ptr<Agent> Bootstrap(const std::string& id) {
    Register(id);
    auto agent = Agent::Create(Options(id, server_.admin_api_key()));
    if (!agent) {
      ADD_FAILURE() << agent.error().message();
      return nullptr;
    }
    return std::move(*agent);
  }

  // AdvanceTo moves the shared clock to `t`.
  void AdvanceTo(UnixTime t) { server_.clock().Set(t); }

  // Federate makes the control plane federate with `partner`'s domain
  // `name` over https_spiffe, its endpoint played by `endpoints_`; with
  // `revocations`, also fetching its revocation list.
  void Federate(testing::TestDomains& partner, const std::string& name,
                bool revocations = false) {
    const TrustDomain td = Td(name);
    Bundle bundle =
        Must(Bundle::Create(td, {partner.Ca(name).root()}, {}, 1, 60));
    endpoints_->Serve(name, bundle);
    FederationSpec spec{.trust_domain = td};
    if (revocations) spec.revocations_url = "https://127.0.0.1:1/revocations";
    spec.endpoint_url = "https://127.0.0.1:1/v1/bundle";
    spec.endpoint_id = AztpdId(td);
    spec.bootstrap_bundle = bundle;
    auto added = admin_->AddFederation(spec);
    ASSERT_TRUE(added.has_value()) << added.error().message();
    ASSERT_EQ(added->result, FederationFetchResult::kUpdated);
  }

  // PeerCheck makes a handshake of `peer` (as a client) with `agent` (as
  // the server) and returns what the agent's AuthenticatePeer says.
  Result<VerifiedX509Svid> PeerCheck(Agent& agent, const HopSigner& peer) {
    TlsCredentials creds{peer.chain(), peer.key()};
    auto peer_ctx = Must(MakeClientContext(&creds));
    SslPtr client, server;
    if (!Handshake(peer_ctx.get(), Must(agent.MakeServerContext()).get(),
                   client, server)) {
      return Error(Code::kInternal, "handshake failed");
    }
    return agent.AuthenticatePeer(server.get());
  }

  std::shared_ptr<Endpoints> endpoints_ = std::make_shared<Endpoints>();
  ControlPlaneServer server_{WithEndpoints(endpoints_)};
  std::unique_ptr<Client> admin_;
};

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

  testing::TestDomains impostor(server_.clock().Now());
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
  testing::TestDomains other(server_.clock().Now());
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

// The agent follows the control plane's federation: the partner's bundle
// arrives with the bootstrap, and once the relationship is removed on the
// control plane the next bundle refresh drops it.
TEST_F(AgentTest, FollowsTheFederationOfTheControlPlane) {
  testing::TestDomains partner(server_.clock().Now());
  partner.AddDomain("org-b.example");
  Federate(partner, "org-b.example");
  const HopSigner& payments =
      partner.Signer("spiffe://org-b.example/agents/payments");
  const TrustDomain org_b = Td("org-b.example");

  server_.ClearRequests();
  AgentOptions o =
      Options("spiffe://org-a.example/agents/a", server_.admin_api_key());
  o.bundle_refresh_seconds = 100;
  Register("spiffe://org-a.example/agents/a");
  auto agent = Must(Agent::Create(std::move(o)));
  ASSERT_NE(agent->bundles()->GetBundle(org_b), nullptr);
  EXPECT_EQ(agent->bundles()->GetBundle(org_b)->sequence(), 1);
  auto accepted = PeerCheck(*agent, payments);
  ASSERT_TRUE(accepted.has_value()) << accepted.error().message();
  EXPECT_EQ(accepted->id().str(), "spiffe://org-b.example/agents/payments");
  // The bootstrap asked for the identity's view with the API key.
  bool asked = false;
  for (const auto& r : server_.requests()) {
    if (r.path == "/v1/bundles") asked = r.had_authorization && r.status == 200;
  }
  EXPECT_TRUE(asked);

  // Nothing changed: a refresh reports no change.
  const UnixTime start = server_.clock().Now();
  AdvanceTo(start + 100);
  server_.ClearRequests();
  auto r = agent->RunOnce();
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_FALSE(r->bundle_changed);
  // Later refreshes go over mTLS, without a key.
  int refreshes = 0;
  for (const auto& seen : server_.requests()) {
    if (seen.path != "/v1/bundles") continue;
    ++refreshes;
    EXPECT_FALSE(seen.had_authorization);
    ASSERT_TRUE(seen.peer.has_value());
    EXPECT_EQ(seen.peer->str(), "spiffe://org-a.example/agents/a");
  }
  EXPECT_EQ(refreshes, 1);

  ASSERT_TRUE(admin_->RemoveFederation(org_b));
  // Until its next refresh the agent still trusts the bundle it has...
  EXPECT_TRUE(PeerCheck(*agent, payments).has_value());
  AdvanceTo(start + 200);
  r = agent->RunOnce();
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_TRUE(r->bundle_changed);
  // ...and after it, none.
  EXPECT_EQ(agent->bundles()->GetBundle(org_b), nullptr);
  auto refused = PeerCheck(*agent, payments);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), Code::kUntrustedTrustDomain);
  TlsCredentials creds{payments.chain(), payments.key()};
  auto peer_ctx = Must(MakeClientContext(&creds));
  SslPtr client, server;
  ASSERT_TRUE(Handshake(peer_ctx.get(), Must(agent->MakeServerContext()).get(),
                        client, server));
  auto verified = agent->VerifyPeer(
      server.get(), Id("spiffe://org-b.example/agents/payments"));
  ASSERT_FALSE(verified.has_value());
  EXPECT_EQ(verified.error().code(), Code::kUntrustedTrustDomain);
  // The own domain's bundle is untouched.
  EXPECT_EQ(*agent->bundles()->GetBundle(server_.trust_domain()),
            server_.bundle());

  // Federated again: back at the next refresh.
  Federate(partner, "org-b.example");
  AdvanceTo(start + 300);
  r = agent->RunOnce();
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_TRUE(r->bundle_changed);
  EXPECT_TRUE(PeerCheck(*agent, payments).has_value());
}

// The agent follows each domain's revocation list as the control plane
// holds it, and checks each peer against its own domain's list only.
TEST_F(AgentTest, Finding13ChecksEachPeerAgainstItsOwnDomainsList) {
  testing::TestDomains partner(server_.clock().Now());
  partner.AddDomain("org-b.example");
  const TrustDomain org_b = Td("org-b.example");
  endpoints_->ServeList("org-b.example",
                        Must(RevocationList::Create(1, {}, {}, {})));
  Federate(partner, "org-b.example", /*revocations=*/true);
  const HopSigner& payments =
      partner.Signer("spiffe://org-b.example/agents/payments");
  AgentOptions o =
      Options("spiffe://org-a.example/agents/a", server_.admin_api_key());
  o.revocation_refresh_seconds = 10;
  Register("spiffe://org-a.example/agents/a");
  auto agent = Must(Agent::Create(std::move(o)));
  auto neighbour = Bootstrap("spiffe://org-a.example/agents/n");
  ASSERT_NE(neighbour, nullptr);
  const HopSigner own_peer = Must(HopSigner::Create(
      neighbour->credentials()->chain, neighbour->credentials()->key));
  EXPECT_EQ(agent->revocations_for(org_b)->sequence(), 1);
  EXPECT_EQ(agent->revocations_for(Td("org-c.example"))->size(), 0u);
  ASSERT_TRUE(PeerCheck(*agent, payments).has_value());

  // org-b revokes payments, and lists the serial of an org-a agent (one
  // its workloads saw in a handshake, say): after the control plane's
  // fetch and the agent's refresh, payments is refused and the org-a
  // agent is not.
  endpoints_->ServeList("org-b.example",
                        Must(RevocationList::Create(
                            2, {Id("spiffe://org-b.example/agents/payments")},
                            {}, {own_peer.chain().front().serial_hex()})));
  auto fetched = admin_->RefreshFederation(org_b);
  ASSERT_TRUE(fetched.has_value() && fetched->revocations);
  ASSERT_EQ(fetched->revocations->result, FederationFetchResult::kUpdated);
  EXPECT_TRUE(PeerCheck(*agent, payments).has_value()) << "before refresh";
  AdvanceTo(server_.clock().Now() + 10);
  auto r = agent->RunOnce();
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_TRUE(r->revocations_changed);
  EXPECT_EQ(agent->revocations_for(org_b)->sequence(), 2);
  EXPECT_EQ(agent->revocations()->size(), 0u);  // the own list
  auto refused = PeerCheck(*agent, payments);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), Code::kRevoked);
  auto own = PeerCheck(*agent, own_peer);
  EXPECT_TRUE(own.has_value()) << own.error().message();

  // Removed on the control plane: the list goes with the next refresh.
  ASSERT_TRUE(admin_->RemoveFederation(org_b));
  AdvanceTo(server_.clock().Now() + 10);
  r = agent->RunOnce();
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_TRUE(r->revocations_changed);
  EXPECT_EQ(agent->revocations_for(org_b)->sequence(), 0);
}

// Narrowing the identity's federates_with on the control plane has the
// same effect as removing the relationship, for this identity only.
TEST_F(AgentTest, FollowsItsFederatesWith) {
  testing::TestDomains partners(server_.clock().Now());
  partners.AddDomain("org-b.example");
  partners.AddDomain("org-c.example");
  Federate(partners, "org-b.example");
  Federate(partners, "org-c.example");
  const HopSigner& b = partners.Signer("spiffe://org-b.example/agents/b");
  const HopSigner& c = partners.Signer("spiffe://org-c.example/agents/c");

  const SpiffeId narrow_id = Id("spiffe://org-a.example/agents/narrow");
  IdentityRegistration reg{.id = narrow_id};
  reg.federates_with = std::vector<std::string>{"org-b.example"};
  ASSERT_TRUE(admin_->RegisterIdentity(reg).has_value());
  AgentOptions o = Options(narrow_id.str(), server_.admin_api_key());
  o.bundle_refresh_seconds = 100;
  auto narrow = Must(Agent::Create(std::move(o)));
  Register("spiffe://org-a.example/agents/wide");
  AgentOptions wide_options =
      Options("spiffe://org-a.example/agents/wide", server_.admin_api_key());
  wide_options.bundle_refresh_seconds = 100;
  auto wide = Must(Agent::Create(std::move(wide_options)));

  // Only what the identity federates with arrives.
  EXPECT_TRUE(PeerCheck(*narrow, b).has_value());
  auto refused = PeerCheck(*narrow, c);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), Code::kUntrustedTrustDomain);
  EXPECT_TRUE(PeerCheck(*wide, c).has_value());

  // None: org-b goes at the next refresh.
  ASSERT_TRUE(admin_->SetFederatesWith(narrow_id, std::vector<std::string>{}));
  const UnixTime start = server_.clock().Now();
  AdvanceTo(start + 100);
  auto r = narrow->RunOnce();
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_TRUE(r->bundle_changed);
  refused = PeerCheck(*narrow, b);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), Code::kUntrustedTrustDomain);
  r = wide->RunOnce();
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_FALSE(r->bundle_changed);
  EXPECT_TRUE(PeerCheck(*wide, b).has_value());

  // Every federated domain again.
  ASSERT_TRUE(admin_->SetFederatesWith(narrow_id, std::nullopt));
  AdvanceTo(start + 200);
  r = narrow->RunOnce();
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_TRUE(r->bundle_changed);
  EXPECT_TRUE(PeerCheck(*narrow, b).has_value());
  EXPECT_TRUE(PeerCheck(*narrow, c).has_value());
}

// A partner's rotation reaches the agent as a bundle change; a pinned
// domain stays pinned whatever the control plane serves.
TEST_F(AgentTest, TakesFederatedUpdatesButKeepsPinnedDomains) {
  testing::TestDomains partner(server_.clock().Now());
  partner.AddDomain("org-b.example");
  testing::TestDomains pinned_partner(server_.clock().Now());
  pinned_partner.AddDomain("org-b.example");
  pinned_partner.AddDomain("org-c.example");
  Federate(partner, "org-b.example");
  const TrustDomain org_b = Td("org-b.example");
  const TrustDomain org_c = Td("org-c.example");

  Register("spiffe://org-a.example/agents/follower");
  AgentOptions fo = Options("spiffe://org-a.example/agents/follower",
                            server_.admin_api_key());
  fo.bundle_refresh_seconds = 100;
  auto follower = Must(Agent::Create(std::move(fo)));

  Register("spiffe://org-a.example/agents/pinner");
  AgentOptions po =
      Options("spiffe://org-a.example/agents/pinner", server_.admin_api_key());
  po.bundle_refresh_seconds = 100;
  po.federated_bundles.Put(*pinned_partner.Bundles()->GetBundle(org_b));
  po.federated_bundles.Put(*pinned_partner.Bundles()->GetBundle(org_c));
  auto pinner = Must(Agent::Create(std::move(po)));
  EXPECT_EQ(*pinner->bundles()->GetBundle(org_b),
            *pinned_partner.Bundles()->GetBundle(org_b))
      << "the pinned bundle wins over the served one";
  EXPECT_TRUE(PeerCheck(*pinner, pinned_partner.Signer(
                                     "spiffe://org-b.example/agents/p"))
                  .has_value());
  EXPECT_FALSE(
      PeerCheck(*pinner, partner.Signer("spiffe://org-b.example/agents/s"))
          .has_value());

  // org-b publishes sequence 2 (a second authority); the control plane
  // fetches it and the follower takes it at its next refresh.
  testing::TestDomains successor(server_.clock().Now());
  successor.AddDomain("org-b.example");
  Bundle two = Must(Bundle::Create(org_b,
                                   {partner.Ca("org-b.example").root(),
                                    successor.Ca("org-b.example").root()},
                                   {}, 2, 60));
  endpoints_->Serve("org-b.example", two);
  auto refreshed = admin_->RefreshFederation(org_b);
  ASSERT_TRUE(refreshed.has_value()) << refreshed.error().message();
  ASSERT_EQ(refreshed->result, FederationFetchResult::kUpdated);
  const UnixTime start = server_.clock().Now();
  AdvanceTo(start + 100);
  auto r = follower->RunOnce();
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_TRUE(r->bundle_changed);
  EXPECT_EQ(follower->bundles()->GetBundle(org_b)->sequence(), 2);
  EXPECT_TRUE(
      PeerCheck(*follower, successor.Signer("spiffe://org-b.example/agents/n"))
          .has_value());
  r = pinner->RunOnce();
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_FALSE(r->bundle_changed) << "nothing but the pinned domain changed";

  // Removed on the control plane: the follower drops org-b, the pinner
  // keeps its pinned org-b and org-c.
  ASSERT_TRUE(admin_->RemoveFederation(org_b));
  AdvanceTo(start + 200);
  ASSERT_TRUE(follower->RunOnce().has_value());
  ASSERT_TRUE(pinner->RunOnce().has_value());
  EXPECT_EQ(follower->bundles()->GetBundle(org_b), nullptr);
  EXPECT_EQ(*pinner->bundles()->GetBundle(org_b),
            *pinned_partner.Bundles()->GetBundle(org_b));
  EXPECT_NE(pinner->bundles()->GetBundle(org_c), nullptr);
}

// A bundle map without the agent's own trust domain is refused, at the
// bootstrap and at a refresh; the bundles in force stay.
TEST_F(AgentTest, RefusesABundleMapWithoutItsOwnDomain) {
  Register("spiffe://org-a.example/agents/a");
  auto map = std::make_shared<std::string>(R"({"trust_domains":{}})");
  server_.SetInterceptor(
      [map](const http::Request& r) -> std::optional<http::Response> {
        if (r.path != "/v1/bundles" || map->empty()) return std::nullopt;
        http::Response out;
        out.status = 200;
        out.body = *map;
        return out;
      });
  auto refused = Agent::Create(
      Options("spiffe://org-a.example/agents/a", server_.admin_api_key()));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), Code::kMalformed);

  map->clear();
  AgentOptions o =
      Options("spiffe://org-a.example/agents/a", server_.admin_api_key());
  o.bundle_refresh_seconds = 100;
  auto agent = Must(Agent::Create(std::move(o)));
  *map = R"({"trust_domains":{}})";
  AdvanceTo(server_.clock().Now() + 100);
  auto r = agent->RunOnce();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kMalformed);
  EXPECT_EQ(*agent->bundles()->GetBundle(server_.trust_domain()),
            server_.bundle());
}

TEST_F(AgentTest, WritesAnIdentityFolder) {
  auto agent = Bootstrap("spiffe://org-a.example/agents/a");
  ASSERT_NE(agent, nullptr);
  testing::TempDir out("aztp_agent_dir_");
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
}  // namespace aztp

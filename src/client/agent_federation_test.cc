// aztp::Agent following federation (agent_test_fixture.h): the control
// plane's relationships, its own federates_with, pinned domains and each
// peer checked against its own domain's list.
#include <gtest/gtest.h>

#include "aztp/client/agent.h"
#include "client/agent_test_fixture.h"

namespace aztp::agent_test {
namespace {

using test_support::ControlPlaneServer;
using test_support::Must;
using test_support::SslPtr;

// The agent follows the control plane's federation: the partner's bundle
// arrives with the bootstrap, and once the relationship is removed on the
// control plane the next bundle refresh drops it.
TEST_F(AgentTest, FollowsTheFederationOfTheControlPlane) {
  test_support::TestDomains partner(server_.clock().Now());
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
  test_support::TestDomains partner(server_.clock().Now());
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
  test_support::TestDomains partners(server_.clock().Now());
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
  test_support::TestDomains partner(server_.clock().Now());
  partner.AddDomain("org-b.example");
  test_support::TestDomains pinned_partner(server_.clock().Now());
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
  test_support::TestDomains successor(server_.clock().Now());
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

}  // namespace
}  // namespace aztp::agent_test

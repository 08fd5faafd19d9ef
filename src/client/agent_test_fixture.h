// The fixture of the aztp::Agent tests: a real control plane on loopback
// (testing/control_plane_server.h). Time moves only when a test moves the
// FixedClock that the server, the control plane and the agents share.
#pragma once

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "aztp/client/agent.h"
#include "testing/control_plane_server.h"
#include "testing/tls_pair.h"
#include "testing/trust_domains.h"

namespace aztp::agent_test {

inline SpiffeId Id(const std::string& text) {
  return test_support::Must(SpiffeId::Parse(text));
}

// Handshake runs a TLS handshake between two contexts in memory; false if
// either side fails. The connections stay in `client` and `server`.
inline bool Handshake(SSL_CTX* client_ctx, SSL_CTX* server_ctx,
                      test_support::SslPtr& client,
                      test_support::SslPtr& server) {
  test_support::TlsPair p =
      test_support::ConnectInMemory(client_ctx, server_ctx);
  const bool done = test_support::Handshake(p);
  client = std::move(p.client);
  server = std::move(p.server);
  return done;
}

inline TrustDomain Td(const std::string& name) {
  return test_support::Must(TrustDomain::Parse(name));
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

inline test_support::ControlPlaneServer::Options WithEndpoints(
    std::shared_ptr<Endpoints> endpoints) {
  test_support::ControlPlaneServer::Options o;
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

class AgentTest : public testing::Test {
 protected:
  void SetUp() override {
    ClientOptions o;
    o.base_url = server_.url();
    o.SetTrustBundle(server_.bundle());
    o.api_key = SecretBytes(std::string_view(server_.admin_api_key()));
    o.clock = &server_.clock();
    admin_ = test_support::Must(Client::Create(std::move(o)));
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
  void Federate(test_support::TestDomains& partner, const std::string& name,
                bool revocations = false) {
    const TrustDomain td = Td(name);
    Bundle bundle = test_support::Must(
        Bundle::Create(td, {partner.Ca(name).root()}, {}, 1, 60));
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
    auto peer_ctx = test_support::Must(MakeClientContext(&creds));
    test_support::SslPtr client, server;
    if (!Handshake(peer_ctx.get(),
                   test_support::Must(agent.MakeServerContext()).get(), client,
                   server)) {
      return Error(Code::kInternal, "handshake failed");
    }
    return agent.AuthenticatePeer(server.get());
  }

  std::shared_ptr<Endpoints> endpoints_ = std::make_shared<Endpoints>();
  test_support::ControlPlaneServer server_{WithEndpoints(endpoints_)};
  std::unique_ptr<Client> admin_;
};

}  // namespace aztp::agent_test

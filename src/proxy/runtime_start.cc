// The proxy's life: Start (listeners, workers, the maintenance thread),
// Reload (settings swapped whole), policies loaded and refreshed, audit
// shipped, Shutdown.
#include <boost/asio/post.hpp>

#include "aztp/proxy/rpc_gate.h"
#include "proxy/config_check.h"
#include "proxy/runtime.h"

namespace aztp {

using proxy_runtime::PolicySet;
using proxy_runtime::Settings;

namespace {

// AgentRevocations is the agent's live revocation list as a source.
class AgentRevocations final : public RevocationSource {
 public:
  explicit AgentRevocations(std::shared_ptr<Agent> agent)
      : agent_(std::move(agent)) {}
  std::shared_ptr<const RevocationList> Current() const override {
    return agent_->revocations();
  }
  // ForDomain: each hop is checked against the list of its own trust
  // domain only (docs/protocol.md §6 step 8).
  std::shared_ptr<const RevocationList> ForDomain(
      const TrustDomain& td) const override {
    return agent_->revocations_for(td);
  }

 private:
  std::shared_ptr<Agent> agent_;
};

}  // namespace

Result<std::shared_ptr<const HopSigner>> Proxy::Impl::Signer() {
  auto creds = deps.agent->credentials();
  if (creds == nullptr) {
    return Error(Code::kUnavailable, "the proxy holds no SVID");
  }
  std::lock_guard lock(mu);
  if (creds != signer_credentials || !signer) {
    AZTP_ASSIGN_OR_RETURN(HopSigner s,
                          HopSigner::Create(creds->chain, creds->key));
    signer = std::make_shared<const HopSigner>(std::move(s));
    signer_credentials = creds;
  }
  return signer;
}

ChainVerifierOptions Proxy::Impl::VerifierOptions(
    const ProxyConfig& config) const {
  ChainVerifierOptions v;
  v.audience = self;
  v.bundles = deps.agent->bundles();
  v.skew_seconds = config.skew_seconds;
  v.clock = clock;
  v.revocations = revocations;
  if (config.inbound) v.person_issuers = config.inbound->person_issuers;
  return v;
}

Result<std::unique_ptr<Client>> Proxy::Impl::ControlPlaneClient() const {
  auto creds = deps.agent->credentials();
  ClientOptions o;
  o.base_url = deps.control_plane_url;
  o.failover_urls = deps.control_plane_failover_urls;
  o.bundles = deps.agent->bundles();
  o.server_id = AztpdId(self.trust_domain());
  o.credentials = std::move(creds);
  o.clock = clock;
  return Client::Create(std::move(o));
}

Status Proxy::Impl::LoadPolicies(const Settings& s) {
  auto set = std::make_shared<PolicySet>();
  if (!s.config.inbound) {
    std::lock_guard lock(mu);
    policies = std::move(set);
    return Ok();
  }
  if (!s.config.inbound->policy_file.empty()) {
    AZTP_ASSIGN_OR_RETURN(
        Policy policy, internal::ReadPolicyFile(s.config.inbound->policy_file));
    set->policies.push_back(std::move(policy));
    set->source = "file " + s.config.inbound->policy_file;
  } else {
    if (deps.control_plane_url.empty()) {
      return Error(Code::kInvalidArgument,
                   "inbound needs a policy_file or a control plane");
    }
    AZTP_ASSIGN_OR_RETURN(auto client, ControlPlaneClient());
    AZTP_ASSIGN_OR_RETURN(auto records, client->ListPolicies(self));
    for (const StoredPolicy& r : records) {
      auto policy = PolicyFromJson(r.document);
      if (!policy) return policy.error().WithContext("policy " + r.id);
      set->policies.push_back(std::move(*policy));
    }
    set->source = "control plane";
  }
  for (const Policy& p : set->policies) set->pointers.push_back(&p);
  set->argument_names = PolicyArgumentNames(set->pointers);
  std::lock_guard lock(mu);
  policies = std::move(set);
  return Ok();
}

void Proxy::Impl::MaintenanceLoop() {
  UnixTime next_policy = 0, next_ship = 0;
  while (true) {
    {
      std::unique_lock lock(stop_mu);
      stop_cv.wait_for(lock, seconds(1), [&] { return stopping.load(); });
      if (stopping) return;
    }
    auto s = CurrentSettings();
    const UnixTime now = clock->Now();
    chains.Sweep(now);
    if (s->config.inbound && now >= next_policy) {
      next_policy = now + s->config.control_plane.policy_refresh_seconds;
      Status st = LoadPolicies(*s);
      if (!st) {
        Log(LogLevel::kWarn, "policy_refresh_failed",
            Json{{"reason", st.error().reason()},
                 {"message", st.error().message()}});
      }
    }
    if (!deps.control_plane_url.empty() && now >= next_ship) {
      next_ship = now + s->config.audit.ship_interval_seconds;
      auto client = ControlPlaneClient();
      Result<int64_t> acked =
          client ? audit->Ship(**client, s->config.audit.ship_batch)
                 : Result<int64_t>(client.error());
      if (acked) {
        audit_acked = *acked;
      } else {
        Log(LogLevel::kWarn, "audit_ship_failed",
            Json{{"reason", acked.error().reason()},
                 {"message", acked.error().message()}});
      }
    }
  }
}

Result<std::unique_ptr<Proxy>> Proxy::Start(ProxyConfig config,
                                            ProxyDeps deps) {
  if (!deps.agent || !deps.audit_store) {
    return Error(Code::kInvalidArgument, "proxy: agent and audit store needed");
  }
  auto impl = std::make_unique<Impl>(deps.agent->id());
  impl->clock = deps.clock ? deps.clock : &SystemClock::Default();
  impl->deps = std::move(deps);
  if (impl->deps.shared_replay) {
    impl->replay = impl->deps.shared_replay;
  } else {
    impl->replay =
        std::make_shared<InMemoryReplayStore>(config.replay_capacity);
  }
  impl->revocations = std::make_shared<AgentRevocations>(impl->deps.agent);
  impl->audit = std::make_unique<internal::AuditWriter>(impl->deps.audit_store);
  impl->DescribeMetrics();
  auto proxy = std::unique_ptr<Proxy>(new Proxy(std::move(impl)));
  Impl& m = *proxy->impl_;
  AZTP_RETURN_IF_ERROR(proxy->Reload(std::move(config)));
  auto s = m.CurrentSettings();
  AZTP_RETURN_IF_ERROR(m.LoadPolicies(*s));

  auto listen = [&](const std::string& where, std::optional<tcp::acceptor>& a,
                    uint16_t& port) -> Status {
    AZTP_ASSIGN_OR_RETURN(tcp::endpoint ep, internal::ListenEndpoint(where));
    beast::error_code ec;
    a.emplace(m.io);
    a->open(ep.protocol(), ec);
    if (!ec) a->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) a->bind(ep, ec);
    if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Error(Code::kIo,
                   "cannot listen on " + where + ": " + ec.message());
    }
    port = a->local_endpoint().port();
    return Ok();
  };
  if (s->config.inbound) {
    AZTP_RETURN_IF_ERROR(
        listen(s->config.inbound->listen, m.inbound, m.inbound_port));
    m.Accept(*m.inbound, Impl::Listener::kInbound);
  }
  if (s->config.egress) {
    AZTP_RETURN_IF_ERROR(
        listen(s->config.egress->listen, m.egress, m.egress_port));
    m.Accept(*m.egress, Impl::Listener::kEgress);
  }
  if (!s->config.metrics_listen.empty()) {
    AZTP_RETURN_IF_ERROR(
        listen(s->config.metrics_listen, m.metrics_acceptor, m.metrics_port));
    m.Accept(*m.metrics_acceptor, Impl::Listener::kMetrics);
  }
  for (int i = 0; i < s->config.threads; ++i) {
    m.workers.emplace_back([&m] { m.io.run(); });
  }
  m.maintenance = std::thread([&m] { m.MaintenanceLoop(); });
  m.Log(LogLevel::kInfo, "proxy_started",
        Json{{"identity", m.self.str()},
             {"inbound_port", m.inbound_port},
             {"egress_port", m.egress_port},
             {"policies", m.CurrentPolicies()->policies.size()}});
  return proxy;
}

Proxy::Proxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Proxy::~Proxy() { Shutdown(0); }

uint16_t Proxy::inbound_port() const { return impl_->inbound_port; }
uint16_t Proxy::egress_port() const { return impl_->egress_port; }
uint16_t Proxy::metrics_port() const { return impl_->metrics_port; }

Status Proxy::Reload(ProxyConfig config) {
  Impl& m = *impl_;
  AZTP_RETURN_IF_ERROR(CheckProxyConfig(config));
  auto old = m.CurrentSettings();
  if (old) {
    auto same = [&](bool equal, const char* key) -> Status {
      if (equal) return Ok();
      return Error(Code::kInvalidArgument,
                   std::string(key) + " cannot change without a restart");
    };
    const ProxyConfig& o = old->config;
    AZTP_RETURN_IF_ERROR(same(o.identity == config.identity, "identity"));
    AZTP_RETURN_IF_ERROR(
        same(o.inbound.has_value() == config.inbound.has_value() &&
                 (!o.inbound || o.inbound->listen == config.inbound->listen),
             "inbound.listen"));
    AZTP_RETURN_IF_ERROR(
        same(o.egress.has_value() == config.egress.has_value() &&
                 (!o.egress || o.egress->listen == config.egress->listen),
             "egress.listen"));
    AZTP_RETURN_IF_ERROR(same(o.audit.db == config.audit.db, "audit.db"));
    AZTP_RETURN_IF_ERROR(
        same(o.metrics_listen == config.metrics_listen, "metrics_listen"));
    AZTP_RETURN_IF_ERROR(same(o.threads == config.threads, "threads"));
  }
  auto s = std::make_shared<Settings>();
  if (config.inbound) {
    AZTP_ASSIGN_OR_RETURN(
        http::Url up,
        internal::RequirePort(http::ParseUrl(config.inbound->upstream),
                              config.inbound->upstream));
    s->upstream = up.address;
    ChainVerifierOptions v = m.VerifierOptions(config);
    v.replay = m.replay;
    v.require_request_binding = config.inbound->require_request_binding;
    AZTP_ASSIGN_OR_RETURN(auto verifier, ChainVerifier::Create(std::move(v)));
    s->gate = std::make_shared<Gate>(
        m.self, config.inbound->routes,
        std::shared_ptr<const ChainVerifier>(std::move(verifier)),
        m.rpc_sessions);
    AZTP_ASSIGN_OR_RETURN(s->agent_card, internal::ReadAgentCard(config));
  }
  if (config.egress) {
    // A person's root from the control plane, addressed to this proxy.
    AZTP_ASSIGN_OR_RETURN(auto verifier,
                          ChainVerifier::Create(m.VerifierOptions(config)));
    s->person_verifier = std::move(verifier);
  }
  if (config.egress && !config.egress->root_capabilities.empty()) {
    AZTP_ASSIGN_OR_RETURN(
        CapabilitySet caps,
        CapabilitySet::FromStrings(config.egress->root_capabilities));
    s->root_capabilities = std::move(caps);
  }
  s->config = std::move(config);
  if (old) AZTP_RETURN_IF_ERROR(m.LoadPolicies(*s));
  std::lock_guard lock(m.mu);
  m.settings = std::move(s);
  return Ok();
}

Status Proxy::RefreshPolicies() {
  return impl_->LoadPolicies(*impl_->CurrentSettings());
}

Result<int64_t> Proxy::ShipAudit() {
  Impl& m = *impl_;
  if (m.deps.control_plane_url.empty()) {
    return Error(Code::kInvalidArgument, "no control plane to ship to");
  }
  AZTP_ASSIGN_OR_RETURN(auto client, m.ControlPlaneClient());
  AZTP_ASSIGN_OR_RETURN(
      int64_t acked,
      m.audit->Ship(*client, m.CurrentSettings()->config.audit.ship_batch));
  m.audit_acked = acked;
  return acked;
}

ProxyStats Proxy::stats() const {
  const Impl& m = *impl_;
  ProxyStats s;
  s.inbound_allowed = m.inbound_allowed;
  s.inbound_denied = m.inbound_denied;
  s.egress_sent = m.egress_sent;
  s.egress_failed = m.egress_failed;
  s.upstream_errors = m.upstream_errors;
  s.connections_open = m.open;
  s.connections_refused = m.connections_refused;
  s.malformed = m.malformed;
  s.revocations_stale_refusals = m.stale_refusals;
  s.audit_appended = m.audit->appended();
  s.audit_acked = m.audit_acked;
  s.policies = static_cast<int64_t>(m.CurrentPolicies()->policies.size());
  return s;
}

void Proxy::Shutdown(int grace_seconds) {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.stop_mu);
    if (m.shut_down) return;
    m.shut_down = true;
  }
  m.stopping = true;
  asio::post(m.io, [&m] {
    beast::error_code ec;
    if (m.inbound) m.inbound->close(ec);
    if (m.egress) m.egress->close(ec);
    if (m.metrics_acceptor) m.metrics_acceptor->close(ec);
  });
  {
    std::unique_lock lock(m.stop_mu);
    m.stop_cv.wait_for(lock, seconds(grace_seconds),
                       [&] { return m.open.load() == 0; });
  }
  m.stop_cv.notify_all();
  if (m.maintenance.joinable()) m.maintenance.join();
  // (Without settings, Start failed before anything was served.)
  if (!m.deps.control_plane_url.empty() && m.CurrentSettings()) {
    (void)ShipAudit();
  }
  m.io.stop();
  for (auto& t : m.workers) t.join();
  m.workers.clear();
  m.blocking_pool.stop();
  m.blocking_pool.join();
  m.plain_pool.Clear();
  m.tls_pool.Clear();
}

}  // namespace aztp

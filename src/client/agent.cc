#include "aztp/client/agent.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "aztp/svid/svid_dir.h"
#include "aztp/x509/csr.h"

namespace aztp {

namespace {

// kMaxWaitSeconds bounds one wait of the background thread, so that a
// clock that jumps (suspend, NTP step) is noticed within that time.
constexpr int64_t kMaxWaitSeconds = 60;

// kWholeRevocationListSeconds: between two whole revocation lists, the
// agent asks for deltas; a whole list every hour sheds the entries that
// aged out of the server's list (services/revocations.h), which deltas do
// not announce.
constexpr int64_t kWholeRevocationListSeconds = 3600;

// RenewAt is the middle of the leaf's validity.
UnixTime RenewAt(const Certificate& leaf) {
  return leaf.not_before() + (leaf.not_after() - leaf.not_before()) / 2;
}

// MayReplace reports whether `fresh` may replace `current`: a bundle with a
// lower sequence than the one in force never does (a stale replica must
// not roll authorities back).
bool MayReplace(const Bundle& current, const Bundle& fresh) {
  return !(current.sequence() && fresh.sequence() &&
           *fresh.sequence() < *current.sequence());
}

// SameTrust compares what two bundles make trusted: everything but the
// refresh hint, which bundle maps leave out.
bool SameTrust(const Bundle& a, const Bundle& b) {
  return a.trust_domain() == b.trust_domain() &&
         a.x509_authorities() == b.x509_authorities() &&
         a.jwt_authorities() == b.jwt_authorities() &&
         a.sequence() == b.sequence();
}

// SameBundles compares two sets domain by domain.
bool SameBundles(const BundleSet& a, const BundleSet& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [td, bundle] : a.bundles()) {
    auto other = b.GetBundle(td);
    if (other == nullptr || !(*other == *bundle)) return false;
  }
  return true;
}

}  // namespace

struct Agent::Impl {
  explicit Impl(SpiffeId agent_id) : id(std::move(agent_id)) {}

  AgentOptions options;
  const SpiffeId id;
  const Clock* clock = nullptr;
  // bundles: the own trust domain's bundle, the federated ones the
  // control plane serves (both refreshed) and the pinned ones
  // (options.federated_bundles); read at every connection and every
  // VerifyPeer. Published by PublishBundles.
  std::shared_ptr<SharedBundleSource> bundles;

  // refresh_mu serialises RunOnce; `client` belongs to it.
  std::mutex refresh_mu;
  std::unique_ptr<Client> client;  // mTLS with the current SVID, no API key

  mutable std::mutex mu;  // guards everything below
  std::shared_ptr<const TlsCredentials> creds;
  std::shared_ptr<const Bundle> own_bundle;
  // served: the federated bundles of the last bundle map, without the own
  // and the pinned domains.
  BundleSet served;
  std::shared_ptr<const RevocationList> revocations =
      std::make_shared<const RevocationList>(RevocationList::Empty());
  // federated_revocations: the lists of the federated domains, as the
  // control plane last served them; each applies to its domain only.
  std::map<TrustDomain, std::shared_ptr<const RevocationList>>
      federated_revocations;
  // no_revocations stands for the list of a domain that publishes none.
  const std::shared_ptr<const RevocationList> no_revocations =
      std::make_shared<const RevocationList>(RevocationList::Empty());
  uint64_t generation = 0;
  UnixTime renew_at = 0;
  UnixTime next_bundle_at = 0;
  UnixTime next_revocations_at = 0;
  // whole_revocations_at: when the next fetch asks for the whole own list
  // rather than a delta, shedding entries that aged out (see
  // kWholeRevocationListSeconds).
  UnixTime whole_revocations_at = 0;
  // revocations_fetched_at: when the list in force was last fetched.
  std::atomic<UnixTime> revocations_fetched_at{0};
  bool revoked_by_list = false;    // own ID or serial is listed
  bool revoked_by_server = false;  // the last renewal was refused: revoked
  std::optional<Error> last_error;
  // The contexts handed out, rebuilt when the generation moves on.
  mutable std::shared_ptr<SSL_CTX> server_ctx;
  mutable uint64_t server_ctx_generation = 0;
  mutable std::shared_ptr<SSL_CTX> client_ctx;
  mutable uint64_t client_ctx_generation = 0;

  // The background thread.
  std::mutex thread_mu;
  std::condition_variable thread_cv;
  bool stop = false;  // guarded by thread_mu
  bool wake = false;  // guarded by thread_mu
  std::thread thread;

  ClientOptions ClientBase() const {
    ClientOptions o;
    o.base_url = options.base_url;
    o.failover_urls = options.failover_urls;
    o.bundles = bundles;
    o.server_id = AztpdId(id.trust_domain());
    o.timeout_seconds = options.timeout_seconds;
    o.retry = options.retry;
    o.clock = clock;
    return o;
  }

  // MtlsClient is a client that authenticates with `credentials` only.
  Result<std::unique_ptr<Client>> MtlsClient(
      std::shared_ptr<const TlsCredentials> credentials) const {
    ClientOptions o = ClientBase();
    o.credentials = std::move(credentials);
    return Client::Create(std::move(o));
  }

  // PublishBundles makes the served, pinned and own bundles the source's
  // set; pinned ones win over served ones of the same domain, and the own
  // domain's bundle is always the control plane's. Caller holds mu.
  void PublishBundles() {
    BundleSet set = served;
    for (const auto& [td, pinned] : options.federated_bundles.bundles()) {
      set.Put(*pinned);
    }
    set.Put(*own_bundle);
    bundles->Replace(std::move(set));
  }

  // UpdateOwn takes a bundle of the own trust domain unless it is older
  // than the one in force; true if it changed what is trusted. A bundle
  // that differs only by its refresh hint (the map's copy has none) changes
  // nothing; the one with a hint is kept. Caller holds mu and publishes.
  bool UpdateOwn(const Bundle& fresh) {
    if (own_bundle != nullptr) {
      if (SameTrust(*own_bundle, fresh)) {
        if (!own_bundle->refresh_hint() && fresh.refresh_hint()) {
          own_bundle = std::make_shared<const Bundle>(fresh);
        }
        return false;
      }
      if (!MayReplace(*own_bundle, fresh)) return false;
    }
    own_bundle = std::make_shared<const Bundle>(fresh);
    return true;
  }

  // ApplyBundle installs a bundle of the own trust domain (UpdateOwn) and
  // publishes it; true if it changed anything. Caller holds mu.
  bool ApplyBundle(const Bundle& fresh) {
    if (!UpdateOwn(fresh)) return false;
    PublishBundles();
    return true;
  }

  // ApplyMap installs the bundle map the control plane serves for this
  // identity: the own domain's bundle (which the map must hold) as
  // ApplyBundle does, and the federated domains exactly as served, except
  // that pinned domains are left alone and a served bundle older than the
  // one in force for its domain is not taken. True if anything changed.
  // Caller holds mu.
  Result<bool> ApplyMap(const BundleSet& map) {
    const TrustDomain& own_td = id.trust_domain();
    auto own = map.GetBundle(own_td);
    if (own == nullptr) {
      return Error(Code::kMalformed,
                   "the bundle map of the control plane lacks " +
                       own_td.name() + ", its own trust domain");
    }
    BundleSet fresh;
    for (const auto& [td, bundle] : map.bundles()) {
      if (td == own_td || options.federated_bundles.GetBundle(td)) continue;
      auto current = served.GetBundle(td);
      fresh.Put(current != nullptr && !MayReplace(*current, *bundle) ? *current
                                                                     : *bundle);
    }
    bool changed = UpdateOwn(*own);
    if (!SameBundles(fresh, served)) {
      served = std::move(fresh);
      changed = true;
    }
    if (changed) PublishBundles();
    return changed;
  }

  // ApplyRevocations installs the lists of the control plane's map: each
  // domain's list unless its sequence is older than the one in force for
  // that domain; federated domains no longer in the map are dropped. True
  // if anything changed. Caller holds mu.
  bool ApplyRevocations(RevocationLists lists) {
    bool changed = false;
    std::map<TrustDomain, std::shared_ptr<const RevocationList>> federated;
    for (auto& [td, list] : lists) {
      const bool own = td == id.trust_domain();
      auto held = federated_revocations.find(td);
      std::shared_ptr<const RevocationList> current =
          own                                   ? revocations
          : held != federated_revocations.end() ? held->second
                                                : nullptr;
      if (current == nullptr ||
          (list.sequence() >= current->sequence() && !(list == *current))) {
        current = std::make_shared<const RevocationList>(std::move(list));
        changed = true;
      }
      if (own) {
        revocations = std::move(current);
      } else {
        federated.emplace(td, std::move(current));
      }
    }
    changed = changed || federated.size() != federated_revocations.size();
    federated_revocations = std::move(federated);
    UpdateRevokedByList();
    return changed;
  }

  void UpdateRevokedByList() {
    revoked_by_list =
        revocations->IsRevokedId(id) ||
        (creds != nullptr &&
         revocations->IsRevokedSerial(creds->chain.front().serial_hex()));
  }

  // Install makes a freshly issued SVID current. Caller holds mu.
  void Install(X509SvidResponse svid, PrivateKey key) {
    renew_at = RenewAt(svid.chain.front());
    creds = std::make_shared<const TlsCredentials>(
        TlsCredentials{std::move(svid.chain), std::move(key)});
    ++generation;
    ApplyBundle(svid.bundle);
    UpdateRevokedByList();
  }

  // Issue obtains an SVID for `id` over a fresh key from `issuer`.
  Result<std::pair<X509SvidResponse, PrivateKey>> Issue(Client& issuer) {
    AZTP_ASSIGN_OR_RETURN(PrivateKey key,
                          PrivateKey::Generate(options.key_type));
    AZTP_ASSIGN_OR_RETURN(CertificateRequest csr,
                          CertificateRequest::Create(key, id));
    AZTP_ASSIGN_OR_RETURN(
        X509SvidResponse svid,
        issuer.IssueX509Svid(id, csr, options.svid_ttl_seconds));
    return std::make_pair(std::move(svid), std::move(key));
  }

  // Renew replaces the SVID over mTLS, authenticated by the current one.
  Status Renew() {
    AZTP_ASSIGN_OR_RETURN(auto issued, Issue(*client));
    std::shared_ptr<const TlsCredentials> fresh;
    {
      std::lock_guard<std::mutex> lock(mu);
      Install(std::move(issued.first), std::move(issued.second));
      revoked_by_server = false;
      fresh = creds;
    }
    // Later calls authenticate with the new SVID.
    AZTP_ASSIGN_OR_RETURN(client, MtlsClient(std::move(fresh)));
    return Ok();
  }

  // Usable refuses to hand out credentials that peers must not accept.
  Status Usable() const {
    if (revoked_by_list || revoked_by_server) {
      return Error(Code::kRevoked, id.str() + " is revoked");
    }
    if (clock->Now() >= creds->chain.front().not_after()) {
      return Error(Code::kExpired, "the SVID of " + id.str() + " has expired");
    }
    return Ok();
  }

  Result<RefreshReport> RunOnce();
  void Loop();
};

Agent::Agent(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Agent::~Agent() { Stop(); }

Result<std::unique_ptr<Agent>> Agent::Create(AgentOptions options) {
  if (options.trust_bundle == nullptr || !options.id.has_value()) {
    return Error(Code::kInvalidArgument,
                 "an agent needs its ID and the control plane's bundle");
  }
  const Bundle& trust = *options.trust_bundle;
  if (!options.id->MemberOf(trust.trust_domain()) ||
      !options.id->IsWorkload()) {
    return Error(Code::kInvalidArgument, options.id->str() +
                                             " is not a workload ID of " +
                                             trust.trust_domain().name());
  }
  if (options.api_key.empty()) {
    return Error(
        Code::kInvalidArgument,
        "the bootstrap needs an API key allowed for " + options.id->str());
  }
  if (options.bundle_refresh_seconds < 1 ||
      options.revocation_refresh_seconds < 1 || options.retry_seconds < 1) {
    return Error(Code::kInvalidArgument,
                 "refresh and retry intervals must be positive");
  }
  auto impl = std::make_unique<Impl>(*options.id);
  impl->clock =
      options.clock != nullptr ? options.clock : &SystemClock::Default();
  // The own domain's bundle comes from the control plane, never from the
  // federated set.
  options.federated_bundles.Remove(trust.trust_domain());
  impl->options = std::move(options);
  impl->bundles = std::make_shared<SharedBundleSource>();
  {
    std::lock_guard<std::mutex> lock(impl->mu);
    impl->ApplyBundle(*impl->options.trust_bundle);
  }

  // Bootstrap with the API key: the SVID, then the identity's view of the
  // bundle map. The client, and with it the key's only other copy, is gone
  // when this block ends.
  {
    ClientOptions o = impl->ClientBase();
    o.api_key = std::move(impl->options.api_key);
    impl->options.api_key = SecretBytes();
    AZTP_ASSIGN_OR_RETURN(auto bootstrap, Client::Create(std::move(o)));
    AZTP_ASSIGN_OR_RETURN(auto issued, impl->Issue(*bootstrap));
    {
      std::lock_guard<std::mutex> lock(impl->mu);
      impl->Install(std::move(issued.first), std::move(issued.second));
    }
    AZTP_ASSIGN_OR_RETURN(BundleSet map, bootstrap->GetBundles(impl->id));
    std::lock_guard<std::mutex> lock(impl->mu);
    AZTP_RETURN_IF_ERROR(impl->ApplyMap(map));
  }
  AZTP_ASSIGN_OR_RETURN(impl->client, impl->MtlsClient(impl->creds));
  AZTP_ASSIGN_OR_RETURN(RevocationLists list,
                        impl->client->GetRevocationLists());
  const UnixTime now = impl->clock->Now();
  {
    std::lock_guard<std::mutex> lock(impl->mu);
    impl->ApplyRevocations(std::move(list));
    impl->revocations_fetched_at = now;
    impl->next_bundle_at = now + impl->options.bundle_refresh_seconds;
    impl->next_revocations_at = now + impl->options.revocation_refresh_seconds;
    impl->whole_revocations_at = now + kWholeRevocationListSeconds;
  }
  return std::unique_ptr<Agent>(new Agent(std::move(impl)));
}

const SpiffeId& Agent::id() const { return impl_->id; }

Result<RefreshReport> Agent::RunOnce() { return impl_->RunOnce(); }

Result<RefreshReport> Agent::Impl::RunOnce() {
  std::unique_lock<std::mutex> serial(refresh_mu);
  const UnixTime now = clock->Now();
  RefreshReport report;
  std::optional<Error> failure;
  auto note = [&failure](const Error& e) {
    if (!failure) failure = e;
  };
  UnixTime renew_due, bundle_due, revocations_due;
  std::shared_ptr<const RevocationList> held;  // null: ask for a whole list
  {
    std::lock_guard<std::mutex> lock(mu);
    renew_due = renew_at;
    bundle_due = next_bundle_at;
    revocations_due = next_revocations_at;
    if (now < whole_revocations_at) held = revocations;
  }

  if (now >= renew_due) {
    Status renewed = Renew();
    if (renewed) {
      report.renewed = true;
    } else {
      note(renewed.error());
      if (renewed.error().code() == Code::kRevoked) {
        std::lock_guard<std::mutex> lock(mu);
        revoked_by_server = true;
      }
    }
  }
  if (now >= bundle_due) {
    // Over mTLS without a query: the server narrows the map to what this
    // identity accepts.
    auto fresh = client->GetBundles();
    std::lock_guard<std::mutex> lock(mu);
    auto changed =
        fresh ? ApplyMap(*fresh) : Result<bool>(std::move(fresh).error());
    if (changed) {
      report.bundle_changed = *changed;
      next_bundle_at = now + options.bundle_refresh_seconds;
    } else {
      note(changed.error());
    }
  }
  if (now >= revocations_due) {
    auto fresh = client->GetRevocationLists(held.get());
    std::lock_guard<std::mutex> lock(mu);
    if (fresh) {
      report.revocations_changed = ApplyRevocations(std::move(*fresh));
      if (held == nullptr) {
        whole_revocations_at = now + kWholeRevocationListSeconds;
      }
      revocations_fetched_at = now;
      next_revocations_at = now + options.revocation_refresh_seconds;
    } else {
      note(fresh.error());
    }
  }

  {
    std::lock_guard<std::mutex> lock(mu);
    // Revocation and expiry outrank whatever else went wrong: they are
    // what the application must act on.
    Status usable = Usable();
    if (!usable) failure = usable.error();
    report.next_due = std::min({renew_at, next_bundle_at, next_revocations_at});
    last_error = failure;
  }
  serial.unlock();
  if (options.on_change &&
      (report.renewed || report.bundle_changed || report.revocations_changed)) {
    options.on_change(report);
  }
  if (failure) return *failure;
  return report;
}

void Agent::Impl::Loop() {
  int failures = 0;
  for (;;) {
    auto result = RunOnce();
    int64_t wait;
    if (result) {
      failures = 0;
      wait = std::max<int64_t>(0, result->next_due - clock->Now());
    } else {
      ++failures;
      wait = options.retry_seconds << std::min(failures - 1, 4);
    }
    wait = std::min(wait, kMaxWaitSeconds);
    std::unique_lock<std::mutex> lock(thread_mu);
    thread_cv.wait_for(lock, std::chrono::seconds(wait),
                       [this] { return stop || wake; });
    if (stop) return;
    wake = false;
  }
}

Status Agent::Start() {
  std::lock_guard<std::mutex> lock(impl_->thread_mu);
  if (impl_->thread.joinable()) {
    return Error(Code::kInvalidArgument, "the agent is running already");
  }
  impl_->stop = false;
  impl_->thread = std::thread([impl = impl_.get()] { impl->Loop(); });
  return Ok();
}

void Agent::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->thread_mu);
    impl_->stop = true;
  }
  impl_->thread_cv.notify_all();
  if (impl_->thread.joinable() &&
      impl_->thread.get_id() != std::this_thread::get_id()) {
    impl_->thread.join();
  }
}

void Agent::WakeUp() {
  {
    std::lock_guard<std::mutex> lock(impl_->thread_mu);
    impl_->wake = true;
  }
  impl_->thread_cv.notify_all();
}

AgentStatus Agent::status() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  AgentStatus s;
  s.serial = impl_->creds->chain.front().serial_hex();
  s.expires_at = impl_->creds->chain.front().not_after();
  s.renew_at = impl_->renew_at;
  s.generation = impl_->generation;
  s.revocation_sequence = impl_->revocations->sequence();
  s.revocations_fetched_at = impl_->revocations_fetched_at;
  s.revoked = impl_->revoked_by_list || impl_->revoked_by_server;
  s.last_error = impl_->last_error;
  return s;
}

std::shared_ptr<const TlsCredentials> Agent::credentials() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->creds;
}

std::shared_ptr<const Bundle> Agent::bundle() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->own_bundle;
}

std::shared_ptr<const BundleSource> Agent::bundles() const {
  return impl_->bundles;
}

std::shared_ptr<const RevocationList> Agent::revocations() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->revocations;
}

UnixTime Agent::revocations_fetched_at() const {
  return impl_->revocations_fetched_at;
}

std::shared_ptr<const RevocationList> Agent::revocations_for(
    const TrustDomain& td) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (td == impl_->id.trust_domain()) return impl_->revocations;
  auto it = impl_->federated_revocations.find(td);
  return it != impl_->federated_revocations.end() ? it->second
                                                  : impl_->no_revocations;
}

Result<std::shared_ptr<SSL_CTX>> Agent::MakeServerContext() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  AZTP_RETURN_IF_ERROR(impl_->Usable());
  if (impl_->server_ctx_generation != impl_->generation) {
    AZTP_ASSIGN_OR_RETURN(
        impl_->server_ctx,
        ::aztp::MakeServerContext(*impl_->creds, /*request_client_cert=*/true));
    impl_->server_ctx_generation = impl_->generation;
  }
  return impl_->server_ctx;
}

Result<std::shared_ptr<SSL_CTX>> Agent::MakeClientContext() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  AZTP_RETURN_IF_ERROR(impl_->Usable());
  if (impl_->client_ctx_generation != impl_->generation) {
    AZTP_ASSIGN_OR_RETURN(impl_->client_ctx,
                          ::aztp::MakeClientContext(impl_->creds.get()));
    impl_->client_ctx_generation = impl_->generation;
  }
  return impl_->client_ctx;
}

Result<VerifiedX509Svid> Agent::AuthenticatePeer(SSL* ssl) const {
  AZTP_ASSIGN_OR_RETURN(
      VerifiedX509Svid peer,
      ::aztp::VerifyPeer(ssl, *impl_->bundles, impl_->clock->Now()));
  // The list of the peer's own trust domain, and no other: serials are only
  // meaningful for certificates of that domain's CA, and no domain may
  // revoke another's identities (docs/protocol.md §6 step 8).
  std::shared_ptr<const RevocationList> list =
      revocations_for(peer.id().trust_domain());
  bool revoked = list->IsRevokedId(peer.id()) ||
                 list->IsRevokedSerial(peer.leaf().serial_hex());
  if (revoked) {
    return Error(Code::kRevoked, "peer " + peer.id().str() + " is revoked");
  }
  return peer;
}

Result<VerifiedX509Svid> Agent::VerifyPeer(SSL* ssl,
                                           const SpiffeId& expected) const {
  AZTP_ASSIGN_OR_RETURN(VerifiedX509Svid peer, AuthenticatePeer(ssl));
  if (peer.id() != expected) {
    return Error(Code::kPeerMismatch,
                 "peer is " + peer.id().str() + ", expected " + expected.str());
  }
  return peer;
}

Status Agent::WriteSvidDir(const std::string& dir) const {
  std::shared_ptr<const TlsCredentials> creds;
  std::shared_ptr<const Bundle> own;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    creds = impl_->creds;
    own = impl_->own_bundle;
  }
  return ::aztp::WriteSvidDir(dir, creds->chain, &creds->key, *own);
}

}  // namespace aztp

// The control plane's core: opening and initialising the store, the
// signing keys in force and the maintenance pass, the server's own SVID,
// authentication, rate limits, metrics and the route table. The routes of
// each API group live in routes_*.cc (or, not yet converted, api_*.cc).
#include "aztp/controlplane/control_plane.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "api.h"
#include "aztp/base/bytes.h"
#include "aztp/crypto/digest.h"
#include "aztp/http/address.h"
#include "aztp/services/audit_entry.h"
#include "aztp/services/coordination.h"
#include "aztp/x509/builder.h"
#include "internal/ossl.h"

namespace aztp {

using services::Appended;
using services::MakeAudit;

namespace {

using internal::kRevocationSequence;
using services::KeyKind;
using services::KeyState;
// kMaintainActor names the maintenance pass (rotation and federation
// fetches alike) in audit records.
const std::string kMaintainActor = "aztpd rotation";

// MakeReplicaName names this process among the replicas: host, process and
// random bytes (a restarted process on the same host is a new replica).
Result<std::string> MakeReplicaName() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  AZTP_ASSIGN_OR_RETURN(Bytes random, RandomBytes(4));
  return std::string(host[0] ? host : "aztpd") + "/" +
         std::to_string(::getpid()) + "/" + HexEncode(random);
}

// Latency buckets in seconds: issuance is a few milliseconds, store writes
// with fsync up to tens of milliseconds.
const std::vector<double> kLatencyBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

// RemoteHost is the host of a client's address, "ip:port" as the server
// writes it (IPv6 in brackets, which stay).
std::string RemoteHost(const std::string& remote) {
  auto address = http::ParseHostPort(remote);
  return address ? address->HostForUrl() : remote;
}

services::SvidLifetimes Lifetimes(const ControlPlaneOptions& o) {
  return {o.default_svid_ttl_seconds, o.max_svid_ttl_seconds,
          o.default_jwt_ttl_seconds, o.max_jwt_ttl_seconds};
}

// MakePoller is the federation poller `o` asks for: its fetchers (FetchBundle
// and FetchRevocations unless replaced) and its refresh bounds.
std::unique_ptr<BundlePoller> MakePoller(const ControlPlaneOptions& o) {
  const Clock* clock = o.clock;
  const int timeout = o.federation_fetch_timeout_seconds;
  BundleFetcher fetch = o.fetcher;
  if (!fetch) {
    fetch = [clock, timeout](const FederationRelationship& rel,
                             std::shared_ptr<const Bundle> trust) {
      return FetchBundle(rel, std::move(trust), timeout, *clock);
    };
  }
  RevocationFetcher fetch_revocations = o.revocations_fetcher;
  if (!fetch_revocations) {
    fetch_revocations = [clock, timeout](const FederationRelationship& rel,
                                         std::shared_ptr<const Bundle> trust) {
      return FetchRevocations(rel, std::move(trust), timeout, *clock);
    };
  }
  PollerOptions bounds;
  bounds.max_refresh_seconds = o.federation_max_refresh_seconds;
  bounds.min_refresh_seconds =
      std::min(bounds.min_refresh_seconds, bounds.max_refresh_seconds);
  return std::make_unique<BundlePoller>(std::move(fetch),
                                        std::move(fetch_revocations), bounds);
}

}  // namespace

// Host hands the services the control plane's runtime through the KeyRing
// and FederationHost interfaces only. Forced rotations, federation changes
// and the maintenance pass take maintain_mu_ in turn: each rewrites the keys
// or the poller's relationships as a whole.
class ControlPlane::Host final : public services::KeyRing,
                                 public services::FederationHost {
 public:
  explicit Host(ControlPlane& cp) : cp_(cp) {}

  services::KeySnapshot Current() const override {
    auto state = cp_.state();
    return {state->keys, state->bundle};
  }
  Status Rotate(const std::function<Status()>& write) override {
    std::lock_guard<std::mutex> lock(cp_.maintain_mu_);
    AZTP_RETURN_IF_ERROR(write());
    return cp_.Reload(/*renew_server=*/false);
  }
  Status Exclusive(const std::function<Status()>& fn) override {
    std::lock_guard<std::mutex> lock(cp_.maintain_mu_);
    return fn();
  }
  std::shared_ptr<const BundleSet> Published() const override {
    return cp_.bundles_->Snapshot();
  }
  void Publish() override { cp_.PublishBundles(*cp_.state()); }
  void Fetched(const PollEvent& ev) override {
    cp_.instruments_->metrics.Add(
        ev.revocations ? "aztpd_federation_revocations_fetches_total"
                       : "aztpd_federation_fetches_total",
        {{"trust_domain", ev.trust_domain.name()},
         {"result", std::string(PollResultName(ev.kind))}});
  }
  void Recorded(const PollEvent& ev) override {
    if (cp_.options_.on_federation_event) cp_.options_.on_federation_event(ev);
  }

 private:
  ControlPlane& cp_;
};

ControlPlane::Services::Services(services::ServiceContext c, ControlPlane& cp)
    : context(std::move(c)),
      // Every SVID issued is counted, whichever front end asked; the service
      // calls a hook and knows no metrics registry.
      svids(context, *cp.host_, Lifetimes(cp.options_),
            [&m = cp.instruments_->metrics](services::SvidKind kind) {
              m.Add("aztpd_svids_issued_total",
                    {{"kind", std::string(ToString(kind))}});
            }),
      signing_keys(context, *cp.host_, cp.options_.ca, cp.options_.rotation,
                   Lifetimes(cp.options_)),
      federation(context, *cp.poller_, *cp.host_, cp.options_.federation),
      people(context, cp.options_.people,
             [&cp] { return cp.state()->root_signer; }),
      logins(context, people, cp.options_.login),
      revocations(context, cp.options_.max_jwt_ttl_seconds) {}

int HttpStatusFor(const Error& error) {
  switch (error.code()) {
    case Code::kNotFound:
      return 404;
    case Code::kAlreadyExists:
      return 409;
    case Code::kUnauthenticated:
      return 401;
    case Code::kPermissionDenied:
    case Code::kRevoked:
      return 403;
    case Code::kRateLimited:
      return 429;
    case Code::kUnavailable:
      return 503;
    case Code::kTooLarge:
      return 413;
    case Code::kUnsupported:
      return 415;
    case Code::kIo:
    case Code::kInternal:
      return 500;
    default:
      return 400;
  }
}

Result<InitResult> ControlPlane::Initialize(Store& store, const TrustDomain& td,
                                            const CaOptions& ca, UnixTime now) {
  AZTP_ASSIGN_OR_RETURN(
      CaKeyRecord x509,
      services::NewSigningKey(td, KeyKind::kX509, KeyState::kActive, ca, now));
  AZTP_ASSIGN_OR_RETURN(
      CaKeyRecord jwt,
      services::NewSigningKey(td, KeyKind::kJwt, KeyState::kActive, ca, now));
  AZTP_ASSIGN_OR_RETURN(services::MintedApiKey admin,
                        services::MintApiKey(std::string(services::kAdminScope),
                                             "initial admin key", now));
  const std::string actor = "aztpd init";
  AZTP_RETURN_IF_ERROR(store.Write([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto existing, tx.ListCaKeys());
    if (!existing.empty()) {
      return Error(Code::kAlreadyExists, "the store is already initialised");
    }
    for (const CaKeyRecord* r : {&x509, &jwt}) {
      AZTP_RETURN_IF_ERROR(tx.PutCaKey(*r));
      AZTP_RETURN_IF_ERROR(tx.AppendAudit(
          MakeAudit(now, actor, "ca.create", td.IdString(),
                    Json{{"kind", r->kind}, {"key_id", r->key_id}})));
    }
    AZTP_RETURN_IF_ERROR(tx.InsertApiKey(admin.record));
    AZTP_RETURN_IF_ERROR(tx.PutMeta(kRevocationSequence, 0));
    AZTP_RETURN_IF_ERROR(tx.PutMeta(services::kBundleSequenceMeta, 1));
    return Appended(tx.AppendAudit(MakeAudit(now, actor, "apikey.create",
                                             admin.record.key_id,
                                             Json{{"scope", "admin"}})));
  }));
  AZTP_ASSIGN_OR_RETURN(auto keys, services::SigningKeys::Load({x509, jwt}));
  AZTP_ASSIGN_OR_RETURN(Bundle bundle, keys->MakeBundle(1));
  return InitResult{std::move(admin.key), std::move(bundle)};
}

Result<std::unique_ptr<ControlPlane>> ControlPlane::Open(
    std::shared_ptr<Store> store, ControlPlaneOptions options) {
  if (options.clock == nullptr) options.clock = &SystemClock::Default();
  if (options.replica.empty()) {
    AZTP_ASSIGN_OR_RETURN(options.replica, MakeReplicaName());
  }
  if (options.lease_seconds < 1) {
    return Error(Code::kInvalidArgument,
                 "the lease must last a second or more");
  }
  AZTP_ASSIGN_OR_RETURN(services::KeySnapshot keys, services::ReadKeys(*store));
  std::unique_ptr<ControlPlane> cp(new ControlPlane(
      std::move(store), std::move(options), keys.keys->trust_domain()));
  AZTP_RETURN_IF_ERROR(cp->services_->federation.Load());
  AZTP_RETURN_IF_ERROR(cp->Reload(/*renew_server=*/true));
  // Catch up on rotation steps that fell due while the daemon was down.
  AZTP_RETURN_IF_ERROR(cp->Maintain());
  cp->reported_sequence_ = -1;  // the daemon's first Maintain reports true
  return cp;
}

ControlPlane::ControlPlane(std::shared_ptr<Store> store,
                           ControlPlaneOptions options, TrustDomain td)
    : store_(std::move(store)),
      options_(std::move(options)),
      trust_domain_(std::move(td)),
      routes_(std::make_unique<internal::RouteTable>()),
      bundles_(std::make_shared<SharedBundleSource>()),
      instruments_(std::make_unique<Instruments>(options_.rate_limit)),
      poller_(MakePoller(options_)),
      host_(std::make_unique<Host>(*this)) {
  services_ = std::make_unique<Services>(
      services::ServiceContext{store_, trust_domain_, options_.clock}, *this);
  BuildRoutes();
  auto& m = instruments_->metrics;
  m.DescribeCounter("aztpd_requests_total", "API requests by route and status");
  m.DescribeHistogram("aztpd_request_duration_seconds",
                      "API request latency by route", kLatencyBuckets);
  m.DescribeCounter("aztpd_svids_issued_total", "SVIDs issued by kind");
  m.DescribeGauge("aztpd_identities", "registered identities by status");
  m.DescribeGauge("aztpd_ca_expiry_timestamp_seconds",
                  "notAfter of the active signing key by kind");
  m.DescribeCounter("aztpd_rate_limited_total", "requests refused with 429");
  m.DescribeCounter("aztpd_federation_fetches_total",
                    "federated bundle fetches by trust domain and result");
  m.DescribeCounter(
      "aztpd_federation_revocations_fetches_total",
      "federated revocation list fetches by trust domain and result");
  m.DescribeCounter("aztpd_audit_ingested_total",
                    "audit records shipped by proxies and accepted");
  // Series that exist from the start, so that rates are defined at once.
  m.Add("aztpd_svids_issued_total", {{"kind", "x509"}}, 0);
  m.Add("aztpd_svids_issued_total", {{"kind", "jwt"}}, 0);
  m.Add("aztpd_rate_limited_total", {}, 0);
  m.Add("aztpd_audit_ingested_total", {}, 0);
}

ControlPlane::~ControlPlane() = default;

std::shared_ptr<const ControlPlane::State> ControlPlane::state() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return state_;
}

Status ControlPlane::IssueServerCredentials(State& next,
                                            const CertificateAuthority& ca,
                                            UnixTime now) const {
  // The server's own SVID, with DNS/IP SANs for web-PKI clients.
  AZTP_ASSIGN_OR_RETURN(PrivateKey server_key,
                        PrivateKey::Generate(KeyType::kEcP256));
  const SpiffeId server_id = SpiffeId::ControlPlane(trust_domain_);
  CertificateTemplate t;
  t.uri_sans = {server_id.str()};
  t.dns_sans = options_.server_dns_names;
  t.ip_sans = options_.server_ips;
  t.ca = false;
  t.key_usage = kKuDigitalSignature;
  t.eku_server_auth = true;
  t.eku_client_auth = true;
  t.not_before = now - kBackdateSeconds;
  t.not_after = std::min(now + options_.server_svid_ttl_seconds,
                         ca.signing_certificate().not_after());
  AZTP_ASSIGN_OR_RETURN(
      Certificate leaf,
      SignCertificate(t, server_key.public_key(), &ca.signing_certificate(),
                      ca.signing_key()));
  std::vector<Certificate> chain{leaf};
  chain.insert(chain.end(), ca.chain().begin(), ca.chain().end() - 1);
  AZTP_ASSIGN_OR_RETURN(HopSigner signer, HopSigner::Create(chain, server_key));
  next.root_signer = std::make_shared<const HopSigner>(std::move(signer));
  next.server_credentials = std::make_shared<const TlsCredentials>(
      TlsCredentials{std::move(chain), std::move(server_key)});
  AZTP_ASSIGN_OR_RETURN(next.server_context,
                        MakeServerContext(*next.server_credentials,
                                          /*request_client_cert=*/true));
  next.server_renew_at = now + (t.not_after - now) / 2;
  return Ok();
}

Status ControlPlane::Reload(bool renew_server) {
  const UnixTime now = options_.clock->Now();
  AZTP_ASSIGN_OR_RETURN(services::KeySnapshot loaded,
                        services::ReadKeys(*store_));
  const services::SigningKeys& keys = *loaded.keys;
  auto next = std::make_shared<State>();
  next->keys = loaded.keys;
  next->bundle = loaded.bundle;
  auto previous = state();
  const bool ca_changed =
      !previous || previous->keys->ca().signing_certificate().der() !=
                       keys.ca().signing_certificate().der();
  if (renew_server || ca_changed) {
    AZTP_RETURN_IF_ERROR(IssueServerCredentials(*next, keys.ca(), now));
  } else {
    next->server_credentials = previous->server_credentials;
    next->server_context = previous->server_context;
    next->root_signer = previous->root_signer;
    next->server_renew_at = previous->server_renew_at;
  }
  PublishBundles(*next);
  auto& m = instruments_->metrics;
  m.Set("aztpd_ca_expiry_timestamp_seconds", {{"kind", "x509"}},
        static_cast<double>(keys.ca().signing_certificate().not_after()));
  for (const auto& r : keys.records()) {
    if (r.kind == KeyKind::kJwt && r.state == KeyState::kActive) {
      m.Set("aztpd_ca_expiry_timestamp_seconds", {{"kind", "jwt"}},
            static_cast<double>(r.not_after));
    }
  }
  std::lock_guard<std::mutex> lock(state_mu_);
  state_ = std::move(next);
  return Ok();
}

Result<bool> ControlPlane::Maintain() {
  std::lock_guard<std::mutex> lock(maintain_mu_);
  const UnixTime now = options_.clock->Now();
  // One replica at a time rotates keys, fetches federation and sweeps; a
  // rotation step is decided inside its own transaction besides, so even
  // two overlapping holders never apply one twice.
  AZTP_ASSIGN_OR_RETURN(
      LeaseRecord lease,
      services::HoldLease(services_->context, services::kMaintenanceLease,
                          options_.replica, options_.lease_seconds));
  const bool leader = lease.holder == options_.replica;
  leader_.store(leader);
  bool keys_changed = false;
  if (leader) {
    AZTP_ASSIGN_OR_RETURN(keys_changed,
                          services_->signing_keys.RotateDue(kMaintainActor));
    // Spent claims and tickets go (housekeeping: not on the audit record).
    AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
      AZTP_RETURN_IF_ERROR(tx.SweepExpired(now));
      return Ok();
    }));
  }
  // Keys another replica rotated count as changed here too.
  AZTP_ASSIGN_OR_RETURN(bool outside, KeysChangedInStore());
  auto current = state();
  const bool renew_server = !current || now >= current->server_renew_at;
  if (keys_changed || outside || renew_server) {
    AZTP_RETURN_IF_ERROR(Reload(renew_server));
  }
  // Publishes the federated bundles when they changed: fetched by the
  // leader, read from the store by the others.
  if (leader) {
    AZTP_RETURN_IF_ERROR(services_->federation.Poll(kMaintainActor));
  } else {
    AZTP_RETURN_IF_ERROR(ReloadFederation());
  }
  // Report every change of the published bundle once, including those made
  // through POST /v1/ca:rotate since the last call.
  const int64_t sequence = state()->bundle->sequence().value_or(0);
  const bool changed = sequence != reported_sequence_;
  reported_sequence_ = sequence;
  return changed;
}

Result<bool> ControlPlane::KeysChangedInStore() {
  std::optional<int64_t> stored;
  AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(stored, tx.GetMeta(services::kBundleSequenceMeta));
    return Ok();
  }));
  auto current = state();
  return !current || current->bundle->sequence() != stored;
}

Status ControlPlane::ReloadFederation() {
  AZTP_RETURN_IF_ERROR(services_->federation.Load());
  PublishBundles(*state());
  return Ok();
}

Result<bool> ControlPlane::Refresh() {
  std::lock_guard<std::mutex> lock(maintain_mu_);
  AZTP_ASSIGN_OR_RETURN(bool changed, KeysChangedInStore());
  if (changed) AZTP_RETURN_IF_ERROR(Reload(/*renew_server=*/false));
  AZTP_RETURN_IF_ERROR(ReloadFederation());
  return changed;
}

void ControlPlane::PublishBundles(const State& state) {
  BundleSet set = poller_->Bundles();
  set.Put(*state.bundle);
  bundles_->Replace(std::move(set));
}

Bundle ControlPlane::bundle() const { return *state()->bundle; }

metrics::Registry& ControlPlane::metrics() { return instruments_->metrics; }

std::shared_ptr<const TlsCredentials> ControlPlane::server_credentials() const {
  return state()->server_credentials;
}

std::shared_ptr<SSL_CTX> ControlPlane::server_tls_context() const {
  return state()->server_context;
}

std::shared_ptr<const BundleSource> ControlPlane::bundles() const {
  return bundles_;
}

Result<ControlPlane::Principal> ControlPlane::Authenticate(
    const http::Request& req) const {
  const auto& auth = services_->authenticator;
  auto header = req.headers.find("authorization");
  if (header == req.headers.end() || header->second.empty()) {
    if (req.peer) return auth.Workload(*req.peer);
    return Error(Code::kUnauthenticated,
                 "send an API key (Authorization: Bearer) or a client SVID");
  }
  constexpr std::string_view kBearer = "Bearer ";
  const std::string_view value = header->second;
  if (!value.starts_with(kBearer)) {
    return Error(Code::kUnauthenticated, "Authorization must be Bearer");
  }
  return auth.Key(SecretBytes(value.substr(kBearer.size())));
}

http::Response ControlPlane::Handle(const http::Request& req) {
  const auto started = std::chrono::steady_clock::now();
  http::Response resp;
  Reply reply;
  auto body = Route(req, reply);
  if (!body) {
    resp.status = HttpStatusFor(body.error());
    resp.body = DumpJson(internal::ErrorJson(body.error()));
    if (body.error().code() == Code::kRateLimited) {
      resp.headers.emplace_back("Retry-After",
                                std::to_string(reply.retry_after_seconds));
    }
  } else if (!reply.content_type.empty()) {
    resp.status = reply.status;
    resp.content_type = reply.content_type;
    resp.body = body->get<std::string>();
  } else {
    resp.status = reply.status;
    resp.body = DumpJson(*body);
  }
  if (reply.no_store) resp.headers.emplace_back("Cache-Control", "no-store");
  if (body && !reply.location.empty()) {
    resp.headers.emplace_back("Location", reply.location);
  }
  CountRequest(reply.route.empty() ? "unmatched" : reply.route, resp.status,
               started);
  return resp;
}

void ControlPlane::CountRequest(const std::string& route, int status,
                                std::chrono::steady_clock::time_point started) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  auto& m = instruments_->metrics;
  m.Add("aztpd_requests_total",
        {{"route", route}, {"status", std::to_string(status)}});
  m.Observe("aztpd_request_duration_seconds", {{"route", route}}, seconds);
}

Status ControlPlane::Admit(const http::Request& request, const Principal* who,
                           Reply& reply) {
  // Failed attempts count against the client's address, so that guessing
  // keys is slowed down too.
  const std::string key =
      who != nullptr ? who->actor() : "addr:" + RemoteHost(request.remote);
  auto decision = instruments_->limiter.Take(key);
  if (decision.allowed) return Ok();
  instruments_->metrics.Add("aztpd_rate_limited_total", {});
  reply.retry_after_seconds = decision.retry_after_seconds;
  return Error(Code::kRateLimited,
               "too many requests; retry after " +
                   std::to_string(decision.retry_after_seconds) + " s");
}

Result<Json> ControlPlane::Route(const http::Request& req, Reply& reply) {
  auto match = routes_->Find(req);
  if (match) reply.route = internal::RouteLabel(match->route->pattern);
  internal::RouteCall call{req, nullptr, match ? std::move(match->param) : "",
                           options_.clock->Now(), reply};
  // Public routes, limited per client address.
  if (match && match->route->permission == services::Permission::kPublic) {
    AZTP_RETURN_IF_ERROR(Admit(req, nullptr, reply));
    return match->route->handler(call);
  }
  // Everything else needs credentials, even to learn that a route under
  // /v1 does not exist.
  if (!req.path.starts_with("/v1/")) {
    return Error(Code::kNotFound, "no such route");
  }
  auto who = Authenticate(req);
  AZTP_RETURN_IF_ERROR(Admit(req, who ? &*who : nullptr, reply));
  if (!who) return who.error();
  if (!match) return Error(Code::kNotFound, "no such route");
  const internal::Route& route = *match->route;
  AZTP_RETURN_IF_ERROR(services::Require(*who, route.permission, route.denial));
  call.caller = &*who;
  return route.handler(call);
}

Result<Json> ControlPlane::RevocationsJson() {
  AZTP_ASSIGN_OR_RETURN(RevocationList list, services_->revocations.List());
  return list.ToJson();
}

}  // namespace aztp

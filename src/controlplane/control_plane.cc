// The control plane's core: opening and initialising the store, the
// signing keys and their rotation, the server's own SVID, authentication,
// rate limits, metrics and the route table. The handlers of each API group
// live in api_*.cc.
#include "aztp/controlplane/control_plane.h"

#include <algorithm>
#include <chrono>

#include "api.h"
#include "audit.h"
#include "aztp/x509/builder.h"
#include "internal/ossl.h"
#include "signing_keys.h"

namespace aztp {

using internal::Appended;
using internal::MakeAudit;

namespace {

using internal::kRevocationSequence;
constexpr std::string_view kMaintainActor = "aztpd rotation";

// Latency buckets in seconds: issuance is a few milliseconds, store writes
// with fsync up to tens of milliseconds.
const std::vector<double> kLatencyBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

std::string RemoteHost(const std::string& remote) {
  auto colon = remote.rfind(':');
  return colon == std::string::npos ? remote : remote.substr(0, colon);
}

}  // namespace

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
      internal::NewSigningKey(td, internal::KeyKind::kX509,
                              internal::KeyState::kActive, ca, now));
  AZTP_ASSIGN_OR_RETURN(
      CaKeyRecord jwt,
      internal::NewSigningKey(td, internal::KeyKind::kJwt,
                              internal::KeyState::kActive, ca, now));
  AZTP_ASSIGN_OR_RETURN(
      internal::NewApiKey admin,
      internal::MakeApiKey("admin", "initial admin key", now));
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
                    Json{{"kind", ToString(r->kind)}, {"key_id", r->key_id}})));
    }
    AZTP_RETURN_IF_ERROR(tx.InsertApiKey(admin.record));
    AZTP_RETURN_IF_ERROR(tx.PutMeta(kRevocationSequence, 0));
    AZTP_RETURN_IF_ERROR(tx.PutMeta(internal::kBundleSequenceMeta, 1));
    return Appended(tx.AppendAudit(MakeAudit(now, actor, "apikey.create",
                                             admin.record.key_id,
                                             Json{{"scope", "admin"}})));
  }));
  AZTP_ASSIGN_OR_RETURN(auto keys, internal::SigningKeys::Load({x509, jwt}));
  AZTP_ASSIGN_OR_RETURN(Bundle bundle, keys->MakeBundle(1));
  return InitResult{std::move(admin.secret_text), std::move(bundle)};
}

Result<std::unique_ptr<ControlPlane>> ControlPlane::Open(
    std::shared_ptr<Store> store, ControlPlaneOptions options) {
  if (options.clock == nullptr) options.clock = &SystemClock::Default();
  std::vector<CaKeyRecord> records;
  AZTP_RETURN_IF_ERROR(store->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(records, tx.ListCaKeys());
    return Ok();
  }));
  AZTP_ASSIGN_OR_RETURN(auto keys,
                        internal::SigningKeys::Load(std::move(records)));
  std::unique_ptr<ControlPlane> cp(new ControlPlane(
      std::move(store), std::move(options), keys->trust_domain()));
  for (const auto& rel : cp->options_.federation) {
    cp->config_domains_.insert(rel.trust_domain);
  }
  AZTP_RETURN_IF_ERROR(cp->ApplyFederation(/*seed=*/true));
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
      bundles_(std::make_shared<SharedBundleSource>()),
      instruments_(std::make_unique<Instruments>(options_.rate_limit)) {
  poller_ = internal::MakePoller(options_);
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

Status ControlPlane::Reload(bool renew_server) {
  const UnixTime now = options_.clock->Now();
  std::vector<CaKeyRecord> records;
  int64_t sequence = 0;
  AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(records, tx.ListCaKeys());
    AZTP_ASSIGN_OR_RETURN(auto seq, tx.GetMeta(internal::kBundleSequenceMeta));
    sequence = seq.value_or(1);
    return Ok();
  }));
  AZTP_ASSIGN_OR_RETURN(auto keys,
                        internal::SigningKeys::Load(std::move(records)));
  AZTP_ASSIGN_OR_RETURN(Bundle bundle, keys->MakeBundle(sequence));
  auto next = std::make_shared<State>();
  next->keys = keys;
  next->bundle = std::make_shared<const Bundle>(std::move(bundle));
  auto previous = state();
  const bool ca_changed =
      !previous || previous->keys->ca().signing_certificate().der() !=
                       keys->ca().signing_certificate().der();
  if (renew_server || ca_changed) {
    // The server's own SVID, with DNS/IP SANs for web-PKI clients.
    const CertificateAuthority& ca = keys->ca();
    AZTP_ASSIGN_OR_RETURN(PrivateKey server_key,
                          PrivateKey::Generate(KeyType::kEcP256));
    AZTP_ASSIGN_OR_RETURN(SpiffeId server_id,
                          SpiffeId::FromSegments(trust_domain_, "/aztpd"));
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
    next->server_credentials = std::make_shared<const TlsCredentials>(
        TlsCredentials{std::move(chain), std::move(server_key)});
    AZTP_ASSIGN_OR_RETURN(next->server_context,
                          MakeServerContext(*next->server_credentials,
                                            /*request_client_cert=*/true));
    next->server_renew_at = now + (t.not_after - now) / 2;
  } else {
    next->server_credentials = previous->server_credentials;
    next->server_context = previous->server_context;
    next->server_renew_at = previous->server_renew_at;
  }
  PublishBundles(*next);
  auto& m = instruments_->metrics;
  m.Set("aztpd_ca_expiry_timestamp_seconds", {{"kind", "x509"}},
        static_cast<double>(keys->ca().signing_certificate().not_after()));
  for (const auto& r : keys->records()) {
    if (r.kind == internal::KeyKind::kJwt &&
        r.state == internal::KeyState::kActive) {
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
  bool keys_changed = false;
  // Each step is its own transaction; a few suffice even after a long
  // downtime (prepare, activate, remove per kind).
  for (int round = 0; round < 8; ++round) {
    bool applied = false;
    AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
      AZTP_ASSIGN_OR_RETURN(std::vector<CaKeyRecord> keys, tx.ListCaKeys());
      for (internal::KeyKind kind :
           {internal::KeyKind::kX509, internal::KeyKind::kJwt}) {
        const int64_t max_ttl = kind == internal::KeyKind::kX509
                                    ? options_.max_svid_ttl_seconds
                                    : options_.max_jwt_ttl_seconds;
        auto step = internal::DueRotationStep(keys, kind, now,
                                              options_.rotation, max_ttl);
        if (!step) continue;
        applied = true;  // one step per transaction
        AZTP_RETURN_IF_ERROR(
            internal::ApplyRotationStep(tx, *step, trust_domain_, options_.ca,
                                        now, std::string(kMaintainActor)));
        return Ok();
      }
      return Ok();
    }));
    if (!applied) break;
    keys_changed = true;
  }
  auto current = state();
  const bool renew_server = !current || now >= current->server_renew_at;
  if (keys_changed || renew_server) {
    AZTP_RETURN_IF_ERROR(Reload(renew_server));
  }
  AZTP_ASSIGN_OR_RETURN(bool federated_changed, PollFederation(now));
  if (federated_changed) PublishBundles(*state());
  // Report every change of the published bundle once, including those made
  // through POST /v1/ca:rotate since the last call.
  const int64_t sequence = state()->bundle->sequence().value_or(0);
  const bool changed = sequence != reported_sequence_;
  reported_sequence_ = sequence;
  return changed;
}

void ControlPlane::PublishBundles(const State& state) {
  BundleSet set = poller_->Bundles();
  set.Put(*state.bundle);
  bundles_->Replace(std::move(set));
}

Result<bool> ControlPlane::PollFederation(UnixTime now) {
  bool changed = false;
  for (const PollEvent& ev : poller_->RunDue(now)) {
    AZTP_RETURN_IF_ERROR(RecordPollEvent(ev, now, std::string(kMaintainActor)));
    changed = changed || ev.kind == PollEvent::Kind::kUpdated;
  }
  return changed;
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
  using internal::kApiKeyPrefix;
  std::string auth = req.Header("authorization");
  if (auth.empty()) {
    if (req.peer) {
      // Federated trust domains are trusted for chains and for mTLS between
      // workloads, never by the control plane (docs/aztpd.md,
      // "Authentication"): their SVIDs verify at the handshake, since the
      // listener trusts the federated bundles, but authenticate nothing.
      if (!req.peer->MemberOf(trust_domain_)) {
        return Error(Code::kUnauthenticated,
                     "SVIDs of trust domain " +
                         req.peer->trust_domain().name() +
                         " do not authenticate to this control plane; it "
                         "accepts SVIDs of " +
                         trust_domain_.name() + " only");
      }
      // An SVID outlives its identity's revocation (until it expires):
      // a revoked identity's SVIDs authenticate nothing here either. (Only
      // registered identities are issued SVIDs of this domain.)
      std::optional<IdentityRecord> identity;
      AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
        AZTP_ASSIGN_OR_RETURN(identity, tx.GetIdentity(req.peer->str()));
        return Ok();
      }));
      if (identity && identity->status != IdentityRecord::Status::kActive) {
        return Error(Code::kRevoked, req.peer->str() +
                                         " is revoked: its SVIDs authenticate "
                                         "nothing until it is reissued");
      }
      Principal p;
      p.actor = req.peer->str();
      p.svid = req.peer;
      return p;
    }
    return Error(Code::kUnauthenticated,
                 "send an API key (Authorization: Bearer) or a client SVID");
  }
  if (auth.substr(0, 7) != "Bearer ") {
    return Error(Code::kUnauthenticated, "Authorization must be Bearer");
  }
  std::string_view token = std::string_view(auth).substr(7);
  auto dot = token.find('.');
  if (token.substr(0, kApiKeyPrefix.size()) != kApiKeyPrefix ||
      dot == std::string_view::npos) {
    return Error(Code::kUnauthenticated, "malformed API key");
  }
  std::string key_id(
      token.substr(kApiKeyPrefix.size(), dot - kApiKeyPrefix.size()));
  std::string_view secret = token.substr(dot + 1);
  std::optional<ApiKeyRecord> record;
  AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(record, tx.GetApiKey(key_id));
    return Ok();
  }));
  if (!record || record->revoked ||
      !internal::ConstantTimeEquals(
          AsBytes(internal::HashApiKeySecret(record->salt, secret)),
          AsBytes(record->hash))) {
    return Error(Code::kUnauthenticated, "unknown or revoked API key");
  }
  Principal p;
  p.actor = "apikey:" + record->key_id;
  p.admin = record->is_admin();
  if (!p.admin) {
    // Keys stored before scopes were normalised ("/tools/") read the same
    // as new ones; a scope that no longer parses manages nothing.
    auto scope = internal::ParseScope(trust_domain_, record->scope);
    if (scope) p.scope = std::move(*scope);
  }
  return p;
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
  if (reply.route.empty()) reply.route = "unmatched";
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  auto& m = instruments_->metrics;
  m.Add("aztpd_requests_total",
        {{"route", reply.route}, {"status", std::to_string(resp.status)}});
  m.Observe("aztpd_request_duration_seconds", {{"route", reply.route}},
            seconds);
  return resp;
}

Result<Json> ControlPlane::Route(const http::Request& req, Reply& reply) {
  const UnixTime now = options_.clock->Now();
  const std::string& path = req.path;
  const std::string& m = req.method;
  auto& limiter = instruments_->limiter;
  auto take = [&](const std::string& key) -> Status {
    auto decision = limiter.Take(key);
    if (decision.allowed) return Ok();
    instruments_->metrics.Add("aztpd_rate_limited_total", {});
    reply.retry_after_seconds = decision.retry_after_seconds;
    return Error(Code::kRateLimited,
                 "too many requests; retry after " +
                     std::to_string(decision.retry_after_seconds) + " s");
  };
  const std::string anonymous = "addr:" + RemoteHost(req.remote);

  // Public routes, limited per client address.
  auto route_public = [&](const char* name) {
    reply.route = name;
    return take(anonymous);
  };
  if (m == "GET") {
    if (path == "/healthz") {
      AZTP_RETURN_IF_ERROR(route_public("/healthz"));
      return Json{{"status", "ok"}};
    }
    if (path == "/readyz") {
      AZTP_RETURN_IF_ERROR(route_public("/readyz"));
      AZTP_RETURN_IF_ERROR(store_->Read([](Transaction& tx) -> Status {
        AZTP_RETURN_IF_ERROR(tx.GetMeta(kRevocationSequence));
        return Ok();
      }));
      return Json{{"status", "ready"}};
    }
    if (path == "/metrics") {
      AZTP_RETURN_IF_ERROR(route_public("/metrics"));
      AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
        for (IdentityRecord::Status s : {IdentityRecord::Status::kActive,
                                         IdentityRecord::Status::kRevoked}) {
          AZTP_ASSIGN_OR_RETURN(int64_t n, tx.CountIdentities(s));
          instruments_->metrics.Set("aztpd_identities",
                                    {{"status", std::string(ToString(s))}},
                                    static_cast<double>(n));
        }
        return Ok();
      }));
      reply.content_type = "text/plain; version=0.0.4";
      return Json(instruments_->metrics.Render());
    }
    if (path == "/v1/bundle") {
      AZTP_RETURN_IF_ERROR(route_public("/v1/bundle"));
      return state()->bundle->ToJson();
    }
    if (path == "/v1/bundles" && req.query.count("for") == 0) {
      AZTP_RETURN_IF_ERROR(route_public("/v1/bundles"));
      return BundlesFor(req, std::nullopt, reply);
    }
    if (path == "/v1/revocations") {
      AZTP_RETURN_IF_ERROR(route_public("/v1/revocations"));
      return Revocations(now);
    }
    if (path == "/v1/revocation-lists") {
      AZTP_RETURN_IF_ERROR(route_public("/v1/revocation-lists"));
      return RevocationLists(now);
    }
  }

  // Everything else needs credentials.
  if (path.rfind("/v1/", 0) != 0) {
    return Error(Code::kNotFound, "no such route");
  }
  auto who = Authenticate(req);
  if (!who) {
    // Failed attempts count against the client's address, so that guessing
    // keys is slowed down too.
    AZTP_RETURN_IF_ERROR(take(anonymous));
    return who.error();
  }
  AZTP_RETURN_IF_ERROR(take(who->actor));

  if (path == "/v1/apikeys" || path.rfind("/v1/apikeys/", 0) == 0) {
    return ApiKeys(req, *who, now, reply);
  }
  if (path == "/v1/identities" || path.rfind("/v1/identities/", 0) == 0) {
    return Identities(req, *who, now, reply);
  }
  if (path == "/v1/discover" && m == "GET") return Discover(req, reply);
  if (path == "/v1/bundles" && m == "GET") return BundlesFor(req, *who, reply);
  if (path == "/v1/policies" || path.rfind("/v1/policies/", 0) == 0) {
    return PoliciesApi(req, *who, now, reply);
  }
  if (path == "/v1/authorize" && m == "POST") {
    return Authorize(req, *who, now, reply);
  }
  if (path == "/v1/flows" || path.rfind("/v1/flows/", 0) == 0) {
    return FlowsApi(req, *who, now, reply);
  }
  if (path == "/v1/audit" || path.rfind("/v1/audit", 0) == 0) {
    return AuditApi(req, *who, now, reply);
  }
  if (path == "/v1/federations" || path.rfind("/v1/federations/", 0) == 0) {
    return FederationApi(req, *who, now, reply);
  }
  if (path == "/v1/svid/x509" && m == "POST") {
    return X509Svid(req, *who, now, reply);
  }
  if (path == "/v1/svid/jwt" && m == "POST") {
    return JwtSvid(req, *who, now, reply);
  }
  if (path == "/v1/ca" || path.rfind("/v1/ca:", 0) == 0) {
    return SigningKeysApi(req, *who, now, reply);
  }
  return Error(Code::kNotFound, "no such route");
}

Result<Json> ControlPlane::RevocationsJson() {
  return Revocations(options_.clock->Now());
}

Result<Json> ControlPlane::Revocations(UnixTime now) {
  Json out = Json::object();
  AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto seq, tx.GetMeta(kRevocationSequence));
    IdentityFilter f;
    f.status = IdentityRecord::Status::kRevoked;
    f.limit = 1000;
    Json ids = Json::array();
    Json serials = Json::array();
    for (;;) {
      AZTP_ASSIGN_OR_RETURN(auto page, tx.ListIdentities(f));
      for (const auto& r : page) {
        ids.push_back(r.id);
        AZTP_ASSIGN_OR_RETURN(auto svids, tx.ListSvids(r.id));
        for (const auto& s : svids) {
          if (s.expires_at > now) serials.push_back(s.serial);
        }
      }
      if (page.size() < static_cast<std::size_t>(f.limit)) break;
      f.after = page.back().id;
    }
    out["sequence"] = seq.value_or(0);
    out["ids"] = std::move(ids);
    out["jtis"] = Json::array();
    out["serials"] = std::move(serials);
    return Ok();
  }));
  return out;
}

}  // namespace aztp

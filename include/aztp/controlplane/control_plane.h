// ControlPlane: the logic behind aztpd (docs/aztpd.md), independent of the
// process around it: the trust domain's CA, identity registration and
// revocation, API keys, X.509-SVID issuance from CSRs, the bundle and the
// revocation list, all as an HTTP handler over a Store. Every mutation is
// one store transaction together with its audit record.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/base/secret.h"
#include "aztp/bundle/bundle.h"
#include "aztp/ca/authority.h"
#include "aztp/federation/bundle_poller.h"
#include "aztp/http/http.h"
#include "aztp/metrics/metrics.h"
#include "aztp/revocation/revocation_list.h"
#include "aztp/services/logins.h"
#include "aztp/services/people.h"
#include "aztp/services/principal.h"
#include "aztp/services/signing_keys.h"
#include "aztp/store/store.h"
#include "aztp/tls/tls.h"

namespace aztp {

namespace internal {
struct Reply;
struct RouteCall;
class RouteTable;
}  // namespace internal

// RotationOptions schedule CA and JWT key rotation (signing_keys.h).
using services::RotationOptions;

// RateLimitOptions bound each caller (API key, SVID, or anonymous client
// address) to a token bucket; 0 requests per second disables the limit.
struct RateLimitOptions {
  double requests_per_second = 50;
  double burst = 100;
};

// ControlPlaneOptions are the settings the control plane runs with.
struct ControlPlaneOptions {
  int64_t default_svid_ttl_seconds = 3600;
  int64_t max_svid_ttl_seconds = 86400;
  int64_t default_jwt_ttl_seconds = 300;
  int64_t max_jwt_ttl_seconds = 3600;
  int64_t server_svid_ttl_seconds = 86400;
  // ca shapes the keys that rotation creates (key type, lifetime).
  CaOptions ca;
  RotationOptions rotation;
  RateLimitOptions rate_limit;
  // federation lists the foreign trust domains whose bundles are fetched
  // (by Maintain, at each bundle's refresh hint) and trusted for mTLS
  // clients and served at GET /v1/bundles. fetcher replaces FetchBundle in
  // tests.
  std::vector<FederationRelationship> federation;
  BundleFetcher fetcher;
  // revocations_fetcher replaces FetchRevocations in tests: relationships
  // with a revocations_url have the partner's revocation list fetched right
  // after each bundle fetch, kept and served at GET /v1/revocation-lists.
  RevocationFetcher revocations_fetcher;
  int federation_fetch_timeout_seconds = 10;  // of each FetchBundle
  // federation_max_refresh_seconds caps the time between two fetches of a
  // federated bundle (and revocation list), whatever the partner's refresh
  // hint: how long a partner's revocation may take to arrive here.
  int64_t federation_max_refresh_seconds = 3600;
  // on_federation_event, when set, hears every fetch result but "unchanged"
  // (after its audit record is stored), e.g. to log it. Runs on the thread
  // calling Maintain.
  std::function<void(const PollEvent&)> on_federation_event;
  // people are the OpenID providers the trust domain accepts people from,
  // for chains that start at a person (services/people.h, docs/oidc.md).
  std::vector<services::PersonProvider> people;
  // login: aztpd's own browser logins of people (services/logins.h).
  services::LoginSettings login;
  // server_dns_names / server_ips go into the server certificate besides its
  // SPIFFE ID, so that web-PKI clients (curl) can verify it too.
  std::vector<std::string> server_dns_names = {"localhost"};
  std::vector<std::string> server_ips = {"127.0.0.1"};
  const Clock* clock = nullptr;  // default: system clock
  // replica names this control plane among those sharing its store (the
  // holder of leases, in the audit log); empty: made up at Open from the
  // host name, the process ID and random bytes.
  std::string replica;
  // lease_seconds: how long the maintenance lease lasts unrenewed, and so
  // how soon another replica takes over when its holder dies (docs/
  // scaling.md); aztpd sets three maintenance intervals.
  int64_t lease_seconds = 30;
};

// InitResult is what Initialize hands back exactly once.
struct InitResult {
  SecretBytes admin_api_key;  // shown once; only its salted hash is stored
  Bundle bundle;
};

// ControlPlane serves the /v1 API. Thread-safe.
class ControlPlane {
 public:
  // Initialize creates the trust domain's first CA key, its first JWT-SVID
  // key and the first admin API key in an empty store (kAlreadyExists if it
  // was initialised before).
  static Result<InitResult> Initialize(Store& store, const TrustDomain& td,
                                       const CaOptions& ca, UnixTime now);

  // Open loads the signing keys from `store` and issues the server's own
  // SVID (spiffe://<td>/aztpd).
  static Result<std::unique_ptr<ControlPlane>> Open(
      std::shared_ptr<Store> store, ControlPlaneOptions options);
  ~ControlPlane();

  const TrustDomain& trust_domain() const { return trust_domain_; }
  // bundle is the trust domain's current SPIFFE bundle.
  Bundle bundle() const;
  // server_credentials are the control plane's own TLS credentials.
  std::shared_ptr<const TlsCredentials> server_credentials() const;
  // server_tls_context is a server context presenting the current
  // credentials and asking for client SVIDs; give it to
  // http::ServerOptions::tls_context so that renewals take effect.
  std::shared_ptr<SSL_CTX> server_tls_context() const;
  // bundles is the bundle source used to verify mTLS clients: the own
  // bundle and the fetched federated ones.
  std::shared_ptr<const BundleSource> bundles() const;
  // RevocationsJson is the trust domain's own revocation list document, as
  // GET /v1/revocations and the bundle endpoint's GET /revocations serve
  // it (docs/federation.md, "Revocations across federation").
  Result<Json> RevocationsJson();

  // Handle answers one API request.
  http::Response Handle(const http::Request& request);

  // metrics is the registry GET /metrics renders; the daemon adds the
  // series of what lies outside the control plane (its listeners) to it.
  metrics::Registry& metrics();

  // Maintain runs the periodic work: CA and JWT key rotation steps that are
  // due, and renewal of the server's own SVID at half its lifetime. Returns
  // true when the bundle changed (the daemon then rewrites bundle.json and
  // bundle.pem; the first call reports true). aztpd calls it every few
  // seconds; tests call it after moving a FixedClock.
  Result<bool> Maintain();
  // Refresh brings what this replica keeps in memory up to date with the
  // store, where other replicas may have changed it: the signing keys (so
  // the bundle, and the server's SVID when the CA changed) and the
  // federation relationships with their fetched bundles and revocation
  // lists. Cheap when nothing changed; true when the bundle changed.
  Result<bool> Refresh();
  // leader says whether this replica held the maintenance lease at the
  // last Maintain (then it alone rotates keys and fetches federation).
  bool leader() const { return leader_.load(); }
  const std::string& replica() const { return options_.replica; }

  // routes is the table Handle dispatches on (route_table.h): every route
  // with the permission it declares.
  const internal::RouteTable& routes() const { return *routes_; }

  using Principal = services::Principal;
  using Reply = internal::Reply;

  // Services are the typed services behind the routes (src/controlplane/
  // api.h), for the layers that call them without HTTP: the hosted SDK's
  // API (compat/hosted_sdk.h).
  struct Services;
  Services& services() { return *services_; }

  // Admit takes one request of `who` (of the client's address when null:
  // not authenticated) from the rate limits: kRateLimited when over, with
  // the seconds to wait in `reply`. The hosted SDK's routes share the
  // limits of the native API through it.
  Status Admit(const http::Request& request, const Principal* who,
               Reply& reply);
  // CountRequest adds one answered request to the request metrics under
  // `route` (a RouteLabel, or "unmatched"), timed from `started`.
  void CountRequest(const std::string& route, int status,
                    std::chrono::steady_clock::time_point started);

 private:
  struct State;
  struct Instruments;
  // Host is what the services need of the control plane (the keys in
  // force, the maintenance lock, bundle publication): the KeyRing and
  // FederationHost it implements (control_plane.cc).
  class Host;
  ControlPlane(std::shared_ptr<Store> store, ControlPlaneOptions options,
               TrustDomain td);

  // Reload rebuilds the keys and the bundle from the store and renews the
  // server SVID when the CA changed or `renew_server` is set.
  Status Reload(bool renew_server);
  std::shared_ptr<const State> state() const;
  Result<Principal> Authenticate(const http::Request& request) const;
  Result<Json> Route(const http::Request& request, Reply& reply);
  // BuildRoutes fills routes_ (control_plane_routes.cc).
  void BuildRoutes();
  // OwnRevocations answers GET /v1/revocations: the whole list, or with
  // ?since= a delta when one can be given.
  Result<Json> OwnRevocations(const http::Request& req);
  // KeysChangedInStore: the store's bundle sequence is not the one in
  // force here (another replica rotated or added keys).
  Result<bool> KeysChangedInStore();
  // ReloadFederation reads the relationships and what was fetched for them
  // from the store and publishes them (a replica that is not the leader).
  Status ReloadFederation();
  // PublishBundles puts the own and the federated bundles into bundles_.
  void PublishBundles(const State& state);
  // IssueServerCredentials gives `next` a fresh SVID of the server's own,
  // signed by `ca` (Reload).
  Status IssueServerCredentials(State& next, const CertificateAuthority& ca,
                                UnixTime now) const;

  std::shared_ptr<Store> store_;
  ControlPlaneOptions options_;
  TrustDomain trust_domain_;
  std::unique_ptr<Services> services_;
  std::unique_ptr<internal::RouteTable> routes_;
  std::shared_ptr<SharedBundleSource> bundles_;
  std::unique_ptr<Instruments> instruments_;
  std::unique_ptr<BundlePoller> poller_;
  std::unique_ptr<Host> host_;
  std::mutex maintain_mu_;  // one Maintain/rotation at a time
  std::atomic<bool> leader_{false};
  int64_t reported_sequence_ = -1;  // guarded by maintain_mu_
  mutable std::mutex state_mu_;
  std::shared_ptr<const State> state_;
};

// HttpStatusFor maps an error to its HTTP status (docs/aztpd.md).
int HttpStatusFor(const Error& error);

}  // namespace aztp

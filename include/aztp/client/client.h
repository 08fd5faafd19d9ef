// Client: the typed C++ client of the control plane's HTTP API
// (docs/aztpd.md, docs/sdk.md). One method per API call; results are
// structs, errors are aztp::Error.
//
// The server is always authenticated: it must present the X.509-SVID
// `spiffe://<td>/aztpd` of its trust domain, verified against that domain's
// bundle. There is deliberately no option to turn this off.
//
// Errors. A response `{"error": "<reason>", "message": ...}` becomes an
// Error with the Code whose ReasonString is `<reason>` (404 not_found,
// 409 already_exists, 401 unauthenticated, 403 permission_denied or
// revoked, ...); an unknown reason falls back to the HTTP status. Transport
// failures are kIo (connect, send, receive, timeouts) and a server that
// cannot be authenticated is kUnauthenticated. A response that does not
// have the documented shape is kMalformed. Messages name the route and
// carry the server's message (printable ASCII only, cut at 256 bytes); they
// never contain the API key, private keys or whole tokens.
//
// Retries. A call that is idempotent is retried with exponential backoff
// and jitter after kIo, kUnavailable, HTTP 429 and HTTP 503; any call is
// retried when its connection could not be opened (nothing was sent).
// Idempotent are every GET (Healthz, Readyz, GetIdentity, ListIdentities,
// Discover, ListApiKeys, GetBundle, GetBundles, GetRevocations,
// GetRevocationLists, ListCaKeys, ListFederations, GetPolicy, ListPolicies) and
// these calls, whose repetition leaves the server in the state a single call
// leaves it in:
//   * RevokeIdentity and ReissueIdentity set the identity's status (a
//     repeated call only adds an audit record and bumps the revocation
//     list's sequence, which readers accept);
//   * RevokeApiKey sets the key's `revoked` flag;
//   * SetFederatesWith (PATCH) sets the identity's `federates_with` (a
//     repeated call only adds an audit record);
//   * Authorize evaluates policies and changes nothing (a repeated call
//     only adds an audit record of the same decision).
// Never retried, because a repetition creates something new, fails where
// the first call succeeded or acts again: RegisterIdentity and LinkIdentity
// (409 the second time), CreateApiKey (a second key), IssueX509Svid and
// IssueJwtSvid (a second credential), RotateCa (a second rotation step),
// AddFederation (409 the second time), RemoveFederation (a DELETE: 404 the
// second time), RefreshFederation (a second fetch of the partner's
// endpoint and a second audit record), CreatePolicy and UpdatePolicy (409
// the second time: the name is taken, the version is stale), DeletePolicy
// (404 the second time), AttachPolicy (409) and DetachPolicy (404).
//
// Several servers. With failover_urls, a call goes first to the URL that
// answered last and, when it cannot be reached, to the next one at once;
// backoff applies between rounds over all of them, and max_attempts counts
// rounds. An idempotent call moves on after any failure it would be retried
// for. Any other call moves on, and is retried, only when its connection
// could not be opened (connect or TLS handshake failed), because then
// nothing of it was sent; once sent, its failure is returned and it is
// never sent again, so a mutation is not duplicated. A server that is not
// the control plane (kUnauthenticated) ends the call at once: every URL
// must present the same control plane ID.
//
// Thread safety. A Client is thread-safe: each call borrows an
// http::Client (one kept-alive TLS connection, not thread-safe itself) from
// a small pool guarded by a mutex and returns it afterwards, so concurrent
// calls use separate connections and never wait for each other; at most
// `max_idle_connections` are kept between calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/audit/audit.h"
#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/base/secret.h"
#include "aztp/bundle/bundle.h"
#include "aztp/encoding/json.h"
#include "aztp/federation/bundle_poller.h"
#include "aztp/policy/policy.h"
#include "aztp/revocation/revocation_list.h"
#include "aztp/spiffeid/spiffe_id.h"
#include "aztp/tls/tls.h"
#include "aztp/x509/certificate.h"
#include "aztp/x509/csr.h"

namespace aztp {

// ---- results ----

// IdentityStatus is the state of a registered identity (docs/aztpd.md).
enum class IdentityStatus { kActive, kRevoked };

// IdentityStatusName returns "active" or "revoked".
std::string_view IdentityStatusName(IdentityStatus status);

// LinkKind is the kind of a link between two identities (docs/aztpd.md).
enum class LinkKind { kLinked, kParent };

// LinkKindName returns "linked" or "parent".
std::string_view LinkKindName(LinkKind kind);

// ParseLinkKind accepts "linked" and "parent" (kInvalidArgument otherwise).
Result<LinkKind> ParseLinkKind(std::string_view name);

// Link is a relation between two identities of the trust domain.
struct Link {
  SpiffeId from;
  SpiffeId to;
  LinkKind kind = LinkKind::kLinked;
  Json metadata = Json::object();
  UnixTime created_at = 0;  // 0 when the server did not say
};

// Identity is one registered identity as the server describes it.
struct Identity {
  SpiffeId id;
  std::optional<SpiffeId> parent;
  bool global = false;
  bool discoverable = false;
  Json metadata = Json::object();
  std::vector<std::string> selectors;
  IdentityStatus status = IdentityStatus::kActive;
  std::string revoked_reason;  // when revoked
  UnixTime created_at = 0;
  UnixTime updated_at = 0;
  std::vector<Link> links;  // filled by GetIdentity only
  // federates_with lists the federated trust domains whose peers the
  // identity accepts (its view of GET /v1/bundles): nullopt accepts every
  // domain the control plane federates with, an empty list none.
  std::optional<std::vector<std::string>> federates_with;
};

// IdentityPage is one page of ListIdentities; `next` is the page token for
// the following page (absent on the last page).
struct IdentityPage {
  std::vector<Identity> identities;
  std::optional<std::string> next;
};

// DiscoveredIdentity is what discovery reveals of an identity.
struct DiscoveredIdentity {
  SpiffeId id;
  std::optional<SpiffeId> parent;
  bool global = false;
  Json metadata = Json::object();
  std::vector<std::string> selectors;
};

// DiscoveryPage is one page of Discover.
struct DiscoveryPage {
  std::vector<DiscoveredIdentity> identities;
  std::optional<std::string> next;
};

// ApiKey describes an API key; the secret is never part of it.
struct ApiKey {
  std::string key_id;
  std::string scope;  // "admin" or a SPIFFE path such as "/tools" (normalised)
  std::string description;
  bool revoked = false;
  UnixTime created_at = 0;
};

// CreatedApiKey is a new key: its description and, once, the key itself
// (`aztp_<key_id>.<secret>`) for Authorization: Bearer.
struct CreatedApiKey {
  ApiKey info;
  SecretBytes api_key;
};

// X509SvidResponse is a freshly issued X.509-SVID. The client has checked
// that the leaf carries the requested ID and the CSR's key, and that the
// chain verifies against `bundle` at the client's time.
struct X509SvidResponse {
  std::vector<Certificate> chain;  // leaf first, without the root
  Bundle bundle;                   // the trust domain's current bundle
  UnixTime expires_at = 0;
};

// JwtSvid is a JWT-SVID. `token` is a bearer credential: never log it. The
// client checks the token's shape and that `sub` and `aud` are what was
// asked for; its signature is for the audience to verify.
struct JwtSvid {
  SecretBytes token;  // compact JWS
  SpiffeId id;        // sub
  std::vector<std::string> audience;
  std::string jti;
  std::string key_id;  // header kid
  UnixTime expires_at = 0;
};

// CaKeyKind is the kind of a signing key (docs/aztpd.md `GET /v1/ca`).
enum class CaKeyKind { kX509, kJwt };

// CaKeyKindName returns "x509" or "jwt".
std::string_view CaKeyKindName(CaKeyKind kind);

// ParseCaKeyKind accepts "x509" and "jwt" (kInvalidArgument otherwise).
Result<CaKeyKind> ParseCaKeyKind(std::string_view name);

// CaKey describes one signing key of the trust domain (never the key).
struct CaKey {
  std::string key_id;
  CaKeyKind kind = CaKeyKind::kX509;
  std::string state;  // "prepared" or "active"
  UnixTime created_at = 0;
  std::optional<UnixTime> activated_at;  // absent while prepared
  UnixTime not_after = 0;
};

// RevocationLists are revocation lists by trust domain, each applying to
// the identities of its domain only (docs/protocol.md §6 step 8).
using RevocationLists = std::map<TrustDomain, RevocationList>;

// FederationFetchResult is the outcome of one fetch of a federated bundle
// (docs/federation.md), the poller's own kind; PollResultName names it.
using FederationFetchResult = PollEvent::Kind;

// FederationFetch is what one fetch of a partner's bundle endpoint did.
struct FederationFetch {
  TrustDomain trust_domain;
  FederationFetchResult result = FederationFetchResult::kFailed;
  std::string reason;   // a stable reason when failed or rejected
  std::string message;  // the partner's or the verifier's words
  std::optional<int64_t> old_sequence;
  std::optional<int64_t> new_sequence;
  // revocations, for a relationship with a revocations_url, is the fetch of
  // the partner's revocation list that followed this one (its own
  // `revocations` is null).
  std::shared_ptr<const FederationFetch> revocations;
};

// Federation is one federation relationship as `GET /v1/federations`
// describes it.
struct Federation {
  TrustDomain trust_domain;
  std::string endpoint_url;
  EndpointProfile profile = EndpointProfile::kHttpsSpiffe;
  std::optional<SpiffeId> endpoint_id;  // https_spiffe only
  std::string source;                   // "config" or "api"
  std::optional<int64_t> bundle_sequence;
  // trusted: a fetched bundle is in force (peers of the domain are
  // accepted); false until the first successful fetch.
  bool trusted = false;
  std::optional<UnixTime> last_fetch;
  std::optional<FederationFetch> last;  // the last fetch's outcome
  int64_t failures = 0;                 // consecutive failed fetches
  UnixTime next_refresh = 0;
  // The partner's revocation list (docs/federation.md): where it is
  // fetched from (empty: it is not), the sequence of the last good one in
  // force, and the last fetch.
  std::string revocations_url;
  std::optional<int64_t> revocations_sequence;
  std::optional<UnixTime> revocations_last_fetch;
  std::optional<FederationFetch> revocations_last;
};

// StoredPolicy is one version of a policy as aztpd stores it
// (docs/policy.md, "Policies in `aztpd`").
struct StoredPolicy {
  std::string id;  // "policy:<12 hex>"
  std::string name;
  std::string description;
  int64_t version = 0;
  // document is the canonical document (Policy::ToJson), a JSON object;
  // PolicyFromJson turns it into a Policy.
  Json document = Json::object();
  UnixTime created_at = 0;  // of the policy (its first version)
  UnixTime updated_at = 0;  // of this version
  // attached_to lists the identities the policy is attached to; filled by
  // GetPolicy only.
  std::vector<SpiffeId> attached_to;
};

// AuthorizeResult is aztpd's decision on one request (POST /v1/authorize).
struct AuthorizeResult {
  // decision has the verdict, basis, reason, statement_index and sid;
  // policy_index is unset (policy_id names the policy).
  Decision decision;
  std::optional<std::string> policy_id;  // the deciding policy, if any
};

// ---- requests ----

// AuthorizeRequest is the body of Authorize.
struct AuthorizeRequest {
  SpiffeId identity;  // the receiving identity whose policies decide
  std::string action;
  std::string resource;  // empty: not sent (the server takes "*")
  // context holds `aztp:*` and `request:*` keys (ContextFromJson's rules);
  // aztp:CurrentTime defaults to the server's clock.
  Json context = Json::object();
  // policy_id: only this attached policy decides (default: all of them).
  std::optional<std::string> policy_id;
};

// FederationSpec is the body of AddFederation: exactly the parameters of
// its profile.
struct FederationSpec {
  TrustDomain trust_domain;
  std::string endpoint_url;  // https://...
  EndpointProfile profile = EndpointProfile::kHttpsSpiffe;
  // https_spiffe: the SPIFFE ID the endpoint presents and the partner's
  // bundle that authenticates it at the first fetch.
  std::optional<SpiffeId> endpoint_id;
  std::optional<Bundle> bootstrap_bundle;
  // https_web: the CA certificates (PEM) that authenticate the endpoint;
  // empty: the system's CAs.
  std::string web_ca_pem;
  // revocations_url: where the partner publishes its revocation list, on
  // the endpoint's host and port; empty: none is fetched.
  std::string revocations_url;
};

// IdentityRegistration is the body of RegisterIdentity.
struct IdentityRegistration {
  SpiffeId id;
  std::optional<SpiffeId> parent;
  bool global = false;
  bool discoverable = false;
  Json metadata = Json::object();  // must be an object
  std::vector<std::string> selectors;
  // federates_with: nullopt (not sent) accepts every federated domain; a
  // list (possibly empty) only those.
  std::optional<std::vector<std::string>> federates_with;
};

// ListIdentitiesOptions filter ListIdentities; empty values are not sent.
struct ListIdentitiesOptions {
  std::string prefix;  // an ID prefix, e.g. "spiffe://org-a.example/agents/"
  std::optional<IdentityStatus> status;
  int limit = 0;      // 1..1000; 0: the server's default
  std::string after;  // the previous page's `next`
};

// DiscoverOptions filter Discover; empty values are not sent.
struct DiscoverOptions {
  std::optional<TrustDomain> trust_domain;  // default: the server's own
  std::string prefix;
  int limit = 0;
  std::string after;
};

// ---- options ----

// RetryOptions shape the retries of idempotent calls: attempt n (from 1)
// waits min(max_backoff, initial_backoff * 2^(n-1)) scaled by a uniformly
// drawn factor in [0.5, 1] (jitter, so that clients do not retry in step),
// or longer when a 429/503 response asks for it with Retry-After (seconds,
// still at most max_backoff).
struct RetryOptions {
  int max_attempts = 4;  // 1: no retries
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
};

// ClientOptions configure a Client.
struct ClientOptions {
  std::string base_url;  // "https://host:port"
  // failover_urls are other replicas of the same control plane, tried in
  // turn after base_url (see "Several servers" at the top of this file).
  std::vector<std::string> failover_urls;
  // bundles and server_id authenticate the server: it must present an
  // X.509-SVID for `server_id` that verifies against the bundle of
  // server_id's trust domain. The source is consulted at every connection,
  // so a source that is updated (SharedBundleSource) follows CA rotation.
  // SetTrustBundle fills both from the control plane's bundle.
  std::shared_ptr<const BundleSource> bundles;
  std::optional<SpiffeId> server_id;
  // api_key, when not empty, is sent as Authorization: Bearer.
  SecretBytes api_key;
  // credentials, when set, are presented as the client's X.509-SVID (mTLS).
  std::shared_ptr<const TlsCredentials> credentials;
  int timeout_seconds = 10;  // per connect, handshake, send and receive
  RetryOptions retry;
  int max_idle_connections = 4;
  const Clock* clock = nullptr;  // default: system clock
  // sleep waits between retries (default: std::this_thread::sleep_for);
  // tests record the waits instead.
  std::function<void(std::chrono::milliseconds)> sleep;

  // SetTrustBundle trusts `bundle`, the bundle of the control plane's trust
  // domain (what `aztpd init` writes to bundle.json), and expects the
  // server to be spiffe://<that domain>/aztpd.
  void SetTrustBundle(const Bundle& bundle);
};

// AztpdId returns spiffe://<td>/aztpd, the control plane's own ID.
SpiffeId AztpdId(const TrustDomain& td);

// ParseBundleDocument reads a bundle document whose trust domain is not
// given, taking it from the URI SAN of its X.509 authorities (every
// authority must name the same domain; kInvalidArgument otherwise).
Result<Bundle> ParseBundleDocument(std::string_view json);

// Client calls the control plane's API. Thread-safe (see the top of this
// file).
// PersonRoot is a chain root for a person, from Client::ExchangeIdToken:
// signed by the trust domain's control plane for the calling agent.
struct PersonRoot {
  std::string chain;    // the Aztp-Chain value (one root token)
  std::string subject;  // oidc:<issuer>#<subject>
  std::vector<std::string> capabilities;
  int64_t expires_in = 0;  // seconds
};

// LoginStart starts a person's login at the trust domain's aztpd for an
// agent (docs/oidc.md "aztpd's own login").
struct LoginStart {
  std::string provider;    // the configured provider's name
  SpiffeId agent;          // the agent the login is for
  std::string return_url;  // registered for the agent, byte for byte
  // capabilities: when not empty, the redeemed result holds a root for the
  // person granting these (concrete, allowed by the agent's policies).
  std::vector<std::string> capabilities;
};

// StartedLogin is where to send the person's browser, and the login's
// state, which the app keeps in its user's session for the redeem.
struct StartedLogin {
  std::string redirect_url;
  std::string state;
  int64_t expires_at = 0;
};

// RedeemedLogin is a login's one-time result.
struct RedeemedLogin {
  std::string agent;
  std::string provider;
  // person: issuer, subject and the claims of the person's ID token that
  // aztp keeps (email, email_verified, name, groups, acr, amr, auth_time).
  Json person;
  // root: the person's chain root, addressed to the agent, when the login
  // asked for capabilities.
  std::optional<PersonRoot> root;
};

class Client {
 public:
  // Create checks the options; it does not connect.
  static Result<std::unique_ptr<Client>> Create(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // server_id is the SPIFFE ID the server must present.
  const SpiffeId& server_id() const;

  // Healthz and Readyz: `GET /healthz`, `GET /readyz`.
  Status Healthz();
  Status Readyz();

  // RegisterIdentity: `POST /v1/identities` (not retried).
  Result<Identity> RegisterIdentity(const IdentityRegistration& request);
  // GetIdentity: `GET /v1/identities/<td>/<path>`, with its links.
  Result<Identity> GetIdentity(const SpiffeId& id);
  // ListIdentities: `GET /v1/identities`, one page.
  Result<IdentityPage> ListIdentities(const ListIdentitiesOptions& options);
  // Discover: `GET /v1/discover`, one page of discoverable identities.
  Result<DiscoveryPage> Discover(const DiscoverOptions& options);
  // LinkIdentity: `POST /v1/identities/<td>/<path>:link` (not retried).
  Result<Link> LinkIdentity(const SpiffeId& from, const SpiffeId& to,
                            LinkKind kind,
                            const Json& metadata = Json::object());
  // RevokeIdentity: `POST /v1/identities/<td>/<path>:revoke`.
  Result<Identity> RevokeIdentity(const SpiffeId& id,
                                  std::string_view reason = {});
  // ReissueIdentity: `POST /v1/identities/<td>/<path>:reissue`.
  Result<Identity> ReissueIdentity(const SpiffeId& id);
  // SetFederatesWith: `PATCH /v1/identities/<td>/<path>` with
  // `{"federates_with": [...] | null}`; nullopt accepts every federated
  // domain again, an empty list none. Returns the updated identity.
  Result<Identity> SetFederatesWith(
      const SpiffeId& id,
      std::optional<std::vector<std::string>> federates_with);

  // CreateApiKey: `POST /v1/apikeys` (admin; not retried).
  Result<CreatedApiKey> CreateApiKey(std::string_view scope,
                                     std::string_view description = {});
  // ListApiKeys: `GET /v1/apikeys` (admin).
  Result<std::vector<ApiKey>> ListApiKeys();
  // RevokeApiKey: `POST /v1/apikeys/<key_id>:revoke` (admin).
  Status RevokeApiKey(std::string_view key_id);

  // IssueX509Svid: `POST /v1/svid/x509` for `id` over the key of `csr`;
  // `ttl_seconds` 60..86400, absent: the server's default (not retried).
  Result<X509SvidResponse> IssueX509Svid(
      const SpiffeId& id, const CertificateRequest& csr,
      std::optional<int64_t> ttl_seconds = std::nullopt);
  // IssueJwtSvid: `POST /v1/svid/jwt` for 1..8 audiences; `ttl_seconds`
  // 60..3600, absent: the server's default (not retried).
  Result<JwtSvid> IssueJwtSvid(
      const SpiffeId& id, const std::vector<std::string>& audience,
      std::optional<int64_t> ttl_seconds = std::nullopt);

  // GetBundle: `GET /v1/bundle`, the server's trust-domain bundle.
  Result<Bundle> GetBundle();
  // GetBundles: `GET /v1/bundles`, the bundle map. Without `for_id` and
  // without client credentials: every bundle the server trusts (its own
  // and the federated ones); over mTLS with an SVID of the server's
  // domain: that identity's view (its `federates_with`). With `for_id`:
  // that identity's view, which needs credentials for it (an API key that
  // manages it, or its own SVID). Each bundle is of the trust domain it is
  // keyed under (an X.509 authority naming another domain is kMalformed).
  Result<BundleSet> GetBundles(std::optional<SpiffeId> for_id = {});
  // GetRevocations: `GET /v1/revocations`. With `held`, the list the
  // caller holds of the server's domain (at a sequence above 0), it asks
  // for a delta from it (`?since=`) and returns `held` brought up to date;
  // the server may answer with the whole list instead, and a delta that
  // does not start at held's sequence is answered by asking for the whole
  // list. Either way the result is a whole list.
  Result<RevocationList> GetRevocations(const RevocationList* held = nullptr);
  // GetRevocationLists: `GET /v1/revocation-lists`, the revocation list of
  // the server's own trust domain and of every federated domain that
  // publishes one, by trust domain. The map must hold the server's own
  // domain, and each list may name IDs of its own domain only (kMalformed
  // otherwise): a list applies to its domain's identities alone.
  // `held_own` asks for the own domain's list as a delta, as in
  // GetRevocations.
  Result<RevocationLists> GetRevocationLists(
      const RevocationList* held_own = nullptr);

  // ListCaKeys: `GET /v1/ca` (admin).
  Result<std::vector<CaKey>> ListCaKeys();
  // RotateCa: `POST /v1/ca:rotate`, the next rotation step of `kind`
  // (admin; not retried). Returns the keys after the step.
  Result<std::vector<CaKey>> RotateCa(CaKeyKind kind);

  // ListFederations: `GET /v1/federations` (admin).
  Result<std::vector<Federation>> ListFederations();
  // AddFederation: `POST /v1/federations` (admin; not retried). The server
  // fetches the partner's bundle at once; the result is that first fetch
  // (a failed one leaves the relationship in place).
  Result<FederationFetch> AddFederation(const FederationSpec& spec);
  // RefreshFederation: `POST /v1/federations/<td>:refresh` (admin; not
  // retried), a fetch now.
  Result<FederationFetch> RefreshFederation(const TrustDomain& td);
  // RemoveFederation: `DELETE /v1/federations/<td>` (admin; not retried).
  // The server refuses the domain's peers from then on.
  Status RemoveFederation(const TrustDomain& td);

  // Policy IDs are `policy:` followed by letters, digits, `_` or `-`;
  // anything else is kInvalidArgument before a request is sent.
  //
  // CreatePolicy: `POST /v1/policies` (admin; not retried), version 1 of a
  // new policy. Names are unique (kAlreadyExists).
  Result<StoredPolicy> CreatePolicy(std::string_view name,
                                    const Policy& document,
                                    std::string_view description = {});
  // UpdatePolicy: `PUT /v1/policies/<id>` (admin; not retried), the next
  // version. `version` is the current version, the one replaced: a stale
  // one is kAlreadyExists, so that two editors never overwrite each other
  // unknowingly. `name` and `description` are kept when nullopt.
  Result<StoredPolicy> UpdatePolicy(
      std::string_view id, int64_t version, const Policy& document,
      std::optional<std::string> name = std::nullopt,
      std::optional<std::string> description = std::nullopt);
  // GetPolicy: `GET /v1/policies/<id>[?version=N]` (admin), the current or
  // an older version, with `attached_to`.
  Result<StoredPolicy> GetPolicy(std::string_view id,
                                 std::optional<int64_t> version = {});
  // ListPolicies: `GET /v1/policies` (admin), every policy at its current
  // version; with `identity`: `GET /v1/policies?identity=<id>`, the
  // policies attached to it (for its own SVID or a key that manages it).
  Result<std::vector<StoredPolicy>> ListPolicies(
      std::optional<SpiffeId> identity = std::nullopt);
  // DeletePolicy: `DELETE /v1/policies/<id>` (admin; not retried): the
  // policy, its versions and its attachments.
  Status DeletePolicy(std::string_view id);
  // AttachPolicy and DetachPolicy: `POST /v1/policies/<id>:attach` and
  // `:detach` (admin; not retried).
  Status AttachPolicy(std::string_view id, const SpiffeId& identity);
  Status DetachPolicy(std::string_view id, const SpiffeId& identity);
  // Authorize: `POST /v1/authorize` (the identity's own SVID or a key that
  // manages it; retried): the policies attached to `request.identity`
  // decide the request, and the server audits the decision. A denial is a
  // result, not an error.
  Result<AuthorizeResult> Authorize(const AuthorizeRequest& request);

  // ---- people (docs/oidc.md) ----

  // ExchangeIdToken: `POST /v1/oidc/token` (RFC 8693; not retried), with
  // the agent's own credentials (ClientOptions::credentials): the root of a
  // chain for the person of `id_token`, granting `capabilities` (concrete,
  // each allowed by the agent's policies). `provider` names the configured
  // provider; empty: the one of the token's issuer.
  Result<PersonRoot> ExchangeIdToken(
      const SecretBytes& id_token, const std::vector<std::string>& capabilities,
      std::string_view provider = "");
  // StartLogin: `POST /v1/oidc/login` (not retried), by the agent's own
  // credentials or a key that manages it.
  Result<StartedLogin> StartLogin(const LoginStart& login);
  // RedeemLogin: `POST /v1/oidc/login:redeem` (not retried): the one-time
  // `token` of the login whose `state` the app kept; once.
  Result<RedeemedLogin> RedeemLogin(const SecretBytes& token,
                                    std::string_view state);

  // ---- audit (docs/audit.md) ----

  // AuditPage is one page of GET /v1/audit.
  struct AuditPage {
    std::vector<AuditRecord> records;
    int64_t next = 0;  // pass as `after` to continue
    bool end = false;  // the log has no records after `next`
  };
  // ListAudit: `GET /v1/audit` (admin; retried): records after seq `after`
  // that match `filter`, at most `limit` (1..1000); with `source`, the
  // records a proxy shipped instead of aztpd's own.
  Result<AuditPage> ListAudit(int64_t after, int limit,
                              const AuditFilter& filter = {},
                              const std::string& source = "");
  // IngestAudit: `POST /v1/audit:ingest` (a proxy's own SVID; retried: a
  // repeated batch is accepted again unchanged): ships records of the
  // caller's local log and returns the head aztpd now holds for it.
  Result<AuditHead> IngestAudit(const std::vector<AuditRecord>& records);

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace aztp

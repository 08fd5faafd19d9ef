// Agent: keeps one workload's X.509-SVID, the trust bundles it accepts
// peers with and the revocation list fresh, and hands out TLS contexts
// built on them (docs/sdk.md).
//
// Life of an agent:
//   * Create bootstraps: it generates a key pair locally, sends a CSR with
//     the API key and receives the SVID; with the same key it fetches its
//     view of the bundle map (`GET /v1/bundles?for=<id>`). The private key
//     never leaves the process. The API key is wiped right after: it is
//     needed for nothing else.
//   * RunOnce does whatever work is due at the clock's time: renewal once
//     half of the SVID's lifetime has passed (a fresh key pair, a CSR sent
//     over mTLS with the current SVID, no API key), the bundle map every
//     `bundle_refresh_seconds` (over mTLS, where the server narrows the map
//     to what the SVID's identity accepts) and the revocation lists every
//     `revocation_refresh_seconds` (`GET /v1/revocation-lists`: the own
//     domain's and those federated domains publish; the own one as a delta
//     from the list held, and whole once an hour). Tests drive it with a
//     FixedClock; Start runs it on a background thread.
//   * MakeServerContext / MakeClientContext return TLS 1.3 contexts that
//     present the current SVID; VerifyPeer authenticates the peer of a
//     handshake by SPIFFE ID against the bundle and the revocation list of
//     the peer's own trust domain.
//
// Trust bundles. The agent trusts, per trust domain:
//   * its own domain: the bundle the control plane serves for it (and that
//     comes with every SVID); a bundle with a lower `spiffe_sequence` than
//     the one in force is ignored;
//   * federated domains: exactly those of the control plane's bundle map
//     for this identity, replaced at every bundle refresh. A domain that
//     disappears from the map is dropped, so that a relationship removed on
//     the control plane, or a narrowed `federates_with`, stops the domain's
//     peers here within one `bundle_refresh_seconds`;
//   * pinned domains: `AgentOptions::federated_bundles`, set locally by the
//     operator. A pinned domain stays pinned: what the control plane serves
//     for it is ignored, and it is never dropped.
// Each peer is checked against its own domain's bundle only.
//
// Revocation lists. Likewise per trust domain (docs/protocol.md §6 step 8):
// the own domain's list and each federated domain's as the control plane
// holds it; a list with a lower `sequence` than the one in force for its
// domain is ignored, and a federated domain no longer served is dropped.
// A domain's list applies to that domain's identities only.
//
// When the agent learns that its identity is revoked (a renewal refused
// with `revoked`, or its ID or serial in the revocation list) it reports
// kRevoked from RunOnce and refuses to hand out TLS contexts until a later
// refresh shows the identity active again. Once the SVID has expired the
// contexts fail with kExpired. Thread-safe.
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/base/secret.h"
#include "aztp/bundle/bundle.h"
#include "aztp/client/client.h"
#include "aztp/crypto/key.h"
#include "aztp/revocation/revocation_list.h"
#include "aztp/spiffeid/spiffe_id.h"
#include "aztp/svid/x509_svid.h"
#include "aztp/tls/tls.h"

namespace aztp {

// AgentStatus is a snapshot of an agent's state.
struct AgentStatus {
  std::string serial;       // of the current SVID's leaf
  UnixTime expires_at = 0;  // the leaf's notAfter
  UnixTime renew_at = 0;    // when renewal is due
  uint64_t generation = 0;  // 1 after the bootstrap, +1 per renewal
  int64_t revocation_sequence = 0;
  // revocations_fetched_at: when the revocation list in force was last
  // fetched from the control plane.
  UnixTime revocations_fetched_at = 0;
  bool revoked = false;
  std::optional<Error> last_error;  // of the last RunOnce, if it failed
};

// RefreshReport says what one RunOnce did.
struct RefreshReport {
  bool renewed = false;
  // bundle_changed: the own domain's bundle, or the set of federated
  // bundles (a domain added, updated or dropped), changed.
  bool bundle_changed = false;
  bool revocations_changed = false;
  UnixTime next_due = 0;  // when RunOnce next has work to do
};

// AgentOptions configure an Agent.
struct AgentOptions {
  std::string base_url;  // the control plane, "https://host:port"
  // failover_urls are other replicas of the control plane, tried after
  // base_url (ClientOptions::failover_urls).
  std::vector<std::string> failover_urls;
  // trust_bundle is the control plane's trust-domain bundle (bundle.json
  // of `aztpd init`); it authenticates the server at the bootstrap and is
  // then kept fresh from the server. Federated bundles come from the
  // server's bundle map (see the top of this file).
  std::shared_ptr<const Bundle> trust_bundle;
  std::optional<SpiffeId> id;  // the identity; must be registered
  // api_key authorises the bootstrap (a key allowed for `id`). Wiped once
  // the first SVID is there.
  SecretBytes api_key;
  KeyType key_type = KeyType::kEcP256;
  std::optional<int64_t> svid_ttl_seconds;  // absent: the server's default
  int64_t bundle_refresh_seconds = 300;
  int64_t revocation_refresh_seconds = 60;
  // retry_seconds is how long the background thread waits after a failed
  // RunOnce (doubling up to 16 times that while failures last).
  int64_t retry_seconds = 5;
  // federated_bundles are bundles of other trust domains pinned locally:
  // VerifyPeer accepts their peers whatever the control plane serves, and
  // a pinned domain's bundle is never replaced or dropped by a refresh. A
  // bundle of the agent's own domain here is ignored. Leave it empty to
  // follow the control plane's federation alone.
  BundleSet federated_bundles;
  int timeout_seconds = 10;
  RetryOptions retry;
  const Clock* clock = nullptr;  // default: system clock
  // on_change, when set, is called after a RunOnce that renewed the SVID or
  // changed the bundle or revocation list (e.g. to rebuild contexts that
  // are held elsewhere). It runs on the thread that ran RunOnce, without
  // the agent's locks held.
  std::function<void(const RefreshReport&)> on_change;
};

// Agent manages one workload identity. Thread-safe.
class Agent {
 public:
  // Create bootstraps the identity (network: one CSR and the identity's
  // bundle map with the API key, one revocation list over mTLS) and
  // returns a ready agent.
  static Result<std::unique_ptr<Agent>> Create(AgentOptions options);
  // ~Agent stops the background thread.
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  const SpiffeId& id() const;

  // RunOnce does the work that is due at the clock's current time; the
  // first failure is returned (kRevoked when the identity is revoked,
  // kExpired when the SVID expired without being renewed) after the other
  // due work has been tried. Calls are serialised.
  Result<RefreshReport> RunOnce();

  // Start runs RunOnce on a background thread whenever work is due (and
  // after failures, with backoff); kInvalidArgument if already running.
  Status Start();
  // Stop ends the background thread promptly (it does not wait for due
  // work); idempotent.
  void Stop();
  // WakeUp makes the background thread check for due work now (e.g. after
  // a test moved its clock).
  void WakeUp();

  AgentStatus status() const;
  // credentials are the current SVID chain (leaf first) and its key.
  std::shared_ptr<const TlsCredentials> credentials() const;
  // bundle is the current bundle of the agent's own trust domain.
  std::shared_ptr<const Bundle> bundle() const;
  // bundles is the live source of the own, federated and pinned bundles;
  // lookups always see the set of the last refresh.
  std::shared_ptr<const BundleSource> bundles() const;
  // revocations is the revocation list in force for the own trust domain.
  std::shared_ptr<const RevocationList> revocations() const;
  // revocations_fetched_at is when that list was last fetched (a fetch
  // that failed leaves it as it was): how stale it may be.
  UnixTime revocations_fetched_at() const;
  // revocations_for is the list in force for the identities of `td`: the
  // own list, a federated domain's, or an empty one when the control plane
  // serves none for `td`. Never null.
  std::shared_ptr<const RevocationList> revocations_for(
      const TrustDomain& td) const;

  // MakeServerContext returns a TLS 1.3 server context presenting the
  // current SVID that asks clients for theirs (verify them with
  // VerifyPeer). The same context is returned until the SVID changes.
  Result<std::shared_ptr<SSL_CTX>> MakeServerContext() const;
  // MakeClientContext returns a TLS 1.3 client context presenting the
  // current SVID (verify the server with VerifyPeer).
  Result<std::shared_ptr<SSL_CTX>> MakeClientContext() const;

  // VerifyPeer authenticates the peer of a completed handshake: its
  // X.509-SVID must verify against the bundle of its own trust domain at
  // the clock's time (kUnauthenticated without one, kUntrustedTrustDomain
  // when the agent holds no bundle of that domain, the X.509-SVID errors
  // otherwise), must be `expected` (kPeerMismatch) and must not be revoked
  // by its own domain's list (kRevoked).
  Result<VerifiedX509Svid> VerifyPeer(SSL* ssl, const SpiffeId& expected) const;
  // AuthenticatePeer is VerifyPeer for any ID of a trusted domain; the
  // caller authorises the returned ID.
  Result<VerifiedX509Svid> AuthenticatePeer(SSL* ssl) const;

  // WriteSvidDir writes the current SVID, its key and the own bundle as an
  // identity folder (svid/svid_dir.h), the layout `aztp chain` reads.
  Status WriteSvidDir(const std::string& dir) const;

 private:
  struct Impl;
  explicit Agent(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace aztp

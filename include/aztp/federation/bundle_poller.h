// SPIFFE federation: fetching other trust domains' bundles from their
// bundle endpoints (SPIFFE Trust Domain and Bundle §5) and keeping them
// fresh, and with them the revocation lists the domains publish beside
// their bundles (docs/federation.md, "Revocations across federation").
// Every relationship is configured explicitly: trust domain, endpoint URL,
// profile and, for https_spiffe, the endpoint's SPIFFE ID and a bootstrap
// bundle; optionally the revocation list's URL. Nothing is inferred from
// anything else.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/bundle/bundle.h"
#include "aztp/federation/endpoint_profile.h"
#include "aztp/revocation/revocation_list.h"
#include "aztp/spiffeid/spiffe_id.h"
#include "aztp/spiffeid/trust_domain.h"

namespace aztp {

// FederationRelationship is one trusted foreign trust domain.
struct FederationRelationship {
  TrustDomain trust_domain;
  std::string endpoint_url;  // https://host:port/path
  EndpointProfile profile = EndpointProfile::kHttpsSpiffe;
  // https_spiffe: the endpoint's SPIFFE ID (any trust domain) and the
  // bundle that authenticates the first fetch.
  std::optional<SpiffeId> endpoint_id;
  std::shared_ptr<const Bundle> bootstrap_bundle;
  // https_web: the CAs to trust for the endpoint's certificate, as a PEM
  // file or PEM text (at most one); neither: the system's CAs.
  std::string web_ca_file;
  std::string web_ca_pem;
  // revocations_url, when set, is where the domain publishes its revocation
  // list: on the host and port of endpoint_url, fetched with the same
  // profile and authentication right after each bundle fetch. Empty: no
  // list is fetched, and the domain's revoked identities are accepted
  // until their SVIDs expire.
  std::string revocations_url;

  // Validate checks that exactly the parameters of the profile are given.
  Status Validate() const;
};

// FetchBundle fetches `rel`'s bundle once over HTTPS (no redirects, at most
// 1 MiB, `timeout_seconds`). For https_spiffe the endpoint's SVID is
// verified against `trust` (the latest bundle of the endpoint's trust
// domain). The result must be a bundle of rel.trust_domain.
Result<Bundle> FetchBundle(const FederationRelationship& rel,
                           std::shared_ptr<const Bundle> trust,
                           int timeout_seconds, const Clock& clock);

// BundleFetcher is FetchBundle's shape, replaceable in tests.
using BundleFetcher = std::function<Result<Bundle>(
    const FederationRelationship&, std::shared_ptr<const Bundle> trust)>;

// FetchRevocations fetches `rel`'s revocation list once from
// rel.revocations_url, over the same code path as FetchBundle (the same
// authentication, no redirects, `timeout_seconds`), at most
// RevocationList::kMaxBytes. kInvalidArgument when the relationship has no
// revocations_url. Which IDs the list may name is the poller's rule.
Result<RevocationList> FetchRevocations(const FederationRelationship& rel,
                                        std::shared_ptr<const Bundle> trust,
                                        int timeout_seconds,
                                        const Clock& clock);

// RevocationFetcher is FetchRevocations' shape, replaceable in tests.
using RevocationFetcher = std::function<Result<RevocationList>(
    const FederationRelationship&, std::shared_ptr<const Bundle> trust)>;

// PollEvent reports what one fetch did: of a bundle, or of a revocation
// list (`revocations`).
struct PollEvent {
  TrustDomain trust_domain;
  enum class Kind { kUpdated, kUnchanged, kFailed, kRejected } kind;
  std::optional<int64_t> old_sequence;
  std::optional<int64_t> new_sequence;
  std::string reason;  // for kFailed / kRejected: a stable reason
  std::string message;
  bool revocations = false;  // the fetch of the domain's revocation list
};

// RelationshipState is what the poller knows about one relationship.
struct RelationshipState {
  FederationRelationship rel;
  std::shared_ptr<const Bundle> bundle;  // last good fetched, or null
  UnixTime next_due = 0;
  int64_t failures = 0;  // consecutive
  std::optional<PollEvent> last_event;
  UnixTime last_fetch = 0;  // 0: never fetched
  // The same for the revocation list, with a revocations_url only.
  std::shared_ptr<const RevocationList> revocations;  // last good, or null
  std::optional<PollEvent> revocations_event;
  UnixTime revocations_fetch = 0;  // 0: never fetched
};

// PollResultName returns "updated", "unchanged", "failed" or "rejected";
// ParsePollResult is its inverse (kMalformed for anything else).
std::string_view PollResultName(PollEvent::Kind kind);
Result<PollEvent::Kind> ParsePollResult(std::string_view name);

// PollerOptions bound the refresh schedule.
struct PollerOptions {
  int64_t default_refresh_seconds = 300;  // when a bundle has no hint
  int64_t min_refresh_seconds = 30;
  int64_t max_refresh_seconds = 3600;
  int64_t retry_seconds = 30;  // after a failure, doubling up to the hint
};

// BundlePoller keeps the bundles of the configured relationships: the last
// good bundle of each stays in force until a newer one (higher
// spiffe_sequence) is fetched; failures and rollbacks are reported and
// change nothing. A relationship with a revocations_url has its revocation
// list fetched right after each of its bundle fetches, under rules of the
// same kind (docs/federation.md): a list naming an ID of another trust
// domain is rejected (`foreign_id`: a domain revokes only its own
// identities), so is one with a lower sequence than the last good list
// (`sequence_rollback`; the same sequence with other entries is taken, as
// serials leave a list when they expire); on any failure the last good list
// stays in force. Thread-safe.
class BundlePoller {
 public:
  // `fetch_revocations` may be null: revocation lists are then not fetched.
  BundlePoller(BundleFetcher fetch, RevocationFetcher fetch_revocations = {},
               PollerOptions options = {});

  // Set replaces the relationships. Bundles of domains still configured
  // are kept; a new https_spiffe relationship starts from its bootstrap
  // bundle (which is not trusted for workloads until a fetch succeeds).
  Status Set(std::vector<FederationRelationship> relationships);
  std::vector<FederationRelationship> relationships() const;

  // RunDue fetches every relationship whose refresh is due at `now`, and
  // every one when `force`: per relationship the bundle's event, then its
  // revocation list's when it has a revocations_url.
  std::vector<PollEvent> RunDue(UnixTime now, bool force = false);
  // Refresh fetches `td`'s bundle (and revocation list) now: its one or two
  // events, the bundle's first (kNotFound if not configured).
  Result<std::vector<PollEvent>> Refresh(const TrustDomain& td, UnixTime now);
  // Seed installs a bundle fetched earlier (kept across a restart, or
  // fetched by another replica) for a configured domain, unless the one in
  // force is the same or newer by sequence; it is trusted like a fetched
  // one. kNotFound if `td` is not configured.
  Status Seed(std::shared_ptr<const Bundle> bundle);
  // SeedRevocations does the same for a revocation list of `td`, which
  // must have a revocations_url (kNotFound otherwise); a list naming
  // another domain's IDs is kInvalidArgument.
  Status SeedRevocations(const TrustDomain& td,
                         std::shared_ptr<const RevocationList> list);
  // States describes every relationship, ordered by trust domain.
  std::vector<RelationshipState> States() const;

  // Bundles is the set of fetched, currently trusted federated bundles.
  BundleSet Bundles() const;
  // RevocationLists are the last good revocation lists, by trust domain
  // (domains without a revocations_url or a good fetch yet are absent).
  std::map<TrustDomain, std::shared_ptr<const RevocationList>> RevocationLists()
      const;
  // NextDue is when the next refresh is due (nullopt: nothing configured).
  std::optional<UnixTime> NextDue() const;

 private:
  struct Entry {
    FederationRelationship rel;
    std::shared_ptr<const Bundle> bundle;  // last good fetched
    std::shared_ptr<const Bundle> trust;   // authenticates the next fetch
    UnixTime next_due = 0;
    int64_t failures = 0;
    std::optional<PollEvent> last_event;
    UnixTime last_fetch = 0;
    std::shared_ptr<const RevocationList> revocations;  // last good
    std::optional<PollEvent> revocations_event;
    UnixTime revocations_fetch = 0;
  };
  int64_t RefreshAfter(const Bundle& b) const;
  // Run fetches the relationships `pick` selects and applies the results.
  std::vector<PollEvent> Run(UnixTime now,
                             const std::function<bool(const Entry&)>& pick);
  // ApplyBundle and ApplyRevocations take one fetch's result into `e`.
  PollEvent ApplyBundle(Entry& e, Result<Bundle> fetched, UnixTime now) const;
  static PollEvent ApplyRevocations(Entry& e, Result<RevocationList> fetched,
                                    UnixTime now);
  // Configured returns the entry of `rel` when it is still configured as is.
  Entry* Configured(const FederationRelationship& rel);
  BundleFetcher fetch_;
  RevocationFetcher fetch_revocations_;
  PollerOptions options_;
  mutable std::mutex mu_;
  std::map<TrustDomain, Entry> entries_;
};

}  // namespace aztp

// SPIFFE federation: fetching other trust domains' bundles from their
// bundle endpoints (SPIFFE Trust Domain and Bundle §5) and keeping them
// fresh. Every relationship is configured explicitly: trust domain,
// endpoint URL, profile and, for https_spiffe, the endpoint's SPIFFE ID
// and a bootstrap bundle. Nothing is inferred from anything else.
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
#include "aztp/spiffeid/spiffe_id.h"
#include "aztp/spiffeid/trust_domain.h"

namespace aztp {

// EndpointProfile is how a bundle endpoint authenticates itself.
enum class EndpointProfile {
  kHttpsWeb,     // a web-PKI certificate for the URL's host
  kHttpsSpiffe,  // an X.509-SVID of `endpoint_id`, verified with the
                 // federated domain's own (latest) bundle
};

// ParseEndpointProfile accepts "https_web" and "https_spiffe".
Result<EndpointProfile> ParseEndpointProfile(std::string_view name);
std::string_view EndpointProfileName(EndpointProfile profile);

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

// PollEvent reports what one refresh did.
struct PollEvent {
  TrustDomain trust_domain;
  enum class Kind { kUpdated, kUnchanged, kFailed, kRejected } kind;
  std::optional<int64_t> old_sequence;
  std::optional<int64_t> new_sequence;
  std::string reason;  // for kFailed / kRejected: a stable reason
  std::string message;
};

// RelationshipState is what the poller knows about one relationship.
struct RelationshipState {
  FederationRelationship rel;
  std::shared_ptr<const Bundle> bundle;  // last good fetched, or null
  UnixTime next_due = 0;
  int64_t failures = 0;  // consecutive
  std::optional<PollEvent> last_event;
  UnixTime last_fetch = 0;  // 0: never fetched
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
// change nothing. Thread-safe.
class BundlePoller {
 public:
  BundlePoller(BundleFetcher fetch, PollerOptions options = {});

  // Set replaces the relationships. Bundles of domains still configured
  // are kept; a new https_spiffe relationship starts from its bootstrap
  // bundle (which is not trusted for workloads until a fetch succeeds).
  Status Set(std::vector<FederationRelationship> relationships);
  std::vector<FederationRelationship> relationships() const;

  // RunDue fetches every relationship whose refresh is due at `now`, and
  // every one when `force`.
  std::vector<PollEvent> RunDue(UnixTime now, bool force = false);
  // Refresh fetches `td`'s bundle now (kNotFound if not configured).
  Result<PollEvent> Refresh(const TrustDomain& td, UnixTime now);
  // Seed installs a bundle fetched earlier (e.g. kept across a restart) for
  // a configured domain that has none yet or an older one; it is trusted
  // like a fetched one. kNotFound if `td` is not configured.
  Status Seed(std::shared_ptr<const Bundle> bundle);
  // States describes every relationship, ordered by trust domain.
  std::vector<RelationshipState> States() const;

  // Bundles is the set of fetched, currently trusted federated bundles.
  BundleSet Bundles() const;
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
  };
  int64_t RefreshAfter(const Bundle& b) const;
  // Run fetches the relationships `pick` selects and applies the results.
  std::vector<PollEvent> Run(UnixTime now,
                             const std::function<bool(const Entry&)>& pick);
  BundleFetcher fetch_;
  PollerOptions options_;
  mutable std::mutex mu_;
  std::map<TrustDomain, Entry> entries_;
};

}  // namespace aztp

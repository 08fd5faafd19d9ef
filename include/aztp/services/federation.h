// FederationService: the relationships with other trust domains, from the
// configuration file or added through the API, their fetches and what each
// identity trusts of them (docs/federation.md). Every change of a
// relationship, and every fetch result but "unchanged", is on the audit
// record.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/bundle/bundle.h"
#include "aztp/encoding/json.h"
#include "aztp/federation/bundle_poller.h"
#include "aztp/revocation/revocation_list.h"
#include "aztp/services/context.h"
#include "aztp/services/principal.h"

namespace aztp::services {

// kMaxWebCaPemBytes bounds a relationship's web_ca_pem.
inline constexpr std::size_t kMaxWebCaPemBytes = 256 << 10;

// NewFederation is a relationship to add: exactly the parameters of its
// profile, none derived from another (docs/federation.md).
struct NewFederation {
  TrustDomain trust_domain;
  std::string endpoint_url;
  std::string profile;      // "https_spiffe" or "https_web"
  std::string endpoint_id;  // https_spiffe: the endpoint's SPIFFE ID
  // https_spiffe: the SPIFFE bundle document that authenticates the first
  // fetch.
  std::optional<Json> bootstrap_bundle;
  std::string web_ca_pem;       // https_web: CAs to trust; "": the system's
  std::string revocations_url;  // "": the domain's list is not fetched
};

// FederationEntry is one relationship as it stands.
struct FederationEntry {
  RelationshipState state;
  bool from_config = false;  // from the configuration file, not the API
};

// FederationAdded is a new relationship and its first fetch's results.
struct FederationAdded {
  TrustDomain trust_domain;
  std::vector<PollEvent> first_fetch;
};

// FederationHost is what the service needs of the process that serves the
// federated bundles (the control plane).
class FederationHost {
 public:
  virtual ~FederationHost() = default;
  // Exclusive runs `fn` while no key rotation, federation change or
  // maintenance pass runs.
  virtual Status Exclusive(const std::function<Status()>& fn) = 0;
  // Published is the bundle set in force: the own bundle and the trusted
  // federated ones, against which mTLS clients are verified.
  virtual std::shared_ptr<const BundleSet> Published() const = 0;
  // Publish puts the poller's current bundles in force.
  virtual void Publish() = 0;
  // Fetched hears every fetch result; Recorded every one that is on the
  // audit record (all but "unchanged"), once it is stored.
  virtual void Fetched(const PollEvent& event) = 0;
  virtual void Recorded(const PollEvent& event) = 0;
};

// FederationService manages the relationships (an admin's only) and
// answers which bundles an identity trusts.
class FederationService {
 public:
  // `configured` are the relationships of the configuration file; the
  // poller fetches them and those stored.
  FederationService(const ServiceContext& ctx, BundlePoller& poller,
                    FederationHost& host,
                    std::vector<FederationRelationship> configured);

  // Load gives the poller the configured and the stored relationships and
  // the bundles and revocation lists kept from before a restart; a domain
  // both configured and stored, or the own one, is an error.
  Status Load();

  Result<std::vector<FederationEntry>> List(const Principal& who) const;
  // Add stores and audits a relationship, then fetches from it at once, so
  // that the answer tells whether the endpoint works; a failed fetch leaves
  // the relationship in place.
  Result<FederationAdded> Add(const Principal& who,
                              const NewFederation& request);
  // Remove drops a stored relationship; its domain's peers are strangers
  // from then on.
  Status Remove(const Principal& who, const TrustDomain& td);
  // Refresh fetches `td`'s bundle (and revocation list) now: the bundle's
  // result first.
  Result<std::vector<PollEvent>> Refresh(const Principal& who,
                                         const TrustDomain& td);
  // Poll fetches what is due, records each result as `actor` and publishes
  // a changed set; true when it changed. The caller holds what Exclusive
  // holds (the maintenance pass).
  Result<bool> Poll(const std::string& actor);

  // Bundles is the published set, or, for `peer` of the own trust domain
  // (an mTLS caller), that identity's view of it (as BundlesFor).
  Result<BundleSet> Bundles(const std::optional<SpiffeId>& peer) const;
  // BundlesFor is identity `id`'s view: the own domain's bundle and those of
  // the federated domains it accepts (its federates_with). Naming an
  // identity needs credentials for it.
  Result<BundleSet> BundlesFor(const Principal& who, const SpiffeId& id) const;
  // RevocationLists are the last good revocation lists of the federated
  // domains that publish one.
  std::map<TrustDomain, std::shared_ptr<const RevocationList>> RevocationLists()
      const;

 private:
  Status Apply(bool seed);
  Status Record(const PollEvent& event, UnixTime now, const std::string& actor);
  Result<std::vector<PollEvent>> FetchNow(const TrustDomain& td, UnixTime now,
                                          const std::string& actor);
  Result<BundleSet> ViewOf(const SpiffeId& id) const;

  const ServiceContext& ctx_;
  BundlePoller& poller_;
  FederationHost& host_;
  std::vector<FederationRelationship> configured_;
  std::set<TrustDomain> configured_domains_;
};

// RelationshipFromRecord turns a stored relationship into one the poller
// takes, validating every parameter.
Result<FederationRelationship> RelationshipFromRecord(
    const FederationRecord& r);

// PollEventJson describes a fetch result, in API answers and audit records.
Json PollEventJson(const PollEvent& event);

}  // namespace aztp::services

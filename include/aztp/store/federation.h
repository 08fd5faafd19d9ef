// The federation aggregate: relationships added through the API and the
// last good bundle and revocation list fetched for each federated domain.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/federation/endpoint_profile.h"

namespace aztp {

// FederationRecord is a federation relationship added through the API
// (those of the configuration file are not stored).
struct FederationRecord {
  // Profile is stored as its name, "https_spiffe" or "https_web".
  using Profile = EndpointProfile;
  static std::optional<Profile> ParseProfile(std::string_view text);

  std::string trust_domain;  // name, e.g. "org-b.example"
  std::string endpoint_url;
  Profile profile = Profile::kHttpsSpiffe;
  std::string endpoint_id;       // https_spiffe: the endpoint's SPIFFE ID
  std::string bootstrap_bundle;  // https_spiffe: a SPIFFE bundle document
  std::string web_ca_pem;        // https_web: CAs to trust; "" = system's
  UnixTime created_at = 0;
  std::string revocations_url;  // "" = the domain's list is not fetched
};
std::string_view ToString(FederationRecord::Profile profile);

// FederatedBundleRecord is the last good bundle fetched for a federated
// trust domain, kept so that a restart does not forget it.
struct FederatedBundleRecord {
  std::string trust_domain;
  std::string bundle;  // SPIFFE bundle document
  UnixTime updated_at = 0;
};

// FederatedRevocationsRecord is the last good revocation list fetched for a
// federated trust domain, kept so that a restart does not forget it.
struct FederatedRevocationsRecord {
  std::string trust_domain;
  std::string list;  // revocation list document
  UnixTime updated_at = 0;
};

// FederationRepository holds federation relationships and what was fetched
// for them (kIo on storage errors). Lists are ordered by trust domain.
class FederationRepository {
 public:
  virtual ~FederationRepository() = default;

  // PutFederation inserts a relationship (kAlreadyExists for a known trust
  // domain, kInvalidArgument for an empty one).
  virtual Status PutFederation(const FederationRecord& r) = 0;
  virtual Result<std::vector<FederationRecord>> ListFederations() = 0;
  // DeleteFederation removes a relationship (kNotFound for an unknown
  // trust domain), its bundle and its revocation list.
  virtual Status DeleteFederation(const std::string& trust_domain) = 0;
  // PutFederatedBundle inserts or replaces a trust domain's bundle.
  virtual Status PutFederatedBundle(const FederatedBundleRecord& r) = 0;
  virtual Result<std::vector<FederatedBundleRecord>> ListFederatedBundles() = 0;
  // DeleteFederatedBundle succeeds when there was nothing to delete.
  virtual Status DeleteFederatedBundle(const std::string& trust_domain) = 0;
  // PutFederatedRevocations inserts or replaces a trust domain's list.
  virtual Status PutFederatedRevocations(
      const FederatedRevocationsRecord& r) = 0;
  virtual Result<std::vector<FederatedRevocationsRecord>>
  ListFederatedRevocations() = 0;
};

}  // namespace aztp

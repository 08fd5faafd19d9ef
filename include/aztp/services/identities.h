// IdentityService: registering, reading, linking, revoking and reissuing
// the identities of the trust domain, and discovery (docs/aztpd.md,
// "Identities"). Every mutation is one transaction with its audit record.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/services/context.h"
#include "aztp/services/principal.h"

namespace aztp::services {

// Limits of identity requests.
inline constexpr std::size_t kMaxSelectors = 64;
inline constexpr std::size_t kMaxSelectorBytes = 256;
inline constexpr std::size_t kMaxFederatesWith = 64;
inline constexpr std::size_t kMaxReasonBytes = 1024;
inline constexpr std::size_t kMaxMetadataBytes = 16384;

// DomainList is an identity's federates_with: the federated trust domains
// it accepts, nullopt for every one.
using DomainList = std::optional<std::vector<TrustDomain>>;

struct NewIdentity {
  SpiffeId id;
  std::optional<SpiffeId> parent;
  bool global = false;
  bool discoverable = false;
  Json metadata = Json::object();
  std::vector<std::string> selectors;
  DomainList federates_with;
};

struct NewLink {
  SpiffeId from;
  SpiffeId to;
  // The caller's text, checked by Link (LinkRecord::ParseKind) so that both
  // front ends share its error.
  std::string kind = "linked";  // "linked" or "parent"
  Json metadata = Json::object();
};

// IdentityQuery selects a page of identities; id_prefix is a SPIFFE ID
// prefix of the own trust domain.
struct IdentityQuery {
  std::optional<std::string> id_prefix;
  // The caller's text, checked by List (IdentityRecord::ParseStatus).
  std::optional<std::string> status;  // "active" or "revoked"
  std::optional<SpiffeId> parent;
  std::string after;  // page token: the last ID of the previous page
  int limit = 100;    // 1..1000
};

struct IdentityPage {
  std::vector<IdentityRecord> identities;
  std::string next;  // "" on the last page
};

struct IdentityDetails {
  IdentityRecord identity;
  std::vector<LinkRecord> links;
};

class IdentityService {
 public:
  explicit IdentityService(const ServiceContext& ctx) : ctx_(ctx) {}

  // Register stores a new identity (and its parent link); the caller needs
  // rights on the identity and on its parent.
  Result<IdentityRecord> Register(const Principal& who, NewIdentity request);
  // List returns the page of identities the caller manages (none for an
  // SVID).
  Result<IdentityPage> List(const Principal& who, const IdentityQuery& query);
  Result<IdentityDetails> Get(const Principal& who, const SpiffeId& id);
  // SetFederatesWith replaces whom `id` accepts; a scoped key may only
  // narrow it (widening could undo an admin's narrowing).
  Result<IdentityRecord> SetFederatesWith(const Principal& who,
                                          const SpiffeId& id,
                                          const DomainList& domains);
  // Link connects two registered identities; both ends need rights.
  Result<LinkRecord> Link(const Principal& who, NewLink request);
  // Revoke and Reissue change `id`'s status, bumping the revocation list's
  // sequence; a scoped key may not undo or rewrite an admin's revocation.
  Result<IdentityRecord> Revoke(const Principal& who, const SpiffeId& id,
                                const std::string& reason);
  Result<IdentityRecord> Reissue(const Principal& who, const SpiffeId& id,
                                 const std::string& reason);
  // Discover lists the active, discoverable identities (any caller).
  Result<IdentityPage> Discover(IdentityQuery query);

 private:
  Result<IdentityRecord> ChangeStatus(const Principal& who, const SpiffeId& id,
                                      bool revoke, const std::string& reason);
  Result<IdentityPage> Page(const IdentityFilter& filter,
                            const Principal* visible_to);

  const ServiceContext& ctx_;
};

// RequireWorkloadId is kInvalidArgument unless `id` is a workload ID (not
// the trust domain itself) of `td`, and not the control plane's own ID
// (SpiffeId::ControlPlane: its server SVID's, the bundle endpoint's, the
// signer of people's chains): nothing registers it, issues an SVID for it,
// or decides for it.
Status RequireWorkloadId(const TrustDomain& td, const SpiffeId& id);

// RequireServedTrustDomain is kNotFound unless `name` names `td`:
// discovery serves the own trust domain only.
Status RequireServedTrustDomain(const TrustDomain& td, std::string_view name);

// kRevocationSequence names the store meta value holding the revocation
// list's sequence number, bumped by every revoke and reissue.
inline constexpr const char* kRevocationSequence = "revocation_sequence";

}  // namespace aztp::services

// Principal: the authenticated caller of a control-plane service, and the
// permissions routes declare (docs/aztpd.md, "Authentication" and
// "Permissions"). Only the authenticator (services/authenticator.h) makes
// principals from credentials; services take them as given.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "aztp/base/result.h"
#include "aztp/spiffeid/spiffe_id.h"

namespace aztp::services {

// Permission is what a route requires of its caller before its handler
// runs. Finer rules over one resource (which identities a scoped key
// manages, whose flow a caller owns) are the services' own.
enum class Permission {
  kPublic,         // anyone; limited per client address
  kAuthenticated,  // any caller: an API key or an SVID of the own domain
  kApiKey,         // an admin or a scoped API key; SVIDs are refused
  kAdmin,          // an admin API key
  kWorkloadSvid,   // an X.509-SVID of the own domain (proxies shipping audit)
};

// PermissionName is the permission's name in docs and test output.
std::string_view PermissionName(Permission p);

// Principal is one authenticated caller: an admin API key, a scoped API key,
// or an X.509-SVID of the control plane's own trust domain.
class Principal {
 public:
  // AdminKey is the caller holding admin API key `key_id`.
  static Principal AdminKey(std::string_view key_id);
  // ScopedKey is the caller holding scoped key `key_id`; `scope` is the ID
  // its scope names (ParseScope), unset when the stored scope no longer
  // parses: such a key manages nothing.
  static Principal ScopedKey(std::string_view key_id,
                             std::optional<SpiffeId> scope);
  // Workload is the caller presenting an X.509-SVID for `id` over mTLS.
  static Principal Workload(SpiffeId id);

  // actor names the caller in audit records and rate limits
  // ("apikey:<key_id>" or the SVID's ID).
  const std::string& actor() const { return actor_; }
  bool admin() const { return admin_; }
  bool api_key() const { return !svid_.has_value(); }
  const std::optional<SpiffeId>& svid() const { return svid_; }
  const std::optional<SpiffeId>& scope() const { return scope_; }

  // Has: does this caller hold permission `p`?
  bool Has(Permission p) const;
  // MayManage: may this caller act on identity `id` with an API key?
  // Scoped keys manage IDs of the own trust domain under their scope only.
  bool MayManage(const SpiffeId& id) const;
  // MayObtainSvid: an API key allowed for `id`, or `id`'s own SVID.
  bool MayObtainSvid(const SpiffeId& id) const;

 private:
  Principal() = default;
  std::string actor_;
  bool admin_ = false;
  std::optional<SpiffeId> scope_;
  std::optional<SpiffeId> svid_;
};

// Require is kPermissionDenied with `denial` as its message unless `who`
// holds `p`.
Status Require(const Principal& who, Permission p, std::string_view denial);

// API-key scopes (docs/aztpd.md, "Authentication"). A scoped key's scope is
// a SPIFFE path of aztpd's trust domain; it covers the ID with that path
// and every ID below it, whole segment by whole segment (SPIFFE-ID §2.2):
// "/tools/payments" covers /tools/payments and /tools/payments/quotes,
// never /tools/payments-admin. "/" covers the whole trust domain.
//
// ParseScope normalises a scope as written ("/tools/" is "/tools": one
// trailing slash is dropped) into the ID it names in `td`. A scope that is
// not a plain SPIFFE path (empty, "//", "." or ".." segments, characters
// SPIFFE-ID §2.2 forbids, or too long) is kInvalidArgument.
Result<SpiffeId> ParseScope(const TrustDomain& td, std::string_view scope);
// ScopeText is the stored form of a parsed scope: its path, "/" for the
// whole trust domain.
std::string ScopeText(const SpiffeId& scope);
// ScopeCovers: `id` is `scope` itself or below it, in the same trust domain.
bool ScopeCovers(const SpiffeId& scope, const SpiffeId& id);

// kAdminScope is the stored scope of admin keys.
inline constexpr std::string_view kAdminScope = "admin";

}  // namespace aztp::services

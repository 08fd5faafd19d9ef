#include "aztp/services/principal.h"

namespace aztp::services {

std::string_view PermissionName(Permission p) {
  switch (p) {
    case Permission::kPublic:
      return "public";
    case Permission::kAuthenticated:
      return "authenticated";
    case Permission::kApiKey:
      return "api-key";
    case Permission::kAdmin:
      return "admin";
    case Permission::kWorkloadSvid:
      return "workload-svid";
  }
  return "unknown";
}

Principal Principal::AdminKey(std::string_view key_id) {
  Principal p;
  p.actor_ = "apikey:" + std::string(key_id);
  p.admin_ = true;
  return p;
}

Principal Principal::ScopedKey(std::string_view key_id,
                               std::optional<SpiffeId> scope) {
  Principal p;
  p.actor_ = "apikey:" + std::string(key_id);
  p.scope_ = std::move(scope);
  return p;
}

Principal Principal::Workload(SpiffeId id) {
  Principal p;
  p.actor_ = id.str();
  p.svid_ = std::move(id);
  return p;
}

bool Principal::Has(Permission p) const {
  switch (p) {
    case Permission::kPublic:
    case Permission::kAuthenticated:
      return true;
    case Permission::kApiKey:
      return api_key();
    case Permission::kAdmin:
      return admin_;
    case Permission::kWorkloadSvid:
      return svid_.has_value();
  }
  return false;
}

bool Principal::MayManage(const SpiffeId& id) const {
  if (admin_) return true;
  return scope_ && ScopeCovers(*scope_, id);
}

bool Principal::MayObtainSvid(const SpiffeId& id) const {
  return svid_ ? *svid_ == id : MayManage(id);
}

Status Require(const Principal& who, Permission p, std::string_view denial) {
  if (who.Has(p)) return Ok();
  return Error(Code::kPermissionDenied, std::string(denial));
}

Result<SpiffeId> ParseScope(const TrustDomain& td, std::string_view scope) {
  // "/" names the trust domain itself; otherwise one trailing slash is
  // dropped and the rest must be a SPIFFE path (SPIFFE-ID §2.2), so that
  // "//", "." and ".." segments are refused rather than rewritten.
  std::string_view path = scope == "/" ? std::string_view() : scope;
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  auto id = scope.empty() || scope.front() != '/'
                ? Result<SpiffeId>(Error(Code::kInvalidArgument, "no path"))
                : SpiffeId::FromSegments(td, path);
  if (!id) {
    return Error(
        Code::kInvalidArgument,
        "scope must be \"admin\" or a SPIFFE path such as /agents or "
        "/agents/planner (segments of letters, digits, '.', '-' and '_'; no "
        "empty, \".\" or \"..\" segment), not " +
            QuoteInput(scope));
  }
  return id;
}

std::string ScopeText(const SpiffeId& scope) {
  return scope.path().empty() ? "/" : std::string(scope.path());
}

bool ScopeCovers(const SpiffeId& scope, const SpiffeId& id) {
  if (!id.MemberOf(scope.trust_domain())) return false;
  const std::string_view base = scope.path();
  const std::string_view path = id.path();
  // Whole segments only: the scope's path must end where one of the ID's
  // segments ends.
  return path.starts_with(base) &&
         (path.size() == base.size() || path[base.size()] == '/');
}

}  // namespace aztp::services

// The client's calls on identities (register, list, discover, link,
// revoke, reissue, federates_with) and on API keys.
#include <algorithm>
#include <utility>

#include "client/client_internal.h"

namespace aztp {

namespace {

using client_internal::ArrayOf;
using client_internal::Member;
using client_internal::OptionalBool;
using client_internal::OptionalObject;
using client_internal::OptionalSpiffeId;
using client_internal::OptionalStringArray;
using client_internal::OptionalText;
using client_internal::OptionalTime;
using client_internal::Query;
using client_internal::RequiredSpiffeId;

// IdentityTarget is /v1/identities/<td>/<path>[:action]. SPIFFE paths only
// hold characters that need no escaping in a request target.
std::string IdentityTarget(const SpiffeId& id, std::string_view action = {}) {
  std::string out = "/v1/identities/" + id.trust_domain().name();
  out += id.path();
  if (!action.empty()) {
    out += ':';
    out += action;
  }
  return out;
}

Result<IdentityStatus> ParseIdentityStatus(std::string_view name) {
  if (name == "active") return IdentityStatus::kActive;
  if (name == "revoked") return IdentityStatus::kRevoked;
  return Error(Code::kMalformed, "unknown identity status " + QuoteInput(name));
}

Result<Link> ParseLink(const Json& j) {
  if (!j.is_object()) return Error(Code::kMalformed, "a link is no object");
  AZTP_ASSIGN_OR_RETURN(SpiffeId from, RequiredSpiffeId(j, "from"));
  AZTP_ASSIGN_OR_RETURN(SpiffeId to, RequiredSpiffeId(j, "to"));
  AZTP_ASSIGN_OR_RETURN(std::string kind_name, GetString(j, "kind"));
  auto kind = ParseLinkKind(kind_name);
  if (!kind) {
    return Error(Code::kMalformed,
                 "unknown link kind " + QuoteInput(kind_name));
  }
  Link out{.from = std::move(from), .to = std::move(to), .kind = *kind};
  AZTP_ASSIGN_OR_RETURN(out.metadata, OptionalObject(j, "metadata"));
  AZTP_ASSIGN_OR_RETURN(out.created_at, OptionalTime(j, "created_at"));
  return out;
}

Result<Identity> ParseIdentity(const Json& j) {
  if (!j.is_object()) {
    return Error(Code::kMalformed, "an identity is no object");
  }
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, RequiredSpiffeId(j, "id"));
  Identity out{.id = std::move(id)};
  AZTP_ASSIGN_OR_RETURN(out.parent, OptionalSpiffeId(j, "parent"));
  AZTP_ASSIGN_OR_RETURN(out.global, OptionalBool(j, "global"));
  AZTP_ASSIGN_OR_RETURN(out.discoverable, OptionalBool(j, "discoverable"));
  AZTP_ASSIGN_OR_RETURN(out.metadata, OptionalObject(j, "metadata"));
  AZTP_ASSIGN_OR_RETURN(out.selectors, OptionalStringArray(j, "selectors"));
  AZTP_ASSIGN_OR_RETURN(std::string status, GetString(j, "status"));
  AZTP_ASSIGN_OR_RETURN(out.status, ParseIdentityStatus(status));
  AZTP_ASSIGN_OR_RETURN(out.revoked_reason, OptionalText(j, "revoked_reason"));
  AZTP_ASSIGN_OR_RETURN(out.created_at, OptionalTime(j, "created_at"));
  AZTP_ASSIGN_OR_RETURN(out.updated_at, OptionalTime(j, "updated_at"));
  if (const Json* domains = Member(j, "federates_with")) {
    if (!domains->is_array()) {
      return WrongMemberType("federates_with", "null or an array of strings");
    }
    AZTP_ASSIGN_OR_RETURN(auto names, OptionalStringArray(j, "federates_with"));
    out.federates_with = std::move(names);
  }
  if (const Json* links = Member(j, "links")) {
    if (!links->is_array()) {
      return Error(Code::kMalformed, "member \"links\" must be an array");
    }
    for (const Json& l : *links) {
      AZTP_ASSIGN_OR_RETURN(Link link, ParseLink(l));
      out.links.push_back(std::move(link));
    }
  }
  return out;
}

Result<DiscoveredIdentity> ParseDiscovered(const Json& j) {
  if (!j.is_object()) {
    return Error(Code::kMalformed, "an identity is no object");
  }
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, RequiredSpiffeId(j, "id"));
  DiscoveredIdentity out{.id = std::move(id)};
  AZTP_ASSIGN_OR_RETURN(out.parent, OptionalSpiffeId(j, "parent"));
  AZTP_ASSIGN_OR_RETURN(out.global, OptionalBool(j, "global"));
  AZTP_ASSIGN_OR_RETURN(out.metadata, OptionalObject(j, "metadata"));
  AZTP_ASSIGN_OR_RETURN(out.selectors, OptionalStringArray(j, "selectors"));
  return out;
}

// ParsePage reads {"<member>": [...], "next": token|null}.
template <typename T, typename Parse>
Status ParsePage(const Json& doc, std::string_view member, Parse parse,
                 std::vector<T>& items, std::optional<std::string>& next) {
  AZTP_ASSIGN_OR_RETURN(items, ArrayOf<T>(doc, member, parse));
  const Json* token = Member(doc, "next");
  if (token != nullptr) {
    if (!token->is_string() || token->get_ref<const std::string&>().empty()) {
      return Error(Code::kMalformed,
                   "member \"next\" must be a non-empty string or null");
    }
    next = token->get<std::string>();
  }
  return Ok();
}

Result<ApiKey> ParseApiKey(const Json& j) {
  if (!j.is_object()) return Error(Code::kMalformed, "an API key is no object");
  ApiKey out;
  AZTP_ASSIGN_OR_RETURN(out.key_id, GetString(j, "key_id"));
  AZTP_ASSIGN_OR_RETURN(out.scope, GetString(j, "scope"));
  AZTP_ASSIGN_OR_RETURN(out.description, OptionalText(j, "description"));
  AZTP_ASSIGN_OR_RETURN(out.revoked, OptionalBool(j, "revoked"));
  AZTP_ASSIGN_OR_RETURN(out.created_at, OptionalTime(j, "created_at"));
  return out;
}

}  // namespace

std::string_view IdentityStatusName(IdentityStatus status) {
  return status == IdentityStatus::kActive ? "active" : "revoked";
}

std::string_view LinkKindName(LinkKind kind) {
  return kind == LinkKind::kLinked ? "linked" : "parent";
}

Result<LinkKind> ParseLinkKind(std::string_view name) {
  if (name == "linked") return LinkKind::kLinked;
  if (name == "parent") return LinkKind::kParent;
  return Error(
      Code::kInvalidArgument,
      "link kind must be \"linked\" or \"parent\", not " + QuoteInput(name));
}

Result<Identity> Client::RegisterIdentity(const IdentityRegistration& request) {
  if (!request.metadata.is_object()) {
    return Error(Code::kInvalidArgument, "metadata must be a JSON object");
  }
  Json body = Json::object();
  body["id"] = request.id.str();
  if (request.parent) body["parent"] = request.parent->str();
  if (request.global) body["global"] = true;
  if (request.discoverable) body["discoverable"] = true;
  if (!request.metadata.empty()) body["metadata"] = request.metadata;
  if (!request.selectors.empty()) body["selectors"] = request.selectors;
  if (request.federates_with) body["federates_with"] = *request.federates_with;
  return impl_->Parsed("POST", "/v1/identities", DumpJson(body), false,
                       ParseIdentity);
}

Result<Identity> Client::GetIdentity(const SpiffeId& id) {
  return impl_->Parsed("GET", IdentityTarget(id), "", true, ParseIdentity);
}

Result<IdentityPage> Client::ListIdentities(
    const ListIdentitiesOptions& options) {
  std::string target =
      "/v1/identities" +
      Query({{"prefix", options.prefix},
             {"status", options.status
                            ? std::string(IdentityStatusName(*options.status))
                            : ""},
             {"limit", options.limit > 0 ? std::to_string(options.limit) : ""},
             {"after", options.after}});
  return impl_->Parsed(
      "GET", target, "", true, [](const Json& doc) -> Result<IdentityPage> {
        IdentityPage page;
        AZTP_RETURN_IF_ERROR(ParsePage<Identity>(
            doc, "identities", ParseIdentity, page.identities, page.next));
        return page;
      });
}

Result<DiscoveryPage> Client::Discover(const DiscoverOptions& options) {
  std::string target =
      "/v1/discover" +
      Query({{"trust_domain",
              options.trust_domain ? options.trust_domain->name() : ""},
             {"prefix", options.prefix},
             {"limit", options.limit > 0 ? std::to_string(options.limit) : ""},
             {"after", options.after}});
  return impl_->Parsed(
      "GET", target, "", true, [](const Json& doc) -> Result<DiscoveryPage> {
        DiscoveryPage page;
        AZTP_RETURN_IF_ERROR(ParsePage<DiscoveredIdentity>(
            doc, "identities", ParseDiscovered, page.identities, page.next));
        return page;
      });
}

Result<Link> Client::LinkIdentity(const SpiffeId& from, const SpiffeId& to,
                                  LinkKind kind, const Json& metadata) {
  if (!metadata.is_object()) {
    return Error(Code::kInvalidArgument, "metadata must be a JSON object");
  }
  Json body = Json::object();
  body["to"] = to.str();
  body["kind"] = LinkKindName(kind);
  if (!metadata.empty()) body["metadata"] = metadata;
  return impl_->Parsed("POST", IdentityTarget(from, "link"), DumpJson(body),
                       false, ParseLink);
}

Result<Identity> Client::RevokeIdentity(const SpiffeId& id,
                                        std::string_view reason) {
  Json body = Json::object();
  if (!reason.empty()) body["reason"] = std::string(reason);
  return impl_->Parsed("POST", IdentityTarget(id, "revoke"), DumpJson(body),
                       true, ParseIdentity);
}

Result<Identity> Client::ReissueIdentity(const SpiffeId& id) {
  return impl_->Parsed("POST", IdentityTarget(id, "reissue"), "", true,
                       ParseIdentity);
}

Result<Identity> Client::SetFederatesWith(
    const SpiffeId& id,
    std::optional<std::vector<std::string>> federates_with) {
  Json body = Json::object();
  body["federates_with"] = federates_with ? Json(*federates_with) : Json();
  return impl_->Parsed("PATCH", IdentityTarget(id), DumpJson(body), true,
                       ParseIdentity);
}

Result<CreatedApiKey> Client::CreateApiKey(std::string_view scope,
                                           std::string_view description) {
  Json body = Json::object();
  body["scope"] = std::string(scope);
  if (!description.empty()) body["description"] = std::string(description);
  return impl_->Parsed(
      "POST", "/v1/apikeys", DumpJson(body), false,
      [](const Json& doc) -> Result<CreatedApiKey> {
        AZTP_ASSIGN_OR_RETURN(ApiKey info, ParseApiKey(doc));
        const Json* key = Member(doc, "api_key");
        if (key == nullptr || !key->is_string() ||
            key->get_ref<const std::string&>().empty()) {
          return Error(Code::kMalformed, "member \"api_key\" is missing");
        }
        return CreatedApiKey{
            std::move(info),
            SecretBytes(std::string_view(key->get_ref<const std::string&>()))};
      });
}

Result<std::vector<ApiKey>> Client::ListApiKeys() {
  return impl_->Parsed("GET", "/v1/apikeys", "", true, [](const Json& doc) {
    return ArrayOf<ApiKey>(doc, "api_keys", ParseApiKey);
  });
}

Status Client::RevokeApiKey(std::string_view key_id) {
  // Key IDs are hex; anything else could bend the request target.
  if (key_id.empty() || key_id.size() > 64 ||
      !std::all_of(key_id.begin(), key_id.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
               (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
      })) {
    return Error(Code::kInvalidArgument,
                 "malformed API key ID " + QuoteInput(key_id));
  }
  AZTP_RETURN_IF_ERROR(impl_->Call(
      "POST", "/v1/apikeys/" + std::string(key_id) + ":revoke", "", true));
  return Ok();
}

}  // namespace aztp

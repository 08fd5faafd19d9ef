// The client's calls on federation relationships with other trust domains.
#include <memory>
#include <utility>

#include "client/client_internal.h"

namespace aztp {

namespace {

using client_internal::ArrayOf;
using client_internal::Member;
using client_internal::OptionalBool;
using client_internal::OptionalInteger;
using client_internal::OptionalSpiffeId;
using client_internal::OptionalText;
using client_internal::OptionalTime;
using client_internal::RequiredTrustDomain;

// ParseFetch reads {result, reason, message, old_sequence, new_sequence}
// of a fetch of `td`'s endpoint, with the fetch of its revocation list in
// "revocations" when `nested` allows one.
Result<FederationFetch> ParseFetch(const Json& j, const TrustDomain& td,
                                   bool nested = true) {
  if (!j.is_object()) return Error(Code::kMalformed, "a fetch is no object");
  FederationFetch out{.trust_domain = td};
  AZTP_ASSIGN_OR_RETURN(std::string result, GetString(j, "result"));
  AZTP_ASSIGN_OR_RETURN(out.result, ParsePollResult(result));
  AZTP_ASSIGN_OR_RETURN(out.reason, OptionalText(j, "reason"));
  AZTP_ASSIGN_OR_RETURN(out.message, OptionalText(j, "message"));
  AZTP_ASSIGN_OR_RETURN(out.old_sequence, OptionalInteger(j, "old_sequence"));
  AZTP_ASSIGN_OR_RETURN(out.new_sequence, OptionalInteger(j, "new_sequence"));
  if (const Json* list = nested ? Member(j, "revocations") : nullptr) {
    AZTP_ASSIGN_OR_RETURN(FederationFetch fetch,
                          ParseFetch(*list, td, /*nested=*/false));
    out.revocations = std::make_shared<const FederationFetch>(std::move(fetch));
  }
  return out;
}

// ParseRefresh reads the answer of :refresh, a fetch that names its domain;
// it must be the domain asked for.
Result<FederationFetch> ParseRefresh(const Json& doc, const TrustDomain& td) {
  AZTP_ASSIGN_OR_RETURN(TrustDomain named,
                        RequiredTrustDomain(doc, "trust_domain"));
  if (named != td) {
    return Error(Code::kMalformed,
                 "the answer is about " + named.name() + ", not " + td.name());
  }
  return ParseFetch(doc, td);
}

Result<Federation> ParseFederation(const Json& j) {
  if (!j.is_object()) {
    return Error(Code::kMalformed, "a federation is no object");
  }
  AZTP_ASSIGN_OR_RETURN(TrustDomain td, RequiredTrustDomain(j, "trust_domain"));
  Federation out{.trust_domain = td};
  AZTP_ASSIGN_OR_RETURN(out.endpoint_url, GetString(j, "endpoint_url"));
  AZTP_ASSIGN_OR_RETURN(std::string profile, GetString(j, "profile"));
  auto parsed = ParseEndpointProfile(profile);
  if (!parsed) {
    return Error(Code::kMalformed, "unknown profile " + QuoteInput(profile));
  }
  out.profile = *parsed;
  AZTP_ASSIGN_OR_RETURN(out.endpoint_id, OptionalSpiffeId(j, "endpoint_id"));
  AZTP_ASSIGN_OR_RETURN(out.source, OptionalText(j, "source"));
  AZTP_ASSIGN_OR_RETURN(out.bundle_sequence,
                        OptionalInteger(j, "bundle_sequence"));
  AZTP_ASSIGN_OR_RETURN(out.trusted, OptionalBool(j, "trusted"));
  AZTP_ASSIGN_OR_RETURN(out.last_fetch, OptionalInteger(j, "last_fetch"));
  if (const Json* last = Member(j, "last")) {
    AZTP_ASSIGN_OR_RETURN(FederationFetch fetch, ParseFetch(*last, td));
    out.last = std::move(fetch);
  }
  AZTP_ASSIGN_OR_RETURN(out.failures, OptionalTime(j, "failures"));
  AZTP_ASSIGN_OR_RETURN(out.next_refresh, OptionalTime(j, "next_refresh"));
  if (const Json* url = Member(j, "revocations_url")) {  // null: none
    if (!url->is_string())
      return WrongMemberType("revocations_url", "a string");
    out.revocations_url = url->get<std::string>();
  }
  AZTP_ASSIGN_OR_RETURN(out.revocations_sequence,
                        OptionalInteger(j, "revocations_sequence"));
  AZTP_ASSIGN_OR_RETURN(out.revocations_last_fetch,
                        OptionalInteger(j, "revocations_last_fetch"));
  if (const Json* last = Member(j, "revocations_last")) {
    AZTP_ASSIGN_OR_RETURN(FederationFetch fetch,
                          ParseFetch(*last, td, /*nested=*/false));
    out.revocations_last = std::move(fetch);
  }
  return out;
}

// FederationTarget is /v1/federations/<td>[:action]; trust domain names
// need no escaping in a request target.
std::string FederationTarget(const TrustDomain& td,
                             std::string_view action = {}) {
  std::string out = "/v1/federations/" + td.name();
  if (!action.empty()) {
    out += ':';
    out += action;
  }
  return out;
}

}  // namespace

Result<std::vector<Federation>> Client::ListFederations() {
  return impl_->Parsed("GET", "/v1/federations", "", true, [](const Json& doc) {
    return ArrayOf<Federation>(doc, "federations", ParseFederation);
  });
}

Result<FederationFetch> Client::AddFederation(const FederationSpec& spec) {
  Json body = Json::object();
  body["trust_domain"] = spec.trust_domain.name();
  body["endpoint_url"] = spec.endpoint_url;
  body["profile"] = EndpointProfileName(spec.profile);
  if (spec.endpoint_id) body["endpoint_id"] = spec.endpoint_id->str();
  if (spec.bootstrap_bundle) {
    if (spec.bootstrap_bundle->trust_domain() != spec.trust_domain) {
      return Error(Code::kInvalidArgument,
                   "the bootstrap bundle is of " +
                       spec.bootstrap_bundle->trust_domain().name() + ", not " +
                       spec.trust_domain.name());
    }
    body["bootstrap_bundle"] = spec.bootstrap_bundle->ToJson();
  }
  if (!spec.web_ca_pem.empty()) body["web_ca_pem"] = spec.web_ca_pem;
  if (!spec.revocations_url.empty()) {
    body["revocations_url"] = spec.revocations_url;
  }
  const TrustDomain& td = spec.trust_domain;
  return impl_->Parsed(
      "POST", "/v1/federations", DumpJson(body), false,
      [&td](const Json& doc) -> Result<FederationFetch> {
        const Json* first = Member(doc, "first_fetch");
        if (first == nullptr) {
          return Error(Code::kMalformed, "member \"first_fetch\" is missing");
        }
        AZTP_ASSIGN_OR_RETURN(TrustDomain named,
                              RequiredTrustDomain(doc, "trust_domain"));
        if (named != td) {
          return Error(Code::kMalformed, "the answer is about " + named.name() +
                                             ", not " + td.name());
        }
        return ParseFetch(*first, td);
      });
}

Result<FederationFetch> Client::RefreshFederation(const TrustDomain& td) {
  return impl_->Parsed(
      "POST", FederationTarget(td, "refresh"), "", false,
      [&td](const Json& doc) { return ParseRefresh(doc, td); });
}

Status Client::RemoveFederation(const TrustDomain& td) {
  return impl_->Confirmed("DELETE", FederationTarget(td), "", "removed");
}

}  // namespace aztp

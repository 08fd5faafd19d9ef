#include "aztp/oidc/provider_metadata.h"

#include <algorithm>

#include "aztp/encoding/json.h"
#include "aztp/http/address.h"

namespace aztp {

namespace {

bool IsLoopback(const http::HostPort& a) {
  return a.host == "127.0.0.1" || a.host == "::1";
}

// Strings reads a member that must be an array of strings, if present.
Result<std::vector<std::string>> Strings(const Json& doc,
                                         std::string_view name) {
  std::vector<std::string> out;
  auto it = doc.find(name);
  if (it == doc.end()) return out;
  if (!it->is_array() || it->size() > 64) {
    return WrongMemberType(name, "an array of at most 64 strings");
  }
  for (const Json& item : *it) {
    if (!item.is_string()) return WrongMemberType(name, "an array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

bool Has(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Endpoint reads a required URL member and checks it.
Result<std::string> Endpoint(const Json& doc, std::string_view name,
                             const ProviderMetadataRules& rules) {
  AZTP_ASSIGN_OR_RETURN(std::string url, GetString(doc, name));
  AZTP_RETURN_IF_ERROR(CheckProviderUrl(url, name, rules));
  return url;
}

// Capabilities reads what the provider says it supports: an authorization
// code flow, ID token algorithms aztp implements, PKCE with S256.
Status ReadCapabilities(const Json& doc, ProviderMetadata& m) {
  AZTP_ASSIGN_OR_RETURN(auto response_types,
                        Strings(doc, "response_types_supported"));
  if (!Has(response_types, "code")) {
    return Error(Code::kUnsupported,
                 "the provider does not offer the authorization code flow");
  }
  AZTP_ASSIGN_OR_RETURN(auto algs,
                        Strings(doc, "id_token_signing_alg_values_supported"));
  for (const auto& name : algs) {
    if (auto alg = ParseAlgorithm(name)) m.id_token_algorithms.push_back(*alg);
  }
  if (m.id_token_algorithms.empty()) {
    return Error(Code::kUnsupported,
                 "the provider signs ID tokens with no algorithm aztp "
                 "accepts (RS256, PS256, ES256, ES384, EdDSA)");
  }
  if (doc.contains("code_challenge_methods_supported")) {
    AZTP_ASSIGN_OR_RETURN(auto methods,
                          Strings(doc, "code_challenge_methods_supported"));
    if (!Has(methods, "S256")) {
      return Error(Code::kUnsupported, "the provider does not offer PKCE S256");
    }
  }
  AZTP_ASSIGN_OR_RETURN(m.token_endpoint_auth_methods,
                        Strings(doc, "token_endpoint_auth_methods_supported"));
  return Ok();
}

}  // namespace

Status CheckProviderUrl(std::string_view url, std::string_view member,
                        const ProviderMetadataRules& rules) {
  auto parsed = http::ParseUrl(url);
  if (!parsed) {
    return Error(Code::kMalformed,
                 std::string(member) + ": " + parsed.error().message());
  }
  if (parsed->path_and_query.find('?') != std::string::npos &&
      member == "issuer") {
    return Error(Code::kMalformed, "issuer: must have no query");
  }
  if (parsed->scheme == "https") return Ok();
  auto issuer = http::ParseUrl(rules.issuer);
  if (rules.allow_loopback_http && IsLoopback(parsed->address) && issuer &&
      issuer->scheme == "http" &&
      issuer->address.host == parsed->address.host) {
    return Ok();
  }
  return Error(
      Code::kMalformed,
      std::string(member) + ": must be an https URL, not " + QuoteInput(url));
}

Result<ProviderMetadata> ParseProviderMetadata(
    std::string_view document, const ProviderMetadataRules& rules) {
  JsonLimits limits;
  limits.max_bytes = rules.max_document_bytes;
  AZTP_ASSIGN_OR_RETURN(Json doc, ParseJson(document, limits));
  if (!doc.is_object()) {
    return Error(Code::kMalformed, "provider metadata must be a JSON object");
  }
  ProviderMetadata m;
  AZTP_ASSIGN_OR_RETURN(m.issuer, GetString(doc, "issuer"));
  // Discovery §4.3: identical, or the document speaks for someone else.
  if (m.issuer != rules.issuer) {
    return Error(Code::kIssuerMismatch, "provider metadata names issuer " +
                                            QuoteInput(m.issuer) + ", not " +
                                            rules.issuer);
  }
  AZTP_RETURN_IF_ERROR(CheckProviderUrl(m.issuer, "issuer", rules));
  AZTP_ASSIGN_OR_RETURN(m.authorization_endpoint,
                        Endpoint(doc, "authorization_endpoint", rules));
  AZTP_ASSIGN_OR_RETURN(m.token_endpoint,
                        Endpoint(doc, "token_endpoint", rules));
  AZTP_ASSIGN_OR_RETURN(m.jwks_uri, Endpoint(doc, "jwks_uri", rules));
  AZTP_RETURN_IF_ERROR(ReadCapabilities(doc, m));
  return m;
}

}  // namespace aztp

// An OpenID provider's configuration document, read strictly (OpenID
// Connect Discovery 1.0 §3 and §4; RFC 8414 §2 for the PKCE member).
//
// The document is fetched from <issuer>/.well-known/openid-configuration
// and is only believed for the issuer it was fetched for: its `issuer`
// must equal the configured issuer exactly (Discovery §4.3), which is what
// stops one provider from speaking for another. Every endpoint aztp calls
// or sends a browser to must be an https URL (the rules of http/address.h),
// except that a provider configured with plain http on a loopback address
// (tests only, ProviderMetadataRules::allow_loopback_http) may use http on
// that same loopback host.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/crypto/key.h"

namespace aztp {

struct ProviderMetadataRules {
  std::string issuer;  // the configured issuer, exactly
  // allow_loopback_http admits http:// endpoints on 127.0.0.1 or [::1]
  // when the issuer itself is http on that host: a test provider.
  bool allow_loopback_http = false;
  std::size_t max_document_bytes = 64 << 10;
};

// ProviderMetadata is the part of the document aztp uses.
struct ProviderMetadata {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string jwks_uri;
  // The ID token algorithms the provider signs with that aztp implements
  // (the others it lists are dropped; none left is an error).
  std::vector<SignatureAlgorithm> id_token_algorithms;
  // PKCE: a provider that lists its code_challenge_methods must list S256,
  // or it is refused; one that says nothing (RFC 8414 §2: optional) is sent
  // S256 all the same.
  std::vector<std::string> token_endpoint_auth_methods;  // as listed
};

// ParseProviderMetadata reads `document`. Errors: kTooLarge, kMalformed (not
// a JSON object, a member of the wrong type, a bad URL), kIssuerMismatch
// (`issuer` is not rules.issuer), kUnsupported (no algorithm aztp
// implements, no S256 PKCE, no authorization code flow).
Result<ProviderMetadata> ParseProviderMetadata(
    std::string_view document, const ProviderMetadataRules& rules);

// CheckProviderUrl checks one URL of a provider (an endpoint, or the issuer
// itself) by the rules above.
Status CheckProviderUrl(std::string_view url, std::string_view member,
                        const ProviderMetadataRules& rules);

}  // namespace aztp

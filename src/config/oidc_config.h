// The `oidc:` section of aztpd's configuration (docs/oidc.md,
// "Configuration"): the OpenID providers the trust domain accepts people
// from. Not installed.
#pragma once

#include <vector>

#include "aztp/config/aztpd_config.h"
#include "config/yaml_fields.h"

namespace aztp::internal {

// OidcProvidersInto reads `oidc.providers`, a list of at most 16 providers.
Field OidcProvidersInto(std::vector<OidcProviderEntry>& list);

// OidcLoginInto reads `oidc.login`.
Field OidcLoginInto(OidcLoginConfig& login);

// ValidateOidcLogin checks `oidc.login`: an https callback URL, lifetimes
// in range, agents' SPIFFE IDs and their return URLs (https, or http on a
// loopback host; no fragment).
Status ValidateOidcLogin(const OidcLoginConfig& login);

// ValidateOidcProviders checks each provider and the list as a whole:
// unique names and issuers, https issuers, known algorithms, SPIFFE IDs of
// workloads for the exchanging agents. Errors name the key's path.
Status ValidateOidcProviders(const std::vector<OidcProviderEntry>& list);

}  // namespace aztp::internal

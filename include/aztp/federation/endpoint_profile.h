// How a federated trust domain's bundle endpoint authenticates itself
// (SPIFFE Trust Domain and Bundle §5.2): the closed set that a federation
// relationship, its stored record and the configuration file all name.
#pragma once

#include <string_view>

#include "aztp/base/result.h"

namespace aztp {

enum class EndpointProfile {
  kHttpsWeb,     // a web-PKI certificate for the URL's host
  kHttpsSpiffe,  // an X.509-SVID of `endpoint_id`, verified with the
                 // federated domain's own (latest) bundle
};

// ParseEndpointProfile accepts "https_web" and "https_spiffe".
Result<EndpointProfile> ParseEndpointProfile(std::string_view name);
std::string_view EndpointProfileName(EndpointProfile profile);

}  // namespace aztp

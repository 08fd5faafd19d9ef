#include "aztp/federation/endpoint_profile.h"

#include <string>

namespace aztp {

Result<EndpointProfile> ParseEndpointProfile(std::string_view name) {
  if (name == "https_web") return EndpointProfile::kHttpsWeb;
  if (name == "https_spiffe") return EndpointProfile::kHttpsSpiffe;
  return Error(
      Code::kInvalidArgument,
      "profile must be https_web or https_spiffe, not " + QuoteInput(name));
}

std::string_view EndpointProfileName(EndpointProfile profile) {
  return profile == EndpointProfile::kHttpsWeb ? "https_web" : "https_spiffe";
}

}  // namespace aztp

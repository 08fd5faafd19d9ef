// The route groups of the control plane's API: each Add*Routes puts the
// routes of one service into the table (routes_*.cc).
#pragma once

#include "aztp/services/api_keys.h"
#include "aztp/services/federation.h"
#include "aztp/services/identities.h"
#include "aztp/services/signing_keys.h"
#include "aztp/services/svids.h"
#include "route_table.h"

namespace aztp::internal {

// AddIdentityRoutes: /v1/identities and /v1/discover.
void AddIdentityRoutes(RouteTable& table, services::IdentityService& service,
                       const TrustDomain& td);
// AddApiKeyRoutes: /v1/apikeys.
void AddApiKeyRoutes(RouteTable& table, services::ApiKeyService& service);
// AddSvidRoutes: /v1/svid/x509 and /v1/svid/jwt.
void AddSvidRoutes(RouteTable& table, services::SvidService& service,
                   const TrustDomain& td);
// AddSigningKeyRoutes: /v1/ca and /v1/ca:rotate.
void AddSigningKeyRoutes(RouteTable& table,
                         services::SigningKeyService& service);
// AddFederationRoutes: /v1/federations and /v1/bundles.
void AddFederationRoutes(RouteTable& table,
                         services::FederationService& service);

// Page reads the `after` and `limit` query parameters.
Result<std::string> QueryAfter(const http::Request& req);

}  // namespace aztp::internal

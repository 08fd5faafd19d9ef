// The route groups of the control plane's API: each Add*Routes puts the
// routes of one service into the table (routes_*.cc).
#pragma once

#include "aztp/metrics/metrics.h"
#include "aztp/services/api_keys.h"
#include "aztp/services/audit.h"
#include "aztp/services/federation.h"
#include "aztp/services/flows.h"
#include "aztp/services/identities.h"
#include "aztp/services/logins.h"
#include "aztp/services/people.h"
#include "aztp/services/policies.h"
#include "aztp/services/signing_keys.h"
#include "aztp/services/svids.h"
#include "route_table.h"

namespace aztp::internal {

// AddIdentityRoutes: /v1/identities and /v1/discover.
void AddIdentityRoutes(RouteTable& table, services::IdentityService& service,
                       const TrustDomain& td);
// AddApiKeyRoutes: /v1/apikeys.
void AddApiKeyRoutes(RouteTable& table, services::ApiKeyService& service);
// AddPolicyRoutes: /v1/policies and /v1/authorize.
void AddPolicyRoutes(RouteTable& table, services::PolicyService& service,
                     const TrustDomain& td);
// AddAuditRoutes: /v1/audit; accepted shipments count in `metrics`
// (aztpd_audit_ingested_total).
void AddAuditRoutes(RouteTable& table, services::AuditService& service,
                    metrics::Registry& metrics);

// AddFlowRoutes: /v1/flows.
void AddFlowRoutes(RouteTable& table, services::FlowService& service,
                   const TrustDomain& td);
// DecodeFlowFields reads the members of a flow's create or update body
// (types only; FlowService checks the values). The hosted SDK's flow
// routes send the same members.
Result<services::FlowFields> DecodeFlowFields(const Json& body);
// AddSvidRoutes: /v1/svid/x509 and /v1/svid/jwt.
void AddSvidRoutes(RouteTable& table, services::SvidService& service,
                   const TrustDomain& td);
// AddSigningKeyRoutes: /v1/ca and /v1/ca:rotate.
void AddSigningKeyRoutes(RouteTable& table,
                         services::SigningKeyService& service);
// AddFederationRoutes: /v1/federations and /v1/bundles.
void AddFederationRoutes(RouteTable& table,
                         services::FederationService& service);

// AddPersonRoutes: /v1/oidc/token, the token exchange for people.
void AddPersonRoutes(RouteTable& table, services::PersonService& service);
// AddLoginRoutes: /v1/oidc/login, /v1/oidc/callback, /v1/oidc/login:redeem.
void AddLoginRoutes(RouteTable& table, services::LoginService& service,
                    const TrustDomain& td);

// Page reads the `after` and `limit` query parameters.
Result<std::string> QueryAfter(const http::Request& req);

}  // namespace aztp::internal

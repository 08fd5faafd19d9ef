// The hosted SDK's routes (docs/compat.md), declared in a RouteTable with
// the permission each needs, like the native /v1 routes: each reads the
// hosted body, calls the control plane's services as the authenticated
// caller, and answers the hosted envelope. Groups: identities
// (hosted_identities.cc), flows (hosted_flows.cc), policies
// (hosted_policies.cc); HostedSdkApi (hosted_sdk.cc) dispatches.
#pragma once

#include <functional>
#include <string>

#include "aztp/controlplane/control_plane.h"
#include "aztp/services/identities.h"
#include "controlplane/api.h"
#include "controlplane/route_table.h"
#include "hosted_wire.h"

namespace aztp::compat::hosted {

using aztp::internal::RouteCall;
using aztp::internal::RouteTable;

// Backend is what the hosted routes call: the control plane's services.
struct Backend {
  ControlPlane::Services& services;
};

// Logic is one hosted route: its answer, or an error that the dispatcher
// answers as an envelope with the error's status and code.
using Logic = std::function<Result<Answer>(RouteCall&)>;
// Handler makes a table handler of `logic`: the answer's envelope, sent
// with the answer's HTTP status.
aztp::internal::RouteHandler Handler(Logic logic);

void AddIdentityRoutes(RouteTable& table, const Backend& backend);
void AddFlowRoutes(RouteTable& table, const Backend& backend);
void AddPolicyRoutes(RouteTable& table, const Backend& backend);
void AddOidcRoutes(RouteTable& table, const Backend& backend);

// Invalid is a negative verification: an answer, not an error (HTTP 200,
// success false, data {"valid": false, "message"}), as the hosted SDK
// expects.
Answer Invalid(const std::string& code, const std::string& text);

// IdentityOf reads identity `id` with its links, as the caller may.
Result<services::IdentityDetails> IdentityOf(const Backend& backend,
                                             const services::Principal& who,
                                             const SpiffeId& id);

// ConnectionUnderPolicy finishes a connection check with policyCode
// `policy` (hosted_policies.cc): the policy must be attached to `to` and
// allow `from` the action "connect".
Result<Answer> ConnectionUnderPolicy(const Backend& backend,
                                     const RouteCall& call,
                                     const SpiffeId& from, const SpiffeId& to,
                                     const std::string& policy);

}  // namespace aztp::compat::hosted

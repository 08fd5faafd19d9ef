// The gate's decisions on the calls of an agent protocol (MCP, A2A) that a
// POST on an `mcp` or `a2a` route carries (docs/mcp.md "How a call is
// decided"), free of any networking like the gate itself: the request was
// allowed on the route's own action (Gate::Check); then each call, and each
// element of a batch, needs its own action (proxy/jsonrpc.h) covered by the
// chain and allowed by the policies, and is audited on its own.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "aztp/audit/audit.h"
#include "aztp/policy/policy.h"
#include "aztp/proxy/gate.h"
#include "aztp/proxy/jsonrpc.h"

namespace aztp {

// RpcActionsOf and RpcProtocolOf are those of an mcp or a2a route.
RpcActions RpcActionsOf(const ProxyRoute& route);
RpcProtocol RpcProtocolOf(const ProxyRoute& route);

// PolicyArgumentNames are the names <n> of the `request:<n>` keys that a
// condition of `policies` names: the only arguments of a call the proxy
// reads (a policy asks for each by name).
std::vector<std::string> PolicyArgumentNames(
    const std::vector<const Policy*>& policies);

// RpcVerdict is the decision on one call.
struct RpcVerdict {
  bool allowed = false;
  // "" when allowed, else capability_not_granted or policy_denied.
  std::string reason;
  std::string message;  // why, for the caller and the log
  std::optional<Decision> decision;
};

// DecideRpcCall decides `call` of a request the gate allowed (`outcome`:
// its chain and route): its action must be covered by the chain's
// capabilities and allowed by `policies` on the chain's context plus
// aztp:RpcMethod, aztp:RpcTarget (when the call has a target) and, for each
// of `argument_names` that the call's arguments hold with a string,
// number, boolean or list of strings, request:<name>.
RpcVerdict DecideRpcCall(const GateOutcome& outcome, const RpcCall& call,
                         const std::vector<const Policy*>& policies,
                         const std::vector<std::string>& argument_names,
                         UnixTime now);

// RpcCallAudit is the audit record of one call's decision: the request's
// (GateOutcome::Audit) with the call's action, decision and reason, and
// `details.rpc` = {"protocol", "method", "target"} (never its arguments).
AuditRecord RpcCallAudit(const SpiffeId& self, const InboundRequest& request,
                         const GateOutcome& outcome, const RpcCall& call,
                         const RpcVerdict& verdict, UnixTime now);

// RpcRefusal is the JSON-RPC error answering refused `call` (its own id;
// null for a notification or a response, which get no answer of their own).
Json RpcRefusal(const RpcCall& call, const RpcVerdict& verdict);

}  // namespace aztp

#include "aztp/proxy/rpc_gate.h"

#include <set>
#include <utility>

namespace aztp {
namespace {

constexpr std::string_view kRequestPrefix = "request:";

// AddArgument sets request:<name> from `value` when it is of a type a
// condition can compare; other values stay out (a condition on them then
// fails as on an absent key).
void AddArgument(PolicyContext& context, const std::string& name,
                 const Json& value) {
  std::string key = std::string(kRequestPrefix) + name;
  if (value.is_string()) {
    context.SetString(std::move(key), value.get<std::string>());
  } else if (value.is_boolean()) {
    context.SetBool(std::move(key), value.get<bool>());
  } else if (value.is_number_integer()) {
    context.SetInteger(std::move(key), value.get<int64_t>());
  } else if (value.is_number_unsigned() || value.is_number_float()) {
    context.SetDouble(std::move(key), value.get<double>());
  } else if (value.is_array()) {
    std::vector<std::string> items;
    for (const Json& item : value) {
      if (!item.is_string()) return;
      items.push_back(item.get<std::string>());
    }
    context.SetList(std::move(key), std::move(items));
  }
}

}  // namespace

RpcActions RpcActionsOf(const ProxyRoute& route) {
  return RpcActions{route.tool_action, route.resource_action,
                    route.prompt_action, route.method_action, route.action};
}

RpcProtocol RpcProtocolOf(const ProxyRoute& route) {
  return route.protocol == ProxyRoute::Protocol::kA2a ? RpcProtocol::kA2a
                                                      : RpcProtocol::kMcp;
}

std::vector<std::string> PolicyArgumentNames(
    const std::vector<const Policy*>& policies) {
  std::set<std::string> names;
  for (const Policy* policy : policies) {
    if (policy == nullptr) continue;
    for (const Statement& s : policy->statements()) {
      for (const Condition& c : s.conditions()) {
        if (c.key().starts_with(kRequestPrefix)) {
          names.insert(c.key().substr(kRequestPrefix.size()));
        }
      }
    }
  }
  return {names.begin(), names.end()};
}

RpcVerdict DecideRpcCall(const GateOutcome& outcome, const RpcCall& call,
                         const std::vector<const Policy*>& policies,
                         const std::vector<std::string>& argument_names,
                         UnixTime now) {
  PolicyRequest p;
  p.action = call.action;
  p.resource = outcome.route != nullptr ? outcome.route->resource : "*";
  if (!call.method.empty()) {
    p.context.SetString(std::string(kRpcMethodKey), call.method);
  }
  if (!call.target.empty()) {
    p.context.SetString(std::string(kRpcTargetKey), call.target);
  }
  if (call.arguments) {
    for (const std::string& name : argument_names) {
      auto it = call.arguments->find(name);
      if (it != call.arguments->end()) AddArgument(p.context, name, *it);
    }
  }
  Decision d = AuthorizeChain(*outcome.chain, policies, p, now);
  RpcVerdict v;
  v.allowed = d.allowed();
  if (!v.allowed) {
    v.reason = d.basis == DecisionBasis::kNotCovered ? "capability_not_granted"
                                                     : "policy_denied";
    v.message = d.reason;
  }
  v.decision = std::move(d);
  return v;
}

AuditRecord RpcCallAudit(const SpiffeId& self, const InboundRequest& request,
                         const GateOutcome& outcome, const RpcCall& call,
                         const RpcVerdict& verdict, UnixTime now) {
  AuditRecord a = outcome.Audit(self, request, now);
  const Decision* d = verdict.decision ? &*verdict.decision : nullptr;
  a.decision = !verdict.allowed                                ? "deny"
               : d != nullptr && d->verdict == Verdict::kAudit ? "audit"
                                                               : "allow";
  a.reason = verdict.allowed ? (d != nullptr ? d->reason : "") : verdict.reason;
  Json& details = a.details;
  details["action"] = call.action;
  details["rpc"] = Json{
      {"protocol", outcome.route != nullptr &&
                           outcome.route->protocol == ProxyRoute::Protocol::kA2a
                       ? "a2a"
                       : "mcp"},
      {"method", call.response ? "(response)" : call.method},
      {"target", call.target}};
  details.erase("statement");
  details.erase("sid");
  if (d != nullptr && d->statement_index) {
    details["statement"] = *d->statement_index;
  }
  if (d != nullptr && d->sid) details["sid"] = *d->sid;
  if (!verdict.allowed) {
    details["message"] = verdict.message;
    if (outcome.chain) details["hop"] = outcome.chain->depth();
  }
  return a;
}

Json RpcRefusal(const RpcCall& call, const RpcVerdict& verdict) {
  return RpcError(call.id && !call.response ? *call.id : Json(nullptr),
                  kRpcRefused, verdict.reason,
                  "aztp-proxy refused " +
                      (call.target.empty() ? QuoteInput(call.method)
                                           : QuoteInput(call.target)) +
                      ": " + verdict.message);
}

}  // namespace aztp

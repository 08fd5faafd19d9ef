// JSON-RPC 2.0 requests of the agents' own protocols, MCP (Model Context
// Protocol, streamable HTTP transport) and A2A (Agent2Agent), read as
// aztp-proxy decides them: one POST carries one request or a batch, and
// each call names an action that the chain must grant and the policy allow,
// like a route's action does (issue 17: per-tool control; not yet wired
// into the proxy's routes).
//
// Actions. A call's action comes from a template of its route:
//   tools/call      `tool`      with {name} = params.name
//   resources/read, resources/subscribe, resources/unsubscribe
//                   `resource`  with {name} = params.uri
//   prompts/get     `prompt`    with {name} = params.name
//   MCP's session   `session`   (the route's own action): initialize,
//                   ping, notifications/initialized, notifications/cancelled,
//                   notifications/progress, notifications/roots/list_changed,
//                   the listings tools/list, resources/list and prompts/list
//                   (whose answers are filtered: FilterRpcList), and
//                   responses to the server's own requests
//   other methods   `method`    with {method} = the method
// (A2A has only `method`.) The value put in a template is made into
// capability segments (protocol §3.3) without losing anything: a method's
// `/` becomes `:` (so `payments:mcp:tools:*` covers every tools/ method),
// every byte outside `A-Z a-z 0-9 . - _` becomes `_` and two uppercase
// hex digits, and so does a `_` that two uppercase hex digits follow (so
// `slow_report` stays as it is, `a_3Ab` is `a_5F3Ab`, `a:b` is `a_3Ab`);
// the empty value is `_` (and `_` alone `_5F`). Two different names never
// give the same action (DecodeRpcSegment undoes it), and a name is always
// one segment (a URI's `:` and `/` are escaped), so `payments:resource:*`
// covers them all.
//
// Strictness. The body is strict JSON (duplicate keys refused, as
// everywhere in aztp); every element is an object with "jsonrpc": "2.0";
// an id is a string or an integer (never null); params, when present, an
// object or an array; a call whose target is needed names it as a
// non-empty string. A batch holds 1 to kMaxBatch elements. An element
// without `method` that has `result` or `error` is a response (an MCP
// client answering the server's own request): it carries no action.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/encoding/json.h"

namespace aztp {

enum class RpcProtocol { kMcp, kA2a };

// RpcActions are a route's action templates (see the top of this file).
struct RpcActions {
  std::string tool;
  std::string resource;
  std::string prompt;
  std::string method;
  std::string session;  // MCP: the route's action itself
};

// RpcCall is one element of a request body.
struct RpcCall {
  std::optional<Json> id;  // absent: a notification (no answer is sent)
  std::string method;      // empty for a response
  std::string target;      // tool name, resource URI or prompt name, or ""
  std::string action;      // the session action for a response (MCP)
  bool response = false;
  // arguments: params.arguments of tools/call and prompts/get when it is
  // an object (what a policy may name, one argument at a time).
  std::optional<Json> arguments;
};

// RpcBody is a parsed request body.
struct RpcBody {
  bool batch = false;
  std::vector<RpcCall> calls;
  Json document;  // the body as parsed (an element per call when a batch)
};

// kMaxRpcBatch bounds the elements of a batch.
inline constexpr std::size_t kMaxRpcBatch = 100;

// CheckRpcActions checks that every template a protocol uses makes a valid
// capability (kInvalidArgument naming the template otherwise): its only
// placeholders are {name} (tool, resource, prompt) and {method} (method);
// MCP's session action has none.
Status CheckRpcActions(RpcProtocol protocol, const RpcActions& actions);

// ParseRpcBody reads a request body and names each call's action.
// kMalformed for what breaks the rules above (JSON-RPC's "invalid
// request"), kTooLarge for a batch over kMaxRpcBatch or an action over
// Capability::kMaxBytes. Messages never quote arguments.
Result<RpcBody> ParseRpcBody(std::string_view body, RpcProtocol protocol,
                             const RpcActions& actions);

// RpcListAllowed says whether the caller may see the entry of a list: the
// call that would use it (tools/call, resources/read or prompts/get, with
// its target and action, without arguments) would be allowed.
using RpcListAllowed = std::function<bool(const RpcCall& call)>;

// FilterRpcList filters the `result` of an MCP listing in place, so that a
// caller never learns of what it may not use: tools/list keeps the
// `tools` whose `name`, resources/list the `resources` whose `uri`, and
// prompts/list the `prompts` whose `name` makes an action (the route's
// tool, resource or prompt template) that `allowed` accepts. An entry
// without a string name is dropped (fail closed). Other methods, and
// results without the list, are left alone. Returns how many entries were
// dropped.
std::size_t FilterRpcList(std::string_view method, const RpcActions& actions,
                          Json& result, const RpcListAllowed& allowed);

// EncodeRpcSegment makes `value` one capability segment (see the top);
// DecodeRpcSegment gives it back (nullopt for what no value encodes to).
std::string EncodeRpcSegment(std::string_view value);
std::optional<std::string> DecodeRpcSegment(std::string_view segment);

// JSON-RPC error codes the proxy answers with (JSON-RPC 2.0 §5.1). A
// refusal's -32040 is in the range left to implementations, and used by
// neither MCP (-32000, -32001, -32042) nor A2A (-32001 to -32009); an
// unknown MCP session gets -32001, as the MCP SDK's own servers answer it.
inline constexpr int kRpcParseError = -32700;
inline constexpr int kRpcInvalidRequest = -32600;
inline constexpr int kRpcRefused = -32040;
inline constexpr int kRpcUnknownSession = -32001;

// RpcError is the error response to call `id` (null when the request's id
// could not be read): {"jsonrpc": "2.0", "id", "error": {"code", "message",
// "data": {"reason"}}}, `reason` being aztp's stable reason.
Json RpcError(const Json& id, int code, std::string_view reason,
              std::string_view message);

}  // namespace aztp

// JSON-RPC 2.0 requests of the agents' own protocols, MCP (Model Context
// Protocol, streamable HTTP transport) and A2A (Agent2Agent), read as
// aztp-proxy decides them: one POST carries one request or a batch, and
// each call names an action that the chain must grant and the policy allow,
// like a route's action does (issue 17: per-tool control; not yet wired
// into the proxy's routes).
//
// Actions. A call's action comes from a template of its route:
//   tools/call      `tool`      with {name} = params.name
//   resources/read  `resource`  with {name} = params.uri
//   prompts/get     `prompt`    with {name} = params.name
//   other methods   `method`    with {method} = the method
// (A2A has only `method`.) The value put in a template is made into
// capability segments (protocol §3.3) without losing anything: a method's
// `/` becomes `:` (so `payments:mcp:tools:*` covers every tools/ method),
// every byte outside `A-Z a-z 0-9 . -` becomes `_` and two uppercase hex
// digits (`_` itself is `_5F`), and an empty segment is `_`. Two different
// names never give the same action, and a name is always one segment (a
// URI's `:` and `/` are escaped), so `payments:resource:*` covers them all.
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
};

// RpcCall is one element of a request body.
struct RpcCall {
  std::optional<Json> id;  // absent: a notification (no answer is sent)
  std::string method;      // empty for a response
  std::string target;      // tool name, resource URI or prompt name, or ""
  std::string action;      // empty for a response
  bool response = false;
};

// RpcBody is a parsed request body.
struct RpcBody {
  bool batch = false;
  std::vector<RpcCall> calls;
};

// kMaxRpcBatch bounds the elements of a batch.
inline constexpr std::size_t kMaxRpcBatch = 100;

// CheckRpcActions checks that every template a protocol uses makes a valid
// capability (kInvalidArgument naming the template otherwise): its only
// placeholders are {name} (tool, resource, prompt) and {method} (method).
Status CheckRpcActions(RpcProtocol protocol, const RpcActions& actions);

// ParseRpcBody reads a request body and names each call's action.
// kMalformed for what breaks the rules above (JSON-RPC's "invalid
// request"), kTooLarge for a batch over kMaxRpcBatch or an action over
// Capability::kMaxBytes. Messages never quote arguments.
Result<RpcBody> ParseRpcBody(std::string_view body, RpcProtocol protocol,
                             const RpcActions& actions);

// RpcListAllowed says whether the caller may see (and so call) the entry
// of a list whose action and name are given.
using RpcListAllowed =
    std::function<bool(const std::string& action, const std::string& name)>;

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

// EncodeRpcSegment makes `value` one capability segment (see the top).
std::string EncodeRpcSegment(std::string_view value);

// JSON-RPC error codes the proxy answers with (JSON-RPC 2.0 §5.1; -32001
// is in the range left to implementations).
inline constexpr int kRpcParseError = -32700;
inline constexpr int kRpcInvalidRequest = -32600;
inline constexpr int kRpcRefused = -32001;

// RpcError is the error response to call `id` (null when the request's id
// could not be read): {"jsonrpc": "2.0", "id", "error": {"code", "message",
// "data": {"reason"}}}, `reason` being aztp's stable reason.
Json RpcError(const Json& id, int code, std::string_view reason,
              std::string_view message);

}  // namespace aztp

// What aztp-proxy changes in the exchange of a POST on an mcp or a2a route
// (docs/mcp.md): the calls it forwards (the allowed ones of a batch), and
// the answer: listings filtered (also inside an event stream) and the
// refused calls' errors added. Free of networking (the relay is in
// runtime_rpc.cc), so that it is tested and fuzzed on its own.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/encoding/json.h"
#include "aztp/proxy/jsonrpc.h"
#include "aztp/proxy/sse.h"

namespace aztp::internal {

// RpcExchange is what the proxy keeps of a forwarded request's calls.
struct RpcExchange {
  bool batch = false;
  RpcActions actions;
  // listings: the method of each allowed MCP listing, by its id
  // (DumpJson of the id).
  std::map<std::string, std::string> listings;
  // guess_listings: an MCP GET stream, whose responses (sent on resuming)
  // answer requests of earlier POSTs: a result holding `tools`,
  // `resources` or `prompts` is filtered as that listing.
  bool guess_listings = false;
  // refusals are the errors answering the refused calls that have an id.
  std::vector<Json> refusals;
  RpcListAllowed allowed;

  bool changes_answer() const {
    return !listings.empty() || guess_listings || !refusals.empty();
  }
};

// ForwardedBody is the body sent upstream for `body` (parsed from
// `original`) when only the calls flagged in `allowed` go: the original
// bytes when every call goes, else the batch of those elements.
std::string ForwardedBody(std::string_view original, const RpcBody& body,
                          const std::vector<bool>& allowed);

// RefusalsBody answers a request none of whose calls went upstream: the
// refusal (a single request) or the array of refusals (a batch).
std::string RefusalsBody(const RpcExchange& x);

// FilterRpcMessage filters the listing that JSON-RPC message `msg`
// answers, if it answers one; returns whether it changed.
bool FilterRpcMessage(Json& msg, const RpcExchange& x);

// RewriteJsonAnswer is a JSON answer's body with its listings filtered and
// the refusals added (a single answer with refusals becomes a batch's
// array); nullopt when the body is not a JSON-RPC answer (the proxy then
// refuses to pass it on: it cannot tell what it would reveal).
std::optional<std::string> RewriteJsonAnswer(std::string_view body,
                                             const RpcExchange& x);

// RefusalEvents are the refusals as events of a stream, sent before the
// upstream's own.
std::string RefusalEvents(const RpcExchange& x);

// RewriteEvent is what is passed on for one event of an answer's stream:
// its own bytes, unless its data is a listing's answer to filter (then it
// is rendered again, its event name and id kept). While listings are
// filtered, an event whose data is not JSON is dropped ("").
std::string RewriteEvent(const SseEvent& e, const RpcExchange& x);

}  // namespace aztp::internal

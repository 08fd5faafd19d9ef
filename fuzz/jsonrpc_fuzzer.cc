// Fuzzes the JSON-RPC mapping of MCP and A2A requests (proxy/jsonrpc.h)
// with untrusted bodies: every body either parses into calls whose actions
// are valid, non-wildcard capabilities (one per call that is not a
// response), or fails with a documented error of bounded length. Read as a
// listing's result (from the upstream server), it is filtered without
// losing count of what was dropped; read as a whole answer or an event
// stream, it is rewritten (listings filtered, refusals added) into JSON or
// whole events again.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "aztp/chain/capability.h"
#include "aztp/proxy/jsonrpc.h"
#include "aztp/proxy/sse.h"
#include "proxy/rpc_answer.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

const aztp::RpcActions kActions{"t:tool:{name}", "t:resource:{name}",
                                "t:prompt:{name}", "t:mcp:{method}", "t:mcp"};

void CheckBody(std::string_view body, aztp::RpcProtocol protocol) {
  auto parsed = aztp::ParseRpcBody(body, protocol, kActions);
  if (!parsed) {
    const auto code = parsed.error().code();
    Check(code == aztp::Code::kMalformed || code == aztp::Code::kTooLarge);
    Check(parsed.error().message().size() <= 1024);
    return;
  }
  Check(!parsed->calls.empty());
  Check(parsed->calls.size() <= aztp::kMaxRpcBatch);
  Check(parsed->batch || parsed->calls.size() == 1);
  for (const auto& call : parsed->calls) {
    if (call.response) {
      // An answer to the server's own request (MCP): the session's action.
      Check(call.id.has_value() &&
            call.action == (protocol == aztp::RpcProtocol::kMcp
                                ? kActions.session
                                : std::string()));
      continue;
    }
    auto cap = aztp::Capability::Parse(call.action);
    Check(cap.has_value() && !cap->IsWildcard());
    Check(!call.method.empty());
  }
}

// CheckFilter filters `body`, read as a listing's result, for each listing
// method: what stays has a string name the predicate accepted.
void CheckFilter(std::string_view body) {
  auto doc = aztp::ParseJson(body);
  if (!doc) return;
  for (const char* method : {"tools/list", "resources/list", "prompts/list"}) {
    aztp::Json result = *doc;
    const std::size_t before = result.is_object() && result.contains("tools") &&
                                       result["tools"].is_array()
                                   ? result["tools"].size()
                                   : 0;
    std::size_t accepted = 0;
    const std::size_t dropped = aztp::FilterRpcList(
        method, kActions, result, [&](const aztp::RpcCall& use) {
          const std::string& action = use.action;
          Check(aztp::Capability::Parse(action).has_value() ||
                action.size() > 256);
          Check(!use.target.empty() || action.ends_with(":_"));
          return (++accepted % 2) == 1;
        });
    if (std::string_view(method) == "tools/list" && before > 0) {
      Check(result["tools"].size() + dropped == before);
    }
  }
}

}  // namespace

// CheckAnswer rewrites `body` read as an app's answer, JSON or an event
// stream, as the proxy does for a request with a listing and a refusal:
// what comes out is JSON again, or whole events.
void CheckAnswer(std::string_view body) {
  aztp::internal::RpcExchange x;
  x.actions = kActions;
  x.listings["1"] = "tools/list";
  x.guess_listings = body.size() % 2 == 0;
  x.refusals.push_back(
      aztp::RpcError(aztp::Json(2), aztp::kRpcRefused, "policy_denied", "m"));
  x.allowed = [](const aztp::RpcCall& use) {
    return use.target.size() % 2 == 0;
  };
  if (auto out = aztp::internal::RewriteJsonAnswer(body, x)) {
    Check(aztp::ParseJson(*out, aztp::JsonLimits{out->size() + 1, 128})
              .has_value());
  }
  aztp::SseReader reader;
  auto events = reader.Feed(body);
  if (!events) return;
  for (const aztp::SseEvent& e : *events) {
    const std::string out = aztp::internal::RewriteEvent(e, x);
    Check(out.empty() || out.back() == '\n' || out.back() == '\r');
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  CheckBody(body, aztp::RpcProtocol::kMcp);
  CheckBody(body, aztp::RpcProtocol::kA2a);
  CheckFilter(body);
  CheckAnswer(body);
  // An encoded segment is always one valid capability segment.
  const std::string segment = aztp::EncodeRpcSegment(body);
  auto cap = aztp::Capability::Parse("x:" + segment);
  Check(size > 84 || cap.has_value());  // 84 bytes escape to at most 252
  // It is undone exactly (so two names never share one).
  Check(aztp::DecodeRpcSegment(segment) == std::optional<std::string>(body));
  return 0;
}

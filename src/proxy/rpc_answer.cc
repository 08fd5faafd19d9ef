#include "proxy/rpc_answer.h"

#include <utility>

namespace aztp::internal {
namespace {

// kMaxAnswerDepth bounds the nesting of an answer read here (a tool's
// result included).
constexpr int kMaxAnswerDepth = 64;

// GuessListing names the listing a result holds by its shape, or "".
std::string_view GuessListing(const Json& result) {
  if (!result.is_object()) return "";
  if (result.contains("tools")) return "tools/list";
  if (result.contains("resources")) return "resources/list";
  if (result.contains("prompts")) return "prompts/list";
  if (result.contains("resourceTemplates")) return "resources/templates/list";
  return "";
}

}  // namespace

std::string ForwardedBody(std::string_view original, const RpcBody& body,
                          const std::vector<bool>& allowed) {
  bool all = true;
  for (bool a : allowed) all = all && a;
  if (all) return std::string(original);
  Json kept = Json::array();
  for (std::size_t i = 0; i < allowed.size(); ++i) {
    if (allowed[i])
      kept.push_back(body.batch ? body.document[i] : body.document);
  }
  return DumpJson(kept);
}

std::string RefusalsBody(const RpcExchange& x) {
  if (!x.batch && x.refusals.size() == 1) return DumpJson(x.refusals[0]);
  Json all = Json::array();
  for (const Json& r : x.refusals) all.push_back(r);
  return DumpJson(all);
}

bool FilterRpcMessage(Json& msg, const RpcExchange& x) {
  if (!msg.is_object()) return false;
  auto result = msg.find("result");
  auto id = msg.find("id");
  if (result == msg.end() || id == msg.end()) return false;
  const bool listing = x.listings.count(DumpJson(*id)) > 0 ||
                       (x.guess_listings && !GuessListing(*result).empty());
  if (!listing) return false;
  // Every kind of list the result holds is filtered, whichever listing the
  // call was: an answer never carries an unfiltered list.
  std::size_t dropped = 0;
  for (std::string_view method : {"tools/list", "resources/list",
                                  "prompts/list", "resources/templates/list"}) {
    dropped += FilterRpcList(method, x.actions, *result, x.allowed);
  }
  return dropped > 0;
}

std::optional<std::string> RewriteJsonAnswer(std::string_view body,
                                             const RpcExchange& x) {
  auto doc = ParseJson(body, JsonLimits{body.size() + 1, kMaxAnswerDepth});
  if (!doc || (!doc->is_object() && !doc->is_array())) return std::nullopt;
  if (doc->is_array()) {
    for (Json& msg : *doc) FilterRpcMessage(msg, x);
  } else {
    FilterRpcMessage(*doc, x);
  }
  if (!x.refusals.empty()) {
    if (!doc->is_array()) *doc = Json::array({std::move(*doc)});
    for (const Json& r : x.refusals) doc->push_back(r);
  }
  return DumpJson(*doc);
}

std::string RefusalEvents(const RpcExchange& x) {
  std::string out;
  for (const Json& r : x.refusals) {
    SseEvent e;
    e.event = "message";
    e.data = DumpJson(r);
    e.has_data = true;
    out += RenderSseEvent(e);
  }
  return out;
}

std::string RewriteEvent(const SseEvent& e, const RpcExchange& x) {
  if (!e.has_data || (x.listings.empty() && !x.guess_listings)) return e.raw;
  auto msg = ParseJson(e.data, JsonLimits{e.data.size() + 1, kMaxAnswerDepth});
  // Data the proxy cannot read while it filters is not passed on: it could
  // be a listing a client reads more leniently.
  if (!msg) return "";
  if (!FilterRpcMessage(*msg, x)) return e.raw;
  SseEvent out = e;
  out.data = DumpJson(*msg);
  return RenderSseEvent(out);
}

}  // namespace aztp::internal

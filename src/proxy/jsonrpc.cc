#include "aztp/proxy/jsonrpc.h"

#include <cstdlib>
#include <set>
#include <utility>

#include "aztp/chain/capability.h"

namespace aztp {
namespace {

// kMaxRpcBody bounds a body's JSON; kMaxRpcDepth its nesting (arguments
// included).
constexpr std::size_t kMaxRpcBody = 4 << 20;
constexpr int kMaxRpcDepth = 64;

bool Kept(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// EscapeAt: the `_` at `i` would read as an escape (two uppercase hex
// digits follow).
bool EscapeAt(std::string_view s, std::size_t i) {
  return i + 2 < s.size() && HexDigit(s[i + 1]) >= 0 && HexDigit(s[i + 2]) >= 0;
}

// MethodSegments encodes a method, each `/`-separated part one segment.
std::string MethodSegments(std::string_view method) {
  std::string out;
  for (std::size_t start = 0;;) {
    std::size_t slash = method.find('/', start);
    if (start > 0) out += ':';
    out += EncodeRpcSegment(method.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

// Fill replaces `placeholder` in `tmpl` by `value` (already encoded).
std::string Fill(const std::string& tmpl, std::string_view placeholder,
                 const std::string& value) {
  std::string out = tmpl;
  for (std::size_t at = out.find(placeholder); at != std::string::npos;
       at = out.find(placeholder, at + value.size())) {
    out.replace(at, placeholder.size(), value);
  }
  return out;
}

Error Invalid(std::size_t index, bool batch, std::string_view problem) {
  std::string where = batch ? "element " + std::to_string(index) + ": " : "";
  return Error(Code::kMalformed,
               "JSON-RPC request: " + where + std::string(problem));
}

// Kind is how a method is made an action: its template and the member of
// params that names its target (null: the method itself is the value).
struct Kind {
  const std::string* tmpl;
  const char* member;
};

// kMcpSession are the MCP methods of the session itself (the top of
// jsonrpc.h).
constexpr std::string_view kMcpSession[] = {
    "initialize",
    "ping",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/roots/list_changed",
    "tools/list",
    "resources/list",
    "resources/templates/list",
    "prompts/list",
};

// kMaxId bounds an integer id: 2^53 - 1, beyond which a JavaScript peer
// (the SDKs) would not read the id the proxy matched.
constexpr int64_t kMaxId = (int64_t{1} << 53) - 1;

// CompletionKind: completion/complete is decided as a use of the prompt or
// resource its `ref` names (a completion reveals what they take).
Result<Kind> CompletionKind(const Json* params, const RpcActions& a,
                            const Json*& ref) {
  ref = nullptr;
  if (params != nullptr && params->is_object()) {
    auto it = params->find("ref");
    if (it != params->end() && it->is_object()) ref = &*it;
  }
  auto type = ref ? ref->find("type") : Json::const_iterator();
  if (ref != nullptr && type != ref->end() && *type == "ref/prompt") {
    return Kind{&a.prompt, "name"};
  }
  if (ref != nullptr && type != ref->end() && *type == "ref/resource") {
    return Kind{&a.resource, "uri"};
  }
  return Error(Code::kMalformed,
               "completion/complete needs params.ref of type ref/prompt or "
               "ref/resource");
}

Kind KindOf(RpcProtocol protocol, std::string_view method,
            const RpcActions& a) {
  if (protocol == RpcProtocol::kMcp) {
    if (method == "tools/call") return {&a.tool, "name"};
    if (method == "resources/read" || method == "resources/subscribe" ||
        method == "resources/unsubscribe") {
      return {&a.resource, "uri"};
    }
    if (method == "prompts/get") return {&a.prompt, "name"};
    for (std::string_view m : kMcpSession) {
      if (method == m) return {&a.session, nullptr};
    }
  }
  return {&a.method, nullptr};
}

// Action names the action of a call of `method` with `target`.
Result<std::string> Action(const std::string& tmpl, const char* member,
                           std::string_view method, std::string_view target) {
  std::string action = member ? Fill(tmpl, "{name}", EncodeRpcSegment(target))
                              : Fill(tmpl, "{method}", MethodSegments(method));
  if (action.size() > Capability::kMaxBytes) {
    return Error(Code::kTooLarge, "JSON-RPC request: the action of " +
                                      QuoteInput(method) +
                                      " is longer than 256 bytes");
  }
  return action;
}

Result<RpcCall> ReadCall(const Json& e, std::size_t index, bool batch,
                         RpcProtocol protocol, const RpcActions& actions) {
  if (!e.is_object()) return Invalid(index, batch, "not an object");
  auto version = e.find("jsonrpc");
  if (version == e.end() || *version != "2.0") {
    return Invalid(index, batch, "\"jsonrpc\" must be \"2.0\"");
  }
  RpcCall call;
  if (auto id = e.find("id"); id != e.end()) {
    const bool integer =
        IsInteger(*id) &&
        (id->is_number_unsigned() ? id->get<uint64_t>() <= kMaxId
                                  : std::abs(id->get<int64_t>()) <= kMaxId);
    if (!id->is_string() && !integer) {
      return Invalid(index, batch,
                     "an id must be a string or an integer within 2^53");
    }
    call.id = *id;
  }
  auto method = e.find("method");
  if (method == e.end()) {
    if ((e.contains("result") || e.contains("error")) && call.id) {
      call.response = true;
      call.action = protocol == RpcProtocol::kMcp ? actions.session : "";
      return call;
    }
    return Invalid(index, batch, "no method");
  }
  if (!method->is_string() || method->get_ref<const std::string&>().empty()) {
    return Invalid(index, batch, "the method must be a non-empty string");
  }
  call.method = method->get<std::string>();
  auto params = e.find("params");
  if (params != e.end() && !params->is_object() && !params->is_array()) {
    return Invalid(index, batch, "params must be an object or an array");
  }
  Kind kind = KindOf(protocol, call.method, actions);
  // Where the target is named: params, or a completion's ref.
  const Json* holder =
      params != e.end() && params->is_object() ? &*params : nullptr;
  if (protocol == RpcProtocol::kMcp && call.method == "completion/complete") {
    const Json* ref = nullptr;
    auto completion = CompletionKind(holder, actions, ref);
    if (!completion) {
      return Invalid(index, batch, completion.error().message());
    }
    kind = *completion;
    holder = ref;
  }
  const char* member = kind.member;
  if (member != nullptr) {
    const Json* value = nullptr;
    if (holder != nullptr) {
      auto it = holder->find(member);
      if (it != holder->end()) value = &*it;
    }
    if (value == nullptr || !value->is_string() ||
        value->get_ref<const std::string&>().empty()) {
      return Invalid(
          index, batch,
          call.method + " needs params." + member + " as a non-empty string");
    }
    call.target = value->get<std::string>();
    if (params != e.end() && holder == &*params) {
      auto arguments = params->find("arguments");
      if (arguments != params->end() && arguments->is_object()) {
        call.arguments = *arguments;
      }
    }
  }
  AZTP_ASSIGN_OR_RETURN(call.action,
                        Action(*kind.tmpl, member, call.method, call.target));
  return call;
}

}  // namespace

std::string EncodeRpcSegment(std::string_view value) {
  if (value.empty()) return "_";
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char ch = value[i];
    auto c = static_cast<unsigned char>(ch);
    // A `_` is kept unless it would read as an escape, or is the whole
    // value (which stands for the empty one).
    const bool escape_underscore =
        c == '_' && (value.size() == 1 || EscapeAt(value, i));
    if (Kept(c) && !escape_underscore) {
      out += ch;
    } else {
      out += '_';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::optional<std::string> DecodeRpcSegment(std::string_view segment) {
  if (segment == "_") return std::string();
  std::string out;
  for (std::size_t i = 0; i < segment.size(); ++i) {
    const auto c = static_cast<unsigned char>(segment[i]);
    if (!Kept(c)) return std::nullopt;
    if (c == '_' && EscapeAt(segment, i)) {
      out += static_cast<char>(HexDigit(segment[i + 1]) * 16 +
                               HexDigit(segment[i + 2]));
      i += 2;
    } else {
      out += segment[i];
    }
  }
  return out;
}

Status CheckRpcActions(RpcProtocol protocol, const RpcActions& actions) {
  struct Use {
    const char* name;
    const std::string* tmpl;
    const char* placeholder;
  };
  std::vector<Use> uses = {{"method", &actions.method, "{method}"}};
  if (protocol == RpcProtocol::kMcp) {
    uses.push_back({"session", &actions.session, ""});
    uses.push_back({"tool", &actions.tool, "{name}"});
    uses.push_back({"resource", &actions.resource, "{name}"});
    uses.push_back({"prompt", &actions.prompt, "{name}"});
  }
  for (const Use& u : uses) {
    const std::string_view placeholder = u.placeholder;
    const std::string filled =
        placeholder.empty() ? *u.tmpl : Fill(*u.tmpl, placeholder, "x");
    if (filled.find('{') != std::string::npos ||
        filled.find('}') != std::string::npos ||
        !Capability::Parse(filled).has_value()) {
      return Error(
          Code::kInvalidArgument,
          std::string("action template ") + u.name + " " + QuoteInput(*u.tmpl) +
              " must make a capability, " +
              (placeholder.empty() ? std::string("without placeholders")
                                   : "with only " + std::string(placeholder)));
    }
  }
  return Ok();
}

Result<RpcBody> ParseRpcBody(std::string_view body, RpcProtocol protocol,
                             const RpcActions& actions) {
  auto doc = ParseJson(body, JsonLimits{kMaxRpcBody, kMaxRpcDepth});
  if (!doc) return doc.error().WithContext("JSON-RPC request");
  RpcBody out;
  out.batch = doc->is_array();
  if (out.batch && doc->empty()) {
    return Error(Code::kMalformed, "JSON-RPC request: an empty batch");
  }
  if (out.batch && doc->size() > kMaxRpcBatch) {
    return Error(Code::kTooLarge,
                 "JSON-RPC request: a batch of more than 100 calls");
  }
  const std::size_t n = out.batch ? doc->size() : 1;
  std::set<std::string> ids;
  for (std::size_t i = 0; i < n; ++i) {
    const Json& e = out.batch ? (*doc)[i] : *doc;
    AZTP_ASSIGN_OR_RETURN(RpcCall call,
                          ReadCall(e, i, out.batch, protocol, actions));
    // JSON-RPC 2.0 §6: ids tell the answers of a batch apart; a repeated
    // one would let an answer pass for another call's.
    if (call.id && !ids.insert(DumpJson(*call.id)).second) {
      return Invalid(i, out.batch, "repeats the id of an earlier element");
    }
    out.calls.push_back(std::move(call));
  }
  out.document = std::move(*doc);
  return out;
}

std::size_t FilterRpcList(std::string_view method, const RpcActions& actions,
                          Json& result, const RpcListAllowed& allowed) {
  struct Listing {
    std::string_view method;
    const char* list;
    const char* member;
    const std::string* tmpl;
    const char* call;  // the method that uses an entry
  };
  const Listing listings[] = {
      {"tools/list", "tools", "name", &actions.tool, "tools/call"},
      {"resources/list", "resources", "uri", &actions.resource,
       "resources/read"},
      {"prompts/list", "prompts", "name", &actions.prompt, "prompts/get"},
      {"resources/templates/list", "resourceTemplates", "uriTemplate",
       &actions.resource, "resources/read"},
  };
  for (const Listing& l : listings) {
    if (method != l.method) continue;
    if (!result.is_object()) return 0;
    auto list = result.find(l.list);
    if (list == result.end() || !list->is_array()) return 0;
    Json kept = Json::array();
    std::size_t dropped = 0;
    for (Json& entry : *list) {
      const Json* name = nullptr;
      if (entry.is_object()) {
        auto it = entry.find(l.member);
        if (it != entry.end() && it->is_string()) name = &*it;
      }
      RpcCall use;
      use.method = l.call;
      if (name != nullptr) {
        use.target = name->get<std::string>();
        use.action = Fill(*l.tmpl, "{name}", EncodeRpcSegment(use.target));
      }
      if (name != nullptr && allowed(use)) {
        kept.push_back(std::move(entry));
      } else {
        ++dropped;
      }
    }
    *list = std::move(kept);
    return dropped;
  }
  return 0;
}

Json RpcError(const Json& id, int code, std::string_view reason,
              std::string_view message) {
  return Json{{"jsonrpc", "2.0"},
              {"id", id},
              {"error",
               {{"code", code},
                {"message", std::string(message)},
                {"data", {{"reason", std::string(reason)}}}}}};
}

}  // namespace aztp

#include "aztp/config/proxy_config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "aztp/chain/capability.h"
#include "aztp/chain/verifier.h"
#include "aztp/http/address.h"
#include "aztp/http/target.h"
#include "aztp/proxy/jsonrpc.h"
#include "aztp/spiffeid/spiffe_id.h"
#include "config/proxy_replay.h"
#include "config/yaml_fields.h"

namespace aztp {

namespace {

using internal::BoolInto;
using internal::DurationWithinInto;
using internal::Field;
using internal::FileInto;
using internal::IntWithinInto;
using internal::Invalid;
using internal::Item;
using internal::kDay;
using internal::Key;
using internal::LogFormatInto;
using internal::LogLevelInto;
using internal::Malformed;
using internal::OptionalSection;
using internal::ReadMapping;
using internal::ReadString;
using internal::ReadStringList;
using internal::Section;

constexpr std::size_t kMaxRoutes = 256;
constexpr std::size_t kMaxRoutePathBytes = 1024;  // as in its message
constexpr std::size_t kMaxMethodBytes = 32;
// Actions and resources: the longest capability (protocol §3.3), as in
// CheckName's message.
constexpr std::size_t kMaxNameBytes = Capability::kMaxBytes;
static_assert(kMaxNameBytes == 256);
constexpr int64_t kMaxDelegationDepth = 15;

// Visible: printable ASCII other than the space (no whitespace, no control
// or non-ASCII byte).
bool Visible(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c > 0x20 && c < 0x7f; });
}

// ---- checks of single values (never empty: CheckedInto refuses that) ----

using Check = Status (*)(std::string_view value, const std::string& path);

// CheckedInto reads a non-empty string that `check` accepts.
Field CheckedInto(std::string& field, Check check) {
  return
      [&field, check](const YAML::Node& n, const std::string& path) -> Status {
        AZTP_ASSIGN_OR_RETURN(std::string s, ReadString(n, path));
        if (s.empty()) return Invalid(path, "must not be empty");
        AZTP_RETURN_IF_ERROR(check(s, path));
        field = std::move(s);
        return Ok();
      };
}

// Require is the verdict of a check: Ok, or "<path>: <want>, not <value>".
Status Require(bool ok, const std::string& path, std::string_view value,
               const std::string& want) {
  if (ok) return Ok();
  return Invalid(path, want + ", not " + QuoteInput(value));
}

Status CheckIdentity(std::string_view value, const std::string& path) {
  auto id = SpiffeId::Parse(value);
  if (!id) return Invalid(path, id.error().message());
  return Require(id->IsWorkload(), path, value,
                 "must be the SPIFFE ID of a workload "
                 "(spiffe://<trust-domain>/<path>), not of a trust domain");
}

Status CheckControlPlaneUrl(std::string_view value, const std::string& path) {
  auto url = http::ParseOrigin(value);
  return Require(url && url->scheme == "https" && url->explicit_port, path,
                 value, "must be https://host:port (no path)");
}

// FailoverUrlsInto reads control_plane.failover_urls: other replicas of
// the control plane, each like `url`.
Field FailoverUrlsInto(std::vector<std::string>& field) {
  return [&field](const YAML::Node& n, const std::string& path) -> Status {
    constexpr std::size_t kMaxReplicas = 16;
    AZTP_ASSIGN_OR_RETURN(field, ReadStringList(n, path, kMaxReplicas));
    for (std::size_t i = 0; i < field.size(); ++i) {
      AZTP_RETURN_IF_ERROR(
          CheckControlPlaneUrl(field[i], path + "[" + std::to_string(i) + "]"));
    }
    return Ok();
  };
}

Status CheckListen(std::string_view value, const std::string& path) {
  return Require(internal::ValidListen(value), path, value,
                 "must be host:port or [v6]:port");
}

// IsLoopback: an IPv4 address in 127.0.0.0/8, or [::1].
bool IsLoopback(const http::HostPort& hp) {
  if (hp.IsIpv6()) {
    in6_addr addr6;
    return inet_pton(AF_INET6, hp.host.c_str(), &addr6) == 1 &&
           IN6_IS_ADDR_LOOPBACK(&addr6);
  }
  unsigned char addr4[4];
  return inet_pton(AF_INET, hp.host.c_str(), addr4) == 1 && addr4[0] == 127;
}

Status CheckLoopbackListen(std::string_view value, const std::string& path) {
  auto hp = http::ParseListenAddress(value);
  return Require(hp && IsLoopback(*hp), path, value,
                 "must be a loopback address and port (127.0.0.1:port or "
                 "[::1]:port)");
}

// LocalUpstream: http:// to this host, so that what the proxy forwards
// never crosses the network in clear; no path but "/".
bool LocalUpstream(std::string_view value) {
  auto url = http::ParseUrl(value);
  if (!url || url->scheme != "http" || !url->explicit_port ||
      url->Target() != "/") {
    return false;
  }
  const std::string& host = url->address.host;
  return url->address.IsIpv6() ? host == "::1"
                               : host == "127.0.0.1" || host == "localhost";
}

Status CheckUpstream(std::string_view value, const std::string& path) {
  return Require(LocalUpstream(value), path, value,
                 "must be http://127.0.0.1:port, http://[::1]:port or "
                 "http://localhost:port (the app on this host)");
}

// CheckMethod: "*", or an HTTP method token (RFC 9110 §9.1) in upper case.
Status CheckMethod(std::string_view value, const std::string& path) {
  bool token = value.size() <= kMaxMethodBytes &&
               std::all_of(value.begin(), value.end(), [](char c) {
                 return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        std::string_view("!#$%&'+-.^_`|~").find(c) !=
                            std::string_view::npos;
               });
  return Require(value == "*" || token, path, value,
                 "must be * or an HTTP method in upper case (GET, POST, ...)");
}

// RoutePathProblem says what is wrong with a route's path, if anything: it
// must be "/", or '/'-separated non-empty segments, each a literal, "*",
// or (last only) "**".
const char* RoutePathProblem(std::string_view p) {
  if (p.front() != '/') return "must start with '/'";
  if (p.size() > kMaxRoutePathBytes) return "must be at most 1024 bytes";
  if (p.find_first_of("?#") != std::string_view::npos) {
    return "must not contain '?' or '#' (routes match the path without the "
           "query)";
  }
  if (!Visible(p)) return "must be printable ASCII without whitespace";
  if (p == "/") return nullptr;
  std::size_t start = 1;
  while (true) {
    std::size_t slash = p.find('/', start);
    bool last = slash == std::string_view::npos;
    std::string_view segment =
        p.substr(start, last ? std::string_view::npos : slash - start);
    if (segment.empty()) {
      return "must not have an empty segment (\"//\" or a final '/')";
    }
    if (segment == "." || segment == "..") {
      return "must not have a . or .. segment";
    }
    // A literal must be spelled as requests must be (http/target.h), or
    // no request could match it.
    if (segment != "*" && segment != "**" &&
        !http::CheckPath("/" + std::string(segment))) {
      return "must be spelled as the proxy accepts request paths: no ';', "
             "'\\', or percent-encoded '.', '/', '\\', ';', control or "
             "unreserved characters";
    }
    if (segment == "**" && !last) return "may have ** only as its last segment";
    if (segment != "*" && segment != "**" &&
        segment.find('*') != std::string_view::npos) {
      return "may have * and ** only as whole segments";
    }
    if (last) return nullptr;
    start = slash + 1;
  }
}

Status CheckRoutePath(std::string_view value, const std::string& path) {
  const char* problem = RoutePathProblem(value);
  return Require(problem == nullptr, path, value, problem ? problem : "");
}

// CheckName: an action or resource, at most kMaxNameBytes without
// whitespace.
Status CheckName(std::string_view value, const std::string& path) {
  AZTP_RETURN_IF_ERROR(Require(value.size() <= kMaxNameBytes, path, value,
                               "must be at most 256 bytes"));
  return Require(Visible(value), path, value,
                 "must be printable ASCII without whitespace");
}

// CheckAction: the action is also the capability a chain must grant
// (AuthorizeChain), so it must parse as one.
Status CheckAction(std::string_view value, const std::string& path) {
  AZTP_RETURN_IF_ERROR(CheckName(value, path));
  auto capability = Capability::Parse(value);
  if (!capability) return Invalid(path, capability.error().message());
  return Ok();
}

// ProtocolInto reads a route's `protocol`: http, mcp or a2a.
Field ProtocolInto(ProxyRoute::Protocol& protocol) {
  return [&protocol](const YAML::Node& n, const std::string& path) -> Status {
    AZTP_ASSIGN_OR_RETURN(std::string s, ReadString(n, path));
    if (s == "http") {
      protocol = ProxyRoute::Protocol::kHttp;
    } else if (s == "mcp") {
      protocol = ProxyRoute::Protocol::kMcp;
    } else if (s == "a2a") {
      protocol = ProxyRoute::Protocol::kA2a;
    } else {
      return Invalid(path, "must be http, mcp or a2a, not " + QuoteInput(s));
    }
    return Ok();
  };
}

// FinishProtocol checks the keys of an agent protocol's route and fills in
// the templates it left out (ProxyRoute).
Status FinishProtocol(ProxyRoute& route, const std::string& item) {
  using Protocol = ProxyRoute::Protocol;
  struct Template {
    const char* key;
    std::string* value;
    const char* suffix;
    bool mcp_only;
  };
  const Template templates[] = {
      {"tool_action", &route.tool_action, ":tool:{name}", true},
      {"resource_action", &route.resource_action, ":resource:{name}", true},
      {"prompt_action", &route.prompt_action, ":prompt:{name}", true},
      {"method_action", &route.method_action, ":{method}", false}};
  for (const Template& t : templates) {
    const bool used = route.protocol == Protocol::kMcp ||
                      (route.protocol == Protocol::kA2a && !t.mcp_only);
    if (!used) {
      if (!t.value->empty()) {
        return Invalid(item + "." + t.key,
                       "is only for routes of protocol mcp" +
                           std::string(t.mcp_only ? "" : " or a2a"));
      }
      continue;
    }
    if (t.value->empty()) *t.value = route.action + t.suffix;
  }
  if (!route.agent_card.empty() && route.protocol != Protocol::kA2a) {
    return Invalid(item + ".agent_card", "is only for routes of protocol a2a");
  }
  if (route.protocol == Protocol::kHttp) return Ok();
  RpcActions actions{route.tool_action, route.resource_action,
                     route.prompt_action, route.method_action, route.action};
  if (Status st =
          CheckRpcActions(route.protocol == Protocol::kMcp ? RpcProtocol::kMcp
                                                           : RpcProtocol::kA2a,
                          actions);
      !st) {
    return Invalid(item, st.error().message());
  }
  return Ok();
}

// ---- lists ----

Status ReadRoutes(const YAML::Node& n, const std::string& path,
                  std::vector<ProxyRoute>& routes) {
  routes.clear();
  if (n.IsNull()) return Ok();  // "at least one" is checked afterwards
  if (!n.IsSequence()) return Malformed(path, "must be a list of routes");
  if (n.size() > kMaxRoutes) {
    return Invalid(
        path, "must have at most " + std::to_string(kMaxRoutes) + " routes");
  }
  for (std::size_t i = 0; i < n.size(); ++i) {
    const std::string item = Item(path, i);
    if (!n[i].IsMap()) return Malformed(item, "must be a mapping");
    ProxyRoute& route = routes.emplace_back();
    AZTP_RETURN_IF_ERROR(ReadMapping(
        n[i], item,
        {{"method", CheckedInto(route.method, CheckMethod)},
         {"path", CheckedInto(route.path, CheckRoutePath)},
         {"action", CheckedInto(route.action, CheckAction)},
         {"resource", CheckedInto(route.resource, CheckName)},
         {"protocol", ProtocolInto(route.protocol)},
         {"tool_action", CheckedInto(route.tool_action, CheckName)},
         {"resource_action", CheckedInto(route.resource_action, CheckName)},
         {"prompt_action", CheckedInto(route.prompt_action, CheckName)},
         {"method_action", CheckedInto(route.method_action, CheckName)},
         {"agent_card", FileInto(route.agent_card)}}));
    if (route.path.empty()) return Invalid(item + ".path", "is required");
    if (route.action.empty()) return Invalid(item + ".action", "is required");
    AZTP_RETURN_IF_ERROR(FinishProtocol(route, item));
    for (std::size_t j = 0; j < i; ++j) {
      if (!route.agent_card.empty() && !routes[j].agent_card.empty()) {
        return Invalid(item + ".agent_card",
                       "repeats that of " + Item(path, j) +
                           " (the proxy serves one Agent Card)");
      }
      if (routes[j].method == route.method && routes[j].path == route.path) {
        // The first route that matches decides: this one never would.
        return Invalid(item, "repeats the method and path of " + Item(path, j) +
                                 " (it could never match)");
      }
    }
  }
  return Ok();
}

Status ReadCapabilities(const YAML::Node& n, const std::string& path,
                        std::vector<std::string>& out) {
  AZTP_ASSIGN_OR_RETURN(out, ReadStringList(n, path, CapabilitySet::kMaxItems));
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto capability = Capability::Parse(out[i]);
    if (!capability) {
      return Invalid(Item(path, i), capability.error().message());
    }
    auto first = std::find(out.begin(), out.begin() + i, out[i]);
    if (first != out.begin() + i) {
      return Invalid(Item(path, i),
                     "repeats " + Item(path, static_cast<std::size_t>(
                                                 first - out.begin())));
    }
  }
  return Ok();
}

// WithInto is the Field that reads `field` with `read`.
template <typename T>
Field WithInto(T& field,
               Status (*read)(const YAML::Node&, const std::string&, T&)) {
  return [&field, read](const YAML::Node& n, const std::string& path) {
    return read(n, path, field);
  };
}

// ReadPersonIssuers reads `person_issuers`: a mapping of trust domain names
// to lists of issuers, checked as a verifier checks them.
Status ReadPersonIssuers(const YAML::Node& n, const std::string& path,
                         PersonIssuerMap& out) {
  if (n.IsNull()) return Ok();
  if (!n.IsMap()) return Malformed(path, "must be a mapping");
  for (const auto& member : n) {
    if (!member.first.IsScalar()) {
      return Malformed(path, "keys must be plain strings");
    }
    const std::string& td = member.first.Scalar();
    if (out.count(td) != 0) return Malformed(path + "." + td, "repeated key");
    AZTP_ASSIGN_OR_RETURN(out[td],
                          ReadStringList(member.second, path + "." + td, 64));
  }
  if (auto st = CheckPersonIssuers(out); !st) {
    return Invalid(path, st.error().message());
  }
  return Ok();
}

// ---- the document ----

std::vector<Key> InboundKeys(ProxyConfig::Inbound& in) {
  return {{"listen", CheckedInto(in.listen, CheckListen)},
          {"upstream", CheckedInto(in.upstream, CheckUpstream)},
          {"policy_file", FileInto(in.policy_file)},
          {"require_request_binding", BoolInto(in.require_request_binding)},
          {"person_issuers", WithInto(in.person_issuers, ReadPersonIssuers)},
          {"routes", WithInto(in.routes, ReadRoutes)}};
}

std::vector<Key> EgressKeys(ProxyConfig::Egress& out) {
  return {
      {"listen", CheckedInto(out.listen, CheckLoopbackListen)},
      {"root_capabilities", WithInto(out.root_capabilities, ReadCapabilities)},
      {"root_ttl", DurationWithinInto(out.root_ttl_seconds, 1, 3600)},
      {"max_depth", IntWithinInto(out.max_depth, 0, kMaxDelegationDepth)}};
}

Status ReadDocument(const YAML::Node& root, ProxyConfig& c) {
  ProxyConfig::ControlPlane& cp = c.control_plane;
  ProxyConfig::Audit& audit = c.audit;
  std::vector<Key> keys = {
      {"identity", CheckedInto(c.identity, CheckIdentity)},
      {"control_plane",
       Section({
           {"url", CheckedInto(cp.url, CheckControlPlaneUrl)},
           {"failover_urls", FailoverUrlsInto(cp.failover_urls)},
           {"bundle_file", FileInto(cp.bundle_file)},
           {"api_key_file", FileInto(cp.api_key_file)},
           {"bundle_refresh",
            DurationWithinInto(cp.bundle_refresh_seconds, 1, kDay)},
           {"revocation_refresh",
            DurationWithinInto(cp.revocation_refresh_seconds, 1, kDay)},
           {"policy_refresh",
            DurationWithinInto(cp.policy_refresh_seconds, 1, kDay)},
           {"revocation_max_staleness",
            DurationWithinInto(cp.revocation_max_staleness_seconds, 60, kDay)},
           {"revocation_fail_open", BoolInto(cp.revocation_fail_open)},
       })},
      // Present, even empty, a section means a listener: its required keys
      // are checked by Validate.
      {"inbound", OptionalSection(c.inbound, InboundKeys)},
      {"egress", OptionalSection(c.egress, EgressKeys)},
      {"audit", Section({
                    {"db", FileInto(audit.db)},
                    {"ship_interval",
                     DurationWithinInto(audit.ship_interval_seconds, 1, 3600)},
                    {"ship_batch", IntWithinInto(audit.ship_batch, 1, 500)},
                })},
      {"metrics_listen", CheckedInto(c.metrics_listen, CheckLoopbackListen)},
      {"threads", IntWithinInto(c.threads, 1, 64)},
      {"max_connections", IntWithinInto(c.max_connections, 1, 65536)},
      {"max_header_bytes", IntWithinInto(c.max_header_bytes, 1024, 1 << 20)},
      {"max_body_bytes", IntWithinInto(c.max_body_bytes, 0, int64_t{1} << 40)},
      {"connect_timeout",
       DurationWithinInto(c.connect_timeout_seconds, 1, 300)},
      {"handshake_timeout",
       DurationWithinInto(c.handshake_timeout_seconds, 1, 300)},
      {"request_timeout",
       DurationWithinInto(c.request_timeout_seconds, 1, 3600)},
      {"idle_timeout", DurationWithinInto(c.idle_timeout_seconds, 1, 3600)},
      {"stream_idle_timeout",
       DurationWithinInto(c.stream_idle_timeout_seconds, 1, kDay)},
      {"upstream_pool_size", IntWithinInto(c.upstream_pool_size, 0, 1024)},
      {"grace", DurationWithinInto(c.grace_seconds, 0, 300)},
      {"skew", DurationWithinInto(c.skew_seconds, 0, 300)},
      {"replay_capacity",
       IntWithinInto(c.replay_capacity, 1024, int64_t{1} << 26)},
      {"replay", internal::ReplayInto(c.replay)},
      {"log_level", LogLevelInto(c.log_level)},
      {"log_format", LogFormatInto(c.log_format)},
  };
  return ReadMapping(root, "", keys);
}

// Validate checks what no single key can: the required keys and the
// relations between sections. (Every value read was checked as it was
// read.)
Status Validate(const ProxyConfig& c) {
  const std::pair<const char*, const std::string*> required[] = {
      {"identity", &c.identity},
      {"control_plane.url", &c.control_plane.url},
      {"control_plane.bundle_file", &c.control_plane.bundle_file},
      {"audit.db", &c.audit.db},
  };
  for (const auto& [path, value] : required) {
    if (value->empty()) return Invalid(path, "is required");
  }
  std::set<std::string> urls = {c.control_plane.url};
  for (const std::string& url : c.control_plane.failover_urls) {
    if (!urls.insert(url).second) {
      return Invalid(
          "control_plane.failover_urls",
          "repeats " + url + " (url and failover_urls must all differ)");
    }
  }
  if (c.control_plane.revocation_max_staleness_seconds <=
      c.control_plane.revocation_refresh_seconds) {
    return Invalid(
        "control_plane.revocation_max_staleness",
        "must be longer than control_plane.revocation_refresh (" +
            std::to_string(c.control_plane.revocation_refresh_seconds) + "s)");
  }
  if (!c.inbound && !c.egress) {
    return Invalid(internal::kTopLevel,
                   "needs an inbound or an egress section (or both)");
  }
  if (c.inbound) {
    if (c.inbound->listen.empty())
      return Invalid("inbound.listen", "is required");
    if (c.inbound->upstream.empty()) {
      return Invalid("inbound.upstream", "is required");
    }
    if (c.inbound->routes.empty()) {
      return Invalid("inbound.routes", "must have at least one route");
    }
  }
  for (const auto* other : {c.inbound ? &c.inbound->listen : nullptr,
                            c.egress ? &c.egress->listen : nullptr}) {
    if (other != nullptr && !c.metrics_listen.empty() &&
        c.metrics_listen == *other && !other->ends_with(":0")) {
      return Invalid("metrics_listen",
                     "must differ from the other listeners (" + *other + ")");
    }
  }
  if (c.egress) {
    if (c.egress->listen.empty())
      return Invalid("egress.listen", "is required");
    if (c.inbound && c.egress->listen == c.inbound->listen &&
        !c.egress->listen.ends_with(":0")) {
      return Invalid("egress.listen", "must differ from inbound.listen (" +
                                          c.inbound->listen + ")");
    }
  }
  return Ok();
}

}  // namespace

Result<ProxyConfig> ParseProxyConfig(std::string_view yaml_text) {
  return internal::ParseConfig(yaml_text, kMaxProxyConfigBytes, ReadDocument,
                               Validate);
}

Result<ProxyConfig> LoadProxyConfig(const std::string& path) {
  return internal::LoadConfig(path, kMaxProxyConfigBytes, ParseProxyConfig);
}

}  // namespace aztp

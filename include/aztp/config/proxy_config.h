// ProxyConfig: the settings of aztp-proxy, the sidecar that enforces AZTP in
// front of one agent (docs/proxy.md; every key is documented in
// docs/proxy.example.yaml). Parsed as strictly as aztpd's file: unknown or
// repeated keys, wrong types and values out of range are errors naming the
// key's path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/config/aztpd_config.h"
#include "aztp/proxy/redis_replay_store.h"

namespace aztp {

// ProxyRoute maps inbound requests to the action (a capability, and the
// policy action) and resource they need. `path` is "/" or a pattern of
// '/'-separated non-empty segments: a literal segment, `*` for exactly one
// segment, or a final `**` for any rest (including none); it has no '?' or
// '#' (routes match the path without the query). The first route that
// matches decides; a request no route matches is refused (403
// route_not_found).
//
// A route of an agent protocol (`protocol: mcp` or `a2a`, docs/mcp.md and
// docs/a2a.md) decides each JSON-RPC call a POST carries as well: its
// `action` is then the capability of the route itself (every request on it
// needs it), and each call needs the action its template names.
struct ProxyRoute {
  // An HTTP method in upper case (an RFC 9110 token), or "*" for any.
  std::string method = "*";
  std::string path;    // "/quote", "/orders/*", "/files/**"; required
  std::string action;  // e.g. "payments:quote"; required, a capability
  // The policy resource, at most 256 bytes without whitespace; "*" when the
  // app has no resource of its own.
  std::string resource = "*";
  // protocol: what the route's requests carry.
  enum class Protocol { kHttp, kMcp, kA2a };
  Protocol protocol = Protocol::kHttp;
  // The action templates of an agent protocol's calls (proxy/jsonrpc.h):
  // `{name}` is a tool's or prompt's name or a resource's URI, `{method}`
  // the JSON-RPC method, each made capability segments. Defaults:
  // <action>:tool:{name}, <action>:resource:{name}, <action>:prompt:{name}
  // and <action>:{method}.
  std::string tool_action;
  std::string resource_action;
  std::string prompt_action;
  std::string method_action;
  // agent_card (a2a only): a file holding the A2A Agent Card the proxy
  // serves, signed with its X.509-SVID, at /.well-known/agent-card.json
  // (decided with this route's action); empty: none.
  std::string agent_card;
};

// ProxyConfig is everything aztp-proxy runs with.
struct ProxyConfig {
  // identity is the SPIFFE ID of the agent behind this proxy; the proxy
  // holds its SVID (the agent itself holds no key).
  std::string identity;  // required

  // The control plane: where the SVID, bundles, revocations and policies
  // come from, and where audit records are shipped.
  struct ControlPlane {
    std::string url;  // https://host:port, no path; required
    // failover_urls: other replicas of the same control plane (at most 16),
    // tried in turn when `url` cannot be reached.
    std::vector<std::string> failover_urls;
    std::string bundle_file;   // bundle.json of `aztpd init`; required
    std::string api_key_file;  // bootstrap key (else env AZTP_API_KEY)
    // How often each is fetched again (1 s to 1 day).
    int64_t bundle_refresh_seconds = 300;
    int64_t revocation_refresh_seconds = 60;
    int64_t policy_refresh_seconds = 30;
    // revocation_max_staleness: once the revocation list in force was last
    // fetched longer ago than this (aztpd unreachable), requests are
    // refused with 503 `revocations_stale` (fail closed), unless
    // `revocation_fail_open` is set. 1 min to 1 day, and longer than
    // revocation_refresh.
    int64_t revocation_max_staleness_seconds = 300;
    bool revocation_fail_open = false;
  } control_plane;

  // Inbound: the mTLS listener in front of the local app. Absent: the proxy
  // only sends (egress).
  struct Inbound {
    std::string listen;  // host:port or [v6]:port; required
    // upstream: the app, http://127.0.0.1:port, http://[::1]:port or
    // http://localhost:port (loopback only), no path but "/"; required.
    std::string upstream;
    // routes: at least one, at most 256; no two with the same method and
    // path.
    std::vector<ProxyRoute> routes;
    // policy_file, when set, is used instead of the policies the control
    // plane attaches to `identity`.
    std::string policy_file;
    // require_request_binding: every chain must carry a request binding
    // (`req`) matching the request; false accepts chains without one.
    bool require_request_binding = false;
    // person_issuers: per trust domain, the OpenID issuers whose people
    // that domain's control plane may start chains for here ("*": any);
    // a domain not listed: the proxy's own for any issuer, others for none
    // (docs/protocol.md §5.3, ChainVerifierOptions::person_issuers).
    std::map<std::string, std::vector<std::string>, std::less<>> person_issuers;
  };
  std::optional<Inbound> inbound;

  // Egress: the plain-HTTP listener on loopback the app sends through.
  // Absent: the app cannot call out through the proxy.
  struct Egress {
    // listen: 127.x.x.x:port or [::1]:port (loopback addresses only, not
    // "localhost"); required, and not inbound.listen.
    std::string listen;
    // root_capabilities are granted in roots minted for calls the app
    // originates (without Aztp-Txn of a received chain): at most 64
    // distinct capabilities (chain/capability.h).
    std::vector<std::string> root_capabilities;
    int64_t root_ttl_seconds = 300;  // 1 s to 1 h
    // max_depth of those roots (0-15); absent: MintOptions' default.
    std::optional<int> max_depth;
  };
  std::optional<Egress> egress;

  // Audit: the local hash-chained log, shipped to the control plane.
  struct Audit {
    std::string db;                     // SQLite file; required
    int64_t ship_interval_seconds = 5;  // 1 s to 1 h
    int ship_batch = 200;               // 1..500
  } audit;

  // metrics_listen: a loopback host:port where `GET /metrics` answers in
  // the Prometheus text format (docs/proxy.md "Metrics"); empty: none.
  std::string metrics_listen;

  // Limits and timeouts, for both listeners and the upstream side (the
  // ranges the file may set are those of docs/proxy.example.yaml).
  int threads = 2;                          // 1..64
  int max_connections = 1024;               // per listener; 1..65536
  std::size_t max_header_bytes = 16 << 10;  // 1 KiB..1 MiB
  // max_body_bytes bounds one request or response body (streamed, never
  // held whole); 0 = no limit, at most 1 TiB.
  int64_t max_body_bytes = 64LL << 20;
  int connect_timeout_seconds = 5;  // 1 s..5 min
  // handshake_timeout: a new inbound connection's TLS handshake, and a new
  // connection's first request head on either listener; 1 s..5 min.
  int handshake_timeout_seconds = 5;
  int request_timeout_seconds = 30;  // whole exchange with the upstream;
                                     // 1 s..1 h
  int idle_timeout_seconds = 60;     // keep-alive, both sides; 1 s..1 h
  // stream_idle_timeout: an event stream (a text/event-stream answer, MCP's
  // and A2A's streaming) is relayed for as long as it carries something at
  // least this often; request_timeout does not cut it. 1 s..1 day.
  int stream_idle_timeout_seconds = 300;
  int upstream_pool_size = 16;  // idle connections kept per upstream; 0..1024
  int grace_seconds = 10;       // in-flight requests at shutdown; 0..5 min
  int64_t skew_seconds = 30;    // 0..5 min
  std::size_t replay_capacity = 1 << 20;  // 1024..2^26
  // replay: where accepted chains are remembered (docs/proxy.md, "Shared
  // replay memory"): this process's memory (replay_capacity entries), or a
  // Redis server that several proxies of one agent share.
  struct Replay {
    enum class Backend { kMemory, kRedis };
    Backend backend = Backend::kMemory;
    std::string address = "127.0.0.1:6379";  // replay.redis: host:port
    std::string username;                    // a Redis ACL user; optional
    std::string password_file;               // AUTH; optional
    int timeout_ms = 250;                    // 1..10000
    bool refuse_when_unavailable = true;     // on_unavailable: refuse|local
    std::string key_prefix = "aztp:replay:";
    int connections = 4;                   // 1..64
    std::size_t local_capacity = 1 << 16;  // 0..2^24
  } replay;
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kText;
};

// kMaxProxyConfigBytes caps the configuration file.
inline constexpr std::size_t kMaxProxyConfigBytes = 64 << 10;

// ParseProxyConfig parses one YAML document and validates it (the same
// error codes as ParseAztpdConfig; messages start with the key's path, or
// "configuration" for the file as a whole). Values are checked as they are
// read; then the required keys, and that inbound or egress is present.
Result<ProxyConfig> ParseProxyConfig(std::string_view yaml_text);

// LoadProxyConfig reads and parses the file at `path` (kIo when it cannot
// be read).
Result<ProxyConfig> LoadProxyConfig(const std::string& path);

// ResolveRedisReplay turns `replay.redis` into the store's options,
// reading the password file.
Result<RedisReplayOptions> ResolveRedisReplay(const ProxyConfig::Replay& r);

}  // namespace aztp

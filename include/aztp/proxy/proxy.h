// Proxy: the enforcement sidecar in front of one agent (docs/proxy.md).
//
// Inbound, it terminates mTLS with the agent's SVID, decides every request
// with a Gate (chain, route, capability, policy), records the decision in
// the local hash-chained audit log before anything reaches the app, and
// relays allowed requests to the app over plain HTTP on loopback. Egress,
// the app sends plain HTTP to a loopback port naming its target identity;
// the proxy extends the chain received for that transaction (or mints a
// root) and calls the target over mTLS, checking that the target presents
// the SVID of the identity asked for.
//
// Bodies are streamed in both directions (at most one 64 KiB buffer per
// direction and connection), upstream connections are kept alive and
// pooled, every phase has a timeout, and a reload or an SVID rotation never
// drops a connection: new connections use the new settings and
// credentials, existing ones finish with theirs.
//
// Threading: one io_context run by `threads` workers; each connection is a
// coroutine on its own strand. Audit records are committed by one writer
// thread in batches (a request waits for its record's commit); a
// maintenance thread refreshes policies and ships records to the control
// plane.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/client/agent.h"
#include "aztp/client/client.h"
#include "aztp/config/proxy_config.h"
#include "aztp/encoding/json.h"
#include "aztp/proxy/redis_replay_store.h"
#include "aztp/store/audit_log.h"

namespace aztp {

// ProxyLog receives the proxy's events: a name and structured fields,
// never headers, bodies, keys or tokens. Called from any thread.
using ProxyLog = std::function<void(LogLevel level, std::string_view event,
                                    const Json& fields)>;

// ProxyDeps are what the proxy runs on; the daemon makes them from the
// configuration, tests make them directly.
struct ProxyDeps {
  // agent holds the SVID, the bundles and the revocation list (its
  // background refresh is the caller's: Agent::Start).
  std::shared_ptr<Agent> agent;
  // audit_store keeps the local log (a SQLite file of its own,
  // OpenSqliteAuditLog).
  std::shared_ptr<AuditLogStore> audit_store;
  // control_plane_url, with the agent's credentials, is where policies come
  // from and audit records go; empty: neither (policies from the file
  // only, records kept locally).
  std::string control_plane_url;
  // control_plane_failover_urls: its other replicas (ClientOptions).
  std::vector<std::string> control_plane_failover_urls;
  // shared_replay, when set, remembers accepted chains for every proxy of
  // the agent (ProxyConfig::replay, Redis); null: this process's memory.
  std::shared_ptr<RedisReplayStore> shared_replay;
  ProxyLog log;
  const Clock* clock = nullptr;  // default: system clock
};

// ProxyStats counts what the proxy did since it started.
struct ProxyStats {
  int64_t inbound_allowed = 0;
  int64_t inbound_denied = 0;
  int64_t egress_sent = 0;
  int64_t egress_failed = 0;
  int64_t upstream_errors = 0;
  int64_t connections_open = 0;
  // connections_refused: closed at once, over a listener's max_connections.
  int64_t connections_refused = 0;
  // malformed: requests refused by the HTTP rules (400), both listeners.
  int64_t malformed = 0;
  // revocations_stale_refusals: requests refused (503 revocations_stale)
  // because the revocation list was older than its maximum staleness.
  int64_t revocations_stale_refusals = 0;
  int64_t audit_appended = 0;
  int64_t audit_acked = 0;  // highest seq the control plane acknowledged
  int64_t policies = 0;     // policies in force
};

// CheckProxyConfig makes every check of `config` that Start (and Reload)
// make before they bind a listener or contact the control plane: the
// listen addresses are IP addresses, the upstream URL parses, the policy
// file reads and parses (an unknown operator included), the root
// capabilities are valid. `aztp-proxy check` runs it, so that what it
// accepts `run` does not refuse for its configuration.
Status CheckProxyConfig(const ProxyConfig& config);

class Proxy {
 public:
  // Start binds the configured listeners, loads the policies (from the
  // file, or a first fetch from the control plane, which must succeed) and
  // starts serving.
  static Result<std::unique_ptr<Proxy>> Start(ProxyConfig config,
                                              ProxyDeps deps);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  uint16_t inbound_port() const;  // 0 without an inbound listener
  uint16_t egress_port() const;   // 0 without an egress listener
  uint16_t metrics_port() const;  // 0 without metrics_listen

  // Reload applies a new configuration to new requests: routes, policy
  // file, root capabilities, limits and timeouts. Listen addresses,
  // identity, control plane and audit file cannot change (kInvalidArgument
  // naming the key); the old settings stay in force on any error.
  Status Reload(ProxyConfig config);
  // RefreshPolicies fetches the policies attached to the identity now (or
  // re-reads the policy file).
  Status RefreshPolicies();
  // ShipAudit sends the records the control plane has not acknowledged,
  // in batches; returns the highest acknowledged seq.
  Result<int64_t> ShipAudit();

  ProxyStats stats() const;

  // Shutdown stops accepting, lets requests in flight finish for up to
  // `grace_seconds`, ships what it can and stops. Idempotent.
  void Shutdown(int grace_seconds);

 private:
  struct Impl;
  explicit Proxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace aztp

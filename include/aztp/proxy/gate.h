// The proxy's decisions, free of any networking (docs/proxy.md "How a
// request is decided"): which route a request takes, whether its caller and
// chain are authentic (401) and authorised (403), which headers the local
// app receives, and the audit record of each decision.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aztp/audit/audit.h"
#include "aztp/base/clock.h"
#include "aztp/chain/verifier.h"
#include "aztp/config/proxy_config.h"
#include "aztp/policy/policy.h"
#include "aztp/proxy/rpc_sessions.h"
#include "aztp/spiffeid/spiffe_id.h"

namespace aztp {

// Headers the proxy owns. Inbound, every `Aztp-*` header is removed before
// the request reaches the app and the proxy adds the Aztp-Caller,
// Aztp-Subject, Aztp-Txn, Aztp-Origin, Aztp-Capabilities and Aztp-Path of
// the verified chain. On egress the app names its target with Aztp-Target
// (and optionally Aztp-Txn with Aztp-Origin, Aztp-Capabilities, or a
// person's Aztp-Login with Aztp-Login-State, or Aztp-Id-Token with
// Aztp-Provider), which the proxy consumes; Aztp-Subject is refused.
// Answers never carry Aztp-* fields of the app's either.
inline constexpr std::string_view kChainHeader = "Aztp-Chain";
inline constexpr std::string_view kCallerHeader = "Aztp-Caller";
inline constexpr std::string_view kSubjectHeader = "Aztp-Subject";
inline constexpr std::string_view kTxnHeader = "Aztp-Txn";
inline constexpr std::string_view kOriginHeader = "Aztp-Origin";
inline constexpr std::string_view kCapabilitiesHeader = "Aztp-Capabilities";
inline constexpr std::string_view kPathHeader = "Aztp-Path";
inline constexpr std::string_view kTargetHeader = "Aztp-Target";
inline constexpr std::string_view kTargetUrlHeader = "Aztp-Target-Url";
// A person's credential on egress (docs/proxy.md "A person's chain"): the
// one-time result of aztpd's login with the login's state, or an ID token
// (with the provider's configured name, optionally).
inline constexpr std::string_view kLoginHeader = "Aztp-Login";
inline constexpr std::string_view kLoginStateHeader = "Aztp-Login-State";
inline constexpr std::string_view kIdTokenHeader = "Aztp-Id-Token";
inline constexpr std::string_view kProviderHeader = "Aztp-Provider";

// kRevocationsStaleReason is the reason of a request refused (503) because
// the revocation list in force is older than the proxy's maximum staleness
// (docs/proxy.md).
inline constexpr std::string_view kRevocationsStaleReason = "revocations_stale";

// IsProxyHeader: the name starts with "aztp-" (any case).
bool IsProxyHeader(std::string_view name);
// IsHopByHopHeader: a header a proxy must not forward (RFC 9110 §7.6.1):
// Connection, Keep-Alive, Proxy-Connection, Proxy-Authenticate,
// Proxy-Authorization, TE, Trailer, Transfer-Encoding, Upgrade.
bool IsHopByHopHeader(std::string_view name);

// MatchRoute: does `route` take a request with `method` and `path` (without
// the query)? See ProxyRoute for the pattern syntax.
bool MatchRoute(const ProxyRoute& route, std::string_view method,
                std::string_view path);

// InboundRequest is what the gate knows of one request.
struct InboundRequest {
  // peer is the authenticated mTLS peer; absent when the client presented
  // no certificate.
  std::optional<SpiffeId> peer;
  // peer_error is why the client's certificate was not accepted, if it
  // presented one that failed (then peer is absent).
  std::optional<Error> peer_error;
  // malformed is why the request head breaks the proxy's HTTP rules
  // (proxy/http_rules.h), if it does: such a request is refused first.
  std::optional<Error> malformed;
  // revocations_stale: the revocation list in force is too old to decide
  // on (and the proxy does not fail open).
  bool revocations_stale = false;
  std::string method;
  std::string path;                  // without the query
  std::optional<std::string> chain;  // the Aztp-Chain value, if sent
  // binding is the request as the chain's `req` claim describes it.
  std::optional<RequestBinding> binding;
  // mcp_session is the Mcp-Session-Id the request names, if any;
  // resumes_stream: it names a Last-Event-ID (resuming an event stream).
  std::optional<std::string> mcp_session;
  bool resumes_stream = false;
};

// GateOutcome is one decision.
struct GateOutcome {
  int status = 200;    // 200: forward; 400; 401; 403; 404; 405; 503
  std::string reason;  // "" when allowed, else a stable reason
  std::optional<int> hop;
  std::string message;  // for the log and the answer, never a token
  std::optional<VerifiedChain> chain;
  const ProxyRoute* route = nullptr;
  std::optional<Decision> decision;

  bool allowed() const { return status == 200; }
  // ErrorBody is the JSON answer of a denial:
  // {"error": reason, "hop": i|null, "message": ...}.
  std::string ErrorBody() const;
  // ForwardHeaders are the headers the app receives with an allowed
  // request.
  std::vector<std::pair<std::string, std::string>> ForwardHeaders() const;
  // Audit is the record of this decision by the proxy of `self`.
  AuditRecord Audit(const SpiffeId& self, const InboundRequest& request,
                    UnixTime now) const;
};

// Gate decides inbound requests. Thread-safe; Check may run on any number
// of threads.
class Gate {
 public:
  // `verifier` must verify for `self` (its audience); `sessions` are the
  // MCP sessions opened through the proxy (needed by mcp routes).
  Gate(SpiffeId self, std::vector<ProxyRoute> routes,
       std::shared_ptr<const ChainVerifier> verifier,
       std::shared_ptr<RpcSessions> sessions = nullptr);

  // Check runs, in order: the request's HTTP rules (400 malformed), the
  // revocation list's age (503 revocations_stale), peer authentication (401
  // unauthenticated or the peer's error), the chain (401 with the verifier's
  // reason and hop; the chain's outermost issuer must be the peer), the route
  // (403 route_not_found; 405 method_not_allowed for a method the route's
  // agent protocol does not use), the capability (403 capability_not_granted),
  // the policies (403 policy_denied) and, on an mcp route, the MCP session the
  // request names: the peer's own (403 session_not_owned when another
  // caller opened it, 404 session_unknown when it was never opened through
  // this proxy or has ended, which tells an MCP client to start anew; also
  // for a Last-Event-ID without a session: a stream is resumed only in the
  // session it belongs to, never by event id alone).
  GateOutcome Check(const InboundRequest& request,
                    const std::vector<const Policy*>& policies,
                    UnixTime now) const;

  const SpiffeId& self() const { return self_; }
  const std::vector<ProxyRoute>& routes() const { return routes_; }

 private:
  SpiffeId self_;
  std::vector<ProxyRoute> routes_;
  std::shared_ptr<const ChainVerifier> verifier_;
  std::shared_ptr<RpcSessions> sessions_;
};

}  // namespace aztp

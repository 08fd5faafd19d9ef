// The proxy's runtime (Proxy::Impl), shared by the files that define it,
// one idea each:
//   runtime_start.cc      Start, Reload, Shutdown, policies, the
//                         maintenance thread;
//   runtime_listeners.cc  accepting connections, the metrics listener;
//   runtime_relay.cc      what both sides share: upstream connections,
//                         audit appends, attempts, the revocation list's
//                         age (templates in runtime_relay.h);
//   runtime_inbound.cc    the inbound listener (callers to the app);
//   runtime_egress.cc     the egress listener (the app to its targets).
// Each connection is a C++20 coroutine (a Boost.Asio awaitable). Clang 14,
// the fuzz builds' compiler, cannot compile coroutines together with the
// sanitizers, so the fuzz build leaves out every src/proxy/runtime_*.cc
// (top-level CMakeLists.txt): a file that includes this header must be
// named so. The proxy's parsers live in other files (http_rules.cc,
// config_check.cc, remembered_chains.cc), which every build compiles.
#pragma once

// Boost 1.74's coroutine headers use std::exchange without including
// <utility>: it comes first.
#include <utility>
// The coroutine support of every runtime file.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
// The rest.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "aztp/chain/builder.h"
#include "aztp/chain/capability.h"
#include "aztp/http/address.h"
#include "aztp/metrics/metrics.h"
#include "aztp/proxy/gate.h"
#include "aztp/proxy/proxy.h"
#include "aztp/proxy/rpc_sessions.h"
#include "aztp/replay/replay_store.h"
#include "proxy/audit_writer.h"
#include "proxy/http_rules.h"
#include "proxy/person_start.h"
#include "proxy/remembered_chains.h"
#include "proxy/rpc_answer.h"

namespace aztp {

// The runtime files' vocabulary. (This header is private to them.)
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using std::chrono::seconds;

namespace proxy_runtime {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using RequestParser = bhttp::request_parser<bhttp::buffer_body>;

// kChunkBytes is the relay buffer per direction and connection.
inline constexpr std::size_t kChunkBytes = 64 << 10;
// kMaxTxnBytes bounds the Aztp-Txn an app names on egress.
inline constexpr std::size_t kMaxTxnBytes = 256;
// kMaxBoundBody bounds a body read whole for request binding.
inline constexpr int64_t kMaxBoundBody = 8 << 20;

// Pool keeps idle upstream connections by key, each for less than the idle
// timeout (the peer may close it at that timeout). Conn has a `since`.
template <class Conn>
class Pool {
 public:
  std::optional<Conn> Take(const std::string& key, int idle_timeout) {
    std::lock_guard lock(mu_);
    auto& idle = idle_[key];
    while (!idle.empty()) {
      Conn c = std::move(idle.back());
      idle.pop_back();
      if (std::chrono::steady_clock::now() - c.since <
          seconds(std::max(1, idle_timeout - 1))) {
        return c;
      }
    }
    return std::nullopt;
  }
  void Give(const std::string& key, Conn c, int max_idle) {
    std::lock_guard lock(mu_);
    auto& idle = idle_[key];
    if (static_cast<int>(idle.size()) >= max_idle) return;
    c.since = std::chrono::steady_clock::now();
    idle.push_back(std::move(c));
  }
  void Clear() {
    std::lock_guard lock(mu_);
    idle_.clear();
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::vector<Conn>> idle_;
};

// PolicySet is the parsed policies in force.
struct PolicySet {
  std::vector<Policy> policies;
  std::vector<const Policy*> pointers;
  std::string source;  // "file <path>" or "control plane"
  // argument_names: the call arguments the policies name (rpc_gate.h).
  std::vector<std::string> argument_names;
};

// Settings are what one request runs with; replaced whole by Reload.
struct Settings {
  ProxyConfig config;
  std::shared_ptr<const Gate> gate;  // inbound only
  http::HostPort upstream;           // inbound only
  std::optional<CapabilitySet> root_capabilities;
  // person_verifier checks a person's root from the control plane, with
  // the proxy as its audience (egress only).
  std::shared_ptr<const ChainVerifier> person_verifier;
  // agent_card: the A2A Agent Card an a2a route names (inbound only).
  std::optional<Json> agent_card;
};

// Fields are header fields the proxy sets on an answer.
using Fields = std::vector<std::pair<std::string, std::string>>;

// Forward is one request on its way upstream: the caller's connection and
// parser (the body still to be read from it), the request as it is sent,
// and what its answer must keep.
template <class Down>
struct Forward {
  Down& client;
  beast::flat_buffer& buffer;
  RequestParser& p;
  bhttp::request<bhttp::buffer_body>& out;
  bool keep_alive;
  bool head;  // a HEAD request: the answer has no body
  // answer_fields are set on the answer after the upstream's Aztp-* fields
  // were removed (egress: the transaction a person's chain started).
  Fields answer_fields = {};
  std::vector<char> chunk = std::vector<char>(kChunkBytes);
};

// Attempt is how one attempt at relaying a request ended.
struct Attempt {
  bool answered = false;  // the answer's header went out to the caller
  bool closed = false;    // the upstream had closed a kept-alive connection
  std::string failure;    // what failed; empty when nothing did
  // The caller's body could not be read: the answer it gets (unless its
  // answer had started), its status and body.
  std::optional<std::pair<int, std::string>> bad_body;
};

}  // namespace proxy_runtime

struct Proxy::Impl {
  using TlsStream = proxy_runtime::TlsStream;
  using Settings = proxy_runtime::Settings;
  using PolicySet = proxy_runtime::PolicySet;
  using Attempt = proxy_runtime::Attempt;
  using FlatBuffer = boost::beast::flat_buffer;
  using RequestHeader = boost::beast::http::request_header<>;

  explicit Impl(SpiffeId id) : self(std::move(id)) {}
  ProxyDeps deps;
  const Clock* clock = nullptr;
  SpiffeId self;
  boost::asio::io_context io;
  std::vector<std::thread> workers;
  std::optional<tcp::acceptor> inbound;
  std::optional<tcp::acceptor> egress;
  std::optional<tcp::acceptor> metrics_acceptor;
  uint16_t inbound_port = 0, egress_port = 0, metrics_port = 0;

  std::shared_ptr<ReplayStore> replay;
  // MCP sessions opened through the proxy (kept across reloads): at most
  // 65,536, those idle for an hour dropped first when full.
  std::shared_ptr<RpcSessions> rpc_sessions =
      std::make_shared<RpcSessions>(1 << 16, 3600);
  // The shared replay store's refusals already counted in the metrics.
  std::atomic<uint64_t> replay_unavailable_reported{0};
  std::shared_ptr<const RevocationSource> revocations;
  internal::RememberedChains chains;
  std::unique_ptr<internal::AuditWriter> audit;

  mutable std::mutex mu;  // guards settings, policies and the signer
  std::shared_ptr<const Settings> settings;
  std::shared_ptr<const PolicySet> policies;
  std::shared_ptr<const TlsCredentials> signer_credentials;
  std::shared_ptr<const HopSigner> signer;

  // Idle upstream connections, by address (inbound) or address + ID
  // (egress).
  struct IdlePlain {
    std::unique_ptr<boost::beast::tcp_stream> stream;
    std::chrono::steady_clock::time_point since;
  };
  struct IdleTls {
    std::unique_ptr<TlsStream> stream;
    std::shared_ptr<boost::asio::ssl::context> context;
    std::chrono::steady_clock::time_point since;
  };
  proxy_runtime::Pool<IdlePlain> plain_pool;
  proxy_runtime::Pool<IdleTls> tls_pool;
  // blocking_pool runs blocking calls (the control plane's API) for the
  // connections' coroutines (OffThread).
  boost::asio::thread_pool blocking_pool{2};

  std::atomic<int64_t> inbound_allowed{0}, inbound_denied{0}, egress_sent{0},
      egress_failed{0}, upstream_errors{0}, open{0}, audit_acked{0};
  std::atomic<int64_t> open_by[3] = {0, 0, 0};  // by Listener
  std::atomic<int64_t> connections_refused{0}, malformed{0}, stale_refusals{0};
  metrics::Registry metrics;
  std::atomic<bool> revocations_stale{false};
  std::atomic<bool> stopping{false};
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  std::thread maintenance;
  bool shut_down = false;

  // ---- helpers (runtime_start.cc unless said) ----

  void Log(LogLevel level, std::string_view event, Json fields) const {
    if (deps.log) deps.log(level, event, fields);
  }
  std::shared_ptr<const Settings> CurrentSettings() const {
    std::lock_guard lock(mu);
    return settings;
  }
  std::shared_ptr<const PolicySet> CurrentPolicies() const {
    std::lock_guard lock(mu);
    return policies;
  }
  // Signer is the hop signer of the current SVID, made once per SVID and
  // shared by the requests that use it.
  Result<std::shared_ptr<const HopSigner>> Signer();
  Result<std::unique_ptr<Client>> ControlPlaneClient() const;
  // VerifierOptions are what every chain verifier of the proxy shares:
  // its identity as audience, its bundles, revocations, skew and clock,
  // and which control planes it believes for people.
  ChainVerifierOptions VerifierOptions(const ProxyConfig& config) const;
  Status LoadPolicies(const Settings& s);
  void MaintenanceLoop();

  // ---- shared by both sides (runtime_relay.cc) ----

  // AppendAudit commits `record` and resumes when it is durable.
  awaitable<Status> AppendAudit(AuditRecord record);
  // OffThread runs `work` (a blocking call: the control plane's API) on
  // blocking_pool and resumes when it returned (or threw), so that the
  // connection threads keep serving meanwhile. The wake-up is posted to
  // the connection's strand (Accept), so it cannot overtake the wait. `work`
  // keeps what it shares with the caller alive itself (a coroutine may be
  // destroyed at shutdown while the call runs).
  awaitable<void> OffThread(std::function<void()> work);
  awaitable<std::unique_ptr<boost::beast::tcp_stream>> Connect(
      const http::HostPort& to, int timeout);
  // RevocationsStale: the revocation list in force is older than
  // control_plane.revocation_max_staleness and fail-open is off. Logs each
  // change of that state.
  bool RevocationsStale(const ProxyConfig& c, UnixTime now);

  // ---- listeners (runtime_listeners.cc) ----

  // Listener is one of the proxy's listeners.
  enum class Listener { kInbound = 0, kEgress = 1, kMetrics = 2 };
  static const char* ListenerName(Listener which) {
    return which == Listener::kInbound  ? "inbound"
           : which == Listener::kEgress ? "egress"
                                        : "metrics";
  }
  void Accept(tcp::acceptor& acceptor, Listener which);
  awaitable<void> MetricsSession(tcp::socket socket);
  // CountDecision counts one audited decision of `which` listener.
  void CountDecision(Listener which, std::string_view decision,
                     std::string_view reason);
  // RenderMetrics is the Prometheus text of GET /metrics.
  std::string RenderMetrics();
  void DescribeMetrics();
  // ServeRequests serves the requests of a connection of `which` listener
  // one after the other, until `serve` (a function of the buffer, the
  // parser holding the request's head and the settings, returning
  // awaitable<bool>) or ReadHead says the connection is to close, or the
  // proxy stops (runtime_relay.h).
  template <class Stream, class Serve>
  awaitable<void> ServeRequests(Stream& client, Listener which, Serve serve);
  // ReadHead reads the header of the next request of a connection into `p`
  // (`first`: its first, which must arrive within the handshake timeout);
  // false when the connection is to close (runtime_relay.h).
  template <class Stream>
  awaitable<bool> ReadHead(Stream& client, FlatBuffer& buffer,
                           proxy_runtime::RequestParser& p,
                           const ProxyConfig& c, bool first, Listener which);

  // ---- inbound (runtime_inbound.cc) ----

  awaitable<void> InboundSession(tcp::socket socket);
  // ServeInbound and ServeEgress serve one request of a connection, whose
  // head ReadHead read into `p`, with settings `s`; false when the
  // connection is to close.
  awaitable<bool> ServeInbound(TlsStream& client, FlatBuffer& buffer,
                               proxy_runtime::RequestParser& p,
                               const Settings& s, const InboundRequest& who);
  // DescribeInbound is what the gate decides on, from the request's head.
  InboundRequest DescribeInbound(const RequestHeader& req,
                                 const InboundRequest& who,
                                 const ProxyConfig& c, UnixTime now);
  // DecideInbound runs the gate and audits its outcome; nullopt (the
  // connection to close) once it answered a denial or an audit failure.
  awaitable<std::optional<GateOutcome>> DecideInbound(TlsStream& client,
                                                      const Settings& s,
                                                      const InboundRequest& r,
                                                      UnixTime now);
  // StartAppRequest begins the request to the app for `req`, allowed
  // with `outcome`: the target routed, its Aztp-* fields, `framing`.
  static void StartAppRequest(
      const RequestHeader& req, const internal::BodyFraming& framing,
      const GateOutcome& outcome, const Settings& s,
      boost::beast::http::request<boost::beast::http::buffer_body>& out);
  // RpcRelay is how the answer to a request on an mcp or a2a route is
  // relayed (runtime_rpc.cc).
  struct RpcRelay {
    internal::RpcExchange exchange;
    bool mcp = false;
    bool delete_session = false;         // an MCP DELETE: ends `session`
    std::optional<std::string> session;  // the request's Mcp-Session-Id
    const SpiffeId* peer = nullptr;
  };
  // Audited appends `record` to the audit log; when that fails, logs it
  // and answers 503 (false).
  awaitable<bool> Audited(TlsStream& client, AuditRecord record);
  // ForwardInbound relays an allowed request to the app and its answer
  // back (`bound_body`: the body read whole, or null to stream it; `rpc`:
  // the answer of an mcp or a2a route, or null).
  awaitable<bool> ForwardInbound(proxy_runtime::Forward<TlsStream>& f,
                                 const Settings& s, std::string* bound_body,
                                 RpcRelay* rpc = nullptr);
  awaitable<void> ToApp(proxy_runtime::Forward<TlsStream>& f, const Settings& s,
                        std::string* bound_body,
                        std::unique_ptr<boost::beast::tcp_stream>& up,
                        bool& answered, RpcRelay* rpc);

  // ---- agent protocols, inbound (runtime_rpc.cc) ----

  // Allowed is a request the gate allowed, on its way to the app.
  struct Allowed {
    const RequestHeader& req;
    const InboundRequest& r;
    const GateOutcome& outcome;
    UnixTime now;
    bool keep_alive;
    bool expects_continue;
  };
  // ServeRpc serves an allowed request of an mcp or a2a route: a POST's
  // calls each decided and audited, the refused ones answered as JSON-RPC
  // errors and the others forwarded; the answer's listings filtered and
  // its MCP session bound to the caller; the A2A Agent Card served.
  awaitable<bool> ServeRpc(TlsStream& client, FlatBuffer& buffer,
                           proxy_runtime::RequestParser& p, const Settings& s,
                           const Allowed& a, std::optional<std::string> body);
  // ServeAgentCard answers GET /.well-known/agent-card.json with the
  // Agent Card signed by the proxy's SVID (agent_card.h).
  awaitable<bool> ServeAgentCard(TlsStream& client, const Settings& s,
                                 const Allowed& a);
  // ForwardRpcStream forwards an MCP GET (the server's event stream) or
  // DELETE (the end of a session): no call, no body.
  awaitable<bool> ForwardRpcStream(TlsStream& client, FlatBuffer& buffer,
                                   proxy_runtime::RequestParser& p,
                                   const Settings& s, const Allowed& a,
                                   RpcRelay& rpc);
  // DecideCalls decides and audits each call of `body`, filling `allowed`
  // and `x`'s refusals and listings; false when the audit log failed.
  awaitable<bool> DecideCalls(TlsStream& client, const Allowed& a,
                              const RpcBody& body, std::vector<bool>& allowed,
                              internal::RpcExchange& x);
  // RefuseRequest audits the refusal of an allowed request of an mcp or
  // a2a route whose body is unusable, and answers it with JSON-RPC error
  // `code` and HTTP `status`.
  awaitable<void> RefuseRequest(TlsStream& client, const Allowed& a, int status,
                                int code, std::string reason,
                                std::string message);
  // RelayRpcAnswer relays the app's answer as `rpc` says; returns whether
  // `up` may be reused.
  awaitable<bool> RelayRpcAnswer(boost::beast::tcp_stream& up,
                                 proxy_runtime::Forward<TlsStream>& f,
                                 const ProxyConfig& c, RpcRelay& rpc,
                                 bool& answered);
  // RelayJsonAnswer reads a JSON answer whole, filters its listings and
  // adds the refusals (a 202 becomes a 200 with them).
  awaitable<bool> RelayJsonAnswer(
      boost::beast::tcp_stream& up, FlatBuffer& up_buffer,
      boost::beast::http::response_parser<boost::beast::http::buffer_body>& rp,
      proxy_runtime::Forward<TlsStream>& f, const ProxyConfig& c,
      const internal::RpcExchange& x, bool& answered);
  // RelayEvents relays an event stream whose listings are filtered.
  awaitable<void> RelayEvents(
      boost::beast::tcp_stream& up, FlatBuffer& up_buffer,
      boost::beast::http::response_parser<boost::beast::http::buffer_body>& rp,
      proxy_runtime::Forward<TlsStream>& f, const ProxyConfig& c,
      const internal::RpcExchange& x,
      boost::beast::http::response<boost::beast::http::buffer_body>& res);

  // ---- egress (runtime_egress.cc) ----

  awaitable<void> EgressSession(tcp::socket socket);
  awaitable<bool> ServeEgress(boost::beast::tcp_stream& client,
                              FlatBuffer& buffer,
                              proxy_runtime::RequestParser& p,
                              const Settings& s);
  // EgressPlan is where an egress request goes, with which chain.
  // Started is the transaction a person's chain started on this call:
  // its root is remembered by `txn` and `origin` (the control plane).
  struct Started {
    std::string txn;
    std::string origin;
  };
  struct EgressPlan {
    SpiffeId target;
    http::Url url;
    std::string chain;  // empty while `credential` is to be used
    // credential: a person's, for StartFromPerson; the plan is made again
    // with the transaction it started.
    std::optional<internal::PersonCredential> credential;
    std::optional<CapabilitySet> narrowed;  // by Aztp-Capabilities
  };
  // EgressCall is one egress request: its audit record (written once, by
  // the first attempt that reached the target or by the refusal) and
  // where it goes.
  struct EgressCall {
    AuditRecord record;
    Json details;
    std::optional<EgressPlan> plan;
    std::string key;  // of tls_pool: address and target identity
    bool audited = false;
    // started: the person's transaction this call started, named on every
    // answer from then on (the credential is used up).
    std::optional<Started> started;
  };
  // TxnFields are the answer fields naming `started`: Aztp-Txn and
  // Aztp-Origin, with which the app continues the transaction.
  static proxy_runtime::Fields TxnFields(const std::optional<Started>& started);
  // PlanEgress prepares `call`'s plan, or refuses the request (audited,
  // counted and answered; false then).
  awaitable<bool> PlanEgress(boost::beast::tcp_stream& client,
                             const RequestHeader& req, const Settings& s,
                             UnixTime now, EgressCall& call);
  // PrepareEgress checks the request and makes its chain: it extends the
  // chain of `started` (a person's, started by this call) or of Aztp-Txn,
  // mints a root, or leaves a person's credential in the plan for
  // StartFromPerson.
  Result<EgressPlan> PrepareEgress(const RequestHeader& req, const Settings& s,
                                   UnixTime now, AuditRecord& a, Json& details,
                                   const std::optional<Started>& started = {});
  // ServeLoginStart answers POST /aztp/login on the egress listener: a
  // person's login started at the control plane for the proxy's identity
  // (runtime_person.cc).
  awaitable<bool> ServeLoginStart(boost::beast::tcp_stream& client,
                                  FlatBuffer& buffer,
                                  proxy_runtime::RequestParser& p);
  // StartFromPerson obtains the root of `credential`'s person from the
  // control plane (off the connection threads; `narrowed`: the
  // capabilities an ID token is exchanged for), verifies it and remembers
  // it for its transaction, which it returns (runtime_person.cc).
  awaitable<Result<Started>> StartFromPerson(
      const Settings& s, internal::PersonCredential credential,
      const std::optional<CapabilitySet>& narrowed, Json& details);
  // ChainInputs are what the chain of an egress request is made of.
  struct ChainInputs {
    const RequestHeader& req;
    const SpiffeId& target;
    const std::optional<CapabilitySet>& narrowed;  // by Aztp-Capabilities
    const HopSigner& signer;
    UnixTime now;
  };
  // ExtendReceived extends the chain received (or started) for transaction
  // `txn` from `origin` (any one origin when nullopt); MintRoot mints a
  // root. Both add the hops before the target to `path`.
  Result<std::string> ExtendReceived(const ChainInputs& in,
                                     std::string_view txn,
                                     const std::optional<std::string>& origin,
                                     AuditRecord& a,
                                     std::vector<std::string>& path);
  Result<std::string> MintRoot(const ChainInputs& in, const Settings& s,
                               AuditRecord& a, std::vector<std::string>& path);
  awaitable<bool> ForwardEgress(
      proxy_runtime::Forward<boost::beast::tcp_stream>& f, const Settings& s,
      EgressCall& call);
  awaitable<void> ToTarget(proxy_runtime::Forward<boost::beast::tcp_stream>& f,
                           const ProxyConfig& c, EgressCall& call,
                           std::optional<IdleTls>& conn,
                           std::optional<Error>& refused, bool& answered);
  // EgressFailed counts, audits (if not yet), logs and answers an egress
  // request that was refused or failed.
  awaitable<void> EgressFailed(boost::beast::tcp_stream& client,
                               EgressCall& call,
                               const std::optional<Error>& refused,
                               const Attempt& at);
  awaitable<Result<IdleTls>> ConnectTls(const http::HostPort& address,
                                        const SpiffeId& target,
                                        const ProxyConfig& c);
  awaitable<Status> FinishEgressAudit(AuditRecord& a, const Json& details,
                                      std::string decision, std::string reason,
                                      std::string message);
};

}  // namespace aztp

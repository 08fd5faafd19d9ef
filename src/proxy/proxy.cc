// The proxy's runtime: listeners, the inbound and egress relays (one
// coroutine per connection), upstream pools, settings swapped on reload,
// and the maintenance thread (policies, audit shipping).
#include "aztp/proxy/proxy.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "aztp/base/bytes.h"
#include "aztp/base/file.h"
#include "aztp/chain/builder.h"
#include "aztp/crypto/digest.h"
#include "aztp/http/address.h"
#include "aztp/http/target.h"
#include "aztp/metrics/metrics.h"
#include "aztp/proxy/gate.h"
#include "aztp/replay/replay_store.h"
#include "aztp/tls/tls.h"
#include "proxy/audit_writer.h"
#include "proxy/http_rules.h"

namespace aztp {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using std::chrono::seconds;

namespace {

// kChunkBytes is the relay buffer per direction and connection.
constexpr std::size_t kChunkBytes = 64 << 10;
// kMaxRememberedChains bounds the received chains kept for egress.
constexpr std::size_t kMaxRememberedChains = 10000;
// kMaxTxnBytes bounds the Aztp-Txn an app names on egress.
constexpr std::size_t kMaxTxnBytes = 256;
// kMaxBoundBody bounds a body read whole for request binding.
constexpr int64_t kMaxBoundBody = 8 << 20;

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// RequirePort: the proxy's URLs (the upstream, a target) name their
// port, as they always had to: the egress side speaks TLS to a
// target whatever the scheme says, so no scheme's default port would be
// the right one, and the upstream is the app's own port.
Result<http::Url> RequirePort(Result<http::Url> url, std::string_view text) {
  if (url && !url->explicit_port) {
    return Error(Code::kInvalidArgument,
                 "URL " + QuoteInput(text) +
                     " names no port (expected scheme://host:port)");
  }
  return url;
}

// ListenEndpoint is where a listener binds: an IP address (never a name
// to resolve) and a port.
Result<tcp::endpoint> ListenEndpoint(const std::string& where) {
  AZTP_ASSIGN_OR_RETURN(http::HostPort hp, http::ParseListenAddress(where));
  beast::error_code ec;
  auto address = asio::ip::make_address(hp.host, ec);
  if (ec) {
    return Error(Code::kInvalidArgument,
                 "listen address " + QuoteInput(where) + " is not an IP");
  }
  return tcp::endpoint(address, hp.port);
}

// ReadPolicyFile reads and parses the policy file of inbound.policy_file.
Result<Policy> ReadPolicyFile(const std::string& path) {
  AZTP_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  auto policy = ParsePolicy(text);
  if (!policy) return policy.error().WithContext(path);
  return std::move(*policy);
}

// EgressReason is the reason an egress refusal answers with: a target
// that cannot be reached (connection or TLS handshake failed, ConnectTls's
// kIo) is `upstream_unavailable`, as docs/proxy.md documents for both
// listeners, not the generic `io_error`; a target that was reached and
// refused keeps its own reason (peer_mismatch, revoked, ...).
std::string EgressReason(const Error& e) {
  if (e.code() == Code::kIo) return "upstream_unavailable";
  return std::string(e.reason());
}

bool IsTimeout(const beast::error_code& ec) {
  return ec == beast::error::timeout;
}

// ClosedByPeer: the error of a kept-alive connection the other side had
// closed, the only failure after which a request is sent again.
bool ClosedByPeer(const beast::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == bhttp::error::end_of_stream ||
         ec == asio::ssl::error::stream_truncated;
}

std::string_view PathOf(std::string_view target) {
  return target.substr(0, target.find('?'));
}

// RememberedChains keeps the verified chains received inbound, by `txn`
// and origin (the chain's root issuer), until they expire, so that egress
// calls of the same transaction extend them. Keying by origin too means
// that a caller who reuses another's transaction ID (first or not) never
// gets its chain extended for the other's call: the app names the origin
// it was called for (Aztp-Origin), or the transaction must have only one.
class RememberedChains {
 public:
  void Put(const VerifiedChain& chain) {
    std::lock_guard lock(mu_);
    Key key{chain.txn(), chain.path().front().str()};
    auto it = chains_.find(key);
    if (it != chains_.end()) {
      it->second = chain;  // the same origin's later chain
      return;
    }
    chains_.emplace(key, chain);
    order_.push_back(std::move(key));
    // Beyond the bound, the oldest transactions are forgotten first.
    while (chains_.size() > kMaxRememberedChains && !order_.empty()) {
      chains_.erase(order_.front());
      order_.pop_front();
    }
  }
  // Get finds the chain of `txn` from `origin`, or, without an origin, the
  // only live chain of `txn` (kInvalidArgument when there are several).
  Result<VerifiedChain> Get(const std::string& txn,
                            const std::optional<std::string>& origin,
                            UnixTime now) {
    std::lock_guard lock(mu_);
    std::optional<VerifiedChain> found;
    for (auto it = chains_.lower_bound(Key{txn, ""});
         it != chains_.end() && it->first.first == txn; ++it) {
      if (it->second.expires_at() <= now) continue;
      if (origin && it->first.second != *origin) continue;
      if (found) {
        return Error(Code::kInvalidArgument,
                     "transaction " + QuoteInput(txn) +
                         " was received from several origins: name one "
                         "with Aztp-Origin");
      }
      found = it->second;
    }
    if (!found) {
      return Error(Code::kNotFound,
                   "no chain was received for transaction " + QuoteInput(txn) +
                       (origin ? " from " + QuoteInput(*origin) : ""));
    }
    return *found;
  }
  // Sweep forgets expired chains (a walk over all of them: call it
  // periodically, not per request).
  void Sweep(UnixTime now) {
    std::lock_guard lock(mu_);
    std::erase_if(chains_,
                  [&](const auto& e) { return e.second.expires_at() <= now; });
    std::erase_if(order_, [&](const Key& k) { return !chains_.count(k); });
  }

 private:
  using Key = std::pair<std::string, std::string>;  // txn, origin
  std::mutex mu_;
  std::map<Key, VerifiedChain> chains_;
  std::deque<Key> order_;  // in the order first seen
};

// AgentRevocations is the agent's live revocation list as a source.
class AgentRevocations final : public RevocationSource {
 public:
  explicit AgentRevocations(std::shared_ptr<Agent> agent)
      : agent_(std::move(agent)) {}
  std::shared_ptr<const RevocationList> Current() const override {
    return agent_->revocations();
  }
  // ForDomain: each hop is checked against the list of its own trust
  // domain only (docs/protocol.md §6 step 8).
  std::shared_ptr<const RevocationList> ForDomain(
      const TrustDomain& td) const override {
    return agent_->revocations_for(td);
  }

 private:
  std::shared_ptr<Agent> agent_;
};

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
};

// Settings are what one request runs with; replaced whole by Reload.
struct Settings {
  ProxyConfig config;
  std::shared_ptr<const Gate> gate;  // inbound only
  http::HostPort upstream;           // inbound only
  std::optional<CapabilitySet> root_capabilities;
};

}  // namespace

struct Proxy::Impl {
  explicit Impl(SpiffeId id) : self(std::move(id)) {}
  ProxyDeps deps;
  const Clock* clock = nullptr;
  SpiffeId self;
  asio::io_context io;
  std::vector<std::thread> workers;
  std::optional<tcp::acceptor> inbound;
  std::optional<tcp::acceptor> egress;
  std::optional<tcp::acceptor> metrics_acceptor;
  uint16_t inbound_port = 0, egress_port = 0, metrics_port = 0;

  std::shared_ptr<ReplayStore> replay;
  std::shared_ptr<const RevocationSource> revocations;
  RememberedChains chains;
  std::unique_ptr<internal::AuditWriter> audit;

  mutable std::mutex mu;  // guards settings, policies and the signer
  std::shared_ptr<const Settings> settings;
  std::shared_ptr<const PolicySet> policies;
  std::shared_ptr<const TlsCredentials> signer_credentials;
  std::shared_ptr<const HopSigner> signer;

  // Idle upstream connections, by address (inbound) or address + ID
  // (egress).
  struct IdlePlain {
    std::unique_ptr<beast::tcp_stream> stream;
    std::chrono::steady_clock::time_point since;
  };
  struct IdleTls {
    std::unique_ptr<TlsStream> stream;
    std::shared_ptr<asio::ssl::context> context;
    std::chrono::steady_clock::time_point since;
  };
  Pool<IdlePlain> plain_pool;
  Pool<IdleTls> tls_pool;

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

  // ---- helpers ----

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
  Result<std::shared_ptr<const HopSigner>> Signer() {
    auto creds = deps.agent->credentials();
    if (creds == nullptr) {
      return Error(Code::kUnavailable, "the proxy holds no SVID");
    }
    std::lock_guard lock(mu);
    if (creds != signer_credentials || !signer) {
      AZTP_ASSIGN_OR_RETURN(HopSigner s,
                            HopSigner::Create(creds->chain, creds->key));
      signer = std::make_shared<const HopSigner>(std::move(s));
      signer_credentials = creds;
    }
    return signer;
  }

  Result<std::unique_ptr<Client>> ControlPlaneClient() const {
    auto creds = deps.agent->credentials();
    ClientOptions o;
    o.base_url = deps.control_plane_url;
    o.bundles = deps.agent->bundles();
    o.server_id = AztpdId(self.trust_domain());
    o.credentials = std::move(creds);
    o.clock = clock;
    return Client::Create(std::move(o));
  }

  // AppendAudit commits `record` and resumes when it is durable.
  awaitable<Status> AppendAudit(AuditRecord record) {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer signal(ex, std::chrono::steady_clock::time_point::max());
    Status result = Ok();
    audit->Append(std::move(record), [&](Status s) {
      result = std::move(s);
      asio::post(signal.get_executor(), [&] { signal.cancel(); });
    });
    beast::error_code ec;
    co_await signal.async_wait(asio::redirect_error(use_awaitable, ec));
    co_return result;
  }

  // ---- upstream connections ----

  awaitable<std::unique_ptr<beast::tcp_stream>> Connect(
      const http::HostPort& to, int timeout) {
    auto ex = co_await asio::this_coro::executor;
    tcp::resolver resolver(ex);
    auto endpoints = co_await resolver.async_resolve(
        to.host, std::to_string(to.port), tcp::resolver::numeric_service,
        use_awaitable);
    auto stream = std::make_unique<beast::tcp_stream>(ex);
    stream->expires_after(seconds(timeout));
    co_await stream->async_connect(endpoints, use_awaitable);
    stream->socket().set_option(tcp::no_delay(true));
    co_return stream;
  }

  // ---- sessions ----

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
  awaitable<void> InboundSession(tcp::socket socket);
  awaitable<void> EgressSession(tcp::socket socket);
  // ServeInbound and ServeEgress serve one request of a connection
  // (`first`: its first, which must arrive within the handshake timeout);
  // false when the connection is to close.
  awaitable<bool> ServeInbound(TlsStream& client, beast::flat_buffer& buffer,
                               const InboundRequest& who, bool first);
  awaitable<bool> ServeEgress(beast::tcp_stream& client,
                              beast::flat_buffer& buffer, bool first);
  // RevocationsStale: the revocation list in force is older than
  // control_plane.revocation_max_staleness and fail-open is off. Logs each
  // change of that state.
  bool RevocationsStale(const ProxyConfig& c, UnixTime now);
  // EgressPlan is where an egress request goes, with which chain.
  struct EgressPlan {
    SpiffeId target;
    http::Url url;
    std::string chain;
  };
  Result<EgressPlan> PrepareEgress(const bhttp::request_header<>& req,
                                   const Settings& s, UnixTime now,
                                   AuditRecord& a, Json& details);
  awaitable<Result<IdleTls>> ConnectTls(const http::HostPort& address,
                                        const SpiffeId& target,
                                        const ProxyConfig& c);
  awaitable<Status> FinishEgressAudit(AuditRecord& a, const Json& details,
                                      std::string decision, std::string reason,
                                      std::string message);

  Status LoadPolicies(const Settings& s);
  void MaintenanceLoop();
};

namespace {

// BodyReadError: the body being relayed could not be read from its sender
// (a broken chunked encoding, a body over the limit, a timeout).
struct BodyReadError : beast::system_error {
  using beast::system_error::system_error;
};

// RequestBodyError: a BodyReadError of the caller's request, which is the
// caller's fault (400 or 413), not the upstream's.
struct RequestBodyError : std::runtime_error {
  RequestBodyError(const beast::error_code& ec)
      : std::runtime_error(ec.message()), code(ec) {}
  beast::error_code code;
};

// Relay copies the body behind parser `in` (already past its header) to
// `out` through serializer `sr` of message `msg`, a chunk at a time.
template <class InStream, class OutStream, bool isRequest>
awaitable<void> RelayBody(InStream& in, beast::flat_buffer& buffer,
                          bhttp::parser<isRequest, bhttp::buffer_body>& p,
                          OutStream& out,
                          bhttp::message<isRequest, bhttp::buffer_body>& msg,
                          bhttp::serializer<isRequest, bhttp::buffer_body>& sr,
                          std::vector<char>& chunk) {
  while (!p.is_done()) {
    p.get().body().data = chunk.data();
    p.get().body().size = chunk.size();
    beast::error_code ec;
    co_await bhttp::async_read(in, buffer, p,
                               asio::redirect_error(use_awaitable, ec));
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) throw BodyReadError(ec);
    if (!internal::SetPiece(msg, chunk.data(),
                            chunk.size() - p.get().body().size, p.is_done())) {
      continue;
    }
    co_await bhttp::async_write(out, sr,
                                asio::redirect_error(use_awaitable, ec));
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) throw beast::system_error(ec);
  }
  if (!sr.is_done()) {
    internal::SetPiece(msg, nullptr, 0, /*done=*/true);
    beast::error_code ec;
    co_await bhttp::async_write(out, sr,
                                asio::redirect_error(use_awaitable, ec));
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) throw beast::system_error(ec);
  }
}

// ApplyLimits bounds what parser `p` accepts.
template <bool isRequest>
void ApplyLimits(bhttp::parser<isRequest, bhttp::buffer_body>& p,
                 const ProxyConfig& c) {
  p.header_limit(static_cast<std::uint32_t>(c.max_header_bytes));
  // 0 means no limit. (Not boost::none: this Beast compares a length
  // with an empty limit as if it were exceeded.)
  p.body_limit(c.max_body_bytes > 0
                   ? static_cast<std::uint64_t>(c.max_body_bytes)
                   : std::numeric_limits<std::uint64_t>::max());
}

// HasBody: will the request parsed by `p` have body bytes?
bool HasBody(const bhttp::request_parser<bhttp::buffer_body>& p) {
  return p.chunked() || p.content_length().value_or(0) > 0;
}

// ForwardRequest sends `out` (header from the caller, body read through
// `p` from `client`) to `up`.
template <class Down, class Up>
awaitable<void> ForwardRequest(Down& client, beast::flat_buffer& buffer,
                               bhttp::request_parser<bhttp::buffer_body>& p,
                               Up& up, bhttp::request<bhttp::buffer_body>& out,
                               std::vector<char>& chunk) {
  bhttp::request_serializer<bhttp::buffer_body> sr{out};
  co_await bhttp::async_write_header(up, sr, use_awaitable);
  try {
    co_await RelayBody(client, buffer, p, up, out, sr, chunk);
  } catch (const BodyReadError& e) {
    throw RequestBodyError(e.code());
  }
}

// RelayResponse reads the answer from `up` (skipping interim 1xx answers)
// and relays it to `client`; `answered` is set once its header went out.
// Returns whether `up` may be reused.
template <class Up, class Down>
awaitable<bool> RelayResponse(Up& up, Down& client, bool head, bool keep_alive,
                              const ProxyConfig& c, std::vector<char>& chunk,
                              bool& answered) {
  beast::flat_buffer up_buffer;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> rp;
  do {
    rp.emplace();
    ApplyLimits(*rp, c);
    if (head) rp->skip(true);
    co_await bhttp::async_read_header(up, up_buffer, *rp, use_awaitable);
  } while (rp->get().result_int() / 100 == 1 && rp->get().result_int() != 101);
  bhttp::response<bhttp::buffer_body> res;
  res.result(rp->get().result_int());
  res.reason(rp->get().reason());
  res.version(11);
  // The answer's Aztp-* fields are the proxy's namespace too.
  internal::CopyFields(rp->get(), res, /*strip_proxy=*/true);
  const int code = rp->get().result_int();
  internal::SetFraming(internal::FramingOf(*rp), res,
                       head || code == 204 || code == 304);
  res.keep_alive(keep_alive);
  bhttp::response_serializer<bhttp::buffer_body> sr{res};
  answered = true;
  co_await bhttp::async_write_header(client, sr, use_awaitable);
  co_await RelayBody(up, up_buffer, *rp, client, res, sr, chunk);
  co_return rp->keep_alive() && up_buffer.size() == 0;
}

template <class Stream>
awaitable<void> WriteJson(Stream& stream, int status, const std::string& body,
                          bool keep_alive) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status),
                                          11};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  co_await bhttp::async_write(stream, res, use_awaitable);
}

std::string ErrorJson(std::string_view reason, const std::string& message) {
  return DumpJson(
      Json{{"error", reason}, {"hop", nullptr}, {"message", message}});
}

// BodyErrorAnswer is the status and body answering a request whose body could
// not be read.
std::pair<int, std::string> BodyErrorAnswer(const RequestBodyError& e) {
  if (e.code == bhttp::error::body_limit) {
    return {413, ErrorJson("too_large", "the request body is over the limit")};
  }
  return {400, ErrorJson("malformed",
                         std::string("the request body could not be read: ") +
                             e.what())};
}

}  // namespace

void Proxy::Impl::Accept(tcp::acceptor& acceptor, Listener which) {
  acceptor.async_accept(asio::make_strand(io), [this, &acceptor, which](
                                                   beast::error_code ec,
                                                   tcp::socket socket) {
    if (ec || stopping) {
      if (!stopping && ec != asio::error::operation_aborted) {
        // E.g. out of file descriptors: try again a little later.
        auto timer = std::make_shared<asio::steady_timer>(
            io, std::chrono::milliseconds(50));
        timer->async_wait([this, &acceptor, which, timer](beast::error_code) {
          if (!stopping) Accept(acceptor, which);
        });
      }
      return;
    }
    // Each listener has its own cap, so that connections held open on
    // one (even before TLS) never starve another.
    std::atomic<int64_t>* here = &open_by[static_cast<int>(which)];
    if (here->load() >= CurrentSettings()->config.max_connections) {
      ++connections_refused;
      metrics.Add("aztp_proxy_connections_refused_total",
                  {{"listener", ListenerName(which)}});
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      beast::error_code ignored;
      // Answers are small writes: never wait for an ACK to send them.
      socket.set_option(tcp::no_delay(true), ignored);
      auto ex = socket.get_executor();
      ++open;
      ++*here;
      auto session =
          which == Listener::kInbound  ? InboundSession(std::move(socket))
          : which == Listener::kEgress ? EgressSession(std::move(socket))
                                       : MetricsSession(std::move(socket));
      asio::co_spawn(ex, std::move(session), [this, here](std::exception_ptr) {
        --*here;
        if (--open == 0) stop_cv.notify_all();
      });
    }
    Accept(acceptor, which);
  });
}

awaitable<void> Proxy::Impl::MetricsSession(tcp::socket socket) {
  beast::tcp_stream client(std::move(socket));
  try {
    auto s = CurrentSettings();
    beast::flat_buffer buffer;
    bhttp::request_parser<bhttp::empty_body> p;
    p.header_limit(8 << 10);
    client.expires_after(seconds(s->config.handshake_timeout_seconds));
    co_await bhttp::async_read_header(client, buffer, p, use_awaitable);
    const auto& req = p.get();
    const bool found = PathOf(req.target()) == "/metrics";
    const bool allowed = req.method() == bhttp::verb::get;
    bhttp::response<bhttp::string_body> res{
        !found     ? bhttp::status::not_found
        : !allowed ? bhttp::status::method_not_allowed
                   : bhttp::status::ok,
        11};
    if (found && allowed) {
      res.set(bhttp::field::content_type, "text/plain; version=0.0.4");
      res.body() = RenderMetrics();
    } else {
      res.set(bhttp::field::content_type, "application/json");
      res.body() = ErrorJson(found ? "unsupported" : "not_found",
                             "only GET /metrics is served here");
    }
    res.keep_alive(false);
    res.prepare_payload();
    co_await bhttp::async_write(client, res, use_awaitable);
    beast::error_code ec;
    client.socket().shutdown(tcp::socket::shutdown_send, ec);
  } catch (const std::exception&) {
  }
}

void Proxy::Impl::CountDecision(Listener which, std::string_view decision,
                                std::string_view reason) {
  metrics.Add("aztp_proxy_decisions_total",
              {{"listener", ListenerName(which)},
               {"decision", std::string(decision)},
               {"reason", reason.empty() ? "none" : std::string(reason)}});
}

void Proxy::Impl::DescribeMetrics() {
  metrics.DescribeCounter(
      "aztp_proxy_decisions_total",
      "Audited decisions, by listener, decision and stable reason.");
  metrics.DescribeCounter(
      "aztp_proxy_unparsable_requests_total",
      "Requests that did not parse as HTTP/1.1 (answered 400, not audited).");
  metrics.DescribeCounter(
      "aztp_proxy_connections_refused_total",
      "Connections closed at once, over a listener's max_connections.");
  metrics.DescribeGauge("aztp_proxy_connections_open",
                        "Open client connections, by listener.");
  metrics.DescribeGauge(
      "aztp_proxy_revocations_age_seconds",
      "Seconds since the revocation list in force was fetched.");
  metrics.DescribeGauge("aztp_proxy_revocations_stale",
                        "1 while the revocation list is older than "
                        "control_plane.revocation_max_staleness.");
  metrics.DescribeGauge("aztp_proxy_audit_appended",
                        "Audit records written to the local log.");
  metrics.DescribeGauge("aztp_proxy_audit_acked",
                        "Highest audit seq the control plane acknowledged.");
  metrics.DescribeGauge("aztp_proxy_policies", "Policies in force.");
}

std::string Proxy::Impl::RenderMetrics() {
  const UnixTime now = clock->Now();
  for (Listener which : {Listener::kInbound, Listener::kEgress}) {
    metrics.Set("aztp_proxy_connections_open",
                {{"listener", ListenerName(which)}},
                static_cast<double>(open_by[static_cast<int>(which)].load()));
  }
  metrics.Set("aztp_proxy_revocations_age_seconds", {},
              static_cast<double>(now - deps.agent->revocations_fetched_at()));
  metrics.Set("aztp_proxy_revocations_stale", {},
              revocations_stale.load() ? 1 : 0);
  metrics.Set("aztp_proxy_audit_appended", {},
              static_cast<double>(audit->appended()));
  metrics.Set("aztp_proxy_audit_acked", {},
              static_cast<double>(audit_acked.load()));
  metrics.Set("aztp_proxy_policies", {},
              static_cast<double>(CurrentPolicies()->policies.size()));
  return metrics.Render();
}

awaitable<void> Proxy::Impl::InboundSession(tcp::socket socket) {
  auto s = CurrentSettings();
  auto ctx = deps.agent->MakeServerContext();
  if (!ctx) {
    Log(LogLevel::kError, "inbound_no_svid",
        Json{{"reason", ctx.error().reason()},
             {"message", ctx.error().message()}});
    co_return;
  }
  SSL_CTX_up_ref(ctx->get());
  asio::ssl::context wrapper(ctx->get());
  TlsStream client(std::move(socket), wrapper);
  try {
    client.next_layer().expires_after(
        seconds(s->config.handshake_timeout_seconds));
    co_await client.async_handshake(asio::ssl::stream_base::server,
                                    use_awaitable);
    InboundRequest who;
    auto peer = deps.agent->AuthenticatePeer(client.native_handle());
    if (peer) {
      who.peer = peer->id();
    } else if (peer.error().code() != Code::kUnauthenticated) {
      who.peer_error = peer.error();
      // Once per connection, naming the trust domain the client claims:
      // after `federation remove` this says which partner is refused and
      // why (issue 13); each request is then answered 401 with the reason.
      const std::string claimed = ClaimedPeerId(client.native_handle());
      auto id = SpiffeId::Parse(claimed);
      Log(LogLevel::kInfo, "client_certificate_refused",
          Json{{"trust_domain", id ? id->trust_domain().name() : ""},
               {"peer", claimed},
               {"reason", peer.error().reason()},
               {"message", peer.error().message()}});
    }
    beast::flat_buffer buffer;
    for (bool first = true; !stopping; first = false) {
      if (!co_await ServeInbound(client, buffer, who, first)) break;
    }
    client.next_layer().expires_after(seconds(2));
    beast::error_code ec;
    co_await client.async_shutdown(asio::redirect_error(use_awaitable, ec));
  } catch (const std::exception&) {
    ERR_clear_error();
  }
}

awaitable<bool> Proxy::Impl::ServeInbound(TlsStream& client,
                                          beast::flat_buffer& buffer,
                                          const InboundRequest& who,
                                          bool first) {
  auto s = CurrentSettings();
  const ProxyConfig& c = s->config;
  bhttp::request_parser<bhttp::buffer_body> p;
  ApplyLimits(p, c);
  client.next_layer().expires_after(
      seconds(first ? c.handshake_timeout_seconds : c.idle_timeout_seconds));
  beast::error_code ec;
  co_await bhttp::async_read_header(client, buffer, p,
                                    asio::redirect_error(use_awaitable, ec));
  if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
      IsTimeout(ec) || ec == asio::ssl::error::stream_truncated) {
    co_return false;
  }
  if (ec) {
    metrics.Add("aztp_proxy_unparsable_requests_total",
                {{"listener", "inbound"}});
    const bool too_large = ec == bhttp::error::header_limit;
    co_await WriteJson(
        client, too_large ? 431 : 400,
        ErrorJson("malformed",
                  too_large ? "request header too large" : "malformed request"),
        false);
    co_return false;
  }
  client.next_layer().expires_after(seconds(c.request_timeout_seconds));
  // The header, kept apart from the parser, which request binding moves.
  const bool keep_alive = p.get().keep_alive();
  const bhttp::request_header<> req = p.get().base();
  const internal::BodyFraming framing = internal::FramingOf(p);
  const bool expects_continue = req[bhttp::field::expect] == "100-continue";
  InboundRequest r = who;
  r.method = std::string(req.method_string());
  r.path = std::string(PathOf(req.target()));
  if (auto it = req.find(kChainHeader); it != req.end()) {
    r.chain = std::string(it->value());
  }
  const UnixTime now = clock->Now();
  // What is routed is what is forwarded: a head the rules refuse is
  // decided (400) and audited like any other request, and nothing of it is
  // read further.
  if (Status head = internal::CheckRequestHead(req, internal::Side::kInbound);
      !head) {
    ++malformed;
    r.malformed = head.error();
  }
  r.revocations_stale = RevocationsStale(c, now);

  // A body read whole, only when the chain must bind to it.
  const bool bind = c.inbound->require_request_binding && !r.malformed &&
                    !r.revocations_stale;
  std::string bound_body;
  if (bind) {
    if (expects_continue) {
      bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
      co_await bhttp::async_write(client, cont, use_awaitable);
    }
    bhttp::request_parser<bhttp::string_body> whole(std::move(p));
    whole.body_limit(static_cast<std::uint64_t>(
        c.max_body_bytes > 0 ? std::min(c.max_body_bytes, kMaxBoundBody)
                             : kMaxBoundBody));
    co_await bhttp::async_read(client, buffer, whole,
                               asio::redirect_error(use_awaitable, ec));
    if (ec) {
      co_await WriteJson(client, 413,
                         ErrorJson("too_large",
                                   "a request bound to its chain must fit in "
                                   "the binding limit"),
                         false);
      co_return false;
    }
    bound_body = std::move(whole.get().body());
    r.binding = RequestBinding::For(
        r.method,
        "https://" + std::string(req[bhttp::field::host]) +
            std::string(req.target()),
        std::span<const uint8_t>(
            reinterpret_cast<const uint8_t*>(bound_body.data()),
            bound_body.size()));
  }

  auto policies = CurrentPolicies();
  GateOutcome outcome = s->gate->Check(r, policies->pointers, now);
  Status stored = co_await AppendAudit(outcome.Audit(self, r, now));
  if (!stored) {
    Log(LogLevel::kError, "audit_failed",
        Json{{"message", stored.error().message()}});
    co_await WriteJson(client, 503,
                       ErrorJson("unavailable", "the audit log is unavailable"),
                       false);
    co_return false;
  }
  CountDecision(Listener::kInbound, outcome.allowed() ? "allow" : "deny",
                outcome.allowed() ? "" : outcome.reason);
  if (!outcome.allowed()) {
    ++inbound_denied;
    Json fields{{"method", r.method},
                {"path", r.path},
                {"status", outcome.status},
                {"peer", r.peer ? r.peer->str() : ""},
                {"reason", outcome.reason}};
    if (outcome.chain) fields["txn"] = outcome.chain->txn();
    if (outcome.hop) fields["hop"] = *outcome.hop;
    Log(LogLevel::kInfo, "inbound_denied", fields);
    // The body is not read: the connection closes after the answer.
    co_await WriteJson(client, outcome.status, outcome.ErrorBody(), false);
    co_return false;
  }
  // (An allowed request is not logged: its audit record says it all.)
  ++inbound_allowed;
  // Kept for the app's calls out in the same transaction.
  if (c.egress) chains.Put(*outcome.chain);

  // Forward to the app: the target routed, fields and framing the proxy
  // chose.
  bhttp::request<bhttp::buffer_body> out;
  internal::StartForward(
      req, bind ? internal::BodyFraming{false, bound_body.size()} : framing,
      req.target(), out);
  for (const auto& [name, value] : outcome.ForwardHeaders()) {
    out.set(name, value);
  }
  // An HTTP/1.0 caller may send no Host; HTTP/1.1 to the app needs one.
  if (out.count(bhttp::field::host) == 0) {
    out.set(bhttp::field::host, s->upstream.str());
  }
  const bool retryable = bind || !HasBody(p);
  if (!bind && expects_continue) {
    bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
    co_await bhttp::async_write(client, cont, use_awaitable);
  }
  const std::string key = s->upstream.str();
  const bool head = req.method() == bhttp::verb::head;
  std::vector<char> chunk(kChunkBytes);
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<beast::tcp_stream> up;
    if (attempt == 0) {
      if (auto idle = plain_pool.Take(key, c.idle_timeout_seconds)) {
        up = std::move(idle->stream);
      }
    }
    const bool reused = up != nullptr;
    bool answered = false, closed = false;
    std::string failure;
    std::optional<std::pair<int, std::string>> bad_body;
    try {
      if (!up) up = co_await Connect(s->upstream, c.connect_timeout_seconds);
      up->expires_after(seconds(c.request_timeout_seconds));
      if (bind) {
        out.body().data = bound_body.empty() ? nullptr : bound_body.data();
        out.body().size = bound_body.size();
        out.body().more = false;
        bhttp::request_serializer<bhttp::buffer_body> sr{out};
        co_await bhttp::async_write(*up, sr, use_awaitable);
      } else {
        co_await ForwardRequest(client, buffer, p, *up, out, chunk);
      }
      if (co_await RelayResponse(*up, client, head, keep_alive, c, chunk,
                                 answered)) {
        plain_pool.Give(key, IdlePlain{std::move(up), {}},
                        c.upstream_pool_size);
      }
    } catch (const RequestBodyError& e) {
      bad_body = BodyErrorAnswer(e);
    } catch (const beast::system_error& e) {
      failure = e.what();
      closed = ClosedByPeer(e.code());
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (bad_body) {
      // The app got a cut-off body (framed by the proxy): no retry.
      if (!answered)
        co_await WriteJson(client, bad_body->first, bad_body->second, false);
      co_return false;
    }
    if (failure.empty()) co_return keep_alive;
    // A pooled connection the app had closed: one fresh attempt when
    // nothing of the request's body was consumed.
    if (reused && closed && !answered && retryable) continue;
    ++upstream_errors;
    Log(LogLevel::kWarn, "upstream_failed",
        Json{{"upstream", key}, {"message", failure}});
    if (!answered) {
      co_await WriteJson(
          client, 502,
          ErrorJson("upstream_unavailable",
                    "the local app at " + key + " did not answer"),
          false);
    }
    co_return false;
  }
}

awaitable<void> Proxy::Impl::EgressSession(tcp::socket socket) {
  beast::tcp_stream client(std::move(socket));
  try {
    beast::flat_buffer buffer;
    for (bool first = true; !stopping; first = false) {
      if (!co_await ServeEgress(client, buffer, first)) break;
    }
    beast::error_code ec;
    client.socket().shutdown(tcp::socket::shutdown_send, ec);
  } catch (const std::exception&) {
    ERR_clear_error();
  }
}

awaitable<bool> Proxy::Impl::ServeEgress(beast::tcp_stream& client,
                                         beast::flat_buffer& buffer,
                                         bool first) {
  auto s = CurrentSettings();
  const ProxyConfig& c = s->config;
  bhttp::request_parser<bhttp::buffer_body> p;
  ApplyLimits(p, c);
  client.expires_after(
      seconds(first ? c.handshake_timeout_seconds : c.idle_timeout_seconds));
  beast::error_code ec;
  co_await bhttp::async_read_header(client, buffer, p,
                                    asio::redirect_error(use_awaitable, ec));
  if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
      IsTimeout(ec)) {
    co_return false;
  }
  if (ec) {
    metrics.Add("aztp_proxy_unparsable_requests_total",
                {{"listener", "egress"}});
    co_await WriteJson(client, 400, ErrorJson("malformed", "malformed request"),
                       false);
    co_return false;
  }
  client.expires_after(seconds(c.request_timeout_seconds));
  auto& req = p.get();
  const bool keep_alive = req.keep_alive();
  const UnixTime now = clock->Now();

  AuditRecord a;
  a.time = now;
  a.actor = self.str();
  a.action = "proxy.egress";
  Json details{{"method", std::string(req.method_string())}};
  // A stale revocation list could let a revoked target's SVID through.
  const bool stale = RevocationsStale(c, now);
  auto prepared =
      stale
          ? Result<EgressPlan>(Error(Code::kUnavailable,
                                     "the revocation list is older than "
                                     "control_plane.revocation_max_staleness"))
          : PrepareEgress(req, *s, now, a, details);
  if (!prepared) {
    ++egress_failed;
    const Error& e = prepared.error();
    const std::string reason =
        stale ? std::string(kRevocationsStaleReason) : std::string(e.reason());
    const int status = e.code() == Code::kInvalidArgument ||
                               e.code() == Code::kMalformed ||
                               e.code() == Code::kNotFound
                           ? 400
                       : e.code() == Code::kUnavailable ? 503
                                                        : 403;
    co_await FinishEgressAudit(a, details, "deny", reason, e.message());
    co_await WriteJson(client, status, ErrorJson(reason, e.message()), false);
    co_return false;
  }
  const EgressPlan& plan = *prepared;

  bhttp::request<bhttp::buffer_body> out;
  internal::StartForward(req, internal::FramingOf(p), plan.url.Target(), out);
  out.set(bhttp::field::host, plan.url.address.str());
  out.set(kChainHeader, plan.chain);
  const bool retryable = !HasBody(p);
  const bool head = req.method() == bhttp::verb::head;
  if (req[bhttp::field::expect] == "100-continue") {
    bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
    co_await bhttp::async_write(client, cont, use_awaitable);
  }
  const std::string key = plan.url.address.str() + " " + plan.target.str();
  std::vector<char> chunk(kChunkBytes);
  bool audited = false;
  for (int attempt = 0;; ++attempt) {
    std::optional<IdleTls> conn =
        attempt == 0 ? tls_pool.Take(key, c.idle_timeout_seconds)
                     : std::nullopt;
    const bool reused = conn.has_value();
    bool answered = false, closed = false;
    std::optional<Error> refused;
    std::string failure;
    std::optional<std::pair<int, std::string>> bad_body;
    if (conn) {
      // A pooled connection's peer is checked again: its SVID may have
      // been revoked or expired since the handshake.
      auto still =
          deps.agent->VerifyPeer(conn->stream->native_handle(), plan.target);
      if (!still) {
        refused = still.error().WithContext("the target's certificate");
        conn.reset();
      }
    }
    try {
      if (!conn && !refused) {
        auto fresh = co_await ConnectTls(plan.url.address, plan.target, c);
        if (fresh) {
          conn = std::move(*fresh);
        } else {
          refused = fresh.error();
        }
      }
      if (conn && !audited) {
        // Nothing leaves without its record.
        audited = true;
        if (!co_await FinishEgressAudit(a, details, "allow", "", "")) {
          refused = Error(Code::kUnavailable, "the audit log is unavailable");
          conn.reset();
        } else {
          ++egress_sent;
        }
      }
      if (conn) {
        TlsStream& up = *conn->stream;
        up.next_layer().expires_after(seconds(c.request_timeout_seconds));
        co_await ForwardRequest(client, buffer, p, up, out, chunk);
        if (co_await RelayResponse(up, client, head, keep_alive, c, chunk,
                                   answered)) {
          tls_pool.Give(key, std::move(*conn), c.upstream_pool_size);
        }
      }
    } catch (const RequestBodyError& e) {
      bad_body = BodyErrorAnswer(e);
    } catch (const beast::system_error& e) {
      failure = e.what();
      closed = ClosedByPeer(e.code());
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (bad_body) {
      if (!answered)
        co_await WriteJson(client, bad_body->first, bad_body->second, false);
      co_return false;
    }
    if (!refused && failure.empty()) co_return keep_alive;
    if (!refused && reused && closed && !answered && retryable) {
      // One fresh attempt, with a fresh token: the target may have seen
      // the first one, and a token is accepted once.
      auto again = PrepareEgress(req, *s, clock->Now(), a, details);
      if (again) {
        out.set(kChainHeader, again->chain);
        continue;
      }
      failure = again.error().message();
    }
    ++upstream_errors;
    ++egress_failed;
    if (refused) {
      // The target is not who the app asked for, or cannot be reached.
      const std::string reason = EgressReason(*refused);
      if (!audited) {
        co_await FinishEgressAudit(a, details, "deny", reason,
                                   refused->message());
      }
      Log(LogLevel::kWarn, "egress_refused",
          Json{{"target", plan.target.str()},
               {"reason", reason},
               {"message", refused->message()}});
      co_await WriteJson(client,
                         refused->code() == Code::kUnavailable ? 503 : 502,
                         ErrorJson(reason, refused->message()), false);
      co_return false;
    }
    Log(LogLevel::kWarn, "egress_failed",
        Json{{"target", plan.target.str()}, {"message", failure}});
    if (!answered) {
      co_await WriteJson(client, 502,
                         ErrorJson("upstream_unavailable",
                                   "the call to " + plan.url.address.str() +
                                       " failed: " + failure),
                         false);
    }
    co_return false;
  }
}

Result<Proxy::Impl::EgressPlan> Proxy::Impl::PrepareEgress(
    const bhttp::request_header<>& req, const Settings& s, UnixTime now,
    AuditRecord& a, Json& details) {
  const ProxyConfig& c = s.config;
  AZTP_RETURN_IF_ERROR(
      internal::CheckRequestHead(req, internal::Side::kEgress));
  // Where to: Aztp-Target names the identity, the URL comes from the
  // absolute-form request target or Aztp-Target-Url.
  auto target_header = req.find(kTargetHeader);
  if (target_header == req.end()) {
    return Error(Code::kInvalidArgument,
                 "the request names no Aztp-Target identity");
  }
  auto target = SpiffeId::Parse(target_header->value());
  if (!target) return target.error().WithContext("Aztp-Target");
  a.subject = target->str();
  std::string url(req.target());
  if (!http::HasHttpScheme(url)) {
    auto base = req.find(kTargetUrlHeader);
    if (base == req.end()) {
      return Error(Code::kInvalidArgument,
                   "send an absolute URL as the request target, or "
                   "Aztp-Target-Url");
    }
    // Only scheme://host:port: the path is the request target's.
    auto origin = RequirePort(http::ParseOrigin(base->value()), base->value());
    if (!origin) return origin.error().WithContext("Aztp-Target-Url");
    url = std::string(base->value()) + url;
  }
  AZTP_ASSIGN_OR_RETURN(http::Url parsed,
                        RequirePort(http::ParseUrl(url), url));
  AZTP_RETURN_IF_ERROR(http::CheckOriginTarget(parsed.Target()));
  details["url"] =
      "https://" + parsed.address.str() + std::string(PathOf(parsed.Target()));

  // The chain: extend the transaction's, or mint a root.
  AZTP_ASSIGN_OR_RETURN(std::shared_ptr<const HopSigner> signer, Signer());
  std::optional<CapabilitySet> narrowed;
  if (auto it = req.find(kCapabilitiesHeader); it != req.end()) {
    std::vector<std::string> items;
    std::string_view v = it->value();
    std::size_t start = 0;
    while (start <= v.size()) {
      std::size_t end = v.find_first_of(" ,", start);
      if (end == std::string_view::npos) end = v.size();
      if (end > start) items.emplace_back(v.substr(start, end - start));
      start = end + 1;
    }
    auto caps = CapabilitySet::FromStrings(items);
    if (!caps) return caps.error().WithContext("Aztp-Capabilities");
    narrowed = std::move(*caps);
  }
  EgressPlan plan{*target, std::move(parsed), ""};
  std::vector<std::string> path;
  if (auto txn = req.find(kTxnHeader); txn != req.end()) {
    if (txn->value().empty() || txn->value().size() > kMaxTxnBytes) {
      return Error(Code::kInvalidArgument, "Aztp-Txn must be 1 to 256 bytes");
    }
    a.txn = std::string(txn->value());
    std::optional<std::string> origin;
    if (auto o = req.find(kOriginHeader); o != req.end()) {
      origin = std::string(o->value());
    }
    AZTP_ASSIGN_OR_RETURN(VerifiedChain received,
                          chains.Get(a.txn, origin, now));
    for (const SpiffeId& id : received.path()) path.push_back(id.str());
    ExtendOptions e;
    e.audience = *target;
    e.capabilities = narrowed;
    AZTP_ASSIGN_OR_RETURN(plan.chain, ExtendChain(received, *signer, e, now));
  } else {
    if (!s.root_capabilities) {
      return Error(Code::kCapabilityEscalation,
                   "this proxy mints no roots (egress.root_capabilities is "
                   "empty)");
    }
    MintOptions m;
    m.audience = *target;
    m.capabilities = narrowed ? *narrowed : *s.root_capabilities;
    for (const Capability& cap : m.capabilities.items()) {
      if (!s.root_capabilities->Covers(cap)) {
        return Error(Code::kCapabilityEscalation,
                     QuoteInput(cap.str()) +
                         " is not covered by egress.root_capabilities");
      }
    }
    if (auto sub = req.find(kSubjectHeader); sub != req.end()) {
      m.subject = std::string(sub->value());
    }
    // A retry keeps the transaction ID of the first attempt.
    if (a.txn.empty()) {
      AZTP_ASSIGN_OR_RETURN(Bytes random, RandomBytes(16));
      a.txn = HexEncode(random);
    }
    m.txn = a.txn;
    // root_ttl is the longest: a root never outlives the proxy's SVID.
    m.ttl_seconds = std::min<int64_t>(c.egress->root_ttl_seconds,
                                      signer->not_after() - now);
    m.max_depth = c.egress->max_depth;
    AZTP_ASSIGN_OR_RETURN(plan.chain, MintChain(*signer, m, now));
    path.push_back(self.str());
  }
  path.push_back(target->str());
  details["path"] = path;
  return plan;
}

awaitable<Result<Proxy::Impl::IdleTls>> Proxy::Impl::ConnectTls(
    const http::HostPort& address, const SpiffeId& target,
    const ProxyConfig& c) {
  auto ctx = deps.agent->MakeClientContext();
  if (!ctx) co_return ctx.error();
  SSL_CTX_up_ref(ctx->get());
  IdleTls fresh;
  fresh.context = std::make_shared<asio::ssl::context>(ctx->get());
  std::unique_ptr<beast::tcp_stream> tcp_stream;
  std::string failure;
  try {
    tcp_stream = co_await Connect(address, c.connect_timeout_seconds);
    fresh.stream =
        std::make_unique<TlsStream>(std::move(*tcp_stream), *fresh.context);
    fresh.stream->next_layer().expires_after(
        seconds(c.connect_timeout_seconds));
    co_await fresh.stream->async_handshake(asio::ssl::stream_base::client,
                                           use_awaitable);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!failure.empty()) {
    ERR_clear_error();
    co_return Error(Code::kIo,
                    "cannot reach " + address.str() + ": " + failure);
  }
  auto peer = deps.agent->VerifyPeer(fresh.stream->native_handle(), target);
  if (!peer) {
    co_return peer.error().WithContext("the target's certificate was refused");
  }
  co_return fresh;
}

awaitable<Status> Proxy::Impl::FinishEgressAudit(AuditRecord& a,
                                                 const Json& details,
                                                 std::string decision,
                                                 std::string reason,
                                                 std::string message) {
  CountDecision(Listener::kEgress, decision, decision == "allow" ? "" : reason);
  a.decision = std::move(decision);
  a.reason = std::move(reason);
  a.details = details;
  if (!message.empty()) a.details["message"] = std::move(message);
  Status stored = co_await AppendAudit(a);
  if (!stored) {
    Log(LogLevel::kError, "audit_failed",
        Json{{"message", stored.error().message()}});
  }
  co_return stored;
}

bool Proxy::Impl::RevocationsStale(const ProxyConfig& c, UnixTime now) {
  const UnixTime fetched = deps.agent->revocations_fetched_at();
  const bool old =
      now - fetched > c.control_plane.revocation_max_staleness_seconds;
  if (old != revocations_stale.exchange(old)) {
    Log(old ? LogLevel::kError : LogLevel::kInfo,
        old ? "revocations_stale" : "revocations_fresh",
        Json{
            {"fetched_at", fetched},
            {"max_staleness", c.control_plane.revocation_max_staleness_seconds},
            {"fail_open", c.control_plane.revocation_fail_open}});
  }
  if (old && !c.control_plane.revocation_fail_open) {
    ++stale_refusals;
    return true;
  }
  return false;
}

Status Proxy::Impl::LoadPolicies(const Settings& s) {
  auto set = std::make_shared<PolicySet>();
  if (!s.config.inbound) {
    std::lock_guard lock(mu);
    policies = std::move(set);
    return Ok();
  }
  if (!s.config.inbound->policy_file.empty()) {
    AZTP_ASSIGN_OR_RETURN(Policy policy,
                          ReadPolicyFile(s.config.inbound->policy_file));
    set->policies.push_back(std::move(policy));
    set->source = "file " + s.config.inbound->policy_file;
  } else {
    if (deps.control_plane_url.empty()) {
      return Error(Code::kInvalidArgument,
                   "inbound needs a policy_file or a control plane");
    }
    AZTP_ASSIGN_OR_RETURN(auto client, ControlPlaneClient());
    AZTP_ASSIGN_OR_RETURN(auto records, client->ListPolicies(self));
    for (const StoredPolicy& r : records) {
      auto policy = PolicyFromJson(r.document);
      if (!policy) return policy.error().WithContext("policy " + r.id);
      set->policies.push_back(std::move(*policy));
    }
    set->source = "control plane";
  }
  for (const Policy& p : set->policies) set->pointers.push_back(&p);
  std::lock_guard lock(mu);
  policies = std::move(set);
  return Ok();
}

void Proxy::Impl::MaintenanceLoop() {
  UnixTime next_policy = 0, next_ship = 0;
  while (true) {
    {
      std::unique_lock lock(stop_mu);
      stop_cv.wait_for(lock, seconds(1), [&] { return stopping.load(); });
      if (stopping) return;
    }
    auto s = CurrentSettings();
    const UnixTime now = clock->Now();
    chains.Sweep(now);
    if (s->config.inbound && now >= next_policy) {
      next_policy = now + s->config.control_plane.policy_refresh_seconds;
      Status st = LoadPolicies(*s);
      if (!st) {
        Log(LogLevel::kWarn, "policy_refresh_failed",
            Json{{"reason", st.error().reason()},
                 {"message", st.error().message()}});
      }
    }
    if (!deps.control_plane_url.empty() && now >= next_ship) {
      next_ship = now + s->config.audit.ship_interval_seconds;
      auto client = ControlPlaneClient();
      Result<int64_t> acked =
          client ? audit->Ship(**client, s->config.audit.ship_batch)
                 : Result<int64_t>(client.error());
      if (acked) {
        audit_acked = *acked;
      } else {
        Log(LogLevel::kWarn, "audit_ship_failed",
            Json{{"reason", acked.error().reason()},
                 {"message", acked.error().message()}});
      }
    }
  }
}

// Each check names the key it is about; Reload (and so Start) makes them
// all first, so that `aztp-proxy check` and `run` refuse with one message.
Status CheckProxyConfig(const ProxyConfig& c) {
  auto listen = [](const std::string& where, const char* key) -> Status {
    auto ep = ListenEndpoint(where);
    if (!ep) return ep.error().WithContext(key);
    return Ok();
  };
  if (c.inbound) {
    AZTP_RETURN_IF_ERROR(listen(c.inbound->listen, "inbound.listen"));
    if (auto up = RequirePort(http::ParseUrl(c.inbound->upstream),
                              c.inbound->upstream);
        !up) {
      return up.error().WithContext("inbound.upstream");
    }
    if (!c.inbound->policy_file.empty()) {
      auto policy = ReadPolicyFile(c.inbound->policy_file);
      if (!policy) return policy.error().WithContext("inbound.policy_file");
    }
  }
  if (c.egress) {
    AZTP_RETURN_IF_ERROR(listen(c.egress->listen, "egress.listen"));
    if (auto caps = CapabilitySet::FromStrings(c.egress->root_capabilities);
        !caps) {
      return caps.error().WithContext("egress.root_capabilities");
    }
  }
  if (!c.metrics_listen.empty()) {
    AZTP_RETURN_IF_ERROR(listen(c.metrics_listen, "metrics_listen"));
  }
  return Ok();
}

Result<std::unique_ptr<Proxy>> Proxy::Start(ProxyConfig config,
                                            ProxyDeps deps) {
  if (!deps.agent || !deps.audit_store) {
    return Error(Code::kInvalidArgument, "proxy: agent and audit store needed");
  }
  auto impl = std::make_unique<Impl>(deps.agent->id());
  impl->clock = deps.clock ? deps.clock : &SystemClock::Default();
  impl->deps = std::move(deps);
  impl->replay = std::make_shared<InMemoryReplayStore>(config.replay_capacity);
  impl->revocations = std::make_shared<AgentRevocations>(impl->deps.agent);
  impl->audit = std::make_unique<internal::AuditWriter>(impl->deps.audit_store);
  impl->DescribeMetrics();
  auto proxy = std::unique_ptr<Proxy>(new Proxy(std::move(impl)));
  Impl& m = *proxy->impl_;
  AZTP_RETURN_IF_ERROR(proxy->Reload(std::move(config)));
  auto s = m.CurrentSettings();
  AZTP_RETURN_IF_ERROR(m.LoadPolicies(*s));

  auto listen = [&](const std::string& where, std::optional<tcp::acceptor>& a,
                    uint16_t& port) -> Status {
    AZTP_ASSIGN_OR_RETURN(tcp::endpoint ep, ListenEndpoint(where));
    beast::error_code ec;
    a.emplace(m.io);
    a->open(ep.protocol(), ec);
    if (!ec) a->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) a->bind(ep, ec);
    if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Error(Code::kIo,
                   "cannot listen on " + where + ": " + ec.message());
    }
    port = a->local_endpoint().port();
    return Ok();
  };
  if (s->config.inbound) {
    AZTP_RETURN_IF_ERROR(
        listen(s->config.inbound->listen, m.inbound, m.inbound_port));
    m.Accept(*m.inbound, Impl::Listener::kInbound);
  }
  if (s->config.egress) {
    AZTP_RETURN_IF_ERROR(
        listen(s->config.egress->listen, m.egress, m.egress_port));
    m.Accept(*m.egress, Impl::Listener::kEgress);
  }
  if (!s->config.metrics_listen.empty()) {
    AZTP_RETURN_IF_ERROR(
        listen(s->config.metrics_listen, m.metrics_acceptor, m.metrics_port));
    m.Accept(*m.metrics_acceptor, Impl::Listener::kMetrics);
  }
  for (int i = 0; i < s->config.threads; ++i) {
    m.workers.emplace_back([&m] { m.io.run(); });
  }
  m.maintenance = std::thread([&m] { m.MaintenanceLoop(); });
  m.Log(LogLevel::kInfo, "proxy_started",
        Json{{"identity", m.self.str()},
             {"inbound_port", m.inbound_port},
             {"egress_port", m.egress_port},
             {"policies", m.CurrentPolicies()->policies.size()}});
  return proxy;
}

Proxy::Proxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Proxy::~Proxy() { Shutdown(0); }

uint16_t Proxy::inbound_port() const { return impl_->inbound_port; }
uint16_t Proxy::egress_port() const { return impl_->egress_port; }
uint16_t Proxy::metrics_port() const { return impl_->metrics_port; }

Status Proxy::Reload(ProxyConfig config) {
  Impl& m = *impl_;
  AZTP_RETURN_IF_ERROR(CheckProxyConfig(config));
  auto old = m.CurrentSettings();
  if (old) {
    auto same = [&](bool equal, const char* key) -> Status {
      if (equal) return Ok();
      return Error(Code::kInvalidArgument,
                   std::string(key) + " cannot change without a restart");
    };
    const ProxyConfig& o = old->config;
    AZTP_RETURN_IF_ERROR(same(o.identity == config.identity, "identity"));
    AZTP_RETURN_IF_ERROR(
        same(o.inbound.has_value() == config.inbound.has_value() &&
                 (!o.inbound || o.inbound->listen == config.inbound->listen),
             "inbound.listen"));
    AZTP_RETURN_IF_ERROR(
        same(o.egress.has_value() == config.egress.has_value() &&
                 (!o.egress || o.egress->listen == config.egress->listen),
             "egress.listen"));
    AZTP_RETURN_IF_ERROR(same(o.audit.db == config.audit.db, "audit.db"));
    AZTP_RETURN_IF_ERROR(
        same(o.metrics_listen == config.metrics_listen, "metrics_listen"));
    AZTP_RETURN_IF_ERROR(same(o.threads == config.threads, "threads"));
  }
  auto s = std::make_shared<Settings>();
  if (config.inbound) {
    AZTP_ASSIGN_OR_RETURN(http::Url up,
                          RequirePort(http::ParseUrl(config.inbound->upstream),
                                      config.inbound->upstream));
    s->upstream = up.address;
    ChainVerifierOptions v;
    v.audience = m.self;
    v.bundles = m.deps.agent->bundles();
    v.skew_seconds = config.skew_seconds;
    v.clock = m.clock;
    v.replay = m.replay;
    v.revocations = m.revocations;
    v.require_request_binding = config.inbound->require_request_binding;
    AZTP_ASSIGN_OR_RETURN(auto verifier, ChainVerifier::Create(std::move(v)));
    s->gate = std::make_shared<Gate>(
        m.self, config.inbound->routes,
        std::shared_ptr<const ChainVerifier>(std::move(verifier)));
  }
  if (config.egress && !config.egress->root_capabilities.empty()) {
    AZTP_ASSIGN_OR_RETURN(
        CapabilitySet caps,
        CapabilitySet::FromStrings(config.egress->root_capabilities));
    s->root_capabilities = std::move(caps);
  }
  s->config = std::move(config);
  if (old) AZTP_RETURN_IF_ERROR(m.LoadPolicies(*s));
  std::lock_guard lock(m.mu);
  m.settings = std::move(s);
  return Ok();
}

Status Proxy::RefreshPolicies() {
  return impl_->LoadPolicies(*impl_->CurrentSettings());
}

Result<int64_t> Proxy::ShipAudit() {
  Impl& m = *impl_;
  if (m.deps.control_plane_url.empty()) {
    return Error(Code::kInvalidArgument, "no control plane to ship to");
  }
  AZTP_ASSIGN_OR_RETURN(auto client, m.ControlPlaneClient());
  AZTP_ASSIGN_OR_RETURN(
      int64_t acked,
      m.audit->Ship(*client, m.CurrentSettings()->config.audit.ship_batch));
  m.audit_acked = acked;
  return acked;
}

ProxyStats Proxy::stats() const {
  const Impl& m = *impl_;
  ProxyStats s;
  s.inbound_allowed = m.inbound_allowed;
  s.inbound_denied = m.inbound_denied;
  s.egress_sent = m.egress_sent;
  s.egress_failed = m.egress_failed;
  s.upstream_errors = m.upstream_errors;
  s.connections_open = m.open;
  s.connections_refused = m.connections_refused;
  s.malformed = m.malformed;
  s.revocations_stale_refusals = m.stale_refusals;
  s.audit_appended = m.audit->appended();
  s.audit_acked = m.audit_acked;
  s.policies = static_cast<int64_t>(m.CurrentPolicies()->policies.size());
  return s;
}

void Proxy::Shutdown(int grace_seconds) {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.stop_mu);
    if (m.shut_down) return;
    m.shut_down = true;
  }
  m.stopping = true;
  asio::post(m.io, [&m] {
    beast::error_code ec;
    if (m.inbound) m.inbound->close(ec);
    if (m.egress) m.egress->close(ec);
    if (m.metrics_acceptor) m.metrics_acceptor->close(ec);
  });
  {
    std::unique_lock lock(m.stop_mu);
    m.stop_cv.wait_for(lock, seconds(grace_seconds),
                       [&] { return m.open.load() == 0; });
  }
  m.stop_cv.notify_all();
  if (m.maintenance.joinable()) m.maintenance.join();
  // (Without settings, Start failed before anything was served.)
  if (!m.deps.control_plane_url.empty() && m.CurrentSettings()) {
    (void)ShipAudit();
  }
  m.io.stop();
  for (auto& t : m.workers) t.join();
  m.workers.clear();
  m.plain_pool.Clear();
  m.tls_pool.Clear();
}

}  // namespace aztp

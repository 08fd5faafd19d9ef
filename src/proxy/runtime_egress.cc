// The egress listener: the app's plain HTTP calls out, each naming its
// target identity; the proxy extends the chain received for the
// transaction (or mints a root), audits the call, and sends it over mTLS
// to a target that must present the SVID asked for (docs/proxy.md
// "Egress").
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>

#include "aztp/base/bytes.h"
#include "aztp/crypto/digest.h"
#include "aztp/http/target.h"
#include "proxy/config_check.h"
#include "proxy/runtime_relay.h"

namespace aztp {

using proxy_runtime::ErrorJson;
using proxy_runtime::Forward;
using proxy_runtime::kMaxTxnBytes;
using proxy_runtime::PathOf;
using proxy_runtime::RequestParser;
using proxy_runtime::TlsStream;
using proxy_runtime::WriteJson;

namespace {

// EgressReason is the reason an egress refusal answers with: a target
// that cannot be reached (connection or TLS handshake failed, ConnectTls's
// kIo) is `upstream_unavailable`, as docs/proxy.md documents for both
// listeners, not the generic `io_error`; a target that was reached and
// refused keeps its own reason (peer_mismatch, revoked, ...).
std::string EgressReason(const Error& e) {
  if (e.code() == Code::kIo) return "upstream_unavailable";
  return std::string(e.reason());
}

// EgressUrl is where an egress request goes: its absolute-form target,
// or Aztp-Target-Url (scheme://host:port) followed by its origin-form
// target; either way with a canonical path (http/target.h).
Result<http::Url> EgressUrl(const bhttp::request_header<>& req) {
  std::string url(req.target());
  if (!http::HasHttpScheme(url)) {
    auto base = req.find(kTargetUrlHeader);
    if (base == req.end()) {
      return Error(Code::kInvalidArgument,
                   "send an absolute URL as the request target, or "
                   "Aztp-Target-Url");
    }
    // Only scheme://host:port: the path is the request target's.
    auto origin =
        internal::RequirePort(http::ParseOrigin(base->value()), base->value());
    if (!origin) return origin.error().WithContext("Aztp-Target-Url");
    url = std::string(base->value()) + url;
  }
  AZTP_ASSIGN_OR_RETURN(http::Url parsed,
                        internal::RequirePort(http::ParseUrl(url), url));
  AZTP_RETURN_IF_ERROR(http::CheckOriginTarget(parsed.Target()));
  return parsed;
}

// NarrowedCapabilities are those the app asks for with Aztp-Capabilities
// (separated by spaces or commas), if it does.
Result<std::optional<CapabilitySet>> NarrowedCapabilities(
    const bhttp::request_header<>& req) {
  auto it = req.find(kCapabilitiesHeader);
  if (it == req.end()) return std::optional<CapabilitySet>();
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
  return std::optional<CapabilitySet>(std::move(*caps));
}

}  // namespace

awaitable<void> Proxy::Impl::EgressSession(tcp::socket socket) {
  beast::tcp_stream client(std::move(socket));
  try {
    co_await ServeRequests(client, Listener::kEgress,
                           [&](beast::flat_buffer& buffer, RequestParser& p,
                               const Settings& current) {
                             return ServeEgress(client, buffer, p, current);
                           });
    beast::error_code ec;
    client.socket().shutdown(tcp::socket::shutdown_send, ec);
  } catch (const std::exception&) {
    ERR_clear_error();
  }
}

awaitable<bool> Proxy::Impl::ServeEgress(beast::tcp_stream& client,
                                         beast::flat_buffer& buffer,
                                         RequestParser& p, const Settings& s) {
  auto& req = p.get();
  const bool keep_alive = req.keep_alive();
  const UnixTime now = clock->Now();
  if (req.method() == bhttp::verb::post &&
      req.target() == internal::kLoginPath &&
      req.find(kTargetHeader) == req.end()) {
    co_return co_await ServeLoginStart(client, buffer, p);
  }

  EgressCall call;
  call.record.time = now;
  call.record.actor = self.str();
  call.record.action = "proxy.egress";
  call.details = Json{{"method", std::string(req.method_string())}};
  if (!co_await PlanEgress(client, req, s, now, call)) co_return false;
  const EgressPlan& plan = *call.plan;
  call.key = plan.url.address.str() + " " + plan.target.str();
  bhttp::request<bhttp::buffer_body> out;
  internal::StartForward(req, internal::FramingOf(p), plan.url.Target(), out);
  out.set(bhttp::field::host, plan.url.address.str());
  out.set(kChainHeader, plan.chain);
  if (req[bhttp::field::expect] == "100-continue") {
    co_await proxy_runtime::WriteContinue(client);
  }
  Forward<beast::tcp_stream> f{client,
                               buffer,
                               p,
                               out,
                               keep_alive,
                               req.method() == bhttp::verb::head,
                               TxnFields(call.started)};
  co_return co_await ForwardEgress(f, s, call);
}

awaitable<bool> Proxy::Impl::PlanEgress(beast::tcp_stream& client,
                                        const RequestHeader& req,
                                        const Settings& s, UnixTime now,
                                        EgressCall& call) {
  // A stale revocation list could let a revoked target's SVID through.
  const bool stale = RevocationsStale(s.config, now);
  auto prepared =
      stale
          ? Result<EgressPlan>(Error(Code::kUnavailable,
                                     "the revocation list is older than "
                                     "control_plane.revocation_max_staleness"))
          : PrepareEgress(req, s, now, call.record, call.details);
  if (prepared && prepared->credential) {
    // The person's root first; then the plan as for any transaction.
    auto started = co_await StartFromPerson(s, std::move(*prepared->credential),
                                            prepared->narrowed, call.details);
    if (started) call.started = std::move(*started);
    prepared = call.started ? PrepareEgress(req, s, clock->Now(), call.record,
                                            call.details, call.started)
                            : Result<EgressPlan>(std::move(started).error());
  }
  if (prepared) {
    call.plan = std::move(*prepared);
    co_return true;
  }
  ++egress_failed;
  const Error& e = prepared.error();
  const std::string reason =
      stale ? std::string(kRevocationsStaleReason) : std::string(e.reason());
  const int status = proxy_runtime::EgressStatus(e.code());
  // Answered whatever: a record that cannot be written is logged.
  (void)co_await FinishEgressAudit(call.record, call.details, "deny", reason,
                                   e.message());
  co_await WriteJson(client, status, ErrorJson(reason, e.message()), false,
                     TxnFields(call.started));
  co_return false;
}

proxy_runtime::Fields Proxy::Impl::TxnFields(
    const std::optional<Started>& started) {
  if (!started) return {};
  return {{std::string(kTxnHeader), started->txn},
          {std::string(kOriginHeader), started->origin}};
}

Result<Proxy::Impl::EgressPlan> Proxy::Impl::PrepareEgress(
    const RequestHeader& req, const Settings& s, UnixTime now, AuditRecord& a,
    Json& details, const std::optional<Started>& started) {
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
  AZTP_ASSIGN_OR_RETURN(http::Url url, EgressUrl(req));
  details["url"] =
      "https://" + url.address.str() + std::string(PathOf(url.Target()));

  // A person is vouched for by a control plane (protocol §5.3), never named
  // by the app: Aztp-Subject on egress is refused, not ignored.
  if (req.find(kSubjectHeader) != req.end()) {
    return Error(Code::kUnvouchedSubject,
                 "aztp-proxy takes no person from Aztp-Subject; a chain's "
                 "subject is the proxy's own identity, the received chain's, "
                 "or a person its control plane vouched for");
  }
  // The chain: a person's (to start, or started by this call), the
  // transaction's, or a root of the proxy's own.
  std::optional<internal::PersonCredential> credential;
  if (!started) {
    AZTP_ASSIGN_OR_RETURN(credential, internal::PersonCredentialOf(req));
  }
  AZTP_ASSIGN_OR_RETURN(std::shared_ptr<const HopSigner> signer, Signer());
  AZTP_ASSIGN_OR_RETURN(std::optional<CapabilitySet> narrowed,
                        NarrowedCapabilities(req));
  EgressPlan plan{*target, std::move(url), ""};
  plan.narrowed = narrowed;
  if (credential) {
    plan.credential = std::move(*credential);
    return plan;
  }
  const ChainInputs in{req, *target, narrowed, *signer, now};
  std::vector<std::string> path;
  if (started) {
    AZTP_ASSIGN_OR_RETURN(
        plan.chain, ExtendReceived(in, started->txn, started->origin, a, path));
  } else if (auto txn = req.find(kTxnHeader); txn != req.end()) {
    std::optional<std::string> origin;
    if (auto o = req.find(kOriginHeader); o != req.end()) {
      origin = std::string(o->value());
    }
    AZTP_ASSIGN_OR_RETURN(plan.chain,
                          ExtendReceived(in, txn->value(), origin, a, path));
  } else {
    AZTP_ASSIGN_OR_RETURN(plan.chain, MintRoot(in, s, a, path));
  }
  path.push_back(target->str());
  details["path"] = path;
  return plan;
}

Result<std::string> Proxy::Impl::ExtendReceived(
    const ChainInputs& in, std::string_view txn,
    const std::optional<std::string>& origin, AuditRecord& a,
    std::vector<std::string>& path) {
  if (txn.empty() || txn.size() > kMaxTxnBytes) {
    return Error(Code::kInvalidArgument, "Aztp-Txn must be 1 to 256 bytes");
  }
  a.txn = std::string(txn);
  AZTP_ASSIGN_OR_RETURN(VerifiedChain received,
                        chains.Get(a.txn, origin, in.now));
  for (const SpiffeId& id : received.path()) path.push_back(id.str());
  ExtendOptions e;
  e.audience = in.target;
  e.capabilities = in.narrowed;
  return ExtendChain(received, in.signer, e, in.now);
}

Result<std::string> Proxy::Impl::MintRoot(const ChainInputs& in,
                                          const Settings& s, AuditRecord& a,
                                          std::vector<std::string>& path) {
  if (!s.root_capabilities) {
    return Error(Code::kCapabilityEscalation,
                 "this proxy mints no roots (egress.root_capabilities is "
                 "empty)");
  }
  MintOptions m;
  m.audience = in.target;
  m.capabilities = in.narrowed ? *in.narrowed : *s.root_capabilities;
  for (const Capability& cap : m.capabilities.items()) {
    if (!s.root_capabilities->Covers(cap)) {
      return Error(Code::kCapabilityEscalation,
                   QuoteInput(cap.str()) +
                       " is not covered by egress.root_capabilities");
    }
  }
  // A retry keeps the transaction ID of the first attempt.
  if (a.txn.empty()) {
    AZTP_ASSIGN_OR_RETURN(Bytes random, RandomBytes(16));
    a.txn = HexEncode(random);
  }
  m.txn = a.txn;
  // root_ttl is the longest: a root never outlives the proxy's SVID.
  const ProxyConfig& c = s.config;
  m.ttl_seconds = std::min<int64_t>(c.egress->root_ttl_seconds,
                                    in.signer.not_after() - in.now);
  m.max_depth = c.egress->max_depth;
  AZTP_ASSIGN_OR_RETURN(std::string chain, MintChain(in.signer, m, in.now));
  path.push_back(self.str());
  return chain;
}

awaitable<bool> Proxy::Impl::ForwardEgress(Forward<beast::tcp_stream>& f,
                                           const Settings& s,
                                           EgressCall& call) {
  const ProxyConfig& c = s.config;
  const bool retryable = !proxy_runtime::HasBody(f.p);
  for (int attempt = 0;; ++attempt) {
    std::optional<IdleTls> conn =
        attempt == 0 ? tls_pool.Take(call.key, c.idle_timeout_seconds)
                     : std::nullopt;
    const bool reused = conn.has_value();
    std::optional<Error> refused;
    if (conn) {
      // A pooled connection's peer is checked again: its SVID may have
      // been revoked or expired since the handshake.
      auto still = deps.agent->VerifyPeer(conn->stream->native_handle(),
                                          call.plan->target);
      if (!still) {
        refused = still.error().WithContext("the target's certificate");
        conn.reset();
      }
    }
    Attempt at;
    co_await proxy_runtime::Attempted(
        at, ToTarget(f, c, call, conn, refused, at.answered));
    if (at.bad_body) {
      co_await proxy_runtime::AnswerBadBody(f.client, at);
      co_return false;
    }
    if (!refused && at.failure.empty()) co_return f.keep_alive;
    if (!refused && reused && at.closed && !at.answered && retryable) {
      // One fresh attempt, with a fresh token: the target may have seen
      // the first one, and a token is accepted once.
      auto again = PrepareEgress(f.p.get(), s, clock->Now(), call.record,
                                 call.details, call.started);
      if (again) {
        f.out.set(kChainHeader, again->chain);
        continue;
      }
      at.failure = again.error().message();
    }
    co_await EgressFailed(f.client, call, refused, at);
    co_return false;
  }
}

awaitable<void> Proxy::Impl::ToTarget(Forward<beast::tcp_stream>& f,
                                      const ProxyConfig& c, EgressCall& call,
                                      std::optional<IdleTls>& conn,
                                      std::optional<Error>& refused,
                                      bool& answered) {
  const EgressPlan& plan = *call.plan;
  if (!conn && !refused) {
    auto fresh = co_await ConnectTls(plan.url.address, plan.target, c);
    if (fresh) {
      conn = std::move(*fresh);
    } else {
      refused = fresh.error();
    }
  }
  if (conn && !call.audited) {
    // Nothing leaves without its record.
    call.audited = true;
    if (!co_await FinishEgressAudit(call.record, call.details, "allow", "",
                                    "")) {
      refused = Error(Code::kUnavailable, "the audit log is unavailable");
      conn.reset();
    } else {
      ++egress_sent;
    }
  }
  if (!conn) co_return;
  TlsStream& up = *conn->stream;
  up.next_layer().expires_after(seconds(c.request_timeout_seconds));
  if (co_await proxy_runtime::Exchange(f, up, c, answered)) {
    tls_pool.Give(call.key, std::move(*conn), c.upstream_pool_size);
  }
}

awaitable<void> Proxy::Impl::EgressFailed(beast::tcp_stream& client,
                                          EgressCall& call,
                                          const std::optional<Error>& refused,
                                          const Attempt& at) {
  const EgressPlan& plan = *call.plan;
  ++upstream_errors;
  ++egress_failed;
  if (refused) {
    // The target is not who the app asked for, or cannot be reached.
    const std::string reason = EgressReason(*refused);
    if (!call.audited) {
      (void)co_await FinishEgressAudit(call.record, call.details, "deny",
                                       reason, refused->message());
    }
    Log(LogLevel::kWarn, "egress_refused",
        Json{{"target", plan.target.str()},
             {"reason", reason},
             {"message", refused->message()}});
    co_await WriteJson(
        client, refused->code() == Code::kUnavailable ? 503 : 502,
        ErrorJson(reason, refused->message()), false, TxnFields(call.started));
    co_return;
  }
  Log(LogLevel::kWarn, "egress_failed",
      Json{{"target", plan.target.str()}, {"message", at.failure}});
  if (!at.answered) {
    co_await WriteJson(client, 502,
                       ErrorJson("upstream_unavailable",
                                 "the call to " + plan.url.address.str() +
                                     " failed: " + at.failure),
                       false, TxnFields(call.started));
  }
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

}  // namespace aztp

#include "aztp/proxy/gate.h"

#include <algorithm>
#include <cctype>

#include "aztp/encoding/json.h"
#include "aztp/proxy/agent_card.h"

namespace aztp {

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Segments splits a path that starts with '/' at every '/' after the
// first: "/a/b" is {"a", "b"}, "/" is {""}.
std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 1;
  while (true) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(path.substr(start));
      return out;
    }
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
}

GateOutcome Deny(int status, std::string reason, std::string message,
                 std::optional<int> hop = std::nullopt) {
  GateOutcome o;
  o.status = status;
  o.reason = std::move(reason);
  o.message = std::move(message);
  o.hop = hop;
  return o;
}

// ProtocolAllows: the request's method is one the route's protocol uses
// (MCP's streamable HTTP: POST, GET for a stream, DELETE to end a session;
// A2A: POST, and GET or HEAD of the Agent Card the proxy serves).
bool ProtocolAllows(const ProxyRoute& r, const InboundRequest& q) {
  switch (r.protocol) {
    case ProxyRoute::Protocol::kHttp:
      return true;
    case ProxyRoute::Protocol::kMcp:
      return q.method == "POST" || q.method == "GET" || q.method == "DELETE";
    case ProxyRoute::Protocol::kA2a:
      return q.method == "POST" ||
             ((q.method == "GET" || q.method == "HEAD") &&
              q.path == kAgentCardPath && !r.agent_card.empty());
  }
  return false;
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

// RouteFor is the route a request is decided on: for the A2A Agent Card's
// path, the route that names a card; otherwise the first that matches.
const ProxyRoute* RouteFor(const std::vector<ProxyRoute>& routes,
                           const InboundRequest& request) {
  if ((request.method == "GET" || request.method == "HEAD") &&
      request.path == kAgentCardPath) {
    for (const ProxyRoute& r : routes) {
      if (!r.agent_card.empty()) return &r;
    }
  }
  for (const ProxyRoute& r : routes) {
    if (MatchRoute(r, request.method, request.path)) return &r;
  }
  return nullptr;
}

// CheckMcpSession refuses, in `o`, a request naming an MCP session that is
// not its peer's (403 session_not_owned) or not known here (404
// session_unknown, which tells an MCP client to start anew), and one
// resuming a stream (Last-Event-ID) without its session: a stream is resumed
// only in the session it belongs to, never by event id alone.
void CheckMcpSession(RpcSessions* sessions, const InboundRequest& request,
                     UnixTime now, GateOutcome& o) {
  if (!request.mcp_session) {
    if (!request.resumes_stream) return;
    o.status = 404;
    o.reason = "session_unknown";
    o.message =
        "resuming an MCP stream (Last-Event-ID) needs the session it belongs "
        "to (Mcp-Session-Id)";
    return;
  }
  const Status mine =
      sessions ? sessions->Check(*request.mcp_session, *request.peer, now)
               : Status(Error(Code::kNotFound, "no sessions"));
  if (mine) return;
  const bool other = mine.error().code() == Code::kPermissionDenied;
  o.status = other ? 403 : 404;
  o.reason = other ? "session_not_owned" : "session_unknown";
  o.message = other ? "the MCP session was opened by another caller"
                    : "the MCP session is unknown here (never opened through "
                      "this proxy, ended or expired)";
}

}  // namespace

bool IsProxyHeader(std::string_view name) {
  return name.size() >= 5 && EqualsIgnoreCase(name.substr(0, 5), "aztp-");
}

bool IsHopByHopHeader(std::string_view name) {
  for (std::string_view h : {"connection", "keep-alive", "proxy-connection",
                             "proxy-authenticate", "proxy-authorization", "te",
                             "trailer", "transfer-encoding", "upgrade"}) {
    if (EqualsIgnoreCase(name, h)) return true;
  }
  return false;
}

bool MatchRoute(const ProxyRoute& route, std::string_view method,
                std::string_view path) {
  if (route.method != "*" && route.method != method) return false;
  if (path.empty() || path.front() != '/' || route.path.empty()) return false;
  // One final '/' routes as the path without it ("/admin/" is "/admin"):
  // most apps serve both alike, so both need the same route.
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const auto want = Segments(route.path);
  const auto got = Segments(path);
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (want[i] == "**" && i + 1 == want.size()) return true;
    if (i >= got.size()) return false;
    if (want[i] == "*" ? got[i].empty() : want[i] != got[i]) return false;
  }
  return got.size() == want.size();
}

std::string GateOutcome::ErrorBody() const {
  Json body{{"error", reason},
            {"hop", hop ? Json(*hop) : Json(nullptr)},
            {"message", message}};
  return DumpJson(body);
}

std::vector<std::pair<std::string, std::string>> GateOutcome::ForwardHeaders()
    const {
  std::vector<std::pair<std::string, std::string>> out;
  if (!chain) return out;
  std::vector<std::string> path;
  for (const SpiffeId& id : chain->path()) path.push_back(id.str());
  out.emplace_back(kCallerHeader, chain->caller().str());
  out.emplace_back(kSubjectHeader, chain->subject());
  out.emplace_back(kTxnHeader, chain->txn());
  out.emplace_back(kOriginHeader, chain->path().front().str());
  out.emplace_back(kCapabilitiesHeader,
                   Join(chain->capabilities().Strings(), " "));
  out.emplace_back(kPathHeader, Join(path, ","));
  return out;
}

AuditRecord GateOutcome::Audit(const SpiffeId& self,
                               const InboundRequest& request,
                               UnixTime now) const {
  AuditRecord a;
  a.time = now;
  a.actor = request.peer ? request.peer->str() : "";
  a.action = "proxy.inbound";
  a.subject = self.str();
  a.decision =
      allowed() ? (decision && decision->verdict == Verdict::kAudit ? "audit"
                                                                    : "allow")
                : "deny";
  a.reason = allowed() ? (decision ? decision->reason : "") : reason;
  Json details{{"method", request.method},
               {"path", Json::array()},
               {"request_path", request.path}};
  if (route != nullptr) {
    details["route"] = route->path;
    details["action"] = route->action;
    details["resource"] = route->resource;
  }
  if (hop) details["hop"] = *hop;
  if (!allowed()) details["message"] = message;
  if (chain) {
    a.txn = chain->txn();
    for (const SpiffeId& id : chain->path()) {
      details["path"].push_back(id.str());
    }
    details["origin_subject"] = chain->subject();
    details["capabilities"] = chain->capabilities().Strings();
    details["depth"] = chain->depth();
  }
  if (decision) {
    if (decision->statement_index) {
      details["statement"] = *decision->statement_index;
    }
    if (decision->sid) details["sid"] = *decision->sid;
  }
  a.details = std::move(details);
  return a;
}

Gate::Gate(SpiffeId self, std::vector<ProxyRoute> routes,
           std::shared_ptr<const ChainVerifier> verifier,
           std::shared_ptr<RpcSessions> sessions)
    : self_(std::move(self)),
      routes_(std::move(routes)),
      verifier_(std::move(verifier)),
      sessions_(std::move(sessions)) {}

GateOutcome Gate::Check(const InboundRequest& request,
                        const std::vector<const Policy*>& policies,
                        UnixTime now) const {
  // 0. The request itself, and whether revocations can be checked at all.
  if (request.malformed) {
    return Deny(400, std::string(request.malformed->reason()),
                request.malformed->message());
  }
  if (request.revocations_stale) {
    return Deny(503, std::string(kRevocationsStaleReason),
                "the revocation list is older than "
                "control_plane.revocation_max_staleness");
  }
  // 1. Who is on the other end of the connection.
  if (!request.peer) {
    if (request.peer_error) {
      return Deny(
          401, std::string(request.peer_error->reason()),
          "client certificate refused: " + request.peer_error->message());
    }
    return Deny(401, "unauthenticated", "no client X.509-SVID was presented");
  }
  // 2. The chain it carries.
  if (!request.chain) {
    return Deny(401, "unauthenticated", "no Aztp-Chain header");
  }
  VerifyContext context;
  context.peer = request.peer;
  context.request = request.binding;
  auto chain = verifier_->Verify(*request.chain, context);
  if (!chain) {
    // A store the check needs being unreachable (the shared replay store)
    // is the proxy's trouble, not the chain's: 503, which a client may
    // retry.
    // Where that store lives is not the caller's business.
    if (chain.error().code() == Code::kUnavailable) {
      return Deny(503, std::string(chain.error().reason()),
                  "a store the check needs (the shared replay store) is "
                  "unavailable; retry later");
    }
    return Deny(401, std::string(chain.error().reason()),
                chain.error().message(), chain.error().hop());
  }
  const int outer = chain->depth();
  // 3. What the request is.
  const ProxyRoute* route = RouteFor(routes_, request);
  if (route == nullptr) {
    GateOutcome o = Deny(403, "route_not_found",
                         "no route maps " + QuoteInput(request.method) + " " +
                             QuoteInput(request.path));
    o.chain = std::move(*chain);
    return o;
  }
  if (!ProtocolAllows(*route, request)) {
    GateOutcome o = Deny(405, "method_not_allowed",
                         QuoteInput(request.method) +
                             " is not a method of the route's protocol");
    o.route = route;
    o.chain = std::move(*chain);
    return o;
  }
  // 4. The capability and the policies.
  PolicyRequest p;
  p.action = route->action;
  p.resource = route->resource;
  Decision d = AuthorizeChain(*chain, policies, p, now);
  GateOutcome o;
  o.route = route;
  o.chain = std::move(*chain);
  if (!d.allowed()) {
    o.status = 403;
    o.reason = d.basis == DecisionBasis::kNotCovered ? "capability_not_granted"
                                                     : "policy_denied";
    o.hop = outer;
    o.message = d.reason;
  }
  o.decision = std::move(d);
  // 5. The MCP session it names.
  if (o.allowed() && route->protocol == ProxyRoute::Protocol::kMcp) {
    CheckMcpSession(sessions_.get(), request, now, o);
  }
  return o;
}

}  // namespace aztp

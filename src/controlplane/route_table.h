// RouteTable: every route of the control plane's HTTP API (/v1 and the
// hosted SDK's /astha/v1) as {method, pattern, permission, handler}. A
// handler only decodes its request, calls one service and encodes the
// answer; the dispatcher authenticates the caller and enforces the declared
// permission before any handler runs (docs/aztpd.md, "Permissions").
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/encoding/json.h"
#include "aztp/http/http.h"
#include "aztp/services/principal.h"

namespace aztp::internal {

// Reply carries what a handler sets besides its JSON body.
struct Reply {
  int status = 200;
  std::string route;                // the route's pattern, a metrics label
  int64_t retry_after_seconds = 0;  // for 429 answers
  // content_type, when set, means the body is the JSON string's text sent
  // as is (the Prometheus exposition); otherwise the body is JSON.
  std::string content_type;
  // no_store answers with Cache-Control: no-store (tokens, RFC 6749 §5.1).
  bool no_store = false;
  // location, when set, is sent as the Location of a redirect (303).
  std::string location;
};

// RouteCall is one matched request as its handler sees it.
struct RouteCall {
  const http::Request& request;
  // caller is the authenticated principal; null on public routes.
  const services::Principal* caller;
  std::string param;  // what the pattern's {...} matched; "" if none
  UnixTime now;
  Reply& reply;

  // who is the caller of a route that is not public.
  const services::Principal& who() const { return *caller; }
};

using RouteHandler = std::function<Result<Json>(RouteCall&)>;

// Route is one entry of the table.
//
// pattern is a path with at most one parameter, optionally followed by
// "?name" (the route matches only requests with query parameter `name`):
//   "/v1/apikeys"                   the path itself
//   "/v1/apikeys/{key_id}:revoke"   {name}: one or more bytes, no '/'
//   "/v1/identities/{id+}:link"     {name+}: one or more bytes, '/' allowed
// When several routes match, the one with the most literal bytes wins, so
// "/v1/policies/{id}:attach" takes ".../policy:1a2b:attach" from
// "/v1/policies/{id}".
struct Route {
  std::string_view method;
  std::string_view pattern;
  services::Permission permission;
  // denial is the message of the 403 answered to an authenticated caller
  // without `permission`.
  std::string_view denial;
  RouteHandler handler;
};

// RouteLabel is a pattern as metrics label it: without "+" and "?name"
// ("/v1/identities/{id+}:link" is "/v1/identities/{id}:link").
std::string RouteLabel(std::string_view pattern);

class RouteTable {
 public:
  // Add appends a route; a malformed pattern is a programming error and
  // aborts at startup.
  void Add(Route route);

  struct Match {
    const Route* route = nullptr;
    std::string param;
  };
  // Find is the route for `request`, nullopt when none matches its method
  // and path.
  std::optional<Match> Find(const http::Request& request) const;

  std::span<const Route> routes() const { return routes_; }

 private:
  struct Compiled {
    std::string_view prefix;
    std::string_view name;  // "" without a parameter
    bool slashes = false;   // {name+}
    std::string_view suffix;
    std::string_view query;  // required query parameter, "" for none
    std::size_t literal = 0;
  };
  static Compiled Compile(std::string_view pattern);
  static std::optional<std::string> MatchPath(const Compiled& c,
                                              std::string_view path);

  std::vector<Route> routes_;
  std::vector<Compiled> compiled_;
};

}  // namespace aztp::internal

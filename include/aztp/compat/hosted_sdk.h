// HostedSdkApi serves the hosted SDK's wire protocol under /astha/v1
// (docs/compat.md): each route reads the hosted body, calls the control
// plane's services (identities, flows) as the caller its api_access_key
// authenticates, and answers the hosted envelope {"success", "message",
// "data"}. It holds no state and touches no store: every decision is the
// services', under the same permissions, audit records and rate limits as
// the native /v1 API.
#pragma once

#include <memory>
#include <string>

#include "aztp/base/result.h"
#include "aztp/controlplane/control_plane.h"
#include "aztp/encoding/json.h"
#include "aztp/http/http.h"

namespace aztp::compat {

namespace hosted {
struct Backend;
}  // namespace hosted

// kHostedPrefix is the path prefix of every hosted-SDK route.
inline constexpr char kHostedPrefix[] = "/astha/v1/";

// HostedSdkApi answers hosted-SDK requests. Thread-safe (as the control
// plane whose services it calls).
class HostedSdkApi {
 public:
  // The control plane provides the services, the rate limits and the
  // request metrics; it must outlive the API.
  explicit HostedSdkApi(ControlPlane& plane);
  ~HostedSdkApi();
  HostedSdkApi(const HostedSdkApi&) = delete;
  HostedSdkApi& operator=(const HostedSdkApi&) = delete;

  // Handles reports whether `path` belongs to this API.
  static bool Handles(const std::string& path);

  // Handle answers one request whose path starts with kHostedPrefix. It
  // never throws; bad input becomes an envelope with success false.
  http::Response Handle(const http::Request& request);

  // routes is the table Handle dispatches on: every hosted route with the
  // permission it declares (as the native routes, route_table.h).
  const internal::RouteTable& routes() const { return *routes_; }

 private:
  Result<Json> Dispatch(const http::Request& request, internal::Reply& reply);

  ControlPlane& plane_;
  std::unique_ptr<hosted::Backend> backend_;
  std::unique_ptr<internal::RouteTable> routes_;
};

}  // namespace aztp::compat

// HostedSdkApi serves the hosted SDK's wire protocol under /astha/v1
// (docs/compat.md) by translating each request into native /v1 requests
// answered by a ControlPlane, and each native answer into the hosted
// envelope {"success", "message", "data"}. It holds no state and touches no
// store: every decision is the control plane's.
#pragma once

#include <string>

#include "aztp/controlplane/control_plane.h"
#include "aztp/http/http.h"

namespace aztp::compat {

// kHostedPrefix is the path prefix of every hosted-SDK route.
inline constexpr char kHostedPrefix[] = "/astha/v1/";

// HostedSdkApi answers hosted-SDK requests. Thread-safe (as the control
// plane it wraps).
class HostedSdkApi {
 public:
  explicit HostedSdkApi(ControlPlane& plane) : plane_(plane) {}

  // Handles reports whether `path` belongs to this API.
  static bool Handles(const std::string& path);

  // Handle answers one request whose path starts with kHostedPrefix. It
  // never throws; bad input becomes an envelope with success false.
  http::Response Handle(const http::Request& request);

 private:
  ControlPlane& plane_;
};

}  // namespace aztp::compat

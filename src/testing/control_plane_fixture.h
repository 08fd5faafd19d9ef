// A control plane over a fresh SQLite store, as the control-plane tests
// and the layers above it (compat, SDK) set one up.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "aztp/controlplane/control_plane.h"
#include "aztp/store/store.h"

namespace aztp::testing {

// InitializedStore is a store that ControlPlane::Initialize has prepared.
struct InitializedStore {
  std::shared_ptr<Store> store;
  std::string admin_api_key;
};

// InitializeTestStore creates the SQLite store at `path` and initialises
// trust domain `td` in it at `now`; aborts on failure (a broken fixture).
inline InitializedStore InitializeTestStore(const std::string& path,
                                            const std::string& td,
                                            UnixTime now) {
  auto store = OpenSqliteStore(path);
  auto domain = TrustDomain::Parse(td);
  if (!store || !domain) std::abort();
  InitializedStore out{std::shared_ptr<Store>(std::move(*store)), ""};
  auto init = ControlPlane::Initialize(*out.store, *domain, {}, now);
  if (!init) {
    std::fprintf(stderr, "Initialize: %s\n", init.error().message().c_str());
    std::abort();
  }
  out.admin_api_key = init->admin_api_key;
  return out;
}

// TestControlPlaneOptions: `clock`, and no rate limit (tests send bursts).
inline ControlPlaneOptions TestControlPlaneOptions(const Clock* clock) {
  ControlPlaneOptions o;
  o.clock = clock;
  o.rate_limit.requests_per_second = 0;
  return o;
}

}  // namespace aztp::testing

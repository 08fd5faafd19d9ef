// ServiceContext: what every control-plane service works on.
#pragma once

#include <memory>

#include "aztp/base/clock.h"
#include "aztp/spiffeid/trust_domain.h"
#include "aztp/store/store.h"

namespace aztp::services {

// ServiceContext is shared by the services of one control plane: its store,
// its trust domain and its clock. The store and clock outlive the services.
struct ServiceContext {
  std::shared_ptr<Store> store;
  TrustDomain trust_domain;
  const Clock* clock = nullptr;

  UnixTime Now() const { return clock->Now(); }
};

}  // namespace aztp::services

// What the replicas of one control plane coordinate through the store
// (docs/scaling.md): who runs the maintenance, and single use across all
// of them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "aztp/replay/replay_store.h"
#include "aztp/services/context.h"
#include "aztp/store/store.h"

namespace aztp::services {

// kMaintenanceLease is the lease of the replica that runs the periodic
// work (key rotation, federation fetches, sweeps).
inline constexpr const char* kMaintenanceLease = "maintenance";

// HoldLease takes or renews lease `name` for `holder` until now +
// `ttl_seconds` when it is free, expired or already `holder`'s, in one
// transaction (so two replicas never both get it), and returns the lease
// as it stands afterwards: held by `holder` or by another. A change of
// holder is audited (`lease.acquire`, with the term); a renewal is not.
Result<LeaseRecord> HoldLease(const ServiceContext& ctx,
                              const std::string& name,
                              const std::string& holder, int64_t ttl_seconds);

// StoreClaims is a replay store (protocol §4 step 7) whose memory is the
// store's single-use claims: a pair used at one replica is a replay at
// every other. Keys are digests of (issuer, jti); the store bounds
// nothing but time.
class StoreClaims final : public ReplayStore {
 public:
  explicit StoreClaims(std::shared_ptr<Store> store)
      : store_(std::move(store)) {}
  Status CheckAndRemember(std::string_view issuer, std::string_view jti,
                          UnixTime expires_at, UnixTime now) override;

 private:
  std::shared_ptr<Store> store_;
};

}  // namespace aztp::services

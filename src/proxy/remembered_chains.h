// RememberedChains: the verified chains the proxy received inbound, kept
// for the app's calls out in the same transaction (docs/proxy.md
// "Egress"). Plain code, no coroutines.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/chain/verifier.h"

namespace aztp::internal {

// kMaxRememberedChains bounds the received chains kept for egress.
inline constexpr std::size_t kMaxRememberedChains = 10000;

// RememberedChains keeps the verified chains received inbound, by `txn`
// and origin (the chain's root issuer), until they expire, so that egress
// calls of the same transaction extend them. Keying by origin too means
// that a caller who reuses another's transaction ID (first or not) never
// gets its chain extended for the other's call: the app names the origin
// it was called for (Aztp-Origin), or the transaction must have only one.
// Thread-safe.
class RememberedChains {
 public:
  void Put(const VerifiedChain& chain);
  // Get finds the chain of `txn` from `origin`, or, without an origin, the
  // only live chain of `txn` (kInvalidArgument when there are several).
  Result<VerifiedChain> Get(const std::string& txn,
                            const std::optional<std::string>& origin,
                            UnixTime now);
  // Sweep forgets expired chains (a walk over all of them: call it
  // periodically, not per request).
  void Sweep(UnixTime now);

 private:
  using Key = std::pair<std::string, std::string>;  // txn, origin
  std::mutex mu_;
  std::map<Key, VerifiedChain> chains_;
  std::deque<Key> order_;  // in the order first seen
};

}  // namespace aztp::internal

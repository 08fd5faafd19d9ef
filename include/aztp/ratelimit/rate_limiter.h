// RateLimiter: per-caller token buckets, so that one API key, SVID or
// client address cannot take the control plane's whole capacity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "aztp/base/hash.h"

namespace aztp {

// RateLimiter keeps one token bucket per key. Thread-safe; memory bounded.
//
// A bucket holds at most `burst` tokens (at least 1) and refills at
// `per_second`; a new key starts with a full bucket and each Take spends
// one token. At most `max_keys` buckets exist: to admit a new key the
// limiter first drops a bucket that has refilled completely (forgetting it
// changes nothing, since a new bucket starts full), and otherwise the
// bucket closest to full. Keys longer than 64 bytes are stored as their
// SHA-256, so memory stays bounded whatever the callers send.
class RateLimiter {
 public:
  // Decision is the outcome of one Take.
  struct Decision {
    bool allowed;
    int64_t retry_after_seconds;  // >= 1 when denied, 0 when allowed
  };

  // per_second <= 0 disables limiting (every Take is allowed).
  // now_nanos: monotonic time source (default: std::chrono::steady_clock),
  // injectable for tests.
  RateLimiter(double per_second, double burst, std::size_t max_keys = 100000,
              std::function<int64_t()> now_nanos = nullptr);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Take spends one token of `key`'s bucket if it has one; otherwise it
  // says how many whole seconds until it will.
  Decision Take(std::string_view key);

  // size is the number of buckets held (for tests and metrics).
  std::size_t size() const;

 private:
  struct Bucket {
    double tokens;
    int64_t updated_nanos;  // when `tokens` was last computed
    int64_t full_nanos;     // when the bucket will be full again
  };
  // Keys name callers (client addresses, key IDs) and are partly theirs
  // to choose: KeyedStringHash keeps them from being chosen to collide.
  using Map =
      std::unordered_map<std::string, Bucket, KeyedStringHash, std::equal_to<>>;

  // Refill brings `b` up to `now`.
  void Refill(Bucket& b, int64_t now) const;
  // FullAt is when a bucket holding `tokens` at `now` is full again.
  int64_t FullAt(double tokens, int64_t now) const;
  // MakeRoom drops one bucket, the one that is (or soonest becomes) full.
  void MakeRoom();

  const double per_second_;
  const double burst_;
  const std::size_t max_keys_;
  const std::function<int64_t()> now_nanos_;

  mutable std::mutex mu_;
  Map buckets_;
  // by_full_ orders the buckets by the time they are full again; its views
  // point into the keys of buckets_, which stay put until erased.
  std::set<std::pair<int64_t, std::string_view>> by_full_;
};

}  // namespace aztp

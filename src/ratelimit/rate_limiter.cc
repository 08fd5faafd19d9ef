#include "aztp/ratelimit/rate_limiter.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "aztp/base/bytes.h"
#include "aztp/crypto/digest.h"

namespace aztp {

namespace {

constexpr double kNanosPerSecond = 1e9;
constexpr std::size_t kMaxStoredKeyBytes = 64;
// A denied caller is never told to wait longer than this; it also keeps the
// conversion to int64 in range for absurdly small rates.
constexpr double kMaxRetryAfterSeconds = 86400;
// Rates and bursts beyond this are as good as unlimited.
constexpr double kMaxRate = 1e9;

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// StoredKey bounds the bytes kept per bucket. The one-byte prefixes keep
// the literal and hashed namespaces apart, so no short key can be chosen
// to share a long key's bucket.
std::string StoredKey(std::string_view key) {
  std::string out;
  if (key.size() <= kMaxStoredKeyBytes) {
    out.reserve(key.size() + 1);
    out += 'k';
    out += key;
    return out;
  }
  Sha256Digest digest = Sha256(AsBytes(key));
  out += 'h';
  out.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  return out;
}

}  // namespace

RateLimiter::RateLimiter(double per_second, double burst, std::size_t max_keys,
                         std::function<int64_t()> now_nanos)
    // NaN compares false, so it disables limiting / yields a burst of 1;
    // the caps keep every computation below finite.
    : per_second_(per_second > 0 ? std::min(per_second, kMaxRate) : 0),
      // A bucket that cannot hold one token would deny everything.
      burst_(burst >= 1 ? std::min(burst, kMaxRate) : 1),
      max_keys_(std::max<std::size_t>(max_keys, 1)),
      now_nanos_(now_nanos ? std::move(now_nanos) : SteadyNanos) {}

void RateLimiter::Refill(Bucket& b, int64_t now) const {
  // A monotonic clock does not go back; if an injected one does, the
  // bucket simply waits for it to pass `updated_nanos` again.
  if (now <= b.updated_nanos) return;
  const double elapsed = static_cast<double>(now - b.updated_nanos);
  // Multiply before dividing so that whole seconds at whole rates are exact.
  b.tokens =
      std::min(burst_, b.tokens + elapsed * per_second_ / kNanosPerSecond);
  b.updated_nanos = now;
}

int64_t RateLimiter::FullAt(double tokens, int64_t now) const {
  const double deficit = burst_ - tokens;
  if (deficit <= 0) return now;
  const double nanos = std::ceil(deficit / per_second_ * kNanosPerSecond);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (!(nanos < static_cast<double>(kMax - std::max<int64_t>(now, 0)))) {
    return kMax;
  }
  return now + static_cast<int64_t>(nanos);
}

void RateLimiter::MakeRoom() {
  if (by_full_.empty()) return;
  auto victim = by_full_.begin();
  auto it = buckets_.find(victim->second);
  by_full_.erase(victim);
  if (it != buckets_.end()) buckets_.erase(it);
}

RateLimiter::Decision RateLimiter::Take(std::string_view key) {
  if (per_second_ <= 0) return Decision{true, 0};
  std::string stored = StoredKey(key);
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = now_nanos_();
  auto it = buckets_.find(stored);
  if (it == buckets_.end()) {
    while (buckets_.size() >= max_keys_ && !by_full_.empty()) MakeRoom();
    it = buckets_.emplace(std::move(stored), Bucket{burst_, now, now}).first;
  } else {
    by_full_.erase({it->second.full_nanos, it->first});
    Refill(it->second, now);
  }
  Bucket& b = it->second;
  Decision d{true, 0};
  if (b.tokens >= 1) {
    b.tokens -= 1;
  } else {
    const double wait = std::ceil((1 - b.tokens) / per_second_);
    d.allowed = false;
    d.retry_after_seconds =
        static_cast<int64_t>(std::clamp(wait, 1.0, kMaxRetryAfterSeconds));
  }
  b.full_nanos = FullAt(b.tokens, now);
  by_full_.emplace(b.full_nanos, it->first);
  return d;
}

std::size_t RateLimiter::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buckets_.size();
}

}  // namespace aztp

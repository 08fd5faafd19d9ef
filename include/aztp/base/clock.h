// Clock: the source of the current time. Every component that needs "now"
// takes a Clock so that tests can pin it.
#pragma once

#include <atomic>
#include <cstdint>

namespace aztp {

// UnixTime is seconds since 1970-01-01T00:00:00Z (a JWT NumericDate).
using UnixTime = int64_t;

// Clock returns the current time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixTime Now() const = 0;
};

// SystemClock reads the real-time clock.
class SystemClock final : public Clock {
 public:
  UnixTime Now() const override;
  // Default returns a process-wide instance.
  static const SystemClock& Default();
};

// FixedClock returns a time the test sets; Advance moves it.
class FixedClock final : public Clock {
 public:
  explicit FixedClock(UnixTime now) : now_(now) {}
  UnixTime Now() const override { return now_.load(); }
  void Set(UnixTime now) { now_.store(now); }
  void Advance(int64_t seconds) { now_.fetch_add(seconds); }

 private:
  std::atomic<UnixTime> now_;
};

}  // namespace aztp

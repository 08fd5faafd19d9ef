#include "aztp/base/clock.h"

#include <chrono>

namespace aztp {

UnixTime SystemClock::Now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const SystemClock& SystemClock::Default() {
  static const SystemClock clock;
  return clock;
}

}  // namespace aztp

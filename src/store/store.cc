#include "aztp/store/store.h"

#include <thread>

namespace aztp {

// No other process writes a store that does not say otherwise.
bool Store::WaitForChange(std::chrono::milliseconds timeout) {
  std::this_thread::sleep_for(timeout);
  return false;
}

}  // namespace aztp

// TransactionScope marks a store's transaction callback as running on this
// thread: a callback that opens another transaction on the same store
// would deadlock (a write waits for itself) or read around its own
// uncommitted changes, so every store refuses that (kUnsupported).
#pragma once

#include <algorithm>
#include <vector>

#include "aztp/base/result.h"

namespace aztp::internal {

class TransactionScope {
 public:
  explicit TransactionScope(const void* store) { Active().push_back(store); }
  ~TransactionScope() { Active().pop_back(); }
  TransactionScope(const TransactionScope&) = delete;
  TransactionScope& operator=(const TransactionScope&) = delete;

  // Nested is kUnsupported when a callback of `store` runs on this thread.
  static Status Nested(const void* store) {
    const std::vector<const void*>& active = Active();
    if (std::find(active.begin(), active.end(), store) == active.end()) {
      return Ok();
    }
    return Error(Code::kUnsupported,
                 "store: a transaction callback cannot open another "
                 "transaction on the same store");
  }

 private:
  // Callbacks running on this thread, innermost last.
  static std::vector<const void*>& Active() {
    thread_local std::vector<const void*> active;
    return active;
  }
};

}  // namespace aztp::internal

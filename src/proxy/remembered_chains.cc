#include "proxy/remembered_chains.h"

namespace aztp::internal {

void RememberedChains::Put(const VerifiedChain& chain) {
  std::lock_guard lock(mu_);
  Key key{chain.txn(), chain.path().front().str()};
  auto it = chains_.find(key);
  if (it != chains_.end()) {
    it->second = chain;  // the same origin's later chain
    return;
  }
  chains_.emplace(key, chain);
  order_.push_back(std::move(key));
  // Beyond the bound, the oldest transactions are forgotten first.
  while (chains_.size() > kMaxRememberedChains && !order_.empty()) {
    chains_.erase(order_.front());
    order_.pop_front();
  }
}

Result<VerifiedChain> RememberedChains::Get(
    const std::string& txn, const std::optional<std::string>& origin,
    UnixTime now) {
  std::lock_guard lock(mu_);
  std::optional<VerifiedChain> found;
  for (auto it = chains_.lower_bound(Key{txn, ""});
       it != chains_.end() && it->first.first == txn; ++it) {
    if (it->second.expires_at() <= now) continue;
    if (origin && it->first.second != *origin) continue;
    if (found) {
      return Error(Code::kInvalidArgument,
                   "transaction " + QuoteInput(txn) +
                       " was received from several origins: name one "
                       "with Aztp-Origin");
    }
    found = it->second;
  }
  if (!found) {
    return Error(Code::kNotFound,
                 "no chain was received for transaction " + QuoteInput(txn) +
                     (origin ? " from " + QuoteInput(*origin) : ""));
  }
  return *found;
}

void RememberedChains::Sweep(UnixTime now) {
  std::lock_guard lock(mu_);
  std::erase_if(chains_,
                [&](const auto& e) { return e.second.expires_at() <= now; });
  std::erase_if(order_, [&](const Key& k) { return !chains_.count(k); });
}

}  // namespace aztp::internal

#include "chain/cert_cache.h"

#include <algorithm>

namespace aztp::internal {

CertCache::CertCache(std::size_t capacity)
    : per_shard_(std::max<std::size_t>(1, capacity / kShards)) {}

std::shared_ptr<const CachedSvid> CertCache::Find(const Json* key,
                                                  const Bundle* bundle,
                                                  UnixTime now) const {
  Shard& shard = ShardFor(key);
  std::shared_ptr<const CachedSvid> entry;
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.entries.find(key);
    if (it == shard.entries.end()) return nullptr;
    entry = it->second;
  }
  if (entry->bundle.get() != bundle) return nullptr;
  if (now < entry->not_before || now >= entry->not_after) return nullptr;
  return entry;
}

void CertCache::Insert(std::shared_ptr<const CachedSvid> entry) {
  const Json* key = entry->header.get();
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto [it, inserted] = shard.entries.insert_or_assign(key, std::move(entry));
  (void)it;
  if (!inserted) return;
  shard.order.push_back(key);
  while (shard.entries.size() > per_shard_ && !shard.order.empty()) {
    shard.entries.erase(shard.order.front());
    shard.order.pop_front();
  }
}

std::size_t CertCache::size() const {
  std::size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    n += shard.entries.size();
  }
  return n;
}

}  // namespace aztp::internal

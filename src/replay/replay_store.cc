#include "aztp/replay/replay_store.h"

#include <algorithm>
#include <functional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "aztp/base/hash.h"
#include "aztp/replay/replay_key.h"

namespace aztp {
namespace {

// kSweepPerCall is how many expired heap nodes every call pops from its own
// shard: more than one, so that the backlog of expired entries shrinks.
constexpr std::size_t kSweepPerCall = 2;
// kSweepWhenFull is how many expired heap nodes a call pops from each shard
// when the store is full.
constexpr std::size_t kSweepWhenFull = 64;

// HeapNode is one expiry of a shard's min-heap. `key` views the key of the
// shard's map entry. Nodes of one key have strictly increasing expiries (an
// entry is replaced only once expired, by one that expires after `now`), so
// the node matching the entry's current expiry is the last of its key to be
// popped and every view stays valid until then.
struct HeapNode {
  UnixTime expires_at;
  std::string_view key;
};

// Later orders the heap so that the earliest expiry is on top.
struct Later {
  bool operator()(const HeapNode& a, const HeapNode& b) const {
    return a.expires_at > b.expires_at;
  }
};

}  // namespace

Status ReplayStore::ValidateArguments(std::string_view issuer,
                                      std::string_view jti, UnixTime expires_at,
                                      UnixTime now) {
  if (issuer.empty() || jti.empty()) {
    return Error(Code::kInvalidArgument, "replay store: empty issuer or jti");
  }
  if (issuer.size() > kMaxKeyBytes || jti.size() > kMaxKeyBytes) {
    return Error(Code::kTooLarge,
                 "replay store: issuer or jti longer than 8192 bytes");
  }
  if (expires_at <= now) {
    return Error(Code::kInvalidArgument,
                 "replay store: expiry is not after the current time");
  }
  return Ok();
}

struct InMemoryReplayStore::Shard {
  std::mutex mu;
  // key -> expiry. A signer chooses its jtis: KeyedStringHash keeps them
  // from being chosen to collide (and lets a string_view search the map).
  std::unordered_map<std::string, UnixTime, KeyedStringHash, std::equal_to<>>
      entries;
  std::vector<HeapNode> heap;  // min-heap by expiry
};

InMemoryReplayStore::InMemoryReplayStore(std::size_t capacity)
    : capacity_(capacity), shards_(std::make_unique<Shard[]>(kShards)) {}

InMemoryReplayStore::~InMemoryReplayStore() = default;

bool InMemoryReplayStore::TryReserve() {
  std::size_t n = count_.load(std::memory_order_relaxed);
  while (n < capacity_) {
    if (count_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

std::size_t InMemoryReplayStore::Sweep(Shard& shard, UnixTime now,
                                       std::size_t limit) {
  std::size_t erased = 0;
  for (std::size_t popped = 0; popped < limit && !shard.heap.empty() &&
                               shard.heap.front().expires_at <= now;
       ++popped) {
    std::pop_heap(shard.heap.begin(), shard.heap.end(), Later());
    const HeapNode node = shard.heap.back();
    shard.heap.pop_back();
    auto it = shard.entries.find(node.key);
    // A node whose expiry differs from the entry's was superseded when the
    // entry was replaced; the entry itself stays.
    if (it != shard.entries.end() && it->second == node.expires_at) {
      shard.entries.erase(it);
      count_.fetch_sub(1, std::memory_order_relaxed);
      ++erased;
    }
  }
  return erased;
}

Status InMemoryReplayStore::CheckAndRemember(std::string_view issuer,
                                             std::string_view jti,
                                             UnixTime expires_at,
                                             UnixTime now) {
  AZTP_RETURN_IF_ERROR(ValidateArguments(issuer, jti, expires_at, now));
  std::string key = ReplayKey(issuer, jti);
  // Mix the hash so that the shard does not follow the map's bucket choice.
  uint64_t h = KeyedHash(key);
  h = (h ^ (h >> 31)) * 0x9e3779b97f4a7c15ULL;
  Shard& shard = shards_[(h >> 32) % kShards];

  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      std::lock_guard<std::mutex> lock(shard.mu);
      Sweep(shard, now, kSweepPerCall);
      auto it = shard.entries.find(key);
      if (it != shard.entries.end()) {
        if (it->second > now) {
          return Error(Code::kReplay, "token (iss, jti) was already used");
        }
        // Present but expired: it counts as absent and is replaced.
        it->second = expires_at;
        shard.heap.push_back({expires_at, it->first});
        std::push_heap(shard.heap.begin(), shard.heap.end(), Later());
        return Ok();
      }
      if (TryReserve() ||
          (Sweep(shard, now, kSweepWhenFull) > 0 && TryReserve())) {
        auto [pos, inserted] =
            shard.entries.emplace(std::move(key), expires_at);
        (void)inserted;
        shard.heap.push_back({expires_at, pos->first});
        std::push_heap(shard.heap.begin(), shard.heap.end(), Later());
        return Ok();
      }
    }
    if (attempt > 0) break;
    // Full: free expired entries of the other shards, one shard lock at a
    // time (never two, so shards cannot deadlock), then try once more.
    for (std::size_t i = 0; i < kShards; ++i) {
      if (&shards_[i] == &shard) continue;
      std::lock_guard<std::mutex> lock(shards_[i].mu);
      if (Sweep(shards_[i], now, kSweepWhenFull) > 0) break;
    }
  }
  return Error(Code::kTooLarge, "replay store is full");
}

std::string ReplayKey(std::string_view issuer, std::string_view jti) {
  std::string key = std::to_string(issuer.size());
  key.reserve(key.size() + 1 + issuer.size() + jti.size());
  key += ':';
  key += issuer;
  key += jti;
  return key;
}

}  // namespace aztp

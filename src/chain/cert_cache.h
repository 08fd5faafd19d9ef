// CertCache: X.509-SVID verification results of hop-token x5c chains,
// keyed by the SHA-256 of the x5c header values, so that a warm verifier
// does one signature check per token (the JWS) instead of two.
//
// Nothing is weakened: an entry is used only for the very bundle object it
// was verified against (a bundle update makes a new object, so every entry
// of that domain is re-verified) and only while `now` lies inside the
// validity window of every certificate on its path. Only successes are
// cached. Internal to the library.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "aztp/base/clock.h"
#include "aztp/bundle/bundle.h"
#include "aztp/crypto/digest.h"
#include "aztp/crypto/key.h"
#include "aztp/spiffeid/spiffe_id.h"

namespace aztp::internal {

// CachedSvid is what the verifier needs from a verified x5c chain.
struct CachedSvid {
  std::shared_ptr<const Bundle> bundle;
  SpiffeId id;
  PublicKey key;
  std::string leaf_serial;
  UnixTime not_before;  // latest notBefore on the presented chain
  UnixTime not_after;   // earliest notAfter on the validated path
};

// CertCache is a bounded, sharded, thread-safe map; when a shard is full its
// oldest entry is dropped.
class CertCache {
 public:
  explicit CertCache(std::size_t capacity);

  // Find returns the entry for `key` when it was verified against exactly
  // `bundle` and `now` is inside its window; null otherwise.
  std::shared_ptr<const CachedSvid> Find(const Sha256Digest& key,
                                         const Bundle* bundle,
                                         UnixTime now) const;
  // Insert stores (or replaces) an entry.
  void Insert(const Sha256Digest& key, std::shared_ptr<const CachedSvid> entry);
  std::size_t size() const;

 private:
  struct KeyHash {
    std::size_t operator()(const Sha256Digest& d) const {
      std::size_t h = 0;
      for (int i = 0; i < 8; ++i) h = (h << 8) | d[i];
      return h;
    }
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<Sha256Digest, std::shared_ptr<const CachedSvid>, KeyHash>
        entries;
    std::deque<Sha256Digest> order;
  };
  static constexpr std::size_t kShards = 16;
  Shard& ShardFor(const Sha256Digest& key) const {
    return shards_[key[31] % kShards];
  }
  std::size_t per_shard_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace aztp::internal

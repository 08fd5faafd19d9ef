// CertCache: X.509-SVID verification results of hop-token x5c chains,
// keyed by the token's parsed protected header (the object the
// JwsHeaderCache hands out for one exact header text, which holds the x5c),
// so that a warm verifier does one signature check per token (the JWS)
// instead of two, without even hashing the certificates again.
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
#include "aztp/crypto/key.h"
#include "aztp/encoding/json.h"
#include "aztp/spiffeid/spiffe_id.h"

namespace aztp::internal {

// CachedSvid is what the verifier needs from a verified x5c chain.
struct CachedSvid {
  // header pins the header object whose address is the key, so the address
  // cannot be reused for another header while the entry exists.
  std::shared_ptr<const Json> header;
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
  std::shared_ptr<const CachedSvid> Find(const Json* header,
                                         const Bundle* bundle,
                                         UnixTime now) const;
  // Insert stores (or replaces) the entry for entry->header.
  void Insert(std::shared_ptr<const CachedSvid> entry);
  std::size_t size() const;

 private:
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<const Json*, std::shared_ptr<const CachedSvid>> entries;
    std::deque<const Json*> order;
  };
  static constexpr std::size_t kShards = 16;
  Shard& ShardFor(const Json* key) const {
    return shards_[(reinterpret_cast<std::uintptr_t>(key) >> 6) % kShards];
  }
  std::size_t per_shard_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace aztp::internal

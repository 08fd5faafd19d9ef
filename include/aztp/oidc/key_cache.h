// The keys of one OpenID provider, as a relying party keeps them: fetched
// from its jwks_uri, kept for a maximum age, and fetched again early when
// an ID token names a `kid` the set lacks, which is how a provider's key
// rotation shows (OpenID Connect Core 1.0 §10.1.1). Early fetches are
// rate-limited, so that tokens with made-up kids cannot make aztpd hammer
// the provider; a failed fetch keeps the last good set.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/jose/jwk.h"
#include "aztp/oidc/id_token.h"

namespace aztp {

struct OidcKeyCacheOptions {
  int64_t max_age_seconds = 3600;    // fetch again after this long
  int64_t min_refresh_seconds = 60;  // at most one early fetch per this
  std::size_t max_document_bytes = 256 << 10;
  std::size_t max_keys = 32;  // a larger set is refused
};

class OidcKeyCache {
 public:
  // FetchJwks returns the body of the provider's jwks_uri (done over
  // verified TLS by the caller's fetcher).
  using FetchJwks = std::function<Result<std::string>()>;

  OidcKeyCache(FetchJwks fetch, OidcKeyCacheOptions options,
               const Clock* clock);

  // Keys returns the current set: fetched when there is none yet or it is
  // older than max_age_seconds. When a due fetch fails, the last good set
  // is kept and returned; with none, the fetch's error. One caller fetches
  // at a time, without holding the cache: the others keep using the last
  // good set meanwhile (or wait for the first one).
  Result<std::shared_ptr<const Jwks>> Keys();

  // Validate is ValidateIdToken with the provider's keys. When the token
  // names a kid the set lacks, the set is fetched again once (unless one
  // was fetched less than min_refresh_seconds ago) and the token checked
  // again.
  Result<VerifiedIdToken> Validate(std::string_view token,
                                   const IdTokenRules& rules,
                                   std::string_view expected_nonce);

  // fetches counts the fetches tried, for tests and metrics.
  int64_t fetches() const;

 private:
  // Fetch fetches and parses the set, with `lock` (on mu_) released while
  // it does; on success it replaces keys_. A caller that finds a fetch
  // under way waits for its outcome instead.
  Status Fetch(std::unique_lock<std::mutex>& lock, UnixTime now);

  FetchJwks fetch_;
  OidcKeyCacheOptions options_;
  const Clock* clock_;
  mutable std::mutex mu_;
  std::condition_variable fetched_;  // a fetch ended
  bool fetching_ = false;
  std::shared_ptr<const Jwks> keys_;
  UnixTime fetched_at_ = 0;    // of keys_
  UnixTime attempted_at_ = 0;  // of the last fetch, good or not
  int64_t fetches_ = 0;
};

}  // namespace aztp

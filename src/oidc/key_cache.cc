#include "aztp/oidc/key_cache.h"

#include <utility>

namespace aztp {

OidcKeyCache::OidcKeyCache(FetchJwks fetch, OidcKeyCacheOptions options,
                           const Clock* clock)
    : fetch_(std::move(fetch)), options_(options), clock_(clock) {}

namespace {

// ParseSet reads a fetched JWKS within the cache's bounds.
Result<Jwks> ParseSet(const std::string& body,
                      const OidcKeyCacheOptions& options) {
  JsonLimits limits;
  limits.max_bytes = options.max_document_bytes;
  AZTP_ASSIGN_OR_RETURN(Jwks set, Jwks::FromJson(body, limits));
  if (set.keys().empty() || set.keys().size() > options.max_keys) {
    return Error(Code::kMalformed, "the provider's JWKS must hold 1 to " +
                                       std::to_string(options.max_keys) +
                                       " keys aztp can use, not " +
                                       std::to_string(set.keys().size()));
  }
  return set;
}

}  // namespace

Status OidcKeyCache::Fetch(std::unique_lock<std::mutex>& lock, UnixTime now) {
  if (fetching_) {
    fetched_.wait(lock, [&] { return !fetching_; });
    return keys_ ? Ok()
                 : Error(Code::kUnavailable,
                         "the provider's keys could not be fetched");
  }
  fetching_ = true;
  attempted_at_ = now;
  ++fetches_;
  lock.unlock();
  // The network, without the cache held (a slow provider delays only the
  // callers that have no keys to use).
  Result<Jwks> set = [&]() -> Result<Jwks> {
    AZTP_ASSIGN_OR_RETURN(std::string body, fetch_());
    return ParseSet(body, options_);
  }();
  lock.lock();
  fetching_ = false;
  fetched_.notify_all();
  if (!set) return set.error();
  keys_ = std::make_shared<const Jwks>(std::move(*set));
  fetched_at_ = now;
  return Ok();
}

Result<std::shared_ptr<const Jwks>> OidcKeyCache::Keys() {
  std::unique_lock<std::mutex> lock(mu_);
  const UnixTime now = clock_->Now();
  const bool due = !keys_ || now - fetched_at_ >= options_.max_age_seconds;
  // A failed fetch is not retried sooner than an early one may be; while
  // one is under way, the last good set serves.
  if (due && !(fetching_ && keys_) &&
      (fetches_ == 0 || now - attempted_at_ >= options_.min_refresh_seconds)) {
    Status fetched = Fetch(lock, now);
    if (!fetched && !keys_) return fetched.error();
  }
  if (!keys_) {
    return Error(Code::kUnavailable,
                 "the provider's keys could not be fetched yet");
  }
  return keys_;
}

Result<VerifiedIdToken> OidcKeyCache::Validate(std::string_view token,
                                               const IdTokenRules& rules,
                                               std::string_view nonce) {
  AZTP_ASSIGN_OR_RETURN(std::shared_ptr<const Jwks> keys, Keys());
  auto verified = ValidateIdToken(token, rules, *keys, nonce, clock_->Now());
  if (verified || verified.error().code() != Code::kNotFound) return verified;
  {
    // An unknown kid: the provider may have rotated its keys.
    std::unique_lock<std::mutex> lock(mu_);
    const UnixTime now = clock_->Now();
    if (keys_ == keys) {  // nobody fetched meanwhile
      if (!fetching_ && now - attempted_at_ < options_.min_refresh_seconds) {
        return verified;
      }
      if (!Fetch(lock, now)) return verified;
    }
    keys = keys_;
  }
  return ValidateIdToken(token, rules, *keys, nonce, clock_->Now());
}

int64_t OidcKeyCache::fetches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fetches_;
}

}  // namespace aztp

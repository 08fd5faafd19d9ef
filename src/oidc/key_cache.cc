#include "aztp/oidc/key_cache.h"

#include <utility>

namespace aztp {

OidcKeyCache::OidcKeyCache(FetchJwks fetch, OidcKeyCacheOptions options,
                           const Clock* clock)
    : fetch_(std::move(fetch)), options_(options), clock_(clock) {}

Status OidcKeyCache::Fetch(UnixTime now) {
  attempted_at_ = now;
  ++fetches_;
  AZTP_ASSIGN_OR_RETURN(std::string body, fetch_());
  if (body.size() > options_.max_document_bytes) {
    return Error(Code::kTooLarge,
                 "the provider's JWKS is larger than " +
                     std::to_string(options_.max_document_bytes) + " bytes");
  }
  JsonLimits limits;
  limits.max_bytes = options_.max_document_bytes;
  AZTP_ASSIGN_OR_RETURN(Jwks set, Jwks::FromJson(body, limits));
  if (set.keys().empty() || set.keys().size() > options_.max_keys) {
    return Error(Code::kMalformed, "the provider's JWKS must hold 1 to " +
                                       std::to_string(options_.max_keys) +
                                       " keys aztp can use, not " +
                                       std::to_string(set.keys().size()));
  }
  keys_ = std::make_shared<const Jwks>(std::move(set));
  fetched_at_ = now;
  return Ok();
}

Result<std::shared_ptr<const Jwks>> OidcKeyCache::Keys() {
  std::lock_guard<std::mutex> lock(mu_);
  const UnixTime now = clock_->Now();
  const bool due = !keys_ || now - fetched_at_ >= options_.max_age_seconds;
  // A failed fetch is not retried sooner than an early one may be.
  if (due &&
      (fetches_ == 0 || now - attempted_at_ >= options_.min_refresh_seconds)) {
    Status fetched = Fetch(now);
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
    std::lock_guard<std::mutex> lock(mu_);
    const UnixTime now = clock_->Now();
    if (keys_ == keys) {  // nobody fetched meanwhile
      if (now - attempted_at_ < options_.min_refresh_seconds) return verified;
      if (!Fetch(now)) return verified;
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

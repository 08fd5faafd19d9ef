// RedisReplayStore: a replay store shared by several proxy processes through
// one Redis server (protocol §4 step 7), so that a chain accepted at one
// proxy of an agent is a replay at every other proxy of that agent.
//
// Each pair is one Redis key, set with `SET key 1 NX EXAT expires_at`: the
// server decides atomically which proxy saw the pair first and forgets it at
// its expiry. The key is the prefix plus the SHA-256 of the pair in hex, so
// keys have a fixed length and hold no bytes of the caller's input. Expiries
// are absolute times, read by Redis's clock: the hosts' clocks must agree
// (as they must for token expiry anyway).
//
// A local InMemoryReplayStore sits in front of Redis: a pair this process
// has seen (accepted, or refused as a replay) is answered from memory
// without a round trip. Redis stays authoritative; a full local cache only
// costs round trips.
//
// When Redis cannot be reached (connect failure, I/O error, timeout or any
// error reply), a check fails with kUnavailable (OnUnavailable::kRefuse, the
// default: fail closed) or is answered by the local cache alone
// (OnUnavailable::kLocalOnly: replays across proxies go unnoticed until
// Redis is back; pairs accepted meanwhile are not copied to Redis later).
// After a failure every call fails fast for `retry_after`; then one caller
// tries again, and the store recovers without being reopened.
//
// Example:
//
//   aztp::RedisReplayOptions options;
//   options.port = 6380;
//   options.password = aztp::SecretBytes(password_from_file);
//   AZTP_ASSIGN_OR_RETURN(auto store,
//                         aztp::RedisReplayStore::Open(std::move(options)));
//   auto s = store->CheckAndRemember(iss, jti, exp + skew, now);
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/base/secret.h"
#include "aztp/replay/replay_store.h"

namespace aztp {

// RedisReplayOptions configures a RedisReplayStore. Open checks every field
// (kInvalidArgument).
struct RedisReplayOptions {
  // What a check does while Redis cannot be reached.
  enum class OnUnavailable {
    kRefuse,     // fail with kUnavailable (fail closed)
    kLocalOnly,  // answer from this process's local cache alone
  };

  std::string host = "127.0.0.1";  // an IP address or host name
  int port = 6379;                 // 1..65535
  std::string username;  // empty: AUTH with the password only (Redis ACLs)
  std::optional<SecretBytes> password;  // AUTH when set
  // timeout bounds the connect and each command's I/O; > 0.
  std::chrono::milliseconds timeout{250};
  // key_prefix starts every key: 1..64 visible ASCII bytes (0x21..0x7e).
  std::string key_prefix = "aztp:replay:";
  // local_capacity is the size of the local cache in front of Redis.
  std::size_t local_capacity = 1 << 16;
  OnUnavailable on_unavailable = OnUnavailable::kRefuse;
  // connections is the size of the pool: 1..64 connections, opened lazily.
  std::size_t connections = 4;
  // retry_after is how long calls fail fast, without trying Redis, after a
  // failure; >= 0.
  std::chrono::milliseconds retry_after{1000};
};

// RedisReplayStore implements ReplayStore on a Redis server (see the top of
// this file). Thread-safe: each connection of the pool serves one call at a
// time, and no call waits longer than about `timeout` for a connection or
// for Redis.
class RedisReplayStore final : public ReplayStore {
 public:
  // Open checks `options`, connects once, authenticates and pings
  // (protocol §4 step 7). A bad option is kInvalidArgument; an unreachable
  // server, refused credentials or any other failure is kUnavailable, with a
  // message that never contains the password.
  static Result<std::unique_ptr<RedisReplayStore>> Open(
      RedisReplayOptions options);

  ~RedisReplayStore() override;

  RedisReplayStore(const RedisReplayStore&) = delete;
  RedisReplayStore& operator=(const RedisReplayStore&) = delete;

  // CheckAndRemember implements ReplayStore::CheckAndRemember
  // (protocol §4 step 7). Besides its errors: kUnavailable when Redis cannot
  // be reached and `on_unavailable` is kRefuse. An expiry Redis cannot hold
  // (not after 1970 or after year 9999) is kInvalidArgument.
  Status CheckAndRemember(std::string_view issuer, std::string_view jti,
                          UnixTime expires_at, UnixTime now) override;

  // Ping is Ok when Redis answers now (a readiness probe); kUnavailable
  // otherwise, including during the fail-fast time after a failure.
  Status Ping();

  // unavailable_total counts checks refused, or answered by the local cache
  // alone, because Redis could not be reached.
  uint64_t unavailable_total() const {
    return unavailable_total_.load(std::memory_order_relaxed);
  }
  // local_hits_total counts replays answered by the local cache without a
  // Redis round trip.
  uint64_t local_hits_total() const {
    return local_hits_total_.load(std::memory_order_relaxed);
  }

 private:
  class Pool;
  class Unsettled;

  RedisReplayStore(RedisReplayOptions options, std::unique_ptr<Pool> pool);

  // AskRedis runs the SET NX of `key`: Ok (first use), kReplay, or
  // kUnavailable.
  Status AskRedis(const std::string& key, UnixTime expires_at);
  // OnRedisDown answers a check whose Redis step failed, after the local
  // cache answered `local` for the pair's digest `local_key`.
  Status OnRedisDown(std::string_view local_key, const Status& local,
                     UnixTime expires_at, UnixTime now);

  const std::string key_prefix_;
  const RedisReplayOptions::OnUnavailable on_unavailable_;
  std::unique_ptr<Pool> pool_;
  InMemoryReplayStore local_;
  std::unique_ptr<Unsettled> unsettled_;
  std::atomic<uint64_t> unavailable_total_{0};
  std::atomic<uint64_t> local_hits_total_{0};
};

}  // namespace aztp

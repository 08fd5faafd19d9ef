// Replay stores: remember (issuer, jti) pairs of accepted chains
// (protocol §4 step 7).
//
// After a chain verifies, the receiver checks that the outermost token's
// (`iss`, `jti`) is unseen and remembers it until `exp + skew`. A store never
// forgets an unexpired entry to make room: when it is full of unexpired
// entries it refuses new ones with kTooLarge (fail closed).
//
// Two implementations: InMemoryReplayStore for one process, and
// SqliteReplayStore, which survives restarts and can be shared by several
// processes on one host.
//
// Example:
//
//   aztp::InMemoryReplayStore store;
//   auto s = store.CheckAndRemember(iss.str(), jti, exp + skew, now);
//   if (!s) return std::move(s).error();  // kReplay on a second use
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"

namespace aztp {

namespace internal {
class SqliteDb;
}  // namespace internal

// ReplayStore is the interface of the replay check (protocol §4 step 7).
// Implementations are thread-safe.
class ReplayStore {
 public:
  // kMaxKeyBytes bounds `issuer` and `jti`, each: no token is larger
  // (protocol §3.2 default per-token limit).
  static constexpr std::size_t kMaxKeyBytes = 8 << 10;

  virtual ~ReplayStore() = default;

  // CheckAndRemember atomically checks and records one use of (`issuer`,
  // `jti`) (protocol §4 step 7). If the pair is present with an expiry after
  // `now` it returns kReplay; otherwise it remembers the pair until
  // `expires_at` and succeeds. A present but expired pair counts as absent
  // and is replaced. When the store holds its capacity of unexpired entries
  // it returns kTooLarge ("replay store is full") and forgets nothing.
  // `issuer` and `jti` must be non-empty and at most kMaxKeyBytes (else
  // kInvalidArgument or kTooLarge); `expires_at` must be after `now`
  // (kInvalidArgument): a verifier only gets here for a token whose
  // `exp + skew` is still ahead (§4 step 4). Callers should pass
  // non-decreasing `now` values; entries are treated as gone once a call has
  // seen them expired.
  virtual Status CheckAndRemember(std::string_view issuer, std::string_view jti,
                                  UnixTime expires_at, UnixTime now) = 0;

 protected:
  // ValidateArguments checks the arguments of CheckAndRemember as documented
  // there (protocol §4 step 7).
  static Status ValidateArguments(std::string_view issuer, std::string_view jti,
                                  UnixTime expires_at, UnixTime now);
};

// InMemoryReplayStore keeps entries in process memory (protocol §4 step 7).
// Entries live in 16 shards, each a mutex-guarded hash map plus a min-heap of
// expiries, so that concurrent calls on different pairs rarely contend. The
// capacity is one global bound. Each call sweeps a few expired entries of its
// shard; when the store is full, a call sweeps a bounded number of expired
// entries of every shard before giving up. No call ever scans the whole
// store.
class InMemoryReplayStore final : public ReplayStore {
 public:
  // InMemoryReplayStore holds at most `capacity` entries, expired ones
  // included until they are swept (protocol §4 step 7). A capacity of 0
  // refuses everything with kTooLarge.
  explicit InMemoryReplayStore(std::size_t capacity = 1 << 20);
  ~InMemoryReplayStore() override;

  InMemoryReplayStore(const InMemoryReplayStore&) = delete;
  InMemoryReplayStore& operator=(const InMemoryReplayStore&) = delete;

  // CheckAndRemember implements ReplayStore::CheckAndRemember
  // (protocol §4 step 7).
  Status CheckAndRemember(std::string_view issuer, std::string_view jti,
                          UnixTime expires_at, UnixTime now) override;

  // size returns the number of stored entries, including expired entries not
  // swept yet (protocol §4 step 7).
  std::size_t size() const { return count_.load(std::memory_order_relaxed); }

  // capacity returns the largest number of entries (protocol §4 step 7).
  std::size_t capacity() const { return capacity_; }

 private:
  struct Shard;
  static constexpr std::size_t kShards = 16;

  // TryReserve claims one slot of the global capacity.
  bool TryReserve();
  // Sweep pops at most `limit` expired heap nodes of a locked shard and
  // returns how many entries it erased.
  std::size_t Sweep(Shard& shard, UnixTime now, std::size_t limit);

  const std::size_t capacity_;
  std::atomic<std::size_t> count_{0};
  std::unique_ptr<Shard[]> shards_;
};

// SqliteReplayStore keeps entries in an SQLite database file
// (protocol §4 step 7). The file is in WAL mode with synchronous=NORMAL;
// each check-and-insert is one `BEGIN IMMEDIATE` transaction, so several
// processes may share the file (they wait on each other for up to 5 s, then
// fail with kIo). Entries survive restarts. The capacity bounds the rows of
// the file (a count maintained by triggers); expired rows are purged in
// bounded batches every 256 calls and whenever the file is full. All SQLite
// errors are kIo.
class SqliteReplayStore final : public ReplayStore {
 public:
  // Open opens or creates the database at `path` (protocol §4 step 7) and
  // prepares its schema and statements. Errors are kIo.
  static Result<std::unique_ptr<SqliteReplayStore>> Open(
      const std::string& path, std::size_t capacity = 1 << 20);

  ~SqliteReplayStore() override;

  SqliteReplayStore(const SqliteReplayStore&) = delete;
  SqliteReplayStore& operator=(const SqliteReplayStore&) = delete;

  // CheckAndRemember implements ReplayStore::CheckAndRemember
  // (protocol §4 step 7).
  Status CheckAndRemember(std::string_view issuer, std::string_view jti,
                          UnixTime expires_at, UnixTime now) override;

  // Size returns the number of rows in the file, including expired rows not
  // purged yet (protocol §4 step 7). Errors are kIo.
  Result<std::size_t> Size() const;

  // PurgeExpired deletes every row that expired at or before `now` and
  // returns how many it deleted (protocol §4 step 7). Errors are kIo.
  Result<std::size_t> PurgeExpired(UnixTime now);

 private:
  SqliteReplayStore(std::unique_ptr<internal::SqliteDb> db,
                    std::size_t capacity);

  // Locked helpers; the caller holds mu_.
  Status CheckAndRememberLocked(std::string_view issuer, std::string_view jti,
                                UnixTime expires_at, UnixTime now);
  Result<std::size_t> PurgeLocked(UnixTime now, int64_t limit);
  Result<int64_t> CountLocked() const;

  std::unique_ptr<internal::SqliteDb> db_;
  const std::size_t capacity_;
  mutable std::mutex mu_;
  uint64_t calls_ = 0;  // guarded by mu_
};

}  // namespace aztp

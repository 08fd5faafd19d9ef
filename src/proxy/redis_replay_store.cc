#include "aztp/proxy/redis_replay_store.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "aztp/base/bytes.h"
#include "aztp/base/hash.h"
#include "aztp/crypto/digest.h"
#include "aztp/replay/replay_key.h"

namespace aztp {
namespace {

using std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;

// kLocalIssuer is the issuer under which the local cache files pair
// digests: it holds the 32-byte digest of each pair rather than the pair,
// so that an entry costs the same whatever the token's size.
constexpr std::string_view kLocalIssuer = "redis";
// kMaxExpiry is the last second Redis accepts as EXAT (9999-12-31T23:59:59Z;
// Redis refuses values whose milliseconds overflow 64 bits, and ones <= 0).
constexpr UnixTime kMaxExpiry = 253402300799;

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextFree>;

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

// SigpipeGuard keeps a write to a connection the server has closed from
// killing the process: the client library writes with write(2), which
// raises SIGPIPE. SIGPIPE is blocked on this thread for the guard's life and
// one raised meanwhile is consumed before the old mask returns; the
// process's signal dispositions are left alone.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    // Pending before we block it means the caller blocks it already; then
    // it is not ours to consume.
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    if (!was_pending_) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec zero{};
        while (sigtimedwait(&pipe_, nullptr, &zero) == -1 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

timeval ToTimeval(milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

// Printable keeps the printable ASCII of a library or server text, so that
// a message carries no control bytes.
std::string Printable(std::string_view text) {
  std::string out(text.substr(0, 128));
  for (char& ch : out) {
    if (ch < 0x20 || ch > 0x7e) ch = '?';
  }
  return out;
}

// IoCause describes the I/O failure of `c`; a read or write that ran out of
// time reports EAGAIN, which reads better as a timeout.
std::string IoCause(const redisContext& c) {
  const std::string_view text(c.errstr);
  if (c.err == REDIS_ERR_IO &&
      (text == std::strerror(EAGAIN) || text == std::strerror(EWOULDBLOCK))) {
    return "timed out";
  }
  return Printable(text);
}

// ErrorWord is the first word of an error reply ("WRONGPASS", "NOAUTH",
// "OOM", ...): its code, without the free text that follows.
std::string ErrorWord(const redisReply& reply) {
  std::string_view text(reply.str != nullptr ? reply.str : "", reply.len);
  return Printable(text.substr(0, std::min<std::size_t>(text.find(' '), 32)));
}

bool IsStatus(const redisReply& reply, std::string_view status) {
  return reply.type == REDIS_REPLY_STATUS &&
         std::string_view(reply.str, reply.len) == status;
}

// PairDigest is SHA-256 over the pair's one encoding (ReplayKey), which
// is unambiguous whatever bytes the issuer holds.
Sha256Digest PairDigest(std::string_view issuer, std::string_view jti) {
  return Sha256(AsBytes(ReplayKey(issuer, jti)));
}

Status ValidateOptions(const RedisReplayOptions& o) {
  auto bad = [](std::string what) {
    return Error(Code::kInvalidArgument, "replay store: Redis " + what);
  };
  if (o.host.empty() || o.host.size() > 255 ||
      o.host.find('\0') != std::string::npos) {
    return bad("host must be 1..255 bytes without NUL");
  }
  if (o.port < 1 || o.port > 65535) return bad("port must be 1..65535");
  if (o.timeout <= milliseconds(0)) return bad("timeout must be positive");
  if (o.retry_after < milliseconds(0)) {
    return bad("retry_after must not be negative");
  }
  if (o.connections < 1 || o.connections > 64) {
    return bad("connections must be 1..64");
  }
  const bool visible =
      std::all_of(o.key_prefix.begin(), o.key_prefix.end(),
                  [](char ch) { return ch >= 0x21 && ch <= 0x7e; });
  if (o.key_prefix.empty() || o.key_prefix.size() > 64 || !visible) {
    return bad("key_prefix must be 1..64 visible ASCII characters");
  }
  if (o.password.has_value() && o.password->empty()) {
    return bad("password is set but empty");
  }
  return Ok();
}

}  // namespace

// Pool lends connections to one call at a time and keeps the health of the
// server: after a failure it fails fast until `retry_after` has passed, then
// lets one caller (the probe) try; the probe's success ends the outage.
class RedisReplayStore::Pool {
 public:
  explicit Pool(RedisReplayOptions options)
      : options_(std::move(options)),
        where_(options_.host + ":" + std::to_string(options_.port)) {}

  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  const std::string& where() const { return where_; }

  // Run sends one command and returns its reply, which is not an error
  // reply. Any failure is kUnavailable; a failed connection is discarded
  // and the fail-fast time starts.
  Result<ReplyPtr> Run(std::span<const std::string_view> args);

 private:
  // RunOnce is one attempt of Run; `again` when a kept connection was found
  // closed and `may_go_again`.
  Result<ReplyPtr> RunOnce(std::span<const std::string_view> args,
                           bool may_go_again, bool& again);
  struct Lease {
    ContextPtr ctx;  // null: the caller opens a new connection
    bool probe = false;
  };

  // Acquire lends an idle connection, or a slot for a new one, waiting up
  // to `timeout` when all are in use.
  Result<Lease> Acquire();
  // Release returns a connection after success, or discards it (and every
  // idle one) after a failure described by `cause`.
  void Release(Lease lease, bool ok, const std::string& cause);
  // Discard closes a kept connection found dead, with every idle one (they
  // died with the same server), without declaring an outage.
  void Discard(Lease lease);
  // Connect opens a connection and authenticates; errors are Failures.
  Result<ContextPtr> Connect() const;
  // Auth sends AUTH on `c` (see the definition for why not redisCommand).
  Status Auth(redisContext* c) const;
  // Failure is a failure `detail` ("is unreachable: ...") of Connect and
  // Auth; Unavailable turns a detail into the message callers see.
  static Error Failure(std::string detail) {
    return Error(Code::kUnavailable, std::move(detail));
  }
  Error Unavailable(std::string_view detail) const {
    return Error(Code::kUnavailable, "replay store: Redis at " + where_ + " " +
                                         std::string(detail));
  }

  const RedisReplayOptions options_;
  const std::string where_;
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<ContextPtr> idle_;  // guarded by mu_
  std::size_t open_ = 0;          // guarded: idle plus lent
  bool healthy_ = true;           // guarded
  bool probing_ = false;          // guarded
  SteadyTime retry_at_;           // guarded
  std::string last_failure_;      // guarded
};

Result<RedisReplayStore::Pool::Lease> RedisReplayStore::Pool::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  const SteadyTime deadline =
      std::chrono::steady_clock::now() + options_.timeout;
  for (;;) {
    Lease lease;
    if (!healthy_) {
      const auto now = std::chrono::steady_clock::now();
      if (probing_ || now < retry_at_) {
        return Unavailable("failed moments ago and is not retried yet (it " +
                           last_failure_ + ")");
      }
      probing_ = true;
      lease.probe = true;
    }
    if (!idle_.empty()) {
      lease.ctx = std::move(idle_.back());
      idle_.pop_back();
      return lease;
    }
    if (open_ < options_.connections) {
      ++open_;
      return lease;
    }
    if (lease.probe) probing_ = false;
    if (freed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      return Unavailable("is busy: all " +
                         std::to_string(options_.connections) +
                         " connections stayed in use for " +
                         std::to_string(options_.timeout.count()) + " ms");
    }
  }
}

void RedisReplayStore::Pool::Release(Lease lease, bool ok,
                                     const std::string& cause) {
  std::vector<ContextPtr> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (lease.probe) probing_ = false;
    if (ok) {
      if (lease.probe) healthy_ = true;
      idle_.push_back(std::move(lease.ctx));
    } else {
      // The idle connections most likely broke with this one: drop them,
      // or each would cost a failure and a fail-fast time of its own.
      dropped = std::move(idle_);
      idle_.clear();
      open_ -= dropped.size() + 1;
      healthy_ = false;
      retry_at_ = std::chrono::steady_clock::now() + options_.retry_after;
      last_failure_ = cause;
    }
  }
  // Waiters either take the returned connection or learn of the outage.
  if (ok) {
    freed_.notify_one();
  } else {
    freed_.notify_all();
  }
  // `dropped` and a failed `lease.ctx` are closed here, outside the lock.
}

// Auth sends `AUTH [username] password` by writing the command frame itself
// from a buffer it wipes, rather than through redisCommand, whose output
// buffer is freed without being wiped. The reply is read with
// redisGetReply, which finds nothing left to write.
Status RedisReplayStore::Pool::Auth(redisContext* c) const {
  const std::string_view password =
      options_.password->View(InsecureSecretAccess::Get());
  std::vector<char, internal::WipingAllocator<char>> frame;
  auto append = [&frame](std::string_view s) {
    frame.insert(frame.end(), s.begin(), s.end());
  };
  auto bulk = [&](std::string_view s) {
    append("$" + std::to_string(s.size()) + "\r\n");
    append(s);
    append("\r\n");
  };
  append(options_.username.empty() ? "*2\r\n" : "*3\r\n");
  bulk("AUTH");
  if (!options_.username.empty()) bulk(options_.username);
  bulk(password);
  for (std::size_t sent = 0; sent < frame.size();) {
    // MSG_NOSIGNAL: a closed connection is an error here, not a SIGPIPE.
    const ssize_t n =
        send(c->fd, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Failure("is unreachable: AUTH could not be sent");
    sent += static_cast<std::size_t>(n);
  }
  void* raw = nullptr;
  const int rc = redisGetReply(c, &raw);
  ReplyPtr reply(static_cast<redisReply*>(raw));
  if (rc != REDIS_OK || reply == nullptr) {
    return Failure("is unreachable: " + IoCause(*c));
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    return Failure("refused the credentials (" + ErrorWord(*reply) + ")");
  }
  if (!IsStatus(*reply, "OK")) {
    return Failure("gave an unexpected answer to AUTH");
  }
  return Ok();
}

Result<ContextPtr> RedisReplayStore::Pool::Connect() const {
  const timeval tv = ToTimeval(options_.timeout);
  ContextPtr c(
      redisConnectWithTimeout(options_.host.c_str(), options_.port, tv));
  if (c == nullptr) return Failure("is unreachable: out of memory");
  if (c->err != 0) return Failure("is unreachable: " + IoCause(*c));
  // The connect timeout does not cover reads and writes: set those too.
  if (redisSetTimeout(c.get(), tv) != REDIS_OK) {
    return Failure("is unreachable: cannot set the I/O timeout");
  }
  if (options_.password.has_value()) AZTP_RETURN_IF_ERROR(Auth(c.get()));
  return c;
}

void RedisReplayStore::Pool::Discard(Lease lease) {
  std::vector<ContextPtr> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (lease.probe) probing_ = false;
    dropped = std::move(idle_);
    idle_.clear();
    open_ -= dropped.size() + 1;
  }
  freed_.notify_all();
}

namespace {

// Stale says whether a kept connection failed because its server had
// closed it (a Redis that restarted since), rather than timing out.
bool Stale(const redisContext& c) {
  if (c.err == REDIS_ERR_EOF) return true;
  const std::string_view text(c.errstr);
  return c.err == REDIS_ERR_IO &&
         (text.find("reset") != std::string_view::npos ||
          text.find("Broken pipe") != std::string_view::npos);
}

}  // namespace

// Run sends one command. A kept connection that turns out to have been
// closed by its server is not an outage: the command goes again, once, on
// a new connection. (Had the first one been executed after all, the second
// finds the key and answers replay: a refusal, never a second use.)
Result<ReplyPtr> RedisReplayStore::Pool::Run(
    std::span<const std::string_view> args) {
  bool again = false;
  Result<ReplyPtr> reply = RunOnce(args, /*may_go_again=*/true, again);
  if (!again) return reply;
  return RunOnce(args, /*may_go_again=*/false, again);
}

Result<ReplyPtr> RedisReplayStore::Pool::RunOnce(
    std::span<const std::string_view> args, bool may_go_again, bool& again) {
  AZTP_ASSIGN_OR_RETURN(Lease lease, Acquire());
  const bool kept = lease.ctx != nullptr;
  if (lease.ctx == nullptr) {
    Result<ContextPtr> c = Connect();
    if (!c) {
      Release(std::move(lease), false, c.error().message());
      return Unavailable(c.error().message());
    }
    lease.ctx = std::move(*c);
  }
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (std::string_view a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  ReplyPtr reply;
  {
    SigpipeGuard guard;
    reply.reset(static_cast<redisReply*>(
        redisCommandArgv(lease.ctx.get(), static_cast<int>(argv.size()),
                         argv.data(), lens.data())));
  }
  if (reply == nullptr && kept && may_go_again && Stale(*lease.ctx)) {
    Discard(std::move(lease));
    again = true;
    return Error(Code::kUnavailable, "closed by the server; going again");
  }
  if (reply == nullptr) {
    // An I/O error or a timeout: the connection's state is unknown.
    const std::string cause = "is unreachable: " + IoCause(*lease.ctx);
    Release(std::move(lease), false, cause);
    return Unavailable(cause);
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    // NOAUTH, OOM, READONLY, LOADING...: not usable now.
    const std::string cause =
        "answered with an error (" + ErrorWord(*reply) + ")";
    Release(std::move(lease), false, cause);
    return Unavailable(cause);
  }
  Release(std::move(lease), true, "");
  return reply;
}

// Unsettled holds the digests of pairs that the local cache recorded while
// Redis could not be asked and the check was refused: the local cache has no
// way to forget them, so a repeat of such a pair must still go to Redis
// instead of being taken for a local replay. Bounded by `capacity`; when
// full of unexpired entries a pair is not marked, and its retry is refused
// as a replay until it expires (fail closed).
class RedisReplayStore::Unsettled {
 public:
  explicit Unsettled(std::size_t capacity) : capacity_(capacity) {}

  void Add(std::string_view digest, UnixTime expires_at, UnixTime now) {
    std::lock_guard<std::mutex> lock(mu_);
    if (map_.size() >= capacity_ && now > last_sweep_) {
      // At most one full sweep per second of `now`.
      last_sweep_ = now;
      std::erase_if(map_, [now](const auto& e) { return e.second <= now; });
    }
    if (map_.size() < capacity_)
      map_.insert_or_assign(std::string(digest), expires_at);
    size_.store(map_.size(), std::memory_order_relaxed);
  }

  // Take removes `digest` and tells whether it was marked and unexpired.
  bool Take(std::string_view digest, UnixTime now) {
    if (size_.load(std::memory_order_relaxed) == 0) return false;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(digest);
    if (it == map_.end()) return false;
    const bool live = it->second > now;
    map_.erase(it);
    size_.store(map_.size(), std::memory_order_relaxed);
    return live;
  }

 private:
  const std::size_t capacity_;
  std::mutex mu_;
  std::unordered_map<std::string, UnixTime, KeyedStringHash, std::equal_to<>>
      map_;                           // guarded by mu_
  UnixTime last_sweep_ = 0;           // guarded by mu_
  std::atomic<std::size_t> size_{0};  // map_.size(), read without the lock
};

RedisReplayStore::RedisReplayStore(RedisReplayOptions options,
                                   std::unique_ptr<Pool> pool)
    : key_prefix_(std::move(options.key_prefix)),
      on_unavailable_(options.on_unavailable),
      pool_(std::move(pool)),
      local_(options.local_capacity),
      unsettled_(std::make_unique<Unsettled>(options.local_capacity)) {}

RedisReplayStore::~RedisReplayStore() = default;

Result<std::unique_ptr<RedisReplayStore>> RedisReplayStore::Open(
    RedisReplayOptions options) {
  AZTP_RETURN_IF_ERROR(ValidateOptions(options));
  auto pool = std::make_unique<Pool>(options);
  // The password stays with the pool, which needs it to reconnect.
  options.password.reset();
  std::unique_ptr<RedisReplayStore> store(
      new RedisReplayStore(std::move(options), std::move(pool)));
  AZTP_RETURN_IF_ERROR(store->Ping());
  // The command every check sends, tried once: a server too old for EXAT
  // (before 6.2) or a user not allowed to SET would otherwise answer every
  // check with an error, which looks like an outage forever.
  // A random key of the usual shape, removed again (or, for a user not
  // allowed to DEL, gone within a minute).
  AZTP_ASSIGN_OR_RETURN(Bytes nonce, RandomBytes(32));
  const std::string key = store->key_prefix_ + HexEncode(nonce);
  Status probe = store->AskRedis(key, SystemClock::Default().Now() + 60);
  if (probe) {
    const std::string_view del[] = {"DEL", key};
    (void)store->pool_->Run(del);
  }
  if (!probe) {
    return Error(Code::kUnavailable,
                 "replay store: Redis at " + store->pool_->where() +
                     " does not take SET NX EXAT (Redis 6.2 or newer, and a "
                     "user allowed to SET, are needed)");
  }
  return store;
}

Status RedisReplayStore::Ping() {
  const std::string_view args[] = {"PING"};
  AZTP_ASSIGN_OR_RETURN(ReplyPtr reply, pool_->Run(args));
  if (!IsStatus(*reply, "PONG")) {
    return Error(Code::kUnavailable, "replay store: Redis at " +
                                         pool_->where() +
                                         " gave an unexpected answer to PING");
  }
  return Ok();
}

Status RedisReplayStore::AskRedis(const std::string& key, UnixTime expires_at) {
  // SET NX decides atomically, across every proxy, which use is the first;
  // EXAT makes Redis forget the pair when the token can no longer verify.
  const std::string at = std::to_string(expires_at);
  const std::string_view args[] = {"SET", key, "1", "NX", "EXAT", at};
  AZTP_ASSIGN_OR_RETURN(ReplyPtr reply, pool_->Run(args));
  if (reply->type == REDIS_REPLY_NIL) {
    return Error(Code::kReplay, "token (iss, jti) was already used");
  }
  if (!IsStatus(*reply, "OK")) {
    return Error(Code::kUnavailable, "replay store: Redis at " +
                                         pool_->where() +
                                         " gave an unexpected answer to SET");
  }
  return Ok();
}

Status RedisReplayStore::CheckAndRemember(std::string_view issuer,
                                          std::string_view jti,
                                          UnixTime expires_at, UnixTime now) {
  AZTP_RETURN_IF_ERROR(ValidateArguments(issuer, jti, expires_at, now));
  if (expires_at <= 0 || expires_at > kMaxExpiry) {
    return Error(Code::kInvalidArgument,
                 "replay store: expiry outside the range Redis can hold");
  }
  const Sha256Digest digest = PairDigest(issuer, jti);
  const std::string_view local_key = AsChars(digest);
  // The local cache both answers repeats and, by recording the pair first,
  // lets only one thread of this process ask Redis about it.
  Status local =
      local_.CheckAndRemember(kLocalIssuer, local_key, expires_at, now);
  if (!local && local.error().code() == Code::kReplay &&
      !unsettled_->Take(local_key, now)) {
    local_hits_total_.fetch_add(1, std::memory_order_relaxed);
    return local;
  }
  // Here the local cache recorded the pair (Ok), is full (kTooLarge: Redis
  // alone decides), or holds it unsettled from a refused check.
  Status redis = AskRedis(key_prefix_ + HexEncode(digest), expires_at);
  if (redis || redis.error().code() == Code::kReplay) return redis;
  return OnRedisDown(local_key, local, expires_at, now);
}

Status RedisReplayStore::OnRedisDown(std::string_view local_key,
                                     const Status& local, UnixTime expires_at,
                                     UnixTime now) {
  unavailable_total_.fetch_add(1, std::memory_order_relaxed);
  if (on_unavailable_ == RedisReplayOptions::OnUnavailable::kLocalOnly) {
    // The local answer stands: Ok, or kTooLarge when the cache is full.
    return local;
  }
  if (local || local.error().code() == Code::kReplay) {
    unsettled_->Add(local_key, expires_at, now);
  }
  return Error(Code::kUnavailable,
               "replay store: Redis at " + pool_->where() +
                   " is unreachable; refusing (on_unavailable: refuse)");
}

}  // namespace aztp

#include "aztp/proxy/redis_replay_store.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "testing/source_dir.h"
#include "testing/temp_dir.h"

namespace aztp {
namespace {

using std::chrono::milliseconds;
using Opt = RedisReplayOptions::OnUnavailable;

constexpr const char* kIss = "spiffe://example.org/agents/planner";

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

UnixTime Now() { return SystemClock::Default().Now(); }

// Millis is the wall time `f` takes, in milliseconds.
template <typename F>
int64_t Millis(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::steady_clock::now() - start)
      .count();
}

std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

bool IsCode(const Status& s, Code code) {
  return !s.has_value() && s.error().code() == code;
}

// RedisServer is a throwaway server of this test, run by
// tests/redis/redisctl.sh in a temporary folder, and killed at the end.
class RedisServer {
 public:
  RedisServer() {
    started_ = Ctl("start");
    port_ = std::atoi(ReadLine(dir_.File("port")).c_str());
    password_ = ReadLine(dir_.File("password"));
  }
  ~RedisServer() { (void)Ctl("kill"); }

  bool started() const { return started_ && port_ > 0 && !password_.empty(); }
  int port() const { return port_; }
  const std::string& password() const { return password_; }
  std::string pid() const { return ReadLine(dir_.File("redis.pid")); }

  // Ctl runs redisctl.sh `command` (start, stop, kill, restart).
  bool Ctl(const std::string& command) {
    const std::string line = std::string(test_support::SourceDir()) +
                             "/tests/redis/redisctl.sh " + command + " " +
                             dir_.path();
    return std::system(line.c_str()) == 0;
  }

  RedisReplayOptions Options() const {
    RedisReplayOptions o;
    o.port = port_;
    o.password = SecretBytes(password_);
    o.retry_after = milliseconds(300);
    return o;
  }

  // Raw runs one command on a connection of its own (null on failure).
  ReplyPtr Raw(const std::vector<std::string>& args) const {
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, {2, 0});
    if (c == nullptr) return nullptr;
    ReplyPtr reply;
    if (c->err == 0) {
      ReplyPtr auth(static_cast<redisReply*>(
          redisCommand(c, "AUTH %b", password_.data(), password_.size())));
      std::vector<const char*> argv;
      std::vector<size_t> lens;
      for (const std::string& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
      }
      reply.reset(static_cast<redisReply*>(redisCommandArgv(
          c, static_cast<int>(argv.size()), argv.data(), lens.data())));
    }
    redisFree(c);
    return reply;
  }

  // Keys lists the keys matching `pattern`.
  std::vector<std::string> Keys(const std::string& pattern) const {
    std::vector<std::string> keys;
    ReplyPtr r = Raw({"KEYS", pattern});
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY) return keys;
    for (size_t i = 0; i < r->elements; ++i) {
      keys.emplace_back(r->element[i]->str, r->element[i]->len);
    }
    return keys;
  }

  // Integer runs a command with an integer reply (-1000 on failure).
  long long Integer(const std::vector<std::string>& args) const {
    ReplyPtr r = Raw(args);
    return r != nullptr && r->type == REDIS_REPLY_INTEGER ? r->integer : -1000;
  }

 private:
  test_support::TempDir dir_{"aztp_redis_"};
  bool started_ = false;
  int port_ = 0;
  std::string password_;
};

class RedisReplayStoreTest : public testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.started()); }

  std::unique_ptr<RedisReplayStore> Open(RedisReplayOptions o) {
    auto store = RedisReplayStore::Open(std::move(o));
    EXPECT_TRUE(store.has_value()) << store.error().message();
    return store.has_value() ? std::move(*store) : nullptr;
  }
  std::unique_ptr<RedisReplayStore> Open() { return Open(server_.Options()); }

  RedisServer server_;
};

TEST_F(RedisReplayStoreTest, FirstUseThenReplay) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const UnixTime now = Now();
  ASSERT_TRUE(store->CheckAndRemember(kIss, "jti-1", now + 60, now));
  Status again = store->CheckAndRemember(kIss, "jti-1", now + 60, now);
  ASSERT_TRUE(IsCode(again, Code::kReplay));
  EXPECT_EQ(again.error().message().find("jti-1"), std::string::npos);
  EXPECT_TRUE(store->CheckAndRemember(kIss, "jti-2", now + 60, now));
  EXPECT_TRUE(store->CheckAndRemember("spiffe://example.org/other", "jti-1",
                                      now + 60, now));
  EXPECT_EQ(server_.Keys("aztp:replay:*").size(), 3u);
  EXPECT_TRUE(store->Ping());
}

// Redis restarted while this store's connections sat idle: the next check
// finds them closed and goes on a new connection at once, rather than
// refusing for the fail-fast time; the outage counter stays at zero.
TEST_F(RedisReplayStoreTest, AServerRestartedBetweenChecksIsNoOutage) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const UnixTime now = Now();
  ASSERT_TRUE(store->CheckAndRemember(kIss, "before", now + 60, now));
  ASSERT_TRUE(server_.Ctl("restart"));
  Status after = store->CheckAndRemember(kIss, "after", now + 60, now);
  EXPECT_TRUE(after) << after.error().message();
  EXPECT_EQ(store->unavailable_total(), 0u);
  EXPECT_TRUE(IsCode(store->CheckAndRemember(kIss, "after", now + 60, now),
                     Code::kReplay));
  EXPECT_TRUE(store->Ping());
}

TEST_F(RedisReplayStoreTest, TwoProxiesShareOneMemory) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  const UnixTime now = Now();
  ASSERT_TRUE(a->CheckAndRemember(kIss, "at-a", now + 60, now));
  EXPECT_TRUE(
      IsCode(b->CheckAndRemember(kIss, "at-a", now + 60, now), Code::kReplay));
  EXPECT_EQ(b->local_hits_total(), 0u);  // Redis said so, not B's cache
  ASSERT_TRUE(b->CheckAndRemember(kIss, "at-b", now + 60, now));
  EXPECT_TRUE(
      IsCode(a->CheckAndRemember(kIss, "at-b", now + 60, now), Code::kReplay));
  // B remembered Redis's answer: the repeat is served locally.
  EXPECT_TRUE(
      IsCode(b->CheckAndRemember(kIss, "at-a", now + 60, now), Code::kReplay));
  EXPECT_EQ(b->local_hits_total(), 1u);
}

TEST_F(RedisReplayStoreTest, ConcurrentChecksAcrossStores) {
  RedisReplayOptions o = server_.Options();
  o.timeout = milliseconds(2000);  // a loaded test machine is not an outage
  auto a = Open(o);
  auto b = Open(o);
  ASSERT_TRUE(a && b);
  const UnixTime now = Now();
  std::atomic<bool> go{false};
  std::atomic<int> ok{0}, replay{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      RedisReplayStore& store = i % 2 == 0 ? *a : *b;
      Status s = store.CheckAndRemember(kIss, "contested", now + 60, now);
      (s ? ok : IsCode(s, Code::kReplay) ? replay : other).fetch_add(1);
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(replay.load(), 7);
  EXPECT_EQ(other.load(), 0);

  threads.clear();
  ok = 0;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      RedisReplayStore& store = i % 2 == 0 ? *a : *b;
      for (int j = 0; j < 200; ++j) {
        const std::string jti =
            "t" + std::to_string(i) + "-" + std::to_string(j);
        if (store.CheckAndRemember(kIss, jti, now + 60, now)) ok.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1600);
  EXPECT_EQ(server_.Integer({"DBSIZE"}), 1601);
}

TEST_F(RedisReplayStoreTest, KeysExpireInRedis) {
  auto a = Open();
  ASSERT_NE(a, nullptr);
  // Start at the beginning of a second, so that a key living until the next
  // one is still there when the test looks at it.
  const UnixTime before = Now();
  while (Now() == before) std::this_thread::sleep_for(milliseconds(5));
  const UnixTime now = Now();
  ASSERT_TRUE(a->CheckAndRemember(kIss, "short", now + 1, now));
  std::vector<std::string> keys = server_.Keys("aztp:replay:*");
  ASSERT_EQ(keys.size(), 1u);
  const std::string short_key = keys[0];
  EXPECT_EQ(server_.Integer({"EXPIRETIME", short_key}), now + 1);
  ASSERT_TRUE(a->CheckAndRemember(kIss, "long", now + 3600, now));
  keys = server_.Keys("aztp:replay:*");
  ASSERT_EQ(keys.size(), 2u);
  const std::string long_key = keys[0] == short_key ? keys[1] : keys[0];
  EXPECT_EQ(server_.Integer({"EXPIRETIME", long_key}), now + 3600);
  const long long ttl = server_.Integer({"TTL", long_key});
  EXPECT_GT(ttl, 3590);
  EXPECT_LE(ttl, 3600);

  std::this_thread::sleep_for(milliseconds(2100));
  EXPECT_EQ(server_.Integer({"EXISTS", short_key}), 0);
  auto fresh = Open();  // no local memory of the pair
  ASSERT_NE(fresh, nullptr);
  const UnixTime later = Now();
  EXPECT_TRUE(fresh->CheckAndRemember(kIss, "short", later + 60, later));
  EXPECT_TRUE(IsCode(fresh->CheckAndRemember(kIss, "long", later + 60, later),
                     Code::kReplay));
}

TEST_F(RedisReplayStoreTest, OutageRefusesFastAndRecovers) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const UnixTime now = Now();
  ASSERT_TRUE(store->CheckAndRemember(kIss, "before", now + 60, now));
  // Fill the pool: every idle connection breaks with the server, and one
  // failure must retire them all, or recovery would take a retry_after each.
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < 20; ++j) {
        const std::string jti =
            "w" + std::to_string(i) + "-" + std::to_string(j);
        EXPECT_TRUE(store->CheckAndRemember(kIss, jti, now + 60, now));
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(server_.Ctl("kill"));

  Status s;
  EXPECT_LT(Millis([&] {
              s = store->CheckAndRemember(kIss, "during", now + 60, now);
            }),
            1000);
  ASSERT_TRUE(IsCode(s, Code::kUnavailable));
  EXPECT_NE(s.error().message().find("is unreachable; refusing"),
            std::string::npos)
      << s.error().message();
  EXPECT_EQ(s.error().message().find(server_.password()), std::string::npos);
  EXPECT_EQ(store->unavailable_total(), 1u);
  // Within retry_after, calls fail fast without trying to connect.
  for (int i = 0; i < 5; ++i) {
    const std::string jti = "during-" + std::to_string(i);
    EXPECT_LT(
        Millis([&] { s = store->CheckAndRemember(kIss, jti, now + 60, now); }),
        50);
    EXPECT_TRUE(IsCode(s, Code::kUnavailable));
  }
  EXPECT_EQ(store->unavailable_total(), 6u);
  Status ping = store->Ping();
  ASSERT_TRUE(IsCode(ping, Code::kUnavailable));
  EXPECT_EQ(ping.error().message().find(server_.password()), std::string::npos);

  ASSERT_TRUE(server_.Ctl("start"));  // same port and password, no data
  std::this_thread::sleep_for(milliseconds(350));
  EXPECT_TRUE(store->CheckAndRemember(kIss, "after", now + 60, now));
  EXPECT_TRUE(store->Ping());
  // Redis lost "before", but the local cache still knows it.
  EXPECT_TRUE(IsCode(store->CheckAndRemember(kIss, "before", now + 60, now),
                     Code::kReplay));
  EXPECT_EQ(store->local_hits_total(), 1u);
  // A pair refused during the outage was never accepted: its retry is.
  EXPECT_TRUE(store->CheckAndRemember(kIss, "during", now + 60, now));
  EXPECT_TRUE(IsCode(store->CheckAndRemember(kIss, "during", now + 60, now),
                     Code::kReplay));
  EXPECT_EQ(store->unavailable_total(), 6u);
}

TEST_F(RedisReplayStoreTest, HungServerTimesOut) {
  RedisReplayOptions o = server_.Options();
  o.timeout = milliseconds(200);
  auto store = Open(o);
  ASSERT_NE(store, nullptr);
  const std::string pid = server_.pid();
  ASSERT_FALSE(pid.empty());
  ASSERT_EQ(::kill(std::atoi(pid.c_str()), SIGSTOP), 0);
  // Should the store wait for the server, wake it up after a while: then
  // the test fails instead of hanging.
  std::promise<void> done;
  std::thread watchdog([&, f = done.get_future()] {
    if (f.wait_for(std::chrono::seconds(3)) == std::future_status::timeout) {
      ::kill(std::atoi(pid.c_str()), SIGCONT);
    }
  });
  const UnixTime now = Now();
  Status s;
  const int64_t ms =
      Millis([&] { s = store->CheckAndRemember(kIss, "hung", now + 60, now); });
  // A stopped server still accepts connections, so another try would cost
  // a full timeout again: within retry_after, calls must not try.
  Status fast;
  const int64_t fast_ms = Millis(
      [&] { fast = store->CheckAndRemember(kIss, "hung-2", now + 60, now); });
  Status ping = store->Ping();
  done.set_value();
  watchdog.join();
  ::kill(std::atoi(pid.c_str()), SIGCONT);
  EXPECT_TRUE(IsCode(s, Code::kUnavailable));
  EXPECT_GE(ms, 150);
  EXPECT_LT(ms, 700);
  EXPECT_TRUE(IsCode(fast, Code::kUnavailable));
  EXPECT_LT(fast_ms, 50);
  ASSERT_TRUE(IsCode(ping, Code::kUnavailable));
  EXPECT_NE(ping.error().message().find("timed out"), std::string::npos)
      << ping.error().message();
  EXPECT_EQ(store->unavailable_total(), 2u);
  std::this_thread::sleep_for(milliseconds(350));
  EXPECT_TRUE(store->CheckAndRemember(kIss, "after", now + 60, now));
  // The timed-out SET may still have run once the server woke up: then the
  // retry of the refused pair is a replay (fail closed), else it is fresh.
  s = store->CheckAndRemember(kIss, "hung", now + 60, now);
  EXPECT_TRUE(s || IsCode(s, Code::kReplay));
}

TEST_F(RedisReplayStoreTest, LocalOnlyWhileDown) {
  RedisReplayOptions o = server_.Options();
  o.on_unavailable = Opt::kLocalOnly;
  auto store = Open(std::move(o));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(server_.Ctl("kill"));
  const UnixTime now = Now();
  EXPECT_TRUE(store->CheckAndRemember(kIss, "local", now + 60, now));
  EXPECT_EQ(store->unavailable_total(), 1u);
  EXPECT_TRUE(IsCode(store->CheckAndRemember(kIss, "local", now + 60, now),
                     Code::kReplay));
  EXPECT_EQ(store->local_hits_total(), 1u);
  EXPECT_TRUE(store->CheckAndRemember(kIss, "local-2", now + 60, now));
  EXPECT_EQ(store->unavailable_total(), 2u);
}

// A port nothing listens on: bound, then closed.
int UnusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST_F(RedisReplayStoreTest, OpenFailures) {
  const std::string wrong = "not-the-password-5f3a9c";
  RedisReplayOptions o = server_.Options();
  o.password = SecretBytes(wrong);
  auto bad_pw = RedisReplayStore::Open(o);
  ASSERT_FALSE(bad_pw.has_value());
  EXPECT_EQ(bad_pw.error().code(), Code::kUnavailable);
  const std::string& msg = bad_pw.error().message();
  EXPECT_NE(msg.find("refused the credentials (WRONGPASS)"), std::string::npos)
      << msg;
  EXPECT_EQ(msg.find(wrong), std::string::npos);
  EXPECT_EQ(msg.find(server_.password()), std::string::npos);

  o.password.reset();  // the server requires one
  auto no_pw = RedisReplayStore::Open(o);
  ASSERT_FALSE(no_pw.has_value());
  EXPECT_NE(no_pw.error().message().find("NOAUTH"), std::string::npos)
      << no_pw.error().message();

  o = server_.Options();
  o.port = UnusedPort();
  Result<std::unique_ptr<RedisReplayStore>> closed{nullptr};
  EXPECT_LT(Millis([&] { closed = RedisReplayStore::Open(o); }), 500);
  ASSERT_FALSE(closed.has_value());
  EXPECT_EQ(closed.error().code(), Code::kUnavailable);

  // A listener that never answers: Open gives up after about `timeout`.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  o.port = ntohs(addr.sin_port);
  o.timeout = milliseconds(200);
  // Should Open wait for an answer, close the listener after a while (which
  // resets the queued connection): then the test fails instead of hanging.
  std::promise<void> done;
  bool listener_closed = false;
  std::thread watchdog([&, f = done.get_future()] {
    if (f.wait_for(std::chrono::seconds(3)) == std::future_status::timeout) {
      listener_closed = close(fd) == 0;
    }
  });
  Result<std::unique_ptr<RedisReplayStore>> silent{nullptr};
  EXPECT_LT(Millis([&] { silent = RedisReplayStore::Open(o); }), 700);
  done.set_value();
  watchdog.join();
  if (!listener_closed) close(fd);
  ASSERT_FALSE(silent.has_value());
  EXPECT_EQ(silent.error().code(), Code::kUnavailable);
  EXPECT_EQ(silent.error().message().find(server_.password()),
            std::string::npos);
}

TEST_F(RedisReplayStoreTest, BadOptions) {
  auto expect_invalid = [this](void (*change)(RedisReplayOptions&)) {
    RedisReplayOptions o = server_.Options();
    change(o);
    auto store = RedisReplayStore::Open(std::move(o));
    return !store.has_value() && store.error().code() == Code::kInvalidArgument;
  };
  EXPECT_TRUE(expect_invalid([](auto& o) { o.key_prefix = ""; }));
  EXPECT_TRUE(
      expect_invalid([](auto& o) { o.key_prefix = std::string(65, 'p'); }));
  EXPECT_TRUE(expect_invalid([](auto& o) { o.key_prefix = "a b"; }));
  EXPECT_TRUE(expect_invalid([](auto& o) { o.key_prefix = "a\x01"; }));
  EXPECT_TRUE(expect_invalid([](auto& o) { o.connections = 0; }));
  EXPECT_TRUE(expect_invalid([](auto& o) { o.connections = 65; }));
  EXPECT_TRUE(expect_invalid([](auto& o) { o.timeout = milliseconds(0); }));
  EXPECT_TRUE(
      expect_invalid([](auto& o) { o.retry_after = milliseconds(-1); }));
  EXPECT_TRUE(expect_invalid([](auto& o) { o.port = 0; }));
  EXPECT_TRUE(expect_invalid([](auto& o) { o.host = ""; }));
  EXPECT_TRUE(expect_invalid([](auto& o) { o.password = SecretBytes(); }));
  // The limits themselves are fine.
  EXPECT_FALSE(
      expect_invalid([](auto& o) { o.key_prefix = std::string(64, 'p'); }));
  EXPECT_FALSE(expect_invalid([](auto& o) { o.connections = 64; }));

  auto store = Open();
  ASSERT_NE(store, nullptr);
  const UnixTime now = Now();
  EXPECT_TRUE(IsCode(store->CheckAndRemember(kIss, "", now + 60, now),
                     Code::kInvalidArgument));
  EXPECT_TRUE(IsCode(store->CheckAndRemember(kIss, "j", now, now),
                     Code::kInvalidArgument));
  EXPECT_TRUE(IsCode(
      store->CheckAndRemember(kIss, std::string(8193, 'j'), now + 60, now),
      Code::kTooLarge));
  EXPECT_TRUE(IsCode(store->CheckAndRemember(kIss, "j", 300000000000, now),
                     Code::kInvalidArgument));
  EXPECT_EQ(store->unavailable_total(), 0u);
  EXPECT_TRUE(store->CheckAndRemember(kIss, "j", now + 60, now));
}

TEST_F(RedisReplayStoreTest, BinaryPairsAndKeyShape) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  const UnixTime now = Now();
  const std::string iss("iss\0\xff", 5);
  std::string big(ReplayStore::kMaxKeyBytes, 'x');
  big[0] = '\0';
  big[100] = '\xff';
  big.back() = '\0';
  ASSERT_TRUE(a->CheckAndRemember(iss, big, now + 60, now));
  EXPECT_TRUE(
      IsCode(b->CheckAndRemember(iss, big, now + 60, now), Code::kReplay));
  // Only the issuer's last byte differs from the one above.
  EXPECT_TRUE(
      b->CheckAndRemember(std::string("iss\0\xfe", 5), big, now + 60, now));
  // Where the issuer ends is part of the key.
  ASSERT_TRUE(a->CheckAndRemember(std::string("a\0", 2), "b", now + 60, now));
  EXPECT_TRUE(a->CheckAndRemember("a", std::string("\0b", 2), now + 60, now));

  const std::vector<std::string> keys = server_.Keys("*");
  ASSERT_EQ(keys.size(), 4u);
  const std::string prefix = "aztp:replay:";
  for (const std::string& key : keys) {
    ASSERT_EQ(key.size(), prefix.size() + 64) << key;
    EXPECT_EQ(key.substr(0, prefix.size()), prefix);
    EXPECT_EQ(key.find_first_not_of("0123456789abcdef", prefix.size()),
              std::string::npos)
        << key;
  }

  RedisReplayOptions o = server_.Options();
  o.key_prefix = "agent-7/replay/";
  auto other = Open(std::move(o));
  ASSERT_NE(other, nullptr);
  EXPECT_TRUE(other->CheckAndRemember(iss, big, now + 60, now));
  EXPECT_EQ(server_.Keys("agent-7/replay/*").size(), 1u);
}

TEST_F(RedisReplayStoreTest, LocalCacheSavesRoundTrips) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const UnixTime now = Now();
  ASSERT_TRUE(store->CheckAndRemember(kIss, "seen", now + 60, now));
  // Take the key away behind the store's back: a repeat that asked Redis
  // would now be accepted.
  ASSERT_NE(server_.Raw({"FLUSHALL"}), nullptr);
  ASSERT_EQ(server_.Integer({"DBSIZE"}), 0);
  EXPECT_TRUE(IsCode(store->CheckAndRemember(kIss, "seen", now + 60, now),
                     Code::kReplay));
  EXPECT_EQ(store->local_hits_total(), 1u);
  EXPECT_EQ(server_.Integer({"DBSIZE"}), 0);

  // A full local cache costs round trips, never an answer.
  RedisReplayOptions o = server_.Options();
  o.local_capacity = 0;
  auto uncached = Open(std::move(o));
  ASSERT_NE(uncached, nullptr);
  ASSERT_TRUE(uncached->CheckAndRemember(kIss, "nocache", now + 60, now));
  EXPECT_TRUE(IsCode(uncached->CheckAndRemember(kIss, "nocache", now + 60, now),
                     Code::kReplay));
  EXPECT_EQ(uncached->local_hits_total(), 0u);
}

}  // namespace
}  // namespace aztp

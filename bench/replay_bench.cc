// The replay check of one accepted chain (protocol §4 step 7): the
// in-process InMemoryReplayStore that aztp-proxy uses by default, against
// RedisReplayStore (`replay.backend: redis`, docs/scaling.md), which adds a
// `SET NX EXAT` round trip to a Redis server on loopback for every pair it
// has not seen. Both check fresh pairs only: that is the path every
// accepted request takes; a replay is the exception.
//
// The Redis benchmark reports the in-memory rate measured in the same run
// (`memory_checks_per_s`) and `ratio` = Redis rate / in-memory rate.
//
// The Redis server is a throwaway one started by tests/redis/redisctl.sh in
// a temporary folder at the first Redis benchmark and stopped at exit. When
// it cannot be started (redis-server missing, no free port), the Redis
// benchmark is skipped with the reason and the others still run.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "aztp/base/file.h"
#include "aztp/base/secret.h"
#include "aztp/proxy/redis_replay_store.h"
#include "aztp/replay/replay_store.h"
#include "baseline.h"
#include "testing/source_dir.h"
#include "testing/temp_dir.h"

namespace aztp {
namespace {

constexpr const char* kIssuer = "spiffe://bench.example/agents/planner";

// Synthetic times shared by both stores: `now` moves one second every 1024
// checks and a pair lives 60 s, so each store settles at about 61 000 live
// pairs, below both the in-memory default capacity (1 << 20) and the Redis
// store's local cache (1 << 16). A full local cache would add a refused
// insert to every check and measure a state a proxy avoids. `now` starts
// at the real time because Redis expires keys by its own clock (EXAT).
class PairSource {
 public:
  PairSource() : base_(SystemClock::Default().Now()) {}
  // Next checks the next fresh pair against `store`.
  Status Next(ReplayStore& store) {
    const uint64_t i = n_++;
    const UnixTime now = base_ + static_cast<UnixTime>(i / 1024);
    // A jti like the protocol's: 128 bits in hex (32 characters).
    char jti[33];
    std::snprintf(jti, sizeof(jti), "%016llx%016llx",
                  static_cast<unsigned long long>(salt_),
                  static_cast<unsigned long long>(i));
    return store.CheckAndRemember(kIssuer, jti, now + 60, now);
  }

 private:
  // salt_ keeps pairs of one process apart from those of earlier runs
  // against the same Redis (none today: each run starts its own).
  const uint64_t salt_ = static_cast<uint64_t>(
      std::chrono::steady_clock::now().time_since_epoch().count());
  const UnixTime base_;
  uint64_t n_ = 0;
};

std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// BenchRedis is the throwaway server: started once, stopped at exit.
class BenchRedis {
 public:
  BenchRedis() {
    if (std::system("command -v redis-server >/dev/null 2>&1") != 0) {
      why_ = "redis-server is not installed";
      return;
    }
    launched_ = true;
    if (!Ctl("start")) {
      why_ = "tests/redis/redisctl.sh could not start redis-server";
      return;
    }
    port_ = std::atoi(ReadLine(dir_.File("port")).c_str());
    auto password = ReadSecretLine(dir_.File("password"));
    if (port_ <= 0 || !password || password->empty()) {
      why_ = "redisctl.sh left no port or password";
      return;
    }
    password_ = std::move(*password);
  }
  ~BenchRedis() {
    if (launched_) (void)Ctl("stop");
  }
  BenchRedis(const BenchRedis&) = delete;
  BenchRedis& operator=(const BenchRedis&) = delete;

  // why_not is empty when the server runs, else why it does not.
  const std::string& why_not() const { return why_; }

  Result<std::unique_ptr<RedisReplayStore>> Open() const {
    RedisReplayOptions o;
    o.port = port_;
    o.password = password_;
    // One thread checks at a time here; the pool opens lazily anyway.
    o.connections = 1;
    return RedisReplayStore::Open(std::move(o));
  }

 private:
  // Ctl runs redisctl.sh; its own messages (why it failed) go to stderr.
  bool Ctl(const std::string& command) const {
    const std::string line = std::string(test_support::SourceDir()) +
                             "/tests/redis/redisctl.sh " + command + " " +
                             dir_.path() + " >/dev/null";
    return std::system(line.c_str()) == 0;
  }

  test_support::TempDir dir_{"aztp_bench_redis_"};
  std::string why_;
  bool launched_ = false;  // redisctl.sh start ran: stop what it started
  int port_ = 0;
  SecretBytes password_;
};

const BenchRedis& Redis() {
  static const BenchRedis redis;
  return redis;
}

// MemoryCheckRate is the same-run baseline: in-memory checks per second.
double MemoryCheckRate() {
  static const double rate = [] {
    InMemoryReplayStore store;
    PairSource pairs;
    return bench::CallsPerSecond(
        [&] {
          if (!pairs.Next(store)) std::abort();
        },
        0.3);
  }();
  return rate;
}

void BM_ReplayCheckMemory(benchmark::State& state) {
  InMemoryReplayStore store;
  PairSource pairs;
  for (auto _ : state) {
    if (!pairs.Next(store)) {
      state.SkipWithError("in-memory replay check failed");
      return;
    }
  }
  state.counters["checks_per_s"] =
      benchmark::Counter(state.iterations(), benchmark::Counter::kIsRate);
}

void BM_ReplayCheckRedis(benchmark::State& state) {
  if (!Redis().why_not().empty()) {
    const std::string why = "skipped: " + Redis().why_not();
    state.SkipWithError(why.c_str());
    return;
  }
  auto store = Redis().Open();
  if (!store) {
    state.SkipWithError(("Redis: " + store.error().message()).c_str());
    return;
  }
  const double baseline = MemoryCheckRate();
  PairSource pairs;
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    if (Status s = pairs.Next(**store); !s) {
      state.SkipWithError(("Redis check: " + s.error().message()).c_str());
      return;
    }
  }
  bench::ReportAgainst(state, start, baseline, "checks_per_s", 1,
                       "memory_checks_per_s");
}

BENCHMARK(BM_ReplayCheckMemory);
BENCHMARK(BM_ReplayCheckRedis)->UseRealTime();

}  // namespace
}  // namespace aztp

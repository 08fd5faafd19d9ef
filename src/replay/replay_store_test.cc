#include "aztp/replay/replay_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "testing/temp_dir.h"

namespace aztp {
namespace {

constexpr UnixTime kNow = 1'800'000'000;
constexpr const char* kIss = "spiffe://example.org/agents/planner";

// The behaviour every ReplayStore must show, run against both stores.
struct StoreFactory {
  const char* name;
  std::function<std::unique_ptr<ReplayStore>(const std::string& dir_file,
                                             std::size_t capacity)>
      make;
};

class ReplayStoreContract : public testing::TestWithParam<StoreFactory> {
 protected:
  std::unique_ptr<ReplayStore> Make(std::size_t capacity = 1 << 20) {
    auto store = GetParam().make(dir_.File("replay.db"), capacity);
    EXPECT_NE(store, nullptr);
    return store;
  }
  test_support::TempDir dir_{"aztp_replay_"};
};

TEST_P(ReplayStoreContract, DetectsReplay) {
  auto store = Make();
  ASSERT_TRUE(store->CheckAndRemember(kIss, "jti-1", kNow + 60, kNow));
  Status again = store->CheckAndRemember(kIss, "jti-1", kNow + 60, kNow + 1);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), Code::kReplay);
  EXPECT_EQ(again.error().message().find("jti-1"), std::string::npos);
  // Same jti from another issuer, or another jti, is fresh.
  EXPECT_TRUE(store->CheckAndRemember("spiffe://example.org/other", "jti-1",
                                      kNow + 60, kNow));
  EXPECT_TRUE(store->CheckAndRemember(kIss, "jti-2", kNow + 60, kNow));
  // A replay is a replay up to the last second before expiry.
  Status late = store->CheckAndRemember(kIss, "jti-1", kNow + 90, kNow + 59);
  ASSERT_FALSE(late.has_value());
  EXPECT_EQ(late.error().code(), Code::kReplay);
}

TEST_P(ReplayStoreContract, KeysAreUnambiguous) {
  auto store = Make();
  ASSERT_TRUE(store->CheckAndRemember("ab", "c", kNow + 60, kNow));
  EXPECT_TRUE(store->CheckAndRemember("a", "bc", kNow + 60, kNow));
  EXPECT_TRUE(store->CheckAndRemember("1:a", "b", kNow + 60, kNow));
  EXPECT_TRUE(store->CheckAndRemember("1", ":ab", kNow + 60, kNow));
  // Bytes are kept as given, NUL and non-UTF-8 included.
  EXPECT_TRUE(store->CheckAndRemember(std::string("a\0b", 3), "\xff\xfe",
                                      kNow + 60, kNow));
  EXPECT_FALSE(store->CheckAndRemember(std::string("a\0b", 3), "\xff\xfe",
                                       kNow + 60, kNow));
  EXPECT_TRUE(store->CheckAndRemember(std::string("a\0c", 3), "\xff\xfe",
                                      kNow + 60, kNow));
}

TEST_P(ReplayStoreContract, ExpiryFreesTheEntry) {
  auto store = Make();
  ASSERT_TRUE(store->CheckAndRemember(kIss, "jti", kNow + 60, kNow));
  EXPECT_FALSE(store->CheckAndRemember(kIss, "jti", kNow + 120, kNow + 59));
  // At expires_at the entry is gone and may be remembered again.
  ASSERT_TRUE(store->CheckAndRemember(kIss, "jti", kNow + 120, kNow + 60));
  Status s = store->CheckAndRemember(kIss, "jti", kNow + 180, kNow + 119);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), Code::kReplay);
  EXPECT_TRUE(store->CheckAndRemember(kIss, "jti", kNow + 500, kNow + 400));
}

TEST_P(ReplayStoreContract, FailsClosedWhenFull) {
  auto store = Make(/*capacity=*/10);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(store->CheckAndRemember(kIss, "jti-" + std::to_string(i),
                                        kNow + 100 + i, kNow))
        << i;
  }
  Status full = store->CheckAndRemember(kIss, "jti-new", kNow + 100, kNow);
  ASSERT_FALSE(full.has_value());
  EXPECT_EQ(full.error().code(), Code::kTooLarge);
  EXPECT_EQ(full.error().message(), "replay store is full");
  // Nothing was forgotten to make room.
  for (int i = 0; i < 10; ++i) {
    Status s = store->CheckAndRemember(kIss, "jti-" + std::to_string(i),
                                       kNow + 200, kNow + 1);
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().code(), Code::kReplay) << i;
  }
  // Once one entry expires there is room for one more.
  ASSERT_TRUE(store->CheckAndRemember(kIss, "jti-new", kNow + 300, kNow + 100));
  Status still_full =
      store->CheckAndRemember(kIss, "jti-newer", kNow + 300, kNow + 100);
  ASSERT_FALSE(still_full.has_value());
  EXPECT_EQ(still_full.error().code(), Code::kTooLarge);
  // Once all expire the store fills up again.
  for (int i = 0; i < 9; ++i) {
    EXPECT_TRUE(store->CheckAndRemember(kIss, "later-" + std::to_string(i),
                                        kNow + 400, kNow + 200))
        << i;
  }
}

TEST_P(ReplayStoreContract, ZeroCapacityRefusesEverything) {
  auto store = Make(/*capacity=*/0);
  Status s = store->CheckAndRemember(kIss, "jti", kNow + 60, kNow);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), Code::kTooLarge);
}

TEST_P(ReplayStoreContract, ValidatesArguments) {
  auto store = Make();
  struct Case {
    std::string issuer;
    std::string jti;
    UnixTime expires_at;
    Code code;
  };
  const Case cases[] = {
      {"", "jti", kNow + 60, Code::kInvalidArgument},
      {kIss, "", kNow + 60, Code::kInvalidArgument},
      {kIss, "jti", kNow, Code::kInvalidArgument},
      {kIss, "jti", kNow - 1, Code::kInvalidArgument},
      {std::string(8193, 'i'), "jti", kNow + 60, Code::kTooLarge},
      {kIss, std::string(8193, 'j'), kNow + 60, Code::kTooLarge},
  };
  for (const auto& c : cases) {
    Status s = store->CheckAndRemember(c.issuer, c.jti, c.expires_at, kNow);
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().code(), c.code) << s.error().message();
  }
  EXPECT_TRUE(store->CheckAndRemember(std::string(8192, 'i'),
                                      std::string(8192, 'j'), kNow + 1, kNow));
}

TEST_P(ReplayStoreContract, AcceptsEachPairExactlyOnceUnderContention) {
  auto store = Make();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::atomic<int> accepted{0};
  std::atomic<int> replays{0};
  std::atomic<int> other_errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Half of each thread's jtis are its own; the other half are shared
        // by all threads, so that every shared pair is raced four times.
        const std::string jti =
            (i % 2 == 0) ? "own-" + std::to_string(t) + "-" + std::to_string(i)
                         : "shared-" + std::to_string(i);
        Status s = store->CheckAndRemember(kIss, jti, kNow + 600, kNow);
        if (s.has_value()) {
          accepted.fetch_add(1);
        } else if (s.error().code() == Code::kReplay) {
          replays.fetch_add(1);
        } else {
          other_errors.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const int own = kThreads * (kPerThread / 2);
  const int shared = kPerThread / 2;
  EXPECT_EQ(other_errors.load(), 0);
  EXPECT_EQ(accepted.load(), own + shared);
  EXPECT_EQ(replays.load(), shared * (kThreads - 1));
  // Every pair is now known.
  Status s = store->CheckAndRemember(kIss, "shared-1", kNow + 600, kNow + 1);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), Code::kReplay);
}

INSTANTIATE_TEST_SUITE_P(
    Stores, ReplayStoreContract,
    testing::Values(
        StoreFactory{"InMemory",
                     [](const std::string&,
                        std::size_t capacity) -> std::unique_ptr<ReplayStore> {
                       return std::make_unique<InMemoryReplayStore>(capacity);
                     }},
        StoreFactory{"Sqlite",
                     [](const std::string& file,
                        std::size_t capacity) -> std::unique_ptr<ReplayStore> {
                       auto store = SqliteReplayStore::Open(file, capacity);
                       EXPECT_TRUE(store.has_value())
                           << store.error().message();
                       if (!store) return nullptr;
                       return std::move(store).value();
                     }}),
    [](const testing::TestParamInfo<StoreFactory>& info) {
      return std::string(info.param.name);
    });

TEST(InMemoryReplayStoreTest, SweepsExpiredEntriesAsItGoes) {
  InMemoryReplayStore store(1000);
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(
        store.CheckAndRemember(kIss, "a" + std::to_string(i), kNow + 10, kNow));
  }
  EXPECT_EQ(store.size(), 500u);
  // Later calls sweep the expired entries of their shards a few at a time.
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(store.CheckAndRemember(kIss, "b" + std::to_string(i),
                                       kNow + 20 + i, kNow + 10 + i));
  }
  EXPECT_LE(store.size(), 1000u);
  EXPECT_EQ(store.capacity(), 1000u);
}

TEST(InMemoryReplayStoreTest, FullStoreSweepsOtherShards) {
  // Fill the store with entries that all expire together; the next call,
  // whatever its shard, must find room among the other shards.
  InMemoryReplayStore store(64);
  for (int i = 0; i < 64; ++i) {
    ASSERT_TRUE(
        store.CheckAndRemember(kIss, "a" + std::to_string(i), kNow + 10, kNow));
  }
  for (int i = 0; i < 64; ++i) {
    EXPECT_TRUE(store.CheckAndRemember(kIss, "b" + std::to_string(i),
                                       kNow + 100, kNow + 10))
        << i;
  }
  EXPECT_EQ(store.size(), 64u);
}

TEST(InMemoryReplayStoreTest, ReplacedEntriesKeepCorrectExpiry) {
  InMemoryReplayStore store(4);
  // Replace the same pair several times; the stale expiries left behind
  // must never erase the live entry early.
  UnixTime now = kNow;
  for (int round = 0; round < 5; ++round) {
    ASSERT_TRUE(store.CheckAndRemember(kIss, "jti", now + 10, now)) << round;
    now += 10;
  }
  ASSERT_TRUE(store.CheckAndRemember(kIss, "jti", now + 100, now));
  for (int i = 0; i < 20; ++i) {
    (void)store.CheckAndRemember(kIss, "x" + std::to_string(i), now + 50,
                                 now + 1);
  }
  Status s = store.CheckAndRemember(kIss, "jti", now + 200, now + 99);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), Code::kReplay);
  EXPECT_LE(store.size(), 4u);
}

TEST(SqliteReplayStoreTest, SurvivesReopen) {
  test_support::TempDir dir("aztp_replay_");
  const std::string file = dir.File("replay.db");
  {
    auto store = SqliteReplayStore::Open(file);
    ASSERT_TRUE(store.has_value()) << store.error().message();
    ASSERT_TRUE((*store)->CheckAndRemember(kIss, "jti-1", kNow + 60, kNow));
  }
  auto store = SqliteReplayStore::Open(file);
  ASSERT_TRUE(store.has_value()) << store.error().message();
  Status s = (*store)->CheckAndRemember(kIss, "jti-1", kNow + 60, kNow + 1);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), Code::kReplay);
  EXPECT_TRUE((*store)->CheckAndRemember(kIss, "jti-2", kNow + 60, kNow + 1));
  auto size = (*store)->Size();
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(*size, 2u);
}

TEST(SqliteReplayStoreTest, TwoStoresOnOneFileAgree) {
  test_support::TempDir dir("aztp_replay_");
  const std::string file = dir.File("replay.db");
  auto a = SqliteReplayStore::Open(file);
  auto b = SqliteReplayStore::Open(file);
  ASSERT_TRUE(a.has_value()) << a.error().message();
  ASSERT_TRUE(b.has_value()) << b.error().message();
  ASSERT_TRUE((*a)->CheckAndRemember(kIss, "jti-a", kNow + 60, kNow));
  Status s = (*b)->CheckAndRemember(kIss, "jti-a", kNow + 60, kNow);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), Code::kReplay);

  // Race both objects over shared jtis from two threads each.
  constexpr int kPerThread = 1000;
  std::atomic<int> accepted{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (ReplayStore* store : {a->get(), b->get(), a->get(), b->get()}) {
    threads.emplace_back([&, store] {
      for (int i = 0; i < kPerThread; ++i) {
        Status r = store->CheckAndRemember(kIss, "race-" + std::to_string(i),
                                           kNow + 60, kNow);
        if (r.has_value()) {
          accepted.fetch_add(1);
        } else if (r.error().code() != Code::kReplay) {
          errors.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(accepted.load(), kPerThread);
}

TEST(SqliteReplayStoreTest, TwoProcessesOnOneFileAgree) {
  test_support::TempDir dir("aztp_replay_");
  const std::string file = dir.File("replay.db");
  ASSERT_TRUE(SqliteReplayStore::Open(file).has_value());
  constexpr int kPairs = 500;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  // Both processes race over the same jtis, each with its own connection.
  auto race = [&file]() -> int {
    auto store = SqliteReplayStore::Open(file);
    if (!store) return -1;
    int accepted = 0;
    for (int i = 0; i < kPairs; ++i) {
      Status s = (*store)->CheckAndRemember(kIss, "p-" + std::to_string(i),
                                            kNow + 60, kNow);
      if (s.has_value()) {
        ++accepted;
      } else if (s.error().code() != Code::kReplay) {
        return -1;
      }
    }
    return accepted;
  };
  if (child == 0) {
    close(fds[0]);
    const int accepted = race();
    const ssize_t n = write(fds[1], &accepted, sizeof accepted);
    _exit(n == sizeof accepted ? 0 : 1);
  }
  close(fds[1]);
  const int parent_accepted = race();
  int child_accepted = -1;
  ASSERT_EQ(read(fds[0], &child_accepted, sizeof child_accepted),
            static_cast<ssize_t>(sizeof child_accepted));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_GE(parent_accepted, 0);
  ASSERT_GE(child_accepted, 0);
  EXPECT_EQ(parent_accepted + child_accepted, kPairs);
}

TEST(SqliteReplayStoreTest, CapacityIsSharedThroughTheFile) {
  test_support::TempDir dir("aztp_replay_");
  const std::string file = dir.File("replay.db");
  auto a = SqliteReplayStore::Open(file, 3);
  auto b = SqliteReplayStore::Open(file, 3);
  ASSERT_TRUE(a.has_value() && b.has_value());
  ASSERT_TRUE((*a)->CheckAndRemember(kIss, "1", kNow + 60, kNow));
  ASSERT_TRUE((*b)->CheckAndRemember(kIss, "2", kNow + 60, kNow));
  ASSERT_TRUE((*a)->CheckAndRemember(kIss, "3", kNow + 60, kNow));
  Status s = (*b)->CheckAndRemember(kIss, "4", kNow + 60, kNow);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), Code::kTooLarge);
}

TEST(SqliteReplayStoreTest, PurgesExpiredRows) {
  test_support::TempDir dir("aztp_replay_");
  auto store = SqliteReplayStore::Open(dir.File("replay.db"));
  ASSERT_TRUE(store.has_value()) << store.error().message();
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE((*store)->CheckAndRemember(kIss, "a" + std::to_string(i),
                                           kNow + 10 + (i % 2) * 100, kNow));
  }
  EXPECT_EQ(*(*store)->Size(), 300u);
  auto purged = (*store)->PurgeExpired(kNow + 10);
  ASSERT_TRUE(purged.has_value()) << purged.error().message();
  EXPECT_EQ(*purged, 150u);
  EXPECT_EQ(*(*store)->Size(), 150u);
  // The periodic purge runs as calls go by, in bounded batches.
  for (int i = 0; i < 600; ++i) {
    ASSERT_TRUE((*store)->CheckAndRemember(kIss, "b" + std::to_string(i),
                                           kNow + 1000, kNow + 200));
  }
  EXPECT_EQ(*(*store)->Size(), 600u);
}

TEST(SqliteReplayStoreTest, OpenFailsWithIoError) {
  test_support::TempDir dir("aztp_replay_");
  auto store = SqliteReplayStore::Open(dir.File("missing/dir/replay.db"));
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), Code::kIo);
  // A file that is not a database.
  const std::string junk = dir.File("junk.db");
  {
    FILE* f = fopen(junk.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::string bytes(4096, 'x');
    fwrite(bytes.data(), 1, bytes.size(), f);
    fclose(f);
  }
  auto bad = SqliteReplayStore::Open(junk);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), Code::kIo);
}

TEST(SqliteReplayStoreTest, UsesWalMode) {
  test_support::TempDir dir("aztp_replay_");
  const std::string file = dir.File("replay.db");
  auto store = SqliteReplayStore::Open(file);
  ASSERT_TRUE(store.has_value());
  ASSERT_TRUE((*store)->CheckAndRemember(kIss, "jti", kNow + 60, kNow));
  EXPECT_TRUE(std::filesystem::exists(file + "-wal"));
}

}  // namespace
}  // namespace aztp

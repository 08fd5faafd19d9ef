#include "aztp/ratelimit/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace aztp {
namespace {

constexpr int64_t kSecond = 1000000000;

// FakeTime is a clock the test moves by hand.
struct FakeTime {
  std::shared_ptr<std::atomic<int64_t>> nanos =
      std::make_shared<std::atomic<int64_t>>(1000 * kSecond);
  std::function<int64_t()> Source() const {
    return [n = nanos] { return n->load(); };
  }
  void Advance(int64_t delta) { nanos->fetch_add(delta); }
};

TEST(RateLimiter, ZeroRateDisablesLimiting) {
  RateLimiter limiter(0, 1);
  for (int i = 0; i < 1000; ++i) {
    auto d = limiter.Take("k");
    ASSERT_TRUE(d.allowed);
    EXPECT_EQ(d.retry_after_seconds, 0);
  }
  RateLimiter negative(-1, 1);
  EXPECT_TRUE(negative.Take("k").allowed);
  EXPECT_EQ(limiter.size(), 0u);
}

TEST(RateLimiter, AllowsABurstThenRefillsAtTheRate) {
  FakeTime t;
  RateLimiter limiter(1, 3, 100, t.Source());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Take("k").allowed) << i;
  auto denied = limiter.Take("k");
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.retry_after_seconds, 1);
  t.Advance(kSecond / 2);
  EXPECT_FALSE(limiter.Take("k").allowed);
  t.Advance(kSecond / 2);
  EXPECT_TRUE(limiter.Take("k").allowed);
  EXPECT_FALSE(limiter.Take("k").allowed);
}

TEST(RateLimiter, RetryAfterIsTheWaitForOneToken) {
  FakeTime t;
  RateLimiter limiter(0.1, 1, 100, t.Source());  // one per 10 s
  EXPECT_TRUE(limiter.Take("k").allowed);
  EXPECT_EQ(limiter.Take("k").retry_after_seconds, 10);
  t.Advance(4 * kSecond);
  EXPECT_EQ(limiter.Take("k").retry_after_seconds, 6);
  t.Advance(5 * kSecond + kSecond / 2);
  auto d = limiter.Take("k");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_seconds, 1);  // never 0 while denied
  t.Advance(kSecond / 2);
  EXPECT_TRUE(limiter.Take("k").allowed);
}

TEST(RateLimiter, IdleBucketsFillOnlyUpToTheBurst) {
  FakeTime t;
  RateLimiter limiter(1, 2, 100, t.Source());
  EXPECT_TRUE(limiter.Take("k").allowed);
  t.Advance(3600 * kSecond);
  EXPECT_TRUE(limiter.Take("k").allowed);
  EXPECT_TRUE(limiter.Take("k").allowed);
  EXPECT_FALSE(limiter.Take("k").allowed);
}

TEST(RateLimiter, KeysHaveTheirOwnBuckets) {
  FakeTime t;
  RateLimiter limiter(1, 1, 100, t.Source());
  EXPECT_TRUE(limiter.Take("a").allowed);
  EXPECT_FALSE(limiter.Take("a").allowed);
  EXPECT_TRUE(limiter.Take("b").allowed);
  EXPECT_EQ(limiter.size(), 2u);
}

TEST(RateLimiter, LongKeysAreDistinctBeyondTheirPrefix) {
  FakeTime t;
  RateLimiter limiter(1, 1, 100, t.Source());
  std::string a(200, 'x');
  std::string b = a;
  b.back() = 'y';
  EXPECT_TRUE(limiter.Take(a).allowed);
  EXPECT_FALSE(limiter.Take(a).allowed);
  EXPECT_TRUE(limiter.Take(b).allowed);
}

TEST(RateLimiter, BurstBelowOneStillAllowsOneRequest) {
  FakeTime t;
  RateLimiter limiter(1, 0, 100, t.Source());
  EXPECT_TRUE(limiter.Take("k").allowed);
  EXPECT_FALSE(limiter.Take("k").allowed);
}

TEST(RateLimiter, ExtremeParametersStayWellDefined) {
  FakeTime t;
  const double inf = std::numeric_limits<double>::infinity();
  RateLimiter unlimited(inf, inf, 100, t.Source());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(unlimited.Take("k").allowed);
  RateLimiter glacial(1e-300, 1, 100, t.Source());
  EXPECT_TRUE(glacial.Take("k").allowed);
  auto d = glacial.Take("k");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_seconds, 86400);  // capped
  RateLimiter nan(std::nan(""), std::nan(""), 100, t.Source());
  EXPECT_TRUE(nan.Take("k").allowed);  // NaN rate: no limit
}

TEST(RateLimiter, ClockGoingBackAddsNoTokens) {
  FakeTime t;
  RateLimiter limiter(1, 1, 100, t.Source());
  EXPECT_TRUE(limiter.Take("k").allowed);
  t.Advance(-10 * kSecond);
  EXPECT_FALSE(limiter.Take("k").allowed);
  t.Advance(10 * kSecond);
  EXPECT_FALSE(limiter.Take("k").allowed);
  t.Advance(kSecond);
  EXPECT_TRUE(limiter.Take("k").allowed);
}

TEST(RateLimiter, EvictsFullBucketsFirst) {
  FakeTime t;
  RateLimiter limiter(1, 1, 3, t.Source());
  EXPECT_TRUE(limiter.Take("a").allowed);
  EXPECT_TRUE(limiter.Take("b").allowed);
  t.Advance(2 * kSecond);  // a and b are full again
  EXPECT_TRUE(limiter.Take("c").allowed);
  EXPECT_TRUE(limiter.Take("d").allowed);  // evicts a full bucket
  EXPECT_TRUE(limiter.Take("e").allowed);  // and the other one
  EXPECT_EQ(limiter.size(), 3u);
  // c, d and e are empty and remembered.
  EXPECT_FALSE(limiter.Take("c").allowed);
  EXPECT_FALSE(limiter.Take("d").allowed);
  EXPECT_FALSE(limiter.Take("e").allowed);
}

TEST(RateLimiter, WhenNoBucketIsFullEvictsTheOneClosestToFull) {
  FakeTime t;
  RateLimiter limiter(1, 3, 2, t.Source());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Take("busy").allowed);
  t.Advance(kSecond / 2);
  // "light" was used last but is full again sooner than "busy", so it is
  // the one to forget (least recently used would forget "busy").
  EXPECT_TRUE(limiter.Take("light").allowed);
  EXPECT_TRUE(limiter.Take("new").allowed);
  EXPECT_EQ(limiter.size(), 2u);
  EXPECT_FALSE(limiter.Take("busy").allowed);
}

TEST(RateLimiter, NeverHoldsMoreThanMaxKeys) {
  FakeTime t;
  RateLimiter limiter(1, 5, 10, t.Source());
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(limiter.Take("key" + std::to_string(i)).allowed);
    ASSERT_LE(limiter.size(), 10u);
    if (i % 7 == 0) t.Advance(kSecond / 3);
  }
  EXPECT_EQ(limiter.size(), 10u);
}

TEST(RateLimiter, ConcurrentTakesSpendEachTokenOnce) {
  FakeTime t;  // frozen: no refill while the threads run
  constexpr int kBurst = 1000;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 800;
  RateLimiter limiter(1, kBurst, 100, t.Source());
  std::atomic<int> allowed{0};
  std::atomic<int> own_allowed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      std::string own = "own" + std::to_string(i);
      for (int j = 0; j < kPerThread; ++j) {
        if (limiter.Take("shared").allowed) allowed.fetch_add(1);
        if (j % 100 == 0 && limiter.Take(own).allowed) own_allowed.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(allowed.load(), kBurst);
  EXPECT_EQ(own_allowed.load(), kThreads * kPerThread / 100);
}

}  // namespace
}  // namespace aztp

// Sessions bound to the caller that opened them (rpc_sessions.h).
#include "aztp/proxy/rpc_sessions.h"

#include <gtest/gtest.h>

#include <string>

namespace aztp {
namespace {

const SpiffeId kAlice = *SpiffeId::Parse("spiffe://org-a.example/agents/a");
const SpiffeId kMallory = *SpiffeId::Parse("spiffe://org-a.example/agents/m");
constexpr UnixTime kNow = 1'800'000'000;

TEST(RpcSessions, ASessionIsOnlyItsOpenersToUse) {
  RpcSessions s(10, 600);
  ASSERT_TRUE(s.Bind("sess-1", kAlice, kNow));
  EXPECT_TRUE(s.Check("sess-1", kAlice, kNow + 1));
  auto other = s.Check("sess-1", kMallory, kNow + 1);
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code(), Code::kPermissionDenied);
  // A server handing the same id to another caller is refused too.
  EXPECT_EQ(s.Bind("sess-1", kMallory, kNow).error().code(),
            Code::kAlreadyExists);
  EXPECT_TRUE(s.Bind("sess-1", kAlice, kNow)) << "its owner again";
  EXPECT_EQ(s.Check("never-issued", kAlice, kNow).error().code(),
            Code::kNotFound);
  s.Forget("sess-1");
  EXPECT_EQ(s.Check("sess-1", kAlice, kNow).error().code(), Code::kNotFound);
}

TEST(RpcSessions, IdleSessionsExpireAndMakeRoom) {
  RpcSessions s(2, 60);
  ASSERT_TRUE(s.Bind("a", kAlice, kNow));
  ASSERT_TRUE(s.Bind("b", kAlice, kNow + 30));
  EXPECT_EQ(s.Bind("c", kAlice, kNow + 40).error().code(), Code::kUnavailable)
      << "full of live sessions";
  EXPECT_TRUE(s.Check("a", kAlice, kNow + 60)) << "60 s idle: still live";
  EXPECT_EQ(s.Check("b", kAlice, kNow + 91).error().code(), Code::kNotFound);
  EXPECT_TRUE(s.Bind("c", kAlice, kNow + 121)) << "a and b idle: dropped";
  EXPECT_EQ(s.size(), 1u);
}

TEST(RpcSessions, OneCallerCannotFillTheTable) {
  RpcSessions s(4, 3600, /*per_caller=*/2);
  ASSERT_TRUE(s.Bind("a1", kAlice, kNow));
  ASSERT_TRUE(s.Bind("a2", kAlice, kNow + 1));
  ASSERT_TRUE(s.Check("a1", kAlice, kNow + 2)) << "a1 is now the newer";
  // Alice's third session ends her least recently used one (a2).
  ASSERT_TRUE(s.Bind("a3", kAlice, kNow + 3));
  EXPECT_EQ(s.Check("a2", kAlice, kNow + 4).error().code(), Code::kNotFound);
  EXPECT_TRUE(s.Check("a1", kAlice, kNow + 4));
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(s.Bind("x" + std::to_string(i), kAlice, kNow + 5 + i));
  }
  EXPECT_EQ(s.size(), 2u);
  // Room is left for others.
  EXPECT_TRUE(s.Bind("b1", kMallory, kNow + 200));
  EXPECT_TRUE(s.Bind("b2", kMallory, kNow + 201));
  EXPECT_EQ(s.size(), 4u);
  s.Forget("b1");
  EXPECT_TRUE(s.Bind("b3", kMallory, kNow + 202));
}

TEST(RpcSessions, SessionIdsAreVisibleAsciiAndBounded) {
  RpcSessions s(10, 600);
  for (std::string bad :
       {std::string(), std::string("a b"), std::string("a\nb"),
        std::string("caf\xC3\xA9"), std::string(257, 'x')}) {
    EXPECT_EQ(s.Bind(bad, kAlice, kNow).error().code(), Code::kInvalidArgument);
    EXPECT_EQ(s.Check(bad, kAlice, kNow).error().code(),
              Code::kInvalidArgument);
  }
  EXPECT_TRUE(s.Bind(std::string(256, '~'), kAlice, kNow));
}

}  // namespace
}  // namespace aztp

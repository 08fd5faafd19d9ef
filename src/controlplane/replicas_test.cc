// Several control planes over one store, as replicas over one database
// (docs/scaling.md): one maintenance leader at a time, handed over when it
// stops renewing; a rotation step applied once whoever runs it; every
// replica following the keys another one rotated.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "aztp/base/clock.h"
#include "testing/control_plane_fixture.h"
#include "testing/temp_dir.h"

namespace aztp {
namespace {

constexpr UnixTime kT0 = 1'800'000'000;
constexpr int64_t kDay = 86'400;

class ReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenSqliteStore(dir_.File("shared.db"));
    ASSERT_TRUE(store.has_value());
    store_ = std::shared_ptr<Store>(std::move(*store));
    ca_.ttl_seconds = 100 * kDay;
    ASSERT_TRUE(ControlPlane::Initialize(
                    *store_, *TrustDomain::Parse("org-a.example"), ca_, kT0)
                    .has_value());
  }

  std::unique_ptr<ControlPlane> Replica(const std::string& name) {
    ControlPlaneOptions o = test_support::TestControlPlaneOptions(&clock_);
    o.replica = name;
    o.lease_seconds = 30;
    o.ca = ca_;
    return test_support::OpenTestControlPlane(store_, o);
  }

  int Count(const std::string& action) {
    int n = 0;
    for (const AuditRecord& a : test_support::AuditRecords(*store_)) {
      n += a.action == action;
    }
    return n;
  }

  test_support::TempDir dir_{"aztp_replicas_"};
  FixedClock clock_{kT0};
  CaOptions ca_;
  std::shared_ptr<Store> store_;
};

TEST_F(ReplicasTest, OneLeaderAtATimeAndATakeoverWhenItStops) {
  auto a = Replica("a");
  auto b = Replica("b");
  EXPECT_TRUE(a->leader());
  EXPECT_FALSE(b->leader());
  // While a renews, b never leads.
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(10);
    ASSERT_TRUE(a->Maintain().has_value());
    ASSERT_TRUE(b->Maintain().has_value());
    EXPECT_TRUE(a->leader());
    EXPECT_FALSE(b->leader());
  }
  // a stops (as if killed): b takes over once the lease ran out, not before.
  clock_.Advance(29);
  ASSERT_TRUE(b->Maintain().has_value());
  EXPECT_FALSE(b->leader());
  clock_.Advance(1);
  ASSERT_TRUE(b->Maintain().has_value());
  EXPECT_TRUE(b->leader());
  // a comes back: it follows.
  ASSERT_TRUE(a->Maintain().has_value());
  EXPECT_FALSE(a->leader());
  // Two changes of holder, each on the record with its term.
  std::vector<AuditRecord> takes;
  for (const AuditRecord& r : test_support::AuditRecords(*store_)) {
    if (r.action == "lease.acquire") takes.push_back(r);
  }
  ASSERT_EQ(takes.size(), 2u);
  EXPECT_EQ(takes[0].actor, "a");
  EXPECT_EQ(takes[0].details["term"], 1);
  EXPECT_EQ(takes[1].actor, "b");
  EXPECT_EQ(takes[1].details["term"], 2);
  EXPECT_EQ(takes[1].details["previous"], "a");
}

TEST_F(ReplicasTest, ARotationRunsOnceAndEveryReplicaFollowsIt) {
  auto a = Replica("a");
  auto b = Replica("b");
  auto c = Replica("c");
  const int64_t seq0 = a->bundle().sequence().value_or(0);
  // The successor keys fall due at half the CA's life; every replica runs
  // its maintenance, in an order where the lease has lapsed for all.
  clock_.Set(kT0 + 50 * kDay);
  for (ControlPlane* cp : {c.get(), a.get(), b.get(), c.get(), a.get()}) {
    ASSERT_TRUE(cp->Maintain().has_value());
  }
  EXPECT_EQ(Count("ca.prepare"), 2);  // one X.509 and one JWT key, once
  EXPECT_EQ(a->bundle().x509_authorities().size(), 2u);
  // Every replica publishes the same bundle, whichever rotated.
  for (ControlPlane* cp : {a.get(), b.get(), c.get()}) {
    EXPECT_EQ(cp->bundle().ToJson(), c->bundle().ToJson());
    EXPECT_GT(cp->bundle().sequence().value_or(0), seq0);
  }
  // Activation and removal, again once each.
  clock_.Set(kT0 + 75 * kDay);
  for (ControlPlane* cp : {b.get(), c.get(), a.get()}) {
    ASSERT_TRUE(cp->Maintain().has_value());
  }
  clock_.Set(kT0 + 77 * kDay);
  for (ControlPlane* cp : {a.get(), b.get(), c.get(), b.get()}) {
    ASSERT_TRUE(cp->Maintain().has_value());
  }
  EXPECT_EQ(Count("ca.prepare"), 2);
  EXPECT_EQ(Count("ca.activate"), 2);
  EXPECT_EQ(Count("ca.remove"), 2);
  for (ControlPlane* cp : {a.get(), b.get(), c.get()}) {
    EXPECT_EQ(cp->bundle().ToJson(), a->bundle().ToJson());
    EXPECT_EQ(cp->bundle().x509_authorities().size(), 1u);
  }
}

// Keys another replica rotated are in force here after Refresh (what the
// store's notice triggers), without waiting for this replica's own
// maintenance pass.
TEST_F(ReplicasTest, RefreshFollowsARotationByAnotherReplica) {
  auto a = Replica("a");
  auto b = Replica("b");
  const Json before = b->bundle().ToJson();
  clock_.Set(kT0 + 50 * kDay);
  ASSERT_TRUE(a->Maintain().has_value());  // a prepares the successors
  EXPECT_NE(a->bundle().ToJson(), before);
  EXPECT_EQ(b->bundle().ToJson(), before);  // b has not looked yet
  auto changed = b->Refresh();
  ASSERT_TRUE(changed.has_value()) << changed.error().message();
  EXPECT_TRUE(*changed);
  EXPECT_EQ(b->bundle().ToJson(), a->bundle().ToJson());
  changed = b->Refresh();  // nothing more to follow
  ASSERT_TRUE(changed.has_value());
  EXPECT_FALSE(*changed);
}

}  // namespace
}  // namespace aztp

// AuditService, called directly: queries over aztpd's chain and the copies
// of shipped chains, and shipments that must continue the chain held.
#include "aztp/services/audit.h"

#include <gtest/gtest.h>

#include "aztp/services/audit_entry.h"
#include "services_fixture.h"

namespace aztp::services {
namespace {

constexpr char kProxy[] = "spiffe://org-a.example/proxy";
constexpr char kAgent[] = "spiffe://org-a.example/agents/a";

class AuditServiceTest : public ServiceTest {
 protected:
  void SetUp() override {
    std::string prev = kAuditGenesis;
    for (int i = 1; i <= 5; ++i) {
      AuditRecord r;
      r.time = 1700000000 + i;
      r.actor = kAgent;
      r.action = "proxy.request";
      r.subject = kProxy;
      r.decision = i == 3 ? "deny" : "allow";
      SealAudit(r, i, prev);
      prev = r.hash;
      chain_.push_back(r);
    }
  }
  // Own appends `n` records to aztpd's own chain, subjects "s1".."sn".
  void Own(int n) {
    ASSERT_TRUE(ctx_.store->Write([&](Transaction& tx) -> Status {
      for (int i = 1; i <= n; ++i) {
        AZTP_RETURN_IF_ERROR(tx.AppendAudit(
            MakeAudit(kServiceTestNow + i, "apikey:admin", "identity.register",
                      i == 2 ? std::string(kAgent) : "s" + std::to_string(i))));
      }
      return Ok();
    }));
  }
  std::vector<AuditRecord> Part(std::size_t from, std::size_t to) const {
    return {chain_.begin() + static_cast<std::ptrdiff_t>(from),
            chain_.begin() + static_cast<std::ptrdiff_t>(to)};
  }

  AuditService audit_{ctx_};
  const Principal proxy_ = Principal::Workload(Id(kProxy));
  std::vector<AuditRecord> chain_;
};

TEST_F(AuditServiceTest, QueryPagesAndFiltersTheOwnChain) {
  Own(4);
  AuditQuery q;
  q.after = 1;
  q.limit = 2;
  auto page = audit_.Query(admin_, q);
  ASSERT_TRUE(page.has_value()) << page.error().message();
  ASSERT_EQ(page->records.size(), 2u);
  EXPECT_EQ(page->records[0].seq, 2);
  EXPECT_EQ(page->next, 3);
  EXPECT_FALSE(page->end);
  AuditQuery by_id;
  by_id.filter.identity = kAgent;
  page = audit_.Query(admin_, by_id);
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->records.size(), 1u);
  EXPECT_EQ(page->records[0].seq, 2);
  // The whole chain was read: `next` is the last record, matching or not.
  EXPECT_EQ(page->next, 4);
  EXPECT_TRUE(page->end);
}

TEST_F(AuditServiceTest, QueryReadsAtMostTenThousandRecords) {
  Own(kMaxAuditScan + 5);
  AuditQuery q;
  q.filter.action = "policy.create";  // matches none
  auto page = audit_.Query(admin_, q);
  ASSERT_TRUE(page.has_value());
  EXPECT_TRUE(page->records.empty());
  EXPECT_EQ(page->next, kMaxAuditScan);
  EXPECT_FALSE(page->end);
  q.after = page->next;
  page = audit_.Query(admin_, q);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->next, kMaxAuditScan + 5);
  EXPECT_TRUE(page->end);
}

TEST_F(AuditServiceTest, QueryRefusesWhatNoRecordCanMatch) {
  Own(1);
  std::vector<AuditQuery> bad(5);
  bad[0].filter.decision = "denied";
  bad[1].filter.action = "proxy";
  bad[2].filter.identity = "org-a.example/a";
  bad[3].limit = 0;
  bad[4].limit = 1001;
  for (const auto& q : bad) {
    auto r = audit_.Query(admin_, q);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  }
  AuditQuery unknown;
  unknown.source = kProxy;  // never shipped
  EXPECT_EQ(audit_.Query(admin_, unknown).error().code(), Code::kNotFound);
}

TEST_F(AuditServiceTest, ReadingNeedsAnAdminKey) {
  for (const Principal& who : {Scoped("/"), proxy_}) {
    auto q = audit_.Query(who, AuditQuery{});
    ASSERT_FALSE(q.has_value());
    EXPECT_EQ(q.error().code(), Code::kPermissionDenied);
    EXPECT_EQ(q.error().message(), "reading the audit log needs admin");
    EXPECT_EQ(audit_.Sources(who).error().code(), Code::kPermissionDenied);
  }
}

TEST_F(AuditServiceTest, IngestContinuesTheChainHeldForTheSource) {
  auto first = audit_.Ingest(proxy_, Part(0, 3));
  ASSERT_TRUE(first.has_value()) << first.error().message();
  EXPECT_EQ(first->added, 3);
  EXPECT_EQ(first->head.seq, 3);
  EXPECT_EQ(first->head.hash, chain_[2].hash);
  // A batch that skips a record is refused, naming where the chain breaks.
  auto gap = audit_.Ingest(proxy_, Part(4, 5));
  ASSERT_FALSE(gap.has_value());
  EXPECT_EQ(gap.error().code(), Code::kInvalidArgument);
  EXPECT_NE(gap.error().message().find("record 4 is missing"),
            std::string::npos)
      << gap.error().message();
  // A resend after a lost acknowledgement is harmless.
  auto again = audit_.Ingest(proxy_, Part(1, 5));
  ASSERT_TRUE(again.has_value()) << again.error().message();
  EXPECT_EQ(again->added, 2);
  EXPECT_EQ(again->head.seq, 5);
  auto resent = audit_.Ingest(proxy_, Part(0, 5));
  ASSERT_TRUE(resent.has_value());
  EXPECT_EQ(resent->added, 0);
  // A record that differs from the one held is not.
  chain_[2].reason = "rewritten";
  chain_[2].hash = AuditHash(chain_[2]);
  EXPECT_EQ(audit_.Ingest(proxy_, Part(2, 3)).error().code(),
            Code::kAlreadyExists);

  // aztpd's own chain anchors each shipment that added records.
  auto own = Audit();
  ASSERT_EQ(own.size(), 2u);
  EXPECT_EQ(own[1].action, "audit.ingest");
  EXPECT_EQ(own[1].actor, kProxy);
  EXPECT_EQ(own[1].subject, kProxy);
  EXPECT_EQ(own[1].details["from"], 4);
  EXPECT_EQ(own[1].details["to"], 5);
  EXPECT_EQ(own[1].details["hash"], chain_[4].hash);

  auto sources = audit_.Sources(admin_);
  ASSERT_TRUE(sources.has_value());
  ASSERT_EQ(sources->size(), 1u);
  EXPECT_EQ((*sources)[0].source, kProxy);
  EXPECT_EQ((*sources)[0].head.seq, 5);
  AuditQuery shipped;
  shipped.source = kProxy;
  shipped.filter.decision = "deny";
  auto denied = audit_.Query(admin_, shipped);
  ASSERT_TRUE(denied.has_value());
  ASSERT_EQ(denied->records.size(), 1u);
  EXPECT_EQ(denied->records[0].seq, 3);
}

TEST_F(AuditServiceTest, IngestIsAllOrNothing) {
  std::vector<AuditRecord> broken = Part(0, 3);
  broken[2].subject = "edited";  // its hash no longer matches
  auto r = audit_.Ingest(proxy_, broken);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_TRUE(audit_.Sources(admin_)->empty());
  EXPECT_TRUE(Audit().empty());
}

TEST_F(AuditServiceTest, IngestNeedsAnSvidAndOneToFiveHundredRecords) {
  for (const Principal& who : {admin_, Scoped("/")}) {
    auto r = audit_.Ingest(who, Part(0, 1));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), Code::kPermissionDenied);
    EXPECT_EQ(r.error().message(),
              "audit records are shipped with the proxy's own SVID");
  }
  EXPECT_EQ(audit_.Ingest(proxy_, {}).error().code(), Code::kInvalidArgument);
  std::vector<AuditRecord> many(kMaxShippedBatch + 1, chain_[0]);
  EXPECT_EQ(audit_.Ingest(proxy_, many).error().code(), Code::kInvalidArgument);
  EXPECT_TRUE(audit_.Sources(admin_)->empty());
}

}  // namespace
}  // namespace aztp::services

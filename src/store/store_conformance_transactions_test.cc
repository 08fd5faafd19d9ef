// Store conformance (store_conformance.h): transactions (rollback,
// read-only, nesting, concurrency, snapshots), the audit log and meta
// values.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "store/store_conformance.h"

namespace aztp::store_testing {
namespace {

TEST_P(StoreConformance, ExpectedErrorsLeaveTheTransactionUsable) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Write([](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity("spiffe://td/a")));
    // A caller may treat "exists" as fine and carry on.
    Status again = t.InsertIdentity(MakeIdentity("spiffe://td/a"));
    EXPECT_FALSE(again.has_value());
    IdentityRecord orphan = MakeIdentity("spiffe://td/orphan");
    orphan.parent = "spiffe://td/none";
    EXPECT_FALSE(t.InsertIdentity(orphan).has_value());
    EXPECT_FALSE(t.RevokeApiKey("ak_none").has_value());
    return t.InsertIdentity(MakeIdentity("spiffe://td/b"));
  }));
  ASSERT_OK(store->Read([](Transaction& t) -> Status {
    auto n = t.CountIdentities(std::nullopt);
    EXPECT_TRUE(n.has_value() && *n == 2);
    return Ok();
  }));
}

TEST_P(StoreConformance, FailedWriteLeavesNothingBehind) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Everything e = MakeEverything("gone", "gone");
  Status s = store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(PutEverything(t, e));
    return Error(Code::kPermissionDenied, "changed my mind");
  });
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), Code::kPermissionDenied);
  EXPECT_EQ(s.error().message(), "changed my mind");
  // A callback that throws is rolled back too, and the store stays usable.
  EXPECT_THROW((void)store->Write([&](Transaction& t) -> Status {
    (void)t.InsertIdentity(MakeIdentity("spiffe://td/thrown"));
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  EXPECT_THROW((void)store->Read([&](Transaction&) -> Status {
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    auto n = t.CountIdentities(std::nullopt);
    EXPECT_TRUE(n.has_value() && *n == 0);
    auto audit = t.ListAudit(0, 1000);
    EXPECT_TRUE(audit.has_value() && audit->empty());
    auto keys = t.ListApiKeys();
    EXPECT_TRUE(keys.has_value() && keys->empty());
    auto cas = t.ListCaKeys();
    EXPECT_TRUE(cas.has_value() && cas->empty());
    auto meta = t.GetMeta(e.meta_name);
    EXPECT_TRUE(meta.has_value() && !meta->has_value());
    return Ok();
  }));
  // The rolled-back audit sequence number is handed out again.
  ASSERT_OK(store->Write([](Transaction& t) -> Status {
    auto seq = t.AppendAudit(MakeAudit("x", "y"));
    EXPECT_TRUE(seq.has_value() && *seq == 1);
    return Ok();
  }));
}

TEST_P(StoreConformance, AuditSequenceIncrementsAndSurvivesReopen) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    for (int64_t want = 1; want <= 3; ++want) {
      ASSERT_OK(store->Write([&](Transaction& t) -> Status {
        AuditRecord a = MakeAudit("a", "s" + std::to_string(want));
        a.seq = 42;  // ignored
        auto seq = t.AppendAudit(a);
        EXPECT_TRUE(seq.has_value() && *seq == want);
        return Ok();
      }));
    }
    ASSERT_OK(store->Write([&](Transaction& t) -> Status {
      auto a = t.AppendAudit(MakeAudit("a", "s4"));
      auto b = t.AppendAudit(MakeAudit("a", "s5"));
      EXPECT_TRUE(a.has_value() && *a == 4);
      EXPECT_TRUE(b.has_value() && *b == 5);
      return Ok();
    }));
  }
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    auto seq = t.AppendAudit(MakeAudit("a", "s6"));
    EXPECT_TRUE(seq.has_value() && *seq == 6);
    return Ok();
  }));
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    auto all = t.ListAudit(0, 1000);
    EXPECT_TRUE(all.has_value() && all->size() == 6);
    if (all.has_value()) {
      for (std::size_t i = 0; i < all->size(); ++i) {
        EXPECT_EQ((*all)[i].seq, static_cast<int64_t>(i + 1));
        EXPECT_EQ((*all)[i].subject, "s" + std::to_string(i + 1));
      }
    }
    auto page = t.ListAudit(2, 2);
    EXPECT_TRUE(page.has_value() && page->size() == 2);
    if (page.has_value() && page->size() == 2) {
      EXPECT_EQ((*page)[0].seq, 3);
      EXPECT_EQ((*page)[1].seq, 4);
    }
    // The records form one hash chain across transactions and reopening.
    if (all.has_value()) {
      AuditChainChecker checker;
      for (const AuditRecord& r : *all) checker.Add(r);
      EXPECT_TRUE(checker.ok()) << checker.reason();
      EXPECT_EQ(checker.head().seq, 6);
      EXPECT_EQ((*all)[0].prev, kAuditGenesis);
    }
    auto tail = t.ListAudit(6, 10);
    EXPECT_TRUE(tail.has_value() && tail->empty());
    EXPECT_CODE(t.ListAudit(0, 0), Code::kInvalidArgument);
    EXPECT_CODE(t.ListAudit(0, 1001), Code::kInvalidArgument);
    EXPECT_CODE(t.ListAudit(0, -1), Code::kInvalidArgument);
    return Ok();
  }));
}

// Records shipped by proxies keep their own seq, prev and hash per source.
TEST_P(StoreConformance, ShippedAuditRecordsAreKeptPerSource) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  std::vector<AuditRecord> chain;
  std::string prev = kAuditGenesis;
  for (int i = 1; i <= 3; ++i) {
    AuditRecord r = MakeAudit("proxy.request", "s" + std::to_string(i));
    SealAudit(r, i, prev);
    prev = r.hash;
    chain.push_back(r);
  }
  const std::string a = "spiffe://td/proxy-a", b = "spiffe://td/proxy-b";
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    for (const AuditRecord& r : chain) {
      AZTP_RETURN_IF_ERROR(t.AppendShippedAudit(a, r));
    }
    AZTP_RETURN_IF_ERROR(t.AppendShippedAudit(b, chain[0]));
    EXPECT_CODE(t.AppendShippedAudit(a, chain[1]), Code::kAlreadyExists);
    return Ok();
  }));
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    auto head = t.ShippedAuditHead(a);
    EXPECT_TRUE(head.has_value() && head->seq == 3 &&
                head->hash == chain[2].hash);
    auto none = t.ShippedAuditHead("spiffe://td/none");
    EXPECT_TRUE(none.has_value() && none->seq == 0 &&
                none->hash == kAuditGenesis);
    auto page = t.ListShippedAudit(a, 1, 10);
    EXPECT_TRUE(page.has_value() && page->size() == 2);
    if (page.has_value() && page->size() == 2) {
      ExpectAuditEq((*page)[0], chain[1]);
      ExpectAuditEq((*page)[1], chain[2]);
    }
    auto sources = t.ListAuditSources();
    EXPECT_TRUE(sources.has_value() &&
                *sources == (std::vector<std::string>{a, b}));
    // Issue 13: a source that never shipped is not an empty, valid log.
    EXPECT_TRUE(CheckAuditSource(t, a).has_value());
    EXPECT_CODE(CheckAuditSource(t, "spiffe://td/proxy-aa"), Code::kNotFound);
    auto own = t.ListAudit(0, 10);
    EXPECT_TRUE(own.has_value() && own->empty());
    return Ok();
  }));
}

TEST_P(StoreConformance, MetaGetAndPut) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Write([](Transaction& t) -> Status {
    auto absent = t.GetMeta("revocation_seq");
    EXPECT_TRUE(absent.has_value() && !absent->has_value());
    AZTP_RETURN_IF_ERROR(t.PutMeta("revocation_seq", 1));
    AZTP_RETURN_IF_ERROR(t.PutMeta("revocation_seq", 2));
    AZTP_RETURN_IF_ERROR(t.PutMeta("min", std::numeric_limits<int64_t>::min()));
    AZTP_RETURN_IF_ERROR(t.PutMeta("max", std::numeric_limits<int64_t>::max()));
    return t.PutMeta("zero", 0);
  }));
  ASSERT_OK(store->Read([](Transaction& t) -> Status {
    for (const auto& [name, want] :
         std::vector<std::pair<std::string, int64_t>>{
             {"revocation_seq", 2},
             {"min", std::numeric_limits<int64_t>::min()},
             {"max", std::numeric_limits<int64_t>::max()},
             {"zero", 0}}) {
      auto got = t.GetMeta(name);
      EXPECT_TRUE(got.has_value() && got->has_value() && **got == want) << name;
    }
    return Ok();
  }));
}

TEST_P(StoreConformance, ReadIsReadOnlyAndTransactionsDoNotNest) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Read([](Transaction& t) -> Status {
    EXPECT_CODE(t.InsertIdentity(MakeIdentity("spiffe://td/a")),
                Code::kUnsupported);
    EXPECT_CODE(t.AppendAudit(MakeAudit("a", "b")), Code::kUnsupported);
    EXPECT_CODE(t.PutMeta("m", 1), Code::kUnsupported);
    return Ok();
  }));
  ASSERT_OK(store->Write([&](Transaction&) -> Status {
    EXPECT_CODE(store->Write([](Transaction&) { return Ok(); }),
                Code::kUnsupported);
    EXPECT_CODE(store->Read([](Transaction&) { return Ok(); }),
                Code::kUnsupported);
    return Ok();
  }));
  // Another store may be used from inside a callback.
  auto other = OpenOther();
  ASSERT_NE(other, nullptr);
  ASSERT_OK(store->Read([&](Transaction&) {
    return other->Write([](Transaction& t) {
      return t.InsertIdentity(MakeIdentity("spiffe://td/a"));
    });
  }));
}

TEST_P(StoreConformance, ConcurrentWritesAllLand) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  std::atomic<int> write_errors{0};
  std::atomic<int> inconsistent{0};
  std::atomic<int> reads{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        Status s = store->Read([&](Transaction& t) -> Status {
          AZTP_ASSIGN_OR_RETURN(int64_t n, t.CountIdentities(std::nullopt));
          AZTP_ASSIGN_OR_RETURN(std::optional<int64_t> m, t.GetMeta("count"));
          AZTP_ASSIGN_OR_RETURN(std::vector<AuditRecord> audit,
                                t.ListAudit(0, 1000));
          if (n != m.value_or(0) || n != static_cast<int64_t>(audit.size())) {
            inconsistent.fetch_add(1);
          }
          return Ok();
        });
        if (!s.has_value()) inconsistent.fetch_add(1);
        reads.fetch_add(1);
      }
    });
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < kThreads; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id =
            "spiffe://td/t" + std::to_string(w) + "/" + std::to_string(i);
        Status s = store->Write([&](Transaction& t) -> Status {
          AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity(id)));
          AZTP_RETURN_IF_ERROR(t.AppendAudit(MakeAudit("identity.create", id)));
          AZTP_ASSIGN_OR_RETURN(std::optional<int64_t> count,
                                t.GetMeta("count"));
          return t.PutMeta("count", count.value_or(0) + 1);
        });
        if (!s.has_value()) write_errors.fetch_add(1);
      }
    });
  }
  for (std::thread& t : writers) t.join();
  done.store(true);
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(write_errors.load(), 0);
  EXPECT_EQ(inconsistent.load(), 0);
  EXPECT_GT(reads.load(), 0);

  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    auto n = t.CountIdentities(std::nullopt);
    EXPECT_TRUE(n.has_value() && *n == kThreads * kPerThread);
    auto count = t.GetMeta("count");
    EXPECT_TRUE(count.has_value() &&
                count->value_or(-1) == kThreads * kPerThread);
    auto audit = t.ListAudit(0, 1000);
    EXPECT_TRUE(audit.has_value());
    if (audit.has_value()) {
      EXPECT_EQ(audit->size(), static_cast<std::size_t>(kThreads * kPerThread));
      for (std::size_t i = 0; i < audit->size(); ++i) {
        EXPECT_EQ((*audit)[i].seq, static_cast<int64_t>(i + 1));
      }
    }
    return Ok();
  }));
  for (int w = 0; w < kThreads; ++w) {
    IdentityFilter f;
    f.id_prefix = "spiffe://td/t" + std::to_string(w) + "/";
    EXPECT_EQ(ListAllIds(*store, f, nullptr).size(),
              static_cast<std::size_t>(kPerThread));
  }
}

// A Read sees the data as of its start: a Write committed meanwhile (from
// another thread) shows in later Reads only.
TEST_P(StoreConformance, ReadSeesAConsistentSnapshot) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Write([](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity("spiffe://td/a")));
    return t.PutMeta("n", 1);
  }));
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(int64_t before, t.CountIdentities(std::nullopt));
    EXPECT_EQ(before, 1);
    Status written;
    std::thread writer([&] {
      written = store->Write([](Transaction& w) -> Status {
        AZTP_RETURN_IF_ERROR(w.InsertIdentity(MakeIdentity("spiffe://td/b")));
        AZTP_RETURN_IF_ERROR(w.AppendAudit(MakeAudit("a", "b")));
        return w.PutMeta("n", 2);
      });
    });
    writer.join();
    EXPECT_TRUE(written.has_value());
    AZTP_ASSIGN_OR_RETURN(int64_t after, t.CountIdentities(std::nullopt));
    EXPECT_EQ(after, 1);
    AZTP_ASSIGN_OR_RETURN(auto n, t.GetMeta("n"));
    EXPECT_EQ(n, std::optional<int64_t>(1));
    AZTP_ASSIGN_OR_RETURN(auto audit, t.ListAudit(0, 10));
    EXPECT_TRUE(audit.empty());
    return Ok();
  }));
  ASSERT_OK(store->Read([](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(int64_t now, t.CountIdentities(std::nullopt));
    EXPECT_EQ(now, 2);
    AZTP_ASSIGN_OR_RETURN(auto n, t.GetMeta("n"));
    EXPECT_EQ(n, std::optional<int64_t>(2));
    return Ok();
  }));
}

// A store opened read-only reads what was written and refuses to write.
TEST_P(StoreConformance, ReadOnlyStoreRefusesWrites) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(store->Write([](Transaction& t) -> Status {
      AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity("spiffe://td/a")));
      AZTP_RETURN_IF_ERROR(
          t.AppendAudit(MakeAudit("identity.create", "spiffe://td/a")));
      return Ok();
    }));
  }
  auto reader = OpenReadOnly();
  ASSERT_NE(reader, nullptr);
  Status s = reader->Write([](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity("spiffe://td/b")));
    AZTP_RETURN_IF_ERROR(t.AppendAudit(MakeAudit("a", "b")));
    return t.PutMeta("m", 1);
  });
  EXPECT_FALSE(s.has_value()) << "a read-only store accepted a write";
  ASSERT_OK(reader->Read([](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(int64_t n, t.CountIdentities(std::nullopt));
    EXPECT_EQ(n, 1);
    AZTP_ASSIGN_OR_RETURN(auto audit, t.ListAudit(0, 10));
    EXPECT_EQ(audit.size(), 1u);
    AZTP_ASSIGN_OR_RETURN(auto m, t.GetMeta("m"));
    EXPECT_FALSE(m.has_value());
    return Ok();
  }));
}

}  // namespace
}  // namespace aztp::store_testing

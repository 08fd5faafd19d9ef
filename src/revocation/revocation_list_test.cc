#include "aztp/revocation/revocation_list.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "aztp/base/file.h"
#include "testing/temp_dir.h"

namespace aztp {
namespace {

SpiffeId Id(const char* s) { return *SpiffeId::Parse(s); }

RevocationList MustParse(const std::string& json) {
  auto list = RevocationList::Parse(json);
  EXPECT_TRUE(list.has_value()) << json << ": " << list.error().message();
  return list.has_value() ? *list : RevocationList::Empty();
}

std::string ListJson(int64_t sequence, const char* jti) {
  return R"({"sequence":)" + std::to_string(sequence) + R"(,"jtis":[")" + jti +
         R"("]})";
}

TEST(RevocationListTest, ParsesAndLooksUp) {
  RevocationList list = MustParse(R"({
    "sequence": 12,
    "ids": ["spiffe://example.org/agents/rogue", "spiffe://other.org/x"],
    "jtis": ["Zm9vYmFyYmF6cXV4cXV1eA", "j2"],
    "serials": ["1f3a9c", "0"]
  })");
  EXPECT_EQ(list.sequence(), 12);
  EXPECT_EQ(list.size(), 6u);
  EXPECT_TRUE(list.IsRevokedId(Id("spiffe://example.org/agents/rogue")));
  EXPECT_TRUE(list.IsRevokedId(Id("spiffe://other.org/x")));
  EXPECT_FALSE(list.IsRevokedId(Id("spiffe://example.org/agents")));
  EXPECT_FALSE(list.IsRevokedId(Id("spiffe://example.org/agents/rogue/x")));
  EXPECT_TRUE(list.IsRevokedJti("Zm9vYmFyYmF6cXV4cXV1eA"));
  EXPECT_TRUE(list.IsRevokedJti("j2"));
  EXPECT_FALSE(list.IsRevokedJti("j3"));
  EXPECT_FALSE(list.IsRevokedJti(""));
  EXPECT_TRUE(list.IsRevokedSerial("1f3a9c"));
  EXPECT_TRUE(list.IsRevokedSerial("0"));
  EXPECT_FALSE(list.IsRevokedSerial("1f3a9d"));
  EXPECT_FALSE(list.IsRevokedSerial(""));
}

TEST(RevocationListTest, SerialQueriesAreCanonicalised) {
  RevocationList list = MustParse(R"({"sequence":1,"serials":["1f3a9c","0"]})");
  EXPECT_TRUE(list.IsRevokedSerial("001f3a9c"));
  EXPECT_TRUE(list.IsRevokedSerial("1F3A9C"));
  EXPECT_TRUE(list.IsRevokedSerial("00"));
  EXPECT_FALSE(list.IsRevokedSerial("1f3a9c0"));
}

TEST(RevocationListTest, MissingArraysAreEmptyAndUnknownMembersIgnored) {
  RevocationList list =
      MustParse(R"({"sequence":0,"x_next_version":{"a":[1,2]},"note":"hi"})");
  EXPECT_EQ(list.sequence(), 0);
  EXPECT_EQ(list.size(), 0u);
  EXPECT_EQ(list, RevocationList::Empty());
}

TEST(RevocationListTest, RepeatedEntriesCountOnce) {
  RevocationList list = MustParse(
      R"({"sequence":3,"jtis":["a","a"],"serials":["ff","ff"],
          "ids":["spiffe://td/a","spiffe://td/a"]})");
  EXPECT_EQ(list.size(), 3u);
}

TEST(RevocationListTest, RoundTripsThroughJson) {
  RevocationList list = MustParse(
      R"({"sequence":7,"ids":["spiffe://td/b","spiffe://td/a"],
          "jtis":["z","y"],"serials":["ab","1"]})");
  Json doc = list.ToJson();
  EXPECT_EQ(doc, Json::parse(R"({"sequence":7,
      "ids":["spiffe://td/a","spiffe://td/b"],"jtis":["y","z"],
      "serials":["1","ab"]})"));
  EXPECT_EQ(MustParse(DumpJson(doc)), list);
  EXPECT_EQ(RevocationList::Empty().ToJson(),
            Json::parse(R"({"sequence":0,"ids":[],"jtis":[],"serials":[]})"));
}

TEST(RevocationListTest, RejectsMalformedDocuments) {
  for (const char* bad : {
           R"([])",
           R"({})",
           R"({"sequence":-1})",
           R"({"sequence":1.5})",
           R"({"sequence":"1"})",
           R"({"sequence":18446744073709551615})",
           R"({"sequence":1,"sequence":2})",
           R"({"sequence":1,"ids":"spiffe://td/a"})",
           R"({"sequence":1,"ids":[1]})",
           R"({"sequence":1,"ids":["aztp://td/a"]})",
           R"({"sequence":1,"ids":["spiffe://TD/a"]})",
           R"({"sequence":1,"ids":["spiffe://td/a/"]})",
           R"({"sequence":1,"jtis":[""]})",
           R"({"sequence":1,"jtis":[null]})",
           R"({"sequence":1,"jtis":{}})",
           R"({"sequence":1,"serials":[""]})",
           R"({"sequence":1,"serials":["01"]})",
           R"({"sequence":1,"serials":["00"]})",
           R"({"sequence":1,"serials":["AB"]})",
           R"({"sequence":1,"serials":["0x1f"]})",
           R"({"sequence":1,"serials":["g"]})",
           R"({"sequence":1,"serials":[" 1"]})",
           R"({"sequence":1,"serials":[12]})",
           R"({"sequence":1} trailing)",
           "",
       }) {
    auto list = RevocationList::Parse(bad);
    ASSERT_FALSE(list.has_value()) << bad;
    EXPECT_EQ(list.error().code(), Code::kMalformed)
        << bad << ": " << list.error().message();
  }
}

TEST(RevocationListTest, EnforcesSizeLimits) {
  struct Case {
    std::string json;
    Code code;
  };
  std::string max_serial(40, 'f');
  std::string max_jti(256, 'j');
  EXPECT_TRUE(RevocationList::Parse(R"({"sequence":1,"serials":[")" +
                                    max_serial + R"("],"jtis":[")" + max_jti +
                                    R"("]})")
                  .has_value());
  const std::vector<Case> cases = {
      {R"({"sequence":1,"serials":[")" + max_serial + R"(f"]})",
       Code::kTooLarge},
      {R"({"sequence":1,"jtis":[")" + max_jti + R"(j"]})", Code::kTooLarge},
      {std::string(RevocationList::kMaxBytes + 1, ' '), Code::kTooLarge},
  };
  for (const auto& c : cases) {
    auto list = RevocationList::Parse(c.json);
    ASSERT_FALSE(list.has_value());
    EXPECT_EQ(list.error().code(), c.code) << list.error().message();
  }
}

TEST(RevocationListTest, EnforcesEntryCount) {
  // 100000 entries across the three arrays are fine; one more is not.
  auto make = [](int jtis, int serials) {
    std::string json = R"({"sequence":1,"jtis":[)";
    for (int i = 0; i < jtis; ++i) {
      if (i) json += ',';
      json += "\"j" + std::to_string(i) + "\"";
    }
    json += R"(],"serials":[)";
    for (int i = 0; i < serials; ++i) {
      if (i) json += ',';
      json += "\"" + std::to_string(i + 1) + "\"";
    }
    json += "]}";
    return json;
  };
  auto ok = RevocationList::Parse(make(60000, 40000));
  ASSERT_TRUE(ok.has_value()) << ok.error().message();
  EXPECT_EQ(ok->size(), 100000u);
  EXPECT_TRUE(ok->IsRevokedJti("j59999"));
  EXPECT_TRUE(ok->IsRevokedSerial("40000"));
  auto too_many = RevocationList::Parse(make(60000, 40001));
  ASSERT_FALSE(too_many.has_value());
  EXPECT_EQ(too_many.error().code(), Code::kTooLarge);
}

TEST(RevocationListTest, CreateValidatesLikeParse) {
  auto ok = RevocationList::Create(5, {Id("spiffe://td/a")}, {"j"}, {"ff"});
  ASSERT_TRUE(ok.has_value()) << ok.error().message();
  EXPECT_EQ(*ok, MustParse(R"({"sequence":5,"ids":["spiffe://td/a"],
                                "jtis":["j"],"serials":["ff"]})"));
  struct Case {
    int64_t sequence;
    std::vector<std::string> jtis;
    std::vector<std::string> serials;
    Code code;
  };
  const std::vector<Case> cases = {
      {-1, {}, {}, Code::kMalformed},
      {1, {""}, {}, Code::kMalformed},
      {1, {std::string(257, 'j')}, {}, Code::kTooLarge},
      {1, {}, {"0a"}, Code::kMalformed},
      {1, {}, {"A"}, Code::kMalformed},
      {1, {}, {std::string(41, '1')}, Code::kTooLarge},
  };
  for (const auto& c : cases) {
    auto list = RevocationList::Create(c.sequence, {}, c.jtis, c.serials);
    ASSERT_FALSE(list.has_value());
    EXPECT_EQ(list.error().code(), c.code) << list.error().message();
  }
  auto too_many =
      RevocationList::Create(1, {}, std::vector<std::string>(100001, "j"), {});
  ASSERT_FALSE(too_many.has_value());
  EXPECT_EQ(too_many.error().code(), Code::kTooLarge);
}

TEST(RevocationListTest, ErrorsNameTheEntry) {
  auto list =
      RevocationList::Parse(R"({"sequence":1,"serials":["1","2","0003"]})");
  ASSERT_FALSE(list.has_value());
  EXPECT_NE(list.error().message().find("serials[2]"), std::string::npos)
      << list.error().message();
}

TEST(StaticRevocationSourceTest, StartsEmptyAndReplacesAtomically) {
  StaticRevocationSource source;
  auto first = source.Current();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(*first, RevocationList::Empty());
  source.Set(MustParse(ListJson(4, "a")));
  EXPECT_TRUE(source.Current()->IsRevokedJti("a"));
  // A reader's snapshot stays valid and unchanged.
  EXPECT_EQ(first->size(), 0u);
  // Set does not enforce ordering.
  source.Set(MustParse(ListJson(2, "b")));
  EXPECT_EQ(source.Current()->sequence(), 2);
}

TEST(StaticRevocationSourceTest, ConcurrentReadersSeeWholeLists) {
  StaticRevocationSource source(MustParse(ListJson(0, "j0")));
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto list = source.Current();
        const std::string jti = "j" + std::to_string(list->sequence());
        if (!list->IsRevokedJti(jti)) torn.fetch_add(1);
      }
    });
  }
  for (int i = 1; i <= 2000; ++i) {
    source.Set(MustParse(ListJson(i, ("j" + std::to_string(i)).c_str())));
  }
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(source.Current()->sequence(), 2000);
}

TEST(FileRevocationSourceTest, LoadsAndReloadsInOrder) {
  test_support::TempDir dir("aztp_revocation_");
  const std::string path = dir.File("revocations.json");
  ASSERT_TRUE(WriteFile(path, ListJson(5, "a")));
  auto source = FileRevocationSource::Open(path);
  ASSERT_TRUE(source.has_value()) << source.error().message();
  EXPECT_EQ((*source)->path(), path);
  EXPECT_EQ((*source)->Current()->sequence(), 5);
  EXPECT_TRUE((*source)->Current()->IsRevokedJti("a"));

  // A newer list replaces it.
  ASSERT_TRUE(WriteFile(path, ListJson(6, "b")));
  ASSERT_TRUE((*source)->Reload());
  EXPECT_EQ((*source)->Current()->sequence(), 6);
  EXPECT_TRUE((*source)->Current()->IsRevokedJti("b"));
  EXPECT_FALSE((*source)->Current()->IsRevokedJti("a"));

  // The same sequence is accepted (a republished list).
  ASSERT_TRUE(WriteFile(path, ListJson(6, "c")));
  ASSERT_TRUE((*source)->Reload());
  EXPECT_TRUE((*source)->Current()->IsRevokedJti("c"));

  // An older sequence is refused and the current list stays.
  ASSERT_TRUE(WriteFile(path, ListJson(3, "old")));
  Status older = (*source)->Reload();
  ASSERT_FALSE(older.has_value());
  EXPECT_EQ(older.error().code(), Code::kInvalidArgument);
  EXPECT_EQ((*source)->Current()->sequence(), 6);
  EXPECT_TRUE((*source)->Current()->IsRevokedJti("c"));
}

TEST(FileRevocationSourceTest, BadFilesKeepTheCurrentList) {
  test_support::TempDir dir("aztp_revocation_");
  const std::string path = dir.File("revocations.json");
  ASSERT_TRUE(WriteFile(path, ListJson(5, "a")));
  auto source = FileRevocationSource::Open(path);
  ASSERT_TRUE(source.has_value());

  ASSERT_TRUE(WriteFile(path, R"({"sequence":9,"serials":["0a"]})"));
  Status malformed = (*source)->Reload();
  ASSERT_FALSE(malformed.has_value());
  EXPECT_EQ(malformed.error().code(), Code::kMalformed);
  EXPECT_EQ((*source)->Current()->sequence(), 5);

  std::filesystem::remove(path);
  Status missing = (*source)->Reload();
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), Code::kIo);
  EXPECT_TRUE((*source)->Current()->IsRevokedJti("a"));
}

// A source of one list, of unknown origin, applies it to every trust
// domain (protocol §6 step 8); only per-domain sources scope lists.
TEST(StaticRevocationSourceTest, OneListAppliesToEveryDomain) {
  auto id = *SpiffeId::Parse("spiffe://b.example/agent");
  StaticRevocationSource source(*RevocationList::Create(3, {id}, {}, {}));
  for (const char* td : {"a.example", "b.example"}) {
    auto list = source.ForDomain(*TrustDomain::Parse(td));
    ASSERT_NE(list, nullptr);
    EXPECT_EQ(list, source.Current()) << td;
    EXPECT_TRUE(list->IsRevokedId(id));
  }
  EXPECT_EQ(source.Current()->ids().size(), 1u);
}

TEST(FileRevocationSourceTest, OpenReportsErrors) {
  test_support::TempDir dir("aztp_revocation_");
  auto missing = FileRevocationSource::Open(dir.File("missing.json"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), Code::kIo);
  const std::string path = dir.File("bad.json");
  ASSERT_TRUE(WriteFile(path, R"({"ids":[]})"));
  auto bad = FileRevocationSource::Open(path);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), Code::kMalformed);
  ASSERT_TRUE(WriteFile(dir.File("big.json"),
                        std::string(RevocationList::kMaxBytes + 1, ' ')));
  auto big = FileRevocationSource::Open(dir.File("big.json"));
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code(), Code::kTooLarge);
}

}  // namespace
}  // namespace aztp

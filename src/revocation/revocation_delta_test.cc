#include "aztp/revocation/revocation_delta.h"

#include <gtest/gtest.h>

#include <string>

namespace aztp {
namespace {

constexpr const char* kA = "spiffe://example.org/a";
constexpr const char* kB = "spiffe://example.org/b";

RevocationList List(std::string_view json) {
  auto list = RevocationList::Parse(json);
  EXPECT_TRUE(list.has_value()) << list.error().message();
  return list ? *list : RevocationList::Empty();
}

Result<RevocationDelta> Delta(std::string_view json) {
  auto doc = ParseJson(json);
  if (!doc) return doc.error();
  return RevocationDelta::FromJson(*doc);
}

TEST(RevocationDelta, AppliesRemovalsThenAdditions) {
  RevocationList held = List(
      R"({"sequence": 3, "ids": ["spiffe://example.org/a"],
          "jtis": ["j1"], "serials": ["1f", "2e"]})");
  auto delta = Delta(R"({"since": 3, "sequence": 5,
      "added": {"ids": ["spiffe://example.org/b"], "serials": ["3d"]},
      "removed": {"ids": ["spiffe://example.org/a"], "jtis": ["j1"],
                  "serials": ["1f", "99"]}})");
  ASSERT_TRUE(delta.has_value()) << delta.error().message();
  auto applied = ApplyDelta(held, *delta);
  ASSERT_TRUE(applied.has_value()) << applied.error().message();
  EXPECT_EQ(*applied, List(R"({"sequence": 5, "ids": ["spiffe://example.org/b"],
                               "serials": ["2e", "3d"]})"));
}

TEST(RevocationDelta, AnEntryBothRemovedAndAddedStaysListed) {
  RevocationList held = List(R"({"sequence": 1, "ids": []})");
  auto delta = Delta(R"({"since": 1, "sequence": 2,
      "added": {"ids": ["spiffe://example.org/a"]},
      "removed": {"ids": ["spiffe://example.org/a"]}})");
  ASSERT_TRUE(delta.has_value());
  auto applied = ApplyDelta(held, *delta);
  ASSERT_TRUE(applied.has_value());
  EXPECT_TRUE(applied->IsRevokedId(*SpiffeId::Parse(kA)));
}

TEST(RevocationDelta, ADeltaForAnotherSequenceIsRefused) {
  RevocationList held = List(R"({"sequence": 4})");
  auto delta = Delta(R"({"since": 3, "sequence": 5})");
  ASSERT_TRUE(delta.has_value());
  auto applied = ApplyDelta(held, *delta);
  ASSERT_FALSE(applied.has_value());
  EXPECT_EQ(applied.error().code(), Code::kInvalidArgument);
}

TEST(RevocationDelta, RoundTripsThroughJson) {
  auto delta = Delta(R"({"since": 0, "sequence": 1,
      "added": {"ids": ["spiffe://example.org/b", "spiffe://example.org/a"]},
      "removed": {"serials": ["a"]}})");
  ASSERT_TRUE(delta.has_value());
  auto again = RevocationDelta::FromJson(delta->ToJson());
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->ToJson(), delta->ToJson());
  EXPECT_EQ(delta->ToJson()["added"]["ids"][0], kA) << "sorted";
  EXPECT_EQ(delta->ToJson()["added"]["ids"][1], kB);
}

TEST(RevocationDelta, BadDocumentsAreMalformedOrTooLarge) {
  struct Case {
    const char* json;
    Code code;
  };
  const Case cases[] = {
      {"[]", Code::kMalformed},
      {R"({"sequence": 2})", Code::kMalformed},
      {R"({"since": 2})", Code::kMalformed},
      {R"({"since": 3, "sequence": 2})", Code::kMalformed},
      // Entries at an unchanged sequence: a rollback in disguise.
      {R"({"since": 2, "sequence": 2, "removed": {"ids":
          ["spiffe://example.org/a"]}})",
       Code::kMalformed},
      {R"({"since": -1, "sequence": 2})", Code::kMalformed},
      {R"({"since": 1.5, "sequence": 2})", Code::kMalformed},
      {R"({"since": 1, "sequence": 2, "added": []})", Code::kMalformed},
      {R"({"since": 1, "sequence": 2, "added": {"ids": "x"}})",
       Code::kMalformed},
      {R"({"since": 1, "sequence": 2, "removed": {"ids": ["https://x/y"]}})",
       Code::kMalformed},
      {R"({"since": 1, "sequence": 2, "removed": {"serials": ["0a"]}})",
       Code::kMalformed},
      {R"({"since": 1, "sequence": 2, "added": {"serials": ["AB"]}})",
       Code::kMalformed},
      {R"({"since": 1, "sequence": 2, "added": {"jtis": [""]}})",
       Code::kMalformed},
      {R"({"since": 1, "sequence": 2, "added": {"jtis": [7]}})",
       Code::kMalformed},
  };
  for (const Case& c : cases) {
    auto delta = Delta(c.json);
    ASSERT_FALSE(delta.has_value()) << c.json;
    EXPECT_EQ(delta.error().code(), c.code) << c.json;
  }
}

TEST(RevocationDelta, BothSidesTogetherAreBoundedByMaxEntries) {
  RevocationEntries half;
  for (std::size_t i = 0; i < RevocationList::kMaxEntries / 2 + 1; ++i) {
    half.jtis.push_back("j" + std::to_string(i));
  }
  auto delta = RevocationDelta::Create(1, 2, half, half);
  ASSERT_FALSE(delta.has_value());
  EXPECT_EQ(delta.error().code(), Code::kTooLarge);
}

TEST(RevocationDelta, AppliedResultIsBoundedByMaxEntries) {
  RevocationEntries many;
  for (std::size_t i = 0; i < RevocationList::kMaxEntries; ++i) {
    many.jtis.push_back("j" + std::to_string(i));
  }
  auto held = RevocationList::Create(1, {}, many.jtis, {});
  ASSERT_TRUE(held.has_value());
  auto delta = RevocationDelta::Create(1, 2, RevocationEntries{{}, {"new"}, {}},
                                       RevocationEntries{});
  ASSERT_TRUE(delta.has_value());
  auto applied = ApplyDelta(*held, *delta);
  ASSERT_FALSE(applied.has_value());
  EXPECT_EQ(applied.error().code(), Code::kTooLarge);
}

TEST(RevocationDelta, ADeltaIsNeverReadAsAList) {
  // A delta mistaken for a list would replace the list in force with its
  // additions alone.
  auto list = RevocationList::Parse(
      R"({"since": 1, "sequence": 2, "ids": ["spiffe://example.org/a"]})");
  ASSERT_FALSE(list.has_value());
  EXPECT_EQ(list.error().code(), Code::kMalformed);
  EXPECT_NE(list.error().message().find("delta"), std::string::npos);
}

}  // namespace
}  // namespace aztp

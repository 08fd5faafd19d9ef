// JwsHeaderCache. Includes the regression test of the security review
// finding "the JWS header cache hashes only the length and the last 48
// characters": a peer could put any number of different headers of one
// length and one tail into a single bucket.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "aztp/encoding/base64.h"
#include "aztp/jose/jws.h"

namespace aztp {
namespace {

// Compact JWSs whose protected headers all have the same length and the
// same last 48 (and more) base64url characters: the varying member comes
// first and its JSON prefix is a multiple of 3 bytes long, so that the
// encoding of the shared tail is shared too. Signatures are not checked
// by ParseCompact.
std::vector<std::string> CollidingTokens(int n) {
  const std::string tail = std::string(",\"typ\":\"aztp+jwt\",\"pad\":\"") +
                           std::string(60, 'p') + "\"}";
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    char id[16];
    std::snprintf(id, sizeof(id), "%08d", i);
    // {"alg":"ES256","id":"NNNNNNNN"  is 30 bytes.
    std::string header =
        std::string("{\"alg\":\"ES256\",\"id\":\"") + id + "\"" + tail;
    out.push_back(Base64UrlEncode(header) + ".e30.c2ln");
  }
  return out;
}

std::string HeaderPart(const std::string& compact) {
  return compact.substr(0, compact.find('.'));
}

TEST(Finding11JwsHeaderCacheHash, CollidingHeadersDoNotShareABucket) {
  constexpr int kHeaders = 4000;
  std::vector<std::string> tokens = CollidingTokens(kHeaders);
  // The premise: one length and one 48-character tail for all of them.
  const std::string first = HeaderPart(tokens.front());
  for (const auto& t : tokens) {
    std::string h = HeaderPart(t);
    ASSERT_EQ(h.size(), first.size());
    ASSERT_EQ(h.substr(h.size() - 48), first.substr(first.size() - 48));
  }
  JwsHeaderCache cache(kHeaders);
  std::vector<std::shared_ptr<const Json>> parsed;
  for (const auto& t : tokens) {
    auto jws = ParseCompact(t, {}, &cache);
    ASSERT_TRUE(jws.has_value()) << jws.error().message();
    parsed.push_back(jws->shared_header());
  }
  ASSERT_EQ(cache.size(), static_cast<std::size_t>(kHeaders));
  // With the old hash all 4000 headers were in one bucket. With a keyed
  // hash of the whole text the fullest bucket of a table at load factor
  // <= 1 holds a handful; 32 leaves a wide margin.
  EXPECT_LE(cache.largest_bucket(), 32u);
  // Every header is found again, as its own entry (the very same parsed
  // object, not another header's).
  for (int i = 0; i < kHeaders; ++i) {
    auto again = ParseCompact(tokens[i], {}, &cache);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->shared_header(), parsed[i]) << i;
    char id[16];
    std::snprintf(id, sizeof(id), "%08d", i);
    EXPECT_EQ(again->header()["id"], id);
  }
}

TEST(JwsHeaderCache, IsBoundedAndEvictsTheOldestFirst) {
  std::vector<std::string> tokens = CollidingTokens(10);
  JwsHeaderCache cache(4);
  std::vector<std::shared_ptr<const Json>> parsed;
  for (const auto& t : tokens) {
    parsed.push_back(ParseCompact(t, {}, &cache)->shared_header());
    EXPECT_LE(cache.size(), 4u);
  }
  // The last four are cached; the first was evicted and is parsed afresh.
  EXPECT_EQ(ParseCompact(tokens[9], {}, &cache)->shared_header(), parsed[9]);
  EXPECT_EQ(ParseCompact(tokens[6], {}, &cache)->shared_header(), parsed[6]);
  EXPECT_NE(ParseCompact(tokens[0], {}, &cache)->shared_header(), parsed[0]);
  EXPECT_EQ(cache.size(), 4u);
}

TEST(JwsHeaderCache, AHitChangesNoResult) {
  JwsHeaderCache cache;
  const std::string token = CollidingTokens(1).front();
  auto fresh = ParseCompact(token);
  auto cold = ParseCompact(token, {}, &cache);
  auto warm = ParseCompact(token, {}, &cache);
  ASSERT_TRUE(fresh && cold && warm);
  EXPECT_EQ(warm->header(), fresh->header());
  EXPECT_EQ(warm->algorithm(), fresh->algorithm());
  EXPECT_EQ(warm->signing_input(), fresh->signing_input());
  EXPECT_EQ(warm->signature(), fresh->signature());
  // A cached header does not skip the checks of the other parts.
  std::string bad_payload = HeaderPart(token) + ".e30=.c2ln";
  EXPECT_EQ(ParseCompact(bad_payload, {}, &cache).error().code(),
            Code::kMalformed);
}

}  // namespace
}  // namespace aztp

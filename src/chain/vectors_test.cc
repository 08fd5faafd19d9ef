// Runs the language-neutral chain vectors (tests/vectors/README.md) through
// the verifier. The folder is tests/vectors/chain/, or $AZTP_CHAIN_VECTORS.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "aztp/base/file.h"
#include "aztp/chain/verifier.h"
#include "aztp/encoding/base64.h"
#include "testing/source_dir.h"

namespace aztp {
namespace {

std::string VectorDir() {
  const char* env = std::getenv("AZTP_CHAIN_VECTORS");
  return env != nullptr
             ? env
             : std::string(test_support::SourceDir()) + "/tests/vectors/chain";
}

// RunVector verifies one vector and returns a description of any mismatch
// (empty when the result is the expected one).
std::string RunVector(const Json& v) {
  auto bundles = BundleSet::ParseMap(DumpJson(v["bundles"]));
  if (!bundles) return "bundles: " + bundles.error().message();
  const Json& s = v["verifier"];
  ChainVerifierOptions o;
  o.audience = *SpiffeId::Parse(s["audience"].get<std::string>());
  o.bundles = std::make_shared<BundleSet>(std::move(*bundles));
  FixedClock clock(s["now"].get<int64_t>());
  o.clock = &clock;
  o.skew_seconds = s["skew"].get<int64_t>();
  o.limits.max_tokens = s["limits"]["max_tokens"].get<int>();
  o.limits.max_token_bytes = s["limits"]["max_token_bytes"].get<std::size_t>();
  o.limits.max_chain_bytes = s["limits"]["max_chain_bytes"].get<std::size_t>();
  o.limits.max_lifetime_seconds = s["limits"]["max_lifetime"].get<int64_t>();
  o.require_request_binding = s["require_request_binding"].get<bool>();
  if (s.contains("person_issuers") && !s["person_issuers"].is_null()) {
    for (const auto& [td, issuers] : s["person_issuers"].items()) {
      o.person_issuers[td] = issuers.get<std::vector<std::string>>();
    }
  }
  auto replay = std::make_shared<InMemoryReplayStore>();
  for (const auto& seen : s["seen"]) {
    if (!replay->CheckAndRemember(
            seen["iss"].get<std::string>(), seen["jti"].get<std::string>(),
            s["now"].get<int64_t>() + 86400, s["now"].get<int64_t>())) {
      return "seen: could not seed the replay store";
    }
  }
  o.replay = replay;
  if (!s["revocations"].is_null()) {
    auto list = RevocationList::Parse(DumpJson(s["revocations"]));
    if (!list) return "revocations: " + list.error().message();
    o.revocations = std::make_shared<StaticRevocationSource>(std::move(*list));
  }
  auto verifier = ChainVerifier::Create(std::move(o));
  if (!verifier) return "verifier: " + verifier.error().message();
  VerifyContext ctx;
  if (!s["peer"].is_null()) {
    ctx.peer = *SpiffeId::Parse(s["peer"].get<std::string>());
  }
  if (!s["request"].is_null()) {
    RequestBinding r;
    r.method = s["request"]["method"].get<std::string>();
    r.uri = s["request"]["uri"].get<std::string>();
    Bytes digest =
        *Base64UrlDecode(s["request"]["body_sha256"].get<std::string>());
    std::copy(digest.begin(), digest.end(), r.body_sha256.begin());
    ctx.request = r;
  }
  auto result = (*verifier)->Verify(v["chain"].get<std::string>(), ctx);
  const Json& want = v["expected"];
  if (want["valid"].get<bool>()) {
    if (!result) {
      return "expected valid, got " + std::string(result.error().reason()) +
             " at hop " + std::to_string(result.error().hop().value_or(-1)) +
             ": " + result.error().message();
    }
    Json path = Json::array();
    for (const auto& id : result->path()) path.push_back(id.str());
    if (path != want["path"]) return "path differs";
    if (result->subject() != want["sub"]) return "sub differs";
    if (result->txn() != want["txn"]) return "txn differs";
    if (result->capabilities().ToJson() != want["capabilities"]) {
      return "capabilities differ";
    }
    if (result->depth() != want["depth"].get<int>()) return "depth differs";
    if (result->expires_at() != want["expires_at"].get<int64_t>()) {
      return "expires_at differs";
    }
    return "";
  }
  if (result)
    return "expected " + want["error"].get<std::string>() + ", got valid";
  std::string reason(result.error().reason());
  if (reason != want["error"].get<std::string>()) {
    return "expected " + want["error"].get<std::string>() + ", got " + reason +
           ": " + result.error().message();
  }
  std::optional<int> hop;
  if (!want["hop"].is_null()) hop = want["hop"].get<int>();
  if (result.error().hop() != hop) {
    return "hop: expected " + std::to_string(hop.value_or(-1)) + ", got " +
           std::to_string(result.error().hop().value_or(-1));
  }
  return "";
}

TEST(ChainVectors, EveryVectorGivesItsExpectedResult) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(VectorDir())) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 60u) << "too few vectors in " << VectorDir();
  std::set<std::string> reasons;
  int valid = 0;
  for (const auto& file : files) {
    auto text = ReadFile(file.string());
    ASSERT_TRUE(text.has_value()) << file;
    JsonLimits limits;
    limits.max_bytes = 4 << 20;
    auto v = ParseJson(*text, limits);
    ASSERT_TRUE(v.has_value()) << file << ": " << v.error().message();
    EXPECT_EQ(RunVector(*v), "") << file.filename();
    if ((*v)["expected"]["valid"].get<bool>()) {
      ++valid;
    } else {
      reasons.insert((*v)["expected"]["error"].get<std::string>());
    }
  }
  // Every verification reason of protocol.md §7 has a failing case
  // (policy_denied belongs to policy evaluation, not to the verifier).
  for (const char* reason : {"malformed",
                             "too_large",
                             "alg_not_allowed",
                             "bad_signature",
                             "untrusted_trust_domain",
                             "svid_invalid",
                             "issuer_mismatch",
                             "expired",
                             "not_yet_valid",
                             "lifetime_exceeded",
                             "broken_link",
                             "subject_mismatch",
                             "depth_exceeded",
                             "capability_escalation",
                             "constraint_violation",
                             "audience_mismatch",
                             "peer_mismatch",
                             "request_mismatch",
                             "replay",
                             "revoked"}) {
    EXPECT_TRUE(reasons.count(reason)) << "no vector fails with " << reason;
  }
  EXPECT_GE(valid, 20);
}

}  // namespace
}  // namespace aztp

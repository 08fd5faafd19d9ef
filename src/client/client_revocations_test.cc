// aztp::Client asking for revocation deltas (GetRevocations and
// GetRevocationLists with the list held): what it sends, that the result
// equals the whole list, and what it does with a delta that does not fit.
#include <gtest/gtest.h>

#include <atomic>

#include "aztp/client/client.h"
#include "client/client_test_fixture.h"

namespace aztp::client_test {
namespace {

using test_support::Must;

class RevocationDeltaTest : public ClientTest {
 protected:
  void SetUp() override {
    for (const char* id : {"a", "b", "c"}) {
      Register(std::string("spiffe://org-a.example/agents/") + id);
    }
  }
  void Revoke(const char* name) {
    ASSERT_TRUE(admin()
                    .RevokeIdentity(Id(std::string("spiffe://org-a.example/"
                                                   "agents/") +
                                       name))
                    .has_value());
  }
  // Targets lists the request targets (path and query) sent to `path`.
  std::vector<std::string> Targets(const std::string& path) {
    std::vector<std::string> out;
    for (const auto& r : server_.requests()) {
      if (r.path == path) out.push_back(r.target);
    }
    return out;
  }
};

TEST_F(RevocationDeltaTest, AHeldListIsBroughtUpToDateWithADelta) {
  Revoke("a");
  const RevocationList held = Must(admin().GetRevocations());
  ASSERT_EQ(held.sequence(), 1);
  Revoke("b");
  ASSERT_TRUE(admin()
                  .ReissueIdentity(Id("spiffe://org-a.example/agents/a"))
                  .has_value());
  server_.ClearRequests();
  const RevocationList updated = Must(admin().GetRevocations(&held));
  EXPECT_EQ(Targets("/v1/revocations"),
            std::vector<std::string>{"/v1/revocations?since=1"});
  EXPECT_EQ(updated, Must(admin().GetRevocations()));
  EXPECT_EQ(updated.sequence(), 3);
  EXPECT_FALSE(updated.IsRevokedId(Id("spiffe://org-a.example/agents/a")));
  EXPECT_TRUE(updated.IsRevokedId(Id("spiffe://org-a.example/agents/b")));
}

TEST_F(RevocationDeltaTest, TheOwnListOfTheMapComesAsADeltaToo) {
  Revoke("a");
  const RevocationList held = Must(admin().GetRevocations());
  Revoke("c");
  server_.ClearRequests();
  RevocationLists lists = Must(admin().GetRevocationLists(&held));
  EXPECT_EQ(Targets("/v1/revocation-lists"),
            std::vector<std::string>{"/v1/revocation-lists?since=1"});
  const RevocationList& own = lists.at(Td("org-a.example"));
  EXPECT_EQ(own, Must(admin().GetRevocations()));
  EXPECT_TRUE(own.IsRevokedId(Id("spiffe://org-a.example/agents/c")));
}

TEST_F(RevocationDeltaTest, ADeltaThatDoesNotFitIsAnsweredByTheWholeList) {
  Revoke("a");
  Revoke("b");
  // The reader claims sequence 1, but the server answers as if it held 2.
  const RevocationList held = Must(RevocationList::Create(1, {}, {}, {}));
  server_.SetInterceptor(
      [](const http::Request& r) -> std::optional<http::Response> {
        if (r.target != "/v1/revocations?since=1") return std::nullopt;
        return JsonResponse(200, R"({"since": 2, "sequence": 2})");
      });
  server_.ClearRequests();
  const RevocationList updated = Must(admin().GetRevocations(&held));
  EXPECT_EQ(Targets("/v1/revocations"),
            (std::vector<std::string>{"/v1/revocations?since=1",
                                      "/v1/revocations"}));
  EXPECT_EQ(updated.sequence(), 2);
  EXPECT_EQ(updated.ids().size(), 2u);
}

TEST_F(RevocationDeltaTest, ADeltaNotAskedForIsMalformed) {
  server_.SetInterceptor([](const http::Request&) {
    return std::optional<http::Response>(
        JsonResponse(200, R"({"since": 0, "sequence": 0})"));
  });
  auto list = admin().GetRevocations();
  ASSERT_FALSE(list.has_value());
  EXPECT_EQ(list.error().code(), Code::kMalformed);
}

TEST_F(RevocationDeltaTest, ADeltaNamingAnotherDomainIsRefused) {
  Revoke("a");
  const RevocationList held = Must(admin().GetRevocations());
  server_.SetInterceptor(
      [](const http::Request& r) -> std::optional<http::Response> {
        if (r.path != "/v1/revocation-lists") return std::nullopt;
        return JsonResponse(200, R"({"trust_domains": {"org-a.example":
            {"since": 1, "sequence": 2,
             "added": {"ids": ["spiffe://org-b.example/x"]}}}})");
      });
  auto lists = admin().GetRevocationLists(&held);
  ASSERT_FALSE(lists.has_value());
  EXPECT_EQ(lists.error().code(), Code::kMalformed);
}

}  // namespace
}  // namespace aztp::client_test

// The hosted SDK's API over a real ControlPlane (SQLite store in a
// temporary folder, fixed clock, no rate limit), called with the headers
// and bodies the hosted SDK sends: the fixture of the compat tests.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "aztp/compat/hosted_sdk.h"
#include "testing/control_plane_fixture.h"
#include "testing/temp_dir.h"

namespace aztp::compat {

inline constexpr UnixTime kNow = 1'800'000'000;
inline constexpr char kAgent[] =
    "aztp://org-a.example/workload/production/node/agent";
inline constexpr char kTool[] =
    "aztp://org-a.example/workload/production/node/tool";

class HostedSdkTest : public testing::Test {
 protected:
  void SetUp() override {
    auto init = test_support::InitializeTestStore(dir_.File("aztpd.db"),
                                                  "org-a.example", kNow - 3600);
    store_ = init.store;
    key_ = init.admin_api_key;
    cp_ = test_support::OpenTestControlPlane(store_, &clock_);
    api_ = std::make_unique<HostedSdkApi>(*cp_);
  }

  // Call sends what the hosted SDK sends: api_access_key and a JSON body.
  http::Response Call(const std::string& method, const std::string& route,
                      const std::string& body = "",
                      std::map<std::string, std::string> query = {},
                      const std::string& key = "") {
    http::Request r;
    r.method = method;
    r.path = "/astha/v1/" + route;
    r.target = r.path;
    r.query = std::move(query);
    r.body = body;
    r.headers["content-type"] = "application/json";
    std::string k = key.empty() ? key_ : key;
    if (k != "-") r.headers["api_access_key"] = k;
    return api_->Handle(r);
  }

  // Envelope parses an answer and checks its shape.
  Json Envelope(const http::Response& r) {
    auto j = ParseJson(r.body);
    EXPECT_TRUE(j.has_value()) << r.body;
    if (!j) return Json::object();
    EXPECT_TRUE(j->is_object()) << r.body;
    EXPECT_TRUE((*j)["success"].is_boolean()) << r.body;
    EXPECT_TRUE((*j)["message"].is_string()) << r.body;
    EXPECT_TRUE(j->contains("data")) << r.body;
    return *j;
  }
  std::string Code(const http::Response& r) {
    std::string m = Envelope(r).value("message", "");
    return m.substr(0, m.find(' '));
  }

  Json Issue(const std::string& name, const std::string& extra_meta = "",
             const std::string& extra = "") {
    std::string body =
        R"({"workloadId":")" + name +
        R"(","agentId":"aztp","timestamp":"2026-11-28T12:00:00+00:00",)"
        R"("isGlobalIdentity":false,"method":"node","metadata":{)"
        R"("hostname":"host-1","environment":"production","extra":{},)"
        R"("trustDomain":null,"parentIdentity":null)" +
        extra_meta + "}" + extra + "}";
    auto r = Call("POST", "aztp/issue-identity", body);
    EXPECT_EQ(r.status, 200) << r.body;
    return Envelope(r);
  }

  bool Verify(const std::string& id, std::string* code = nullptr) {
    auto r =
        Call("POST", "aztp/verify-identity", R"({"aztpId":")" + id + R"("})");
    EXPECT_EQ(r.status, 200) << r.body;
    if (code) *code = Code(r);
    return Envelope(r)["data"].value("valid", false);
  }

  test_support::TempDir dir_{"aztp_compat_"};
  FixedClock clock_{kNow};
  std::shared_ptr<Store> store_;
  std::unique_ptr<ControlPlane> cp_;
  std::unique_ptr<HostedSdkApi> api_;
  std::string key_;
};

}  // namespace aztp::compat

// The control plane's API driven directly through Handle(), with a real
// SQLite store in a temporary folder and a fixed clock: the fixture of the
// control_plane*_test.cc files.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "aztp/controlplane/control_plane.h"
#include "testing/control_plane_fixture.h"
#include "testing/temp_dir.h"

namespace aztp {

inline constexpr UnixTime kNow = 1'800'000'000;

// Get is a GET of `path` with API key `key` and the query parameters.
inline http::Request Get(const std::string& path, const std::string& key,
                         std::map<std::string, std::string> query = {}) {
  http::Request r;
  r.method = "GET";
  r.path = path;
  r.target = path;
  r.headers["authorization"] = "Bearer " + key;
  r.query = std::move(query);
  return r;
}

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto init = test_support::InitializeTestStore(dir_.File("aztpd.db"),
                                                  "org-a.example", kNow - 3600);
    store_ = init.store;
    admin_ = init.admin_api_key;
    Reopen(Options());
  }

  // Options are the test defaults: a fixed clock, no rate limit.
  ControlPlaneOptions Options() {
    return test_support::TestControlPlaneOptions(&clock_);
  }
  void Reopen(ControlPlaneOptions o) {
    cp_.reset();
    auto cp = ControlPlane::Open(store_, o);
    ASSERT_TRUE(cp.has_value()) << cp.error().message();
    cp_ = std::move(*cp);
  }

  http::Response Call(const std::string& method, const std::string& path,
                      const std::string& body = "",
                      const std::string& key = "") {
    return cp_->Handle(test_support::NativeRequest(method, path, body,
                                                   key.empty() ? admin_ : key));
  }
  Json Body(const http::Response& r) { return *ParseJson(r.body); }

  static std::string CsrJson() { return test_support::CsrJson(); }

  test_support::TempDir dir_{"aztp_cp_"};
  FixedClock clock_{kNow};
  std::shared_ptr<Store> store_;
  std::unique_ptr<ControlPlane> cp_;
  std::string admin_;
};

}  // namespace aztp

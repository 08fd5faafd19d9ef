// HostedSdkApi's dispatcher: the hosted routes call the services directly
// (no native request behind them), share the native API's rate limits and
// are counted in the request metrics under their hosted routes.
#include <gtest/gtest.h>

#include "aztp/compat/hosted_sdk.h"
#include "compat/hosted_sdk_fixture.h"

namespace aztp::compat {
namespace {

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(HostedSdkTest, RequestsAreCountedUnderTheirHostedRoute) {
  Issue("agent");
  ASSERT_EQ(Call("GET", "aztp/get-identity/agent").status, 200);
  EXPECT_EQ(Call("GET", "aztp/nothing").status, 404);
  const std::string m = cp_->metrics().Render();
  EXPECT_TRUE(Has(m,
                  "aztpd_requests_total{route=\"/astha/v1/aztp/"
                  "issue-identity\",status=\"200\"} 1\n"))
      << m;
  EXPECT_TRUE(Has(m,
                  "aztpd_requests_total{route=\"/astha/v1/aztp/get-identity/"
                  "{name}\",status=\"200\"} 1\n"))
      << m;
  EXPECT_TRUE(
      Has(m, "aztpd_requests_total{route=\"unmatched\",status=\"404\"} 1\n"))
      << m;
  EXPECT_TRUE(Has(m,
                  "aztpd_request_duration_seconds_count{route=\"/astha/v1/"
                  "aztp/issue-identity\"} 1\n"))
      << m;
  // The identity routes send no native request.
  EXPECT_FALSE(Has(m, "route=\"/v1/identities")) << m;
}

TEST_F(HostedSdkTest, HostedRequestsShareTheNativeRateLimits) {
  api_.reset();
  ControlPlaneOptions o = test_support::TestControlPlaneOptions(&clock_);
  o.rate_limit.requests_per_second = 0.001;
  o.rate_limit.burst = 2;
  cp_ = test_support::OpenTestControlPlane(store_, o);
  api_ = std::make_unique<HostedSdkApi>(*cp_);
  // One hosted request is one request of the key, whatever it does.
  Issue("agent");
  EXPECT_EQ(Call("GET", "aztp/get-identity/agent").status, 200);
  auto r = Call("GET", "aztp/get-identity/agent");
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(Code(r), "AZTP-REQ-E-002");
  EXPECT_TRUE(r.headers.empty());  // no Retry-After on the hosted routes
  // The native API draws on the same bucket.
  EXPECT_EQ(
      cp_->Handle(test_support::NativeRequest("GET", "/v1/flows", "", key_))
          .status,
      429);
  // A key that does not authenticate counts against the client's address.
  for (int i = 0; i < 2; ++i) {
    r = Call("GET", "identity-flow/health", "", {}, "aztp_nokey.secret");
    EXPECT_EQ(r.status, 401) << r.body;
  }
  r = Call("GET", "identity-flow/health", "", {}, "aztp_nokey.secret");
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(
      cp_->Handle(test_support::NativeRequest("GET", "/v1/flows", "", "bad"))
          .status,
      429);
  // Unknown routes and the 501 routes answer before any key is looked at.
  EXPECT_EQ(Call("GET", "aztp/nothing", "", {}, "aztp_nokey.secret").status,
            404);
  EXPECT_EQ(Call("POST", "oiap/evaluate", "{}", {}, "x").status, 501);
}

}  // namespace
}  // namespace aztp::compat

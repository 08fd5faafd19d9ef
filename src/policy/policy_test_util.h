// What the policy tests share: the context most cases are evaluated on and
// helpers to build requests and parse policies that must parse.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>
#include <string>
#include <utility>

#include "aztp/policy/policy.h"

namespace aztp::policy_test {

inline constexpr UnixTime kNow = 1'800'000'000;  // 2027-01-15T08:00:00Z
inline const char* kPlanner = "spiffe://org-a.example/agent/planner";
inline const char* kBroker = "spiffe://org-a.example/agent/broker";
inline const char* kResearch = "spiffe://org-a.example/agent/research";
inline const char* kPayments = "spiffe://org-b.example/tool/payments";

// BaseContext is the context of most cases: a chain planner -> broker ->
// research -> payments, plus request keys of every type.
inline PolicyContext BaseContext() {
  PolicyContext c;
  c.SetString("aztp:CallerId", kResearch);
  c.SetString("aztp:CallerTrustDomain", "org-a.example");
  c.SetString("aztp:OriginSubject", "oidc:https://idp.example#alice");
  c.SetString("aztp:OriginId", kPlanner);
  c.SetString("aztp:TargetId", kPayments);
  c.SetString("aztp:Txn", "txn-1");
  c.SetInteger("aztp:ChainDepth", 2);
  c.SetList("aztp:ChainPath", {kPlanner, kBroker, kResearch, kPayments});
  c.SetList("aztp:ChainTrustDomains", {"org-a.example", "org-b.example"});
  c.SetList("aztp:Capabilities", {"payments:refund", "payments:quote"});
  c.SetTime("aztp:CurrentTime", kNow);
  c.SetString("request:Currency", "EUR");
  c.SetList("request:Tags", {"urgent", "vip"});
  c.SetList("request:Empty", {});
  c.SetInteger("request:Amount", 250);
  c.SetDouble("request:Ratio", 0.5);
  c.SetInteger("request:Big", 9007199254740993);  // 2^53 + 1
  c.SetDouble("request:NaN", std::numeric_limits<double>::quiet_NaN());
  c.SetBool("request:Flag", true);
  c.SetTime("request:When", 1'700'000'000);  // 2023-11-14T22:13:20Z
  return c;
}

inline PolicyRequest Request(std::string action, std::string resource = "*") {
  PolicyRequest r;
  r.action = std::move(action);
  r.resource = std::move(resource);
  r.context = BaseContext();
  return r;
}

inline Policy MustParse(const std::string& text) {
  auto p = ParsePolicy(text);
  EXPECT_TRUE(p.has_value()) << text << "\n" << p.error().message();
  if (!p) std::abort();
  return std::move(p).value();
}

}  // namespace aztp::policy_test

// The route table (route_table.h): how patterns match, and a walk over
// every route of a real control plane proving that each declares a
// permission and that the dispatcher enforces it before the handler runs.
#include "route_table.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "api.h"
#include "aztp/compat/hosted_sdk.h"
#include "aztp/controlplane/control_plane.h"
#include "testing/control_plane_fixture.h"
#include "testing/temp_dir.h"

namespace aztp::internal {
namespace {

using services::Permission;

http::Request Req(std::string method, std::string path,
                  std::map<std::string, std::string> query = {}) {
  http::Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.query = std::move(query);
  return r;
}

RouteTable Table(std::initializer_list<const char*> patterns) {
  RouteTable t;
  for (const char* p : patterns) {
    t.Add({"GET", p, Permission::kAdmin, "no",
           [p](RouteCall&) -> Result<Json> { return Json(p); }});
  }
  return t;
}

std::string Found(const RouteTable& t, const http::Request& r) {
  auto m = t.Find(r);
  if (!m) return "none";
  return std::string(m->route->pattern) + " [" + m->param + "]";
}

TEST(RouteTableTest, LiteralPathsMatchExactly) {
  auto t = Table({"/v1/apikeys"});
  EXPECT_EQ(Found(t, Req("GET", "/v1/apikeys")), "/v1/apikeys []");
  EXPECT_EQ(Found(t, Req("GET", "/v1/apikeys/")), "none");
  EXPECT_EQ(Found(t, Req("GET", "/v1/apikey")), "none");
  EXPECT_EQ(Found(t, Req("POST", "/v1/apikeys")), "none");
}

TEST(RouteTableTest, OneSegmentParameterTakesNoSlash) {
  auto t = Table({"/v1/apikeys/{key_id}:revoke"});
  EXPECT_EQ(Found(t, Req("GET", "/v1/apikeys/ab12:revoke")),
            "/v1/apikeys/{key_id}:revoke [ab12]");
  EXPECT_EQ(Found(t, Req("GET", "/v1/apikeys/a/b:revoke")), "none");
  EXPECT_EQ(Found(t, Req("GET", "/v1/apikeys/:revoke")), "none");
  EXPECT_EQ(Found(t, Req("GET", "/v1/apikeys/ab12:revokes")), "none");
}

TEST(RouteTableTest, RestParameterTakesSlashes) {
  auto t = Table({"/v1/identities/{id+}", "/v1/identities/{id+}:link"});
  EXPECT_EQ(Found(t, Req("GET", "/v1/identities/td.example/a/b")),
            "/v1/identities/{id+} [td.example/a/b]");
  EXPECT_EQ(Found(t, Req("GET", "/v1/identities/td.example/a:link")),
            "/v1/identities/{id+}:link [td.example/a]");
  EXPECT_EQ(Found(t, Req("GET", "/v1/identities/")), "none");
}

TEST(RouteTableTest, MostLiteralBytesWin) {
  // Policy IDs hold a colon: the action route must still take its suffix.
  auto t = Table({"/v1/policies/{id}", "/v1/policies/{id}:attach"});
  EXPECT_EQ(Found(t, Req("GET", "/v1/policies/policy:1a2b:attach")),
            "/v1/policies/{id}:attach [policy:1a2b]");
  EXPECT_EQ(Found(t, Req("GET", "/v1/policies/policy:1a2b")),
            "/v1/policies/{id} [policy:1a2b]");
}

TEST(RouteTableTest, QueryParameterSelectsTheRoute) {
  auto t = Table({"/v1/bundles", "/v1/bundles?for"});
  EXPECT_EQ(Found(t, Req("GET", "/v1/bundles")), "/v1/bundles []");
  EXPECT_EQ(Found(t, Req("GET", "/v1/bundles", {{"for", "x"}})),
            "/v1/bundles?for []");
  EXPECT_EQ(Found(t, Req("GET", "/v1/bundles", {{"fo", "x"}})),
            "/v1/bundles []");
}

TEST(RouteTableTest, LabelsDropRestMarksAndQueries) {
  EXPECT_EQ(RouteLabel("/v1/identities/{id+}:link"),
            "/v1/identities/{id}:link");
  EXPECT_EQ(RouteLabel("/v1/bundles?for"), "/v1/bundles");
  EXPECT_EQ(RouteLabel("/v1/ca:rotate"), "/v1/ca:rotate");
}

constexpr UnixTime kNow = 1'800'000'000;
constexpr char kPayments[] = "spiffe://org-a.example/tools/payments";
constexpr char kCaller[] = "spiffe://org-a.example/tools/caller";

// The walk: one control plane, four kinds of caller.
class RouteWalkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto init = test_support::InitializeTestStore(dir_.File("aztpd.db"),
                                                  "org-a.example", kNow - 3600);
    admin_ = init.admin_api_key;
    cp_ = test_support::OpenTestControlPlane(init.store, &clock_);
    http::Response r;
    for (const char* id : {kPayments, kCaller}) {
      r = cp_->Handle(test_support::NativeRequest(
          "POST", "/v1/identities", R"({"id":")" + std::string(id) + "\"}",
          admin_));
      ASSERT_EQ(r.status, 201) << r.body;
    }
    r = cp_->Handle(test_support::NativeRequest(
        "POST", "/v1/apikeys", R"({"scope":"/tools"})", admin_));
    ASSERT_EQ(r.status, 201) << r.body;
    scoped_ = ParseJson(r.body)->value("api_key", "");
  }

  enum class Caller { kAnonymous, kSvid, kScopedKey, kAdmin };

  // Concrete is a request for `route` by `caller`, its parameter filled in
  // with a value of the right shape.
  http::Request Concrete(const Route& route, Caller caller) const {
    std::string path(route.pattern.substr(0, route.pattern.find('?')));
    if (auto open = path.find('{'); open != std::string::npos) {
      const auto close = path.find('}', open);
      const std::string name = path.substr(open + 1, close - open - 1);
      const bool policy = path.starts_with("/v1/policies/");
      const std::string value = name == "id+"  ? "org-a.example/tools/payments"
                                : name == "td" ? "org-b.example"
                                : name == "key_id" ? "0000000000000000"
                                : policy           ? "policy:000000000000"
                                         : "flow_000000000000000000000000";
      path.replace(open, close - open + 1, value);
    }
    const std::string key = caller == Caller::kAdmin       ? admin_
                            : caller == Caller::kScopedKey ? scoped_
                                                           : "-";
    http::Request r =
        test_support::NativeRequest(std::string(route.method), path, "{}", key);
    if (auto q = route.pattern.find('?'); q != std::string_view::npos) {
      r.query[std::string(route.pattern.substr(q + 1))] = kPayments;
    }
    // The SVID is another identity's: the walk revokes kPayments.
    if (caller == Caller::kSvid) r.peer = *SpiffeId::Parse(kCaller);
    return r;
  }

  static bool Holds(Caller c, Permission p) {
    switch (p) {
      case Permission::kPublic:
        return true;
      case Permission::kAuthenticated:
        return c != Caller::kAnonymous;
      case Permission::kApiKey:
        return c == Caller::kScopedKey || c == Caller::kAdmin;
      case Permission::kAdmin:
        return c == Caller::kAdmin;
      case Permission::kWorkloadSvid:
        return c == Caller::kSvid;
    }
    return false;
  }

  test_support::TempDir dir_{"aztp_routes_"};
  FixedClock clock_{kNow};
  std::unique_ptr<ControlPlane> cp_;
  std::string admin_;
  std::string scoped_;
};

// Only these routes answer without credentials (docs/aztpd.md); a route
// added as public by mistake fails here.
const std::set<std::string> kPublicRoutes = {
    "GET /healthz", "GET /readyz", "GET /metrics", "GET /v1/bundle",
    "GET /v1/bundles", "GET /v1/revocations", "GET /v1/revocation-lists",
    // where providers send browsers
    "GET /v1/oidc/callback"};

TEST_F(RouteWalkTest, EveryRouteDeclaresItsPermissionOnce) {
  std::set<std::string> seen;
  std::set<std::string> public_routes;
  for (const Route& route : cp_->routes().routes()) {
    const std::string name =
        std::string(route.method) + " " + std::string(route.pattern);
    EXPECT_TRUE(seen.insert(name).second) << name << " is declared twice";
    EXPECT_TRUE(route.handler) << name;
    if (route.permission == Permission::kPublic) public_routes.insert(name);
    // A permission some callers lack needs the message they are told.
    const bool all_authenticated_hold =
        route.permission == Permission::kPublic ||
        route.permission == Permission::kAuthenticated;
    EXPECT_EQ(route.denial.empty(), all_authenticated_hold) << name;
  }
  EXPECT_EQ(public_routes, kPublicRoutes);
  EXPECT_GE(seen.size(), 40u);
}

TEST_F(RouteWalkTest, EveryPermissionIsEnforcedBeforeTheHandler) {
  int refused = 0;
  int passed = 0;
  for (const Route& route : cp_->routes().routes()) {
    for (Caller caller : {Caller::kAnonymous, Caller::kSvid, Caller::kScopedKey,
                          Caller::kAdmin}) {
      SCOPED_TRACE(std::string(route.method) + " " +
                   std::string(route.pattern) + " caller " +
                   std::to_string(static_cast<int>(caller)));
      http::Response got = cp_->Handle(Concrete(route, caller));
      auto body = ParseJson(got.body);
      const std::string message =
          body && body->is_object() ? body->value("message", "") : "";
      if (!Holds(caller, route.permission)) {
        ++refused;
        if (caller == Caller::kAnonymous) {
          EXPECT_EQ(got.status, 401) << got.body;
        } else {
          EXPECT_EQ(got.status, 403) << got.body;
          EXPECT_EQ(message, route.denial);
        }
        continue;
      }
      ++passed;
      // Past authorization: whatever the handler answers (400 for the
      // placeholder body, 404 for an unknown ID, a resource's own 403), it
      // is not the route's refusal.
      EXPECT_NE(got.status, 401) << got.body;
      EXPECT_NE(got.status, 404 * (message == "no such route")) << got.body;
      if (got.status == 403) {
        EXPECT_NE(message, route.denial) << got.body;
      }
    }
  }
  EXPECT_GT(refused, 60);
  EXPECT_GT(passed, 60);
}

// The hosted SDK's routes (docs/compat.md) are declared in a table of the
// same kind: each with its permission, every one needing a caller.
TEST_F(RouteWalkTest, EveryHostedRouteDeclaresItsPermissionOnce) {
  compat::HostedSdkApi hosted(*cp_);
  std::set<std::string> seen;
  for (const Route& route : hosted.routes().routes()) {
    const std::string name =
        std::string(route.method) + " " + std::string(route.pattern);
    EXPECT_TRUE(seen.insert(name).second) << name << " is declared twice";
    EXPECT_TRUE(route.pattern.starts_with(compat::kHostedPrefix)) << name;
    EXPECT_TRUE(route.handler) << name;
    EXPECT_NE(route.permission, Permission::kPublic) << name;
    EXPECT_EQ(route.denial.empty(),
              route.permission == Permission::kAuthenticated)
        << name;
  }
  EXPECT_GE(seen.size(), 20u);
}

// The walk over the hosted routes: only the api_access_key header
// authenticates there (an SVID alone is refused as no credentials), and the
// declared permission is enforced before the route runs.
TEST_F(RouteWalkTest, EveryHostedPermissionIsEnforcedBeforeTheHandler) {
  compat::HostedSdkApi hosted(*cp_);
  int refused = 0;
  int passed = 0;
  for (const Route& route : hosted.routes().routes()) {
    for (Caller caller : {Caller::kAnonymous, Caller::kSvid, Caller::kScopedKey,
                          Caller::kAdmin}) {
      SCOPED_TRACE(std::string(route.method) + " " +
                   std::string(route.pattern) + " caller " +
                   std::to_string(static_cast<int>(caller)));
      http::Request r = Concrete(route, caller);
      r.headers.erase("authorization");
      if (caller == Caller::kAdmin || caller == Caller::kScopedKey) {
        r.headers["api_access_key"] =
            caller == Caller::kAdmin ? admin_ : scoped_;
      }
      http::Response got = hosted.Handle(r);
      auto body = ParseJson(got.body);
      ASSERT_TRUE(body && body->is_object()) << got.body;
      const std::string message = body->value("message", "");
      const bool keyed =
          caller == Caller::kAdmin || caller == Caller::kScopedKey;
      if (!keyed || !Holds(caller, route.permission)) {
        ++refused;
        if (!keyed) {
          EXPECT_EQ(got.status, 401) << got.body;
          EXPECT_EQ(message.substr(0, 16), "AZTP-AUTH-E-001 ");
        } else {
          EXPECT_EQ(got.status, 403) << got.body;
          EXPECT_EQ(message, "AZTP-AUTH-E-002 - " + std::string(route.denial));
        }
        continue;
      }
      ++passed;
      EXPECT_NE(got.status, 401) << got.body;
      EXPECT_EQ(message.find("AZTP-API-E-404"), std::string::npos) << got.body;
      if (got.status == 403) {
        EXPECT_NE(message, "AZTP-AUTH-E-002 - " + std::string(route.denial))
            << got.body;
      }
    }
  }
  EXPECT_GE(refused, 40);
  EXPECT_GE(passed, 40);
}

}  // namespace
}  // namespace aztp::internal

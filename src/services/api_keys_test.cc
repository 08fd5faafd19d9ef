// API keys and the authenticator, called directly.
#include "aztp/services/api_keys.h"

#include <gtest/gtest.h>

#include "aztp/services/identities.h"
#include "services_fixture.h"

namespace aztp::services {
namespace {

std::string Text(const SecretBytes& s) {
  return std::string(s.View(InsecureSecretAccess::Get()));
}

class ApiKeyServiceTest : public ServiceTest {
 protected:
  ApiKeyService keys_{ctx_};
  Authenticator auth_{ctx_};
};

TEST_F(ApiKeyServiceTest, ACreatedKeyAuthenticatesAsItsScope) {
  auto key = keys_.Create(admin_, NewApiKey{"/tools/", "ci"});
  ASSERT_TRUE(key.has_value()) << key.error().message();
  EXPECT_EQ(key->record.scope, "/tools");  // stored normalised
  const std::string text = Text(key->key);
  EXPECT_EQ(text.rfind("aztp_" + key->record.key_id + ".", 0), 0u);
  // Only a salted hash is stored, never the secret.
  EXPECT_EQ(text.find(key->record.hash), std::string::npos);
  auto who = auth_.Key(key->key);
  ASSERT_TRUE(who.has_value()) << who.error().message();
  EXPECT_FALSE(who->admin());
  EXPECT_EQ(who->actor(), "apikey:" + key->record.key_id);
  EXPECT_TRUE(
      who->MayManage(*SpiffeId::Parse("spiffe://org-a.example/tools/x")));
  EXPECT_FALSE(
      who->MayManage(*SpiffeId::Parse("spiffe://org-a.example/toolsx")));
  auto audit = Audit();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].action, "apikey.create");
  EXPECT_EQ(audit[0].details["scope"], "/tools");
}

TEST_F(ApiKeyServiceTest, RevokedWrongAndMalformedKeysAuthenticateNothing) {
  auto key = keys_.Create(admin_, NewApiKey{"admin", ""});
  ASSERT_TRUE(key.has_value());
  ASSERT_TRUE(auth_.Key(key->key).has_value());
  std::string wrong = Text(key->key);
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  for (const std::string& bad :
       {wrong, std::string("aztp_nodot"), std::string("Bearer x"),
        std::string("aztp_ffffffffffffffff.secret"), std::string()}) {
    auto who = auth_.Key(SecretBytes(bad));
    ASSERT_FALSE(who.has_value());
    EXPECT_EQ(who.error().code(), Code::kUnauthenticated);
    // The presented secret is never echoed.
    if (bad.size() > 8) {
      EXPECT_EQ(who.error().message().find(bad.substr(6)), std::string::npos);
    }
  }
  ASSERT_TRUE(keys_.Revoke(admin_, key->record.key_id));
  EXPECT_EQ(auth_.Key(key->key).error().code(), Code::kUnauthenticated);
  EXPECT_EQ(keys_.Revoke(admin_, "0000").error().code(), Code::kNotFound);
}

TEST_F(ApiKeyServiceTest, OnlyAdminsManageKeys) {
  auto scoped = Scoped("/tools");
  EXPECT_EQ(keys_.Create(scoped, NewApiKey{"/tools/x", ""}).error().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(keys_.List(scoped).error().code(), Code::kPermissionDenied);
  EXPECT_EQ(keys_
                .Revoke(Principal::Workload(
                            *SpiffeId::Parse("spiffe://org-a.example/a")),
                        "0000")
                .error()
                .code(),
            Code::kPermissionDenied);
  EXPECT_TRUE(Audit().empty());
}

TEST_F(ApiKeyServiceTest, ScopesAreSpiffePathsAndDescriptionsAreBounded) {
  for (const char* bad : {"tools", "/a//b", "/a/../b", "/a b", ""}) {
    auto r = keys_.Create(admin_, NewApiKey{bad, ""});
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(keys_.Create(admin_, NewApiKey{"/a", std::string(1025, 'd')})
                .error()
                .code(),
            Code::kInvalidArgument);
  auto whole = keys_.Create(admin_, NewApiKey{"/", ""});
  ASSERT_TRUE(whole.has_value());
  EXPECT_EQ(whole->record.scope, "/");
}

TEST_F(ApiKeyServiceTest,
       WorkloadsOfOtherDomainsOrRevokedIdentitiesAreRefused) {
  IdentityService identities(ctx_);
  const auto id = *SpiffeId::Parse("spiffe://org-a.example/agents/a");
  ASSERT_TRUE(identities.Register(admin_, NewIdentity{id}));
  auto who = auth_.Workload(id);
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->svid(), std::optional<SpiffeId>(id));
  EXPECT_TRUE(who->Has(Permission::kWorkloadSvid));
  EXPECT_FALSE(who->Has(Permission::kApiKey));
  EXPECT_EQ(auth_.Workload(*SpiffeId::Parse("spiffe://org-b.example/agents/a"))
                .error()
                .code(),
            Code::kUnauthenticated);
  ASSERT_TRUE(identities.Revoke(admin_, id, ""));
  EXPECT_EQ(auth_.Workload(id).error().code(), Code::kRevoked);
}

TEST(PrincipalTest, PermissionsOfEachKindOfCaller) {
  const auto td = *TrustDomain::Parse("org-a.example");
  const auto admin = Principal::AdminKey("a");
  const auto scoped = Principal::ScopedKey("s", *ParseScope(td, "/x"));
  const auto broken = Principal::ScopedKey("b", std::nullopt);
  const auto svid =
      Principal::Workload(*SpiffeId::Parse("spiffe://org-a.example/x"));
  struct Row {
    Permission p;
    bool admin, scoped, svid;
  };
  for (const Row& r : {Row{Permission::kPublic, true, true, true},
                       Row{Permission::kAuthenticated, true, true, true},
                       Row{Permission::kApiKey, true, true, false},
                       Row{Permission::kAdmin, true, false, false},
                       Row{Permission::kWorkloadSvid, false, false, true}}) {
    SCOPED_TRACE(std::string(PermissionName(r.p)));
    EXPECT_EQ(admin.Has(r.p), r.admin);
    EXPECT_EQ(scoped.Has(r.p), r.scoped);
    EXPECT_EQ(svid.Has(r.p), r.svid);
  }
  const auto x = *SpiffeId::Parse("spiffe://org-a.example/x");
  EXPECT_FALSE(broken.MayManage(x));
  EXPECT_TRUE(svid.MayObtainSvid(x));
  EXPECT_FALSE(svid.MayManage(x));
  EXPECT_FALSE(
      svid.MayObtainSvid(*SpiffeId::Parse("spiffe://org-a.example/y")));
  EXPECT_EQ(
      Require(scoped, Permission::kAdmin, "needs admin").error().message(),
      "needs admin");
}

}  // namespace
}  // namespace aztp::services

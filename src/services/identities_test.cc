// IdentityService, called directly: typed requests, typed answers, the
// stable reasons, and one audit record per mutation.
#include "aztp/services/identities.h"

#include <gtest/gtest.h>

#include "aztp/services/api_keys.h"
#include "services_fixture.h"

namespace aztp::services {
namespace {

constexpr char kPay[] = "spiffe://org-a.example/tools/payments";
constexpr char kQuote[] = "spiffe://org-a.example/tools/payments/quotes";
constexpr char kOther[] = "spiffe://org-a.example/agents/other";

class IdentityServiceTest : public ServiceTest {
 protected:
  IdentityRecord Register(const std::string& id) {
    auto r = identities_.Register(admin_, NewIdentity{Id(id)});
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message());
    return r ? *r : IdentityRecord{};
  }
  IdentityService identities_{ctx_};
};

TEST_F(IdentityServiceTest, RegisterStoresTheRecordAndItsAudit) {
  NewIdentity n{Id(kQuote)};
  n.parent = Id(kPay);
  n.discoverable = true;
  n.selectors = {"unix:uid:1000"};
  n.federates_with =
      std::vector<TrustDomain>{*TrustDomain::Parse("org-c.example"),
                               *TrustDomain::Parse("org-b.example")};
  Register(kPay);
  auto r = identities_.Register(Scoped("/tools/payments"), n);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->id, kQuote);
  EXPECT_EQ(r->parent, std::optional<std::string>(kPay));
  EXPECT_EQ(ToString(r->status), "active");
  EXPECT_EQ(r->created_at, kServiceTestNow);
  // Stored sorted and unique.
  EXPECT_EQ(*r->federates_with,
            (std::vector<std::string>{"org-b.example", "org-c.example"}));
  auto got = identities_.Get(admin_, Id(kQuote));
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->links.size(), 1u);
  EXPECT_EQ(got->links[0].from, kPay);
  EXPECT_EQ(ToString(got->links[0].kind), "parent");
  auto audit = Audit();
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[1].action, "identity.register");
  EXPECT_EQ(audit[1].actor, "apikey:k-/tools/payments");
  EXPECT_EQ(audit[1].subject, kQuote);
}

TEST_F(IdentityServiceTest, RegisterRefusesWhatTheCallerMayNotManage) {
  auto r =
      identities_.Register(Scoped("/tools/payments"), NewIdentity{Id(kOther)});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kPermissionDenied);
  // A parent outside the scope is refused too: a link binds both ends.
  Register(kOther);
  NewIdentity n{Id(kQuote)};
  n.parent = Id(kOther);
  r = identities_.Register(Scoped("/tools/payments"), n);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kPermissionDenied);
  EXPECT_NE(r.error().message().find("both identities"), std::string::npos);
  // An SVID manages nothing.
  r = identities_.Register(Principal::Workload(Id(kPay)),
                           NewIdentity{Id(kQuote)});
  EXPECT_EQ(r.error().code(), Code::kPermissionDenied);
  EXPECT_EQ(Audit().size(), 1u);  // only kOther's registration
}

TEST_F(IdentityServiceTest, RegisterValidatesItsRequest) {
  struct Case {
    const char* what;
    NewIdentity request;
  };
  NewIdentity foreign{Id("spiffe://org-b.example/x")};
  NewIdentity domain{Id("spiffe://org-a.example")};
  NewIdentity own{Id(kPay)};
  own.federates_with = std::vector<TrustDomain>{ctx_.trust_domain};
  NewIdentity selectors{Id(kPay)};
  selectors.selectors.assign(65, "s");
  NewIdentity long_selector{Id(kPay)};
  long_selector.selectors = {std::string(257, 's')};
  NewIdentity metadata{Id(kPay)};
  metadata.metadata = Json::array();
  for (auto& c : std::vector<Case>{{"foreign", foreign},
                                   {"domain", domain},
                                   {"own domain", own},
                                   {"65 selectors", selectors},
                                   {"long selector", long_selector},
                                   {"metadata", metadata}}) {
    auto r = identities_.Register(admin_, c.request);
    ASSERT_FALSE(r.has_value()) << c.what;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << c.what;
  }
  EXPECT_TRUE(Audit().empty());
}

// aztpd's own ID is its server SVID's, which federation peers trust as the
// bundle endpoint: an admin cannot register it for a workload.
TEST_F(IdentityServiceTest, NobodyRegistersTheControlPlanesOwnId) {
  auto r = identities_.Register(
      admin_, NewIdentity{Id("spiffe://org-a.example/aztpd")});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_NE(r.error().message().find("aztpd's own identity"),
            std::string::npos);
  // Below it is an ordinary path.
  Register("spiffe://org-a.example/aztpd/helper");
}

// The ways to write aztpd's ID another way: each either does not parse as
// an ID or is the same ID, and refused.
TEST_F(IdentityServiceTest, NoAliasOfTheControlPlanesIdGetsThrough) {
  for (const char* text :
       {"aztp://org-a.example/aztpd", "spiffe://ORG-A.example/aztpd",
        "SPIFFE://org-a.example/aztpd", "spiffe://org-a.example/aztpd/",
        "spiffe://org-a.example//aztpd", "spiffe://org-a.example/./aztpd",
        "spiffe://org-a.example/%61ztpd", "spiffe://org-a.example:443/aztpd",
        "spiffe://user@org-a.example/aztpd", "spiffe://org-a.example/aztpd?x",
        "spiffe://org-a.example/aztpd#x", "spiffe://org-a.example./aztpd"}) {
    auto id = SpiffeId::ParseUserInput(text);
    if (!id) continue;
    auto r = identities_.Register(admin_, NewIdentity{*id});
    ASSERT_FALSE(r.has_value()) << text << " registered as " << id->str();
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << text;
  }
}

TEST_F(IdentityServiceTest, RegisteringTwiceIsAlreadyExists) {
  Register(kPay);
  auto r = identities_.Register(admin_, NewIdentity{Id(kPay)});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kAlreadyExists);
  EXPECT_EQ(Audit().size(), 1u);
}

TEST_F(IdentityServiceTest, ListShowsAScopedKeyItsScopeOnly) {
  for (const char* id : {kPay, kQuote, kOther}) Register(id);
  auto page = identities_.List(Scoped("/tools/payments"), IdentityQuery{});
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->identities.size(), 2u);
  EXPECT_EQ(page->identities[0].id, kPay);
  EXPECT_EQ(page->identities[1].id, kQuote);
  page = identities_.List(Principal::Workload(Id(kPay)), IdentityQuery{});
  ASSERT_TRUE(page.has_value());
  EXPECT_TRUE(page->identities.empty());
  IdentityQuery two;
  two.limit = 2;
  page = identities_.List(admin_, two);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->next, kPay);  // ordered by ID: agents/other, tools/payments
  IdentityQuery bad;
  bad.status = "gone";
  EXPECT_EQ(identities_.List(admin_, bad).error().code(),
            Code::kInvalidArgument);
}

TEST_F(IdentityServiceTest, ScopedKeysMayNotUndoAnAdminsRevocation) {
  Register(kPay);
  // Real keys: who revoked is read back from the key's stored scope.
  ApiKeyService keys(ctx_);
  Authenticator auth(ctx_);
  auto admin_key = keys.Create(admin_, NewApiKey{"admin", ""});
  auto scoped_key = keys.Create(admin_, NewApiKey{"/tools", ""});
  ASSERT_TRUE(admin_key && scoped_key);
  const Principal admin = *auth.Key(admin_key->key);
  const Principal scoped = *auth.Key(scoped_key->key);
  ASSERT_TRUE(identities_.Revoke(admin, Id(kPay), "compromised"));
  auto r = identities_.Reissue(scoped, Id(kPay), "");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kPermissionDenied);
  r = identities_.Reissue(admin, Id(kPay), "");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(ToString(r->status), "active");
  // A scoped key's own revocation it may undo.
  ASSERT_TRUE(identities_.Revoke(scoped, Id(kPay), "rotating"));
  r = identities_.Reissue(scoped, Id(kPay), "");
  ASSERT_TRUE(r.has_value());
  auto audit = Audit();
  ASSERT_EQ(audit.size(), 7u);  // register, two keys, four changes
  EXPECT_EQ(audit[3].action, "identity.revoke");
  EXPECT_EQ(audit[3].reason, "compromised");
  EXPECT_EQ(audit[3].details["revocation_sequence"], 1);
  EXPECT_EQ(audit[6].details["revocation_sequence"], 4);
}

TEST_F(IdentityServiceTest, RevokingNeedsARegisteredIdentityAndAShortReason) {
  EXPECT_EQ(identities_.Revoke(admin_, Id(kPay), "").error().code(),
            Code::kNotFound);
  Register(kPay);
  EXPECT_EQ(identities_.Revoke(admin_, Id(kPay), std::string(1025, 'r'))
                .error()
                .code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Audit().size(), 1u);
}

TEST_F(IdentityServiceTest, ScopedKeysMayOnlyNarrowFederatesWith) {
  Register(kPay);
  auto b = *TrustDomain::Parse("org-b.example");
  auto c = *TrustDomain::Parse("org-c.example");
  auto scoped = Scoped("/tools");
  ASSERT_TRUE(identities_.SetFederatesWith(scoped, Id(kPay),
                                           std::vector<TrustDomain>{b, c}));
  ASSERT_TRUE(identities_.SetFederatesWith(scoped, Id(kPay),
                                           std::vector<TrustDomain>{b}));
  auto widen = identities_.SetFederatesWith(scoped, Id(kPay),
                                            std::vector<TrustDomain>{b, c});
  ASSERT_FALSE(widen.has_value());
  EXPECT_EQ(widen.error().code(), Code::kPermissionDenied);
  EXPECT_EQ(identities_.SetFederatesWith(scoped, Id(kPay), std::nullopt)
                .error()
                .code(),
            Code::kPermissionDenied);
  auto r = identities_.SetFederatesWith(admin_, Id(kPay), std::nullopt);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->federates_with.has_value());
}

TEST_F(IdentityServiceTest, LinksNeedBothEndsRegisteredAndManaged) {
  Register(kPay);
  Register(kOther);
  auto scoped = Scoped("/tools");
  EXPECT_EQ(
      identities_.Link(scoped, NewLink{Id(kPay), Id(kOther)}).error().code(),
      Code::kPermissionDenied);
  EXPECT_EQ(
      identities_.Link(admin_, NewLink{Id(kPay), Id(kQuote)}).error().code(),
      Code::kNotFound);
  EXPECT_EQ(
      identities_.Link(admin_, NewLink{Id(kPay), Id(kPay)}).error().code(),
      Code::kInvalidArgument);
  NewLink odd{Id(kPay), Id(kOther)};
  odd.kind = "friend";
  EXPECT_EQ(identities_.Link(admin_, odd).error().code(),
            Code::kInvalidArgument);
  auto link = identities_.Link(admin_, NewLink{Id(kPay), Id(kOther)});
  ASSERT_TRUE(link.has_value());
  EXPECT_EQ(ToString(link->kind), "linked");
  auto got = identities_.Get(admin_, Id(kOther));
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->links.size(), 1u);
  EXPECT_EQ(got->links[0].to, kOther);
}

TEST_F(IdentityServiceTest, DiscoverListsActiveDiscoverableIdentitiesOnly) {
  NewIdentity shown{Id(kPay)};
  shown.discoverable = true;
  NewIdentity revoked{Id(kQuote)};
  revoked.discoverable = true;
  ASSERT_TRUE(identities_.Register(admin_, shown));
  ASSERT_TRUE(identities_.Register(admin_, revoked));
  Register(kOther);
  ASSERT_TRUE(identities_.Revoke(admin_, Id(kQuote), ""));
  auto page = identities_.Discover(IdentityQuery{});
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->identities.size(), 1u);
  EXPECT_EQ(page->identities[0].id, kPay);
}

}  // namespace
}  // namespace aztp::services

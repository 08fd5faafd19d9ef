// PolicyService, called directly: typed policies and decisions, the stable
// reasons, who may do what, and one audit record per mutation and per
// decision.
#include "aztp/services/policies.h"

#include <gtest/gtest.h>

#include "aztp/services/identities.h"
#include "services_fixture.h"

namespace aztp::services {
namespace {

constexpr char kPay[] = "spiffe://org-a.example/tools/payments";
constexpr char kOther[] = "spiffe://org-a.example/agents/other";

constexpr char kQuotesAndNoRefunds[] = R"({"Statement":[
    {"Sid":"Quotes","Effect":"Allow","Action":"payments:quote",
     "Condition":{"StringEquals":{"aztp:CallerTrustDomain":"org-b.example"}}},
    {"Sid":"NoRefunds","Effect":"Deny","Action":"payments:refund"}]})";

Policy Parsed(const char* text) {
  auto p = ParsePolicy(text);
  EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().message());
  return p ? *p
           : *ParsePolicy(R"({"Statement":{"Effect":"Deny","Action":"*"}})");
}

class PolicyServiceTest : public ServiceTest {
 protected:
  void SetUp() override {
    for (const char* id : {kPay, kOther}) {
      ASSERT_TRUE(IdentityService(ctx_).Register(admin_, NewIdentity{Id(id)}));
    }
  }
  PolicyRecord Create(const char* name, const char* document) {
    auto r = policies_.Create(admin_, NewPolicy{name, "", Parsed(document)});
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message());
    return r ? *r : PolicyRecord{};
  }
  AuthorizeRequest Ask(const std::string& action, const char* caller_td) {
    AuthorizeRequest r{Id(kPay), action};
    r.context.SetString("aztp:CallerTrustDomain", caller_td);
    return r;
  }
  // Actions is the audit trail as "action decision subject".
  std::vector<std::string> Actions() {
    std::vector<std::string> out;
    for (const auto& a : Audit()) {
      if (a.action.starts_with("policy.")) {
        out.push_back(a.action + " " + a.decision + " " + a.subject);
      }
    }
    return out;
  }

  PolicyService policies_{ctx_};
};

TEST_F(PolicyServiceTest, CreateStoresTheCanonicalDocumentAndItsAudit) {
  PolicyRecord r = Create("payments", kQuotesAndNoRefunds);
  EXPECT_TRUE(r.id.starts_with("policy:"));
  EXPECT_EQ(r.id.size(), 19u);
  EXPECT_EQ(r.version, 1);
  EXPECT_EQ(r.created_at, kServiceTestNow);
  // Canonical form: Action as an array.
  EXPECT_NE(r.document.find(R"("Action":["payments:quote"])"),
            std::string::npos)
      << r.document;
  auto listed = policies_.List(admin_);
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].document, r.document);
  auto audit = Audit();
  ASSERT_EQ(audit.back().action, "policy.create");
  EXPECT_EQ(audit.back().subject, r.id);
  EXPECT_EQ(audit.back().actor, "apikey:admin");
  EXPECT_EQ(audit.back().details["name"], "payments");
  // Names are unique.
  auto again = policies_.Create(
      admin_, NewPolicy{"payments", "", Parsed(kQuotesAndNoRefunds)});
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), Code::kAlreadyExists);
}

TEST_F(PolicyServiceTest, CreateValidatesNameAndDescription) {
  struct Case {
    const char* what;
    std::string name;
    std::string description;
  };
  for (const Case& c :
       std::vector<Case>{{"no name", "", ""},
                         {"long name", std::string(129, 'n'), ""},
                         {"long description", "p", std::string(1025, 'd')}}) {
    auto r = policies_.Create(
        admin_, NewPolicy{c.name, c.description, Parsed(kQuotesAndNoRefunds)});
    ASSERT_FALSE(r.has_value()) << c.what;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << c.what;
  }
  EXPECT_TRUE(Actions().empty());
}

TEST_F(PolicyServiceTest, ManagingPoliciesNeedsAnAdminKey) {
  PolicyRecord r = Create("payments", kQuotesAndNoRefunds);
  auto denied = [](const auto& result, const char* message) {
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code(), Code::kPermissionDenied);
    EXPECT_EQ(result.error().message(), message);
  };
  const char* admin = "policies need an admin key";
  const char* attach = "attaching and detaching policies needs an admin key";
  for (const Principal& who : {Scoped("/"), Principal::Workload(Id(kPay))}) {
    SCOPED_TRACE(who.actor());
    denied(policies_.List(who), admin);
    denied(
        policies_.Create(who, NewPolicy{"x", "", Parsed(kQuotesAndNoRefunds)}),
        admin);
    denied(policies_.Get(who, r.id, std::nullopt), admin);
    denied(policies_.Update(who, r.id,
                            PolicyChange{1, Parsed(kQuotesAndNoRefunds)}),
           admin);
    denied(policies_.Delete(who, r.id), admin);
    // Even a key whose scope covers the identity: it must not change who
    // may call it.
    denied(policies_.Attach(who, r.id, Id(kPay)), attach);
    denied(policies_.Detach(who, r.id, Id(kPay)), attach);
  }
  EXPECT_EQ(Actions(), std::vector<std::string>{"policy.create allow " + r.id});
}

TEST_F(PolicyServiceTest, UpdateMakesTheNextVersionOfTheCurrentOneOnly) {
  PolicyRecord r = Create("payments", kQuotesAndNoRefunds);
  PolicyChange change{
      1, Parsed(R"({"Statement":{"Effect":"Allow","Action":"payments:*"}})")};
  change.description = "all payments";
  clock_.Set(kServiceTestNow + 60);
  auto v2 = policies_.Update(admin_, r.id, change);
  ASSERT_TRUE(v2.has_value()) << v2.error().message();
  EXPECT_EQ(v2->version, 2);
  EXPECT_EQ(v2->name, "payments");  // unset: kept
  EXPECT_EQ(v2->description, "all payments");
  EXPECT_EQ(v2->created_at, kServiceTestNow);
  EXPECT_EQ(v2->updated_at, kServiceTestNow + 60);
  // Stale: version 1 is no longer the current one.
  auto stale = policies_.Update(admin_, r.id, change);
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code(), Code::kAlreadyExists);
  EXPECT_EQ(stale.error().message(),
            "policy " + r.id + " is at version 2, not 1");
  change.replaces = 2;
  change.name = "";
  EXPECT_EQ(policies_.Update(admin_, r.id, change).error().code(),
            Code::kInvalidArgument);
  change.name.reset();
  EXPECT_EQ(
      policies_.Update(admin_, "policy:000000000000", change).error().code(),
      Code::kNotFound);
  // Older versions stay readable; a missing one says which there are.
  auto v1 = policies_.Get(admin_, r.id, 1);
  ASSERT_TRUE(v1.has_value());
  EXPECT_EQ(v1->policy.document, r.document);
  auto ninth = policies_.Get(admin_, r.id, 9);
  ASSERT_FALSE(ninth.has_value());
  EXPECT_EQ(ninth.error().code(), Code::kNotFound);
  EXPECT_EQ(ninth.error().message(), "policy \"" + r.id +
                                         "\" has no version 9; its versions "
                                         "are 1 to 2");
  EXPECT_EQ(policies_.Get(admin_, r.id, 0).error().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Actions(),
            (std::vector<std::string>{"policy.create allow " + r.id,
                                      "policy.update allow " + r.id}));
  EXPECT_EQ(Audit().back().details["version"], 2);
}

TEST_F(PolicyServiceTest, AttachmentsAreReadByWhoeverMayObtainTheSvid) {
  PolicyRecord r = Create("payments", kQuotesAndNoRefunds);
  ASSERT_TRUE(policies_.Attach(admin_, r.id, Id(kPay)));
  auto details = policies_.Get(admin_, r.id, std::nullopt);
  ASSERT_TRUE(details.has_value());
  EXPECT_EQ(details->attached_to, std::vector<std::string>{kPay});
  for (const Principal& who :
       {admin_, Scoped("/tools/payments"), Principal::Workload(Id(kPay))}) {
    auto attached = policies_.AttachedTo(who, Id(kPay));
    ASSERT_TRUE(attached.has_value()) << who.actor();
    ASSERT_EQ(attached->size(), 1u) << who.actor();
    EXPECT_EQ((*attached)[0].id, r.id);
  }
  for (const Principal& who :
       {Scoped("/agents"), Principal::Workload(Id(kOther))}) {
    auto refused = policies_.AttachedTo(who, Id(kPay));
    ASSERT_FALSE(refused.has_value()) << who.actor();
    EXPECT_EQ(refused.error().code(), Code::kPermissionDenied);
    EXPECT_EQ(
        refused.error().message(),
        std::string("these credentials may not read the policies of ") + kPay);
  }
  EXPECT_EQ(
      policies_.AttachedTo(admin_, Id("spiffe://org-a.example/tools/unknown"))
          .error()
          .code(),
      Code::kNotFound);
  EXPECT_TRUE(policies_.AttachedTo(admin_, Id(kOther))->empty());
}

TEST_F(PolicyServiceTest, AttachDetachAndDeleteAreAudited) {
  PolicyRecord r = Create("payments", kQuotesAndNoRefunds);
  // Only workload IDs of the own trust domain, registered ones, and
  // existing policies.
  EXPECT_EQ(policies_.Attach(admin_, r.id, Id("spiffe://org-b.example/x"))
                .error()
                .code(),
            Code::kInvalidArgument);
  EXPECT_EQ(
      policies_.Attach(admin_, r.id, Id("spiffe://org-a.example/tools/unknown"))
          .error()
          .code(),
      Code::kNotFound);
  EXPECT_EQ(
      policies_.Attach(admin_, "policy:000000000000", Id(kPay)).error().code(),
      Code::kNotFound);
  ASSERT_TRUE(policies_.Attach(admin_, r.id, Id(kPay)));
  EXPECT_EQ(Audit().back().details["policy"], r.id);
  ASSERT_TRUE(policies_.Detach(admin_, r.id, Id(kPay)));
  EXPECT_EQ(policies_.Detach(admin_, r.id, Id(kPay)).error().code(),
            Code::kNotFound);
  ASSERT_TRUE(policies_.Attach(admin_, r.id, Id(kPay)));
  ASSERT_TRUE(policies_.Delete(admin_, r.id));
  EXPECT_EQ(policies_.Get(admin_, r.id, std::nullopt).error().code(),
            Code::kNotFound);
  EXPECT_TRUE(policies_.AttachedTo(admin_, Id(kPay))->empty());
  EXPECT_EQ(policies_.Delete(admin_, r.id).error().code(), Code::kNotFound);
  EXPECT_EQ(Actions(), (std::vector<std::string>{
                           "policy.create allow " + r.id,
                           std::string("policy.attach allow ") + kPay,
                           std::string("policy.detach allow ") + kPay,
                           std::string("policy.attach allow ") + kPay,
                           "policy.delete allow " + r.id}));
}

TEST_F(PolicyServiceTest, AuthorizeDecidesWithTheAttachedPolicies) {
  // Nothing attached: the default deny, decided by no policy.
  auto d = policies_.Authorize(admin_, Ask("payments:quote", "org-b.example"));
  ASSERT_TRUE(d.has_value()) << d.error().message();
  EXPECT_EQ(d->decision.verdict, Verdict::kDeny);
  EXPECT_EQ(d->decision.basis, DecisionBasis::kDefaultDeny);
  EXPECT_FALSE(d->policy_id.has_value());

  PolicyRecord r = Create("payments", kQuotesAndNoRefunds);
  ASSERT_TRUE(policies_.Attach(admin_, r.id, Id(kPay)));
  d = policies_.Authorize(admin_, Ask("payments:quote", "org-b.example"));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->decision.verdict, Verdict::kAllow);
  EXPECT_EQ(d->decision.sid, std::optional<std::string>("Quotes"));
  EXPECT_EQ(d->policy_id, std::optional<std::string>(r.id));
  d = policies_.Authorize(admin_, Ask("payments:quote", "org-c.example"));
  EXPECT_EQ(d->decision.basis, DecisionBasis::kDefaultDeny);
  d = policies_.Authorize(admin_, Ask("payments:refund", "org-b.example"));
  EXPECT_EQ(d->decision.basis, DecisionBasis::kExplicitDeny);
  EXPECT_EQ(d->decision.statement_index, std::optional<std::size_t>(1));

  // Every decision is on the record, with its verdict and reason.
  auto audit = Audit();
  ASSERT_EQ(audit.back().action, "policy.authorize");
  EXPECT_EQ(audit.back().subject, kPay);
  EXPECT_EQ(audit.back().decision, "deny");
  EXPECT_EQ(audit.back().reason, d->decision.reason);
  EXPECT_EQ(audit.back().details["action"], "payments:refund");
  EXPECT_EQ(audit.back().details["resource"], "*");
  EXPECT_EQ(audit.back().details["policy"], r.id);
  EXPECT_EQ(Actions().size(), 6u);  // create, attach, four decisions
}

TEST_F(PolicyServiceTest, AuthorizeIsForWhoeverMayObtainTheSvid) {
  PolicyRecord r = Create("payments", kQuotesAndNoRefunds);
  ASSERT_TRUE(policies_.Attach(admin_, r.id, Id(kPay)));
  for (const Principal& who :
       {Scoped("/tools"), Principal::Workload(Id(kPay))}) {
    auto d = policies_.Authorize(who, Ask("payments:quote", "org-b.example"));
    ASSERT_TRUE(d.has_value()) << who.actor();
    EXPECT_TRUE(d->decision.allowed());
    EXPECT_EQ(Audit().back().actor, who.actor());
  }
  const std::size_t audited = Audit().size();
  for (const Principal& who :
       {Scoped("/agents"), Principal::Workload(Id(kOther))}) {
    auto d = policies_.Authorize(who, Ask("payments:quote", "org-b.example"));
    ASSERT_FALSE(d.has_value()) << who.actor();
    EXPECT_EQ(d.error().code(), Code::kPermissionDenied);
    EXPECT_EQ(d.error().message(),
              std::string("these credentials may not ask for the decisions "
                          "of ") +
                  kPay);
  }
  EXPECT_EQ(Audit().size(), audited);  // refusals decide nothing
}

TEST_F(PolicyServiceTest, AuthorizeValidatesItsRequest) {
  PolicyRecord r = Create("payments", kQuotesAndNoRefunds);
  for (const std::string& action : {std::string(), std::string(257, 'a')}) {
    EXPECT_EQ(policies_.Authorize(admin_, Ask(action, "org-b.example"))
                  .error()
                  .code(),
              Code::kInvalidArgument);
  }
  AuthorizeRequest unknown = Ask("payments:quote", "org-b.example");
  unknown.identity = Id("spiffe://org-a.example/tools/unknown");
  EXPECT_EQ(policies_.Authorize(admin_, unknown).error().code(),
            Code::kNotFound);
  // policy_id must name a policy attached to the identity.
  AuthorizeRequest only = Ask("payments:quote", "org-b.example");
  only.policy_id = r.id;
  auto d = policies_.Authorize(admin_, only);
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code(), Code::kNotFound);
  EXPECT_EQ(d.error().message(),
            "policy \"" + r.id + "\" is not attached to " + kPay);
  ASSERT_TRUE(policies_.Attach(admin_, r.id, Id(kPay)));
  d = policies_.Authorize(admin_, only);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->policy_id, std::optional<std::string>(r.id));
}

TEST_F(PolicyServiceTest, AuthorizeDefaultsTheTimeToTheServicesClock) {
  // Allowed before 2027-01-01; the service's clock reads 2027-01-15.
  PolicyRecord r = Create(
      "until",
      R"({"Statement":{"Effect":"Allow","Action":"a","Condition":)"
      R"({"DateLessThan":{"aztp:CurrentTime":"2027-01-01T00:00:00Z"}}}})");
  ASSERT_TRUE(policies_.Attach(admin_, r.id, Id(kPay)));
  auto d = policies_.Authorize(admin_, AuthorizeRequest{Id(kPay), "a"});
  ASSERT_TRUE(d.has_value());
  EXPECT_FALSE(d->decision.allowed());
  AuthorizeRequest earlier{Id(kPay), "a"};
  earlier.context.SetTime("aztp:CurrentTime", kServiceTestNow - 86400 * 30);
  d = policies_.Authorize(admin_, earlier);
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->decision.allowed());
}

}  // namespace
}  // namespace aztp::services

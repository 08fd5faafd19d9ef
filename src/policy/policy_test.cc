// Policy evaluation: whole policies on one context, several attached
// policies, contexts built by hand and from a verified chain. Most cases are
// table rows run as separate parameterised tests, each asserting the exact
// decision and reason. Conditions are tested in policy_condition_test.cc,
// parsing and validation in policy_parse_test.cc.
#include "aztp/policy/policy.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "aztp/chain/builder.h"
#include "aztp/chain/verifier.h"
#include "policy/policy_test_util.h"
#include "testing/trust_domains.h"

namespace aztp::policy_test {
namespace {

using test_support::Must;

// ---------------------------------------------------------------------------
// Matching and precedence: whole policies on BaseContext.

struct EvalCase {
  const char* name;
  const char* policy;
  const char* action;
  const char* resource;
  Verdict verdict;
  DecisionBasis basis;
  int statement;  // -1: none
  const char* reason;
};

void PrintTo(const EvalCase& c, std::ostream* os) { *os << c.name; }

class EvaluateTest : public testing::TestWithParam<EvalCase> {};

TEST_P(EvaluateTest, DecidesExactly) {
  const EvalCase& c = GetParam();
  Policy p = MustParse(c.policy);
  EXPECT_EQ(Must(PolicyFromJson(p.ToJson())), p);
  Decision d = Evaluate(p, Request(c.action, c.resource));
  EXPECT_EQ(d.verdict, c.verdict) << d.reason;
  EXPECT_EQ(d.basis, c.basis) << d.reason;
  if (c.statement < 0) {
    EXPECT_FALSE(d.statement_index.has_value());
  } else {
    EXPECT_EQ(d.statement_index, static_cast<std::size_t>(c.statement));
  }
  EXPECT_FALSE(d.policy_index.has_value());
  EXPECT_EQ(d.reason, c.reason);
  EXPECT_EQ(d.allowed(), c.verdict != Verdict::kDeny);
}

constexpr Verdict kAllow = Verdict::kAllow;
constexpr Verdict kDeny = Verdict::kDeny;
constexpr Verdict kAudit = Verdict::kAudit;
constexpr DecisionBasis kStmt = DecisionBasis::kStatement;
constexpr DecisionBasis kExplicit = DecisionBasis::kExplicitDeny;
constexpr DecisionBasis kDefault = DecisionBasis::kDefaultDeny;
constexpr DecisionBasis kCtxError = DecisionBasis::kContextError;

const EvalCase kEvalCases[] = {
    // Action wildcards.
    {"ExactAction",
     R"({"Statement":{"Sid":"A","Effect":"Allow","Action":"payments:refund"}})",
     "payments:refund", "*", kAllow, kStmt, 0,
     R"(allowed by statement 0 ("A"))"},
    {"ExactActionMismatch",
     R"({"Statement":{"Sid":"A","Effect":"Allow","Action":"payments:quote"}})",
     "payments:refund", "*", kDeny, kDefault, -1,
     R"(no statement allows "payments:refund" on "*")"},
    {"PrefixWildcardSpansColons",
     R"({"Statement":{"Effect":"Allow","Action":"payments:*"}})",
     "payments:refund:eur", "*", kAllow, kStmt, 0, "allowed by statement 0"},
    {"PrefixWildcardNeedsTheColon",
     R"({"Statement":{"Effect":"Allow","Action":"payments:*"}})", "payments",
     "*", kDeny, kDefault, -1, R"(no statement allows "payments" on "*")"},
    {"StarMatchesAnything", R"({"Statement":{"Effect":"Allow","Action":"*"}})",
     "calendar:read", "*", kAllow, kStmt, 0, "allowed by statement 0"},
    {"StarMatchesEmptyAction",
     R"({"Statement":{"Effect":"Allow","Action":"*"}})", "", "*", kAllow, kStmt,
     0, "allowed by statement 0"},
    {"QuestionMarkOneCharacter",
     R"({"Statement":{"Effect":"Allow","Action":"payments:refun?"}})",
     "payments:refund", "*", kAllow, kStmt, 0, "allowed by statement 0"},
    {"QuestionMarkNotTwo",
     R"({"Statement":{"Effect":"Allow","Action":"payments:refun?"}})",
     "payments:refunds", "*", kDeny, kDefault, -1,
     R"(no statement allows "payments:refunds" on "*")"},
    {"QuestionMarkNotZero",
     R"({"Statement":{"Effect":"Allow","Action":"payments:refund?"}})",
     "payments:refund", "*", kDeny, kDefault, -1,
     R"(no statement allows "payments:refund" on "*")"},
    {"LeadingStar", R"({"Statement":{"Effect":"Allow","Action":"*:read"}})",
     "calendar:read", "*", kAllow, kStmt, 0, "allowed by statement 0"},
    {"InnerStars", R"({"Statement":{"Effect":"Allow","Action":"pay*ref*"}})",
     "payments:refund", "*", kAllow, kStmt, 0, "allowed by statement 0"},
    {"StarsBacktrack", R"({"Statement":{"Effect":"Allow","Action":"a*b*c"}})",
     "aXbYbZc", "*", kAllow, kStmt, 0, "allowed by statement 0"},
    {"StarThenLiteralMismatch",
     R"({"Statement":{"Effect":"Allow","Action":"*a"}})", "bbb", "*", kDeny,
     kDefault, -1, R"(no statement allows "bbb" on "*")"},
    {"ActionsAreCaseSensitive",
     R"({"Statement":{"Effect":"Allow","Action":"Payments:*"}})",
     "payments:refund", "*", kDeny, kDefault, -1,
     R"(no statement allows "payments:refund" on "*")"},
    {"QuestionMarkIsOneUtf8Character",
     R"({"Statement":{"Effect":"Allow","Action":"caf?:read"}})",
     "caf\xc3\xa9:read", "*", kAllow, kStmt, 0, "allowed by statement 0"},
    {"ActionList",
     R"({"Statement":{"Effect":"Allow","Action":["calendar:read","payments:*"]}})",
     "payments:quote", "*", kAllow, kStmt, 0, "allowed by statement 0"},
    {"UnsafeCharactersAreEscapedInReasons",
     R"({"Statement":{"Effect":"Allow","Action":"x"}})", "a\"b\n", "*", kDeny,
     kDefault, -1, R"(no statement allows "a\x22b\x0a" on "*")"},
    // Resources.
    {"ResourceAbsentMeansAll",
     R"({"Statement":{"Effect":"Allow","Action":"*"}})", "payments:refund",
     "invoices/42", kAllow, kStmt, 0, "allowed by statement 0"},
    {"ResourceStarSpansSlashes",
     R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"invoices/*"}})",
     "payments:refund", "invoices/2024/42", kAllow, kStmt, 0,
     "allowed by statement 0"},
    {"ResourceMismatch",
     R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"invoices/*"}})",
     "payments:refund", "orders/1", kDeny, kDefault, -1,
     R"(no statement allows "payments:refund" on "orders/1")"},
    {"ResourceList",
     R"({"Statement":{"Effect":"Allow","Action":"*","Resource":["orders/*","invoices/?"]}})",
     "payments:refund", "invoices/7", kAllow, kStmt, 0,
     "allowed by statement 0"},
    {"ResourcePatternVersusDefaultResource",
     R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"invoices/*"}})",
     "payments:refund", "*", kDeny, kDefault, -1,
     R"(no statement allows "payments:refund" on "*")"},
    {"ResourceStarVersusDefaultResource",
     R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}})",
     "payments:refund", "*", kAllow, kStmt, 0, "allowed by statement 0"},
    // Precedence.
    {"DenyAfterAllowWins",
     R"({"Statement":[{"Sid":"Pay","Effect":"Allow","Action":"payments:*"},)"
     R"({"Sid":"NoRefunds","Effect":"Deny","Action":"payments:refund"}]})",
     "payments:refund", "*", kDeny, kExplicit, 1,
     R"(denied by statement 1 ("NoRefunds"))"},
    {"DenyBeforeAllowWins",
     R"({"Statement":[{"Sid":"NoRefunds","Effect":"Deny","Action":"payments:refund"},)"
     R"({"Sid":"Pay","Effect":"Allow","Action":"payments:*"}]})",
     "payments:refund", "*", kDeny, kExplicit, 0,
     R"(denied by statement 0 ("NoRefunds"))"},
    {"WildcardDenyBeatsExactAllow",
     R"({"Statement":[{"Effect":"Allow","Action":"payments:refund"},)"
     R"({"Effect":"Deny","Action":"payments:*"}]})",
     "payments:refund", "*", kDeny, kExplicit, 1, "denied by statement 1"},
    {"DenyWithFalseConditionDoesNotApply",
     R"({"Statement":[{"Effect":"Allow","Action":"payments:*"},)"
     R"({"Sid":"D","Effect":"Deny","Action":"*","Condition":)"
     R"({"StringNotEquals":{"aztp:CallerTrustDomain":"org-a.example"}}}]})",
     "payments:refund", "*", kAllow, kStmt, 0, "allowed by statement 0"},
    {"DenyWithTrueConditionApplies",
     R"({"Statement":[{"Effect":"Allow","Action":"payments:*"},)"
     R"({"Sid":"D","Effect":"Deny","Action":"*","Condition":)"
     R"({"NumericGreaterThan":{"aztp:ChainDepth":1}}}]})",
     "payments:refund", "*", kDeny, kExplicit, 1,
     R"(denied by statement 1 ("D"))"},
    {"DenyForOtherActionIgnored",
     R"({"Statement":[{"Effect":"Deny","Action":"payments:refund"},)"
     R"({"Effect":"Allow","Action":"payments:*"}]})",
     "payments:quote", "*", kAllow, kStmt, 1, "allowed by statement 1"},
    {"DenyOnlyMatching",
     R"({"Statement":{"Sid":"D","Effect":"Deny","Action":"*"}})", "x", "*",
     kDeny, kExplicit, 0, R"(denied by statement 0 ("D"))"},
    {"DenyOnlyNotMatchingIsDefaultDeny",
     R"({"Statement":{"Sid":"D","Effect":"Deny","Action":"y"}})", "x", "*",
     kDeny, kDefault, -1, R"(no statement allows "x" on "*")"},
    {"AuditAllows",
     R"({"Statement":{"Sid":"Watch","Effect":"Audit","Action":"payments:*"}})",
     "payments:refund", "*", kAudit, kStmt, 0,
     R"(allowed and flagged for audit by statement 0 ("Watch"))"},
    {"AuditBeatsEarlierAllow",
     R"({"Statement":[{"Effect":"Allow","Action":"*"},)"
     R"({"Sid":"Watch","Effect":"Audit","Action":"payments:refund"}]})",
     "payments:refund", "*", kAudit, kStmt, 1,
     R"(allowed and flagged for audit by statement 1 ("Watch"))"},
    {"AuditNotMatchingLeavesAllow",
     R"({"Statement":[{"Effect":"Allow","Action":"*"},)"
     R"({"Sid":"Watch","Effect":"Audit","Action":"payments:refund"}]})",
     "payments:quote", "*", kAllow, kStmt, 0, "allowed by statement 0"},
    {"AuditWithFalseConditionLeavesAllow",
     R"({"Statement":[{"Effect":"Allow","Action":"*"},)"
     R"({"Effect":"Audit","Action":"*","Condition":{"Bool":{"request:Flag":false}}}]})",
     "payments:quote", "*", kAllow, kStmt, 0, "allowed by statement 0"},
    {"DenyBeatsAudit",
     R"({"Statement":[{"Effect":"Audit","Action":"*"},)"
     R"({"Effect":"Deny","Action":"payments:refund"}]})",
     "payments:refund", "*", kDeny, kExplicit, 1, "denied by statement 1"},
    {"FirstOfTwoAllowsReported",
     R"({"Statement":[{"Sid":"One","Effect":"Allow","Action":"payments:*"},)"
     R"({"Sid":"Two","Effect":"Allow","Action":"*"}]})",
     "payments:refund", "*", kAllow, kStmt, 0,
     R"(allowed by statement 0 ("One"))"},
    {"StatementArrayOfOne",
     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"a"}]})",
     "a", "*", kAllow, kStmt, 0, "allowed by statement 0"},
    {"StatementObject",
     R"({"Version":"2024-01-01","Statement":{"Effect":"Allow","Action":"a"}})",
     "a", "*", kAllow, kStmt, 0, "allowed by statement 0"},
    {"ContextErrorBeatsAllow",
     R"({"Statement":[{"Effect":"Allow","Action":"*"},)"
     R"({"Sid":"Limit","Effect":"Allow","Action":"payments:*","Condition":)"
     R"({"NumericLessThan":{"request:Currency":100}}}]})",
     "payments:refund", "*", kDeny, kCtxError, 1,
     R"(denied: statement 1 ("Limit") cannot be evaluated: context key )"
     R"("request:Currency" is a string, NumericLessThan needs a number)"},
    {"ExplicitDenyBeatsContextError",
     R"({"Statement":[{"Effect":"Allow","Action":"*","Condition":)"
     R"({"NumericLessThan":{"request:Currency":100}}},)"
     R"({"Effect":"Deny","Action":"*"}]})",
     "payments:refund", "*", kDeny, kExplicit, 1, "denied by statement 1"},
    {"ContextErrorOnlyWhereActionMatches",
     R"({"Statement":[{"Effect":"Allow","Action":"calendar:*","Condition":)"
     R"({"NumericLessThan":{"request:Currency":100}}},)"
     R"({"Effect":"Allow","Action":"payments:*"}]})",
     "payments:refund", "*", kAllow, kStmt, 1, "allowed by statement 1"},
    {"EarlierFalseConditionShortCircuits",
     R"({"Statement":{"Effect":"Allow","Action":"*","Condition":)"
     R"({"StringEquals":{"aztp:Txn":"other"},"NumericLessThan":{"request:Currency":1}}}})",
     "payments:refund", "*", kDeny, kDefault, -1,
     R"(no statement allows "payments:refund" on "*")"},
    {"HostedSdkShapeWithRequestKeys",
     R"({"Version":"2025-05-12","Statement":{"Sid":"6f1c","Effect":"Allow",)"
     R"("Action":["read_user_profile","list_users"],"Condition":{"StringEquals":)"
     R"({"request:Currency":"EUR","aztp:CallerTrustDomain":"org-a.example"}}}})",
     "list_users", "*", kAllow, kStmt, 0, R"(allowed by statement 0 ("6f1c"))"},
};

INSTANTIATE_TEST_SUITE_P(Policies, EvaluateTest, testing::ValuesIn(kEvalCases),
                         [](const testing::TestParamInfo<EvalCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(PolicyJsonTest, RoundTripsEveryTableCase) {
  for (const auto& c : kEvalCases) {
    Policy p = MustParse(c.policy);
    Policy again = MustParse(DumpJson(p.ToJson()));
    EXPECT_EQ(again, p) << c.name;
    EXPECT_EQ(again.ToJson(), p.ToJson()) << c.name;
  }
}
// ---------------------------------------------------------------------------
// Several attached policies.

TEST(EvaluateAllTest, CombinesPoliciesLikeOne) {
  Policy allow_pay = MustParse(
      R"({"Statement":{"Sid":"Pay","Effect":"Allow","Action":"payments:*"}})");
  Policy deny_refund = MustParse(
      R"({"Statement":[{"Effect":"Allow","Action":"calendar:read"},)"
      R"({"Sid":"NoRefunds","Effect":"Deny","Action":"payments:refund"}]})");
  Policy audit_all = MustParse(
      R"({"Statement":{"Sid":"Watch","Effect":"Audit","Action":"*"}})");
  Policy unrelated =
      MustParse(R"({"Statement":{"Effect":"Allow","Action":"mail:send"}})");

  Decision d =
      EvaluateAll({&allow_pay, &deny_refund}, Request("payments:refund"));
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_TRUE(d.explicit_deny());
  EXPECT_EQ(d.policy_index, 1u);
  EXPECT_EQ(d.statement_index, 1u);
  EXPECT_EQ(d.sid, "NoRefunds");
  EXPECT_EQ(d.reason, R"(denied by policy 1 statement 1 ("NoRefunds"))");

  d = EvaluateAll({&deny_refund, &allow_pay}, Request("payments:quote"));
  EXPECT_EQ(d.verdict, Verdict::kAllow);
  EXPECT_EQ(d.policy_index, 1u);
  EXPECT_EQ(d.reason, R"(allowed by policy 1 statement 0 ("Pay"))");

  d = EvaluateAll({&allow_pay, &audit_all}, Request("payments:quote"));
  EXPECT_EQ(d.verdict, Verdict::kAudit);
  EXPECT_EQ(d.policy_index, 1u);
  EXPECT_EQ(
      d.reason,
      R"(allowed and flagged for audit by policy 1 statement 0 ("Watch"))");

  d = EvaluateAll({&audit_all, &deny_refund}, Request("payments:refund"));
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_EQ(d.reason, R"(denied by policy 1 statement 1 ("NoRefunds"))");

  d = EvaluateAll({&unrelated, nullptr, &allow_pay}, Request("payments:quote"));
  EXPECT_EQ(d.verdict, Verdict::kAllow);
  EXPECT_EQ(d.policy_index, 2u);

  d = EvaluateAll({&unrelated, &deny_refund}, Request("payments:quote"));
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_TRUE(d.default_deny());
  EXPECT_FALSE(d.policy_index.has_value());
  EXPECT_EQ(d.reason, R"(no statement allows "payments:quote" on "*")");

  d = EvaluateAll({}, Request("payments:quote"));
  EXPECT_TRUE(d.default_deny());
  EXPECT_EQ(d.reason, R"(no statement allows "payments:quote" on "*")");
}

TEST(EvaluateContextTest, MissingAndMistypedKnownKeys) {
  Policy p = MustParse(R"({"Statement":[
      {"Sid":"OrgA","Effect":"Allow","Action":"*",
       "Condition":{"StringEquals":{"aztp:CallerTrustDomain":"org-a.example"}}},
      {"Sid":"NotOrgA","Effect":"Deny","Action":"*",
       "Condition":{"StringNotEquals":{"aztp:CallerTrustDomain":"org-a.example"}}}]})");
  PolicyRequest r;
  r.action = "payments:refund";
  Decision d = Evaluate(p, r);
  // The key is absent: StringEquals is false, StringNotEquals true.
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_EQ(d.reason, R"(denied by statement 1 ("NotOrgA"))");
  r.context.SetString("aztp:CallerTrustDomain", "org-a.example");
  EXPECT_EQ(Evaluate(p, r).reason, R"(allowed by statement 0 ("OrgA"))");
  // A caller-built context with a wrong type for a known key denies.
  r.context.SetInteger("aztp:CallerTrustDomain", 7);
  d = Evaluate(p, r);
  EXPECT_EQ(d.basis, DecisionBasis::kContextError);
  EXPECT_EQ(d.statement_index, 0u);
}

TEST(PolicyContextTest, SettersReplaceValues) {
  PolicyContext c;
  EXPECT_EQ(c.Find("request:x"), nullptr);
  c.SetString("request:x", "a");
  c.SetInteger("request:x", 5);
  ASSERT_NE(c.Find("request:x"), nullptr);
  EXPECT_EQ(std::get<int64_t>(*c.Find("request:x")), 5);
  c.SetTime("request:t", PolicyTime{10, 5});
  EXPECT_EQ(std::get<PolicyTime>(*c.Find("request:t")), (PolicyTime{10, 5}));
  EXPECT_EQ(c.values.size(), 2u);
}

// The example of docs/policy.md behaves as the text says.
TEST(EvaluateContextTest, DocumentationExample) {
  Policy p = MustParse(R"({
  "Version": "2024-01-01",
  "Statement": [
    {
      "Sid": "PaymentsFromOrgA",
      "Effect": "Allow",
      "Action": "payments:*",
      "Condition": {
        "StringEquals": { "aztp:CallerTrustDomain": "org-a.example" },
        "NumericLessThanEquals": { "aztp:ChainDepth": 2 }
      }
    },
    {
      "Sid": "NoRefundsFromOutside",
      "Effect": "Deny",
      "Action": "payments:refund",
      "Condition": {
        "ForAnyValue:StringNotEquals": {
          "aztp:ChainTrustDomains": ["org-a.example", "org-b.example"]
        }
      }
    },
    {
      "Sid": "WatchLargeQuotes",
      "Effect": "Audit",
      "Action": "payments:quote",
      "Condition": {
        "StringEquals": { "aztp:CallerTrustDomain": "org-a.example" },
        "NumericGreaterThan": { "request:Amount": 10000 }
      }
    }
  ]
})");
  PolicyRequest r = Request("payments:refund");
  EXPECT_EQ(Evaluate(p, r).reason,
            R"(allowed by statement 0 ("PaymentsFromOrgA"))");
  r.context.SetInteger("aztp:ChainDepth", 3);
  EXPECT_EQ(Evaluate(p, r).reason,
            R"(no statement allows "payments:refund" on "*")");
  r.context.SetInteger("aztp:ChainDepth", 2);
  r.context.SetList("aztp:ChainTrustDomains",
                    {"org-a.example", "org-c.example"});
  EXPECT_EQ(Evaluate(p, r).reason,
            R"(denied by statement 1 ("NoRefundsFromOutside"))");

  r = Request("payments:quote");
  r.context.SetInteger("request:Amount", 20000);
  EXPECT_EQ(Evaluate(p, r).reason,
            R"(allowed and flagged for audit by statement 2 )"
            R"(("WatchLargeQuotes"))");
  r.context.SetInteger("request:Amount", 10000);
  EXPECT_EQ(Evaluate(p, r).reason,
            R"(allowed by statement 0 ("PaymentsFromOrgA"))");
  r.context.SetString("request:Amount", "20000");
  EXPECT_EQ(Evaluate(p, r).reason,
            R"(denied: statement 2 ("WatchLargeQuotes") cannot be evaluated: )"
            R"(context key "request:Amount" is a string, NumericGreaterThan )"
            R"(needs a number)");
  r.context.SetInteger("request:Amount", 20000);
  r.context.SetString("aztp:CallerTrustDomain", "org-c.example");
  EXPECT_EQ(Evaluate(p, r).reason,
            R"(no statement allows "payments:quote" on "*")");
}

// ---------------------------------------------------------------------------
// Context from a real verified chain.

constexpr char kPlaneA[] = "spiffe://org-a.example/aztpd";

class ChainContextTest : public testing::Test {
 protected:
  ChainContextTest() : domains_(kNow), clock_(kNow) {
    domains_.AddDomain("org-a.example");
    domains_.AddDomain("org-b.example");
  }

  std::unique_ptr<ChainVerifier> VerifierFor(const char* audience) {
    ChainVerifierOptions o;
    o.audience = Must(SpiffeId::Parse(audience));
    o.bundles = domains_.Bundles();
    o.clock = &clock_;
    // payments (org-b) believes org-a's control plane for idp.example.
    o.person_issuers["org-a.example"] = {"https://idp.example"};
    return Must(ChainVerifier::Create(std::move(o)));
  }

  // Chain is alice's, vouched for by org-a's control plane (§5.3): aztpd ->
  // research -> payments, verified at payments.
  VerifiedChain Chain() {
    MintOptions m;
    m.audience = Must(SpiffeId::Parse(kResearch));
    m.capabilities =
        Must(CapabilitySet::FromStrings({"payments:*", "calendar:read"}));
    m.subject = "oidc:https://idp.example#alice";
    m.txn = "txn-42";
    std::string c0 = Must(MintChain(domains_.Signer(kPlaneA), m, kNow));
    VerifiedChain at_research = Must(VerifierFor(kResearch)->Verify(c0));
    ExtendOptions e;
    e.audience = Must(SpiffeId::Parse(kPayments));
    e.capabilities = Must(CapabilitySet::FromStrings({"payments:quote"}));
    std::string c1 =
        Must(ExtendChain(at_research, domains_.Signer(kResearch), e, kNow));
    return Must(VerifierFor(kPayments)->Verify(c1));
  }

  test_support::TestDomains domains_;
  FixedClock clock_;
};

TEST_F(ChainContextTest, MapsEveryKey) {
  VerifiedChain chain = Chain();
  PolicyContext c = ContextFromChain(chain, kNow + 5);
  auto str = [&](const char* key) {
    return std::get<std::string>(*c.Find(key));
  };
  auto list = [&](const char* key) {
    return std::get<std::vector<std::string>>(*c.Find(key));
  };
  EXPECT_EQ(str("aztp:CallerId"), kResearch);
  EXPECT_EQ(str("aztp:CallerTrustDomain"), "org-a.example");
  EXPECT_EQ(str("aztp:OriginId"), kPlaneA);
  EXPECT_EQ(str("aztp:OriginSubject"), "oidc:https://idp.example#alice");
  EXPECT_EQ(str("aztp:TargetId"), kPayments);
  EXPECT_EQ(str("aztp:Txn"), "txn-42");
  EXPECT_EQ(std::get<int64_t>(*c.Find("aztp:ChainDepth")), 1);
  EXPECT_EQ(list("aztp:ChainPath"),
            (std::vector<std::string>{kPlaneA, kResearch, kPayments}));
  EXPECT_EQ(list("aztp:ChainTrustDomains"),
            (std::vector<std::string>{"org-a.example", "org-b.example"}));
  EXPECT_EQ(list("aztp:Capabilities"),
            std::vector<std::string>{"payments:quote"});
  EXPECT_EQ(std::get<PolicyTime>(*c.Find("aztp:CurrentTime")),
            (PolicyTime{kNow + 5, 0}));
  // A person without `prs`: only the two keys of the subject.
  EXPECT_EQ(str("aztp:PersonIssuer"), "https://idp.example");
  EXPECT_EQ(str("aztp:PersonSubject"), "alice");
  EXPECT_EQ(c.values.size(), 13u);
}

TEST(PersonContextTest, MapsThePersonsClaimsAndOnlyAVerifiedEmail) {
  PersonClaims p;
  p.email = "alice@example.com";
  p.name = "Alice Example";
  p.groups = {"finance", "staff"};
  p.acr = "urn:aztp:acr:mfa";
  p.amr = {"pwd", "otp"};
  p.auth_time = kNow - 60;
  PolicyContext c;
  AddPersonContext(c, "oidc:https://idp.example/tenant#a#b", p);
  EXPECT_EQ(std::get<std::string>(*c.Find("aztp:PersonIssuer")),
            "https://idp.example/tenant");
  // The subject is everything after the first '#'.
  EXPECT_EQ(std::get<std::string>(*c.Find("aztp:PersonSubject")), "a#b");
  EXPECT_EQ(c.Find("aztp:PersonEmail"), nullptr) << "an unverified email";
  EXPECT_EQ(std::get<std::string>(*c.Find("aztp:PersonName")), "Alice Example");
  EXPECT_EQ(std::get<std::vector<std::string>>(*c.Find("aztp:PersonGroups")),
            p.groups);
  EXPECT_EQ(std::get<std::string>(*c.Find("aztp:PersonAcr")), p.acr);
  EXPECT_EQ(std::get<std::vector<std::string>>(*c.Find("aztp:PersonAmr")),
            p.amr);
  EXPECT_EQ(std::get<PolicyTime>(*c.Find("aztp:PersonAuthTime")),
            (PolicyTime{kNow - 60, 0}));
  p.email_verified = true;
  AddPersonContext(c, "oidc:https://idp.example/tenant#a#b", p);
  EXPECT_EQ(std::get<std::string>(*c.Find("aztp:PersonEmail")),
            "alice@example.com");
  // An agent's chain has no person keys, whatever claims are passed.
  PolicyContext agent;
  AddPersonContext(agent, "spiffe://org-a.example/agents/planner", p);
  EXPECT_TRUE(agent.values.empty());
}

// Issue 15's example: refunds only for group finance with MFA.
TEST(PersonContextTest, APolicyConditionsOnTheGroupAndTheAcr) {
  Policy policy = MustParse(R"({"Statement":[
      {"Sid":"FinanceWithMfa","Effect":"Allow","Action":"payments:refund",
       "Condition":{"ForAnyValue:StringEquals":{"aztp:PersonGroups":"finance"},
                    "StringEquals":{"aztp:PersonAcr":"urn:aztp:acr:mfa"}}}]})");
  auto decide = [&](std::vector<std::string> groups, std::string acr) {
    PersonClaims p;
    p.groups = std::move(groups);
    p.acr = std::move(acr);
    PolicyRequest r;
    r.action = "payments:refund";
    AddPersonContext(r.context, "oidc:https://idp.example#alice", p);
    return Evaluate(policy, r).allowed();
  };
  EXPECT_TRUE(decide({"staff", "finance"}, "urn:aztp:acr:mfa"));
  EXPECT_FALSE(decide({"staff"}, "urn:aztp:acr:mfa"));
  EXPECT_FALSE(decide({"finance"}, "urn:aztp:acr:pwd"));
}

TEST_F(ChainContextTest, AuthorizeChainChecksCapabilitiesThenPolicies) {
  VerifiedChain chain = Chain();
  Policy policy = MustParse(R"({"Statement":[
      {"Sid":"FromOrgA","Effect":"Allow","Action":"payments:*",
       "Condition":{"StringEquals":{"aztp:CallerTrustDomain":"org-a.example"},
                    "ForAllValues:StringLike":{"aztp:ChainTrustDomains":"org-?.example"},
                    "NumericLessThanEquals":{"aztp:ChainDepth":2},
                    "DateLessThan":{"aztp:CurrentTime":"2027-01-16T00:00:00Z"}}},
      {"Sid":"SmallOnly","Effect":"Deny","Action":"payments:*",
       "Condition":{"NumericGreaterThan":{"request:Amount":1000}}}]})");
  PolicyRequest r;
  r.action = "payments:quote";
  r.context.SetInteger("request:Amount", 10);
  // An aztp: key of the caller's is ignored: the chain's values win.
  r.context.SetString("aztp:CallerTrustDomain", "evil.example");
  Decision d = AuthorizeChain(chain, {&policy}, r, kNow);
  EXPECT_EQ(d.verdict, Verdict::kAllow);
  EXPECT_EQ(d.reason, R"(allowed by policy 0 statement 0 ("FromOrgA"))");

  r.context.SetInteger("request:Amount", 5000);
  d = AuthorizeChain(chain, {&policy}, r, kNow);
  EXPECT_TRUE(d.explicit_deny());
  EXPECT_EQ(d.reason, R"(denied by policy 0 statement 1 ("SmallOnly"))");

  // A day later the date condition no longer holds.
  r.context.SetInteger("request:Amount", 10);
  d = AuthorizeChain(chain, {&policy}, r, kNow + 86400);
  EXPECT_TRUE(d.default_deny());

  // payments:refund is outside the chain's capabilities, whatever the
  // policy says.
  r.action = "payments:refund";
  d = AuthorizeChain(chain, {&policy}, r, kNow);
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_EQ(d.basis, DecisionBasis::kNotCovered);
  EXPECT_EQ(d.reason,
            R"(denied: "payments:refund" is not covered by the chain's )"
            R"(capabilities)");
  r.action = "not a capability";
  d = AuthorizeChain(chain, {&policy}, r, kNow);
  EXPECT_EQ(d.basis, DecisionBasis::kNotCovered);
  EXPECT_EQ(d.reason, R"(denied: "not a capability" is not a capability)");
}

}  // namespace
}  // namespace aztp::policy_test

// Policy parsing, validation, canonical form and evaluation. Most cases are
// table rows run as separate parameterised tests, each asserting the exact
// decision and reason (or the exact validation message).
#include "aztp/policy/policy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "aztp/chain/builder.h"
#include "aztp/chain/verifier.h"
#include "testing/trust_domains.h"

namespace aztp {
namespace {

using testing::Must;

constexpr UnixTime kNow = 1'800'000'000;  // 2027-01-15T08:00:00Z
const char* kPlanner = "spiffe://org-a.example/agent/planner";
const char* kBroker = "spiffe://org-a.example/agent/broker";
const char* kResearch = "spiffe://org-a.example/agent/research";
const char* kPayments = "spiffe://org-b.example/tool/payments";

// BaseContext is the context of most cases: a chain planner -> broker ->
// research -> payments, plus request keys of every type.
PolicyContext BaseContext() {
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

PolicyRequest Request(std::string action, std::string resource = "*") {
  PolicyRequest r;
  r.action = std::move(action);
  r.resource = std::move(resource);
  r.context = BaseContext();
  return r;
}

Policy MustParse(const std::string& text) {
  auto p = ParsePolicy(text);
  EXPECT_TRUE(p.has_value()) << text << "\n" << p.error().message();
  if (!p) std::abort();
  return std::move(p).value();
}

// ---------------------------------------------------------------------------
// Conditions: one Allow statement with the condition, evaluated on
// BaseContext. `error` set means a context error with that exact reason.

struct ConditionCase {
  const char* name;
  const char* condition;  // the value of "Condition"
  bool matches;
  const char* error = nullptr;
};

void PrintTo(const ConditionCase& c, std::ostream* os) { *os << c.name; }

class ConditionTest : public ::testing::TestWithParam<ConditionCase> {};

TEST_P(ConditionTest, DecidesExactly) {
  const ConditionCase& c = GetParam();
  Policy p = MustParse(
      std::string(R"({"Statement":{"Sid":"C","Effect":"Allow","Action":"*",)") +
      R"("Condition":)" + c.condition + "}}");
  // The canonical form parses back to the same policy.
  EXPECT_EQ(Must(PolicyFromJson(p.ToJson())), p);
  Decision d = Evaluate(p, Request("payments:refund"));
  if (c.error != nullptr) {
    EXPECT_EQ(d.verdict, Verdict::kDeny);
    EXPECT_EQ(d.basis, DecisionBasis::kContextError);
    EXPECT_EQ(d.statement_index, 0u);
    EXPECT_EQ(d.reason, c.error);
  } else if (c.matches) {
    EXPECT_EQ(d.verdict, Verdict::kAllow);
    EXPECT_EQ(d.basis, DecisionBasis::kStatement);
    EXPECT_EQ(d.statement_index, 0u);
    EXPECT_EQ(d.sid, "C");
    EXPECT_EQ(d.reason, R"(allowed by statement 0 ("C"))");
  } else {
    EXPECT_EQ(d.verdict, Verdict::kDeny);
    EXPECT_EQ(d.basis, DecisionBasis::kDefaultDeny);
    EXPECT_FALSE(d.statement_index.has_value());
    // A key absent from BaseContext is named after it (below).
    const std::string base = R"(no statement allows "payments:refund" on "*")";
    EXPECT_EQ(d.reason.substr(0, base.size()), base);
  }
}

// Issue 13: `policy test` with a context lacking a key a condition reads
// said only "no statement allows". The verdict stays a default deny; the
// reason names the statement and the key.
TEST(PolicyTest, ADefaultDenyNamesTheAbsentKeyAStatementNeeded) {
  Policy p = MustParse(R"({"Statement":[
      {"Sid":"NoQuotes","Effect":"Deny","Action":"payments:quote",
       "Condition":{"StringEquals":{"request:Nope":"x"}}},
      {"Sid":"Refunds","Effect":"Allow","Action":"payments:refund",
       "Condition":{"NumericLessThan":{"request:Budget":100}}},
      {"Sid":"Present","Effect":"Allow","Action":"payments:*",
       "Condition":{"Null":{"request:Region":false}}}]})");
  Decision d = Evaluate(p, Request("payments:refund"));
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_EQ(d.basis, DecisionBasis::kDefaultDeny);
  EXPECT_FALSE(d.statement_index.has_value());
  EXPECT_EQ(d.reason,
            R"(no statement allows "payments:refund" on "*": statement 1 )"
            R"(("Refunds") needs context key "request:Budget", which is )"
            R"(absent)");
  // Null:false requires the key too.
  d = Evaluate(p, Request("payments:quote"));
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_EQ(d.reason,
            R"(no statement allows "payments:quote" on "*": statement 2 )"
            R"(("Present") needs context key "request:Region", which is )"
            R"(absent)");
  // With the key present but failing, nothing is said of absence.
  PolicyRequest big = Request("payments:refund");
  big.context.SetInteger("request:Budget", 500);
  p = MustParse(R"({"Statement":{"Effect":"Allow","Action":"payments:refund",
      "Condition":{"NumericLessThan":{"request:Budget":100}}}})");
  d = Evaluate(p, big);
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_EQ(d.reason, R"(no statement allows "payments:refund" on "*")");
}

const ConditionCase kConditionCases[] = {
    // String operators.
    {"StringEqualsMatch",
     R"({"StringEquals":{"aztp:CallerTrustDomain":"org-a.example"}})", true},
    {"StringEqualsNoMatch",
     R"({"StringEquals":{"aztp:CallerTrustDomain":"org-b.example"}})", false},
    {"StringEqualsValuesAreOr",
     R"({"StringEquals":{"aztp:CallerTrustDomain":["org-b.example","org-a.example"]}})",
     true},
    {"StringEqualsIsCaseSensitive",
     R"({"StringEquals":{"aztp:CallerTrustDomain":"ORG-A.example"}})", false},
    {"StringEqualsOriginSubject",
     R"({"StringEquals":{"aztp:OriginSubject":"oidc:https://idp.example#alice"}})",
     true},
    {"StringEqualsOriginAndTarget",
     R"({"StringEquals":{"aztp:OriginId":"spiffe://org-a.example/agent/planner",)"
     R"("aztp:TargetId":"spiffe://org-b.example/tool/payments"}})",
     true},
    {"StringNotEqualsMatch",
     R"({"StringNotEquals":{"aztp:CallerTrustDomain":"org-b.example"}})", true},
    {"StringNotEqualsNoMatchWhenAnyValueEquals",
     R"({"StringNotEquals":{"aztp:CallerTrustDomain":["org-b.example","org-a.example"]}})",
     false},
    {"StringLikeMatch",
     R"({"StringLike":{"aztp:CallerId":"spiffe://org-a.example/*"}})", true},
    {"StringLikeNoMatch",
     R"({"StringLike":{"aztp:CallerId":"spiffe://org-b.example/*"}})", false},
    {"StringLikeQuestionMark", R"({"StringLike":{"aztp:Txn":"txn-?"}})", true},
    {"StringLikeQuestionMarkIsOneCharacter",
     R"({"StringLike":{"aztp:Txn":"txn-??"}})", false},
    {"StringNotLikeMatch",
     R"({"StringNotLike":{"aztp:CallerId":"spiffe://org-b.example/*"}})", true},
    {"StringNotLikeNoMatch",
     R"({"StringNotLike":{"aztp:CallerId":"*research"}})", false},
    {"KeysInOneBlockAreAnd",
     R"({"StringEquals":{"aztp:CallerTrustDomain":"org-a.example","aztp:Txn":"txn-2"}})",
     false},
    {"KeysInOneBlockAllTrue",
     R"({"StringEquals":{"aztp:CallerTrustDomain":"org-a.example","aztp:Txn":"txn-1"}})",
     true},
    {"BlocksAreAnd",
     R"({"StringEquals":{"aztp:Txn":"txn-1"},"StringLike":{"aztp:CallerId":"*/tool/*"}})",
     false},
    {"BlocksAllTrue",
     R"({"StringEquals":{"aztp:Txn":"txn-1"},"StringLike":{"aztp:CallerId":"*/agent/*"}})",
     true},
    // Missing keys.
    {"MissingKeyStringEquals", R"({"StringEquals":{"request:Missing":"x"}})",
     false},
    {"MissingKeyStringNotEqualsHolds",
     R"({"StringNotEquals":{"request:Missing":"x"}})", true},
    {"MissingKeyStringLike", R"({"StringLike":{"request:Missing":"*"}})",
     false},
    {"MissingKeyStringNotLikeHolds",
     R"({"StringNotLike":{"request:Missing":"x"}})", true},
    {"MissingKeyNumericLessThan",
     R"({"NumericLessThan":{"request:Missing":5}})", false},
    {"MissingKeyNumericNotEqualsHolds",
     R"({"NumericNotEquals":{"request:Missing":5}})", true},
    {"MissingKeyDateGreaterThan",
     R"({"DateGreaterThan":{"request:Missing":0}})", false},
    {"IfExistsMissingKey",
     R"({"StringEqualsIfExists":{"request:Missing":"x"}})", true},
    {"IfExistsPresentKeyNoMatch",
     R"({"StringEqualsIfExists":{"request:Currency":"USD"}})", false},
    {"IfExistsPresentKeyMatch",
     R"({"StringEqualsIfExists":{"request:Currency":"EUR"}})", true},
    {"IfExistsNumericMissing",
     R"({"NumericLessThanIfExists":{"request:Missing":1}})", true},
    // Numeric operators.
    {"NumericEqualsMatch", R"({"NumericEquals":{"aztp:ChainDepth":2}})", true},
    {"NumericEqualsNoMatch", R"({"NumericEquals":{"aztp:ChainDepth":3}})",
     false},
    {"NumericEqualsFloatValue", R"({"NumericEquals":{"aztp:ChainDepth":2.0}})",
     true},
    {"NumericNotEqualsMatch", R"({"NumericNotEquals":{"aztp:ChainDepth":3}})",
     true},
    {"NumericNotEqualsNoMatch",
     R"({"NumericNotEquals":{"aztp:ChainDepth":[1,2]}})", false},
    {"NumericLessThanMatch", R"({"NumericLessThan":{"aztp:ChainDepth":3}})",
     true},
    {"NumericLessThanEqualIsFalse",
     R"({"NumericLessThan":{"aztp:ChainDepth":2}})", false},
    {"NumericLessThanEqualsEdge",
     R"({"NumericLessThanEquals":{"aztp:ChainDepth":2}})", true},
    {"NumericLessThanEqualsNoMatch",
     R"({"NumericLessThanEquals":{"aztp:ChainDepth":1}})", false},
    {"NumericGreaterThanMatch",
     R"({"NumericGreaterThan":{"aztp:ChainDepth":1}})", true},
    {"NumericGreaterThanEqualIsFalse",
     R"({"NumericGreaterThan":{"aztp:ChainDepth":2}})", false},
    {"NumericGreaterThanEqualsEdge",
     R"({"NumericGreaterThanEquals":{"aztp:ChainDepth":2}})", true},
    {"NumericGreaterThanEqualsFraction",
     R"({"NumericGreaterThanEquals":{"aztp:ChainDepth":2.5}})", false},
    {"NumericValuesAreOr", R"({"NumericLessThan":{"aztp:ChainDepth":[0,5]}})",
     true},
    {"NumericIntBelowFraction",
     R"({"NumericLessThan":{"request:Amount":250.5}})", true},
    {"NumericIntAboveFraction",
     R"({"NumericGreaterThan":{"request:Amount":249.99}})", true},
    {"NumericDoubleContextEquals", R"({"NumericEquals":{"request:Ratio":0.5}})",
     true},
    {"NumericDoubleContextVsInt", R"({"NumericLessThan":{"request:Ratio":1}})",
     true},
    {"NumericExactBeyondDoublePrecision",
     R"({"NumericEquals":{"request:Big":9007199254740992}})", false},
    {"NumericExactInteger",
     R"({"NumericEquals":{"request:Big":9007199254740993}})", true},
    {"NumericIntVsDoubleIsExact",
     R"({"NumericGreaterThan":{"request:Big":9007199254740992.0}})", true},
    {"NumericHugeDouble", R"({"NumericLessThan":{"request:Amount":1e300}})",
     true},
    {"NumericHugeNegativeDouble",
     R"({"NumericGreaterThan":{"request:Amount":-1e300}})", true},
    {"NumericUnsignedBeyondInt64",
     R"({"NumericLessThan":{"request:Amount":18446744073709551615}})", true},
    // Date operators.
    {"DateLessThanMatch",
     R"({"DateLessThan":{"aztp:CurrentTime":"2027-01-15T08:00:01Z"}})", true},
    {"DateLessThanEqualIsFalse",
     R"({"DateLessThan":{"aztp:CurrentTime":"2027-01-15T08:00:00Z"}})", false},
    {"DateGreaterThanMatch",
     R"({"DateGreaterThan":{"aztp:CurrentTime":"2027-01-15T07:59:59Z"}})",
     true},
    {"DateGreaterThanWithOffset",
     R"({"DateGreaterThan":{"aztp:CurrentTime":"2027-01-15T09:00:00+01:00"}})",
     false},
    {"DateEqualsWithOffset",
     R"({"DateEquals":{"aztp:CurrentTime":"2027-01-15T09:00:00+01:00"}})",
     true},
    {"DateEqualsUnixSeconds",
     R"({"DateEquals":{"aztp:CurrentTime":1800000000}})", true},
    {"DateEqualsNanosecondApart",
     R"({"DateEquals":{"aztp:CurrentTime":"2027-01-15T08:00:00.000000001Z"}})",
     false},
    {"DateLessThanFraction",
     R"({"DateLessThan":{"aztp:CurrentTime":"2027-01-15T08:00:00.5Z"}})", true},
    {"DateNotEqualsNoMatch",
     R"({"DateNotEquals":{"aztp:CurrentTime":1800000000}})", false},
    {"DateNotEqualsMatch",
     R"({"DateNotEquals":{"aztp:CurrentTime":"2027-01-15T08:00:01Z"}})", true},
    {"DateLessThanEqualsEdge",
     R"({"DateLessThanEquals":{"aztp:CurrentTime":1800000000}})", true},
    {"DateGreaterThanEqualsEdge",
     R"({"DateGreaterThanEquals":{"aztp:CurrentTime":"2027-01-15T08:00:00Z"}})",
     true},
    {"DateGreaterThanEqualsNoMatch",
     R"({"DateGreaterThanEquals":{"aztp:CurrentTime":1800000001}})", false},
    {"DateLowercaseAndNegativeOffset",
     R"({"DateLessThan":{"aztp:CurrentTime":"2027-01-15t03:00:00-05:00"}})",
     false},
    {"DateRequestKey",
     R"({"DateGreaterThan":{"request:When":"2023-01-01T00:00:00Z"}})", true},
    {"DateWindowBothBounds",
     R"({"DateGreaterThan":{"aztp:CurrentTime":"2027-01-01T00:00:00Z"},)"
     R"("DateLessThan":{"aztp:CurrentTime":"2027-02-01T00:00:00Z"}})",
     true},
    // Bool and Null.
    {"BoolMatch", R"({"Bool":{"request:Flag":true}})", true},
    {"BoolStringFalseNoMatch", R"({"Bool":{"request:Flag":"false"}})", false},
    {"BoolStringTrueMatch", R"({"Bool":{"request:Flag":"true"}})", true},
    {"BoolMissingKey", R"({"Bool":{"request:Missing":true}})", false},
    {"NullTrueOnMissingKey", R"({"Null":{"request:Missing":true}})", true},
    {"NullTrueOnPresentKey", R"({"Null":{"request:Currency":true}})", false},
    {"NullFalseOnPresentKey", R"({"Null":{"request:Currency":"false"}})", true},
    {"NullFalseOnAztpKey", R"({"Null":{"aztp:CallerId":false}})", true},
    // Set qualifiers.
    {"ForAnyValueMatch",
     R"({"ForAnyValue:StringEquals":{"aztp:Capabilities":"payments:refund"}})",
     true},
    {"ForAnyValueNoMatch",
     R"({"ForAnyValue:StringEquals":{"aztp:Capabilities":"calendar:read"}})",
     false},
    {"ForAllValuesLikeMatch",
     R"({"ForAllValues:StringLike":{"aztp:Capabilities":"payments:*"}})", true},
    {"ForAllValuesLikeNoMatch",
     R"({"ForAllValues:StringLike":{"aztp:Capabilities":"payments:refund"}})",
     false},
    {"ForAllValuesSubset",
     R"({"ForAllValues:StringEquals":{"aztp:ChainTrustDomains":)"
     R"(["org-a.example","org-b.example","org-c.example"]}})",
     true},
    {"ForAllValuesNotSubset",
     R"({"ForAllValues:StringEquals":{"aztp:ChainTrustDomains":"org-a.example"}})",
     false},
    {"ForAnyValueLikePath",
     R"({"ForAnyValue:StringLike":{"aztp:ChainPath":"spiffe://org-b.example/*"}})",
     true},
    {"ForAnyValueNotEquals",
     R"({"ForAnyValue:StringNotEquals":{"aztp:ChainTrustDomains":"org-a.example"}})",
     true},
    {"ForAllValuesNotLikeMatch",
     R"({"ForAllValues:StringNotLike":{"aztp:ChainPath":"spiffe://evil.example/*"}})",
     true},
    {"ForAllValuesNotLikeNoMatch",
     R"({"ForAllValues:StringNotLike":{"aztp:ChainPath":"spiffe://org-b.example/*"}})",
     false},
    {"ForAnyValueEmptyList",
     R"({"ForAnyValue:StringEquals":{"request:Empty":"x"}})", false},
    {"ForAllValuesEmptyList",
     R"({"ForAllValues:StringEquals":{"request:Empty":"x"}})", true},
    {"ForAnyValueMissingList",
     R"({"ForAnyValue:StringEquals":{"request:Missing":"x"}})", false},
    {"ForAllValuesMissingList",
     R"({"ForAllValues:StringEquals":{"request:Missing":"x"}})", true},
    {"ForAnyValueIfExistsMissing",
     R"({"ForAnyValue:StringEqualsIfExists":{"request:Missing":"x"}})", true},
    {"ForAnyValueSingleStringIsOneElementList",
     R"({"ForAnyValue:StringEquals":{"request:Currency":"EUR"}})", true},
    {"ForAllValuesRequestList",
     R"({"ForAllValues:StringEquals":{"request:Tags":["urgent","vip","low"]}})",
     true},
    {"ForAnyValueRequestListLike",
     R"({"ForAnyValue:StringLike":{"request:Tags":"v*"}})", true},
    // Context values of the wrong type deny.
    {"ContextErrorNumericOnString",
     R"({"NumericLessThan":{"request:Currency":5}})", false,
     R"(denied: statement 0 ("C") cannot be evaluated: context key )"
     R"("request:Currency" is a string, NumericLessThan needs a number)"},
    {"ContextErrorListWithoutQualifier",
     R"({"StringEquals":{"request:Tags":"vip"}})", false,
     R"(denied: statement 0 ("C") cannot be evaluated: context key )"
     R"("request:Tags" is a list, StringEquals needs a single string )"
     R"((use ForAnyValue: or ForAllValues:))"},
    {"ContextErrorStringOnNumber",
     R"({"StringEquals":{"request:Amount":"250"}})", false,
     R"(denied: statement 0 ("C") cannot be evaluated: context key )"
     R"("request:Amount" is a number, StringEquals needs a string)"},
    {"ContextErrorDateOnNumber", R"({"DateLessThan":{"request:Amount":1}})",
     false,
     R"(denied: statement 0 ("C") cannot be evaluated: context key )"
     R"("request:Amount" is a number, DateLessThan needs a date)"},
    {"ContextErrorBoolOnString", R"({"Bool":{"request:Currency":true}})", false,
     R"(denied: statement 0 ("C") cannot be evaluated: context key )"
     R"("request:Currency" is a string, Bool needs a boolean)"},
    {"ContextErrorQualifierOnNumber",
     R"({"ForAnyValue:StringEquals":{"request:Amount":"x"}})", false,
     R"(denied: statement 0 ("C") cannot be evaluated: context key )"
     R"("request:Amount" is a number, ForAnyValue:StringEquals needs a list )"
     R"(of strings or a string)"},
    {"ContextErrorNaN", R"({"NumericLessThan":{"request:NaN":1}})", false,
     R"(denied: statement 0 ("C") cannot be evaluated: context key )"
     R"("request:NaN" is not a number)"},
    {"ContextErrorEvenForNegatedOperator",
     R"({"StringNotEquals":{"request:Amount":"x"}})", false,
     R"(denied: statement 0 ("C") cannot be evaluated: context key )"
     R"("request:Amount" is a number, StringNotEquals needs a string)"},
};

INSTANTIATE_TEST_SUITE_P(
    Operators, ConditionTest, ::testing::ValuesIn(kConditionCases),
    [](const ::testing::TestParamInfo<ConditionCase>& info) {
      return std::string(info.param.name);
    });

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

class EvaluateTest : public ::testing::TestWithParam<EvalCase> {};

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

INSTANTIATE_TEST_SUITE_P(Policies, EvaluateTest,
                         ::testing::ValuesIn(kEvalCases),
                         [](const ::testing::TestParamInfo<EvalCase>& info) {
                           return std::string(info.param.name);
                         });

// ---------------------------------------------------------------------------
// Validation: every mistake is an error naming the statement and member.

struct InvalidCase {
  const char* name;
  const char* policy;
  const char* message;  // the exact message
};

void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.name; }

class InvalidPolicyTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidPolicyTest, IsRejectedWithAClearMessage) {
  const InvalidCase& c = GetParam();
  auto p = ParsePolicy(c.policy);
  ASSERT_FALSE(p.has_value()) << c.policy;
  EXPECT_EQ(p.error().code(), Code::kMalformed);
  EXPECT_EQ(p.error().message(), c.message);
}

// S wraps one statement's members after a Sid "S".
#define S(members) R"({"Statement":{"Sid":"S",)" members "}}"
#define COND(condition) \
  S(R"("Effect":"Allow","Action":"*","Condition":)" condition)

const InvalidCase kInvalidCases[] = {
    {"NotAnObject", "[]", "policy: document must be a JSON object"},
    {"UnknownTopLevelMember",
     R"({"Id":"x","Statement":{"Effect":"Allow","Action":"a"}})",
     R"(policy: unknown top-level member "Id" (allowed: Version, Statement))"},
    {"VersionNotString",
     R"({"Version":2012,"Statement":{"Effect":"Allow","Action":"a"}})",
     R"(policy: member "Version" must be a string)"},
    {"StatementMissing", R"({"Version":"2012-10-17"})",
     R"(policy: member "Statement" is missing)"},
    {"StatementString", R"({"Statement":"Allow"})",
     R"(policy: member "Statement" must be an object or an array of objects)"},
    {"StatementEmpty", R"({"Statement":[]})",
     R"(policy: member "Statement" must hold at least one statement)"},
    {"StatementElementNotObject",
     R"({"Statement":[{"Effect":"Allow","Action":"a"},5]})",
     "policy: Statement[1]: must be an object"},
    {"SidNotString", R"({"Statement":{"Sid":1,"Effect":"Allow","Action":"a"}})",
     R"(policy: Statement[0]: member "Sid" must be a string)"},
    {"DuplicateSid",
     R"({"Statement":[{"Sid":"A","Effect":"Allow","Action":"a"},)"
     R"({"Sid":"A","Effect":"Deny","Action":"b"}]})",
     R"(policy: Statement[1] ("A"): Sid duplicates Statement[0])"},
    {"UnknownStatementMember", S(R"("Effect":"Allow","NotAction":"a")"),
     R"(policy: Statement[0] ("S"): unknown member "NotAction" (allowed: )"
     R"(Sid, Effect, Action, Resource, Condition))"},
    {"PrincipalUnsupported",
     S(R"("Effect":"Allow","Action":"a","Principal":"*")"),
     R"(policy: Statement[0] ("S"): unknown member "Principal" (allowed: )"
     R"(Sid, Effect, Action, Resource, Condition))"},
    {"EffectMissing", S(R"("Action":"a")"),
     R"(policy: Statement[0] ("S"): member "Effect" is missing)"},
    {"EffectNotString", S(R"("Effect":true,"Action":"a")"),
     R"(policy: Statement[0] ("S"): member "Effect" must be a string)"},
    {"EffectUnknown", S(R"("Effect":"allow","Action":"a")"),
     R"(policy: Statement[0] ("S"): member "Effect" must be "Allow", "Deny" )"
     R"(or "Audit", not "allow")"},
    {"ActionMissing", S(R"("Effect":"Allow")"),
     R"(policy: Statement[0] ("S"): member "Action" is missing)"},
    {"ActionEmptyList", S(R"("Effect":"Allow","Action":[])"),
     R"(policy: Statement[0] ("S"): member "Action" is an empty list)"},
    {"ActionItemNotString", S(R"("Effect":"Allow","Action":["a",1])"),
     R"(policy: Statement[0] ("S"): member "Action"[1] must be a string)"},
    {"ActionEmptyString", S(R"("Effect":"Allow","Action":"")"),
     R"(policy: Statement[0] ("S"): member "Action" is an empty string)"},
    {"ActionObject", S(R"("Effect":"Allow","Action":{})"),
     R"(policy: Statement[0] ("S"): member "Action" must be a string or an )"
     R"(array of strings)"},
    {"ResourceEmptyList", S(R"("Effect":"Allow","Action":"a","Resource":[])"),
     R"(policy: Statement[0] ("S"): member "Resource" is an empty list)"},
    {"ResourceEmptyItem",
     S(R"("Effect":"Allow","Action":"a","Resource":["x",""])"),
     R"(policy: Statement[0] ("S"): member "Resource"[1] is an empty string)"},
    {"ConditionNotObject", COND("[]"),
     R"(policy: Statement[0] ("S"): member "Condition" must be an object)"},
    {"ConditionEmpty", COND("{}"),
     R"(policy: Statement[0] ("S"): member "Condition" must hold at least )"
     R"(one operator)"},
    {"UnknownOperator", COND(R"({"StringEqual":{"request:x":"a"}})"),
     R"(policy: Statement[0] ("S"): Condition: unknown operator "StringEqual")"},
    {"UnknownQualifier",
     COND(R"({"ForSomeValues:StringEquals":{"request:x":"a"}})"),
     R"(policy: Statement[0] ("S"): Condition: unknown operator )"
     R"("ForSomeValues:StringEquals")"},
    {"OperatorLowercase", COND(R"({"stringequals":{"request:x":"a"}})"),
     R"(policy: Statement[0] ("S"): Condition: unknown operator "stringequals")"},
    {"OperatorBlockNotObject", COND(R"({"StringEquals":"a"})"),
     R"(policy: Statement[0] ("S"): Condition "StringEquals": must map )"
     R"(context keys to values)"},
    {"OperatorBlockEmpty", COND(R"({"StringEquals":{}})"),
     R"(policy: Statement[0] ("S"): Condition "StringEquals": names no )"
     R"(context key)"},
    {"UnknownAztpKey", COND(R"({"StringEquals":{"aztp:Caller":"a"}})"),
     R"(policy: Statement[0] ("S"): Condition "StringEquals": unknown )"
     R"(context key "aztp:Caller")"},
    {"AztpKeyWrongCase", COND(R"({"StringEquals":{"aztp:callerid":"a"}})"),
     R"(policy: Statement[0] ("S"): Condition "StringEquals": unknown )"
     R"(context key "aztp:callerid")"},
    {"KeyWithoutPrefix", COND(R"({"StringEquals":{"department":"a"}})"),
     R"(policy: Statement[0] ("S"): Condition "StringEquals": context key )"
     R"("department" must start with "aztp:" or "request:")"},
    {"RequestKeyWithoutName", COND(R"({"StringEquals":{"request:":"a"}})"),
     R"(policy: Statement[0] ("S"): Condition "StringEquals": context key )"
     R"("request:" has an empty name)"},
    {"ListKeyWithoutQualifier",
     COND(R"({"StringEquals":{"aztp:Capabilities":"a"}})"),
     R"(policy: Statement[0] ("S"): Condition "StringEquals": )"
     R"("aztp:Capabilities" is a list key; use ForAnyValue:StringEquals or )"
     R"(ForAllValues:StringEquals)"},
    {"ListKeyIfExistsWithoutQualifier",
     COND(R"({"StringLikeIfExists":{"aztp:ChainPath":"a"}})"),
     R"(policy: Statement[0] ("S"): Condition "StringLikeIfExists": )"
     R"("aztp:ChainPath" is a list key; use ForAnyValue:StringLike or )"
     R"(ForAllValues:StringLike)"},
    {"QualifierOnSingleValuedKey",
     COND(R"({"ForAnyValue:StringEquals":{"aztp:CallerId":"a"}})"),
     R"(policy: Statement[0] ("S"): Condition "ForAnyValue:StringEquals": )"
     R"("aztp:CallerId" is a single-valued key; drop the ForAnyValue: )"
     R"(qualifier)"},
    {"NumericOnStringKey", COND(R"({"NumericEquals":{"aztp:CallerId":1}})"),
     R"(policy: Statement[0] ("S"): Condition "NumericEquals": )"
     R"("aztp:CallerId" is a string key; NumericEquals needs a number key)"},
    {"DateOnNumberKey", COND(R"({"DateLessThan":{"aztp:ChainDepth":1}})"),
     R"(policy: Statement[0] ("S"): Condition "DateLessThan": )"
     R"("aztp:ChainDepth" is a number key; DateLessThan needs a date key)"},
    {"StringOnDateKey", COND(R"({"StringEquals":{"aztp:CurrentTime":"a"}})"),
     R"(policy: Statement[0] ("S"): Condition "StringEquals": )"
     R"("aztp:CurrentTime" is a date key; StringEquals needs a string key)"},
    {"NumericOnListKey", COND(R"({"NumericEquals":{"aztp:ChainPath":1}})"),
     R"(policy: Statement[0] ("S"): Condition "NumericEquals": )"
     R"("aztp:ChainPath" is a list key; NumericEquals needs a number key)"},
    {"BoolOnAztpKey", COND(R"({"Bool":{"aztp:CallerId":true}})"),
     R"(policy: Statement[0] ("S"): Condition "Bool": "aztp:CallerId" is a )"
     R"(string key; Bool needs a boolean key)"},
    {"QualifierOnNumericOperator",
     COND(R"({"ForAllValues:NumericEquals":{"request:x":1}})"),
     R"(policy: Statement[0] ("S"): Condition "ForAllValues:NumericEquals": )"
     R"(ForAnyValue: and ForAllValues: apply to String operators only)"},
    {"NullWithIfExists", COND(R"({"NullIfExists":{"request:x":true}})"),
     R"(policy: Statement[0] ("S"): Condition "NullIfExists": Null takes no )"
     R"(qualifier and no IfExists)"},
    {"EmptyValueList", COND(R"({"StringEquals":{"request:x":[]}})"),
     R"(policy: Statement[0] ("S"): Condition "StringEquals" key )"
     R"("request:x": has no values)"},
    {"StringValueNotString", COND(R"({"StringEquals":{"request:x":1}})"),
     R"(policy: Statement[0] ("S"): Condition "StringEquals" key )"
     R"("request:x": value 0 must be a string)"},
    {"StringValueNullInList",
     COND(R"({"StringLike":{"request:x":["a",null]}})"),
     R"(policy: Statement[0] ("S"): Condition "StringLike" key )"
     R"("request:x": value 1 must be a string)"},
    {"StringValueNestedList", COND(R"({"StringEquals":{"request:x":[["a"]]}})"),
     R"(policy: Statement[0] ("S"): Condition "StringEquals" key )"
     R"("request:x": value 0 must be a string)"},
    {"NumericValueString",
     COND(R"({"NumericLessThan":{"aztp:ChainDepth":"5"}})"),
     R"(policy: Statement[0] ("S"): Condition "NumericLessThan" key )"
     R"("aztp:ChainDepth": value 0 must be a number)"},
    {"DateValueImpossibleDay",
     COND(
         R"({"DateLessThan":{"aztp:CurrentTime":[1,"2024-02-30T00:00:00Z"]}})"),
     R"(policy: Statement[0] ("S"): Condition "DateLessThan" key )"
     R"("aztp:CurrentTime": value 1: date "2024-02-30T00:00:00Z": day out of )"
     R"(range)"},
    {"DateValueNoZone",
     COND(R"({"DateLessThan":{"aztp:CurrentTime":"2024-02-01T00:00:00"}})"),
     R"(policy: Statement[0] ("S"): Condition "DateLessThan" key )"
     R"("aztp:CurrentTime": value 0: date "2024-02-01T00:00:00": must be )"
     R"(YYYY-MM-DDTHH:MM:SS[.fraction] and a zone)"},
    {"DateValueFloat", COND(R"({"DateLessThan":{"aztp:CurrentTime":1.5}})"),
     R"(policy: Statement[0] ("S"): Condition "DateLessThan" key )"
     R"("aztp:CurrentTime": value 0 must be an RFC 3339 date string or an )"
     R"(integer of Unix seconds)"},
    {"BoolValueYes", COND(R"({"Bool":{"request:x":"yes"}})"),
     R"(policy: Statement[0] ("S"): Condition "Bool" key "request:x": value )"
     R"(0 must be true or false)"},
    {"ErrorsNameTheStatementIndex",
     R"({"Statement":[{"Effect":"Allow","Action":"a"},{"Effect":"Allow",)"
     R"("Action":"b"},{"Sid":"Third","Effect":"Permit","Action":"c"}]})",
     R"(policy: Statement[2] ("Third"): member "Effect" must be "Allow", )"
     R"("Deny" or "Audit", not "Permit")"},
    {"ControlBytesInNamesAreEscaped",
     R"({"Statement":{"Sid":"a\u0001b","Effect":"Allow","Action":"a","X\n":1}})",
     R"(policy: Statement[0] ("a\x01b"): unknown member "X\x0a" (allowed: )"
     R"(Sid, Effect, Action, Resource, Condition))"},
};

#undef COND
#undef S

INSTANTIATE_TEST_SUITE_P(Validation, InvalidPolicyTest,
                         ::testing::ValuesIn(kInvalidCases),
                         [](const ::testing::TestParamInfo<InvalidCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(PolicyParseTest, RejectsBadJson) {
  auto p = ParsePolicy(R"({"Statement":)");
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().code(), Code::kMalformed);
  EXPECT_TRUE(p.error().message().starts_with("policy: json: "))
      << p.error().message();

  auto dup = ParsePolicy(
      R"({"Statement":{"Effect":"Allow","Effect":"Deny","Action":"a"}})");
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().message(),
            R"(policy: json: duplicate member "Effect")");
}

TEST(PolicyParseTest, EnforcesTheSizeLimit) {
  const std::string head = R"({"Statement":{"Effect":"Allow","Action":")";
  const std::string tail = R"("}})";
  std::string fits =
      head + std::string(Policy::kMaxBytes - head.size() - tail.size(), 'a') +
      tail;
  ASSERT_EQ(fits.size(), Policy::kMaxBytes);
  EXPECT_TRUE(ParsePolicy(fits).has_value());
  std::string big =
      head +
      std::string(Policy::kMaxBytes + 1 - head.size() - tail.size(), 'a') +
      tail;
  auto p = ParsePolicy(big);
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().code(), Code::kTooLarge);
  EXPECT_EQ(p.error().message(), "policy: document larger than 65536 bytes");
}

TEST(PolicyParseTest, EnforcesTheStatementLimit) {
  Json doc = {{"Statement", Json::array()}};
  for (int i = 0; i < 100; ++i) {
    doc["Statement"].push_back({{"Effect", "Allow"}, {"Action", "a"}});
  }
  auto ok = ParsePolicy(DumpJson(doc));
  ASSERT_TRUE(ok.has_value()) << ok.error().message();
  EXPECT_EQ(ok->statements().size(), 100u);
  doc["Statement"].push_back({{"Effect", "Allow"}, {"Action", "a"}});
  auto p = ParsePolicy(DumpJson(doc));
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().code(), Code::kTooLarge);
  EXPECT_EQ(p.error().message(), "policy: more than 100 statements");
  EXPECT_EQ(PolicyFromJson(doc).error().message(),
            "policy: more than 100 statements");
}

TEST(PolicyParseTest, ExposesTheParsedDocument) {
  Policy p = MustParse(R"({"Version":"2024-01-01","Statement":[
      {"Sid":"Pay","Effect":"Audit","Action":["payments:*","x"],
       "Resource":"invoices/*",
       "Condition":{"ForAllValues:StringLikeIfExists":{"aztp:ChainPath":"a*"},
                    "Bool":{"request:Flag":"true"}}},
      {"Effect":"Deny","Action":"y"}]})");
  EXPECT_EQ(p.version(), "2024-01-01");
  ASSERT_EQ(p.statements().size(), 2u);
  const Statement& s = p.statements()[0];
  EXPECT_EQ(s.sid(), "Pay");
  EXPECT_EQ(s.effect(), Effect::kAudit);
  EXPECT_EQ(s.actions(), (std::vector<std::string>{"payments:*", "x"}));
  EXPECT_EQ(s.resources(), std::vector<std::string>{"invoices/*"});
  ASSERT_EQ(s.conditions().size(), 2u);
  const Condition& c = s.conditions()[0];
  EXPECT_EQ(c.op_name(), "ForAllValues:StringLikeIfExists");
  EXPECT_EQ(c.op(), ConditionOperator::kStringLike);
  EXPECT_EQ(c.qualifier(), SetQualifier::kForAllValues);
  EXPECT_TRUE(c.if_exists());
  EXPECT_EQ(c.key(), "aztp:ChainPath");
  EXPECT_EQ(c.values(), Json::array({"a*"}));
  EXPECT_EQ(s.conditions()[1].values(), Json::array({true}));
  EXPECT_FALSE(p.statements()[1].sid().has_value());
  EXPECT_FALSE(p.statements()[1].resources().has_value());
  EXPECT_TRUE(p.statements()[1].MatchesResource("anything"));
  EXPECT_TRUE(s.MatchesAction("payments:x"));
  EXPECT_FALSE(s.MatchesResource("orders/1"));
  EXPECT_EQ(EffectString(Effect::kAudit), "Audit");
  EXPECT_EQ(VerdictString(Verdict::kAudit), "audit");
}

TEST(PolicyJsonTest, ToJsonIsCanonical) {
  Policy p = MustParse(R"({"Statement":{"Effect":"Allow","Sid":"A",
      "Condition":{"Bool":{"request:Flag":"false"},
                   "DateLessThan":{"aztp:CurrentTime":"2027-01-01T00:00:00Z"}},
      "Action":"a"}})");
  EXPECT_EQ(
      DumpJson(p.ToJson()),
      R"({"Statement":[{"Sid":"A","Effect":"Allow","Action":["a"],"Condition":)"
      R"({"Bool":{"request:Flag":[false]},"DateLessThan":{"aztp:CurrentTime":)"
      R"(["2027-01-01T00:00:00Z"]}}}]})");
  Policy q = MustParse(
      R"({"Version":"v","Statement":[{"Effect":"Deny","Action":["a","b"],)"
      R"("Resource":"r"}]})");
  EXPECT_EQ(
      DumpJson(q.ToJson()),
      R"({"Version":"v","Statement":[{"Effect":"Deny","Action":["a","b"],)"
      R"("Resource":["r"]}]})");
  // Canonical text parses back to an equal policy, whose canonical text is
  // the same.
  for (const Policy* policy : {&p, &q}) {
    Policy again = MustParse(DumpJson(policy->ToJson()));
    EXPECT_EQ(again, *policy);
    EXPECT_EQ(again.ToJson(), policy->ToJson());
  }
  EXPECT_NE(p, q);
}

TEST(PolicyJsonTest, RoundTripsEveryTableCase) {
  for (const auto& c : kEvalCases) {
    Policy p = MustParse(c.policy);
    Policy again = MustParse(DumpJson(p.ToJson()));
    EXPECT_EQ(again, p) << c.name;
    EXPECT_EQ(again.ToJson(), p.ToJson()) << c.name;
  }
}

// ---------------------------------------------------------------------------
// Dates.

TEST(Rfc3339Test, ParsesInstants) {
  struct Case {
    const char* text;
    int64_t seconds;
    int32_t nanos;
  };
  const Case cases[] = {
      {"1970-01-01T00:00:00Z", 0, 0},
      {"2027-01-15T08:00:00Z", 1800000000, 0},
      {"2027-01-15T09:30:00+01:30", 1800000000, 0},
      {"2027-01-15t08:00:00z", 1800000000, 0},
      {"1969-12-31T23:59:59Z", -1, 0},
      {"2024-02-29T00:00:00Z", 1709164800, 0},
      {"2000-02-29T12:00:00.25Z", 951825600, 250000000},
      {"2001-09-09T01:46:40.123456789Z", 1000000000, 123456789},
      {"0000-01-01T00:00:00Z", -62167219200, 0},
      {"9999-12-31T23:59:59Z", 253402300799, 0},
      {"1970-01-01T00:00:00-23:59", 86340, 0},
  };
  for (const auto& c : cases) {
    auto t = ParseRfc3339(c.text);
    ASSERT_TRUE(t.has_value()) << c.text << ": " << t.error().message();
    EXPECT_EQ(t->seconds, c.seconds) << c.text;
    EXPECT_EQ(t->nanos, c.nanos) << c.text;
  }
}

TEST(Rfc3339Test, RejectsNonRfc3339) {
  for (const char* bad :
       {"", "2027-01-15", "2027-01-15T08:00:00", "2027-01-15 08:00:00Z",
        "2027-1-15T08:00:00Z", "2027-13-01T00:00:00Z", "2027-00-01T00:00:00Z",
        "2023-02-29T00:00:00Z", "2027-04-31T00:00:00Z", "2027-01-15T24:00:00Z",
        "2027-01-15T08:60:00Z", "2016-12-31T23:59:60Z", "2027-01-15T08:00:00.Z",
        "2027-01-15T08:00:00.1234567891Z", "2027-01-15T08:00:00+0100",
        "2027-01-15T08:00:00+24:00", "2027-01-15T08:00:00Zjunk",
        "+2027-01-15T08:00:00Z", "2027-01-15T08:00:00UTC"}) {
    auto t = ParseRfc3339(bad);
    ASSERT_FALSE(t.has_value()) << bad;
    EXPECT_EQ(t.error().code(), Code::kMalformed) << bad;
    EXPECT_TRUE(t.error().message().starts_with("date \"")) << bad;
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

class ChainContextTest : public ::testing::Test {
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
    return Must(ChainVerifier::Create(std::move(o)));
  }

  // Chain mints planner -> research -> payments for the user alice, and
  // returns it verified at payments.
  VerifiedChain Chain() {
    MintOptions m;
    m.audience = Must(SpiffeId::Parse(kResearch));
    m.capabilities =
        Must(CapabilitySet::FromStrings({"payments:*", "calendar:read"}));
    m.subject = "oidc:https://idp.example#alice";
    m.txn = "txn-42";
    std::string c0 = Must(MintChain(domains_.Signer(kPlanner), m, kNow));
    VerifiedChain at_research = Must(VerifierFor(kResearch)->Verify(c0));
    ExtendOptions e;
    e.audience = Must(SpiffeId::Parse(kPayments));
    e.capabilities = Must(CapabilitySet::FromStrings({"payments:quote"}));
    std::string c1 =
        Must(ExtendChain(at_research, domains_.Signer(kResearch), e, kNow));
    return Must(VerifierFor(kPayments)->Verify(c1));
  }

  testing::TestDomains domains_;
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
  EXPECT_EQ(str("aztp:OriginId"), kPlanner);
  EXPECT_EQ(str("aztp:OriginSubject"), "oidc:https://idp.example#alice");
  EXPECT_EQ(str("aztp:TargetId"), kPayments);
  EXPECT_EQ(str("aztp:Txn"), "txn-42");
  EXPECT_EQ(std::get<int64_t>(*c.Find("aztp:ChainDepth")), 1);
  EXPECT_EQ(list("aztp:ChainPath"),
            (std::vector<std::string>{kPlanner, kResearch, kPayments}));
  EXPECT_EQ(list("aztp:ChainTrustDomains"),
            (std::vector<std::string>{"org-a.example", "org-b.example"}));
  EXPECT_EQ(list("aztp:Capabilities"),
            std::vector<std::string>{"payments:quote"});
  EXPECT_EQ(std::get<PolicyTime>(*c.Find("aztp:CurrentTime")),
            (PolicyTime{kNow + 5, 0}));
  EXPECT_EQ(c.values.size(), 11u);
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
}  // namespace aztp

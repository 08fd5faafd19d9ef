// Policy conditions, one table row per case run as a separate
// parameterised test asserting the exact decision and reason.
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <string>
#include <vector>

#include "aztp/policy/policy.h"
#include "policy/policy_test_util.h"
#include "testing/trust_domains.h"

namespace aztp::policy_test {
namespace {

using test_support::Must;

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

class ConditionTest : public testing::TestWithParam<ConditionCase> {};

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

INSTANTIATE_TEST_SUITE_P(Operators, ConditionTest,
                         testing::ValuesIn(kConditionCases),
                         [](const testing::TestParamInfo<ConditionCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace aztp::policy_test

// Policy parsing, validation, canonical form and dates. Most cases are
// table rows run as separate parameterised tests, each asserting the exact
// validation message.
#include <gtest/gtest.h>

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
// Validation: every mistake is an error naming the statement and member.

struct InvalidCase {
  const char* name;
  const char* policy;
  const char* message;  // the exact message
};

void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.name; }

class InvalidPolicyTest : public testing::TestWithParam<InvalidCase> {};

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
                         testing::ValuesIn(kInvalidCases),
                         [](const testing::TestParamInfo<InvalidCase>& info) {
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

}  // namespace
}  // namespace aztp::policy_test

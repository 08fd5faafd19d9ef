// The condition operators, shared by the parsing (policy.cc) and the
// evaluation (evaluate.cc) of policy documents; not installed.
#pragma once

#include <string>
#include <string_view>

#include "aztp/policy/policy.h"

namespace aztp::policy_internal {

enum class Family { kString, kNumeric, kDate, kBool, kNull };

struct OperatorInfo {
  std::string_view name;
  ConditionOperator op;
  Family family;
  // negated operators hold for an absent key (as in IAM) and test that no
  // value matches.
  bool negated;
};

inline constexpr OperatorInfo kOperators[] = {
    {"StringEquals", ConditionOperator::kStringEquals, Family::kString, false},
    {"StringNotEquals", ConditionOperator::kStringNotEquals, Family::kString,
     true},
    {"StringLike", ConditionOperator::kStringLike, Family::kString, false},
    {"StringNotLike", ConditionOperator::kStringNotLike, Family::kString, true},
    {"NumericEquals", ConditionOperator::kNumericEquals, Family::kNumeric,
     false},
    {"NumericNotEquals", ConditionOperator::kNumericNotEquals, Family::kNumeric,
     true},
    {"NumericLessThan", ConditionOperator::kNumericLessThan, Family::kNumeric,
     false},
    {"NumericLessThanEquals", ConditionOperator::kNumericLessThanEquals,
     Family::kNumeric, false},
    {"NumericGreaterThan", ConditionOperator::kNumericGreaterThan,
     Family::kNumeric, false},
    {"NumericGreaterThanEquals", ConditionOperator::kNumericGreaterThanEquals,
     Family::kNumeric, false},
    {"DateEquals", ConditionOperator::kDateEquals, Family::kDate, false},
    {"DateNotEquals", ConditionOperator::kDateNotEquals, Family::kDate, true},
    {"DateLessThan", ConditionOperator::kDateLessThan, Family::kDate, false},
    {"DateLessThanEquals", ConditionOperator::kDateLessThanEquals,
     Family::kDate, false},
    {"DateGreaterThan", ConditionOperator::kDateGreaterThan, Family::kDate,
     false},
    {"DateGreaterThanEquals", ConditionOperator::kDateGreaterThanEquals,
     Family::kDate, false},
    {"Bool", ConditionOperator::kBool, Family::kBool, false},
    {"Null", ConditionOperator::kNull, Family::kNull, false},
};

// InfoOf finds an operator's entry in kOperators.
inline const OperatorInfo& InfoOf(ConditionOperator op) {
  for (const auto& info : kOperators) {
    if (info.op == op) return info;
  }
  return kOperators[0];  // unreachable: every operator is in the table
}

// Quoted quotes text from a policy or a request for a message.
inline std::string Quoted(std::string_view s) { return QuoteInput(s); }

}  // namespace aztp::policy_internal

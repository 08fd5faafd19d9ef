// Evaluation of policies against a request (IAM semantics: an explicit
// Deny wins, then a context error, then Audit, then Allow; else a default
// deny).
#include <cmath>
#include <cstdint>
#include <utility>

#include "aztp/policy/policy.h"
#include "policy/policy_internal.h"

namespace aztp {

namespace {

using policy_internal::Family;
using policy_internal::InfoOf;
using policy_internal::OperatorInfo;
using policy_internal::Quoted;

// ---------------------------------------------------------------------------
// Glob matching: `*` matches any run of characters (including none, and
// including ':' and '/'), `?` exactly one UTF-8 character; every other byte
// matches itself.

// CharLength is the length of the UTF-8 character at `s[i]`; a byte that
// does not start a well-formed sequence counts as one character.
std::size_t CharLength(std::string_view s, std::size_t i) {
  const auto lead = static_cast<unsigned char>(s[i]);
  std::size_t n = 1;
  if (lead >= 0xC0 && lead <= 0xDF) {
    n = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    n = 3;
  } else if (lead >= 0xF0 && lead <= 0xF7) {
    n = 4;
  }
  for (std::size_t k = 1; k < n; ++k) {
    if (i + k >= s.size() ||
        (static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
      return k;
    }
  }
  return n;
}

// GlobMatch runs in O(|pattern| * |text|) at worst: on a mismatch it lets
// the most recent `*` absorb one more character and retries from there.
bool GlobMatch(std::string_view pattern, std::string_view text) {
  constexpr std::size_t kNone = std::string_view::npos;
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = kNone;  // pattern index just after the last `*`
  std::size_t resume = 0;    // text index that `*` will absorb up to next
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = ++p;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == '?') {
      ++p;
      t += CharLength(text, t);
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != kNone) {
      resume += CharLength(text, resume);
      t = resume;
      p = star;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool AnyGlob(const std::vector<std::string>& patterns, std::string_view text) {
  for (const auto& p : patterns) {
    if (GlobMatch(p, text)) return true;
  }
  return false;
}

}  // namespace

bool Statement::MatchesAction(std::string_view action) const {
  return AnyGlob(actions_, action);
}

bool Statement::MatchesResource(std::string_view resource) const {
  return !resources_ || AnyGlob(*resources_, resource);
}

namespace {

// ---------------------------------------------------------------------------
// Evaluation.

// Number is an exact JSON or context number.
struct Number {
  bool is_int = true;
  int64_t i = 0;
  double d = 0;
};

Number NumberOf(const Json& v) {
  if (IsInteger(v)) return Number{true, v.get<int64_t>(), 0};
  return Number{false, 0, v.get<double>()};
}

// CompareIntDouble compares exactly, without rounding `i` to a double.
int CompareIntDouble(int64_t i, double d) {
  if (d >= 9223372036854775808.0) return -1;  // 2^63: above every int64
  if (d < -9223372036854775808.0) return 1;
  const double floor = std::floor(d);
  const auto whole = static_cast<int64_t>(floor);
  if (i < whole) return -1;
  if (i > whole) return 1;
  return d > floor ? -1 : 0;
}

int Compare(const Number& a, const Number& b) {
  if (a.is_int && b.is_int) return a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
  if (a.is_int) return CompareIntDouble(a.i, b.d);
  if (b.is_int) return -CompareIntDouble(b.i, a.d);
  return a.d < b.d ? -1 : (a.d > b.d ? 1 : 0);
}

template <typename T>
int Compare3(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// Holds applies a comparison operator to the sign of (context - value).
bool Holds(ConditionOperator op, int sign) {
  switch (op) {
    case ConditionOperator::kNumericEquals:
    case ConditionOperator::kNumericNotEquals:
    case ConditionOperator::kDateEquals:
    case ConditionOperator::kDateNotEquals:
      return sign == 0;
    case ConditionOperator::kNumericLessThan:
    case ConditionOperator::kDateLessThan:
      return sign < 0;
    case ConditionOperator::kNumericLessThanEquals:
    case ConditionOperator::kDateLessThanEquals:
      return sign <= 0;
    case ConditionOperator::kNumericGreaterThan:
    case ConditionOperator::kDateGreaterThan:
      return sign > 0;
    case ConditionOperator::kNumericGreaterThanEquals:
    case ConditionOperator::kDateGreaterThanEquals:
      return sign >= 0;
    default:
      return false;
  }
}

std::string_view TypeName(const ContextValue& v) {
  switch (v.index()) {
    case 0:
      return "a string";
    case 1:
    case 2:
      return "a number";
    case 3:
      return "a boolean";
    case 4:
      return "a list";
    case 5:
      return "a date";
  }
  return "?";
}

// Outcome of one condition (or one value test): a match, or a context
// error explaining why the condition cannot be evaluated.
struct Outcome {
  bool match = false;
  std::string error;
  // absent: no match because the key is not in the context (the most
  // common reason a statement that should apply does not).
  bool absent = false;
};

Outcome Mismatch(const Condition& c, std::string_view is,
                 std::string_view needs) {
  return Outcome{false, "context key " + Quoted(c.key()) + " is " +
                            std::string(is) + ", " + c.op_name() + " needs " +
                            std::string(needs)};
}

// Single tests one (non-list) context value against the condition's values:
// some value matches (OR), inverted for the negated operators.
Outcome Single(const Condition& c, const ContextValue& v) {
  const OperatorInfo& info = InfoOf(c.op());
  bool any = false;
  switch (info.family) {
    case Family::kString: {
      const auto* s = std::get_if<std::string>(&v);
      if (!s) {
        if (std::holds_alternative<std::vector<std::string>>(v)) {
          return Mismatch(c, "a list",
                          "a single string (use ForAnyValue: or "
                          "ForAllValues:)");
        }
        return Mismatch(c, TypeName(v), "a string");
      }
      const bool like = c.op() == ConditionOperator::kStringLike ||
                        c.op() == ConditionOperator::kStringNotLike;
      for (const auto& value : c.values()) {
        const auto& pattern = value.get_ref<const std::string&>();
        if (like ? GlobMatch(pattern, *s) : pattern == *s) {
          any = true;
          break;
        }
      }
      break;
    }
    case Family::kNumeric: {
      Number n;
      if (const auto* i = std::get_if<int64_t>(&v)) {
        n = Number{true, *i, 0};
      } else if (const auto* d = std::get_if<double>(&v)) {
        if (std::isnan(*d)) {
          return Outcome{false,
                         "context key " + Quoted(c.key()) + " is not a number"};
        }
        n = Number{false, 0, *d};
      } else {
        return Mismatch(c, TypeName(v), "a number");
      }
      for (const auto& value : c.values()) {
        if (Holds(c.op(), Compare(n, NumberOf(value)))) {
          any = true;
          break;
        }
      }
      break;
    }
    case Family::kDate: {
      const auto* t = std::get_if<PolicyTime>(&v);
      if (!t) return Mismatch(c, TypeName(v), "a date");
      for (const auto& value : c.dates()) {
        if (Holds(c.op(), Compare3(*t, value))) {
          any = true;
          break;
        }
      }
      break;
    }
    case Family::kBool: {
      const auto* b = std::get_if<bool>(&v);
      if (!b) return Mismatch(c, TypeName(v), "a boolean");
      for (const auto& value : c.values()) {
        if (value.get<bool>() == *b) {
          any = true;
          break;
        }
      }
      break;
    }
    case Family::kNull:
      break;
  }
  return Outcome{info.negated ? !any : any, ""};
}

// Evaluate tests one condition against the context (IAM semantics).
Outcome EvaluateCondition(const Condition& c, const PolicyContext& context) {
  const ContextValue* v = context.Find(c.key());
  if (c.op() == ConditionOperator::kNull) {
    const bool absent = v == nullptr;
    for (const auto& value : c.values()) {
      if (value.get<bool>() == absent) return Outcome{true, ""};
    }
    return Outcome{false, "", absent};
  }
  if (v == nullptr) {
    if (c.if_exists()) return Outcome{true, ""};
    switch (c.qualifier()) {
      case SetQualifier::kForAllValues:
        return Outcome{true, ""};
      case SetQualifier::kForAnyValue:
        return Outcome{false, "", true};
      case SetQualifier::kNone:
        return Outcome{InfoOf(c.op()).negated, "", !InfoOf(c.op()).negated};
    }
  }
  if (c.qualifier() == SetQualifier::kNone) return Single(c, *v);
  // A qualified operator reads a list of strings; a single string is a
  // one-element list.
  std::vector<std::string> one;
  const std::vector<std::string>* items =
      std::get_if<std::vector<std::string>>(v);
  if (items == nullptr) {
    const auto* s = std::get_if<std::string>(v);
    if (s == nullptr) {
      return Mismatch(c, TypeName(*v), "a list of strings or a string");
    }
    one.push_back(*s);
    items = &one;
  }
  const bool all = c.qualifier() == SetQualifier::kForAllValues;
  for (const auto& item : *items) {
    Outcome o = Single(c, ContextValue(item));
    if (!o.error.empty()) return o;
    if (all && !o.match) return Outcome{false, ""};
    if (!all && o.match) return Outcome{true, ""};
  }
  return Outcome{all, ""};
}

// Hit is a statement that applied to the request (or failed to evaluate).
struct Hit {
  std::optional<std::size_t> policy;
  std::size_t statement = 0;
  const Statement* s = nullptr;
  std::string error;
  std::string absent_key;  // the key whose absence kept it from applying
};

struct Tally {
  std::optional<Hit> deny, error, audit, allow;
  // absent: the first Allow or Audit statement for the request that did
  // not apply only for want of a context key, to explain a default deny.
  std::optional<Hit> absent;
};

void Scan(const Policy& policy, std::optional<std::size_t> policy_index,
          const PolicyRequest& request, Tally& tally) {
  const auto& statements = policy.statements();
  for (std::size_t i = 0; i < statements.size() && !tally.deny; ++i) {
    const Statement& s = statements[i];
    if (!s.MatchesAction(request.action) ||
        !s.MatchesResource(request.resource)) {
      continue;
    }
    bool applies = true;
    std::string error;
    std::string absent_key;
    for (const auto& c : s.conditions()) {
      Outcome o = EvaluateCondition(c, request.context);
      if (!o.error.empty()) {
        error = std::move(o.error);
        applies = false;
        break;
      }
      if (!o.match) {
        if (o.absent) absent_key = c.key();
        applies = false;
        break;
      }
    }
    Hit hit{policy_index, i, &s, std::move(error), std::move(absent_key)};
    if (!hit.error.empty()) {
      if (!tally.error) tally.error = std::move(hit);
      continue;
    }
    if (!applies) {
      if (!hit.absent_key.empty() && s.effect() != Effect::kDeny &&
          !tally.absent) {
        tally.absent = std::move(hit);
      }
      continue;
    }
    switch (s.effect()) {
      case Effect::kDeny:
        tally.deny = std::move(hit);
        break;
      case Effect::kAudit:
        if (!tally.audit) tally.audit = std::move(hit);
        break;
      case Effect::kAllow:
        if (!tally.allow) tally.allow = std::move(hit);
        break;
    }
  }
}

std::string HitName(const Hit& hit) {
  std::string s;
  if (hit.policy) s = "policy " + std::to_string(*hit.policy) + " ";
  s += "statement " + std::to_string(hit.statement);
  if (hit.s->sid()) s += " (" + Quoted(*hit.s->sid()) + ")";
  return s;
}

Decision FromHit(const Hit& hit, Verdict verdict, DecisionBasis basis,
                 std::string reason) {
  Decision d;
  d.verdict = verdict;
  d.basis = basis;
  d.policy_index = hit.policy;
  d.statement_index = hit.statement;
  d.sid = hit.s->sid();
  d.reason = std::move(reason);
  return d;
}

Decision Decide(const Tally& tally, const PolicyRequest& request) {
  if (tally.deny) {
    return FromHit(*tally.deny, Verdict::kDeny, DecisionBasis::kExplicitDeny,
                   "denied by " + HitName(*tally.deny));
  }
  if (tally.error) {
    return FromHit(*tally.error, Verdict::kDeny, DecisionBasis::kContextError,
                   "denied: " + HitName(*tally.error) +
                       " cannot be evaluated: " + tally.error->error);
  }
  if (tally.audit) {
    return FromHit(*tally.audit, Verdict::kAudit, DecisionBasis::kStatement,
                   "allowed and flagged for audit by " + HitName(*tally.audit));
  }
  if (tally.allow) {
    return FromHit(*tally.allow, Verdict::kAllow, DecisionBasis::kStatement,
                   "allowed by " + HitName(*tally.allow));
  }
  Decision d;
  d.reason = "no statement allows " + Quoted(request.action) + " on " +
             Quoted(request.resource);
  if (tally.absent) {
    // Still a default deny (an absent key never allows), but the caller
    // learns what to add rather than to look for a missing statement.
    d.reason += ": " + HitName(*tally.absent) + " needs context key " +
                Quoted(tally.absent->absent_key) + ", which is absent";
  }
  return d;
}

}  // namespace

Decision Evaluate(const Policy& policy, const PolicyRequest& request) {
  Tally tally;
  Scan(policy, std::nullopt, request, tally);
  return Decide(tally, request);
}

Decision EvaluateAll(const std::vector<const Policy*>& policies,
                     const PolicyRequest& request) {
  Tally tally;
  for (std::size_t i = 0; i < policies.size() && !tally.deny; ++i) {
    if (policies[i] != nullptr) Scan(*policies[i], i, request, tally);
  }
  return Decide(tally, request);
}

}  // namespace aztp

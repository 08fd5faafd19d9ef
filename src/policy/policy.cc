// Parsing, validation, canonical form and evaluation of policy documents.
#include "aztp/policy/policy.h"

#include <cmath>
#include <cstdint>
#include <utility>

namespace aztp {

// PolicyAccess builds the policy classes; only this file uses it.
struct internal::PolicyAccess {
  static Result<Policy> FromJson(const Json& document);
  static Result<Statement> ParseStatement(const Json& value, std::size_t index);
  static Status ParseConditions(const Json& value, const std::string& where,
                                Statement& statement);
};

namespace {

// ---------------------------------------------------------------------------
// Vocabulary.

enum class Family { kString, kNumeric, kDate, kBool, kNull };

struct OperatorInfo {
  std::string_view name;
  ConditionOperator op;
  Family family;
  // negated operators hold for an absent key (as in IAM) and test that no
  // value matches.
  bool negated;
};

constexpr OperatorInfo kOperators[] = {
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

const OperatorInfo& InfoOf(ConditionOperator op) {
  for (const auto& info : kOperators) {
    if (info.op == op) return info;
  }
  return kOperators[0];  // unreachable: every operator is in the table
}

enum class KeyType { kString, kNumber, kDate, kList };

struct KnownKey {
  std::string_view name;
  KeyType type;
};

constexpr KnownKey kKnownKeys[] = {
    {"aztp:CallerId", KeyType::kString},
    {"aztp:CallerTrustDomain", KeyType::kString},
    {"aztp:OriginSubject", KeyType::kString},
    {"aztp:OriginId", KeyType::kString},
    {"aztp:ChainDepth", KeyType::kNumber},
    {"aztp:ChainPath", KeyType::kList},
    {"aztp:ChainTrustDomains", KeyType::kList},
    {"aztp:Capabilities", KeyType::kList},
    {"aztp:CurrentTime", KeyType::kDate},
    {"aztp:TargetId", KeyType::kString},
    {"aztp:Txn", KeyType::kString},
};

constexpr std::string_view kAztpPrefix = "aztp:";
constexpr std::string_view kRequestPrefix = "request:";
constexpr std::string_view kForAnyValue = "ForAnyValue:";
constexpr std::string_view kForAllValues = "ForAllValues:";
constexpr std::string_view kIfExists = "IfExists";

std::string_view KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kString:
      return "a string";
    case KeyType::kNumber:
      return "a number";
    case KeyType::kDate:
      return "a date";
    case KeyType::kList:
      return "a list";
  }
  return "?";
}

// FamilyNeeds names the single value an operator family compares.
std::string_view FamilyNeeds(Family family) {
  switch (family) {
    case Family::kString:
      return "a string";
    case Family::kNumeric:
      return "a number";
    case Family::kDate:
      return "a date";
    case Family::kBool:
      return "a boolean";
    case Family::kNull:
      return "any value";
  }
  return "?";
}

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

// ---------------------------------------------------------------------------
// Dates.

// DaysFromCivil counts days from 1970-01-01 to the proleptic Gregorian date
// y-m-d, using 400-year eras of 146097 days that start on March 1.
int64_t DaysFromCivil(int64_t y, int m, int d) {
  if (m <= 2) y -= 1;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t year_of_era = y - era * 400;               // [0, 399]
  const int64_t month_from_march = m > 2 ? m - 3 : m + 9;  // [0, 11]
  const int64_t day_of_year = (153 * month_from_march + 2) / 5 + d - 1;
  const int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

// Digits reads `count` decimal digits at `text[pos]`.
std::optional<int> Digits(std::string_view text, std::size_t pos,
                          std::size_t count) {
  if (pos + count > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace

Result<PolicyTime> ParseRfc3339(std::string_view text) {
  auto bad = [&](std::string_view what) {
    return Error(Code::kMalformed,
                 "date " + QuoteInput(text) + ": " + std::string(what));
  };
  // YYYY-MM-DDTHH:MM:SS is 19 bytes.
  const auto year = Digits(text, 0, 4);
  const auto month = Digits(text, 5, 2);
  const auto day = Digits(text, 8, 2);
  const auto hour = Digits(text, 11, 2);
  const auto minute = Digits(text, 14, 2);
  const auto second = Digits(text, 17, 2);
  if (text.size() < 20 || !year || !month || !day || !hour || !minute ||
      !second || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
      text[16] != ':') {
    return bad("must be YYYY-MM-DDTHH:MM:SS[.fraction] and a zone");
  }
  if (*month < 1 || *month > 12) return bad("month out of range");
  if (*day < 1 || *day > DaysInMonth(*year, *month)) {
    return bad("day out of range");
  }
  if (*hour > 23 || *minute > 59) return bad("time out of range");
  if (*second > 59) return bad("seconds out of range (no leap seconds)");
  std::size_t pos = 19;
  int32_t nanos = 0;
  if (text[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (++digits > 9) return bad("more than 9 fraction digits");
      nanos = nanos * 10 + (text[pos] - '0');
      ++pos;
    }
    if (digits == 0) return bad("empty fraction");
    for (std::size_t i = digits; i < 9; ++i) nanos *= 10;
  }
  int64_t offset = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const auto oh = Digits(text, pos + 1, 2);
    const auto om = Digits(text, pos + 4, 2);
    if (!oh || !om || text[pos + 3] != ':') {
      return bad("zone offset must be +HH:MM or -HH:MM");
    }
    if (*oh > 23 || *om > 59) return bad("zone offset out of range");
    offset = (*oh * 60 + *om) * 60;
    if (text[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return bad("missing zone (Z or +HH:MM)");
  }
  if (pos != text.size()) return bad("trailing characters");
  const int64_t days = DaysFromCivil(*year, *month, *day);
  PolicyTime t;
  t.seconds = days * 86400 + *hour * 3600 + *minute * 60 + *second - offset;
  t.nanos = nanos;
  return t;
}

namespace {

// ---------------------------------------------------------------------------
// Validation helpers.

Error Invalid(std::string_view where, std::string_view what) {
  std::string message = "policy: ";
  if (!where.empty()) message += std::string(where) + ": ";
  message += what;
  return Error(Code::kMalformed, std::move(message));
}

std::string Quoted(std::string_view s) { return QuoteInput(s); }

std::string StatementName(std::size_t index,
                          const std::optional<std::string>& sid) {
  std::string s = "Statement[" + std::to_string(index) + "]";
  if (sid) s += " (" + Quoted(*sid) + ")";
  return s;
}

// ReadPatterns reads Action or Resource: a non-empty string or a non-empty
// array of non-empty strings.
Result<std::vector<std::string>> ReadPatterns(const Json& value,
                                              std::string_view member,
                                              const std::string& where) {
  const std::string label = "member \"" + std::string(member) + "\"";
  std::vector<std::string> out;
  if (value.is_string()) {
    if (value.get_ref<const std::string&>().empty()) {
      return Invalid(where, label + " is an empty string");
    }
    out.push_back(value.get<std::string>());
    return out;
  }
  if (!value.is_array()) {
    return Invalid(where, label + " must be a string or an array of strings");
  }
  if (value.empty()) return Invalid(where, label + " is an empty list");
  for (std::size_t i = 0; i < value.size(); ++i) {
    const std::string item = label + "[" + std::to_string(i) + "]";
    if (!value[i].is_string()) {
      return Invalid(where, item + " must be a string");
    }
    if (value[i].get_ref<const std::string&>().empty()) {
      return Invalid(where, item + " is an empty string");
    }
    out.push_back(value[i].get<std::string>());
  }
  return out;
}

struct ParsedOperator {
  const OperatorInfo* info = nullptr;
  SetQualifier qualifier = SetQualifier::kNone;
  bool if_exists = false;
};

std::optional<ParsedOperator> ParseOperatorName(std::string_view name) {
  ParsedOperator out;
  if (name.starts_with(kForAnyValue)) {
    out.qualifier = SetQualifier::kForAnyValue;
    name.remove_prefix(kForAnyValue.size());
  } else if (name.starts_with(kForAllValues)) {
    out.qualifier = SetQualifier::kForAllValues;
    name.remove_prefix(kForAllValues.size());
  }
  if (name.ends_with(kIfExists)) {
    out.if_exists = true;
    name.remove_suffix(kIfExists.size());
  }
  for (const auto& info : kOperators) {
    if (info.name == name) {
      out.info = &info;
      return out;
    }
  }
  return std::nullopt;
}

std::optional<KeyType> KnownKeyType(std::string_view key) {
  for (const auto& k : kKnownKeys) {
    if (k.name == key) return k.type;
  }
  return std::nullopt;
}

// CheckKey validates a context key against an operator. `where` already
// names the operator.
Status CheckKey(std::string_view key, const ParsedOperator& op,
                std::string_view op_name, const std::string& where) {
  const std::string q = Quoted(key);
  std::optional<KeyType> type;
  if (key.starts_with(kAztpPrefix)) {
    type = KnownKeyType(key);
    if (!type) return Invalid(where, "unknown context key " + q);
  } else if (key.starts_with(kRequestPrefix)) {
    if (key.size() == kRequestPrefix.size()) {
      return Invalid(where, "context key " + q + " has an empty name");
    }
    return Ok();  // request keys are typed when the request is evaluated
  } else {
    return Invalid(where, "context key " + q +
                              " must start with \"aztp:\" or \"request:\"");
  }
  const Family family = op.info->family;
  if (family == Family::kNull) return Ok();
  const std::string base(op.info->name);
  if (*type == KeyType::kList) {
    if (family == Family::kString && op.qualifier == SetQualifier::kNone) {
      return Invalid(where, q + " is a list key; use ForAnyValue:" + base +
                                " or ForAllValues:" + base);
    }
  } else if (op.qualifier != SetQualifier::kNone) {
    const std::string_view prefix = op.qualifier == SetQualifier::kForAnyValue
                                        ? kForAnyValue
                                        : kForAllValues;
    return Invalid(where, q + " is a single-valued key; drop the " +
                              std::string(prefix) + " qualifier");
  }
  const bool fits = (family == Family::kString &&
                     (*type == KeyType::kString || *type == KeyType::kList)) ||
                    (family == Family::kNumeric && *type == KeyType::kNumber) ||
                    (family == Family::kDate && *type == KeyType::kDate);
  if (!fits) {
    return Invalid(where, q + " is " + std::string(KeyTypeName(*type)) +
                              " key; " + std::string(op_name) + " needs " +
                              std::string(FamilyNeeds(family)) + " key");
  }
  return Ok();
}

// ReadValue validates (and canonicalises) one condition value.
Status ReadValue(const Json& value, Family family, const std::string& where,
                 std::size_t index, Json& out, std::vector<PolicyTime>& dates) {
  const std::string label = "value " + std::to_string(index);
  switch (family) {
    case Family::kString:
      if (!value.is_string())
        return Invalid(where, label + " must be a string");
      out.push_back(value);
      return Ok();
    case Family::kNumeric:
      if (!value.is_number())
        return Invalid(where, label + " must be a number");
      out.push_back(value);
      return Ok();
    case Family::kDate:
      if (value.is_string()) {
        auto t = ParseRfc3339(value.get_ref<const std::string&>());
        if (!t) return Invalid(where, label + ": " + t.error().message());
        dates.push_back(*t);
      } else if (IsInteger(value)) {
        dates.push_back(PolicyTime{value.get<int64_t>(), 0});
      } else {
        return Invalid(where, label +
                                  " must be an RFC 3339 date string or an "
                                  "integer of Unix seconds");
      }
      out.push_back(value);
      return Ok();
    case Family::kBool:
    case Family::kNull:
      if (value.is_boolean()) {
        out.push_back(value);
      } else if (value == "true" || value == "false") {
        out.push_back(Json(value == "true"));
      } else {
        return Invalid(where, label + " must be true or false");
      }
      return Ok();
  }
  return Ok();
}

}  // namespace

Status internal::PolicyAccess::ParseConditions(const Json& value,
                                               const std::string& where,
                                               Statement& statement) {
  if (!value.is_object()) {
    return Invalid(where, "member \"Condition\" must be an object");
  }
  if (value.empty()) {
    return Invalid(where,
                   "member \"Condition\" must hold at least one operator");
  }
  for (const auto& [op_name, block] : value.items()) {
    const std::string op_where =
        where + ": Condition " + Quoted(std::string(op_name));
    auto op = ParseOperatorName(op_name);
    if (!op) {
      return Invalid(where, "Condition: unknown operator " + Quoted(op_name));
    }
    const Family family = op->info->family;
    if (family == Family::kNull &&
        (op->qualifier != SetQualifier::kNone || op->if_exists)) {
      return Invalid(op_where, "Null takes no qualifier and no IfExists");
    }
    if (op->qualifier != SetQualifier::kNone && family != Family::kString) {
      return Invalid(op_where,
                     "ForAnyValue: and ForAllValues: apply to String "
                     "operators only");
    }
    if (!block.is_object()) {
      return Invalid(op_where, "must map context keys to values");
    }
    if (block.empty()) return Invalid(op_where, "names no context key");
    for (const auto& [key, values] : block.items()) {
      AZTP_RETURN_IF_ERROR(CheckKey(key, *op, op_name, op_where));
      const std::string key_where = op_where + " key " + Quoted(key);
      Condition c;
      c.op_name_ = op_name;
      c.op_ = op->info->op;
      c.qualifier_ = op->qualifier;
      c.if_exists_ = op->if_exists;
      c.key_ = key;
      if (values.is_array()) {
        if (values.empty()) return Invalid(key_where, "has no values");
        for (std::size_t i = 0; i < values.size(); ++i) {
          AZTP_RETURN_IF_ERROR(
              ReadValue(values[i], family, key_where, i, c.values_, c.dates_));
        }
      } else {
        AZTP_RETURN_IF_ERROR(
            ReadValue(values, family, key_where, 0, c.values_, c.dates_));
      }
      statement.conditions_.push_back(std::move(c));
    }
  }
  return Ok();
}

Result<Statement> internal::PolicyAccess::ParseStatement(const Json& value,
                                                         std::size_t index) {
  if (!value.is_object()) {
    return Invalid(StatementName(index, std::nullopt), "must be an object");
  }
  Statement s;
  if (auto it = value.find("Sid"); it != value.end()) {
    if (!it->is_string()) {
      return Invalid(StatementName(index, std::nullopt),
                     "member \"Sid\" must be a string");
    }
    s.sid_ = it->get<std::string>();
  }
  const std::string where = StatementName(index, s.sid_);
  for (const auto& [member, unused] : value.items()) {
    if (member != "Sid" && member != "Effect" && member != "Action" &&
        member != "Resource" && member != "Condition") {
      return Invalid(where, "unknown member " + Quoted(member) +
                                " (allowed: Sid, Effect, Action, Resource, "
                                "Condition)");
    }
  }

  auto effect = value.find("Effect");
  if (effect == value.end()) {
    return Invalid(where, "member \"Effect\" is missing");
  }
  if (!effect->is_string()) {
    return Invalid(where, "member \"Effect\" must be a string");
  }
  if (*effect == "Allow") {
    s.effect_ = Effect::kAllow;
  } else if (*effect == "Deny") {
    s.effect_ = Effect::kDeny;
  } else if (*effect == "Audit") {
    s.effect_ = Effect::kAudit;
  } else {
    return Invalid(where,
                   "member \"Effect\" must be \"Allow\", \"Deny\" or "
                   "\"Audit\", not " +
                       Quoted(effect->get_ref<const std::string&>()));
  }

  auto action = value.find("Action");
  if (action == value.end()) {
    return Invalid(where, "member \"Action\" is missing");
  }
  AZTP_ASSIGN_OR_RETURN(s.actions_, ReadPatterns(*action, "Action", where));

  if (auto resource = value.find("Resource"); resource != value.end()) {
    AZTP_ASSIGN_OR_RETURN(s.resources_,
                          ReadPatterns(*resource, "Resource", where));
  }
  if (auto condition = value.find("Condition"); condition != value.end()) {
    AZTP_RETURN_IF_ERROR(ParseConditions(*condition, where, s));
  }
  return s;
}

Result<Policy> internal::PolicyAccess::FromJson(const Json& document) {
  if (!document.is_object()) {
    return Invalid("", "document must be a JSON object");
  }
  for (const auto& [member, unused] : document.items()) {
    if (member != "Version" && member != "Statement") {
      return Invalid("", "unknown top-level member " + Quoted(member) +
                             " (allowed: Version, Statement)");
    }
  }
  Policy policy;
  if (auto version = document.find("Version"); version != document.end()) {
    if (!version->is_string()) {
      return Invalid("", "member \"Version\" must be a string");
    }
    policy.version_ = version->get<std::string>();
  }
  auto statement = document.find("Statement");
  if (statement == document.end()) {
    return Invalid("", "member \"Statement\" is missing");
  }
  if (statement->is_object()) {
    AZTP_ASSIGN_OR_RETURN(auto s, ParseStatement(*statement, 0));
    policy.statements_.push_back(std::move(s));
    return policy;
  }
  if (!statement->is_array()) {
    return Invalid(
        "", "member \"Statement\" must be an object or an array of objects");
  }
  if (statement->empty()) {
    return Invalid("", "member \"Statement\" must hold at least one statement");
  }
  if (statement->size() > Policy::kMaxStatements) {
    return Error(Code::kTooLarge, "policy: more than " +
                                      std::to_string(Policy::kMaxStatements) +
                                      " statements");
  }
  std::map<std::string, std::size_t, std::less<>> sids;
  for (std::size_t i = 0; i < statement->size(); ++i) {
    AZTP_ASSIGN_OR_RETURN(auto s, ParseStatement((*statement)[i], i));
    if (s.sid()) {
      auto [it, inserted] = sids.emplace(*s.sid(), i);
      if (!inserted) {
        return Invalid(
            StatementName(i, s.sid()),
            "Sid duplicates Statement[" + std::to_string(it->second) + "]");
      }
    }
    policy.statements_.push_back(std::move(s));
  }
  return policy;
}

Result<Policy> ParsePolicy(std::string_view text) {
  if (text.size() > Policy::kMaxBytes) {
    return Error(Code::kTooLarge, "policy: document larger than " +
                                      std::to_string(Policy::kMaxBytes) +
                                      " bytes");
  }
  JsonLimits limits;
  limits.max_bytes = Policy::kMaxBytes;
  auto json = ParseJson(text, limits);
  if (!json) return json.error().WithContext("policy");
  return internal::PolicyAccess::FromJson(*json);
}

Result<Policy> PolicyFromJson(const Json& document) {
  return internal::PolicyAccess::FromJson(document);
}

std::string_view EffectString(Effect effect) {
  switch (effect) {
    case Effect::kAllow:
      return "Allow";
    case Effect::kDeny:
      return "Deny";
    case Effect::kAudit:
      return "Audit";
  }
  return "Deny";
}

namespace {

constexpr std::pair<DecisionBasis, std::string_view> kBasisNames[] = {
    {DecisionBasis::kStatement, "statement"},
    {DecisionBasis::kExplicitDeny, "explicit_deny"},
    {DecisionBasis::kDefaultDeny, "default_deny"},
    {DecisionBasis::kContextError, "context_error"},
    {DecisionBasis::kNotCovered, "not_covered"},
};

constexpr std::pair<Verdict, std::string_view> kVerdictNames[] = {
    {Verdict::kAllow, "allow"},
    {Verdict::kDeny, "deny"},
    {Verdict::kAudit, "audit"},
};

// NameOf reads `member` of a decision as one of `names`.
template <typename T, std::size_t N>
Result<T> NameOf(const Json& json, std::string_view member,
                 const std::pair<T, std::string_view> (&names)[N]) {
  AZTP_ASSIGN_OR_RETURN(std::string text, GetString(json, member));
  for (const auto& [value, name] : names) {
    if (name == text) return value;
  }
  return Error(Code::kMalformed, "decision: unknown " + std::string(member) +
                                     " " + QuoteInput(text));
}

}  // namespace

std::string_view VerdictString(Verdict verdict) {
  for (const auto& [value, name] : kVerdictNames) {
    if (value == verdict) return name;
  }
  return "deny";
}

std::string_view DecisionBasisName(DecisionBasis basis) {
  for (const auto& [value, name] : kBasisNames) {
    if (value == basis) return name;
  }
  return "unknown";
}

Json DecisionJson(const Decision& d) {
  return Json{{"allowed", d.allowed()},
              {"verdict", VerdictString(d.verdict)},
              {"basis", DecisionBasisName(d.basis)},
              {"reason", d.reason},
              {"statement_index",
               d.statement_index ? Json(*d.statement_index) : Json()},
              {"sid", d.sid ? Json(*d.sid) : Json()}};
}

Result<Decision> DecisionFromJson(const Json& json) {
  if (!json.is_object()) {
    return Error(Code::kMalformed, "decision: not a JSON object");
  }
  Decision d;
  AZTP_ASSIGN_OR_RETURN(d.verdict, NameOf(json, "verdict", kVerdictNames));
  AZTP_ASSIGN_OR_RETURN(d.basis, NameOf(json, "basis", kBasisNames));
  AZTP_ASSIGN_OR_RETURN(d.reason, GetString(json, "reason"));
  auto allowed = json.find("allowed");
  if (allowed == json.end() || !allowed->is_boolean() ||
      allowed->get<bool>() != d.allowed()) {
    return Error(Code::kMalformed,
                 "decision: member \"allowed\" must be a boolean that agrees "
                 "with \"verdict\"");
  }
  if (auto index = json.find("statement_index");
      index != json.end() && !index->is_null()) {
    if (!IsInteger(*index) || index->get<int64_t>() < 0) {
      return Error(Code::kMalformed,
                   "decision: member \"statement_index\" must be a "
                   "non-negative integer or null");
    }
    d.statement_index = index->get<std::size_t>();
  }
  if (auto sid = json.find("sid"); sid != json.end() && !sid->is_null()) {
    if (!sid->is_string()) {
      return Error(Code::kMalformed,
                   "decision: member \"sid\" must be a string or null");
    }
    d.sid = sid->get<std::string>();
  }
  return d;
}

Result<PolicyContext> ContextFromJson(const Json& context, UnixTime now) {
  PolicyContext c;
  c.SetTime("aztp:CurrentTime", now);
  if (!context.is_object() || context.size() > 64) {
    return Error(Code::kInvalidArgument,
                 "context must be an object of at most 64 keys");
  }
  for (const auto& [key, value] : context.items()) {
    if (key.rfind("aztp:", 0) != 0 && key.rfind("request:", 0) != 0) {
      return Error(Code::kInvalidArgument,
                   "context key " + QuoteInput(key) +
                       " must start with aztp: or request:");
    }
    if (key == "aztp:CurrentTime") {
      if (value.is_string()) {
        AZTP_ASSIGN_OR_RETURN(PolicyTime t,
                              ParseRfc3339(value.get<std::string>()));
        c.SetTime(key, t);
      } else if (IsInteger(value)) {
        c.SetTime(key, value.get<int64_t>());
      } else {
        return Error(Code::kInvalidArgument,
                     "aztp:CurrentTime must be RFC 3339 or Unix seconds");
      }
    } else if (value.is_string()) {
      c.SetString(key, value.get<std::string>());
    } else if (value.is_boolean()) {
      c.SetBool(key, value.get<bool>());
    } else if (IsInteger(value)) {
      c.SetInteger(key, value.get<int64_t>());
    } else if (value.is_number()) {
      c.SetDouble(key, value.get<double>());
    } else if (value.is_array() && value.size() <= 256) {
      std::vector<std::string> list;
      for (const Json& v : value) {
        if (!v.is_string()) {
          return Error(
              Code::kInvalidArgument,
              "context list " + QuoteInput(key) + " must hold strings");
        }
        list.push_back(v.get<std::string>());
      }
      c.SetList(key, std::move(list));
    } else {
      return Error(Code::kInvalidArgument,
                   "context value of " + QuoteInput(key) +
                       " must be a string, number, boolean or string list");
    }
  }
  return c;
}

Json Policy::ToJson() const {
  Json out = Json::object();
  if (version_) out["Version"] = *version_;
  Json statements = Json::array();
  for (const auto& s : statements_) {
    Json j = Json::object();
    if (s.sid()) j["Sid"] = *s.sid();
    j["Effect"] = std::string(EffectString(s.effect()));
    j["Action"] = s.actions();
    if (s.resources()) j["Resource"] = *s.resources();
    if (!s.conditions().empty()) {
      Json conditions = Json::object();
      for (const auto& c : s.conditions()) {
        conditions[c.op_name()][c.key()] = c.values();
      }
      j["Condition"] = std::move(conditions);
    }
    statements.push_back(std::move(j));
  }
  out["Statement"] = std::move(statements);
  return out;
}

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

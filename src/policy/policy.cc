// Parsing and validation of policy documents (the canonical form is
// written by policy_json.cc, evaluation is in evaluate.cc).
#include "aztp/policy/policy.h"

#include <cstdint>
#include <map>
#include <utility>

#include "policy/policy_internal.h"

namespace aztp {

// PolicyAccess builds the policy classes; only this file uses it.
struct internal::PolicyAccess {
  static Result<Policy> FromJson(const Json& document);
  static Result<Statement> ParseStatement(const Json& value, std::size_t index);
  static Status ParseConditions(const Json& value, const std::string& where,
                                Statement& statement);
};

namespace {

using policy_internal::Family;
using policy_internal::kOperators;
using policy_internal::OperatorInfo;
using policy_internal::Quoted;

// ---------------------------------------------------------------------------
// Context keys.

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
    {"aztp:PersonIssuer", KeyType::kString},
    {"aztp:PersonSubject", KeyType::kString},
    {"aztp:PersonEmail", KeyType::kString},
    {"aztp:PersonName", KeyType::kString},
    {"aztp:PersonGroups", KeyType::kList},
    {"aztp:PersonAcr", KeyType::kString},
    {"aztp:PersonAmr", KeyType::kList},
    {"aztp:PersonAuthTime", KeyType::kDate},
    {"aztp:RpcMethod", KeyType::kString},
    {"aztp:RpcTarget", KeyType::kString},
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
// Validation helpers.

Error Invalid(std::string_view where, std::string_view what) {
  std::string message = "policy: ";
  if (!where.empty()) message += std::string(where) + ": ";
  message += what;
  return Error(Code::kMalformed, std::move(message));
}

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

}  // namespace aztp

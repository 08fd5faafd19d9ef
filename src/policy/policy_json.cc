// Policies and decisions as JSON: a policy's canonical form and the
// decision document (DecisionJson and its reader).
#include <cstdint>
#include <utility>

#include "aztp/policy/policy.h"

namespace aztp {

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

}  // namespace aztp

// Policy: IAM-style authorisation documents and their evaluation
// (protocol §6; the language is described for operators in docs/policy.md).
//
// A policy is attached to the identity that receives calls. It is a JSON
// document with an optional `Version` and one or more statements, each with
// an `Effect` (`Allow`, `Deny` or `Audit`), the `Action`s and `Resource`s it
// applies to (glob patterns with `*` and `?`) and optional `Condition`s over a
// request's context: who called (`aztp:CallerId`), through which chain
// (`aztp:ChainPath`), with which capabilities, when, and keys the
// application adds (`request:...`).
//
// Parsing is strict: every mistake an author can make (an unknown member,
// operator or context key, a value of the wrong type, an operator that does
// not suit a key's type, an empty list) fails `ParsePolicy` with a message
// that names the statement and the member, so that a policy never allows
// silently what its author did not mean.
//
// Evaluation of a request (action, resource, context): a matching `Deny`
// wins; otherwise a matching `Audit` allows and flags the decision for the
// audit record; otherwise a matching `Allow` allows; otherwise the request is
// denied by default. A context value whose type does not suit a condition
// denies too. Every `Decision` says which statement decided and why.
//
// Example:
//
//   auto policy = aztp::ParsePolicy(R"({"Statement": {
//       "Effect": "Allow", "Action": "payments:*",
//       "Condition": {"StringEquals": {"aztp:CallerTrustDomain":
//       "org-a"}}}})");
//   if (!policy) return std::move(policy).error();
//   aztp::PolicyRequest request;
//   request.action = "payments:refund";
//   request.context = aztp::ContextFromChain(verified_chain, now);
//   aztp::Decision d = aztp::Evaluate(*policy, request);
//   if (!d.allowed()) return aztp::Error(aztp::Code::kPolicyDenied, d.reason);
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/chain/person.h"
#include "aztp/encoding/json.h"

namespace aztp {

class VerifiedChain;

namespace internal {
struct PolicyAccess;
}

// Effect is what a statement does when it matches a request.
enum class Effect {
  kAllow,  // "Allow"
  kDeny,   // "Deny": wins over every Allow and Audit
  kAudit,  // "Audit": allows and flags the decision for the audit record
};

// EffectString returns the JSON spelling: "Allow", "Deny" or "Audit".
std::string_view EffectString(Effect effect);

// ConditionOperator is a condition operator without its `ForAnyValue:` /
// `ForAllValues:` qualifier and `IfExists` suffix.
enum class ConditionOperator {
  kStringEquals,
  kStringNotEquals,
  kStringLike,     // glob: `*` any run of characters, `?` one character
  kStringNotLike,  // glob
  kNumericEquals,
  kNumericNotEquals,
  kNumericLessThan,
  kNumericLessThanEquals,
  kNumericGreaterThan,
  kNumericGreaterThanEquals,
  kDateEquals,
  kDateNotEquals,
  kDateLessThan,
  kDateLessThanEquals,
  kDateGreaterThan,
  kDateGreaterThanEquals,
  kBool,
  kNull,  // true: the key is absent; false: the key is present
};

// SetQualifier says how a condition treats a list-valued key.
enum class SetQualifier {
  kNone,          // single-valued key
  kForAnyValue,   // some element matches; false for an empty or absent list
  kForAllValues,  // every element matches; true for an empty or absent list
};

// PolicyTime is an instant: Unix seconds plus nanoseconds in [0, 1e9).
struct PolicyTime {
  int64_t seconds = 0;
  int32_t nanos = 0;

  friend auto operator<=>(const PolicyTime&, const PolicyTime&) = default;
};

// ParseRfc3339 reads `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`
// (RFC 3339 §5.6; `t` and `z` may be lowercase; up to 9 fraction digits;
// years 0000-9999; leap second 60 is rejected). Errors are kMalformed.
Result<PolicyTime> ParseRfc3339(std::string_view text);

// ContextValue is the value of one context key: a string, a number (integer
// or floating point), a boolean, a list of strings or an instant.
using ContextValue = std::variant<std::string, int64_t, double, bool,
                                  std::vector<std::string>, PolicyTime>;

// PolicyContext maps context keys (`aztp:*` from the verified chain,
// `request:*` from the application) to values. Keys no condition names are
// ignored.
struct PolicyContext {
  std::map<std::string, ContextValue, std::less<>> values;

  // Set* store one value, replacing any earlier value of `key`.
  void SetString(std::string key, std::string value);
  void SetInteger(std::string key, int64_t value);
  void SetDouble(std::string key, double value);
  void SetBool(std::string key, bool value);
  void SetList(std::string key, std::vector<std::string> value);
  void SetTime(std::string key, UnixTime seconds);
  void SetTime(std::string key, PolicyTime value);

  // Find returns the value of `key`, or nullptr when it is absent.
  const ContextValue* Find(std::string_view key) const;
};

// Condition is one operator applied to one context key, e.g.
// `"ForAnyValue:StringLike": {"aztp:ChainPath": ["spiffe://org-a/*"]}`.
class Condition {
 public:
  // op_name is the operator as written, e.g. "ForAllValues:StringLike" or
  // "NumericLessThanIfExists".
  const std::string& op_name() const { return op_name_; }
  ConditionOperator op() const { return op_; }
  SetQualifier qualifier() const { return qualifier_; }
  // if_exists: an absent key satisfies the condition.
  bool if_exists() const { return if_exists_; }
  // key is the context key, e.g. "aztp:CallerId" or "request:Currency".
  const std::string& key() const { return key_; }
  // values is a non-empty JSON array of the accepted values; booleans
  // written as "true"/"false" are stored as JSON booleans.
  const Json& values() const { return values_; }
  // dates are values() read as instants for the Date operators (empty for
  // the others).
  const std::vector<PolicyTime>& dates() const { return dates_; }

  friend bool operator==(const Condition&, const Condition&) = default;

 private:
  friend struct internal::PolicyAccess;
  std::string op_name_;
  ConditionOperator op_ = ConditionOperator::kStringEquals;
  SetQualifier qualifier_ = SetQualifier::kNone;
  bool if_exists_ = false;
  std::string key_;
  Json values_ = Json::array();
  std::vector<PolicyTime> dates_;
};

// Statement is one element of a policy's `Statement`.
class Statement {
 public:
  const std::optional<std::string>& sid() const { return sid_; }
  Effect effect() const { return effect_; }
  // actions are glob patterns, at least one.
  const std::vector<std::string>& actions() const { return actions_; }
  // resources are glob patterns, at least one; nullopt when `Resource` is
  // absent, which means every resource.
  const std::optional<std::vector<std::string>>& resources() const {
    return resources_;
  }
  // conditions are in document order; all must hold (AND).
  const std::vector<Condition>& conditions() const { return conditions_; }

  // MatchesAction reports whether some Action pattern matches `action`.
  bool MatchesAction(std::string_view action) const;
  // MatchesResource reports whether `resource` is covered (always true when
  // `Resource` is absent).
  bool MatchesResource(std::string_view resource) const;

  friend bool operator==(const Statement&, const Statement&) = default;

 private:
  friend struct internal::PolicyAccess;
  std::optional<std::string> sid_;
  Effect effect_ = Effect::kDeny;
  std::vector<std::string> actions_;
  std::optional<std::vector<std::string>> resources_;
  std::vector<Condition> conditions_;
};

// Policy is an immutable, validated policy document. Only ParsePolicy and
// PolicyFromJson build one. Copyable.
class Policy {
 public:
  // kMaxBytes is the largest policy text ParsePolicy accepts.
  static constexpr std::size_t kMaxBytes = 64 * 1024;
  // kMaxStatements is the largest number of statements in one policy.
  static constexpr std::size_t kMaxStatements = 100;

  const std::optional<std::string>& version() const { return version_; }
  // statements are in document order, at least one.
  const std::vector<Statement>& statements() const { return statements_; }

  // ToJson returns the canonical form: `Version` (when present), then
  // `Statement` as an array; in each statement `Sid` (when present),
  // `Effect`, `Action` as an array, `Resource` as an array (when present),
  // `Condition` (when present) with every value list as an array. It parses
  // back to an equal Policy.
  Json ToJson() const;

  friend bool operator==(const Policy&, const Policy&) = default;

 private:
  friend struct internal::PolicyAccess;
  Policy() = default;
  std::optional<std::string> version_;
  std::vector<Statement> statements_;
};

// ParsePolicy parses `text` strictly (ParseJson: no duplicate members,
// valid UTF-8) and validates it. Errors are kTooLarge beyond
// Policy::kMaxBytes or Policy::kMaxStatements, otherwise kMalformed; messages
// start with "policy: " and name the statement (`Statement[i]`, with its
// Sid) and the member at fault.
Result<Policy> ParsePolicy(std::string_view text);

// PolicyFromJson validates a parsed document exactly like ParsePolicy,
// except for the byte limit, which applies to text only.
Result<Policy> PolicyFromJson(const Json& document);

// PolicyRequest is what is being asked: may the caller described by
// `context` perform `action` on `resource`?
struct PolicyRequest {
  std::string action;
  // resource: "*" when the application has no resource of its own; only
  // statements without `Resource`, or whose patterns match "*", cover it.
  std::string resource = "*";
  PolicyContext context;
};

// Verdict is the outcome of an evaluation.
enum class Verdict {
  kAllow,
  kDeny,
  kAudit,  // allowed, and the audit record must be flagged
};

// VerdictString returns "allow", "deny" or "audit".
std::string_view VerdictString(Verdict verdict);

// DecisionBasis says which rule produced a Decision.
enum class DecisionBasis {
  kStatement,     // allowed (or audited) by a matching statement
  kExplicitDeny,  // a matching Deny statement
  kDefaultDeny,   // no statement allows the request
  kContextError,  // a context value did not suit a condition of a statement
                  // whose Action and Resource matched: denied
  kNotCovered,    // AuthorizeChain: the action is outside the chain's
                  // capabilities
};

// Decision explains the outcome of an evaluation.
struct Decision {
  Verdict verdict = Verdict::kDeny;
  DecisionBasis basis = DecisionBasis::kDefaultDeny;
  // policy_index is the deciding policy's index in EvaluateAll's list
  // (unset for Evaluate and when no statement decided).
  std::optional<std::size_t> policy_index;
  // statement_index and sid identify the deciding statement, if any.
  std::optional<std::size_t> statement_index;
  std::optional<std::string> sid;
  // reason is one short line for logs and audit records, e.g.
  // `denied by statement 1 ("NoRefunds")` or
  // `no statement allows "payments:refund" on "*"`. Untrusted text in it is
  // quoted and escaped (QuoteInput).
  std::string reason;

  bool allowed() const { return verdict != Verdict::kDeny; }
  bool explicit_deny() const { return basis == DecisionBasis::kExplicitDeny; }
  bool default_deny() const { return basis == DecisionBasis::kDefaultDeny; }
};

// DecisionBasisName returns the JSON spelling of a basis: "statement",
// "explicit_deny", "default_deny", "context_error" or "not_covered".
std::string_view DecisionBasisName(DecisionBasis basis);

// DecisionJson renders a decision as aztpd's POST /v1/authorize and
// `aztp policy test` print it: {"allowed", "verdict", "basis", "reason",
// "statement_index", "sid"}, the last two null when no statement decided
// (`policy_index` is not part of it: aztpd names the policy by its ID).
Json DecisionJson(const Decision& decision);

// DecisionFromJson reads DecisionJson's form back; members it does not know
// are ignored. Errors are kMalformed.
Result<Decision> DecisionFromJson(const Json& json);

// ContextFromJson reads a context written as a JSON object, as
// POST /v1/authorize and `aztp policy test --context` take it: at most 64
// keys, each starting with `aztp:` or `request:`, each a string, a number,
// a boolean or a list of at most 256 strings; `aztp:CurrentTime` is an RFC
// 3339 string or Unix seconds and defaults to `now`. Errors are
// kInvalidArgument (kMalformed for a bad RFC 3339 time) and quote the key.
Result<PolicyContext> ContextFromJson(const Json& context, UnixTime now);

// Evaluate decides `request` against one policy.
Decision Evaluate(const Policy& policy, const PolicyRequest& request);

// EvaluateAll decides `request` against every policy attached to the
// receiver, as if their statements formed one policy: a Deny in any wins,
// then a context error in any, then an Audit in any, then an Allow in any,
// else the default deny. Null entries are skipped; an empty list denies.
Decision EvaluateAll(const std::vector<const Policy*>& policies,
                     const PolicyRequest& request);

// ContextFromChain builds the `aztp:*` keys of a verified chain
// [iss_0 ... iss_n, R] at time `now`:
//   aztp:CallerId           iss_n (the hop that sent the chain)
//   aztp:CallerTrustDomain  iss_n's trust domain name
//   aztp:OriginId           iss_0 (the root signer)
//   aztp:OriginSubject      `sub`
//   aztp:TargetId           R (the receiver)
//   aztp:Txn                `txn`
//   aztp:ChainDepth         `dep` of the outermost token (0: root only)
//   aztp:ChainPath          [iss_0, ..., iss_n, R]
//   aztp:ChainTrustDomains  distinct trust domains of the path, in order
//   aztp:Capabilities       the effective capabilities
//   aztp:CurrentTime        `now`
// and, for a chain that acts for a person, the keys of AddPersonContext.
PolicyContext ContextFromChain(const VerifiedChain& chain, UnixTime now);

// AddPersonContext adds the keys of a person subject oidc:<issuer>#<subject>
// and its `prs` claims (protocol §5.2); nothing for another subject. Keys
// whose claim is absent stay absent:
//   aztp:PersonIssuer    <issuer>
//   aztp:PersonSubject   <subject>
//   aztp:PersonEmail     email, only when the provider verified it
//   aztp:PersonName      name
//   aztp:PersonGroups    groups
//   aztp:PersonAcr       acr
//   aztp:PersonAmr       amr
//   aztp:PersonAuthTime  auth_time
void AddPersonContext(PolicyContext& context, std::string_view subject,
                      const std::optional<PersonClaims>& person);

// The keys of a JSON-RPC call that aztp-proxy decides on an MCP or A2A
// route (docs/mcp.md): its method, and the tool's or prompt's name or the
// resource's URI (absent for other methods).
inline constexpr std::string_view kRpcMethodKey = "aztp:RpcMethod";
inline constexpr std::string_view kRpcTargetKey = "aztp:RpcTarget";
// IsCallKey: `key` is one of those.
inline bool IsCallKey(std::string_view key) {
  return key == kRpcMethodKey || key == kRpcTargetKey;
}

// AuthorizeChain is the whole check of protocol §6 for a verified chain:
// `request.action` must be a capability covered by the chain's effective
// capabilities (otherwise kNotCovered), and the policies must allow it on
// the context ContextFromChain(chain, now) plus the `request:*` keys and
// the call keys (IsCallKey) of `request.context` (its other `aztp:*` keys
// are ignored: the chain's win).
Decision AuthorizeChain(const VerifiedChain& chain,
                        const std::vector<const Policy*>& policies,
                        const PolicyRequest& request, UnixTime now);

}  // namespace aztp

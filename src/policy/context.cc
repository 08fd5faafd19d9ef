// Policy contexts: building them by hand and from a verified chain, and the
// complete authorisation check of a verified chain (protocol §6).
#include <set>
#include <utility>

#include "aztp/chain/capability.h"
#include "aztp/chain/verifier.h"
#include "aztp/policy/policy.h"

namespace aztp {

void PolicyContext::SetString(std::string key, std::string value) {
  values.insert_or_assign(std::move(key), ContextValue(std::move(value)));
}

void PolicyContext::SetInteger(std::string key, int64_t value) {
  values.insert_or_assign(std::move(key), ContextValue(value));
}

void PolicyContext::SetDouble(std::string key, double value) {
  values.insert_or_assign(std::move(key), ContextValue(value));
}

void PolicyContext::SetBool(std::string key, bool value) {
  values.insert_or_assign(std::move(key), ContextValue(value));
}

void PolicyContext::SetList(std::string key, std::vector<std::string> value) {
  values.insert_or_assign(std::move(key), ContextValue(std::move(value)));
}

void PolicyContext::SetTime(std::string key, UnixTime seconds) {
  values.insert_or_assign(std::move(key), ContextValue(PolicyTime{seconds, 0}));
}

void PolicyContext::SetTime(std::string key, PolicyTime value) {
  values.insert_or_assign(std::move(key), ContextValue(value));
}

const ContextValue* PolicyContext::Find(std::string_view key) const {
  auto it = values.find(key);
  return it == values.end() ? nullptr : &it->second;
}

PolicyContext ContextFromChain(const VerifiedChain& chain, UnixTime now) {
  PolicyContext c;
  const auto& path = chain.path();
  c.SetString("aztp:CallerId", chain.caller().str());
  c.SetString("aztp:CallerTrustDomain", chain.caller().trust_domain().name());
  c.SetString("aztp:OriginId", path.front().str());
  c.SetString("aztp:OriginSubject", chain.subject());
  c.SetString("aztp:TargetId", path.back().str());
  c.SetString("aztp:Txn", chain.txn());
  c.SetInteger("aztp:ChainDepth", chain.depth());
  std::vector<std::string> ids;
  std::vector<std::string> domains;
  std::set<std::string_view> seen;
  ids.reserve(path.size());
  for (const auto& id : path) {
    ids.push_back(id.str());
    const std::string& td = id.trust_domain().name();
    if (seen.insert(td).second) domains.push_back(td);
  }
  c.SetList("aztp:ChainPath", std::move(ids));
  c.SetList("aztp:ChainTrustDomains", std::move(domains));
  c.SetList("aztp:Capabilities", chain.capabilities().Strings());
  c.SetTime("aztp:CurrentTime", now);
  AddPersonContext(c, chain.subject(), chain.person());
  return c;
}

void AddPersonContext(PolicyContext& c, std::string_view subject,
                      const std::optional<PersonClaims>& person) {
  const std::optional<PersonName> name = ParsePersonSubject(subject);
  if (!name) return;
  c.SetString("aztp:PersonIssuer", std::string(name->issuer));
  c.SetString("aztp:PersonSubject", std::string(name->subject));
  if (!person) return;
  if (person->email && person->email_verified) {
    c.SetString("aztp:PersonEmail", *person->email);
  }
  if (person->name) c.SetString("aztp:PersonName", *person->name);
  if (!person->groups.empty()) c.SetList("aztp:PersonGroups", person->groups);
  if (person->acr) c.SetString("aztp:PersonAcr", *person->acr);
  if (!person->amr.empty()) c.SetList("aztp:PersonAmr", person->amr);
  if (person->auth_time) c.SetTime("aztp:PersonAuthTime", *person->auth_time);
}

Decision AuthorizeChain(const VerifiedChain& chain,
                        const std::vector<const Policy*>& policies,
                        const PolicyRequest& request, UnixTime now) {
  auto capability = Capability::Parse(request.action);
  if (!capability || !chain.capabilities().Covers(*capability)) {
    Decision d;
    d.basis = DecisionBasis::kNotCovered;
    d.reason = "denied: " + QuoteInput(request.action) +
               (capability ? " is not covered by the chain's capabilities"
                           : " is not a capability");
    return d;
  }
  PolicyRequest full;
  full.action = request.action;
  full.resource = request.resource;
  full.context = ContextFromChain(chain, now);
  for (const auto& [key, value] : request.context.values) {
    if (!key.starts_with("aztp:") || IsCallKey(key)) {
      full.context.values.emplace(key, value);
    }
  }
  return EvaluateAll(policies, full);
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

}  // namespace aztp

// Fuzzes the policy parser and evaluator with untrusted policy documents.
// Whatever parses must survive the canonical round trip unchanged
// (ToJson -> PolicyFromJson, and ToJson -> text -> ParsePolicy), and must
// evaluate against a fixed context with decisions that are consistent with
// the statements they name.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/encoding/json.h"
#include "aztp/policy/policy.h"

namespace {

aztp::PolicyContext FixedContext() {
  aztp::PolicyContext c;
  c.SetString("aztp:CallerId", "spiffe://org-a.example/agent/research");
  c.SetString("aztp:CallerTrustDomain", "org-a.example");
  c.SetString("aztp:OriginSubject", "oidc:https://idp.example#alice");
  c.SetString("aztp:OriginId", "spiffe://org-a.example/agent/planner");
  c.SetString("aztp:TargetId", "spiffe://org-b.example/tool/payments");
  c.SetString("aztp:Txn", "txn-1");
  c.SetInteger("aztp:ChainDepth", 1);
  c.SetList("aztp:ChainPath", {"spiffe://org-a.example/agent/planner",
                               "spiffe://org-a.example/agent/research",
                               "spiffe://org-b.example/tool/payments"});
  c.SetList("aztp:ChainTrustDomains", {"org-a.example", "org-b.example"});
  c.SetList("aztp:Capabilities", {"payments:refund", "payments:quote"});
  c.SetTime("aztp:CurrentTime", 1'800'000'000);
  c.SetString("request:a", "EUR");
  c.SetList("request:b", {"x", "y"});
  c.SetList("request:c", {});
  c.SetInteger("request:d", 250);
  c.SetDouble("request:e", 0.5);
  c.SetBool("request:f", true);
  c.SetTime("request:g", 1'700'000'000);
  return c;
}

// Check aborts unless the decision agrees with the statement it names.
void Check(const aztp::Policy& policy, const aztp::Decision& d) {
  using aztp::DecisionBasis;
  using aztp::Effect;
  using aztp::Verdict;
  if (d.allowed() != (d.verdict != Verdict::kDeny)) std::abort();
  if (d.reason.empty()) std::abort();
  if (d.basis == DecisionBasis::kDefaultDeny) {
    if (d.verdict != Verdict::kDeny || d.statement_index) std::abort();
    return;
  }
  if (!d.statement_index || *d.statement_index >= policy.statements().size()) {
    std::abort();
  }
  const aztp::Statement& s = policy.statements()[*d.statement_index];
  if (d.sid != s.sid()) std::abort();
  switch (d.basis) {
    case DecisionBasis::kExplicitDeny:
      if (s.effect() != Effect::kDeny || d.verdict != Verdict::kDeny) {
        std::abort();
      }
      break;
    case DecisionBasis::kStatement:
      if (s.effect() == Effect::kDeny) std::abort();
      if ((s.effect() == Effect::kAudit) != (d.verdict == Verdict::kAudit)) {
        std::abort();
      }
      break;
    case DecisionBasis::kContextError:
      if (d.verdict != Verdict::kDeny) std::abort();
      break;
    default:
      std::abort();  // kNotCovered comes from AuthorizeChain only
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto policy = aztp::ParsePolicy(text);
  if (!policy) return 0;

  // The canonical form is a fixed point.
  const aztp::Json canonical = policy->ToJson();
  auto back = aztp::PolicyFromJson(canonical);
  if (!back || !(*back == *policy) || back->ToJson() != canonical) {
    std::abort();
  }
  const std::string dumped = aztp::DumpJson(canonical);
  if (dumped.size() <= aztp::Policy::kMaxBytes) {
    auto reparsed = aztp::ParsePolicy(dumped);
    if (!reparsed || !(*reparsed == *policy)) std::abort();
  }

  // Evaluate fixed requests and requests built from the policy's own
  // patterns (so that statements actually match), bounded in length.
  static const aztp::PolicyContext context = FixedContext();
  std::vector<std::string> actions = {"payments:refund", "calendar:read", ""};
  std::vector<std::string> resources = {"*", "invoices/42"};
  for (const auto& s : policy->statements()) {
    if (actions.size() < 12) actions.push_back(s.actions()[0].substr(0, 256));
    if (s.resources() && resources.size() < 6) {
      resources.push_back((*s.resources())[0].substr(0, 256));
    }
  }
  aztp::PolicyRequest request;
  request.context = context;
  for (const auto& action : actions) {
    for (const auto& resource : resources) {
      request.action = action;
      request.resource = resource;
      const aztp::Decision d = aztp::Evaluate(*policy, request);
      Check(*policy, d);
      // Attaching the same policy twice changes nothing but the names.
      const aztp::Decision all = aztp::EvaluateAll({&*policy, &*back}, request);
      if (all.verdict != d.verdict || all.basis != d.basis ||
          all.statement_index != d.statement_index) {
        std::abort();
      }
    }
  }
  return 0;
}

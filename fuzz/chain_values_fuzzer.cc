// Fuzz target for the value types of hop-token claims and revocation lists
// (protocol §3.3, §3.4, §4 step 8).
//
// Every input goes through Capability::Parse, AudiencePattern::Parse and
// RevocationList::Parse, and, when it is a JSON document, through
// RevocationDelta::FromJson (applied to a list at its `since`),
// CapabilitySet::FromJson, Constraints::FromJson and PersonClaims::FromJson
// (the `prs` claim). Whatever parses must
// survive a round trip through its wire form unchanged and obey the
// coverage laws (reflexive; a cover of a cover is a cover); every failure
// must be one of the documented parse errors. An input of several lines is
// also read as a list of capabilities and of audience patterns whose
// pairwise coverage is checked for consistency. Violations abort.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/chain/capability.h"
#include "aztp/chain/constraints.h"
#include "aztp/chain/person.h"
#include "aztp/encoding/json.h"
#include "aztp/revocation/revocation_delta.h"
#include "aztp/revocation/revocation_list.h"

namespace {

using aztp::AudiencePattern;
using aztp::Capability;
using aztp::CapabilitySet;
using aztp::Code;
using aztp::Constraints;
using aztp::Json;
using aztp::RevocationList;

void Check(bool ok) {
  if (!ok) std::abort();
}

// CheckError aborts on an error that is not a documented parse failure or
// whose message is unbounded.
void CheckError(const aztp::Error& e) {
  Check(e.code() == Code::kMalformed || e.code() == Code::kTooLarge);
  Check(e.message().size() <= 1024);
}

void CheckCapability(const Capability& c) {
  Check(!c.str().empty() && c.str().size() <= Capability::kMaxBytes);
  auto again = Capability::Parse(c.str());
  Check(again.has_value() && *again == c);
  Check(c.Covers(c));
  Check(Capability::Parse("*")->Covers(c));
  // `p:*` covers exactly the capabilities that extend `p:`.
  if (c.IsWildcard() && c.str() != "*") {
    const std::string prefix = c.str().substr(0, c.str().size() - 2);
    auto base = Capability::Parse(prefix);
    Check(base.has_value() && !c.Covers(*base));
    auto child = Capability::Parse(prefix + ":x");
    if (child.has_value()) Check(c.Covers(*child));
  }
}

void CheckPattern(const AudiencePattern& p) {
  auto again = AudiencePattern::Parse(p.str());
  Check(again.has_value() && *again == p);
  Check(p.Covers(p));
  Check(p.Matches(p.base()) == !p.IsPrefix());
  if (p.IsPrefix()) {
    auto below = aztp::SpiffeId::Parse(p.base().str() + "/x");
    if (below.has_value()) {
      Check(p.Matches(*below));
      Check(p.Covers(AudiencePattern::Exact(*below)));
      Check(p.Covers(AudiencePattern::Below(*below)));
      Check(!AudiencePattern::Below(*below).Covers(p));
    }
  }
}

void CheckCapabilitySet(const Json& doc) {
  auto set = CapabilitySet::FromJson(doc);
  if (!set.has_value()) {
    CheckError(set.error());
    return;
  }
  Check(set->size() <= CapabilitySet::kMaxItems);
  Check(!set->FirstUncovered(*set).has_value());
  auto again = CapabilitySet::FromJson(set->ToJson());
  Check(again.has_value() && *again == *set);
  auto from_strings = CapabilitySet::FromStrings(set->Strings());
  Check(from_strings.has_value() && *from_strings == *set);
  auto reparsed = aztp::ParseJson(aztp::DumpJson(set->ToJson()));
  Check(reparsed.has_value());
  auto third = CapabilitySet::FromJson(*reparsed);
  Check(third.has_value() && *third == *set);
  for (const auto& c : set->items()) {
    CheckCapability(c);
    Check(set->Covers(c));
  }
}

void CheckConstraints(const Json& doc) {
  auto cns = Constraints::FromJson(doc);
  if (!cns.has_value()) {
    CheckError(cns.error());
    return;
  }
  Check(cns->CheckNarrowing(*cns).has_value());
  Check(Constraints().CheckNarrowing(*cns).has_value());
  Check(cns->empty() || !cns->CheckNarrowing(Constraints()).has_value());
  auto again = Constraints::FromJson(cns->ToJson());
  Check(again.has_value() && *again == *cns);
  auto reparsed = aztp::ParseJson(aztp::DumpJson(cns->ToJson()));
  Check(reparsed.has_value());
  auto third = Constraints::FromJson(*reparsed);
  Check(third.has_value() && *third == *cns);
  auto created = Constraints::Create(cns->tds(), cns->auds());
  Check(created.has_value() && *created == *cns);
  if (cns->auds()) {
    for (const auto& p : *cns->auds()) {
      CheckPattern(p);
      // An exact audience that a pattern lists is permitted unless `tds`
      // rules its trust domain out.
      if (!p.IsPrefix()) {
        auto s = cns->Permits(p.base(), p.base());
        const bool td_ok =
            !cns->tds() ||
            std::find(cns->tds()->begin(), cns->tds()->end(),
                      p.base().trust_domain()) != cns->tds()->end();
        Check(s.has_value() == td_ok);
        if (!s.has_value()) {
          Check(s.error().code() == Code::kConstraintViolation);
        }
      }
    }
  }
}

// CheckPerson: a `prs` claim that parses survives its wire form, within
// its bounds (protocol §5.2).
void CheckPerson(const Json& doc) {
  auto p = aztp::PersonClaims::FromJson(doc);
  if (!p.has_value()) {
    CheckError(p.error());
    return;
  }
  Check(p->groups.size() <= aztp::kMaxPersonGroups);
  Check(p->amr.size() <= aztp::kMaxPersonAmr);
  auto again = aztp::PersonClaims::FromJson(p->ToJson());
  Check(again.has_value() && *again == *p);
}

void CheckRevocationList(std::string_view input, bool is_json) {
  auto list = RevocationList::Parse(input);
  if (!list.has_value()) {
    // Only errors of the list's own validation are checked here; those of
    // the JSON syntax belong to ParseJson.
    if (is_json) {
      CheckError(list.error());
    } else {
      Check(list.error().code() == Code::kMalformed ||
            list.error().code() == Code::kTooLarge);
    }
    return;
  }
  Check(list->sequence() >= 0);
  Check(list->size() <= RevocationList::kMaxEntries);
  const Json doc = list->ToJson();
  auto again = RevocationList::Parse(aztp::DumpJson(doc));
  Check(again.has_value() && *again == *list);
  for (const auto& serial : doc["serials"]) {
    Check(list->IsRevokedSerial(serial.get<std::string>()));
  }
  for (const auto& jti : doc["jtis"]) {
    Check(list->IsRevokedJti(jti.get<std::string>()));
  }
  for (const auto& id : doc["ids"]) {
    auto parsed = aztp::SpiffeId::Parse(id.get<std::string>());
    Check(parsed.has_value() && list->IsRevokedId(*parsed));
  }
}

// CheckRevocationDelta reads a JSON document as a revocation delta: what
// parses round-trips, and applied to a list at its `since` gives a list at
// its `sequence` naming every addition (or kTooLarge).
void CheckRevocationDelta(const Json& doc) {
  auto delta = aztp::RevocationDelta::FromJson(doc);
  if (!delta.has_value()) {
    CheckError(delta.error());
    return;
  }
  Check(delta->since() >= 0 && delta->since() <= delta->sequence());
  Check(delta->since() < delta->sequence() ||
        delta->added().size() + delta->removed().size() == 0);
  auto again = aztp::RevocationDelta::FromJson(delta->ToJson());
  Check(again.has_value() && again->ToJson() == delta->ToJson());
  auto held = RevocationList::Create(delta->since(), {}, {"held"}, {});
  Check(held.has_value());
  auto applied = aztp::ApplyDelta(*held, *delta);
  if (!applied.has_value()) {
    Check(applied.error().code() == Code::kTooLarge);
    return;
  }
  Check(applied->sequence() == delta->sequence());
  for (const auto& id : delta->added().ids) Check(applied->IsRevokedId(id));
  for (const auto& jti : delta->added().jtis) Check(applied->IsRevokedJti(jti));
  for (const auto& s : delta->added().serials) {
    Check(applied->IsRevokedSerial(s));
  }
}

// CheckLines reads each line as a capability and as an audience pattern and
// checks the coverage laws across the values that parse.
void CheckLines(std::string_view input) {
  std::vector<Capability> caps;
  std::vector<AudiencePattern> patterns;
  std::size_t start = 0;
  while (start <= input.size() && caps.size() + patterns.size() < 16) {
    std::size_t end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    const std::string_view line = input.substr(start, end - start);
    if (auto c = Capability::Parse(line); c.has_value()) {
      caps.push_back(*c);
    }
    if (auto p = AudiencePattern::Parse(line); p.has_value()) {
      patterns.push_back(*p);
    }
    start = end + 1;
  }
  for (const auto& a : caps) {
    for (const auto& b : caps) {
      if (a.Covers(b) && b.Covers(a)) Check(a == b);
      for (const auto& c : caps) {
        if (a.Covers(b) && b.Covers(c)) Check(a.Covers(c));
      }
    }
  }
  for (const auto& a : patterns) {
    for (const auto& b : patterns) {
      if (a.Covers(b) && b.Covers(a)) Check(a == b);
      // A covered exact pattern's ID is matched by the cover.
      if (a.Covers(b) && !b.IsPrefix()) Check(a.Matches(b.base()));
      if (!b.IsPrefix() && a.Matches(b.base())) Check(a.Covers(b));
      for (const auto& c : patterns) {
        if (a.Covers(b) && b.Covers(c)) Check(a.Covers(c));
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  auto cap = Capability::Parse(input);
  if (cap.has_value()) {
    CheckCapability(*cap);
    Check(cap->str() == input);
  } else {
    CheckError(cap.error());
  }

  auto pattern = AudiencePattern::Parse(input);
  if (pattern.has_value()) {
    CheckPattern(*pattern);
    Check(pattern->str() == input);
  } else {
    CheckError(pattern.error());
  }

  auto doc = aztp::ParseJson(input);
  if (doc.has_value()) {
    CheckCapabilitySet(*doc);
    CheckConstraints(*doc);
    CheckPerson(*doc);
    CheckRevocationDelta(*doc);
  }

  CheckRevocationList(input, doc.has_value());
  CheckLines(input);
  return 0;
}

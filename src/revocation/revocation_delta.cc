#include "aztp/revocation/revocation_delta.h"

#include <string>
#include <unordered_set>
#include <utility>

namespace aztp {
namespace {

// Side reads the optional object member `name` of a delta document.
Result<RevocationEntries> Side(const Json& doc, const char* name) {
  auto it = doc.find(name);
  if (it == doc.end()) return RevocationEntries{};
  if (!it->is_object()) {
    return Error(Code::kMalformed, std::string("revocation delta: member \"") +
                                       name + "\" must be an object");
  }
  return RevocationEntries::FromJson(*it,
                                     std::string("revocation delta: ") + name);
}

// Changed returns `held` without `removed`, then with `added`.
template <typename T>
std::vector<T> Changed(const std::vector<T>& held, const std::vector<T>& added,
                       const std::vector<T>& removed) {
  std::unordered_set<T> out(held.begin(), held.end());
  for (const T& r : removed) out.erase(r);
  out.insert(added.begin(), added.end());
  return std::vector<T>(out.begin(), out.end());
}

}  // namespace

Result<RevocationDelta> RevocationDelta::Create(int64_t since, int64_t sequence,
                                                RevocationEntries added,
                                                RevocationEntries removed) {
  if (since < 0 || sequence < since) {
    return Error(Code::kMalformed,
                 "revocation delta: since must be a sequence no later than "
                 "`sequence`");
  }
  AZTP_RETURN_IF_ERROR(
      RevocationEntries::CheckTotal(added.size() + removed.size()));
  // A change moves the sequence on: a delta that keeps it changes nothing,
  // so that no reader takes changed entries for the list it already has.
  if (since == sequence && added.size() + removed.size() > 0) {
    return Error(Code::kMalformed,
                 "revocation delta: entries without a new sequence");
  }
  AZTP_RETURN_IF_ERROR(added.Check("revocation delta: added"));
  AZTP_RETURN_IF_ERROR(removed.Check("revocation delta: removed"));
  RevocationDelta d;
  d.since_ = since;
  d.sequence_ = sequence;
  d.added_ = std::move(added);
  d.removed_ = std::move(removed);
  return d;
}

Result<RevocationDelta> RevocationDelta::FromJson(const Json& doc) {
  if (!doc.is_object()) {
    return Error(Code::kMalformed, "revocation delta: must be a JSON object");
  }
  auto since = GetInt(doc, "since");
  if (!since) return since.error().WithContext("revocation delta");
  auto sequence = GetInt(doc, "sequence");
  if (!sequence) return sequence.error().WithContext("revocation delta");
  AZTP_ASSIGN_OR_RETURN(RevocationEntries added, Side(doc, "added"));
  AZTP_ASSIGN_OR_RETURN(RevocationEntries removed, Side(doc, "removed"));
  return Create(*since, *sequence, std::move(added), std::move(removed));
}

Json RevocationDelta::ToJson() const {
  Json out = Json::object();
  out["since"] = since_;
  out["sequence"] = sequence_;
  out["added"] = added_.ToJson();
  out["removed"] = removed_.ToJson();
  return out;
}

Result<RevocationList> ApplyDelta(const RevocationList& list,
                                  const RevocationDelta& delta) {
  if (delta.since() != list.sequence()) {
    return Error(Code::kInvalidArgument,
                 "revocation delta: starts at sequence " +
                     std::to_string(delta.since()) + ", the list is at " +
                     std::to_string(list.sequence()));
  }
  const RevocationEntries held = list.Entries();
  const RevocationEntries& add = delta.added();
  const RevocationEntries& drop = delta.removed();
  return RevocationList::Create(
      delta.sequence(), Changed(held.ids, add.ids, drop.ids),
      Changed(held.jtis, add.jtis, drop.jtis),
      Changed(held.serials, add.serials, drop.serials));
}

}  // namespace aztp

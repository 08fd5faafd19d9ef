// Revocation deltas (protocol §6 step 8, "Revocation deltas"): the change
// of one publisher's revocation list from a sequence a reader holds to the
// current one, so that a reader polling a long list receives what changed
// rather than the whole list each time. The JSON document is
//
//   {"since": 12, "sequence": 15,
//    "added":   {"ids": [...], "jtis": [...], "serials": [...]},
//    "removed": {"ids": [...], "jtis": [...], "serials": [...]}}
//
// `since` is the sequence the delta applies to and `sequence` the one it
// produces (since <= sequence, and since < sequence when it holds any
// entry); the entries of each side are checked as a list's are. A document with
// a `since` member is never a list: RevocationList::FromJson refuses it, so
// that a delta mistaken for a list cannot empty the list in force.
#pragma once

#include <cstdint>

#include "aztp/base/result.h"
#include "aztp/encoding/json.h"
#include "aztp/revocation/revocation_list.h"

namespace aztp {

// RevocationDelta is a checked delta document (protocol §6 step 8).
class RevocationDelta {
 public:
  // FromJson reads a delta document: `since` and `sequence` are required,
  // non-negative and ordered; `added` and `removed` are optional objects
  // whose optional arrays are checked as RevocationList::FromJson checks a
  // list's, with kMaxEntries bounding both sides together. kMalformed or
  // kTooLarge otherwise.
  static Result<RevocationDelta> FromJson(const Json& doc);
  // Create builds a delta from its parts, checked as FromJson checks them.
  static Result<RevocationDelta> Create(int64_t since, int64_t sequence,
                                        RevocationEntries added,
                                        RevocationEntries removed);

  int64_t since() const { return since_; }
  int64_t sequence() const { return sequence_; }
  const RevocationEntries& added() const { return added_; }
  const RevocationEntries& removed() const { return removed_; }
  // ToJson renders the document, each array sorted.
  Json ToJson() const;

 private:
  RevocationDelta() = default;
  int64_t since_ = 0;
  int64_t sequence_ = 0;
  RevocationEntries added_;
  RevocationEntries removed_;
};

// ApplyDelta returns `list` changed by `delta`: removals first, then
// additions, at the delta's sequence. kInvalidArgument when the delta does
// not start at the list's sequence (the reader then asks for the whole
// list), kTooLarge when the result would exceed kMaxEntries.
Result<RevocationList> ApplyDelta(const RevocationList& list,
                                  const RevocationDelta& delta);

}  // namespace aztp

// RevocationService: the trust domain's own revocation list, whole or as a
// delta from a sequence a reader holds (docs/protocol.md §6 step 8 and
// "Revocation deltas"; docs/aztpd.md, GET /v1/revocations).
//
// What the list names: each revoked identity's SPIFFE ID and the serials of
// its X.509-SVIDs that have not expired. A revoked identity is left out once
// nothing issued to it can still be accepted anywhere: its last X.509-SVID
// has expired, and so has every JWT-SVID it may hold (those were issued
// before the revocation, so they are expired by the revocation time plus
// the longest JWT-SVID lifetime), each plus kMaxSkewSeconds, the most clock
// skew a verifier may allow. So the list's size follows the credentials
// still alive, not the history of revocations.
//
// Deltas. Each change of an identity's status is stored with the sequence
// it produced (IdentityRepository::NoteRevocationChange). A reader that
// holds the list at sequence S gets the identities changed after S: the
// revoked ones among `added`, with their live serials, and the others (and
// revoked ones that are no longer listed) among `removed`, with every
// serial they ever had. Entries that age out without a change are not
// announced: a reader keeps them until its next whole list, which is
// harmless, since they name credentials that have expired.
#pragma once

#include <cstddef>
#include <cstdint>
#include <variant>

#include "aztp/base/result.h"
#include "aztp/revocation/revocation_delta.h"
#include "aztp/revocation/revocation_list.h"
#include "aztp/services/context.h"

namespace aztp::services {

// kMaxDeltaIdentities bounds the identities a delta describes; beyond it
// the whole list is sent, which is then no larger.
inline constexpr std::size_t kMaxDeltaIdentities = 1000;

// kRevocationChangesFrom names the store meta value holding the first
// sequence whose changes were recorded (the sequence when the store was
// upgraded to record them; absent: 0). Deltas start no earlier.
inline constexpr const char* kRevocationChangesFrom = "revocation_changes_from";

// RevocationUpdate is what a reader gets: a delta, or the whole list.
using RevocationUpdate = std::variant<RevocationList, RevocationDelta>;

class RevocationService {
 public:
  // max_jwt_ttl is the longest JWT-SVID lifetime the control plane grants.
  RevocationService(const ServiceContext& ctx, int64_t max_jwt_ttl)
      : ctx_(ctx), max_jwt_ttl_(max_jwt_ttl) {}

  // List returns the whole list at the context's time.
  Result<RevocationList> List();
  // Since answers a reader holding the list at `since`: a delta to the
  // current sequence, or the whole list when no delta can be given (since
  // is 0, ahead of the store, before kRevocationChangesFrom, or more than
  // kMaxDeltaIdentities identities changed). kInvalidArgument when `since`
  // is negative.
  Result<RevocationUpdate> Since(int64_t since);

 private:
  const ServiceContext& ctx_;
  int64_t max_jwt_ttl_;
};

}  // namespace aztp::services

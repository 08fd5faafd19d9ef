#include "aztp/services/revocations.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "aztp/chain/verifier.h"
#include "aztp/services/identities.h"

namespace aztp::services {
namespace {

// Standing is what the list says of one identity: whether it is listed,
// and its serials that may still be accepted somewhere and those that may
// not.
struct Standing {
  bool listed = false;
  std::vector<std::string> live;
  std::vector<std::string> dead;
};

// StandingOf decides an identity's place in the list at `now`: a revoked
// identity is listed while anything issued to it may still be accepted (the
// top of revocations.h); a serial is live until its expiry plus the skew a
// verifier may allow.
Result<Standing> StandingOf(Transaction& tx, const IdentityRecord& r,
                            UnixTime now, int64_t max_jwt_ttl) {
  Standing out;
  AZTP_ASSIGN_OR_RETURN(std::vector<SvidRecord> svids, tx.ListSvids(r.id));
  const bool revoked = r.status == IdentityRecord::Status::kRevoked;
  UnixTime last = r.updated_at + max_jwt_ttl;
  for (SvidRecord& s : svids) {
    last = std::max(last, s.expires_at);
    const bool live = revoked && s.expires_at + kMaxSkewSeconds > now;
    (live ? out.live : out.dead).push_back(std::move(s.serial));
  }
  out.listed = revoked && last + kMaxSkewSeconds > now;
  return out;
}

void Append(std::vector<std::string>& to, std::vector<std::string> from) {
  to.insert(to.end(), std::make_move_iterator(from.begin()),
            std::make_move_iterator(from.end()));
}

// Snapshot is the list's content read in one transaction.
struct Snapshot {
  int64_t sequence = 0;
  RevocationEntries entries;
};

Result<int64_t> Sequence(Transaction& tx) {
  AZTP_ASSIGN_OR_RETURN(auto seq, tx.GetMeta(kRevocationSequence));
  return seq.value_or(0);
}

// ReadList reads the whole list at `now` within `tx`.
Result<Snapshot> ReadList(Transaction& tx, UnixTime now, int64_t max_jwt_ttl) {
  Snapshot out;
  AZTP_ASSIGN_OR_RETURN(out.sequence, Sequence(tx));
  IdentityFilter f;
  f.status = IdentityRecord::Status::kRevoked;
  f.limit = 1000;
  for (;;) {
    AZTP_ASSIGN_OR_RETURN(auto page, tx.ListIdentities(f));
    for (const IdentityRecord& r : page) {
      AZTP_ASSIGN_OR_RETURN(Standing s, StandingOf(tx, r, now, max_jwt_ttl));
      if (!s.listed) continue;
      AZTP_ASSIGN_OR_RETURN(SpiffeId id, SpiffeId::Parse(r.id));
      out.entries.ids.push_back(std::move(id));
      Append(out.entries.serials, std::move(s.live));
    }
    if (page.size() < static_cast<std::size_t>(f.limit)) break;
    f.after = page.back().id;
  }
  return out;
}

Result<RevocationList> ListOf(Snapshot s) {
  return RevocationList::Create(s.sequence, std::move(s.entries.ids),
                                std::move(s.entries.jtis),
                                std::move(s.entries.serials));
}

// ReadChanges reads the delta from `since` to `sequence`, or nullopt when
// too many identities changed for a delta to be worth it.
Result<std::optional<RevocationDelta>> ReadChanges(Transaction& tx,
                                                   int64_t since,
                                                   int64_t sequence,
                                                   UnixTime now,
                                                   int64_t max_jwt_ttl) {
  AZTP_ASSIGN_OR_RETURN(
      std::vector<std::string> changed,
      tx.ListRevocationChanges(since, kMaxDeltaIdentities + 1));
  if (changed.size() > kMaxDeltaIdentities) {
    return std::optional<RevocationDelta>();
  }
  RevocationEntries added;
  RevocationEntries removed;
  for (const std::string& name : changed) {
    AZTP_ASSIGN_OR_RETURN(std::optional<IdentityRecord> r,
                          tx.GetIdentity(name));
    if (!r) return Error(Code::kInternal, "store: a changed identity is gone");
    AZTP_ASSIGN_OR_RETURN(Standing s, StandingOf(tx, *r, now, max_jwt_ttl));
    AZTP_ASSIGN_OR_RETURN(SpiffeId id, SpiffeId::Parse(r->id));
    (s.listed ? added : removed).ids.push_back(std::move(id));
    Append(added.serials, std::move(s.live));
    Append(removed.serials, std::move(s.dead));
  }
  AZTP_ASSIGN_OR_RETURN(
      RevocationDelta delta,
      RevocationDelta::Create(since, sequence, std::move(added),
                              std::move(removed)));
  return std::optional<RevocationDelta>(std::move(delta));
}

}  // namespace

Result<RevocationList> RevocationService::List() {
  const UnixTime now = ctx_.Now();
  Snapshot snapshot;
  AZTP_RETURN_IF_ERROR(ctx_.store->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(snapshot, ReadList(tx, now, max_jwt_ttl_));
    return Ok();
  }));
  return ListOf(std::move(snapshot));
}

Result<RevocationUpdate> RevocationService::Since(int64_t since) {
  if (since < 0) {
    return Error(Code::kInvalidArgument, "since must not be negative");
  }
  const UnixTime now = ctx_.Now();
  std::optional<RevocationDelta> delta;
  Snapshot whole;
  AZTP_RETURN_IF_ERROR(ctx_.store->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(int64_t sequence, Sequence(tx));
    AZTP_ASSIGN_OR_RETURN(auto from, tx.GetMeta(kRevocationChangesFrom));
    if (since > 0 && since <= sequence && since >= from.value_or(0)) {
      AZTP_ASSIGN_OR_RETURN(
          delta, ReadChanges(tx, since, sequence, now, max_jwt_ttl_));
      if (delta) return Ok();
    }
    AZTP_ASSIGN_OR_RETURN(whole, ReadList(tx, now, max_jwt_ttl_));
    return Ok();
  }));
  if (delta) return RevocationUpdate(std::move(*delta));
  AZTP_ASSIGN_OR_RETURN(RevocationList list, ListOf(std::move(whole)));
  return RevocationUpdate(std::move(list));
}

}  // namespace aztp::services

// The coordination aggregate: what the replicas of one control plane share
// besides the records (docs/scaling.md): leases on roles (one maintenance
// leader), single-use claims (an ID token is exchanged once, whichever
// replica is asked) and tickets, short-lived secret documents taken once
// (a browser login between its start and its callback, and its result
// until redeemed), so that any replica can finish what another began.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/base/secret.h"

namespace aztp {

// LeaseRecord says who holds a named role, and until when.
struct LeaseRecord {
  std::string name;    // e.g. "maintenance"
  std::string holder;  // the replica holding it
  UnixTime expires_at = 0;
  // term grows by one at each change of holder: what one holder did can be
  // told from what its successor did.
  int64_t term = 0;
};

// TicketRecord is a short-lived secret document under (kind, key). Its
// body is sealed at rest when the store seals secrets.
struct TicketRecord {
  std::string kind;   // e.g. "login", "login_result"
  std::string key;    // e.g. a login's state, or a digest of a token
  std::string owner;  // who it is for (caps are counted per owner)
  SecretBytes body;
  UnixTime expires_at = 0;
};

class CoordinationRepository {
 public:
  virtual ~CoordinationRepository() = default;

  virtual Result<std::optional<LeaseRecord>> GetLease(
      const std::string& name) = 0;
  // PutLease inserts or replaces the lease `r.name`.
  virtual Status PutLease(const LeaseRecord& r) = 0;

  // ClaimOnce marks `key` used until `expires_at`: true the first time,
  // false while an unexpired claim of it exists (an expired one is
  // replaced).
  virtual Result<bool> ClaimOnce(const std::string& key, UnixTime expires_at,
                                 UnixTime now) = 0;

  // PutTicket stores a new ticket (kAlreadyExists for a known kind and key,
  // even an expired one not swept yet).
  virtual Status PutTicket(const TicketRecord& r) = 0;
  // GetTicket reads the unexpired ticket (kind, key), if any.
  virtual Result<std::optional<TicketRecord>> GetTicket(const std::string& kind,
                                                        const std::string& key,
                                                        UnixTime now) = 0;
  // DeleteTicket removes (kind, key) (kNotFound when there is none).
  virtual Status DeleteTicket(const std::string& kind,
                              const std::string& key) = 0;
  // CountTickets counts the unexpired tickets of `kind`, of `owner` only
  // when given.
  virtual Result<int64_t> CountTickets(const std::string& kind,
                                       const std::optional<std::string>& owner,
                                       UnixTime now) = 0;

  // SweepExpired deletes the claims and tickets that expired at or before
  // `now`, and leases that did more than a day before; how many rows.
  virtual Result<int64_t> SweepExpired(UnixTime now) = 0;
};

}  // namespace aztp

// The tamper-evident audit log (docs/audit.md): records chained by SHA-256,
// so that editing, deleting, inserting or reordering any record breaks the
// chain at a named sequence number.
//
// Each record's `hash` covers its own fields and `prev`, the hash of the
// record before it (kAuditGenesis for seq 1). The store assigns seq, prev and
// hash when it appends; this header defines the hash, checks a chain, and
// converts records to and from their JSON Lines form.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/encoding/json.h"

namespace aztp {

// AuditRecord describes one mutation or decision. Never keys or whole
// tokens: a chain appears as its path of SPIFFE IDs and token IDs.
struct AuditRecord {
  int64_t seq = 0;
  UnixTime time = 0;
  std::string actor;     // who asked (SPIFFE ID, key ID, "aztpd")
  std::string action;    // e.g. "identity.create", "proxy.request"
  std::string subject;   // what it was about
  std::string decision;  // "allow", "deny", "audit" or empty
  std::string reason;
  std::string txn;                // transaction ID of a chain, if any
  Json details = Json::object();  // e.g. {"path": [...]} for a chain
  std::string prev;               // hash of record seq - 1
  std::string hash;               // AuditHash of this record
};

// kAuditGenesis is `prev` of the first record: 64 zeros.
extern const std::string kAuditGenesis;

// AuditHash is the lowercase hex SHA-256 of the record's canonical JSON
// (AuditHashInput), which covers every field except `hash`.
std::string AuditHash(const AuditRecord& r);

// AuditHashInput is the exact text hashed: the JSON object of seq, time,
// actor, action, subject, decision, reason, txn, details and prev with keys
// sorted at every level, no whitespace, UTF-8 unescaped.
std::string AuditHashInput(const AuditRecord& r);

// Seal sets r.seq, r.prev and r.hash for appending after `prev_hash`.
void SealAudit(AuditRecord& r, int64_t seq, const std::string& prev_hash);

// AuditHead names the last record of a verified chain.
struct AuditHead {
  int64_t seq = 0;                   // 0: empty chain
  std::string hash = kAuditGenesis;  // hash of record `seq`
};

// AuditChainChecker verifies a chain fed to it in order, page by page.
class AuditChainChecker {
 public:
  // Starts at `from` (default: an empty chain, so the first record must be
  // seq 1 with prev = kAuditGenesis).
  explicit AuditChainChecker(AuditHead from = {});

  // Add checks the next record. The first failure is kept; later records
  // are ignored.
  void Add(const AuditRecord& r);
  bool ok() const { return !bad_seq_.has_value(); }
  // bad_seq is the first sequence number at which the chain is broken.
  std::optional<int64_t> bad_seq() const { return bad_seq_; }
  // reason explains the failure ("" when ok).
  const std::string& reason() const { return reason_; }
  // head is the last good record.
  const AuditHead& head() const { return head_; }
  int64_t checked() const { return checked_; }

 private:
  AuditHead head_;
  int64_t checked_ = 0;
  std::optional<int64_t> bad_seq_;
  std::string reason_;
};

// AuditRecordJson is the record's JSON Lines form (docs/audit.md).
Json AuditRecordJson(const AuditRecord& r);
// AuditRecordFromJson reads that form strictly: every member present with
// its type, no others, bounded sizes. Errors are kMalformed.
Result<AuditRecord> AuditRecordFromJson(const Json& j);

// kMaxAuditFieldBytes and kMaxAuditDetailsBytes bound a record's text
// fields and its serialised details, as AuditRecordFromJson accepts them.
inline constexpr std::size_t kMaxAuditFieldBytes = 4096;
inline constexpr std::size_t kMaxAuditDetailsBytes = 64 << 10;

// BoundAuditRecord cuts what exceeds those bounds before a record is
// written, so that every record can later be shipped and read: a long text
// field keeps its first bytes (on a UTF-8 boundary) and ends in "...", and
// details too large become {"truncated": true}.
void BoundAuditRecord(AuditRecord& r);

// AuditFilter selects records for queries; empty members match anything.
struct AuditFilter {
  std::string txn;
  std::string identity;  // equals actor or subject, or is in details.path
  std::string decision;
  std::string action;             // exact, or a prefix ending in '.' ("proxy.")
  std::optional<UnixTime> since;  // time >= since
  std::optional<UnixTime> until;  // time < until
};

bool AuditMatches(const AuditFilter& f, const AuditRecord& r);

// AuditDecisions are the values of a record's `decision` besides "".
const std::vector<std::string>& AuditDecisions();

// AuditActions lists every action aztpd and aztp-proxy record, the table
// of docs/audit.md ("Actions"), which a test keeps equal to it.
const std::vector<std::string>& AuditActions();

// A filter value no record can ever match is a mistake, not a question
// whose answer is "none": a scheduled check built on it would stay green
// forever. These refuse such values with kInvalidArgument, naming the
// nearest valid one ("did you mean ...?").
//
// CheckAuditDecision: allow, deny or audit.
Status CheckAuditDecision(std::string_view decision);
// CheckAuditAction: one of AuditActions(), or a prefix ending in '.' of
// at least one of them ("proxy.", "identity.").
Status CheckAuditAction(std::string_view action);
// CheckAuditIdentity: a SPIFFE ID in the recorded `spiffe://` form.
Status CheckAuditIdentity(std::string_view identity);
// CheckAuditFilter applies the three to the members that are set.
Status CheckAuditFilter(const AuditFilter& f);

}  // namespace aztp

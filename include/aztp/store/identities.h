// The identities aggregate: registered identities and the links between
// them.
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

// IdentityRecord is one registered identity.
struct IdentityRecord {
  // Status is stored as "active" or "revoked".
  enum class Status { kActive, kRevoked };
  // ParseStatus reads the stored (and wire) text of a Status.
  static std::optional<Status> ParseStatus(std::string_view text);

  std::string id;                     // spiffe:// form
  std::optional<std::string> parent;  // parent identity's ID
  bool global = false;                // visible beyond its trust domain
  bool discoverable = false;
  Json metadata = Json::object();  // free-form, at most 16 KiB serialised
  std::vector<std::string> selectors;
  // federates_with lists the federated trust domains (names) whose bundles
  // this identity receives, i.e. whose workloads it accepts as peers and
  // chain hops; nullopt: every federated trust domain.
  std::optional<std::vector<std::string>> federates_with;
  Status status = Status::kActive;
  std::string revoked_reason;  // when revoked
  // revoked_by is the actor of the revocation (an audit actor such as
  // "apikey:<key_id>"), when revoked; it decides who may reissue.
  std::string revoked_by;
  UnixTime created_at = 0;
  UnixTime updated_at = 0;
};
std::string_view ToString(IdentityRecord::Status status);

// LinkRecord is a relation between two identities.
struct LinkRecord {
  // Kind is stored as "linked" or "parent".
  enum class Kind { kLinked, kParent };
  static std::optional<Kind> ParseKind(std::string_view text);

  std::string from;
  std::string to;
  Kind kind = Kind::kLinked;
  UnixTime created_at = 0;
  Json metadata = Json::object();  // at most 16 KiB serialised
};
std::string_view ToString(LinkRecord::Kind kind);

// IdentityFilter selects identities for listing.
struct IdentityFilter {
  std::optional<std::string> id_prefix;  // e.g. "spiffe://td/agents/"
  std::optional<IdentityRecord::Status> status;
  std::optional<std::string> parent;
  std::optional<bool> discoverable;
  std::string after;  // page token: list IDs strictly after this one
  int limit = 100;    // 1..1000
};

// IdentityRepository holds identities and their links. Methods return
// kNotFound or kAlreadyExists where documented, kInvalidArgument for a
// record that names an identity that does not exist, kIo on storage
// errors.
class IdentityRepository {
 public:
  virtual ~IdentityRepository() = default;

  // InsertIdentity adds a new identity (kAlreadyExists for a known ID; its
  // parent, when set, must exist and differ from the identity).
  virtual Status InsertIdentity(const IdentityRecord& r) = 0;
  // UpdateIdentity replaces every field but `id` and `created_at`
  // (kNotFound for an unknown ID).
  virtual Status UpdateIdentity(const IdentityRecord& r) = 0;
  virtual Result<std::optional<IdentityRecord>> GetIdentity(
      const std::string& id) = 0;
  // ListIdentities returns at most filter.limit records ordered by ID
  // (byte-wise); the prefix matches bytes exactly (no wildcards, no case
  // folding). kInvalidArgument for a limit outside 1..1000.
  virtual Result<std::vector<IdentityRecord>> ListIdentities(
      const IdentityFilter& filter) = 0;
  // CountIdentities counts the identities with `status`; nullopt counts
  // them all.
  virtual Result<int64_t> CountIdentities(
      std::optional<IdentityRecord::Status> status) = 0;

  // NoteRevocationChange records that identity `id` (which must exist)
  // changed status at revocation list sequence `sequence`; only an
  // identity's latest change is kept (services/revocations.h).
  virtual Status NoteRevocationChange(const std::string& id,
                                      int64_t sequence) = 0;
  // ListRevocationChanges returns the identities whose latest change came
  // after sequence `after`, in the order of their changes, at most `limit`
  // (1..10000, else kInvalidArgument).
  virtual Result<std::vector<std::string>> ListRevocationChanges(
      int64_t after, std::size_t limit) = 0;

  // InsertLink adds a link between two existing identities (kAlreadyExists
  // for the same from, to and kind).
  virtual Status InsertLink(const LinkRecord& r) = 0;
  // ListLinks returns links where `id` is `from` or `to`, ordered by from,
  // to and kind.
  virtual Result<std::vector<LinkRecord>> ListLinks(const std::string& id) = 0;
};

}  // namespace aztp

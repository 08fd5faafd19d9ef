// Revocation lists and their sources (protocol §6 step 8).
//
// A revocation list names SPIFFE IDs, token IDs (`jti`) and X.509-SVID
// serial numbers that a verifier must refuse: a chain is rejected with
// kRevoked when any token's `iss`, `jti` or leaf serial is listed. The JSON
// document is
//
//   {"sequence": 12,
//    "ids": ["spiffe://example.org/agents/rogue"],
//    "jtis": ["Zm9vYmFyYmF6cXV4cXV1eA"],
//    "serials": ["1f3a9c"]}
//
// where `sequence` orders successive lists of one publisher and the three
// arrays are optional. A RevocationSource hands the list in force to a
// verifier, per trust domain where it holds one list per domain (each
// domain's list applies to that domain's identities only, protocol §6 step
// 8); FileRevocationSource re-reads a file on demand and never goes back to
// an older sequence.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/encoding/json.h"
#include "aztp/spiffeid/spiffe_id.h"

namespace aztp {

// RevocationEntries are the three kinds of entries of a revocation list, or
// of one side of a delta (revocation_delta.h), unchecked until Check.
struct RevocationEntries {
  std::vector<SpiffeId> ids;
  std::vector<std::string> jtis;
  std::vector<std::string> serials;

  std::size_t size() const { return ids.size() + jtis.size() + serials.size(); }
  // FromJson reads the optional arrays `ids`, `jtis` and `serials` of the
  // object `doc`: their count and types, and each ID. The jtis and serials
  // are left to Check, which every Create runs; messages start with `what`.
  static Result<RevocationEntries> FromJson(const Json& doc,
                                            const std::string& what);
  // Check checks the jtis and serials as RevocationList::Parse says (IDs are
  // checked by their type); messages start with `what`.
  Status Check(const std::string& what) const;
  // CheckTotal is kTooLarge for more than RevocationList::kMaxEntries.
  static Status CheckTotal(std::size_t total);
  // ToJson renders the three arrays, each sorted.
  Json ToJson() const;
};

// RevocationList is an immutable revocation list (protocol §6 step 8) with
// O(1) lookups. Share it between threads as
// std::shared_ptr<const RevocationList>.
class RevocationList {
 public:
  // kMaxBytes bounds the JSON document (protocol §6 step 8).
  static constexpr std::size_t kMaxBytes = 4 << 20;
  // kMaxEntries bounds the entries of the three arrays together
  // (protocol §6 step 8).
  static constexpr std::size_t kMaxEntries = 100000;
  // kMaxJtiBytes bounds one `jti` entry (protocol §6 step 8).
  static constexpr std::size_t kMaxJtiBytes = 256;
  // kMaxSerialChars bounds one serial: 20 bytes, RFC 5280 §4.1.2.2
  // (protocol §6 step 8).
  static constexpr std::size_t kMaxSerialChars = 40;

  // Parse reads a revocation list document (protocol §6 step 8). `sequence`
  // is a required non-negative integer; `ids`, `jtis` and `serials` are
  // optional arrays of strings (absent means empty). IDs are parsed with
  // SpiffeId::Parse; jtis are 1..kMaxJtiBytes bytes; serials are lowercase
  // hexadecimal without leading zeros ("0" for zero), at most
  // kMaxSerialChars. Repeated entries are accepted and count once: revoking
  // twice is harmless, and refusing a list over it would keep an older list
  // in force. Unknown top-level members are ignored so that later versions
  // of the format can add members that older verifiers skip, except
  // `since`, which marks a delta (revocation_delta.h). Errors are
  // kMalformed, or kTooLarge beyond kMaxBytes, kMaxEntries, kMaxJtiBytes or
  // kMaxSerialChars.
  static Result<RevocationList> Parse(std::string_view json);

  // FromJson is Parse for an already parsed document (protocol §6 step 8).
  static Result<RevocationList> FromJson(const Json& doc);

  // Create builds a list from its parts, validated as Parse validates them
  // (protocol §6 step 8).
  static Result<RevocationList> Create(int64_t sequence,
                                       std::vector<SpiffeId> ids,
                                       std::vector<std::string> jtis,
                                       std::vector<std::string> serials);

  // Empty returns the list with sequence 0 that revokes nothing
  // (protocol §6 step 8).
  static RevocationList Empty() { return RevocationList(); }

  // sequence returns the list's sequence number (protocol §6 step 8).
  int64_t sequence() const { return sequence_; }

  // size returns the number of distinct entries (protocol §6 step 8).
  std::size_t size() const {
    return ids_.size() + jtis_.size() + serials_.size();
  }

  // IsRevokedId reports whether `id` is listed (protocol §6 step 8).
  bool IsRevokedId(const SpiffeId& id) const { return ids_.contains(id); }

  // ids are the listed SPIFFE IDs, e.g. to check that a federated domain's
  // list names only its own identities (docs/federation.md).
  const std::unordered_set<SpiffeId>& ids() const { return ids_; }

  // IsRevokedJti reports whether the token ID `jti` is listed
  // (protocol §6 step 8).
  bool IsRevokedJti(std::string_view jti) const { return jtis_.contains(jti); }

  // IsRevokedSerial reports whether the certificate serial `lowercase_hex`
  // is listed (protocol §6 step 8). The query is canonicalised first
  // (uppercase hex digits lowered, leading zeros dropped) so that a caller's
  // spelling cannot hide a revoked certificate.
  bool IsRevokedSerial(std::string_view lowercase_hex) const;

  // ToJson renders the document with all three arrays, each sorted
  // (protocol §6 step 8).
  Json ToJson() const;
  // Entries returns a copy of the entries, in no particular order.
  RevocationEntries Entries() const;

  // operator== compares sequences and entry sets (protocol §6 step 8).
  friend bool operator==(const RevocationList& a, const RevocationList& b) {
    return a.sequence_ == b.sequence_ && a.ids_ == b.ids_ &&
           a.jtis_ == b.jtis_ && a.serials_ == b.serials_;
  }

 private:
  // StringHash lets the string sets be searched with a string_view.
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using StringSet =
      std::unordered_set<std::string, StringHash, std::equal_to<>>;

  RevocationList() = default;

  int64_t sequence_ = 0;
  std::unordered_set<SpiffeId> ids_;
  StringSet jtis_;
  StringSet serials_;
};

// RevocationSource supplies the revocation list in force
// (protocol §6 step 8). Implementations are thread-safe.
class RevocationSource {
 public:
  virtual ~RevocationSource() = default;

  // Current returns the list in force, never null (protocol §6 step 8). The
  // list stays valid for as long as the caller holds the pointer, even if
  // the source moves on to another list.
  virtual std::shared_ptr<const RevocationList> Current() const = 0;

  // ForDomain returns the list that applies to the identities of `td`,
  // never null (protocol §6 step 8): a source that holds one list per
  // trust domain returns that domain's (an empty one when it holds none),
  // so that no domain's list revokes another domain's identities. The
  // default is Current(): a source of one list (a file, a static list)
  // applies it to every domain.
  virtual std::shared_ptr<const RevocationList> ForDomain(
      const TrustDomain& /*td*/) const {
    return Current();
  }
};

// StaticRevocationSource holds a list that the application replaces
// explicitly (protocol §6 step 8).
class StaticRevocationSource final : public RevocationSource {
 public:
  // StaticRevocationSource starts with `list` (protocol §6 step 8).
  explicit StaticRevocationSource(
      RevocationList list = RevocationList::Empty());

  // Current implements RevocationSource::Current (protocol §6 step 8).
  std::shared_ptr<const RevocationList> Current() const override;

  // Set replaces the list in force atomically, whatever its sequence
  // (protocol §6 step 8). Readers hold the lock only to copy a pointer.
  void Set(RevocationList list);

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const RevocationList> current_;  // guarded by mu_
};

// FileRevocationSource serves the list stored in a file, re-read by Reload
// (protocol §6 step 8).
class FileRevocationSource final : public RevocationSource {
 public:
  // Open reads and parses the file at `path` (protocol §6 step 8). Errors
  // are kIo, or those of ReadFile and RevocationList::Parse.
  static Result<std::unique_ptr<FileRevocationSource>> Open(
      const std::string& path);

  // Current implements RevocationSource::Current (protocol §6 step 8).
  std::shared_ptr<const RevocationList> Current() const override;

  // Reload re-reads the file (protocol §6 step 8). A list whose sequence is
  // at least the current one replaces it; a lower sequence is
  // kInvalidArgument, so that an old file cannot bring revoked entries back.
  // On any error the current list stays in force.
  Status Reload();

  // path returns the file this source reads (protocol §6 step 8).
  const std::string& path() const { return path_; }

 private:
  FileRevocationSource(std::string path,
                       std::shared_ptr<const RevocationList> list)
      : path_(std::move(path)), current_(std::move(list)) {}

  const std::string path_;
  std::mutex reload_mu_;  // serialises Reload
  mutable std::mutex mu_;
  std::shared_ptr<const RevocationList> current_;  // guarded by mu_
};

}  // namespace aztp

// SpiffeId: a strictly parsed SPIFFE ID (SPIFFE-ID §2).
//
// A SPIFFE ID is `spiffe://<trust-domain>[/<path>]`. Parsing follows
// SPIFFE-ID §2 to the letter and rejects rather than normalises: the scheme
// must be exactly `spiffe://`, the trust domain obeys the TrustDomain rules
// (SPIFFE-ID §2.1), every path segment is a non-empty run of
// `a-z A-Z 0-9 . - _` other than `.` and `..` with no trailing slash
// (SPIFFE-ID §2.2), and the whole ID is at most 2048 bytes (SPIFFE-ID §2.3).
// Percent-encoding, queries, fragments, userinfo and ports all fail the
// character rules. Because nothing is rewritten, two IDs are equal exactly
// when their strings are byte-wise equal.
//
// Example:
//
//   auto id = aztp::SpiffeId::Parse("spiffe://example.org/agents/planner");
//   if (!id) return std::move(id).error();
//   id->trust_domain().name();  // "example.org"
//   id->path();                 // "/agents/planner"
//   id->IsWorkload();           // true
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "aztp/base/result.h"
#include "aztp/spiffeid/trust_domain.h"

namespace aztp {

// SpiffeId is an immutable, validated SPIFFE ID (SPIFFE-ID §2). It always
// holds the `spiffe://` form. It is a regular value type: copyable, movable,
// totally ordered and hashable.
class SpiffeId {
 public:
  // kMaxBytes is the longest accepted ID, counting every byte of the scheme,
  // `://`, trust domain and path (SPIFFE-ID §2.3).
  static constexpr size_t kMaxBytes = 2048;

  // Parse validates `id` per SPIFFE-ID §2 and returns the SPIFFE ID. `id`
  // must be exactly `spiffe://<trust-domain>[/<path>]` with the trust domain
  // rules of SPIFFE-ID §2.1 and the path rules of SPIFFE-ID §2.2. Errors are
  // kMalformed, or kTooLarge when `id` is longer than kMaxBytes
  // (SPIFFE-ID §2.3) or its trust domain longer than 255 bytes. Messages
  // quote at most the first 64 bytes of `id`.
  static Result<SpiffeId> Parse(std::string_view id);

  // ParseUserInput is Parse for values received at an API boundary: besides
  // the `spiffe://` form it accepts the alias `aztp://<trust-domain>[/<path>]`
  // under the same SPIFFE-ID §2 rules and converts it to the `spiffe://`
  // form, whose length must then be within kMaxBytes (SPIFFE-ID §2.3).
  // Certificates and tokens must be parsed with Parse, never with this.
  static Result<SpiffeId> ParseUserInput(std::string_view id);

  // FromSegments builds the ID `spiffe://<td><path>`. `path` is either empty
  // (the trust domain's own ID) or starts with `/` and obeys SPIFFE-ID §2.2.
  // Errors are kMalformed for a bad path and kTooLarge when the result would
  // exceed kMaxBytes (SPIFFE-ID §2.3).
  static Result<SpiffeId> FromSegments(const TrustDomain& td,
                                       std::string_view path);

  // ControlPlane is spiffe://<td>/aztpd, the ID of the control plane of
  // `td` (docs/protocol.md §1): the only signer of a person's root hop
  // token (§5.3), and of the bundle endpoint of `td`.
  static SpiffeId ControlPlane(const TrustDomain& td);

  // alias is the ID as aztp://<trust-domain><path>, the form
  // ParseUserInput also accepts (docs/protocol.md §1.5).
  std::string alias() const;

  // str returns the whole ID in `spiffe://` form (SPIFFE-ID §2).
  const std::string& str() const { return id_; }

  // trust_domain returns the trust domain of the ID (SPIFFE-ID §2.1).
  const TrustDomain& trust_domain() const { return trust_domain_; }

  // path returns the path with its leading slash, e.g. `/a/b`, or an empty
  // view when the ID has no path (SPIFFE-ID §2.2). The view is valid as long
  // as this SpiffeId is alive.
  std::string_view path() const {
    return std::string_view(id_).substr(path_offset_);
  }

  // IsWorkload reports whether the ID has a non-empty path, as a workload
  // (leaf) ID must; a trust domain's signing authority has none
  // (SPIFFE-ID §2.2, §3.1).
  bool IsWorkload() const { return path_offset_ < id_.size(); }

  // MemberOf reports whether the ID belongs to trust domain `td`
  // (SPIFFE-ID §2.1).
  bool MemberOf(const TrustDomain& td) const { return trust_domain_ == td; }

  // operator== compares the ID strings byte-wise; because parsing never
  // normalises, this is the equality of strictly parsed IDs (SPIFFE-ID §2).
  friend bool operator==(const SpiffeId& a, const SpiffeId& b) {
    return a.id_ == b.id_;
  }

  // operator<=> orders IDs by the bytes of their strings (SPIFFE-ID §2), so a
  // SpiffeId can key an ordered container.
  friend std::strong_ordering operator<=>(const SpiffeId& a,
                                          const SpiffeId& b) {
    return a.id_ <=> b.id_;
  }

 private:
  SpiffeId(std::string id, TrustDomain td, size_t path_offset)
      : id_(std::move(id)),
        trust_domain_(std::move(td)),
        path_offset_(path_offset) {}

  // ParseAfterScheme validates `rest`, the part of `input` after its scheme,
  // and builds the `spiffe://` form. Errors quote `input`.
  static Result<SpiffeId> ParseAfterScheme(std::string_view input,
                                           std::string_view rest);

  std::string id_;            // the whole ID in spiffe:// form
  TrustDomain trust_domain_;  // the authority part of id_
  size_t path_offset_ = 0;    // where the path starts in id_
};

}  // namespace aztp

// std::hash<aztp::SpiffeId> hashes the ID string, consistent with operator==
// (SPIFFE-ID §2).
template <>
struct std::hash<aztp::SpiffeId> {
  size_t operator()(const aztp::SpiffeId& id) const noexcept {
    return std::hash<std::string>{}(id.str());
  }
};

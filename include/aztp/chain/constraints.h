// Delegation constraints, the `cns` claim of a hop token (protocol §3.4).
//
// `cns` is an object with two optional members:
//
//   * `tds`: trust-domain names; every later token's `iss` and `aud` must lie
//     in one of them;
//   * `auds`: SPIFFE ID patterns, each either an exact SPIFFE ID or a prefix
//     ending in `/*`; every later token's `aud` must match one.
//
// A later token may repeat, narrow or add constraints, never widen or drop
// them (protocol §3.4, §4 step 5): `earlier.CheckNarrowing(later)` checks
// that, and `earlier.Permits(iss, aud)` checks one later token.
//
// Example:
//
//   auto cns = aztp::Constraints::FromJson(
//       aztp::Json::parse(R"({"tds":["example.org"],
//                             "auds":["spiffe://example.org/tools/*"]})"));
//   cns->Permits(iss, aud);  // kConstraintViolation unless both comply
#pragma once

#include <compare>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/encoding/json.h"
#include "aztp/spiffeid/spiffe_id.h"
#include "aztp/spiffeid/trust_domain.h"

namespace aztp {

// AudiencePattern is one entry of `cns.auds` (protocol §3.4): an exact SPIFFE
// ID, or a prefix pattern `<id>/*` that matches every ID strictly below
// `<id>`. It is an immutable, totally ordered value type.
class AudiencePattern {
 public:
  // Parse validates `text` (protocol §3.4). A pattern ending in `/*` is a
  // prefix whose part before `/*` must be a valid SPIFFE ID (the trust
  // domain's own ID is allowed: `spiffe://example.org/*`); anything else must
  // be a valid SPIFFE ID, parsed strictly with SpiffeId::Parse. Errors are
  // those of SpiffeId::Parse (kMalformed, kTooLarge).
  static Result<AudiencePattern> Parse(std::string_view text);

  // Exact returns the pattern that matches `id` only (protocol §3.4).
  static AudiencePattern Exact(SpiffeId id) {
    return AudiencePattern(std::move(id), false);
  }

  // Below returns the prefix pattern `<id>/*`, which matches the IDs strictly
  // below `id` (protocol §3.4).
  static AudiencePattern Below(SpiffeId id) {
    return AudiencePattern(std::move(id), true);
  }

  // str returns the pattern as written on the wire (protocol §3.4).
  std::string str() const { return prefix_ ? base_.str() + "/*" : base_.str(); }

  // IsPrefix reports whether the pattern ends in `/*` (protocol §3.4).
  bool IsPrefix() const { return prefix_; }

  // base returns the ID of an exact pattern, or the part before `/*` of a
  // prefix pattern (protocol §3.4).
  const SpiffeId& base() const { return base_; }

  // Matches reports whether `id` satisfies the pattern (protocol §3.4): an
  // exact pattern matches its own ID; `spiffe://td/a/*` matches
  // `spiffe://td/a/x` and `spiffe://td/a/x/y` but neither `spiffe://td/a` nor
  // `spiffe://td/ab`.
  bool Matches(const SpiffeId& id) const;

  // Covers reports whether every ID that `narrower` matches is matched by
  // this pattern (protocol §3.4): the narrowing check of `cns.auds`.
  bool Covers(const AudiencePattern& narrower) const;

  // operator== compares the patterns' wire strings (protocol §3.4).
  friend bool operator==(const AudiencePattern& a,
                         const AudiencePattern& b) = default;

  // operator<=> orders patterns by base ID, exact before prefix
  // (protocol §3.4).
  friend std::strong_ordering operator<=>(const AudiencePattern& a,
                                          const AudiencePattern& b) {
    if (auto c = a.base_ <=> b.base_; c != 0) return c;
    return a.prefix_ <=> b.prefix_;
  }

 private:
  AudiencePattern(SpiffeId base, bool prefix)
      : base_(std::move(base)), prefix_(prefix) {}

  SpiffeId base_;
  bool prefix_;
};

// Constraints is the immutable `cns` claim of a hop token (protocol §3.4).
// Each member is either absent (no constraint of that kind) or a non-empty
// list. The default value has neither member.
class Constraints {
 public:
  // kMaxItems is the largest number of entries in `tds` or in `auds`
  // (protocol §3.4).
  static constexpr std::size_t kMaxItems = 32;

  // Constraints builds the value with no constraint (protocol §3.4).
  Constraints() = default;

  // Create builds constraints from their parts, validated as FromJson
  // validates them (protocol §3.4): a present list holds 1..kMaxItems
  // distinct entries.
  static Result<Constraints> Create(
      std::optional<std::vector<TrustDomain>> tds,
      std::optional<std::vector<AudiencePattern>> auds);

  // FromJson reads a `cns` claim (protocol §3.4): an object whose only
  // members are `tds` (bare trust-domain names) and `auds` (audience
  // patterns), each an array of 1..kMaxItems distinct strings. An empty array
  // is kMalformed: it would permit nothing, the opposite of what an absent
  // member means, and a receiver that read it the other way would fail open;
  // a token that must not be extended says so with `max`. Unknown members,
  // wrong types and bad entries are kMalformed; too many entries kTooLarge.
  static Result<Constraints> FromJson(const Json& value);

  // ToJson renders the `cns` object, omitting absent members (protocol §3.4).
  Json ToJson() const;

  // empty reports whether neither member is present (protocol §3.4).
  bool empty() const { return !tds_ && !auds_; }

  // tds returns the permitted trust domains, if constrained (protocol §3.4).
  const std::optional<std::vector<TrustDomain>>& tds() const { return tds_; }

  // auds returns the permitted audience patterns, if constrained
  // (protocol §3.4).
  const std::optional<std::vector<AudiencePattern>>& auds() const {
    return auds_;
  }

  // Permits checks one later token's `iss` and `aud` against these
  // constraints (protocol §3.4, §4 step 5). It returns kConstraintViolation,
  // naming the rule, when `tds` is present and the trust domain of `iss` or
  // of `aud` is not listed, or when `auds` is present and `aud` matches no
  // pattern.
  Status Permits(const SpiffeId& iss, const SpiffeId& aud) const;

  // CheckNarrowing checks that `later` repeats or narrows every member
  // present here (protocol §3.4, §4 step 5): `later.tds` must be present and a
  // subset of `tds`, and every pattern of `later.auds` must be covered by some
  // pattern of `auds`. Members absent here may be added freely. Violations are
  // kConstraintViolation naming the rule.
  Status CheckNarrowing(const Constraints& later) const;

  // operator== compares both members, entries in order (protocol §3.4).
  friend bool operator==(const Constraints& a, const Constraints& b) = default;

 private:
  std::optional<std::vector<TrustDomain>> tds_;
  std::optional<std::vector<AudiencePattern>> auds_;
};

}  // namespace aztp

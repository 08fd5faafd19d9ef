// Capabilities and capability sets of hop tokens (protocol §3.3).
//
// A capability is `segment(:segment)*` where every segment is a non-empty run
// of `A-Z a-z 0-9 . _ -`, for example `calendar:read` or
// `payments:refund:eur`. The last segment may be `*`, which covers any one or
// more further segments: `payments:*` covers `payments:refund` and
// `payments:refund:eur` but not `payments`. `*` alone covers every
// capability. There is no other wildcard. Parsing rejects rather than
// normalises, so two capabilities are equal exactly when their strings are.
//
// Attenuation (protocol §3.3, §4 step 5): every capability of token i must be
// covered by some capability of token i - 1, which is
// `parent.FirstUncovered(child) == std::nullopt`.
//
// Example:
//
//   auto parent = aztp::CapabilitySet::FromStrings({"payments:*"});
//   auto child = aztp::CapabilitySet::FromStrings({"payments:refund:eur"});
//   parent->FirstUncovered(*child);  // std::nullopt: child attenuates parent
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/encoding/json.h"

namespace aztp {

// Capability is an immutable, validated capability string (protocol §3.3).
// It is a regular value type: copyable, movable, totally ordered and
// hashable.
class Capability {
 public:
  // kMaxBytes is the longest accepted capability (protocol §3.3).
  static constexpr std::size_t kMaxBytes = 256;

  // Parse validates `text` as `segment(:segment)*` (protocol §3.3). Segments
  // are non-empty runs of `A-Z a-z 0-9 . _ -`; only the last segment may be
  // `*`. Errors are kMalformed (empty input, empty segment, leading or
  // trailing `:`, a bad byte, `*` elsewhere than as the whole last segment)
  // or kTooLarge beyond kMaxBytes. Messages quote at most 64 bytes of `text`.
  static Result<Capability> Parse(std::string_view text);

  // str returns the capability string (protocol §3.3).
  const std::string& str() const { return text_; }

  // IsWildcard reports whether the last segment is `*` (protocol §3.3).
  bool IsWildcard() const { return text_.back() == '*'; }

  // Covers reports whether this capability grants `other` (protocol §3.3):
  // they are equal, or this is `*`, or this is `p:*` and `other` is `p:`
  // followed by at least one more segment. So `payments:*` covers
  // `payments:refund`, `payments:refund:eur` and `payments:x:*`, but not
  // `payments`; `payments:refund:*` does not cover `payments:*`.
  bool Covers(const Capability& other) const;

  // operator== compares capability strings byte-wise (protocol §3.3).
  friend bool operator==(const Capability& a, const Capability& b) = default;

  // operator<=> orders capabilities by the bytes of their strings
  // (protocol §3.3), so a Capability can key an ordered container.
  friend std::strong_ordering operator<=>(const Capability& a,
                                          const Capability& b) {
    return a.text_ <=> b.text_;
  }

 private:
  explicit Capability(std::string text) : text_(std::move(text)) {}

  std::string text_;  // never empty
};

// CapabilitySet is the immutable `cap` claim of a hop token: an ordered list
// of distinct capabilities granted to the token's audience (protocol §3.1,
// §3.3). The wire order is kept so that ToJson reproduces the claim. An empty
// set is valid and grants nothing.
class CapabilitySet {
 public:
  // kMaxItems is the largest number of capabilities in one `cap` claim
  // (protocol §3.3).
  static constexpr std::size_t kMaxItems = 64;

  // CapabilitySet builds the empty set, which grants nothing (protocol §3.3).
  CapabilitySet() = default;

  // FromJson reads a `cap` claim (protocol §3.1, §3.3): a JSON array of at
  // most kMaxItems distinct capability strings, possibly empty. Errors are
  // kMalformed (not an array, a non-string item, a bad capability, a
  // duplicate) or kTooLarge (too many items or an over-long capability).
  static Result<CapabilitySet> FromJson(const Json& value);

  // FromStrings validates `items` exactly as FromJson validates a JSON array
  // (protocol §3.3).
  static Result<CapabilitySet> FromStrings(
      const std::vector<std::string>& items);

  // ToJson renders the `cap` claim, a JSON array of strings in set order
  // (protocol §3.1).
  Json ToJson() const;

  // items returns the capabilities in wire order (protocol §3.3).
  const std::vector<Capability>& items() const { return items_; }

  // Strings returns the capability strings in wire order (protocol §3.3).
  std::vector<std::string> Strings() const;

  // empty reports whether the set grants nothing (protocol §3.3).
  bool empty() const { return items_.empty(); }

  // size returns the number of capabilities (protocol §3.3).
  std::size_t size() const { return items_.size(); }

  // Covers reports whether some member of the set covers `capability`
  // (protocol §3.3): the check of an action against a chain's effective
  // capabilities.
  bool Covers(const Capability& capability) const;

  // FirstUncovered is the attenuation check of protocol §3.3 and §4 step 5:
  // it returns the first capability of `child` (in child's order) that no
  // member of this set covers, or nullopt when `child` attenuates this set.
  std::optional<Capability> FirstUncovered(const CapabilitySet& child) const;

  // operator== compares the capabilities in order (protocol §3.3).
  friend bool operator==(const CapabilitySet& a,
                         const CapabilitySet& b) = default;

 private:
  explicit CapabilitySet(std::vector<Capability> items)
      : items_(std::move(items)) {}

  std::vector<Capability> items_;
};

}  // namespace aztp

// std::hash<aztp::Capability> hashes the capability string, consistent with
// operator== (protocol §3.3).
template <>
struct std::hash<aztp::Capability> {
  std::size_t operator()(const aztp::Capability& c) const noexcept {
    return std::hash<std::string>{}(c.str());
  }
};

// TrustDomain: a validated SPIFFE trust domain name (SPIFFE-ID §2.1).
//
// A trust domain is the authority (host) part of a SPIFFE ID and names the
// trust root of a system. `TrustDomain::Parse` accepts only names that are
// already in canonical form: it rejects, and never normalises, uppercase
// letters, percent-encoding and every byte outside `a-z 0-9 . - _`. Two trust
// domains are therefore equal exactly when their names are byte-wise equal.
//
// Example:
//
//   auto td = aztp::TrustDomain::Parse("example.org");
//   if (!td) return std::move(td).error();
//   std::string id = td->IdString();  // "spiffe://example.org"
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "aztp/base/error.h"
#include "aztp/base/result.h"

namespace aztp {

class SpiffeId;

// TrustDomain is an immutable, validated trust domain name (SPIFFE-ID §2.1).
// It is a regular value type: copyable, movable, totally ordered and hashable,
// so it can key a std::map or std::unordered_map.
class TrustDomain {
 public:
  // kMaxNameBytes is the longest accepted name: RFC 3986 limits the host
  // component to 255 bytes, and so does SPIFFE-ID §2.3.
  static constexpr size_t kMaxNameBytes = 255;

  // Parse validates `name` per SPIFFE-ID §2.1 and returns the trust domain.
  // `name` is either a bare name such as `example.org` or the trust domain's
  // own SPIFFE ID without a path, `spiffe://example.org`. The name must be
  // non-empty, at most `kMaxNameBytes` bytes and made only of lowercase
  // letters, digits, dots, dashes and underscores. Nothing is normalised.
  // Errors are kMalformed, or kTooLarge for an over-long name; messages quote
  // at most the first 64 bytes of `name`.
  static Result<TrustDomain> Parse(std::string_view name);

  // name returns the bare trust domain name, e.g. `example.org`
  // (SPIFFE-ID §2.1).
  const std::string& name() const { return name_; }

  // IdString returns the SPIFFE ID of the trust domain itself, which has no
  // path: `spiffe://<name>` (SPIFFE-ID §2).
  std::string IdString() const;

  // operator== compares names byte-wise; because Parse never normalises, this
  // is the SPIFFE-ID §2.1 equality of strictly parsed trust domains.
  friend bool operator==(const TrustDomain& a, const TrustDomain& b) = default;

  // operator<=> orders trust domains by the bytes of their names
  // (SPIFFE-ID §2.1), so a TrustDomain can key an ordered container.
  friend std::strong_ordering operator<=>(const TrustDomain& a,
                                          const TrustDomain& b) {
    return a.name_ <=> b.name_;
  }

 private:
  friend class SpiffeId;

  explicit TrustDomain(std::string name) : name_(std::move(name)) {}

  // CheckName validates a bare name per SPIFFE-ID §2.1. On failure it returns
  // the error without quoting any input; callers add the quote with Reject.
  static Result<void> CheckName(std::string_view name);

  // Reject returns an Error with `code`, the message `what` and a quoted,
  // escaped copy of at most the first 64 bytes of `input`.
  static Error Reject(Code code, std::string_view what, std::string_view input);

  std::string name_;
};

}  // namespace aztp

// std::hash<aztp::TrustDomain> hashes the name, consistent with operator==
// (SPIFFE-ID §2.1).
template <>
struct std::hash<aztp::TrustDomain> {
  size_t operator()(const aztp::TrustDomain& td) const noexcept {
    return std::hash<std::string>{}(td.name());
  }
};

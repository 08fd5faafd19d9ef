// The person a chain acts for (docs/protocol.md §5.2, claim `prs`): what
// the control plane that verified the person's OpenID Connect login
// vouches for besides `sub`, bounded so that it fits a hop token. Only a
// root whose `sub` is a person (oidc:<issuer>#<subject>) carries it, and
// only a control plane signs such a root (§5.3).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/encoding/json.h"

namespace aztp {

// Bounds of the `prs` claim (§5.2).
inline constexpr std::size_t kMaxPersonValueBytes = 256;  // each string
inline constexpr std::size_t kMaxPersonGroups = 32;
inline constexpr std::size_t kMaxPersonAmr = 8;
inline constexpr std::size_t kMaxPersonSubjectBytes = 2048;  // a whole `sub`

// PersonClaims are the members of `prs`, all optional: OpenID Connect
// Core 1.0 §5.1 (email, email_verified, name), §2 (acr, amr, auth_time),
// and `groups` as providers commonly send it.
struct PersonClaims {
  std::optional<std::string> email;
  bool email_verified = false;
  std::optional<std::string> name;
  std::vector<std::string> groups;
  std::optional<std::string> acr;
  std::vector<std::string> amr;
  std::optional<UnixTime> auth_time;

  // FromJson reads `prs` strictly: an object of only these members, each
  // of its type and within its bounds, lists without duplicates
  // (kMalformed, or kTooLarge for a bound).
  static Result<PersonClaims> FromJson(const Json& prs);
  // ToJson renders the members that are set, in a canonical order.
  Json ToJson() const;

  bool operator==(const PersonClaims&) const = default;
};

// PersonSubject is the chain subject of a person: oidc:<issuer>#<subject>
// (§5.2). kInvalidArgument when the issuer or subject is empty, holds '#'
// (issuer only), a space or a byte outside printable ASCII.
Result<std::string> PersonSubject(std::string_view issuer,
                                  std::string_view subject);

// PersonName is a person subject's two parts (views into the subject).
struct PersonName {
  std::string_view issuer;
  std::string_view subject;
};

// ParsePersonSubject splits oidc:<issuer>#<subject> as PersonSubject builds
// it (the first '#' ends the issuer; at most 2048 bytes), or nullopt for
// any other string. The one grammar of a person subject (§5.2).
std::optional<PersonName> ParsePersonSubject(std::string_view sub);

// PersonIssuer is <issuer> of a person subject, or nullopt for any other
// subject.
std::optional<std::string_view> PersonIssuer(std::string_view sub);

// ValidPersonIssuer: `issuer` can be the issuer of a person subject.
bool ValidPersonIssuer(std::string_view issuer);

}  // namespace aztp

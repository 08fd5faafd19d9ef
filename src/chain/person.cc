#include "aztp/chain/person.h"

#include <algorithm>
#include <array>
#include <set>

namespace aztp {
namespace {

constexpr std::array<std::string_view, 7> kMembers = {
    "email", "email_verified", "name", "groups", "acr", "amr", "auth_time"};

Error Malformed(std::string message) {
  return Error(Code::kMalformed, "prs." + std::move(message));
}

Result<std::string> BoundedString(const Json& prs, std::string_view member) {
  AZTP_ASSIGN_OR_RETURN(std::string value, GetString(prs, member));
  if (value.empty()) return Malformed(std::string(member) + ": empty");
  if (value.size() > kMaxPersonValueBytes) {
    return Error(Code::kTooLarge,
                 "prs." + std::string(member) + ": longer than " +
                     std::to_string(kMaxPersonValueBytes) + " bytes");
  }
  return value;
}

Result<std::vector<std::string>> BoundedList(const Json& prs,
                                             std::string_view member,
                                             std::size_t max_items) {
  const Json& list = prs.at(std::string(member));
  if (!list.is_array()) return WrongMemberType(member, "an array of strings");
  if (list.size() > max_items) {
    return Error(Code::kTooLarge, "prs." + std::string(member) +
                                      ": more than " +
                                      std::to_string(max_items) + " items");
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const Json& item : list) {
    if (!item.is_string()) {
      return WrongMemberType(member, "an array of strings");
    }
    std::string value = item.get<std::string>();
    if (value.empty()) return Malformed(std::string(member) + ": empty item");
    if (value.size() > kMaxPersonValueBytes) {
      return Error(Code::kTooLarge,
                   "prs." + std::string(member) + ": an item longer than " +
                       std::to_string(kMaxPersonValueBytes) + " bytes");
    }
    if (!seen.insert(value).second) {
      return Malformed(std::string(member) + ": duplicate item");
    }
    out.push_back(std::move(value));
  }
  return out;
}

bool PrintableWithoutSpace(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c > 0x20 && c < 0x7f; });
}

}  // namespace

Result<PersonClaims> PersonClaims::FromJson(const Json& prs) {
  if (!prs.is_object()) return Malformed("must be an object");
  for (const auto& item : prs.items()) {
    if (std::find(kMembers.begin(), kMembers.end(), item.key()) ==
        kMembers.end()) {
      return Malformed("unknown member " + QuoteInput(item.key()));
    }
  }
  PersonClaims p;
  if (prs.contains("email")) {
    AZTP_ASSIGN_OR_RETURN(p.email, BoundedString(prs, "email"));
  }
  if (auto v = prs.find("email_verified"); v != prs.end()) {
    if (!v->is_boolean()) return WrongMemberType("email_verified", "a boolean");
    p.email_verified = v->get<bool>();
  }
  if (prs.contains("name")) {
    AZTP_ASSIGN_OR_RETURN(p.name, BoundedString(prs, "name"));
  }
  if (prs.contains("groups")) {
    AZTP_ASSIGN_OR_RETURN(p.groups,
                          BoundedList(prs, "groups", kMaxPersonGroups));
  }
  if (prs.contains("acr")) {
    AZTP_ASSIGN_OR_RETURN(p.acr, BoundedString(prs, "acr"));
  }
  if (prs.contains("amr")) {
    AZTP_ASSIGN_OR_RETURN(p.amr, BoundedList(prs, "amr", kMaxPersonAmr));
  }
  if (prs.contains("auth_time")) {
    AZTP_ASSIGN_OR_RETURN(int64_t t, GetInt(prs, "auth_time"));
    if (t < 0) return Malformed("auth_time: must not be negative");
    p.auth_time = t;
  }
  return p;
}

Json PersonClaims::ToJson() const {
  Json out = Json::object();
  if (email) out["email"] = *email;
  if (email_verified) out["email_verified"] = true;
  if (name) out["name"] = *name;
  if (!groups.empty()) out["groups"] = groups;
  if (acr) out["acr"] = *acr;
  if (!amr.empty()) out["amr"] = amr;
  if (auth_time) out["auth_time"] = *auth_time;
  return out;
}

bool ValidPersonIssuer(std::string_view issuer) {
  return !issuer.empty() && PrintableWithoutSpace(issuer) &&
         issuer.find('#') == std::string_view::npos;
}

std::optional<PersonName> ParsePersonSubject(std::string_view sub) {
  constexpr std::string_view kPerson = "oidc:";
  if (!sub.starts_with(kPerson) || sub.size() > kMaxPersonSubjectBytes) {
    return std::nullopt;
  }
  const std::size_t hash = sub.find('#');
  if (hash == std::string_view::npos) return std::nullopt;
  PersonName out{sub.substr(kPerson.size(), hash - kPerson.size()),
                 sub.substr(hash + 1)};
  if (!ValidPersonIssuer(out.issuer) || out.subject.empty() ||
      !PrintableWithoutSpace(out.subject)) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::string_view> PersonIssuer(std::string_view sub) {
  auto name = ParsePersonSubject(sub);
  if (!name) return std::nullopt;
  return name->issuer;
}

Result<std::string> PersonSubject(std::string_view issuer,
                                  std::string_view subject) {
  std::string sub = "oidc:" + std::string(issuer) + "#" + std::string(subject);
  if (sub.size() > kMaxPersonSubjectBytes) {
    return Error(Code::kTooLarge, "a person's subject is at most 2048 bytes");
  }
  // Parsed back into the very parts (a '#' in the issuer would move it).
  auto parsed = ParsePersonSubject(sub);
  if (!parsed || parsed->issuer != issuer) {
    return Error(Code::kInvalidArgument,
                 "a person's issuer and subject must be printable ASCII "
                 "without spaces (and the issuer without '#')");
  }
  return sub;
}

}  // namespace aztp

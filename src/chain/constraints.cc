#include "aztp/chain/constraints.h"

#include <algorithm>
#include <set>

namespace aztp {
namespace {

constexpr std::string_view kPrefixSuffix = "/*";

// Shown returns at most 64 bytes of a validated SPIFFE ID or trust domain
// name in double quotes; their bytes are all printable ASCII.
std::string Shown(std::string_view s) {
  if (s.size() <= 64) return "\"" + std::string(s) + "\"";
  return "\"" + std::string(s.substr(0, 64)) + "\" (first 64 bytes)";
}

Error Violation(std::string message) {
  return Error(Code::kConstraintViolation, std::move(message));
}

// CheckCount validates the size of a present `cns` member (protocol §3.4).
Status CheckCount(std::string_view member, std::size_t n) {
  if (n == 0) {
    return Error(Code::kMalformed,
                 "cns." + std::string(member) + ": must not be empty");
  }
  if (n > Constraints::kMaxItems) {
    return Error(Code::kTooLarge,
                 "cns." + std::string(member) + ": more than " +
                     std::to_string(Constraints::kMaxItems) + " entries");
  }
  return Ok();
}

// Strings reads a `cns` member as an array of strings, checking its count.
Result<std::vector<std::string>> Strings(const Json& value,
                                         std::string_view member) {
  if (!value.is_array()) {
    return Error(Code::kMalformed, "cns." + std::string(member) +
                                       ": must be an array of strings");
  }
  AZTP_RETURN_IF_ERROR(CheckCount(member, value.size()));
  std::vector<std::string> out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string()) {
      return Error(Code::kMalformed, "cns." + std::string(member) + "[" +
                                         std::to_string(i) +
                                         "]: must be a string");
    }
    out.push_back(value[i].get<std::string>());
  }
  return out;
}

template <typename T>
bool Contains(const std::vector<T>& items, const T& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

}  // namespace

Result<AudiencePattern> AudiencePattern::Parse(std::string_view text) {
  const bool prefix = text.ends_with(kPrefixSuffix);
  if (prefix) text.remove_suffix(kPrefixSuffix.size());
  AZTP_ASSIGN_OR_RETURN(SpiffeId base, SpiffeId::Parse(text));
  return AudiencePattern(std::move(base), prefix);
}

bool AudiencePattern::Matches(const SpiffeId& id) const {
  if (!prefix_) return id == base_;
  // `id` is a valid SPIFFE ID, so whatever follows `<base>/` is one or more
  // well-formed path segments.
  const std::string& b = base_.str();
  const std::string& s = id.str();
  return s.size() > b.size() + 1 && s.starts_with(b) && s[b.size()] == '/';
}

bool AudiencePattern::Covers(const AudiencePattern& narrower) const {
  if (!prefix_) return !narrower.prefix_ && narrower.base_ == base_;
  if (!narrower.prefix_) return Matches(narrower.base_);
  // `<b2>/*` lies within `<b>/*` exactly when b2 is b or lies below it.
  return narrower.base_ == base_ || Matches(narrower.base_);
}

Result<Constraints> Constraints::Create(
    std::optional<std::vector<TrustDomain>> tds,
    std::optional<std::vector<AudiencePattern>> auds) {
  if (tds) {
    AZTP_RETURN_IF_ERROR(CheckCount("tds", tds->size()));
    std::set<TrustDomain> seen;
    for (std::size_t i = 0; i < tds->size(); ++i) {
      if (!seen.insert((*tds)[i]).second) {
        return Error(Code::kMalformed, "cns.tds[" + std::to_string(i) +
                                           "]: duplicate trust domain " +
                                           Shown((*tds)[i].name()));
      }
    }
  }
  if (auds) {
    AZTP_RETURN_IF_ERROR(CheckCount("auds", auds->size()));
    std::set<AudiencePattern> seen;
    for (std::size_t i = 0; i < auds->size(); ++i) {
      if (!seen.insert((*auds)[i]).second) {
        return Error(Code::kMalformed, "cns.auds[" + std::to_string(i) +
                                           "]: duplicate pattern " +
                                           Shown((*auds)[i].str()));
      }
    }
  }
  Constraints c;
  c.tds_ = std::move(tds);
  c.auds_ = std::move(auds);
  return c;
}

Result<Constraints> Constraints::FromJson(const Json& value) {
  if (!value.is_object()) {
    return Error(Code::kMalformed, "cns: must be an object");
  }
  std::optional<std::vector<TrustDomain>> tds;
  std::optional<std::vector<AudiencePattern>> auds;
  for (const auto& [key, member] : value.items()) {
    if (key == "tds") {
      AZTP_ASSIGN_OR_RETURN(auto names, Strings(member, "tds"));
      tds.emplace();
      for (std::size_t i = 0; i < names.size(); ++i) {
        const std::string context = "cns.tds[" + std::to_string(i) + "]";
        auto td = TrustDomain::Parse(names[i]);
        if (!td) return td.error().WithContext(context);
        // TrustDomain::Parse also takes `spiffe://<name>`; the wire form is
        // the bare name only.
        if (td->name() != names[i]) {
          return Error(Code::kMalformed,
                       context + ": must be a bare trust domain name");
        }
        tds->push_back(std::move(td).value());
      }
    } else if (key == "auds") {
      AZTP_ASSIGN_OR_RETURN(auto patterns, Strings(member, "auds"));
      auds.emplace();
      for (std::size_t i = 0; i < patterns.size(); ++i) {
        auto p = AudiencePattern::Parse(patterns[i]);
        if (!p) {
          return p.error().WithContext("cns.auds[" + std::to_string(i) + "]");
        }
        auds->push_back(std::move(p).value());
      }
    } else {
      // Member names come from a strictly parsed document but may be long.
      return Error(Code::kMalformed,
                   "cns: unknown member (only \"tds\" and \"auds\" allowed)");
    }
  }
  return Create(std::move(tds), std::move(auds));
}

Json Constraints::ToJson() const {
  Json out = Json::object();
  if (tds_) {
    Json list = Json::array();
    for (const auto& td : *tds_) list.push_back(td.name());
    out["tds"] = std::move(list);
  }
  if (auds_) {
    Json list = Json::array();
    for (const auto& p : *auds_) list.push_back(p.str());
    out["auds"] = std::move(list);
  }
  return out;
}

Status Constraints::Permits(const SpiffeId& iss, const SpiffeId& aud) const {
  if (tds_) {
    if (!Contains(*tds_, iss.trust_domain())) {
      return Violation("cns.tds: issuer trust domain " +
                       Shown(iss.trust_domain().name()) + " is not permitted");
    }
    if (!Contains(*tds_, aud.trust_domain())) {
      return Violation("cns.tds: audience trust domain " +
                       Shown(aud.trust_domain().name()) + " is not permitted");
    }
  }
  if (auds_) {
    const bool matched =
        std::any_of(auds_->begin(), auds_->end(),
                    [&](const AudiencePattern& p) { return p.Matches(aud); });
    if (!matched) {
      return Violation("cns.auds: audience " + Shown(aud.str()) +
                       " matches no permitted pattern");
    }
  }
  return Ok();
}

Status Constraints::CheckNarrowing(const Constraints& later) const {
  if (tds_) {
    if (!later.tds_) return Violation("cns.tds: dropped by a later token");
    for (const auto& td : *later.tds_) {
      if (!Contains(*tds_, td)) {
        return Violation("cns.tds: widened by a later token with " +
                         Shown(td.name()));
      }
    }
  }
  if (auds_) {
    if (!later.auds_) return Violation("cns.auds: dropped by a later token");
    for (const auto& narrower : *later.auds_) {
      const bool covered = std::any_of(
          auds_->begin(), auds_->end(),
          [&](const AudiencePattern& p) { return p.Covers(narrower); });
      if (!covered) {
        return Violation("cns.auds: widened by a later token with " +
                         Shown(narrower.str()));
      }
    }
  }
  return Ok();
}

}  // namespace aztp

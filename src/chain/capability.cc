#include "aztp/chain/capability.h"

#include <cstdint>
#include <set>

namespace aztp {
namespace {

bool IsSegmentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

Error Reject(Code code, std::string_view what, std::string_view input) {
  return Error(code,
               "capability " + std::string(what) + ": " + QuoteInput(input));
}

}  // namespace

Result<Capability> Capability::Parse(std::string_view text) {
  if (text.empty()) return Error(Code::kMalformed, "capability is empty");
  if (text.size() > kMaxBytes) {
    return Reject(Code::kTooLarge, "exceeds the 256-byte limit", text);
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t colon = text.find(':', start);
    const bool last = colon == std::string_view::npos;
    const std::string_view segment =
        text.substr(start, last ? std::string_view::npos : colon - start);
    if (segment.empty()) {
      return Reject(Code::kMalformed, "has an empty segment", text);
    }
    if (segment == "*") {
      if (!last) {
        return Reject(Code::kMalformed,
                      "has a wildcard that is not the last segment", text);
      }
    } else {
      for (char c : segment) {
        if (!IsSegmentChar(c)) {
          return Reject(Code::kMalformed,
                        c == '*' ? "has a wildcard inside a segment"
                                 : "segments are limited to letters, digits, "
                                   "dots, underscores and dashes",
                        text);
        }
      }
    }
    if (last) break;
    start = colon + 1;
  }
  return Capability(std::string(text));
}

bool Capability::Covers(const Capability& other) const {
  if (text_ == other.text_) return true;
  if (text_ == "*") return true;
  if (!IsWildcard()) return false;
  // This is `p:*`; `prefix` is `p:`. `other` is valid, so whatever follows
  // the prefix is one or more well-formed segments.
  const std::string_view prefix =
      std::string_view(text_).substr(0, text_.size() - 1);
  return other.text_.size() > prefix.size() && other.text_.starts_with(prefix);
}

Result<CapabilitySet> CapabilitySet::FromStrings(
    const std::vector<std::string>& items) {
  if (items.size() > kMaxItems) {
    return Error(
        Code::kTooLarge,
        "cap: more than " + std::to_string(kMaxItems) + " capabilities");
  }
  std::vector<Capability> parsed;
  parsed.reserve(items.size());
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto c = Capability::Parse(items[i]);
    if (!c) {
      return c.error().WithContext("cap[" + std::to_string(i) + "]");
    }
    if (!seen.insert(items[i]).second) {
      return Error(Code::kMalformed, "cap[" + std::to_string(i) +
                                         "]: duplicate capability " +
                                         QuoteInput(items[i]));
    }
    parsed.push_back(std::move(c).value());
  }
  return CapabilitySet(std::move(parsed));
}

Result<CapabilitySet> CapabilitySet::FromJson(const Json& value) {
  if (!value.is_array()) {
    return Error(Code::kMalformed, "cap: must be an array of strings");
  }
  if (value.size() > kMaxItems) {
    return Error(
        Code::kTooLarge,
        "cap: more than " + std::to_string(kMaxItems) + " capabilities");
  }
  std::vector<std::string> items;
  items.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string()) {
      return Error(Code::kMalformed,
                   "cap[" + std::to_string(i) + "]: must be a string");
    }
    items.push_back(value[i].get<std::string>());
  }
  return FromStrings(items);
}

Json CapabilitySet::ToJson() const {
  Json out = Json::array();
  for (const auto& c : items_) out.push_back(c.str());
  return out;
}

std::vector<std::string> CapabilitySet::Strings() const {
  std::vector<std::string> out;
  out.reserve(items_.size());
  for (const auto& c : items_) out.push_back(c.str());
  return out;
}

bool CapabilitySet::Covers(const Capability& capability) const {
  for (const auto& c : items_) {
    if (c.Covers(capability)) return true;
  }
  return false;
}

std::optional<Capability> CapabilitySet::FirstUncovered(
    const CapabilitySet& child) const {
  for (const auto& c : child.items_) {
    if (!Covers(c)) return c;
  }
  return std::nullopt;
}

}  // namespace aztp

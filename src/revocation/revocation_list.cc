#include "aztp/revocation/revocation_list.h"

#include <algorithm>
#include <utility>

#include "aztp/base/file.h"

namespace aztp {
namespace {

std::string Entry(std::string_view member, std::size_t i) {
  return std::string(member) + "[" + std::to_string(i) + "]";
}

Status CheckSerial(std::string_view serial) {
  if (serial.empty()) return Error(Code::kMalformed, "empty serial");
  if (serial.size() > RevocationList::kMaxSerialChars) {
    return Error(Code::kTooLarge, "serial longer than 40 hex digits");
  }
  for (char c : serial) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return Error(Code::kMalformed,
                   "serial must be lowercase hexadecimal digits");
    }
  }
  if (serial.size() > 1 && serial[0] == '0') {
    return Error(Code::kMalformed, "serial has a leading zero");
  }
  return Ok();
}

Status CheckJti(std::string_view jti) {
  if (jti.empty()) return Error(Code::kMalformed, "empty jti");
  if (jti.size() > RevocationList::kMaxJtiBytes) {
    return Error(Code::kTooLarge, "jti longer than 256 bytes");
  }
  return Ok();
}

// OptionalArray returns the array member `name` of `doc`, or nullptr when
// it is absent.
Result<const Json*> OptionalArray(const Json& doc, std::string_view name,
                                  const std::string& what) {
  auto it = doc.find(name);
  if (it == doc.end()) return static_cast<const Json*>(nullptr);
  if (!it->is_array()) {
    return Error(Code::kMalformed, what + ": member \"" + std::string(name) +
                                       "\" must be an array of strings");
  }
  return &*it;
}

Result<std::vector<std::string>> StringItems(const Json& array,
                                             std::string_view name,
                                             const std::string& what) {
  std::vector<std::string> out;
  out.reserve(array.size());
  for (std::size_t i = 0; i < array.size(); ++i) {
    if (!array[i].is_string()) {
      return Error(Code::kMalformed,
                   what + ": " + Entry(name, i) + " must be a string");
    }
    out.push_back(array[i].get<std::string>());
  }
  return out;
}

template <typename Set>
Json SortedArray(const Set& set) {
  std::vector<std::string> items(set.begin(), set.end());
  std::sort(items.begin(), items.end());
  Json out = Json::array();
  for (auto& s : items) out.push_back(std::move(s));
  return out;
}

}  // namespace

Status RevocationEntries::CheckTotal(std::size_t total) {
  if (total > RevocationList::kMaxEntries) {
    return Error(Code::kTooLarge, "revocation list: more than 100000 entries");
  }
  return Ok();
}

Status RevocationEntries::Check(const std::string& what) const {
  AZTP_RETURN_IF_ERROR(CheckTotal(size()));
  for (std::size_t i = 0; i < jtis.size(); ++i) {
    auto s = CheckJti(jtis[i]);
    if (!s) return s.error().WithContext(what + ": " + Entry("jtis", i));
  }
  for (std::size_t i = 0; i < serials.size(); ++i) {
    auto s = CheckSerial(serials[i]);
    if (!s) return s.error().WithContext(what + ": " + Entry("serials", i));
  }
  return Ok();
}

Result<RevocationEntries> RevocationEntries::FromJson(const Json& doc,
                                                      const std::string& what) {
  AZTP_ASSIGN_OR_RETURN(const Json* ids_json, OptionalArray(doc, "ids", what));
  AZTP_ASSIGN_OR_RETURN(const Json* jtis_json,
                        OptionalArray(doc, "jtis", what));
  AZTP_ASSIGN_OR_RETURN(const Json* serials_json,
                        OptionalArray(doc, "serials", what));
  // Check the count before doing any per-entry work.
  AZTP_RETURN_IF_ERROR(CheckTotal((ids_json ? ids_json->size() : 0) +
                                  (jtis_json ? jtis_json->size() : 0) +
                                  (serials_json ? serials_json->size() : 0)));
  RevocationEntries out;
  if (ids_json) {
    AZTP_ASSIGN_OR_RETURN(auto strings, StringItems(*ids_json, "ids", what));
    out.ids.reserve(strings.size());
    for (std::size_t i = 0; i < strings.size(); ++i) {
      auto id = SpiffeId::Parse(strings[i]);
      if (!id) return id.error().WithContext(what + ": " + Entry("ids", i));
      out.ids.push_back(std::move(id).value());
    }
  }
  if (jtis_json) {
    AZTP_ASSIGN_OR_RETURN(out.jtis, StringItems(*jtis_json, "jtis", what));
  }
  if (serials_json) {
    AZTP_ASSIGN_OR_RETURN(out.serials,
                          StringItems(*serials_json, "serials", what));
  }
  return out;
}

Json RevocationEntries::ToJson() const {
  std::vector<std::string> id_strings;
  id_strings.reserve(ids.size());
  for (const auto& id : ids) id_strings.push_back(id.str());
  Json out = Json::object();
  out["ids"] = SortedArray(id_strings);
  out["jtis"] = SortedArray(jtis);
  out["serials"] = SortedArray(serials);
  return out;
}

Result<RevocationList> RevocationList::Create(
    int64_t sequence, std::vector<SpiffeId> ids, std::vector<std::string> jtis,
    std::vector<std::string> serials) {
  if (sequence < 0) {
    return Error(Code::kMalformed, "revocation list: negative sequence");
  }
  RevocationEntries e{std::move(ids), std::move(jtis), std::move(serials)};
  AZTP_RETURN_IF_ERROR(e.Check("revocation list"));
  RevocationList list;
  list.sequence_ = sequence;
  list.ids_.reserve(e.ids.size());
  for (auto& id : e.ids) list.ids_.insert(std::move(id));
  list.jtis_.reserve(e.jtis.size());
  for (auto& jti : e.jtis) list.jtis_.insert(std::move(jti));
  list.serials_.reserve(e.serials.size());
  for (auto& serial : e.serials) list.serials_.insert(std::move(serial));
  return list;
}

Result<RevocationList> RevocationList::FromJson(const Json& doc) {
  if (!doc.is_object()) {
    return Error(Code::kMalformed, "revocation list: must be a JSON object");
  }
  if (doc.contains("since")) {
    return Error(Code::kMalformed,
                 "revocation list: a delta (member \"since\"), not a list");
  }
  auto sequence = GetInt(doc, "sequence");
  if (!sequence) return sequence.error().WithContext("revocation list");
  if (*sequence < 0) {
    return Error(Code::kMalformed, "revocation list: negative sequence");
  }
  AZTP_ASSIGN_OR_RETURN(RevocationEntries e,
                        RevocationEntries::FromJson(doc, "revocation list"));
  return Create(*sequence, std::move(e.ids), std::move(e.jtis),
                std::move(e.serials));
}

Result<RevocationList> RevocationList::Parse(std::string_view json) {
  if (json.size() > kMaxBytes) {
    return Error(Code::kTooLarge, "revocation list: larger than 4 MiB");
  }
  auto doc = ParseJson(json, JsonLimits{.max_bytes = kMaxBytes});
  if (!doc) return doc.error().WithContext("revocation list");
  return FromJson(*doc);
}

bool RevocationList::IsRevokedSerial(std::string_view lowercase_hex) const {
  std::string canonical;
  canonical.reserve(lowercase_hex.size());
  for (char c : lowercase_hex) {
    if (canonical.empty() && c == '0') continue;
    canonical += (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  if (canonical.empty() && !lowercase_hex.empty()) canonical = "0";
  return serials_.contains(canonical);
}

Json RevocationList::ToJson() const {
  Json out = Json::object();
  out["sequence"] = sequence_;  // first, as the protocol shows it
  Json entries = Entries().ToJson();
  for (auto& [name, items] : entries.items()) out[name] = std::move(items);
  return out;
}

RevocationEntries RevocationList::Entries() const {
  RevocationEntries out;
  out.ids.assign(ids_.begin(), ids_.end());
  out.jtis.assign(jtis_.begin(), jtis_.end());
  out.serials.assign(serials_.begin(), serials_.end());
  return out;
}

StaticRevocationSource::StaticRevocationSource(RevocationList list)
    : current_(std::make_shared<const RevocationList>(std::move(list))) {}

std::shared_ptr<const RevocationList> StaticRevocationSource::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

void StaticRevocationSource::Set(RevocationList list) {
  auto next = std::make_shared<const RevocationList>(std::move(list));
  std::shared_ptr<const RevocationList> previous;
  {
    std::lock_guard<std::mutex> lock(mu_);
    previous = std::exchange(current_, std::move(next));
  }
  // `previous` may be the last reference; it is released outside the lock.
}

namespace {

Result<std::shared_ptr<const RevocationList>> Load(const std::string& path) {
  AZTP_ASSIGN_OR_RETURN(std::string text,
                        ReadFile(path, RevocationList::kMaxBytes));
  AZTP_ASSIGN_OR_RETURN(RevocationList list, RevocationList::Parse(text));
  return std::make_shared<const RevocationList>(std::move(list));
}

}  // namespace

Result<std::unique_ptr<FileRevocationSource>> FileRevocationSource::Open(
    const std::string& path) {
  AZTP_ASSIGN_OR_RETURN(auto list, Load(path));
  return std::unique_ptr<FileRevocationSource>(
      new FileRevocationSource(path, std::move(list)));
}

std::shared_ptr<const RevocationList> FileRevocationSource::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

Status FileRevocationSource::Reload() {
  std::lock_guard<std::mutex> reload_lock(reload_mu_);
  AZTP_ASSIGN_OR_RETURN(auto next, Load(path_));
  std::shared_ptr<const RevocationList> previous;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (next->sequence() < current_->sequence()) {
      return Error(Code::kInvalidArgument,
                   "revocation list: sequence " +
                       std::to_string(next->sequence()) +
                       " is older than the list in force (" +
                       std::to_string(current_->sequence()) + ")");
    }
    previous = std::exchange(current_, std::move(next));
  }
  return Ok();
}

}  // namespace aztp

// Reading the control plane's JSON answers and writing query strings: the
// helpers every group of the client's calls shares (client_internal.h).
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "aztp/http/form.h"
#include "client/client_internal.h"

namespace aztp::client_internal {

// Member returns the member `name` of `object`, or null when it is absent
// or JSON null.
const Json* Member(const Json& object, std::string_view name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<bool> OptionalBool(const Json& object, std::string_view name) {
  const Json* value = Member(object, name);
  if (value == nullptr) return false;
  if (!value->is_boolean()) return WrongMemberType(name, "a boolean");
  return value->get<bool>();
}

// OptionalText reads an optional string member: "" when it is absent.
Result<std::string> OptionalText(const Json& object, std::string_view name) {
  AZTP_ASSIGN_OR_RETURN(auto text, GetOptionalString(object, name));
  return text.value_or("");
}

Result<SpiffeId> RequiredSpiffeId(const Json& object, std::string_view name) {
  AZTP_ASSIGN_OR_RETURN(std::string text, GetString(object, name));
  return SpiffeId::Parse(text);
}

Result<std::optional<SpiffeId>> OptionalSpiffeId(const Json& object,
                                                 std::string_view name) {
  const Json* value = Member(object, name);
  if (value == nullptr) return std::optional<SpiffeId>();
  if (!value->is_string()) return WrongMemberType(name, "a string or null");
  AZTP_ASSIGN_OR_RETURN(SpiffeId id,
                        SpiffeId::Parse(value->get_ref<const std::string&>()));
  return std::optional<SpiffeId>(std::move(id));
}

Result<std::vector<std::string>> OptionalStringArray(const Json& object,
                                                     std::string_view name) {
  std::vector<std::string> out;
  const Json* value = Member(object, name);
  if (value == nullptr) return out;
  if (!value->is_array()) return WrongMemberType(name, "an array of strings");
  for (const Json& item : *value) {
    if (!item.is_string()) return WrongMemberType(name, "an array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<int64_t> OptionalTime(const Json& object, std::string_view name) {
  const Json* value = Member(object, name);
  if (value == nullptr) return int64_t{0};
  if (!IsInteger(*value)) return WrongMemberType(name, "an integer");
  return value->get<int64_t>();
}

Result<Json> OptionalObject(const Json& object, std::string_view name) {
  const Json* value = Member(object, name);
  if (value == nullptr) return Json::object();
  if (!value->is_object()) return WrongMemberType(name, "an object");
  return *value;
}

Result<std::optional<int64_t>> OptionalInteger(const Json& object,
                                               std::string_view name) {
  const Json* value = Member(object, name);
  if (value == nullptr) return std::optional<int64_t>();
  if (!IsInteger(*value)) return WrongMemberType(name, "an integer or null");
  return std::optional<int64_t>(value->get<int64_t>());
}

Result<TrustDomain> RequiredTrustDomain(const Json& j, std::string_view name) {
  AZTP_ASSIGN_OR_RETURN(std::string text, GetString(j, name));
  return TrustDomain::Parse(text);
}

// Query builds "?a=1&b=2" from the non-empty values.
std::string Query(
    std::initializer_list<std::pair<const char*, std::string>> params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (value.empty()) continue;
    out += out.empty() ? "?" : "&";
    out += name;
    out += '=';
    out += http::PercentEncode(value);
  }
  return out;
}

}  // namespace aztp::client_internal

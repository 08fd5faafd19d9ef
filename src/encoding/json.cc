#include "aztp/encoding/json.h"

#include <memory>
#include <unordered_set>
#include <vector>

#include "aztp/base/hash.h"

namespace aztp {

namespace {

// DomBuilder is a SAX handler that builds an ordered_json tree while
// enforcing member uniqueness and nesting depth.
class DomBuilder {
 public:
  using number_integer_t = Json::number_integer_t;
  using number_unsigned_t = Json::number_unsigned_t;
  using number_float_t = Json::number_float_t;
  using string_t = Json::string_t;
  using binary_t = Json::binary_t;

  explicit DomBuilder(int max_depth) : max_depth_(max_depth) {}

  bool null() { return Add(Json(nullptr)); }
  bool boolean(bool v) { return Add(Json(v)); }
  bool number_integer(number_integer_t v) { return Add(Json(v)); }
  bool number_unsigned(number_unsigned_t v) { return Add(Json(v)); }
  bool number_float(number_float_t v, const string_t&) { return Add(Json(v)); }
  bool string(string_t& v) { return Add(Json(std::move(v))); }
  bool binary(binary_t&) { return Fail(Code::kMalformed, "binary value"); }

  bool start_object(std::size_t) {
    if (!Open(Json::object())) return false;
    keys_.emplace_back();
    return true;
  }
  bool key(string_t& k) {
    if (IsDuplicate(k)) {
      std::string shown = k.size() > 64 ? k.substr(0, 64) + "..." : k;
      return Fail(Code::kMalformed, "duplicate member \"" + shown + "\"");
    }
    pending_key_ = std::move(k);
    return true;
  }
  bool end_object() {
    keys_.pop_back();
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) { return Open(Json::array()); }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) {
    if (!error_) {
      std::string what = e.what();
      auto p = what.find("] ");
      if (p != std::string::npos) what = what.substr(p + 2);
      // Never echo the input: drop the "last read" excerpt and bound the
      // rest.
      auto last = what.find("; last read");
      if (last != std::string::npos) what.resize(last);
      if (what.size() > 120) what.resize(120);
      error_.emplace(Code::kMalformed,
                     "at byte " + std::to_string(position) + ": " + what);
    }
    return false;
  }

  Json& root() { return root_; }
  std::optional<Error>& error() { return error_; }

 private:
  static constexpr std::size_t kLinearKeys = 16;
  // Member names are the sender's choice: KeyedStringHash keeps them from
  // being chosen to collide (base/hash.h).
  using MemberSet =
      std::unordered_set<std::string, KeyedStringHash, std::equal_to<>>;

  // IsDuplicate reports whether the open object already has member `k`,
  // and records `k`.
  bool IsDuplicate(const std::string& k) {
    auto& members = static_cast<Json::object_t::Container&>(
        stack_.back()->get_ref<Json::object_t&>());
    auto& set = keys_.back();
    if (!set) {
      for (const auto& member : members) {
        if (member.first == k) return true;
      }
      if (members.size() < kLinearKeys) return false;
      set = std::make_unique<MemberSet>();
      for (const auto& member : members) set->insert(member.first);
    }
    return !set->insert(k).second;
  }

  bool Fail(Code code, std::string message) {
    if (!error_) error_.emplace(code, std::move(message));
    return false;
  }

  // Add stores a value at the current position and returns a pointer to it.
  Json* Place(Json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Json* parent = stack_.back();
    if (parent->is_array()) {
      parent->push_back(std::move(v));
      return &parent->back();
    }
    // Members are unique (checked in key()), so append without the linear
    // search of ordered_map::operator[].
    auto& members = static_cast<Json::object_t::Container&>(
        parent->get_ref<Json::object_t&>());
    members.emplace_back(std::move(pending_key_), std::move(v));
    return &members.back().second;
  }
  bool Add(Json&& v) {
    Place(std::move(v));
    return true;
  }
  bool Open(Json&& v) {
    if (static_cast<int>(stack_.size()) >= max_depth_) {
      return Fail(Code::kTooLarge, "nesting deeper than " +
                                       std::to_string(max_depth_) + " levels");
    }
    stack_.push_back(Place(std::move(v)));
    return true;
  }

  int max_depth_;
  Json root_;
  std::vector<Json*> stack_;
  // keys_ holds, per open object, a set of its member names once it has
  // more than kLinearKeys members; smaller objects are scanned directly.
  std::vector<std::unique_ptr<MemberSet>> keys_;
  std::string pending_key_;
  std::optional<Error> error_;
};

}  // namespace

Result<Json> ParseJson(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Error(Code::kTooLarge, "json: document larger than " +
                                      std::to_string(limits.max_bytes) +
                                      " bytes");
  }
  if (text.size() >= 3 && static_cast<uint8_t>(text[0]) == 0xEF &&
      static_cast<uint8_t>(text[1]) == 0xBB &&
      static_cast<uint8_t>(text[2]) == 0xBF) {
    return Error(Code::kMalformed, "json: byte-order mark");
  }
  DomBuilder builder(limits.max_depth);
  bool ok = false;
  try {
    ok = Json::sax_parse(text.begin(), text.end(), &builder,
                         nlohmann::detail::input_format_t::json,
                         /*strict=*/true);
  } catch (const std::exception& e) {
    return Error(Code::kMalformed, "json: unparseable document");
  }
  if (!ok || builder.error()) {
    if (builder.error()) return builder.error()->WithContext("json");
    return Error(Code::kMalformed, "json: unparseable document");
  }
  return std::move(builder.root());
}

std::string DumpJson(const Json& value, int indent) {
  return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

namespace {
Error MemberError(std::string_view member, std::string_view what) {
  return Error(Code::kMalformed,
               "member \"" + std::string(member) + "\" " + std::string(what));
}
}  // namespace

Error WrongMemberType(std::string_view member, std::string_view want) {
  return MemberError(member, "must be " + std::string(want));
}

bool IsInteger(const Json& value) {
  if (value.is_number_integer() && !value.is_number_unsigned()) return true;
  return value.is_number_unsigned() &&
         value.get<uint64_t>() <= uint64_t(INT64_MAX);
}

Result<std::string> GetString(const Json& object, std::string_view member) {
  auto it = object.find(member);
  if (it == object.end()) return MemberError(member, "is missing");
  if (!it->is_string()) return WrongMemberType(member, "a string");
  return it->get<std::string>();
}

Result<int64_t> GetInt(const Json& object, std::string_view member) {
  auto it = object.find(member);
  if (it == object.end()) return MemberError(member, "is missing");
  if (!IsInteger(*it)) return WrongMemberType(member, "an integer");
  return it->get<int64_t>();
}

Result<std::optional<std::string>> GetOptionalString(const Json& object,
                                                     std::string_view member) {
  auto it = object.find(member);
  if (it == object.end()) return std::optional<std::string>();
  if (!it->is_string()) return WrongMemberType(member, "a string");
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::optional<int64_t>> GetOptionalInt(const Json& object,
                                              std::string_view member) {
  auto it = object.find(member);
  if (it == object.end()) return std::optional<int64_t>();
  if (!IsInteger(*it)) return WrongMemberType(member, "an integer");
  return std::optional<int64_t>(it->get<int64_t>());
}

}  // namespace aztp

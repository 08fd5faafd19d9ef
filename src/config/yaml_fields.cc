#include "config/yaml_fields.h"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <exception>
#include <set>
#include <sstream>

#include "aztp/base/duration.h"
#include "aztp/http/address.h"

namespace aztp::internal {

namespace {

// The YAML 1.2 core schema tags a value may carry explicitly; untagged
// plain scalars have the non-specific tag "?" and quoted ones "!".
constexpr std::string_view kTagStr = "tag:yaml.org,2002:str";
constexpr std::string_view kTagInt = "tag:yaml.org,2002:int";
constexpr std::string_view kTagFloat = "tag:yaml.org,2002:float";
constexpr std::string_view kTagBool = "tag:yaml.org,2002:bool";

// ShownKey renders a key from the file for a message: as is when it looks
// like a key, quoted and escaped otherwise (it is untrusted text).
std::string ShownKey(std::string_view key) {
  bool plain = !key.empty() && key.size() <= 64 &&
               std::all_of(key.begin(), key.end(), [](char c) {
                 return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '-';
               });
  return plain ? std::string(key) : QuoteInput(key);
}

// IgnoreEvents is a YAML event handler that builds nothing.
class IgnoreEvents final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// CountDocuments counts the documents in `text`, stopping at `limit`.
// YAML::LoadAll cannot be used: on a token that no document consumes (a
// stray "," at the top level) it returns empty documents forever, until
// memory runs out.
int CountDocuments(const std::string& text, int limit) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  IgnoreEvents events;
  int n = 0;
  while (n < limit && parser.HandleNextDocument(events)) ++n;
  return n;
}

// Printable keeps a yaml-cpp message safe to show: it may quote a byte of
// the input.
std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 200)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return out;
}

}  // namespace

Error Malformed(const std::string& path, const std::string& message) {
  return Error(Code::kMalformed, path + ": " + message);
}

Error Invalid(const std::string& path, const std::string& message) {
  return Error(Code::kInvalidArgument, path + ": " + message);
}

std::string Child(const std::string& path, std::string_view key) {
  return path.empty() ? ShownKey(key) : path + "." + ShownKey(key);
}

std::string Item(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return c >= '0' && c <= '9'; });
}

// ---- typed values ----

Result<std::string> ReadString(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar()) return Malformed(path, "must be a string");
  const std::string& tag = n.Tag();
  if (tag != "?" && tag != "!" && tag != kTagStr) {
    return Malformed(path, "must be a string");
  }
  return n.Scalar();
}

Result<int64_t> ReadInt(const YAML::Node& n, const std::string& path,
                        int64_t max) {
  if (!n.IsScalar() || (n.Tag() != "?" && n.Tag() != kTagInt)) {
    return Malformed(path, "must be an integer");
  }
  const std::string& s = n.Scalar();
  if (!AllDigits(s) || (s.size() > 1 && s[0] == '0')) {
    return Malformed(path, "must be a non-negative decimal integer");
  }
  // 18 digits always fit an int64_t.
  if (s.size() > 18) return Invalid(path, "is out of range");
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  if (v > max) return Invalid(path, "is out of range");
  return v;
}

Result<double> ReadNumber(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar() ||
      (n.Tag() != "?" && n.Tag() != kTagInt && n.Tag() != kTagFloat)) {
    return Malformed(path, "must be a number");
  }
  const std::string& s = n.Scalar();
  std::size_t dot = s.find('.');
  bool ok = s.size() <= 24 && AllDigits(s.substr(0, dot)) &&
            (dot == std::string::npos || AllDigits(s.substr(dot + 1)));
  if (!ok) return Malformed(path, "must be a non-negative decimal number");
  double v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

Result<bool> ReadBool(const YAML::Node& n, const std::string& path) {
  if (n.IsScalar() && (n.Tag() == "?" || n.Tag() == kTagBool)) {
    if (n.Scalar() == "true") return true;
    if (n.Scalar() == "false") return false;
  }
  return Malformed(path, "must be true or false");
}

Result<int64_t> ReadDuration(const YAML::Node& n, const std::string& path,
                             bool allow_zero) {
  auto text = ReadString(n, path);
  if (!text) {
    return Malformed(path, "must be a duration such as 90s, 15m, 1h or 30d");
  }
  auto seconds = ParseDurationSetting(*text, allow_zero);
  if (!seconds) return seconds.error().WithContext(path);
  return *seconds;
}

Result<int> ReadIntField(const YAML::Node& n, const std::string& path) {
  AZTP_ASSIGN_OR_RETURN(int64_t v, ReadInt(n, path));
  if (v > INT_MAX) return Invalid(path, "is out of range");
  return static_cast<int>(v);
}

Result<int> ReadDurationField(const YAML::Node& n, const std::string& path) {
  AZTP_ASSIGN_OR_RETURN(int64_t v, ReadDuration(n, path));
  if (v > INT_MAX) return Invalid(path, "is out of range");
  return static_cast<int>(v);
}

Result<std::vector<std::string>> ReadStringList(const YAML::Node& n,
                                                const std::string& path,
                                                std::size_t max_entries) {
  std::vector<std::string> out;
  if (n.IsNull()) return out;
  if (!n.IsSequence()) return Malformed(path, "must be a list of strings");
  if (n.size() > max_entries) {
    return Invalid(
        path, "must have at most " + std::to_string(max_entries) + " entries");
  }
  for (std::size_t i = 0; i < n.size(); ++i) {
    AZTP_ASSIGN_OR_RETURN(std::string s, ReadString(n[i], Item(path, i)));
    out.push_back(std::move(s));
  }
  return out;
}

// ---- mappings ----

Status ReadMapping(const YAML::Node& n, const std::string& path,
                   const std::vector<Key>& keys) {
  const std::string where = path.empty() ? kTopLevel : path;
  if (n.IsNull()) return Ok();
  if (!n.IsMap()) return Malformed(where, "must be a mapping");
  std::set<std::string, std::less<>> seen;
  for (const auto& member : n) {
    if (!member.first.IsScalar()) {
      return Malformed(where, "keys must be plain strings");
    }
    const std::string& name = member.first.Scalar();
    const std::string child = Child(path, name);
    // yaml-cpp keeps repeated keys; which one wins would be a guess.
    if (!seen.insert(name).second) return Malformed(child, "repeated key");
    auto key = std::find_if(keys.begin(), keys.end(),
                            [&](const Key& k) { return k.name == name; });
    if (key == keys.end()) return Malformed(child, "unknown key");
    AZTP_RETURN_IF_ERROR(key->read(member.second, child));
  }
  return Ok();
}

Field Section(std::vector<Key> keys) {
  return [keys = std::move(keys)](const YAML::Node& n,
                                  const std::string& path) -> Status {
    return ReadMapping(n, path, keys);
  };
}

namespace {

// Into turns a reader of T into the Field that stores its value.
template <typename T, typename Reader>
Field Into(T& field, Reader read) {
  return
      [&field, read](const YAML::Node& n, const std::string& path) -> Status {
        AZTP_ASSIGN_OR_RETURN(field, read(n, path));
        return Ok();
      };
}

// ParsedInto reads a string and stores what `parse` makes of it; its error
// message follows the path.
template <typename T, typename Parse>
Field ParsedInto(T& field, Parse parse) {
  return
      [&field, parse](const YAML::Node& n, const std::string& path) -> Status {
        AZTP_ASSIGN_OR_RETURN(std::string s, ReadString(n, path));
        auto value = parse(s);
        if (!value) return Invalid(path, value.error().message());
        field = *value;
        return Ok();
      };
}

}  // namespace

Field IntInto(int& field) { return Into(field, ReadIntField); }
Field DurationInto(int& field) { return Into(field, ReadDurationField); }
Field DurationInto(int64_t& field) {
  return Into(field, [](const YAML::Node& n, const std::string& path) {
    return ReadDuration(n, path);
  });
}
Field NumberInto(double& field) { return Into(field, ReadNumber); }
Field BoolInto(bool& field) { return Into(field, ReadBool); }
Field StringListInto(std::vector<std::string>& field) {
  return Into(field, [](const YAML::Node& n, const std::string& path) {
    return ReadStringList(n, path);
  });
}
Field NonEmptyStringInto(std::string& field) {
  return [&field](const YAML::Node& n, const std::string& path) -> Status {
    AZTP_ASSIGN_OR_RETURN(field, ReadString(n, path));
    if (field.empty()) return Invalid(path, "must not be empty");
    return Ok();
  };
}
Field FileInto(std::string& field) {
  return [&field](const YAML::Node& n, const std::string& path) -> Status {
    AZTP_ASSIGN_OR_RETURN(field, ReadString(n, path));
    if (field.empty()) return Invalid(path, "must not be empty");
    if (field.find('\0') != std::string::npos) {
      return Invalid(path, "must not contain NUL bytes");
    }
    return Ok();
  };
}
Field LogLevelInto(LogLevel& field) { return ParsedInto(field, ParseLogLevel); }
Field LogFormatInto(LogFormat& field) {
  return ParsedInto(field, ParseLogFormat);
}

// ---- ranges ----

Status IntWithin(int64_t v, int64_t lo, int64_t hi, const std::string& path) {
  if (v < lo || v > hi) {
    return Invalid(path, "must be between " + std::to_string(lo) + " and " +
                             std::to_string(hi));
  }
  return Ok();
}

Status DurationWithin(int64_t v, int64_t lo, int64_t hi,
                      const std::string& path) {
  if (v < lo || v > hi) {
    return Invalid(path, "must be between " + FormatDuration(lo) + " and " +
                             FormatDuration(hi));
  }
  return Ok();
}

// ---- the document ----

Status ReadYamlDocument(std::string_view yaml_text, std::size_t max_bytes,
                        const std::function<Status(const YAML::Node&)>& read) {
  if (yaml_text.size() > max_bytes) {
    return Error(Code::kTooLarge, std::string(kTopLevel) + ": larger than " +
                                      std::to_string(max_bytes >> 10) + " KiB");
  }
  // yaml-cpp reads a NUL byte as the end of the input, which would hide
  // whatever follows it.
  if (yaml_text.find('\0') != std::string_view::npos) {
    return Malformed(kTopLevel, "contains a NUL byte");
  }
  // yaml-cpp reports every problem by throwing; nothing may escape.
  try {
    const std::string text(yaml_text);
    if (CountDocuments(text, 2) > 1) {
      return Malformed(kTopLevel, "holds more than one YAML document");
    }
    return read(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    std::string where;
    if (!e.mark.is_null()) {
      where = " at line " + std::to_string(e.mark.line + 1) + ", column " +
              std::to_string(e.mark.column + 1);
    }
    return Malformed(kTopLevel,
                     "invalid YAML" + where + ": " + Printable(e.msg));
  } catch (const std::exception&) {
    return Malformed(kTopLevel, "invalid YAML");
  }
}

// ---- network addresses ----

bool ValidListen(std::string_view hp) {
  return http::ParseListenAddress(hp).has_value();
}

}  // namespace aztp::internal

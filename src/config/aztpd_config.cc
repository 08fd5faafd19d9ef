#include "aztp/config/aztpd_config.h"

#include <arpa/inet.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <exception>
#include <functional>
#include <set>
#include <sstream>
#include <vector>

#include "aztp/base/duration.h"
#include "aztp/base/file.h"
#include "aztp/crypto/key.h"

namespace aztp {

namespace {

constexpr int64_t kDay = 86400;
constexpr std::size_t kMaxListEntries = 16;
// Where errors concern the file as a whole rather than one key.
constexpr const char* kTopLevel = "configuration";

Error Malformed(const std::string& path, const std::string& message) {
  return Error(Code::kMalformed, path + ": " + message);
}

Error Invalid(const std::string& path, const std::string& message) {
  return Error(Code::kInvalidArgument, path + ": " + message);
}

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

std::string Child(const std::string& path, std::string_view key) {
  return path.empty() ? ShownKey(key) : path + "." + ShownKey(key);
}

// The YAML 1.2 core schema tags a value may carry explicitly; untagged
// plain scalars have the non-specific tag "?" and quoted ones "!".
constexpr std::string_view kTagStr = "tag:yaml.org,2002:str";
constexpr std::string_view kTagInt = "tag:yaml.org,2002:int";
constexpr std::string_view kTagFloat = "tag:yaml.org,2002:float";

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return c >= '0' && c <= '9'; });
}

// ---- typed values ----

// ReadString accepts any scalar that is not null: plain or quoted.
Result<std::string> ReadString(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar()) return Malformed(path, "must be a string");
  const std::string& tag = n.Tag();
  if (tag != "?" && tag != "!" && tag != kTagStr) {
    return Malformed(path, "must be a string");
  }
  return n.Scalar();
}

// ReadInt accepts a plain decimal integer without sign or leading zeros:
// quoting a number makes it a string, and hex, octal or "1_000" are typos
// more often than intent.
Result<int64_t> ReadInt(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar() || (n.Tag() != "?" && n.Tag() != kTagInt)) {
    return Malformed(path, "must be an integer");
  }
  const std::string& s = n.Scalar();
  if (!AllDigits(s) || (s.size() > 1 && s[0] == '0')) {
    return Malformed(path, "must be a non-negative decimal integer");
  }
  if (s.size() > 12) return Invalid(path, "is out of range");
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// ReadNumber accepts a plain decimal number: digits, optionally a fraction.
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

// ReadDuration accepts "90s", "15m", "1h", "30d" (base/duration.h); a bare
// number is refused because its unit would be a guess.
Result<int64_t> ReadDuration(const YAML::Node& n, const std::string& path) {
  auto text = ReadString(n, path);
  if (!text) {
    return Malformed(path, "must be a duration such as 90s, 15m, 1h or 30d");
  }
  auto seconds = ParseDuration(*text);
  if (!seconds) {
    return Invalid(path,
                   "must be a duration such as 90s, 15m, 1h or 30d, not " +
                       QuoteInput(*text));
  }
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
                                                const std::string& path) {
  std::vector<std::string> out;
  if (n.IsNull()) return out;
  if (!n.IsSequence()) return Malformed(path, "must be a list of strings");
  if (n.size() > kMaxListEntries) {
    return Invalid(path, "must have at most " +
                             std::to_string(kMaxListEntries) + " entries");
  }
  for (std::size_t i = 0; i < n.size(); ++i) {
    AZTP_ASSIGN_OR_RETURN(
        std::string s, ReadString(n[i], path + "[" + std::to_string(i) + "]"));
    out.push_back(std::move(s));
  }
  return out;
}

// ---- mappings ----

// Field reads the value of one known key into the configuration.
using Field = std::function<Status(const YAML::Node&, const std::string&)>;
struct Key {
  std::string_view name;
  Field read;
};

// ReadMapping applies `keys` to the members of mapping `n`; a missing
// section (null) keeps every default.
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

// Setters for the common shapes.
Field IntInto(int& field) {
  return [&field](const YAML::Node& n, const std::string& path) -> Status {
    AZTP_ASSIGN_OR_RETURN(field, ReadIntField(n, path));
    return Ok();
  };
}
Field DurationInto(int& field) {
  return [&field](const YAML::Node& n, const std::string& path) -> Status {
    AZTP_ASSIGN_OR_RETURN(field, ReadDurationField(n, path));
    return Ok();
  };
}
Field DurationInto(int64_t& field) {
  return [&field](const YAML::Node& n, const std::string& path) -> Status {
    AZTP_ASSIGN_OR_RETURN(field, ReadDuration(n, path));
    return Ok();
  };
}
Field NumberInto(double& field) {
  return [&field](const YAML::Node& n, const std::string& path) -> Status {
    AZTP_ASSIGN_OR_RETURN(field, ReadNumber(n, path));
    return Ok();
  };
}
Field StringListInto(std::vector<std::string>& field) {
  return [&field](const YAML::Node& n, const std::string& path) -> Status {
    AZTP_ASSIGN_OR_RETURN(field, ReadStringList(n, path));
    return Ok();
  };
}
Field NonEmptyStringInto(std::string& field) {
  return [&field](const YAML::Node& n, const std::string& path) -> Status {
    AZTP_ASSIGN_OR_RETURN(field, ReadString(n, path));
    if (field.empty()) return Invalid(path, "must not be empty");
    return Ok();
  };
}
Field Section(std::vector<Key> keys) {
  return [keys = std::move(keys)](const YAML::Node& n,
                                  const std::string& path) -> Status {
    return ReadMapping(n, path, keys);
  };
}

Status ReadDocument(const YAML::Node& root, AztpdConfig& c) {
  ControlPlaneOptions& cp = c.control_plane;
  std::vector<Key> keys = {
      {"data_dir",
       [&](const YAML::Node& n, const std::string& path) -> Status {
         AZTP_ASSIGN_OR_RETURN(c.data_dir, ReadString(n, path));
         if (c.data_dir.empty()) return Invalid(path, "must not be empty");
         return Ok();
       }},
      {"trust_domain",
       [&](const YAML::Node& n, const std::string& path) -> Status {
         AZTP_ASSIGN_OR_RETURN(std::string s, ReadString(n, path));
         auto td = TrustDomain::Parse(s);
         if (!td) return Invalid(path, td.error().message());
         c.trust_domain = std::move(*td);
         return Ok();
       }},
      {"listen",
       [&](const YAML::Node& n, const std::string& path) -> Status {
         AZTP_ASSIGN_OR_RETURN(c.listen, ReadString(n, path));
         return Ok();
       }},
      {"threads", IntInto(c.threads)},
      {"grace", DurationInto(c.grace_seconds)},
      {"maintain_interval", DurationInto(c.maintain_interval_seconds)},
      {"log_level",
       [&](const YAML::Node& n, const std::string& path) -> Status {
         AZTP_ASSIGN_OR_RETURN(std::string s, ReadString(n, path));
         auto level = ParseLogLevel(s);
         if (!level) return Invalid(path, level.error().message());
         c.log_level = *level;
         return Ok();
       }},
      {"log_format",
       [&](const YAML::Node& n, const std::string& path) -> Status {
         AZTP_ASSIGN_OR_RETURN(std::string s, ReadString(n, path));
         auto format = ParseLogFormat(s);
         if (!format) return Invalid(path, format.error().message());
         c.log_format = *format;
         return Ok();
       }},
      {"http",
       Section({
           {"max_body_bytes",
            [&](const YAML::Node& n, const std::string& path) -> Status {
              AZTP_ASSIGN_OR_RETURN(int64_t v, ReadInt(n, path));
              c.http.max_body_bytes = static_cast<std::size_t>(v);
              return Ok();
            }},
           {"read_timeout", DurationInto(c.http.read_timeout_seconds)},
           {"idle_timeout", DurationInto(c.http.idle_timeout_seconds)},
       })},
      {"svid", Section({
                   {"default_ttl", DurationInto(cp.default_svid_ttl_seconds)},
                   {"max_ttl", DurationInto(cp.max_svid_ttl_seconds)},
               })},
      {"jwt", Section({
                  {"default_ttl", DurationInto(cp.default_jwt_ttl_seconds)},
                  {"max_ttl", DurationInto(cp.max_jwt_ttl_seconds)},
              })},
      {"server", Section({
                     {"svid_ttl", DurationInto(cp.server_svid_ttl_seconds)},
                     {"dns_names", StringListInto(cp.server_dns_names)},
                     {"ips", StringListInto(cp.server_ips)},
                 })},
      {"ca", Section({
                 {"key_type",
                  [&](const YAML::Node& n, const std::string& path) -> Status {
                    AZTP_ASSIGN_OR_RETURN(std::string s, ReadString(n, path));
                    auto type = ParseKeyType(s);
                    if (!type) {
                      return Invalid(path,
                                     "must be ec-p256, ec-p384 or ed25519");
                    }
                    cp.ca.key_type = *type;
                    return Ok();
                  }},
                 {"ttl", DurationInto(cp.ca.ttl_seconds)},
                 {"rotation",
                  Section({
                      {"prepare_at", NumberInto(cp.rotation.prepare_at)},
                      {"activate_at", NumberInto(cp.rotation.activate_at)},
                  })},
             })},
      {"federation",
       [&](const YAML::Node& n, const std::string& path) -> Status {
         if (!n.IsSequence()) return Malformed(path, "must be a list");
         if (n.size() > 64) return Invalid(path, "at most 64 entries");
         c.federation.clear();
         for (std::size_t i = 0; i < n.size(); ++i) {
           FederationEntry& e = c.federation.emplace_back();
           auto text = [](std::string& field) -> Field {
             return
                 [&field](const YAML::Node& v, const std::string& p) -> Status {
                   AZTP_ASSIGN_OR_RETURN(field, ReadString(v, p));
                   return Ok();
                 };
           };
           AZTP_RETURN_IF_ERROR(
               ReadMapping(n[i], path + "[" + std::to_string(i) + "]",
                           {{"trust_domain", text(e.trust_domain)},
                            {"endpoint_url", text(e.endpoint_url)},
                            {"profile", text(e.profile)},
                            {"endpoint_id", text(e.endpoint_id)},
                            {"bootstrap_bundle", text(e.bootstrap_bundle)},
                            {"web_ca_file", text(e.web_ca_file)}}));
         }
         return Ok();
       }},
      {"federation_fetch_timeout",
       DurationInto(cp.federation_fetch_timeout_seconds)},
      {"bundle_endpoint",
       [&](const YAML::Node& n, const std::string& path) -> Status {
         // Present, even empty, means a listener: its required keys are
         // checked by ValidateAztpdConfig.
         BundleEndpointConfig& be = c.bundle_endpoint.emplace();
         return ReadMapping(
             n, path,
             {{"listen", NonEmptyStringInto(be.listen)},
              {"path", NonEmptyStringInto(be.path)},
              {"profile",
               [&be](const YAML::Node& v, const std::string& p) -> Status {
                 AZTP_ASSIGN_OR_RETURN(std::string s, ReadString(v, p));
                 auto profile = ParseEndpointProfile(s);
                 if (!profile) {
                   return Invalid(p, "must be https_spiffe or https_web, not " +
                                         QuoteInput(s));
                 }
                 be.profile = *profile;
                 return Ok();
               }},
              {"cert_file", NonEmptyStringInto(be.cert_file)},
              {"key_file", NonEmptyStringInto(be.key_file)}});
       }},
      {"rate_limit", Section({
                         {"requests_per_second",
                          NumberInto(cp.rate_limit.requests_per_second)},
                         {"burst", NumberInto(cp.rate_limit.burst)},
                     })},
  };
  return ReadMapping(root, "", keys);
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

// ---- validation ----

bool ValidListen(std::string_view hp) {
  std::size_t colon = hp.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view host = hp.substr(0, colon);
  std::string_view port = hp.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return false;
  }
  if (host.empty() || host.find('\0') != std::string_view::npos) return false;
  if (!AllDigits(port) || port.size() > 5) return false;
  int value = 0;
  std::from_chars(port.data(), port.data() + port.size(), value);
  return value <= 65535;
}

// ValidDnsName: LDH labels of 1-63 bytes, at most 253 bytes in all.
bool ValidDnsName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = name.find('.', start);
    std::string_view label = name.substr(start, dot == std::string_view::npos
                                                    ? std::string_view::npos
                                                    : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' ||
        label.back() == '-') {
      return false;
    }
    for (char c : label) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '-';
      if (!ok) return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool ValidIp(const std::string& ip) {
  unsigned char buf[16];
  return inet_pton(AF_INET, ip.c_str(), buf) == 1 ||
         inet_pton(AF_INET6, ip.c_str(), buf) == 1;
}

// ValidUrlPath: '/' then RFC 3986 path characters without '%' (so that the
// configured path and a request's path compare byte for byte), no "." or
// ".." segment, at most 256 bytes.
bool ValidUrlPath(std::string_view p) {
  if (p.empty() || p.front() != '/' || p.size() > 256) return false;
  for (char c : p) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') ||
              std::string_view("-._~!$&'()*+,;=:@/").find(c) !=
                  std::string_view::npos;
    if (!ok) return false;
  }
  std::size_t start = 1;
  while (start <= p.size()) {
    std::size_t slash = p.find('/', start);
    std::size_t end = slash == std::string_view::npos ? p.size() : slash;
    std::string_view segment = p.substr(start, end - start);
    if (segment == "." || segment == "..") return false;
    start = end + 1;
  }
  return true;
}

Status ValidateBundleEndpoint(const BundleEndpointConfig& be,
                              const std::string& api_listen) {
  if (be.listen.empty()) {
    return Invalid("bundle_endpoint.listen",
                   "is required (host:port, or --bundle-listen)");
  }
  if (!ValidListen(be.listen)) {
    return Invalid(
        "bundle_endpoint.listen",
        "must be host:port or [v6]:port, not " + QuoteInput(be.listen));
  }
  if (be.listen == api_listen && !be.listen.ends_with(":0")) {
    return Invalid("bundle_endpoint.listen",
                   "must differ from listen (" + api_listen + ")");
  }
  if (!ValidUrlPath(be.path)) {
    return Invalid("bundle_endpoint.path",
                   "must start with '/' and be a plain URL path (letters, "
                   "digits, -._~!$&'()*+,;=:@/, no . or .. segment, at most "
                   "256 bytes), not " +
                       QuoteInput(be.path));
  }
  if (!be.profile) {
    return Invalid("bundle_endpoint.profile",
                   "is required: https_spiffe or https_web");
  }
  for (const auto& [key, value] :
       {std::pair<const char*, const std::string&>{"bundle_endpoint.cert_file",
                                                   be.cert_file},
        {"bundle_endpoint.key_file", be.key_file}}) {
    if (*be.profile == EndpointProfile::kHttpsWeb && value.empty()) {
      return Invalid(key, "is required with profile https_web");
    }
    if (*be.profile == EndpointProfile::kHttpsSpiffe && !value.empty()) {
      return Invalid(key,
                     "applies only to profile https_web (https_spiffe "
                     "serves with the aztpd SVID)");
    }
    if (value.find('\0') != std::string::npos) {
      return Invalid(key, "must not contain NUL bytes");
    }
  }
  return Ok();
}

// Within checks lo <= v <= hi for a duration key.
Status DurationWithin(int64_t v, int64_t lo, int64_t hi, const char* path) {
  if (v < lo || v > hi) {
    return Invalid(path, "must be between " + FormatDuration(lo) + " and " +
                             FormatDuration(hi));
  }
  return Ok();
}

Status IntWithin(int64_t v, int64_t lo, int64_t hi, const char* path) {
  if (v < lo || v > hi) {
    return Invalid(path, "must be between " + std::to_string(lo) + " and " +
                             std::to_string(hi));
  }
  return Ok();
}

}  // namespace

Result<LogLevel> ParseLogLevel(std::string_view name) {
  for (LogLevel l : {LogLevel::kTrace, LogLevel::kDebug, LogLevel::kInfo,
                     LogLevel::kWarn, LogLevel::kError}) {
    if (name == LogLevelName(l)) return l;
  }
  return Error(Code::kInvalidArgument,
               "must be one of trace, debug, info, warn, error, not " +
                   QuoteInput(name));
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

Result<LogFormat> ParseLogFormat(std::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return Error(Code::kInvalidArgument,
               "must be text or json, not " + QuoteInput(name));
}

std::string_view LogFormatName(LogFormat format) {
  return format == LogFormat::kJson ? "json" : "text";
}

Status ValidateAztpdConfig(const AztpdConfig& c) {
  const ControlPlaneOptions& cp = c.control_plane;
  if (c.data_dir.find('\0') != std::string::npos) {
    return Invalid("data_dir", "must not contain NUL bytes");
  }
  if (!ValidListen(c.listen)) {
    return Invalid("listen", "must be host:port or [v6]:port, not " +
                                 QuoteInput(c.listen));
  }
  AZTP_RETURN_IF_ERROR(IntWithin(c.threads, 1, 64, "threads"));
  // 0 is reachable with --grace 0 (stop at once), not from the file.
  AZTP_RETURN_IF_ERROR(IntWithin(c.grace_seconds, 0, 3600, "grace"));
  AZTP_RETURN_IF_ERROR(DurationWithin(c.maintain_interval_seconds, 1, 3600,
                                      "maintain_interval"));
  if (c.http.max_body_bytes < 1024 || c.http.max_body_bytes > (64 << 20)) {
    return Invalid("http.max_body_bytes",
                   "must be between 1024 and " + std::to_string(64 << 20));
  }
  AZTP_RETURN_IF_ERROR(DurationWithin(c.http.read_timeout_seconds, 1, 3600,
                                      "http.read_timeout"));
  AZTP_RETURN_IF_ERROR(DurationWithin(c.http.idle_timeout_seconds, 1, kDay,
                                      "http.idle_timeout"));

  // The control plane refuses requested TTLs below 60 s, so a smaller
  // default would make every request without a TTL fail.
  AZTP_RETURN_IF_ERROR(
      DurationWithin(cp.max_svid_ttl_seconds, 60, 365 * kDay, "svid.max_ttl"));
  if (cp.default_svid_ttl_seconds < 60 ||
      cp.default_svid_ttl_seconds > cp.max_svid_ttl_seconds) {
    return Invalid("svid.default_ttl",
                   "must be between 1m and svid.max_ttl (" +
                       FormatDuration(cp.max_svid_ttl_seconds) + ")");
  }
  AZTP_RETURN_IF_ERROR(
      DurationWithin(cp.max_jwt_ttl_seconds, 60, kDay, "jwt.max_ttl"));
  if (cp.default_jwt_ttl_seconds < 60 ||
      cp.default_jwt_ttl_seconds > cp.max_jwt_ttl_seconds) {
    return Invalid("jwt.default_ttl",
                   "must be between 1m and jwt.max_ttl (" +
                       FormatDuration(cp.max_jwt_ttl_seconds) + ")");
  }
  AZTP_RETURN_IF_ERROR(DurationWithin(cp.server_svid_ttl_seconds, 60,
                                      365 * kDay, "server.svid_ttl"));
  // Maintain renews the server SVID at half its lifetime; it must run at
  // least that often.
  if (cp.server_svid_ttl_seconds < 2 * int64_t{c.maintain_interval_seconds}) {
    return Invalid("server.svid_ttl",
                   "must be at least twice maintain_interval (" +
                       FormatDuration(c.maintain_interval_seconds) + ")");
  }
  if (cp.server_dns_names.size() > kMaxListEntries) {
    return Invalid("server.dns_names", "must have at most 16 entries");
  }
  for (std::size_t i = 0; i < cp.server_dns_names.size(); ++i) {
    if (!ValidDnsName(cp.server_dns_names[i])) {
      return Invalid(
          "server.dns_names[" + std::to_string(i) + "]",
          "is not a DNS name: " + QuoteInput(cp.server_dns_names[i]));
    }
  }
  if (cp.server_ips.size() > kMaxListEntries) {
    return Invalid("server.ips", "must have at most 16 entries");
  }
  for (std::size_t i = 0; i < cp.server_ips.size(); ++i) {
    if (!ValidIp(cp.server_ips[i])) {
      return Invalid(
          "server.ips[" + std::to_string(i) + "]",
          "is not an IPv4 or IPv6 address: " + QuoteInput(cp.server_ips[i]));
    }
  }

  if (cp.ca.key_type == KeyType::kRsa) {
    return Invalid("ca.key_type", "must be ec-p256, ec-p384 or ed25519");
  }
  AZTP_RETURN_IF_ERROR(
      DurationWithin(cp.ca.ttl_seconds, 3600, 100 * 365 * kDay, "ca.ttl"));
  // Written so that NaN fails too.
  if (!(cp.rotation.prepare_at > 0 && cp.rotation.prepare_at < 1)) {
    return Invalid("ca.rotation.prepare_at",
                   "must be greater than 0 and less than 1");
  }
  if (!(cp.rotation.activate_at > cp.rotation.prepare_at &&
        cp.rotation.activate_at < 1)) {
    return Invalid("ca.rotation.activate_at",
                   "must be greater than ca.rotation.prepare_at and less "
                   "than 1");
  }
  AZTP_RETURN_IF_ERROR(DurationWithin(cp.federation_fetch_timeout_seconds, 1,
                                      60, "federation_fetch_timeout"));
  if (c.bundle_endpoint) {
    AZTP_RETURN_IF_ERROR(ValidateBundleEndpoint(*c.bundle_endpoint, c.listen));
  }
  if (!(cp.rate_limit.requests_per_second >= 0 &&
        cp.rate_limit.requests_per_second <= 1e6)) {
    return Invalid("rate_limit.requests_per_second",
                   "must be between 0 (no limit) and 1000000");
  }
  if (!(cp.rate_limit.burst >= 1 && cp.rate_limit.burst <= 1e6)) {
    return Invalid("rate_limit.burst", "must be between 1 and 1000000");
  }
  return Ok();
}

Result<AztpdConfig> ParseAztpdConfig(std::string_view yaml_text) {
  if (yaml_text.size() > kMaxAztpdConfigBytes) {
    return Error(Code::kTooLarge,
                 std::string(kTopLevel) + ": larger than " +
                     std::to_string(kMaxAztpdConfigBytes >> 10) + " KiB");
  }
  // yaml-cpp reads a NUL byte as the end of the input, which would hide
  // whatever follows it.
  if (yaml_text.find('\0') != std::string_view::npos) {
    return Malformed(kTopLevel, "contains a NUL byte");
  }
  AztpdConfig config;
  // yaml-cpp reports every problem by throwing; nothing may escape.
  try {
    const std::string text(yaml_text);
    if (CountDocuments(text, 2) > 1) {
      return Malformed(kTopLevel, "holds more than one YAML document");
    }
    AZTP_RETURN_IF_ERROR(ReadDocument(YAML::Load(text), config));
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
  AZTP_RETURN_IF_ERROR(ValidateAztpdConfig(config));
  return config;
}

Result<std::vector<FederationRelationship>> ResolveFederation(
    const std::vector<FederationEntry>& entries) {
  std::vector<FederationRelationship> out;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const FederationEntry& e = entries[i];
    const std::string path = "federation[" + std::to_string(i) + "]";
    auto td = TrustDomain::Parse(e.trust_domain);
    if (!td) return Invalid(path + ".trust_domain", td.error().message());
    FederationRelationship rel{*td};
    rel.endpoint_url = e.endpoint_url;
    auto profile = ParseEndpointProfile(e.profile);
    if (!profile) return Invalid(path + ".profile", profile.error().message());
    rel.profile = *profile;
    if (!e.endpoint_id.empty()) {
      auto id = SpiffeId::Parse(e.endpoint_id);
      if (!id) return Invalid(path + ".endpoint_id", id.error().message());
      rel.endpoint_id = *id;
    }
    if (!e.bootstrap_bundle.empty()) {
      AZTP_ASSIGN_OR_RETURN(std::string text,
                            ReadFile(e.bootstrap_bundle, 1 << 20));
      auto bundle = Bundle::Parse(*td, text);
      if (!bundle) {
        return Invalid(path + ".bootstrap_bundle", bundle.error().message());
      }
      rel.bootstrap_bundle = std::make_shared<const Bundle>(std::move(*bundle));
    }
    rel.web_ca_file = e.web_ca_file;
    auto valid = rel.Validate();
    if (!valid) return Invalid(path, valid.error().message());
    out.push_back(std::move(rel));
  }
  return out;
}

Result<AztpdConfig> LoadAztpdConfig(const std::string& path) {
  AZTP_ASSIGN_OR_RETURN(std::string text, ReadFile(path, kMaxAztpdConfigBytes));
  auto config = ParseAztpdConfig(text);
  if (!config) return config.error().WithContext(path);
  return config;
}

}  // namespace aztp

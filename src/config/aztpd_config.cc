#include "aztp/config/aztpd_config.h"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "aztp/base/duration.h"
#include "aztp/base/file.h"
#include "aztp/crypto/key.h"
#include "config/oidc_config.h"
#include "config/store_config.h"
#include "config/yaml_fields.h"

namespace aztp {

namespace {

using internal::DurationInto;
using internal::DurationWithin;
using internal::DurationWithinInto;
using internal::Field;
using internal::IntInto;
using internal::IntWithin;
using internal::Invalid;
using internal::Item;
using internal::kDay;
using internal::Key;
using internal::kMaxListEntries;
using internal::LogFormatInto;
using internal::LogLevelInto;
using internal::Malformed;
using internal::NonEmptyStringInto;
using internal::NumberInto;
using internal::OidcProvidersInto;
using internal::ReadInt;
using internal::ReadMapping;
using internal::ReadString;
using internal::Section;
using internal::StringListInto;
using internal::ValidListen;

// StringInto reads any string (NonEmptyStringInto refuses "").
Field StringInto(std::string& field) {
  return [&field](const YAML::Node& n, const std::string& path) -> Status {
    AZTP_ASSIGN_OR_RETURN(field, ReadString(n, path));
    return Ok();
  };
}

// TrustDomainInto reads a trust domain name.
Field TrustDomainInto(std::optional<TrustDomain>& field) {
  return [&field](const YAML::Node& n, const std::string& path) -> Status {
    AZTP_ASSIGN_OR_RETURN(std::string s, ReadString(n, path));
    auto td = TrustDomain::Parse(s);
    if (!td) return Invalid(path, td.error().message());
    field = std::move(*td);
    return Ok();
  };
}

// CaKeyTypeInto reads the CA's key type; RSA is refused later, by
// ValidateAztpdConfig.
Field CaKeyTypeInto(KeyType& field) {
  return [&field](const YAML::Node& n, const std::string& path) -> Status {
    AZTP_ASSIGN_OR_RETURN(std::string s, ReadString(n, path));
    auto type = ParseKeyType(s);
    if (!type) {
      return Invalid(path, "must be ec-p256, ec-p384 or ed25519");
    }
    field = *type;
    return Ok();
  };
}

// FederationInto reads the list of federation entries as written; they are
// resolved and checked by ResolveFederation.
Field FederationInto(std::vector<FederationEntry>& list) {
  return [&list](const YAML::Node& n, const std::string& path) -> Status {
    if (!n.IsSequence()) return Malformed(path, "must be a list");
    if (n.size() > 64) return Invalid(path, "at most 64 entries");
    list.clear();
    for (std::size_t i = 0; i < n.size(); ++i) {
      FederationEntry& e = list.emplace_back();
      AZTP_RETURN_IF_ERROR(
          ReadMapping(n[i], Item(path, i),
                      {{"trust_domain", StringInto(e.trust_domain)},
                       {"endpoint_url", StringInto(e.endpoint_url)},
                       {"profile", StringInto(e.profile)},
                       {"endpoint_id", StringInto(e.endpoint_id)},
                       {"bootstrap_bundle", StringInto(e.bootstrap_bundle)},
                       {"web_ca_file", StringInto(e.web_ca_file)},
                       {"revocations_url", StringInto(e.revocations_url)}}));
    }
    return Ok();
  };
}

// BundleEndpointInto reads the bundle endpoint's listener. Present, even
// empty, means a listener: its required keys are checked by
// ValidateAztpdConfig.
Field BundleEndpointInto(std::optional<BundleEndpointConfig>& field) {
  return [&field](const YAML::Node& n, const std::string& path) -> Status {
    BundleEndpointConfig& be = field.emplace();
    return ReadMapping(
        n, path,
        {{"listen", NonEmptyStringInto(be.listen)},
         {"path", NonEmptyStringInto(be.path)},
         {"profile",
          [&be](const YAML::Node& v, const std::string& p) -> Status {
            AZTP_ASSIGN_OR_RETURN(std::string s, ReadString(v, p));
            auto profile = ParseEndpointProfile(s);
            if (!profile) {
              return Invalid(
                  p, "must be https_spiffe or https_web, not " + QuoteInput(s));
            }
            be.profile = *profile;
            return Ok();
          }},
         {"cert_file", NonEmptyStringInto(be.cert_file)},
         {"key_file", NonEmptyStringInto(be.key_file)},
         {"handshake_timeout", DurationInto(be.handshake_timeout_seconds)},
         {"max_connections", IntInto(be.max_connections)}});
  };
}

Status ReadDocument(const YAML::Node& root, AztpdConfig& c) {
  ControlPlaneOptions& cp = c.control_plane;
  std::vector<Key> keys = {
      {"data_dir", NonEmptyStringInto(c.data_dir)},
      {"trust_domain", TrustDomainInto(c.trust_domain)},
      {"listen", StringInto(c.listen)},
      {"threads", IntInto(c.threads)},
      {"grace", DurationWithinInto(c.grace_seconds, 0, 3600)},
      {"maintain_interval", DurationInto(c.maintain_interval_seconds)},
      {"log_level", LogLevelInto(c.log_level)},
      {"log_format", LogFormatInto(c.log_format)},
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
           {"handshake_timeout",
            DurationInto(c.http.handshake_timeout_seconds)},
           {"max_connections", IntInto(c.http.max_connections)},
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
                 {"key_type", CaKeyTypeInto(cp.ca.key_type)},
                 {"ttl", DurationInto(cp.ca.ttl_seconds)},
                 {"rotation",
                  Section({
                      {"prepare_at", NumberInto(cp.rotation.prepare_at)},
                      {"activate_at", NumberInto(cp.rotation.activate_at)},
                  })},
             })},
      {"federation", FederationInto(c.federation)},
      {"federation_fetch_timeout",
       DurationInto(cp.federation_fetch_timeout_seconds)},
      {"federation_max_refresh",
       DurationInto(cp.federation_max_refresh_seconds)},
      {"bundle_endpoint", BundleEndpointInto(c.bundle_endpoint)},
      {"oidc", Section({{"providers", OidcProvidersInto(c.oidc_providers)},
                        {"login", internal::OidcLoginInto(c.oidc_login)}})},
      {"store", internal::StoreInto(c.store)},
      {"rate_limit", Section({
                         {"requests_per_second",
                          NumberInto(cp.rate_limit.requests_per_second)},
                         {"burst", NumberInto(cp.rate_limit.burst)},
                     })},
  };
  return ReadMapping(root, "", keys);
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

// ListenerLimitsWithin checks the limits each listener has of its own:
// a handshake of 1s-1m and 1-65536 open connections.
Status ListenerLimitsWithin(int handshake_timeout_seconds, int max_connections,
                            const std::string& section) {
  AZTP_RETURN_IF_ERROR(DurationWithin(handshake_timeout_seconds, 1, 60,
                                      section + ".handshake_timeout"));
  return IntWithin(max_connections, 1, 65536, section + ".max_connections");
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
  AZTP_RETURN_IF_ERROR(ListenerLimitsWithin(
      be.handshake_timeout_seconds, be.max_connections, "bundle_endpoint"));
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

}  // namespace

Result<int64_t> ParseDurationSetting(std::string_view text, bool allow_zero) {
  auto seconds = allow_zero ? ParseDurationOrZero(text) : ParseDuration(text);
  if (!seconds) {
    return Error(Code::kInvalidArgument,
                 "must be a duration such as 90s, 15m, 1h or 30d, not " +
                     QuoteInput(text));
  }
  return *seconds;
}

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

namespace {

// ValidateHttp checks the limits of the API's HTTP listener.
Status ValidateHttp(const HttpLimits& http) {
  if (http.max_body_bytes < 1024 || http.max_body_bytes > (64 << 20)) {
    return Invalid("http.max_body_bytes",
                   "must be between 1024 and " + std::to_string(64 << 20));
  }
  AZTP_RETURN_IF_ERROR(
      DurationWithin(http.read_timeout_seconds, 1, 3600, "http.read_timeout"));
  AZTP_RETURN_IF_ERROR(
      DurationWithin(http.idle_timeout_seconds, 1, kDay, "http.idle_timeout"));
  AZTP_RETURN_IF_ERROR(ListenerLimitsWithin(http.handshake_timeout_seconds,
                                            http.max_connections, "http"));
  return Ok();
}

// ValidateTtls checks the lifetimes of the SVIDs and JWT-SVIDs the control
// plane issues, and of its own server SVID.
Status ValidateTtls(const AztpdConfig& c) {
  const ControlPlaneOptions& cp = c.control_plane;
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
  return Ok();
}

// ValidateServerNames checks the extra names of the server SVID.
Status ValidateServerNames(const ControlPlaneOptions& cp) {
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
  return Ok();
}

// ValidateCa checks the CA's key type, lifetime and rotation points.
Status ValidateCa(const ControlPlaneOptions& cp) {
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
  return Ok();
}

Status ValidateRateLimit(const ControlPlaneOptions& cp) {
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

}  // namespace

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
  // 0s: stop at once (grace: 0s, --grace 0s).
  AZTP_RETURN_IF_ERROR(DurationWithin(c.grace_seconds, 0, 3600, "grace"));
  AZTP_RETURN_IF_ERROR(DurationWithin(c.maintain_interval_seconds, 1, 3600,
                                      "maintain_interval"));
  AZTP_RETURN_IF_ERROR(ValidateHttp(c.http));
  AZTP_RETURN_IF_ERROR(ValidateTtls(c));
  AZTP_RETURN_IF_ERROR(ValidateServerNames(cp));

  AZTP_RETURN_IF_ERROR(ValidateCa(cp));
  AZTP_RETURN_IF_ERROR(DurationWithin(cp.federation_fetch_timeout_seconds, 1,
                                      60, "federation_fetch_timeout"));
  AZTP_RETURN_IF_ERROR(DurationWithin(cp.federation_max_refresh_seconds, 1,
                                      3600, "federation_max_refresh"));
  if (c.bundle_endpoint) {
    AZTP_RETURN_IF_ERROR(ValidateBundleEndpoint(*c.bundle_endpoint, c.listen));
  }
  AZTP_RETURN_IF_ERROR(internal::ValidateOidcProviders(c.oidc_providers));
  AZTP_RETURN_IF_ERROR(internal::ValidateOidcLogin(c.oidc_login));
  AZTP_RETURN_IF_ERROR(internal::ValidateStore(c.store));
  AZTP_RETURN_IF_ERROR(ValidateRateLimit(cp));
  return Ok();
}

Result<AztpdConfig> ParseAztpdConfig(std::string_view yaml_text) {
  return internal::ParseConfig(yaml_text, kMaxAztpdConfigBytes, ReadDocument,
                               ValidateAztpdConfig);
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
    rel.revocations_url = e.revocations_url;
    auto valid = rel.Validate();
    if (!valid) return Invalid(path, valid.error().message());
    out.push_back(std::move(rel));
  }
  return out;
}

Result<AztpdConfig> LoadAztpdConfig(const std::string& path) {
  return internal::LoadConfig(path, kMaxAztpdConfigBytes, ParseAztpdConfig);
}

}  // namespace aztp

// AztpdConfig: the settings of the control plane daemon, read from a YAML
// file (docs/aztpd.md "Configuration"; every key is documented in
// docs/aztpd.example.yaml).
//
// The file is parsed strictly: an unknown or repeated key, a value of the
// wrong type and a value out of range are errors naming the key's path
// (e.g. "ca.rotation.activate_at: ..."), so that a typo never silently
// falls back to a default.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "aztp/base/result.h"
#include "aztp/controlplane/control_plane.h"
#include "aztp/services/logins.h"
#include "aztp/spiffeid/trust_domain.h"
#include "aztp/store/store.h"

namespace aztp {

// LogLevel is the least severe level aztpd logs.
enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };
// LogFormat: human-readable lines, or one JSON object per line.
enum class LogFormat { kText, kJson };

// ParseLogLevel accepts "trace", "debug", "info", "warn" and "error";
// anything else is kInvalidArgument.
Result<LogLevel> ParseLogLevel(std::string_view name);
// LogLevelName is the inverse of ParseLogLevel.
std::string_view LogLevelName(LogLevel level);
// ParseLogFormat accepts "text" and "json"; anything else is
// kInvalidArgument.
Result<LogFormat> ParseLogFormat(std::string_view name);
// LogFormatName is the inverse of ParseLogFormat.
std::string_view LogFormatName(LogFormat format);

// ParseDurationSetting parses a duration as every key of aztpd's and
// aztp-proxy's files and every duration flag of aztpd takes it: "90s",
// "15m", "1h", "30d" (base/duration.h); with `allow_zero`, also "0s" (or
// 0m, 0h, 0d). A bare number is refused, in a file and on a command line
// alike, because its unit would be a guess. kInvalidArgument, "must be a
// duration such as 90s, 15m, 1h or 30d, not "<text>"".
Result<int64_t> ParseDurationSetting(std::string_view text,
                                     bool allow_zero = false);

// HttpLimits bound what one client may cost the HTTPS server (they become
// http::ServerOptions).
struct HttpLimits {
  std::size_t max_body_bytes = 1 << 20;
  int read_timeout_seconds = 10;
  int idle_timeout_seconds = 60;
  int handshake_timeout_seconds = 5;  // TLS handshake, from accept
  int max_connections = 1024;         // open at once; more are closed
};

// FederationEntry is one `federation:` item: a relationship whose bootstrap
// bundle is still a file name (ResolveFederation reads it).
struct FederationEntry {
  std::string trust_domain;
  std::string endpoint_url;
  std::string profile;  // https_spiffe or https_web
  std::string endpoint_id;
  std::string bootstrap_bundle;  // path of a SPIFFE bundle document
  std::string web_ca_file;
  std::string revocations_url;  // optional (docs/federation.md)
};

// BundleEndpointConfig is the `bundle_endpoint:` section: the trust
// domain's bundle served on a listener of its own, with the https_spiffe or
// https_web profile (docs/federation.md "Serving your bundle").
struct BundleEndpointConfig {
  std::string listen;                      // host:port, port 0 = any; required
  std::string path = "/bundle";            // must start with '/'
  std::optional<EndpointProfile> profile;  // required
  std::string cert_file;  // https_web only, required there: PEM chain
  std::string key_file;   // https_web only, required there: PEM key
  // This listener's own limits, apart from the API listener's, so that
  // neither can be starved through the other.
  int handshake_timeout_seconds = 5;
  int max_connections = 1024;
};

// OidcExchangeClient is one `exchange_clients` item of a provider: an app's
// client ID at the provider, and the agents that may exchange ID tokens
// issued to it (docs/oidc.md).
struct OidcExchangeClient {
  std::string client_id;
  std::vector<std::string> agents;  // SPIFFE IDs of the own trust domain
};

// OidcProviderEntry is one `oidc.providers` item: an OpenID provider the
// trust domain accepts people from (docs/oidc.md, "Configuration").
struct OidcProviderEntry {
  std::string name;       // 1-64 of a-z 0-9 - _
  std::string issuer;     // exact; https (discovery at issuer + /.well-known)
  std::string client_id;  // aztpd's own client ID there
  // How aztpd authenticates to the token endpoint for its own logins: a
  // client secret (client_secret_basic), or a private key (private_key_jwt:
  // PKCS#8 PEM, ES256/ES384/EdDSA, registered at the provider under
  // private_key_id); at most one; neither for exchange-only providers.
  std::string client_secret_file;
  std::string private_key_file;
  std::string private_key_id;
  std::string ca_file;  // optional: CAs for the provider's TLS (else system)
  std::vector<std::string> algorithms;  // empty: RS256 PS256 ES256 EdDSA
  std::vector<std::string> accepted_acr;
  int64_t max_auth_age_seconds = 0;  // 0: any
  // keys_min_refresh: at most one early fetch of the provider's keys (for
  // an unknown kid) per this long (OidcKeyCacheOptions).
  int64_t keys_min_refresh_seconds = 60;
  // exchange_max_token_age: how old (now - iat) an ID token may be when an
  // agent exchanges it; 1 min to 1 day.
  int64_t exchange_max_token_age_seconds = 600;
  // scopes of aztpd's own logins; empty: openid email profile.
  std::vector<std::string> scopes;
  std::vector<OidcExchangeClient> exchange_clients;
};

// OidcReturnUrls is one `oidc.login.return_urls` item: where the logins of
// one agent may send the browser back to.
struct OidcReturnUrls {
  std::string agent;
  std::vector<std::string> urls;
};

// OidcLoginConfig is `oidc.login`: aztpd's own browser logins.
struct OidcLoginConfig {
  std::string callback_url;   // aztpd's /v1/oidc/callback as providers know it
  int64_t ttl_seconds = 600;  // a login, from its start to the callback
  int64_t result_ttl_seconds = 120;  // a result, until redeemed
  std::vector<OidcReturnUrls> return_urls;
};

// StoreConfig is `store:`: where the control plane keeps its state
// (docs/scaling.md). SQLite, in the data directory, is the default;
// PostgreSQL lets several aztpd replicas share one database.
struct StoreConfig {
  enum class Backend { kSqlite, kPostgres };
  Backend backend = Backend::kSqlite;
  // store.postgres: a libpq connection string without a password, the
  // files of the password and of the key-encryption key (32 bytes, raw or
  // as 64 hex digits; the same on every replica), the pool and its
  // timeouts.
  std::string connection;
  std::string password_file;  // optional (e.g. certificate authentication)
  std::string key_encryption_key_file;
  int pool_size = 8;
  int64_t connect_timeout_seconds = 5;
  int64_t statement_timeout_seconds = 10;
  int64_t acquire_timeout_seconds = 5;
};

// AztpdConfig is everything aztpd runs with. Its defaults are those of a
// daemon started without a configuration file.
struct AztpdConfig {
  std::string data_dir;  // empty: must come from --data-dir
  // trust_domain is used by `init` (and `run --dev` when it initialises).
  std::optional<TrustDomain> trust_domain;
  std::string listen = "127.0.0.1:8443";  // host:port, port 0 = any
  int threads = 2;
  int grace_seconds = 10;  // for in-flight requests at shutdown
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kText;
  HttpLimits http;
  int maintain_interval_seconds = 10;  // between ControlPlane::Maintain runs
  // control_plane.ca is also what `init` creates the first CA with.
  ControlPlaneOptions control_plane;
  std::vector<FederationEntry> federation;
  // Absent: the bundle is served only at GET /v1/bundle of the API
  // listener. (control_plane.federation_fetch_timeout_seconds holds the
  // top-level key federation_fetch_timeout_seconds.)
  std::optional<BundleEndpointConfig> bundle_endpoint;
  std::vector<OidcProviderEntry> oidc_providers;  // oidc.providers
  OidcLoginConfig oidc_login;                     // oidc.login
  StoreConfig store;                              // store
};

// ResolveFederation turns the `federation:` entries into relationships,
// reading each bootstrap bundle file; every parameter is required exactly
// as its profile needs it (docs/federation.md).
Result<std::vector<FederationRelationship>> ResolveFederation(
    const std::vector<FederationEntry>& entries);

// ResolveOidcProviders turns `oidc.providers` into the PersonService's
// providers, each with a client that fetches the provider's documents and
// keys over verified TLS (reading client secret files; nothing is fetched
// yet). `clock` may be null (the system's).
Result<std::vector<services::PersonProvider>> ResolveOidcProviders(
    const std::vector<OidcProviderEntry>& entries, const Clock* clock);
// ResolvePostgresStore turns `store.postgres` into the store's options,
// reading the password and key-encryption key files (a key file readable
// by others is refused).
Result<PostgresStoreOptions> ResolvePostgresStore(const StoreConfig& store);
// LoginSettingsOf turns `oidc.login` into the LoginService's settings.
services::LoginSettings LoginSettingsOf(const OidcLoginConfig& login);

// kMaxAztpdConfigBytes caps the configuration file; real ones are a few
// hundred bytes, and the cap bounds the YAML parser's work.
inline constexpr std::size_t kMaxAztpdConfigBytes = 64 << 10;

// ParseAztpdConfig parses one YAML document (an empty one means all
// defaults) and validates the result with ValidateAztpdConfig. Errors:
// kTooLarge beyond kMaxAztpdConfigBytes; kMalformed for YAML syntax, more
// than one document, unknown or repeated keys and wrong types;
// kInvalidArgument for values out of range. Messages start with the key's
// path.
Result<AztpdConfig> ParseAztpdConfig(std::string_view yaml_text);

// LoadAztpdConfig reads and parses the file at `path` (kIo when it cannot
// be read).
Result<AztpdConfig> LoadAztpdConfig(const std::string& path);

// ValidateAztpdConfig checks ranges and the relations between values (for
// example svid.default_ttl <= svid.max_ttl, and 0 < ca.rotation.prepare_at
// < ca.rotation.activate_at < 1). aztpd calls it again after command-line
// flags have overridden values. Errors are kInvalidArgument naming the
// key's path.
Status ValidateAztpdConfig(const AztpdConfig& config);

}  // namespace aztp

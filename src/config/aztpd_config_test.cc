#include "aztp/config/aztpd_config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "aztp/base/file.h"
#include "aztp/crypto/key.h"
#include "testing/source_dir.h"
#include "testing/temp_dir.h"

namespace aztp {
namespace {

// ExpectDefaults checks every value a file did not set.
void ExpectDefaults(const AztpdConfig& c) {
  const AztpdConfig d;
  EXPECT_EQ(c.listen, d.listen);
  EXPECT_EQ(c.threads, d.threads);
  EXPECT_EQ(c.grace_seconds, d.grace_seconds);
  EXPECT_EQ(c.maintain_interval_seconds, d.maintain_interval_seconds);
  EXPECT_EQ(c.log_level, d.log_level);
  EXPECT_EQ(c.log_format, d.log_format);
  EXPECT_EQ(c.http.max_body_bytes, d.http.max_body_bytes);
  EXPECT_EQ(c.http.read_timeout_seconds, d.http.read_timeout_seconds);
  EXPECT_EQ(c.http.idle_timeout_seconds, d.http.idle_timeout_seconds);
  EXPECT_EQ(c.http.handshake_timeout_seconds, 5);
  EXPECT_EQ(c.http.handshake_timeout_seconds, d.http.handshake_timeout_seconds);
  EXPECT_EQ(c.http.max_connections, 1024);
  EXPECT_EQ(c.http.max_connections, d.http.max_connections);
  const ControlPlaneOptions& cp = c.control_plane;
  const ControlPlaneOptions& dp = d.control_plane;
  EXPECT_EQ(cp.default_svid_ttl_seconds, dp.default_svid_ttl_seconds);
  EXPECT_EQ(cp.max_svid_ttl_seconds, dp.max_svid_ttl_seconds);
  EXPECT_EQ(cp.default_jwt_ttl_seconds, dp.default_jwt_ttl_seconds);
  EXPECT_EQ(cp.max_jwt_ttl_seconds, dp.max_jwt_ttl_seconds);
  EXPECT_EQ(cp.server_svid_ttl_seconds, dp.server_svid_ttl_seconds);
  EXPECT_EQ(cp.server_dns_names, dp.server_dns_names);
  EXPECT_EQ(cp.server_ips, dp.server_ips);
  EXPECT_EQ(cp.ca.key_type, dp.ca.key_type);
  EXPECT_EQ(cp.ca.ttl_seconds, dp.ca.ttl_seconds);
  EXPECT_EQ(cp.rotation.prepare_at, dp.rotation.prepare_at);
  EXPECT_EQ(cp.rotation.activate_at, dp.rotation.activate_at);
  EXPECT_EQ(cp.rate_limit.requests_per_second,
            dp.rate_limit.requests_per_second);
  EXPECT_EQ(cp.rate_limit.burst, dp.rate_limit.burst);
  EXPECT_EQ(cp.federation_fetch_timeout_seconds, 10);
  EXPECT_EQ(cp.federation_fetch_timeout_seconds,
            dp.federation_fetch_timeout_seconds);
  EXPECT_FALSE(c.bundle_endpoint.has_value());
}

TEST(AztpdConfig, EmptyDocumentsMeanDefaults) {
  for (const char* text : {"", "# nothing\n", "---\n", "~\n", "{}\n"}) {
    auto c = ParseAztpdConfig(text);
    ASSERT_TRUE(c.has_value()) << text << ": " << c.error().message();
    EXPECT_EQ(c->data_dir, "");
    EXPECT_FALSE(c->trust_domain.has_value());
    ExpectDefaults(*c);
  }
}

TEST(AztpdConfig, DefaultsAreValid) {
  EXPECT_TRUE(ValidateAztpdConfig(AztpdConfig{}).has_value());
}

TEST(AztpdConfig, ExampleFileDocumentsTheDefaults) {
  auto c = LoadAztpdConfig(std::string(test_support::SourceDir()) +
                           "/docs/aztpd.example.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->data_dir, "/var/lib/aztpd");
  ASSERT_TRUE(c->trust_domain.has_value());
  EXPECT_EQ(c->trust_domain->name(), "org-a.example");
  ExpectDefaults(*c);
}

TEST(AztpdConfig, ReadsEveryKey) {
  auto c = ParseAztpdConfig(R"(
data_dir: /srv/aztpd
trust_domain: org-b.example
listen: "[::1]:9443"
threads: 8
grace: 30s
maintain_interval: 5s
log_level: debug
log_format: json
http:
  max_body_bytes: 65536
  read_timeout: 5s
  idle_timeout: 2m
svid:
  default_ttl: 2m
  max_ttl: 12h
jwt:
  default_ttl: 1m
  max_ttl: 10m
server:
  svid_ttl: 1h
  dns_names: [aztpd.internal, localhost]
  ips:
    - 10.0.0.1
    - "::1"
ca:
  key_type: ed25519
  ttl: 90d
  rotation:
    prepare_at: 0.25
    activate_at: 0.5
rate_limit:
  requests_per_second: 2.5
  burst: 10
federation_fetch_timeout: 30s
bundle_endpoint:
  listen: 0.0.0.0:8444
  path: /.well-known/spiffe-bundle
  profile: https_web
  cert_file: /etc/aztpd/web.crt
  key_file: /etc/aztpd/web.key
)");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->data_dir, "/srv/aztpd");
  EXPECT_EQ(c->trust_domain->name(), "org-b.example");
  EXPECT_EQ(c->listen, "[::1]:9443");
  EXPECT_EQ(c->threads, 8);
  EXPECT_EQ(c->grace_seconds, 30);
  EXPECT_EQ(c->maintain_interval_seconds, 5);
  EXPECT_EQ(c->log_level, LogLevel::kDebug);
  EXPECT_EQ(c->log_format, LogFormat::kJson);
  EXPECT_EQ(c->http.max_body_bytes, 65536u);
  EXPECT_EQ(c->http.read_timeout_seconds, 5);
  EXPECT_EQ(c->http.idle_timeout_seconds, 120);
  const ControlPlaneOptions& cp = c->control_plane;
  EXPECT_EQ(cp.default_svid_ttl_seconds, 120);
  EXPECT_EQ(cp.max_svid_ttl_seconds, 12 * 3600);
  EXPECT_EQ(cp.default_jwt_ttl_seconds, 60);
  EXPECT_EQ(cp.max_jwt_ttl_seconds, 600);
  EXPECT_EQ(cp.server_svid_ttl_seconds, 3600);
  EXPECT_EQ(cp.server_dns_names,
            (std::vector<std::string>{"aztpd.internal", "localhost"}));
  EXPECT_EQ(cp.server_ips, (std::vector<std::string>{"10.0.0.1", "::1"}));
  EXPECT_EQ(cp.ca.key_type, KeyType::kEd25519);
  EXPECT_EQ(cp.ca.ttl_seconds, 90 * 86400);
  EXPECT_EQ(cp.rotation.prepare_at, 0.25);
  EXPECT_EQ(cp.rotation.activate_at, 0.5);
  EXPECT_EQ(cp.rate_limit.requests_per_second, 2.5);
  EXPECT_EQ(cp.rate_limit.burst, 10);
  EXPECT_EQ(cp.federation_fetch_timeout_seconds, 30);
  ASSERT_TRUE(c->bundle_endpoint.has_value());
  EXPECT_EQ(c->bundle_endpoint->listen, "0.0.0.0:8444");
  EXPECT_EQ(c->bundle_endpoint->path, "/.well-known/spiffe-bundle");
  EXPECT_EQ(c->bundle_endpoint->profile, EndpointProfile::kHttpsWeb);
  EXPECT_EQ(c->bundle_endpoint->cert_file, "/etc/aztpd/web.crt");
  EXPECT_EQ(c->bundle_endpoint->key_file, "/etc/aztpd/web.key");
}

TEST(AztpdConfig, EmptySectionsAndListsAreAllowed) {
  auto c = ParseAztpdConfig("http:\nserver:\n  dns_names: []\n  ips:\n");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_TRUE(c->control_plane.server_dns_names.empty());
  EXPECT_TRUE(c->control_plane.server_ips.empty());
}

struct BadCase {
  const char* yaml;
  Code code;
  const char* message_prefix;  // the key path first
};

void ExpectRejected(const std::vector<BadCase>& cases) {
  for (const auto& bad : cases) {
    auto c = ParseAztpdConfig(bad.yaml);
    ASSERT_FALSE(c.has_value()) << bad.yaml;
    EXPECT_EQ(c.error().code(), bad.code)
        << bad.yaml << " -> " << c.error().message();
    EXPECT_EQ(c.error().message().rfind(bad.message_prefix, 0), 0u)
        << bad.yaml << " -> " << c.error().message();
  }
}

TEST(AztpdConfig, UnknownAndRepeatedKeysNameTheirPath) {
  ExpectRejected({
      {"lisen: 127.0.0.1:1\n", Code::kMalformed, "lisen: unknown key"},
      {"ca:\n  rotation:\n    activate: 0.8\n", Code::kMalformed,
       "ca.rotation.activate: unknown key"},
      {"http:\n  max_body: 1\n", Code::kMalformed,
       "http.max_body: unknown key"},
      {"threads: 2\nthreads: 3\n", Code::kMalformed, "threads: repeated key"},
      {"\"bad\\nkey\": 1\n", Code::kMalformed, "\"bad\\x0akey\": unknown key"},
      {"[a]: 1\n", Code::kMalformed, "configuration: keys must be"},
  });
}

TEST(AztpdConfig, WrongTypesAreMalformed) {
  ExpectRejected({
      {"threads: two\n", Code::kMalformed, "threads: must be"},
      {"threads: \"4\"\n", Code::kMalformed, "threads: must be an integer"},
      {"threads: -1\n", Code::kMalformed, "threads: must be"},
      {"threads: 0x10\n", Code::kMalformed, "threads: must be"},
      {"threads: 04\n", Code::kMalformed, "threads: must be"},
      {"threads: [4]\n", Code::kMalformed, "threads: must be an integer"},
      {"threads:\n", Code::kMalformed, "threads: must be an integer"},
      {"data_dir: [a]\n", Code::kMalformed, "data_dir: must be a string"},
      {"data_dir: ~\n", Code::kMalformed, "data_dir: must be a string"},
      {"data_dir: !!int 5\n", Code::kMalformed, "data_dir: must be a string"},
      {"http: 5\n", Code::kMalformed, "http: must be a mapping"},
      {"server:\n  ips: 127.0.0.1\n", Code::kMalformed,
       "server.ips: must be a list"},
      {"server:\n  ips: [[1]]\n", Code::kMalformed,
       "server.ips[0]: must be a string"},
      {"svid:\n  default_ttl: {a: 1}\n", Code::kMalformed,
       "svid.default_ttl: must be a duration"},
      {"ca:\n  rotation:\n    prepare_at: .5\n", Code::kMalformed,
       "ca.rotation.prepare_at: must be"},
      {"rate_limit:\n  burst: 1e3\n", Code::kMalformed,
       "rate_limit.burst: must be"},
      {"- a\n- b\n", Code::kMalformed, "configuration: must be a mapping"},
      {"hello\n", Code::kMalformed, "configuration: must be a mapping"},
  });
}

TEST(AztpdConfig, BadValuesAreInvalidArguments) {
  ExpectRejected({
      {"ca:\n  ttl: 3600\n", Code::kInvalidArgument,
       "ca.ttl: must be a duration"},
      {"grace: 10 s\n", Code::kInvalidArgument, "grace: must be a duration"},
      {"log_level: loud\n", Code::kInvalidArgument, "log_level: must be one"},
      {"log_format: xml\n", Code::kInvalidArgument, "log_format: must be"},
      {"trust_domain: Org.Example\n", Code::kInvalidArgument, "trust_domain: "},
      {"ca:\n  key_type: rsa\n", Code::kInvalidArgument, "ca.key_type: "},
      {"data_dir: \"\"\n", Code::kInvalidArgument, "data_dir: must not"},
      {"threads: 99999999999999\n", Code::kInvalidArgument, "threads: "},
  });
}

// Issue 13: one duration syntax for files and flags (aztpd's --grace and
// --ca-ttl parse with ParseDurationSetting too); a bare number is refused
// everywhere, 0s only where zero means something.
TEST(AztpdConfig, DurationsHaveOneSyntaxForFilesAndFlags) {
  EXPECT_EQ(*ParseDurationSetting("10s"), 10);
  EXPECT_EQ(*ParseDurationSetting("15m"), 900);
  EXPECT_EQ(*ParseDurationSetting("0s", /*allow_zero=*/true), 0);
  EXPECT_FALSE(ParseDurationSetting("0s"));
  auto bare = ParseDurationSetting("10", true);
  ASSERT_FALSE(bare);
  EXPECT_EQ(bare.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(bare.error().message(),
            "must be a duration such as 90s, 15m, 1h or 30d, not \"10\"");
  // The file says the same, prefixed by the key.
  auto file = ParseAztpdConfig("grace: 10\n");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().message(), "grace: " + bare.error().message());
  // grace: 0s stops at once, as --grace 0s does.
  auto zero = ParseAztpdConfig("grace: 0s\n");
  ASSERT_TRUE(zero) << zero.error().message();
  EXPECT_EQ(zero->grace_seconds, 0);
}

TEST(AztpdConfig, OutOfRangeValuesNameTheirKey) {
  ExpectRejected({
      {"ca:\n  rotation:\n    prepare_at: 0.8\n    activate_at: 0.7\n",
       Code::kInvalidArgument, "ca.rotation.activate_at: must be greater"},
      {"ca:\n  rotation:\n    activate_at: 1\n", Code::kInvalidArgument,
       "ca.rotation.activate_at: "},
      {"ca:\n  rotation:\n    prepare_at: 0\n", Code::kInvalidArgument,
       "ca.rotation.prepare_at: "},
      {"threads: 0\n", Code::kInvalidArgument, "threads: must be between"},
      {"threads: 65\n", Code::kInvalidArgument, "threads: must be between"},
      {"svid:\n  default_ttl: 2d\n", Code::kInvalidArgument,
       "svid.default_ttl: must be between 1m and svid.max_ttl (1d)"},
      {"svid:\n  default_ttl: 30s\n", Code::kInvalidArgument,
       "svid.default_ttl: "},
      {"svid:\n  max_ttl: 400d\n", Code::kInvalidArgument, "svid.max_ttl: "},
      {"jwt:\n  max_ttl: 2m\n", Code::kInvalidArgument, "jwt.default_ttl: "},
      {"server:\n  svid_ttl: 15s\n", Code::kInvalidArgument,
       "server.svid_ttl: "},
      {"maintain_interval: 1h\nserver:\n  svid_ttl: 90m\n",
       Code::kInvalidArgument, "server.svid_ttl: must be at least twice"},
      {"grace: 2h\n", Code::kInvalidArgument, "grace: "},
      {"maintain_interval: 2h\n", Code::kInvalidArgument,
       "maintain_interval: "},
      {"http:\n  max_body_bytes: 10\n", Code::kInvalidArgument,
       "http.max_body_bytes: "},
      {"http:\n  read_timeout: 2h\n", Code::kInvalidArgument,
       "http.read_timeout: "},
      {"http:\n  idle_timeout: 2d\n", Code::kInvalidArgument,
       "http.idle_timeout: "},
      {"ca:\n  ttl: 30m\n", Code::kInvalidArgument, "ca.ttl: "},
      {"rate_limit:\n  burst: 0\n", Code::kInvalidArgument,
       "rate_limit.burst: "},
      {"rate_limit:\n  requests_per_second: 2000000\n", Code::kInvalidArgument,
       "rate_limit.requests_per_second: "},
      {"listen: localhost\n", Code::kInvalidArgument, "listen: "},
      {"listen: \"::1:80\"\n", Code::kInvalidArgument, "listen: "},
      {"listen: 127.0.0.1:65536\n", Code::kInvalidArgument, "listen: "},
      {"server:\n  dns_names: [localhost, \"bad name\"]\n",
       Code::kInvalidArgument, "server.dns_names[1]: "},
      {"server:\n  ips: [1.2.3]\n", Code::kInvalidArgument, "server.ips[0]: "},
      {"server:\n  ips: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]\n",
       Code::kInvalidArgument, "server.ips: must have at most 16"},
  });
}

// Finding 8: each listener has its own connection cap and TLS handshake
// timeout, read and range-checked like the other limits.
TEST(AztpdConfig, Finding8ListenerLimitsArePerListener) {
  auto c = ParseAztpdConfig(
      "http:\n  handshake_timeout: 3s\n  max_connections: 2000\n"
      "bundle_endpoint:\n  listen: 127.0.0.1:0\n  profile: https_spiffe\n"
      "  handshake_timeout: 2s\n  max_connections: 64\n");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->http.handshake_timeout_seconds, 3);
  EXPECT_EQ(c->http.max_connections, 2000);
  ASSERT_TRUE(c->bundle_endpoint.has_value());
  EXPECT_EQ(c->bundle_endpoint->handshake_timeout_seconds, 2);
  EXPECT_EQ(c->bundle_endpoint->max_connections, 64);
  auto defaults = ParseAztpdConfig(
      "bundle_endpoint:\n  listen: 127.0.0.1:0\n  profile: https_spiffe\n");
  ASSERT_TRUE(defaults.has_value());
  EXPECT_EQ(defaults->bundle_endpoint->handshake_timeout_seconds, 5);
  EXPECT_EQ(defaults->bundle_endpoint->max_connections, 1024);
  const std::string be =
      "bundle_endpoint:\n  listen: 127.0.0.1:0\n  profile: https_spiffe\n";
  const std::string be_fast = be + "  handshake_timeout: 0s\n";
  const std::string be_slow = be + "  handshake_timeout: 2m\n";
  const std::string be_none = be + "  max_connections: 0\n";
  const std::string be_many = be + "  max_connections: 65537\n";
  ExpectRejected({
      {"http:\n  handshake_timeout: 2m\n", Code::kInvalidArgument,
       "http.handshake_timeout: must be between 1s and 1m"},
      {"http:\n  handshake_timeout: 5\n", Code::kInvalidArgument,
       "http.handshake_timeout: must be a duration"},
      {"http:\n  max_connections: 0\n", Code::kInvalidArgument,
       "http.max_connections: must be between 1 and 65536"},
      {"http:\n  max_connections: 65537\n", Code::kInvalidArgument,
       "http.max_connections: "},
      {"http:\n  max_connections: many\n", Code::kMalformed,
       "http.max_connections: "},
      {be_fast.c_str(), Code::kInvalidArgument,
       "bundle_endpoint.handshake_timeout: "},
      {be_slow.c_str(), Code::kInvalidArgument,
       "bundle_endpoint.handshake_timeout: must be between"},
      {be_none.c_str(), Code::kInvalidArgument,
       "bundle_endpoint.max_connections: must be between 1 and 65536"},
      {be_many.c_str(), Code::kInvalidArgument,
       "bundle_endpoint.max_connections: "},
  });
}

TEST(AztpdConfig, BundleEndpointWithTheSpiffeProfile) {
  auto c = ParseAztpdConfig(
      "bundle_endpoint:\n  listen: 127.0.0.1:0\n  profile: https_spiffe\n");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  ASSERT_TRUE(c->bundle_endpoint.has_value());
  EXPECT_EQ(c->bundle_endpoint->listen, "127.0.0.1:0");
  EXPECT_EQ(c->bundle_endpoint->path, "/bundle");  // the default
  EXPECT_EQ(c->bundle_endpoint->profile, EndpointProfile::kHttpsSpiffe);
  EXPECT_TRUE(c->bundle_endpoint->cert_file.empty());
  // Port 0 twice is two listeners on any ports.
  EXPECT_TRUE(ParseAztpdConfig("listen: 127.0.0.1:0\nbundle_endpoint:\n"
                               "  listen: 127.0.0.1:0\n"
                               "  profile: https_spiffe\n")
                  .has_value());
}

TEST(AztpdConfig, BundleEndpointNeedsExactlyItsProfilesKeys) {
  const std::string spiffe =
      "bundle_endpoint:\n  listen: 127.0.0.1:8444\n  profile: https_spiffe\n";
  const std::string web =
      "bundle_endpoint:\n  listen: 127.0.0.1:8444\n  profile: https_web\n";
  const std::string files = "  cert_file: /w.crt\n  key_file: /w.key\n";
  ASSERT_TRUE(ParseAztpdConfig(web + files).has_value());
  const std::vector<std::pair<std::string, BadCase>> cases = {
      {web,
       {"", Code::kInvalidArgument,
        "bundle_endpoint.cert_file: is required with profile https_web"}},
      {web + "  cert_file: /w.crt\n",
       {"", Code::kInvalidArgument,
        "bundle_endpoint.key_file: is required with profile https_web"}},
      {spiffe + "  cert_file: /w.crt\n",
       {"", Code::kInvalidArgument,
        "bundle_endpoint.cert_file: applies only to profile https_web"}},
      {spiffe + "  key_file: /w.key\n",
       {"", Code::kInvalidArgument,
        "bundle_endpoint.key_file: applies only to profile https_web"}},
      {spiffe + "  path: bundle\n",
       {"", Code::kInvalidArgument, "bundle_endpoint.path: must start"}},
      {spiffe + "  path: /a/../b\n",
       {"", Code::kInvalidArgument, "bundle_endpoint.path: "}},
      {spiffe + "  path: /a%20b\n",
       {"", Code::kInvalidArgument, "bundle_endpoint.path: "}},
      {spiffe + "  path: \"/a b\"\n",
       {"", Code::kInvalidArgument, "bundle_endpoint.path: "}},
      {spiffe + "  path: \"\"\n",
       {"", Code::kInvalidArgument, "bundle_endpoint.path: must not be empty"}},
      {spiffe + "  profile: https_spiffe\n",
       {"", Code::kMalformed, "bundle_endpoint.profile: repeated key"}},
      {spiffe + "  url: /x\n",
       {"", Code::kMalformed, "bundle_endpoint.url: unknown key"}},
      {"bundle_endpoint:\n  listen: 127.0.0.1:8444\n  profile: web\n",
       {"", Code::kInvalidArgument,
        "bundle_endpoint.profile: must be https_spiffe or https_web"}},
      {"bundle_endpoint:\n  listen: 127.0.0.1:8444\n",
       {"", Code::kInvalidArgument, "bundle_endpoint.profile: is required"}},
      {"bundle_endpoint:\n  profile: https_spiffe\n",
       {"", Code::kInvalidArgument, "bundle_endpoint.listen: is required"}},
      {"bundle_endpoint:\n",
       {"", Code::kInvalidArgument, "bundle_endpoint.listen: is required"}},
      {"bundle_endpoint: [a]\n",
       {"", Code::kMalformed, "bundle_endpoint: must be a mapping"}},
      {"bundle_endpoint:\n  listen: 8444\n  profile: https_spiffe\n",
       {"", Code::kInvalidArgument, "bundle_endpoint.listen: must be"}},
      {"listen: 127.0.0.1:8443\nbundle_endpoint:\n  listen: "
       "127.0.0.1:8443\n  profile: https_spiffe\n",
       {"", Code::kInvalidArgument,
        "bundle_endpoint.listen: must differ from listen"}},
  };
  for (const auto& [yaml, bad] : cases) {
    auto c = ParseAztpdConfig(yaml);
    ASSERT_FALSE(c.has_value()) << yaml;
    EXPECT_EQ(c.error().code(), bad.code)
        << yaml << " -> " << c.error().message();
    EXPECT_EQ(c.error().message().rfind(bad.message_prefix, 0), 0u)
        << yaml << " -> " << c.error().message();
  }
}

TEST(AztpdConfig, FederationFetchTimeout) {
  auto c = ParseAztpdConfig("federation_fetch_timeout: 1m\n");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->control_plane.federation_fetch_timeout_seconds, 60);
  ExpectRejected({
      {"federation_fetch_timeout: 2m\n", Code::kInvalidArgument,
       "federation_fetch_timeout: must be between"},
      {"federation_fetch_timeout: 61s\n", Code::kInvalidArgument,
       "federation_fetch_timeout: must be between"},
      {"federation_fetch_timeout: 10\n", Code::kInvalidArgument,
       "federation_fetch_timeout: must be a duration"},
  });
}

TEST(AztpdConfig, FederationMaxRefresh) {
  EXPECT_EQ(ParseAztpdConfig("")->control_plane.federation_max_refresh_seconds,
            3600);
  auto c = ParseAztpdConfig("federation_max_refresh: 2s\n");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->control_plane.federation_max_refresh_seconds, 2);
  ExpectRejected({
      {"federation_max_refresh: 2h\n", Code::kInvalidArgument,
       "federation_max_refresh: must be between"},
      {"federation_max_refresh: 3601s\n", Code::kInvalidArgument,
       "federation_max_refresh: must be between"},
  });
}

TEST(AztpdConfig, ZeroRequestsPerSecondDisablesTheLimit) {
  auto c = ParseAztpdConfig("rate_limit:\n  requests_per_second: 0\n");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->control_plane.rate_limit.requests_per_second, 0);
}

TEST(AztpdConfig, BrokenYamlIsMalformedNotThrown) {
  for (const char* text :
       {"a: [1, 2\n", "a: b: c\n", "threads: 2\n\tgrace: 1s\n", "a: \"x\n",
        "a: *nope\n", "--- a\n--- b\n", "key: \"\\q\"\n", "{a: 1, a: 2}",
        "threads: !!binary AAAA\n", "? a\n? a\n"}) {
    auto c = ParseAztpdConfig(text);
    ASSERT_FALSE(c.has_value()) << text;
    EXPECT_EQ(c.error().code(), Code::kMalformed) << text;
    EXPECT_EQ(c.error().message().find('\n'), std::string::npos);
  }
}

TEST(AztpdConfig, MoreThanOneDocumentIsMalformed) {
  auto c = ParseAztpdConfig("threads: 2\n---\nthreads: 3\n");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message(),
            "configuration: holds more than one YAML document");
}

TEST(AztpdConfig, StrayTopLevelTokensAreRefusedQuickly) {
  // yaml-cpp's LoadAll would return empty documents for these forever.
  for (const char* text : {",:\n", ",", "threads: 2\n,\n", "]\n", "}"}) {
    auto c = ParseAztpdConfig(text);
    ASSERT_FALSE(c.has_value()) << text;
    EXPECT_EQ(c.error().code(), Code::kMalformed) << text;
  }
}

TEST(AztpdConfig, DeepNestingIsRefusedWithoutCrashing) {
  std::string flow(60000, '[');
  std::string block;
  for (int i = 0; i < 20000; ++i) block += "- ";
  block += "x\n";
  for (const std::string& text : {flow, block, "threads: " + flow}) {
    auto c = ParseAztpdConfig(text);
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().code(), Code::kMalformed);
  }
}

TEST(AztpdConfig, NulBytesAreRefused) {
  auto c = ParseAztpdConfig(std::string("threads: 2\n\0threads: 3\n", 24));
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code(), Code::kMalformed);
}

TEST(AztpdConfig, SizeIsCapped) {
  std::string text = "# " + std::string(kMaxAztpdConfigBytes, 'x') + "\n";
  auto c = ParseAztpdConfig(text);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code(), Code::kTooLarge);

  test_support::TempDir dir;
  ASSERT_TRUE(WriteFile(dir.File("big.yaml"), text).has_value());
  auto loaded = LoadAztpdConfig(dir.File("big.yaml"));
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().code(), Code::kTooLarge);
}

TEST(AztpdConfig, LoadNamesTheFileAndTheKey) {
  test_support::TempDir dir;
  const std::string path = dir.File("aztpd.yaml");
  ASSERT_TRUE(WriteFile(path, "threads: 100\n").has_value());
  auto c = LoadAztpdConfig(path);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(c.error().message(), path + ": threads: must be between 1 and 64");

  auto missing = LoadAztpdConfig(dir.File("missing.yaml"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), Code::kIo);

  ASSERT_TRUE(WriteFile(path, "threads: 4\n").has_value());
  auto good = LoadAztpdConfig(path);
  ASSERT_TRUE(good.has_value()) << good.error().message();
  EXPECT_EQ(good->threads, 4);
}

TEST(AztpdConfig, ValidateChecksValuesSetInCode) {
  AztpdConfig c;
  c.threads = 65;  // as a --threads flag would
  auto s = ValidateAztpdConfig(c);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().message(), "threads: must be between 1 and 64");
  c.threads = 4;
  c.grace_seconds = 0;  // --grace 0: stop at once
  EXPECT_TRUE(ValidateAztpdConfig(c).has_value());
  c.control_plane.ca.key_type = KeyType::kRsa;
  EXPECT_FALSE(ValidateAztpdConfig(c).has_value());
}

TEST(AztpdConfig, LogLevelsAndFormatsRoundTrip) {
  for (const char* name : {"trace", "debug", "info", "warn", "error"}) {
    auto level = ParseLogLevel(name);
    ASSERT_TRUE(level.has_value()) << name;
    EXPECT_EQ(LogLevelName(*level), name);
  }
  for (const char* name : {"text", "json"}) {
    auto format = ParseLogFormat(name);
    ASSERT_TRUE(format.has_value()) << name;
    EXPECT_EQ(LogFormatName(*format), name);
  }
  EXPECT_FALSE(ParseLogLevel("INFO").has_value());
  EXPECT_FALSE(ParseLogFormat("").has_value());
}

}  // namespace
TEST(AztpdConfigTest, FederationEntriesNeedTheirProfilesParameters) {
  auto c = ParseAztpdConfig(
      "federation:\n"
      "  - trust_domain: org-b.example\n"
      "    endpoint_url: https://b.example/bundle\n"
      "    profile: https_web\n");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  ASSERT_EQ(c->federation.size(), 1u);
  auto rels = ResolveFederation(c->federation);
  ASSERT_TRUE(rels.has_value()) << rels.error().message();
  EXPECT_EQ((*rels)[0].profile, EndpointProfile::kHttpsWeb);
  EXPECT_EQ((*rels)[0].revocations_url, "");
  // revocations_url is taken as given, on the endpoint's host only.
  c->federation[0].revocations_url = "https://b.example/revocations";
  rels = ResolveFederation(c->federation);
  ASSERT_TRUE(rels.has_value()) << rels.error().message();
  EXPECT_EQ((*rels)[0].revocations_url, "https://b.example/revocations");
  c->federation[0].revocations_url = "https://c.example/revocations";
  EXPECT_EQ(ResolveFederation(c->federation)
                .error()
                .message()
                .rfind("federation[0]", 0),
            0u);
  c->federation[0].revocations_url.clear();
  // https_spiffe without an endpoint ID or bootstrap bundle is refused.
  c->federation[0].profile = "https_spiffe";
  auto bad = ResolveFederation(c->federation);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message().rfind("federation[0]", 0), 0u)
      << bad.error().message();
  // Unknown keys inside an entry, and a non-list, are malformed.
  for (const char* text :
       {"federation:\n  - trust_domain: x\n    colour: red\n",
        "federation: {trust_domain: x}\n"}) {
    auto r = ParseAztpdConfig(text);
    ASSERT_FALSE(r.has_value()) << text;
    EXPECT_EQ(r.error().code(), Code::kMalformed) << r.error().message();
  }
}

TEST(AztpdConfig, ReadsOidcProviders) {
  auto c = ParseAztpdConfig(R"(
oidc:
  providers:
    - name: corp
      issuer: https://login.example.com
      client_id: aztpd-org-a
      client_secret_file: /etc/aztpd/corp.secret
      ca_file: /etc/aztpd/corp-ca.pem
      algorithms: [RS256, EdDSA]
      accepted_acr: [mfa]
      max_auth_age: 1h
      keys_min_refresh: 5s
      exchange_max_token_age: 2m
      exchange_clients:
        - client_id: travel-app
          agents: [spiffe://org-a.example/agents/a, aztp://org-a.example/b]
)");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  ASSERT_EQ(c->oidc_providers.size(), 1u);
  const OidcProviderEntry& p = c->oidc_providers[0];
  EXPECT_EQ(p.name, "corp");
  EXPECT_EQ(p.issuer, "https://login.example.com");
  EXPECT_EQ(p.client_id, "aztpd-org-a");
  EXPECT_EQ(p.client_secret_file, "/etc/aztpd/corp.secret");
  EXPECT_EQ(p.ca_file, "/etc/aztpd/corp-ca.pem");
  EXPECT_EQ(p.algorithms, (std::vector<std::string>{"RS256", "EdDSA"}));
  EXPECT_EQ(p.accepted_acr, std::vector<std::string>{"mfa"});
  EXPECT_EQ(p.max_auth_age_seconds, 3600);
  EXPECT_EQ(p.keys_min_refresh_seconds, 5);
  EXPECT_EQ(p.exchange_max_token_age_seconds, 120);
  ASSERT_EQ(p.exchange_clients.size(), 1u);
  EXPECT_EQ(p.exchange_clients[0].client_id, "travel-app");
  EXPECT_EQ(p.exchange_clients[0].agents.size(), 2u);
}

// private_key_jwt or client_secret_basic, from files whose content never
// appears in an error.
TEST(AztpdConfig, ResolvesTheClientAuthenticationFromFiles) {
  test_support::TempDir dir;
  auto key = *PrivateKey::Generate(KeyType::kEcP256);
  auto pem = *key.ToPkcs8Pem();
  ASSERT_TRUE(
      WriteFile(dir.File("key.pem"), pem.View(InsecureSecretAccess::Get()))
          .has_value());
  ASSERT_TRUE(WriteFile(dir.File("secret"), "s3cret-line\n").has_value());
  ASSERT_TRUE(WriteFile(dir.File("bad.pem"), "not-a-key-Zm9vYmFy").has_value());
  auto entry = [&](const std::string& secret, const std::string& key_file) {
    OidcProviderEntry e;
    e.name = "corp";
    e.issuer = "https://login.example.com";
    e.client_id = "aztpd";
    e.client_secret_file = secret;
    e.private_key_file = key_file;
    return e;
  };
  FixedClock clock(1'800'000'000);
  for (const auto& e : {entry(dir.File("secret"), ""),
                        entry("", dir.File("key.pem")), entry("", "")}) {
    auto resolved = ResolveOidcProviders({e}, &clock);
    ASSERT_TRUE(resolved.has_value()) << resolved.error().message();
    EXPECT_EQ(resolved->at(0).name, "corp");
  }
  auto bad = ResolveOidcProviders({entry("", dir.File("bad.pem"))}, &clock);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("bad.pem"), std::string::npos);
  EXPECT_EQ(bad.error().message().find("Zm9vYmFy"), std::string::npos);
  // One authentication, and a key ID only with a key.
  AztpdConfig c;
  c.oidc_providers = {entry("", dir.File("key.pem"))};
  c.oidc_providers[0].private_key_id = "k1";
  ASSERT_TRUE(ValidateAztpdConfig(c).has_value());
  OidcProviderEntry both = entry(dir.File("secret"), dir.File("key.pem"));
  c.oidc_providers = {both};
  auto v = ValidateAztpdConfig(c);
  ASSERT_FALSE(v.has_value());
  EXPECT_NE(v.error().message().find("private_key_file"), std::string::npos);
  OidcProviderEntry lone_id = entry("", "");
  lone_id.private_key_id = "k1";
  c.oidc_providers = {lone_id};
  EXPECT_FALSE(ValidateAztpdConfig(c).has_value());
  // Ranges hold for an entry not read from a file.
  OidcProviderEntry zero = entry("", "");
  zero.keys_min_refresh_seconds = 0;
  c.oidc_providers = {zero};
  EXPECT_FALSE(ValidateAztpdConfig(c).has_value());
  zero.keys_min_refresh_seconds = 60;
  zero.exchange_max_token_age_seconds = 59;
  c.oidc_providers = {zero};
  EXPECT_FALSE(ValidateAztpdConfig(c).has_value());
}

TEST(AztpdConfig, RefusesOidcProvidersItCannotTrust) {
  const std::string good =
      "oidc:\n  providers:\n"
      "    - name: corp\n      issuer: https://login.example.com\n"
      "      client_id: c\n";
  ASSERT_TRUE(ParseAztpdConfig(good).has_value());
  struct Case {
    std::string yaml;
    std::string path;  // the message starts with it
  };
  const Case cases[] = {
      {"oidc:\n  providers:\n    - name: Corp\n      issuer: "
       "https://l.example\n      client_id: c\n",
       "oidc.providers[0].name"},
      {"oidc:\n  providers:\n    - name: corp\n      issuer: "
       "http://l.example\n      client_id: c\n",
       "oidc.providers[0].issuer"},
      {"oidc:\n  providers:\n    - name: corp\n      issuer: "
       "http://127.0.0.1:9\n      client_id: c\n",
       "oidc.providers[0].issuer"},
      {"oidc:\n  providers:\n    - name: corp\n      issuer: "
       "https://l.example\n",
       "oidc.providers[0].client_id"},
      {"oidc:\n  providers:\n    - name: corp\n      issuer: "
       "https://l.example\n      client_id: c\n      algorithms: [HS256]\n",
       "oidc.providers[0].algorithms[0]"},
      {"oidc:\n  providers:\n    - name: corp\n      issuer: "
       "https://l.example\n      client_id: c\n      algorithms: [none]\n",
       "oidc.providers[0].algorithms[0]"},
      {"oidc:\n  providers:\n    - name: corp\n      issuer: "
       "https://l.example\n      client_id: c\n"
       "      exchange_max_token_age: 59s\n",
       "oidc.providers[0].exchange_max_token_age"},
      {"oidc:\n  providers:\n    - name: corp\n      issuer: "
       "https://l.example\n      client_id: c\n      exchange_clients:\n"
       "        - client_id: app\n          agents: [spiffe://org-a.example]\n",
       "oidc.providers[0].exchange_clients[0].agents[0]"},
      {"oidc:\n  providers:\n    - name: corp\n      issuer: "
       "https://l.example\n      client_id: c\n      exchange_clients:\n"
       "        - client_id: app\n",
       "oidc.providers[0].exchange_clients[0].agents"},
      {"oidc:\n  providers:\n    - name: corp\n      issuer: "
       "https://l.example\n      client_id: c\n      exchange_clients:\n"
       "        - client_id: c\n          agents: [spiffe://a.example/x]\n",
       "oidc.providers[0].exchange_clients[0].client_id"},
      {good + "    - name: corp\n      issuer: https://m.example\n"
              "      client_id: c\n",
       "oidc.providers[1].name"},
      {good + "    - name: other\n      issuer: https://login.example.com\n"
              "      client_id: c\n",
       "oidc.providers[1].issuer"},
  };
  for (const Case& k : cases) {
    auto r = ParseAztpdConfig(k.yaml);
    ASSERT_FALSE(r.has_value()) << k.yaml;
    EXPECT_EQ(r.error().message().rfind(k.path, 0), 0u) << k.yaml << "\n"
                                                        << r.error().message();
  }
  auto typo = ParseAztpdConfig(good + "      client_secret: hunter2\n");
  ASSERT_FALSE(typo.has_value());
  EXPECT_EQ(typo.error().code(), Code::kMalformed);
  // The unknown key is named; its value (a secret, here) is not repeated.
  EXPECT_EQ(typo.error().message().find("hunter2"), std::string::npos);
}

}  // namespace aztp

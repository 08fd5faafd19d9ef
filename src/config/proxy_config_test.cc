#include "aztp/config/proxy_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "aztp/base/file.h"
#include "testing/source_dir.h"
#include "testing/temp_dir.h"

namespace aztp {
namespace {

// The sections of a valid file; each case below changes one of them.
constexpr const char* kIdentity =
    "identity: spiffe://org-b.example/tools/payments\n";
constexpr const char* kControlPlane =
    "control_plane:\n"
    "  url: https://127.0.0.1:8443\n"
    "  bundle_file: /etc/aztp/bundle.json\n";
constexpr const char* kInbound =
    "inbound:\n"
    "  listen: 127.0.0.1:9443\n"
    "  upstream: http://127.0.0.1:8080\n"
    "  routes:\n"
    "    - {path: /quote, action: \"payments:quote\"}\n";
constexpr const char* kEgress = "egress:\n  listen: 127.0.0.1:9080\n";
constexpr const char* kAudit = "audit:\n  db: /var/lib/aztp-proxy/audit.db\n";

// Doc is a file made of the sections above; a member can be replaced or
// extended (a nested key is appended to its section).
struct Doc {
  std::string identity = kIdentity;
  std::string control_plane = kControlPlane;
  std::string inbound = kInbound;
  std::string egress = kEgress;
  std::string audit = kAudit;
  std::string extra;

  std::string Text() const {
    return identity + control_plane + inbound + egress + audit + extra;
  }
};

std::string Top(const std::string& lines) {
  Doc d;
  d.extra = lines;
  return d.Text();
}
std::string ControlPlane(const std::string& lines) {
  Doc d;
  d.control_plane += lines;
  return d.Text();
}
std::string Inbound(const std::string& lines) {
  Doc d;
  d.inbound += lines;
  return d.Text();
}
std::string Egress(const std::string& lines) {
  Doc d;
  d.egress += lines;
  return d.Text();
}
std::string Audit(const std::string& lines) {
  Doc d;
  d.audit += lines;
  return d.Text();
}
// Routes replaces the inbound routes by `items` (one flow mapping each).
std::string Routes(const std::vector<std::string>& items) {
  Doc d;
  d.inbound =
      "inbound:\n  listen: 127.0.0.1:9443\n"
      "  upstream: http://127.0.0.1:8080\n  routes:\n";
  for (const auto& item : items) d.inbound += "    - " + item + "\n";
  return d.Text();
}
std::string Upstream(const std::string& url) {
  Doc d;
  d.inbound = "inbound:\n  listen: 127.0.0.1:9443\n  upstream: \"" + url +
              "\"\n  routes:\n    - {path: /a, action: a}\n";
  return d.Text();
}
std::string Url(const std::string& url) {
  Doc d;
  d.control_plane = "control_plane:\n  url: \"" + url +
                    "\"\n  bundle_file: /etc/aztp/bundle.json\n";
  return d.Text();
}
std::string RoutePath(const std::string& path) {
  return Routes({"{path: \"" + path + "\", action: a}"});
}
std::string RootCapabilities(const std::string& list) {
  return Egress("  root_capabilities: " + list + "\n");
}

// ExpectDefaults checks every top-level value a file did not set.
void ExpectDefaults(const ProxyConfig& c) {
  const ProxyConfig d;
  EXPECT_EQ(c.control_plane.api_key_file, "");
  EXPECT_EQ(c.control_plane.bundle_refresh_seconds, 300);
  EXPECT_EQ(c.control_plane.revocation_refresh_seconds, 60);
  EXPECT_EQ(c.control_plane.policy_refresh_seconds, 30);
  EXPECT_EQ(c.control_plane.revocation_max_staleness_seconds, 300);
  EXPECT_FALSE(c.control_plane.revocation_fail_open);
  EXPECT_EQ(c.handshake_timeout_seconds, d.handshake_timeout_seconds);
  EXPECT_EQ(c.metrics_listen, "");
  EXPECT_EQ(c.audit.ship_interval_seconds, 5);
  EXPECT_EQ(c.audit.ship_batch, 200);
  EXPECT_EQ(c.threads, d.threads);
  EXPECT_EQ(c.max_connections, d.max_connections);
  EXPECT_EQ(c.max_header_bytes, d.max_header_bytes);
  EXPECT_EQ(c.max_body_bytes, d.max_body_bytes);
  EXPECT_EQ(c.connect_timeout_seconds, d.connect_timeout_seconds);
  EXPECT_EQ(c.request_timeout_seconds, d.request_timeout_seconds);
  EXPECT_EQ(c.idle_timeout_seconds, d.idle_timeout_seconds);
  EXPECT_EQ(c.stream_idle_timeout_seconds, d.stream_idle_timeout_seconds);
  EXPECT_EQ(c.upstream_pool_size, d.upstream_pool_size);
  EXPECT_EQ(c.grace_seconds, d.grace_seconds);
  EXPECT_EQ(c.skew_seconds, d.skew_seconds);
  EXPECT_EQ(c.replay_capacity, d.replay_capacity);
  EXPECT_EQ(c.log_level, d.log_level);
  EXPECT_EQ(c.log_format, d.log_format);
}

TEST(ProxyConfig, ReadsEveryKey) {
  auto c = ParseProxyConfig(R"(
identity: spiffe://org-b.example/tools/payments
control_plane:
  url: https://aztpd.org-b.example:8443
  bundle_file: /etc/aztp/bundle.json
  api_key_file: /etc/aztp/api-key
  bundle_refresh: 10m
  revocation_refresh: 2m
  policy_refresh: 45s
  revocation_max_staleness: 1h
  revocation_fail_open: true
inbound:
  listen: "[::]:9443"
  upstream: http://[::1]:8080/
  policy_file: /etc/aztp/policy.json
  require_request_binding: true
  person_issuers:
    org-a.example: [https://login.org-a.example, https://corp.example.org]
    org-c.example: ["*"]
  routes:
    - {method: POST, path: /quote, action: "payments:quote", resource: quotes}
    - {path: "/files/**", action: "files:read"}
    - method: GET
      path: /orders/*/items
      action: orders:read
      resource: "orders/*"
    - {path: /, action: "site:home"}
egress:
  listen: 127.0.0.1:9080
  root_capabilities: ["research:query", "payments:*"]
  root_ttl: 10m
  max_depth: 3
audit:
  db: /var/lib/aztp-proxy/audit.db
  ship_interval: 10s
  ship_batch: 500
threads: 8
max_connections: 65536
max_header_bytes: 32768
max_body_bytes: 1099511627776
metrics_listen: "[::1]:9091"
connect_timeout: 3s
handshake_timeout: 2s
request_timeout: 2m
idle_timeout: 90s
upstream_pool_size: 0
grace: 0s
skew: 1m
replay_capacity: 4096
log_level: debug
log_format: json
)");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->identity, "spiffe://org-b.example/tools/payments");
  EXPECT_EQ(c->control_plane.url, "https://aztpd.org-b.example:8443");
  EXPECT_EQ(c->control_plane.bundle_file, "/etc/aztp/bundle.json");
  EXPECT_EQ(c->control_plane.api_key_file, "/etc/aztp/api-key");
  EXPECT_EQ(c->control_plane.bundle_refresh_seconds, 600);
  EXPECT_EQ(c->control_plane.revocation_refresh_seconds, 120);
  EXPECT_EQ(c->control_plane.revocation_max_staleness_seconds, 3600);
  EXPECT_TRUE(c->control_plane.revocation_fail_open);
  EXPECT_EQ(c->handshake_timeout_seconds, 2);
  EXPECT_EQ(c->metrics_listen, "[::1]:9091");
  EXPECT_EQ(c->control_plane.policy_refresh_seconds, 45);

  ASSERT_TRUE(c->inbound.has_value());
  const ProxyConfig::Inbound& in = *c->inbound;
  EXPECT_EQ(in.listen, "[::]:9443");
  EXPECT_EQ(in.upstream, "http://[::1]:8080/");
  EXPECT_EQ(in.policy_file, "/etc/aztp/policy.json");
  EXPECT_TRUE(in.require_request_binding);
  ASSERT_EQ(in.person_issuers.size(), 2u);
  EXPECT_EQ(in.person_issuers.at("org-a.example"),
            (std::vector<std::string>{"https://login.org-a.example",
                                      "https://corp.example.org"}));
  EXPECT_EQ(in.person_issuers.at("org-c.example"),
            std::vector<std::string>{"*"});
  ASSERT_EQ(in.routes.size(), 4u);
  EXPECT_EQ(in.routes[0].method, "POST");
  EXPECT_EQ(in.routes[0].path, "/quote");
  EXPECT_EQ(in.routes[0].action, "payments:quote");
  EXPECT_EQ(in.routes[0].resource, "quotes");
  EXPECT_EQ(in.routes[1].method, "*");
  EXPECT_EQ(in.routes[1].path, "/files/**");
  EXPECT_EQ(in.routes[1].action, "files:read");
  EXPECT_EQ(in.routes[1].resource, "*");
  EXPECT_EQ(in.routes[2].method, "GET");
  EXPECT_EQ(in.routes[2].path, "/orders/*/items");
  EXPECT_EQ(in.routes[2].action, "orders:read");
  EXPECT_EQ(in.routes[2].resource, "orders/*");
  EXPECT_EQ(in.routes[3].path, "/");

  ASSERT_TRUE(c->egress.has_value());
  EXPECT_EQ(c->egress->listen, "127.0.0.1:9080");
  EXPECT_EQ(c->egress->root_capabilities,
            (std::vector<std::string>{"research:query", "payments:*"}));
  EXPECT_EQ(c->egress->root_ttl_seconds, 600);
  EXPECT_EQ(c->egress->max_depth, 3);

  EXPECT_EQ(c->audit.db, "/var/lib/aztp-proxy/audit.db");
  EXPECT_EQ(c->audit.ship_interval_seconds, 10);
  EXPECT_EQ(c->audit.ship_batch, 500);
  EXPECT_EQ(c->threads, 8);
  EXPECT_EQ(c->max_connections, 65536);
  EXPECT_EQ(c->max_header_bytes, 32768u);
  EXPECT_EQ(c->max_body_bytes, int64_t{1} << 40);
  EXPECT_EQ(c->connect_timeout_seconds, 3);
  EXPECT_EQ(c->request_timeout_seconds, 120);
  EXPECT_EQ(c->idle_timeout_seconds, 90);
  EXPECT_EQ(c->upstream_pool_size, 0);
  EXPECT_EQ(c->grace_seconds, 0);
  EXPECT_EQ(c->skew_seconds, 60);
  EXPECT_EQ(c->replay_capacity, 4096u);
  EXPECT_EQ(c->log_level, LogLevel::kDebug);
  EXPECT_EQ(c->log_format, LogFormat::kJson);
}

TEST(ProxyConfig, MinimalEgressFileKeepsTheDefaults) {
  Doc d;
  d.inbound.clear();
  auto c = ParseProxyConfig(d.Text());
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->identity, "spiffe://org-b.example/tools/payments");
  EXPECT_EQ(c->control_plane.url, "https://127.0.0.1:8443");
  EXPECT_FALSE(c->inbound.has_value());
  ASSERT_TRUE(c->egress.has_value());
  EXPECT_EQ(c->egress->listen, "127.0.0.1:9080");
  EXPECT_TRUE(c->egress->root_capabilities.empty());
  EXPECT_EQ(c->egress->root_ttl_seconds, 300);
  EXPECT_FALSE(c->egress->max_depth.has_value());
  EXPECT_EQ(c->audit.db, "/var/lib/aztp-proxy/audit.db");
  ExpectDefaults(*c);
}

TEST(ProxyConfig, MinimalInboundFileKeepsTheDefaults) {
  Doc d;
  d.egress.clear();
  auto c = ParseProxyConfig(d.Text());
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_FALSE(c->egress.has_value());
  ASSERT_TRUE(c->inbound.has_value());
  EXPECT_EQ(c->inbound->policy_file, "");
  EXPECT_FALSE(c->inbound->require_request_binding);
  EXPECT_TRUE(c->inbound->person_issuers.empty());
  ASSERT_EQ(c->inbound->routes.size(), 1u);
  EXPECT_EQ(c->inbound->routes[0].method, "*");
  EXPECT_EQ(c->inbound->routes[0].resource, "*");
  ExpectDefaults(*c);
}

TEST(ProxyConfig, ExampleFileParses) {
  auto c = LoadProxyConfig(std::string(test_support::SourceDir()) +
                           "/docs/proxy.example.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->identity, "spiffe://org-b.example/tools/payments");
  ASSERT_TRUE(c->inbound.has_value());
  EXPECT_FALSE(c->inbound->routes.empty());
  ASSERT_TRUE(c->egress.has_value());
  EXPECT_FALSE(c->egress->root_capabilities.empty());
  // The example sets every optional value to its default.
  EXPECT_EQ(c->egress->root_ttl_seconds,
            ProxyConfig::Egress{}.root_ttl_seconds);
  EXPECT_FALSE(c->inbound->require_request_binding);
  ExpectDefaults(*c);
}

TEST(ProxyConfig, ZeroDurationsWhereZeroIsInRange) {
  auto c = ParseProxyConfig(Top("grace: 0m\nskew: 0s\n"));
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->grace_seconds, 0);
  EXPECT_EQ(c->skew_seconds, 0);
}

struct BadCase {
  std::string yaml;
  Code code;
  const char* message_prefix;  // the key path first
};

// ExpectRejected checks each case's code (by its reason, which reads
// better in a failure) and the start of its message.
void ExpectRejected(const std::vector<BadCase>& cases) {
  using testing::HasSubstr;
  using testing::Not;
  using testing::StartsWith;
  for (const auto& bad : cases) {
    SCOPED_TRACE(bad.yaml);
    auto c = ParseProxyConfig(bad.yaml);
    ASSERT_FALSE(c.has_value());
    const std::string& message = c.error().message();
    EXPECT_EQ(c.error().reason(), ReasonString(bad.code)) << message;
    EXPECT_THAT(message, StartsWith(bad.message_prefix));
    EXPECT_THAT(message, Not(HasSubstr("\n")));
  }
}

TEST(ProxyConfig, UnknownRepeatedAndMistypedKeysAreMalformed) {
  const Code m = Code::kMalformed;
  ExpectRejected({
      {Top("lisen: x\n"), m, "lisen: unknown key"},
      {Top("threads: 2\nthreads: 3\n"), m, "threads: repeated key"},
      {Top("egress:\n  listen: 127.0.0.1:1\n"), m, "egress: repeated key"},
      {ControlPlane("  url: https://a:1\n"), m, "control_plane.url: repeated"},
      {ControlPlane("  refresh: 1m\n"), m, "control_plane.refresh: unknown"},
      {Audit("  path: /x\n"), m, "audit.path: unknown key"},
      {Routes({"{path: /a, action: a, verb: GET}"}), m,
       "inbound.routes[0].verb: unknown key"},
      {Top("threads: two\n"), m, "threads: must be"},
      {Top("threads: \"4\"\n"), m, "threads: must be an integer"},
      {Top("max_body_bytes: -1\n"), m, "max_body_bytes: must be"},
      {Top("replay_capacity: 0x400\n"), m, "replay_capacity: must be"},
      {Top("identity: [a]\n"), m, "identity: repeated key"},
      {Doc{"identity: [a]\n"}.Text(), m, "identity: must be a string"},
      {Inbound("  require_request_binding: yes\n"), m,
       "inbound.require_request_binding: must be true or false"},
      {Inbound("  require_request_binding: \"true\"\n"), m,
       "inbound.require_request_binding: must be true or false"},
      {Doc{.inbound = "inbound:\n  routes: {path: /a}\n"}.Text(), m,
       "inbound.routes: must be a list"},
      {Routes({"a"}), m, "inbound.routes[0]: must be a mapping"},
      {RootCapabilities("research:query"), m,
       "egress.root_capabilities: must be a list"},
      {RootCapabilities("[[a]]"), m, "egress.root_capabilities[0]: must be"},
      {Doc{.egress = "egress: [a]\n"}.Text(), m, "egress: must be a mapping"},
      {ControlPlane("  bundle_refresh: {a: 1}\n"), m,
       "control_plane.bundle_refresh: must be a duration"},
      {Egress("  max_depth: 1.5\n"), m, "egress.max_depth: must be"},
      {Inbound("  person_issuers: [a]\n"), m,
       "inbound.person_issuers: must be a mapping"},
      {Inbound("  person_issuers: {org-a.example: https://x}\n"), m,
       "inbound.person_issuers.org-a.example: must be a list"},
      {Inbound("  person_issuers: {a.example: [x], a.example: [y]}\n"), m,
       "inbound.person_issuers.a.example: repeated key"},
  });
}

TEST(ProxyConfig, PersonIssuersAreCheckedAsTheVerifierChecksThem) {
  const Code i = Code::kInvalidArgument;
  ExpectRejected({
      {Inbound("  person_issuers: {Org-A.example: [https://x]}\n"), i,
       "inbound.person_issuers: person issuers: "},
      {Inbound("  person_issuers: {org-a.example: [\"https://x#y\"]}\n"), i,
       "inbound.person_issuers: person issuers of org-a.example"},
      {Inbound("  person_issuers: {org-a.example: [\"\"]}\n"), i,
       "inbound.person_issuers: person issuers of org-a.example"},
  });
}

TEST(ProxyConfig, OutOfRangeValuesAreInvalidArguments) {
  const Code i = Code::kInvalidArgument;
  ExpectRejected({
      {ControlPlane("  bundle_refresh: 300\n"), i,
       "control_plane.bundle_refresh: must be a duration"},
      {ControlPlane("  bundle_refresh: 2d\n"), i,
       "control_plane.bundle_refresh: must be between 1s and 1d"},
      {ControlPlane("  revocation_refresh: 25h\n"), i,
       "control_plane.revocation_refresh: must be between"},
      {ControlPlane("  policy_refresh: 0s\n"), i,
       "control_plane.policy_refresh: must be a duration"},
      {Top("threads: 0\n"), i, "threads: must be between 1 and 64"},
      {Top("threads: 65\n"), i, "threads: must be between 1 and 64"},
      {Top("max_connections: 65537\n"), i, "max_connections: must be between"},
      {Top("max_header_bytes: 1023\n"), i, "max_header_bytes: must be between"},
      {Top("max_header_bytes: 1048577\n"), i, "max_header_bytes: "},
      {Top("max_body_bytes: 1099511627777\n"), i,
       "max_body_bytes: must be between 0 and 1099511627776"},
      {Top("max_body_bytes: 9999999999999999999\n"), i,
       "max_body_bytes: is out of range"},
      {Top("connect_timeout: 6m\n"), i,
       "connect_timeout: must be between 1s and 5m"},
      {Top("request_timeout: 2h\n"), i, "request_timeout: must be between"},
      {Top("metrics_listen: 0.0.0.0:9091\n"), i,
       "metrics_listen: must be a loopback"},
      {Top("handshake_timeout: 6m\n"), i,
       "handshake_timeout: must be between 1s and 5m"},
      {ControlPlane("  revocation_max_staleness: 59s\n"), i,
       "control_plane.revocation_max_staleness: must be between 1m and 1d"},
      {ControlPlane("  revocation_refresh: 5m\n"), i,
       "control_plane.revocation_max_staleness: must be longer than "
       "control_plane.revocation_refresh (300s)"},
      {ControlPlane("  revocation_fail_open: maybe\n"), Code::kMalformed,
       "control_plane.revocation_fail_open: must be"},
      {Top("idle_timeout: 0s\n"), i, "idle_timeout: must be a duration"},
      {Top("idle_timeout: 61m\n"), i, "idle_timeout: must be between"},
      {Top("upstream_pool_size: 1025\n"), i, "upstream_pool_size: "},
      {Top("grace: 6m\n"), i, "grace: must be between 0s and 5m"},
      {Top("grace: 00s\n"), i, "grace: must be a duration"},
      {Top("skew: 301s\n"), i, "skew: must be between 0s and 5m"},
      {Top("replay_capacity: 1023\n"), i, "replay_capacity: "},
      {Top("replay_capacity: 67108865\n"), i, "replay_capacity: "},
      {Audit("  ship_batch: 0\n"), i, "audit.ship_batch: must be between"},
      {Audit("  ship_batch: 501\n"), i, "audit.ship_batch: must be between"},
      {Audit("  ship_interval: 2h\n"), i, "audit.ship_interval: "},
      {Egress("  root_ttl: 61m\n"), i, "egress.root_ttl: must be between"},
      {Egress("  max_depth: 16\n"), i, "egress.max_depth: must be between"},
      {Top("log_level: loud\n"), i, "log_level: must be one"},
      {Top("log_format: xml\n"), i, "log_format: must be text or json"},
      {ControlPlane("  api_key_file: \"\"\n"), i,
       "control_plane.api_key_file: must not be empty"},
      {Inbound("  policy_file: \"a\\0b\"\n"), i,
       "inbound.policy_file: must not contain NUL"},
  });
}

TEST(ProxyConfig, ReadsTheControlPlaneReplicas) {
  auto c = ParseProxyConfig(
      ControlPlane("  failover_urls: [\"https://10.0.0.2:8443\", "
                   "\"https://cp-3.example:8443\"]\n"));
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->control_plane.failover_urls,
            (std::vector<std::string>{"https://10.0.0.2:8443",
                                      "https://cp-3.example:8443"}));
  const Code i = Code::kInvalidArgument;
  ExpectRejected({
      {ControlPlane("  failover_urls: [\"http://10.0.0.2:8443\"]\n"), i,
       "control_plane.failover_urls[0]: must be https://"},
      {ControlPlane("  failover_urls: [\"https://127.0.0.1:8443\"]\n"), i,
       "control_plane.failover_urls: repeats https://127.0.0.1:8443"},
      {ControlPlane("  failover_urls: [\"https://a:1\", \"https://a:1\"]\n"), i,
       "control_plane.failover_urls: repeats https://a:1"},
      {ControlPlane("  failover_urls: https://a:1\n"), Code::kMalformed,
       "control_plane.failover_urls: "},
  });
}

TEST(ProxyConfig, AgentProtocolRoutesGetTheirTemplates) {
  auto c = ParseProxyConfig(
      Routes(
          {"{path: /mcp, protocol: mcp, action: \"payments:mcp\"}",
           "{path: /a2a, protocol: a2a, action: \"planner:a2a\", "
           "method_action: \"planner:{method}\", agent_card: /etc/card.json}",
           "{path: /q, action: q}"}) +
      "stream_idle_timeout: 2h\n");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  const auto& r = c->inbound->routes;
  EXPECT_EQ(r[0].protocol, ProxyRoute::Protocol::kMcp);
  EXPECT_EQ(r[0].tool_action, "payments:mcp:tool:{name}");
  EXPECT_EQ(r[0].resource_action, "payments:mcp:resource:{name}");
  EXPECT_EQ(r[0].prompt_action, "payments:mcp:prompt:{name}");
  EXPECT_EQ(r[0].method_action, "payments:mcp:{method}");
  EXPECT_EQ(r[1].protocol, ProxyRoute::Protocol::kA2a);
  EXPECT_EQ(r[1].method_action, "planner:{method}");
  EXPECT_TRUE(r[1].tool_action.empty());
  EXPECT_EQ(r[1].agent_card, "/etc/card.json");
  EXPECT_EQ(r[2].protocol, ProxyRoute::Protocol::kHttp);
  EXPECT_EQ(c->stream_idle_timeout_seconds, 7200);
  const Code i = Code::kInvalidArgument;
  ExpectRejected({
      {Routes({"{path: /m, protocol: grpc, action: a}"}), i,
       "inbound.routes[0].protocol: must be http, mcp or a2a"},
      {Routes({"{path: /m, action: a, tool_action: \"a:{name}\"}"}), i,
       "inbound.routes[0].tool_action: is only for routes of protocol mcp"},
      {Routes({"{path: /m, protocol: a2a, action: a, "
               "prompt_action: \"a:{name}\"}"}),
       i,
       "inbound.routes[0].prompt_action: is only for routes of protocol mcp"},
      {Routes({"{path: /m, protocol: mcp, action: a, agent_card: /c.json}"}), i,
       "inbound.routes[0].agent_card: is only for routes of protocol a2a"},
      {Routes({"{path: /m, protocol: mcp, action: a, "
               "tool_action: \"a:tool:{method}\"}"}),
       i, "inbound.routes[0]: action template tool"},
      {Routes({"{path: /m, protocol: a2a, action: a, "
               "method_action: \"a:*:{method}\"}"}),
       i, "inbound.routes[0]: action template method"},
      {Routes({"{path: /a, protocol: a2a, action: a, agent_card: /c.json}",
               "{path: /b, protocol: a2a, action: b, agent_card: /d.json}"}),
       i, "inbound.routes[1].agent_card: repeats that of inbound.routes[0]"},
  });
}

TEST(ProxyConfig, BadValuesNameTheirKey) {
  const Code i = Code::kInvalidArgument;
  ExpectRejected({
      {Doc{"identity: spiffe://org-b.example\n"}.Text(), i,
       "identity: must be the SPIFFE ID of a workload"},
      {Doc{"identity: https://org-b.example/x\n"}.Text(), i, "identity: "},
      {Doc{"identity: \"\"\n"}.Text(), i, "identity: must not be empty"},
      {Url("http://127.0.0.1:8443"), i, "control_plane.url: must be https://"},
      {Url("https://127.0.0.1"), i, "control_plane.url: must be https://"},
      {Url("https://a.example:8443/v1"), i, "control_plane.url: "},
      {Url("https://a.example:0"), i, "control_plane.url: "},
      {Url("https://a.example:99999"), i, "control_plane.url: "},
      {Url("https://user@a.example:1"), i, "control_plane.url: "},
      {Url("https://[nope]:1"), i, "control_plane.url: "},
      {Upstream("http://10.0.0.1:8080"), i, "inbound.upstream: must be http"},
      {Upstream("https://127.0.0.1:8080"), i, "inbound.upstream: "},
      {Upstream("http://127.0.0.1:8080/app"), i, "inbound.upstream: "},
      {Upstream("http://127.0.0.1"), i, "inbound.upstream: "},
      {Upstream("http://127.0.0.1:0"), i, "inbound.upstream: "},
      {Upstream("http://127.0.0.1:99999"), i, "inbound.upstream: "},
      {Upstream("http://::1:8080"), i, "inbound.upstream: "},
      {Inbound("  listen: 9443\n"), Code::kMalformed,
       "inbound.listen: repeated key"},
      {Doc{.inbound = "inbound:\n  listen: \"9443\"\n"}.Text(), i,
       "inbound.listen: must be host:port"},
      {Doc{.inbound = "inbound:\n  listen: 127.0.0.1:99999\n"}.Text(), i,
       "inbound.listen: must be host:port"},
      {Doc{.inbound = "inbound:\n  listen: \"[127.0.0.1]:9443\"\n"}.Text(), i,
       "inbound.listen: must be host:port"},
      {Doc{.egress = "egress:\n  listen: 0.0.0.0:9080\n"}.Text(), i,
       "egress.listen: must be a loopback address"},
      {Doc{.egress = "egress:\n  listen: localhost:9080\n"}.Text(), i,
       "egress.listen: must be a loopback address"},
      {Doc{.egress = "egress:\n  listen: 127.0.0.1:9443\n"}.Text(), i,
       "egress.listen: must differ from inbound.listen"},
      {Routes({"{path: /a, action: a}", "{path: /b, action: b}",
               "{path: /c, action: \"\"}"}),
       i, "inbound.routes[2].action: must not be empty"},
      {Routes({"{path: /a, action: \"a b\"}"}), i,
       "inbound.routes[0].action: must be printable ASCII without whitespace"},
      {Routes({"{path: /a, action: " + std::string(257, 'a') + "}"}), i,
       "inbound.routes[0].action: must be at most 256 bytes"},
      {Routes({"{path: /a, action: \"pay::x\"}"}), i,
       "inbound.routes[0].action: capability has an empty segment"},
      {Routes({"{path: /a, action: a, resource: \"x\\ty\"}"}), i,
       "inbound.routes[0].resource: must be printable ASCII"},
      {Routes({"{path: /a, action: a, method: get}"}), i,
       "inbound.routes[0].method: must be * or an HTTP method"},
      {Routes({"{path: /a, action: a, method: \"\"}"}), i,
       "inbound.routes[0].method: must not be empty"},
      {RoutePath("quote"), i, "inbound.routes[0].path: must start with '/'"},
      {RoutePath("/a//b"), i, "inbound.routes[0].path: must not have an empty"},
      {RoutePath("/a/"), i, "inbound.routes[0].path: must not have an empty"},
      {RoutePath("/**/a"), i,
       "inbound.routes[0].path: may have ** only as its last segment"},
      {RoutePath("/a*"), i,
       "inbound.routes[0].path: may have * and ** only as whole segments"},
      {RoutePath("/a?x=1"), i, "inbound.routes[0].path: must not contain '?'"},
      {RoutePath("/a#top"), i, "inbound.routes[0].path: must not contain"},
      {RoutePath("/a/../b"), i, "inbound.routes[0].path: must not have a ."},
      {RoutePath("/a b"), i, "inbound.routes[0].path: must be printable"},
      // A literal no request could be spelled as (finding 4: requests with
      // these spellings are refused before routing).
      {RoutePath("/files;v=1"), i,
       "inbound.routes[0].path: must be spelled as the proxy accepts"},
      {RoutePath("/a/%2e%2e"), i,
       "inbound.routes[0].path: must be spelled as the proxy accepts"},
      {RoutePath("/a\\\\b"), i,
       "inbound.routes[0].path: must be spelled as the proxy accepts"},
      {RoutePath("/%61dmin"), i,
       "inbound.routes[0].path: must be spelled as the proxy accepts"},
      {Routes({"{action: a}"}), i, "inbound.routes[0].path: is required"},
      {Routes({"{path: /a}"}), i, "inbound.routes[0].action: is required"},
      {Routes(
           {"{path: /a, action: a}", "{method: \"*\", path: /a, action: b}"}),
       i,
       "inbound.routes[1]: repeats the method and path of inbound.routes[0]"},
      {RootCapabilities("[\"research:query\", \"bad cap\"]"), i,
       "egress.root_capabilities[1]: capability"},
      {RootCapabilities("[\"a:*:b\"]"), i, "egress.root_capabilities[0]: "},
      {RootCapabilities("[a, b, a]"), i,
       "egress.root_capabilities[2]: repeats egress.root_capabilities[0]"},
  });
}

TEST(ProxyConfig, RequiredKeysAndSections) {
  const Code i = Code::kInvalidArgument;
  Doc no_identity;
  no_identity.identity.clear();
  Doc no_bundle;
  no_bundle.control_plane = "control_plane:\n  url: https://a.example:1\n";
  Doc no_control_plane;
  no_control_plane.control_plane.clear();
  Doc no_audit;
  no_audit.audit.clear();
  Doc neither;
  neither.inbound.clear();
  neither.egress.clear();
  ExpectRejected({
      {no_identity.Text(), i, "identity: is required"},
      {no_control_plane.Text(), i, "control_plane.url: is required"},
      {no_bundle.Text(), i, "control_plane.bundle_file: is required"},
      {no_audit.Text(), i, "audit.db: is required"},
      {neither.Text(), i,
       "configuration: needs an inbound or an egress section"},
      {Doc{.inbound = "inbound:\n"}.Text(), i, "inbound.listen: is required"},
      {Doc{.inbound = "inbound:\n  listen: 127.0.0.1:1\n"}.Text(), i,
       "inbound.upstream: is required"},
      {Doc{.inbound = "inbound:\n  listen: 127.0.0.1:1\n"
                      "  upstream: http://localhost:2\n"}
           .Text(),
       i, "inbound.routes: must have at least one route"},
      {Doc{.inbound = "inbound:\n  listen: 127.0.0.1:1\n"
                      "  upstream: http://localhost:2\n  routes: []\n"}
           .Text(),
       i, "inbound.routes: must have at least one route"},
      {Doc{.egress = "egress: {}\n"}.Text(), i, "egress.listen: is required"},
  });
}

TEST(ProxyConfig, FileLevelErrorsNameTheConfiguration) {
  const Code m = Code::kMalformed;
  ExpectRejected({
      {Top("# " + std::string(kMaxProxyConfigBytes, 'x') + "\n"),
       Code::kTooLarge, "configuration: larger than 64 KiB"},
      {"- a\n", m, "configuration: must be a mapping"},
      {"", Code::kInvalidArgument, "identity: is required"},
      {Top("---\nthreads: 3\n"), m, "configuration: holds more than one"},
      {"identity: [\n", m, "configuration: invalid YAML"},
      {",\n", m, "configuration: "},
      {Top(std::string("threads: 2\n\0", 12)), m,
       "configuration: contains a NUL byte"},
  });
}

TEST(ProxyConfig, LoadReadsTheFileAndNamesIt) {
  test_support::TempDir dir;
  const std::string path = dir.File("proxy.yaml");
  ASSERT_TRUE(WriteFile(path, Top("threads: 4\n")).has_value());
  auto good = LoadProxyConfig(path);
  ASSERT_TRUE(good.has_value()) << good.error().message();
  EXPECT_EQ(good->threads, 4);

  auto error_of = [](const std::string& file) {
    auto r = LoadProxyConfig(file);
    return r ? Error(Code::kInternal, "loaded") : r.error();
  };
  ASSERT_TRUE(WriteFile(path, Top("threads: 100\n")).has_value());
  EXPECT_EQ(error_of(path).message(),
            path + ": threads: must be between 1 and 64");
  EXPECT_EQ(error_of(dir.File("missing.yaml")).code(), Code::kIo);
  ASSERT_TRUE(
      WriteFile(path, std::string(kMaxProxyConfigBytes + 1, '#')).has_value());
  EXPECT_EQ(error_of(path).code(), Code::kTooLarge);
}

}  // namespace
}  // namespace aztp

namespace aztp {
namespace {

// `replay:` (docs/proxy.md, "Shared replay memory").
TEST(ProxyConfig, ReadsTheSharedReplayStore) {
  auto d = ParseProxyConfig(Top(""));
  ASSERT_TRUE(d.has_value()) << d.error().message();
  EXPECT_EQ(d->replay.backend, ProxyConfig::Replay::Backend::kMemory);
  auto c = ParseProxyConfig(Top(R"(replay:
  backend: redis
  redis:
    address: "[::1]:6380"
    username: proxy
    password_file: /etc/aztp-proxy/redis.password
    timeout_ms: 100
    on_unavailable: local
    key_prefix: "x:"
    connections: 8
    local_capacity: 0
)"));
  ASSERT_TRUE(c.has_value()) << c.error().message();
  const ProxyConfig::Replay& r = c->replay;
  EXPECT_EQ(r.backend, ProxyConfig::Replay::Backend::kRedis);
  EXPECT_EQ(r.address, "[::1]:6380");
  EXPECT_EQ(r.username, "proxy");
  EXPECT_EQ(r.password_file, "/etc/aztp-proxy/redis.password");
  EXPECT_EQ(r.timeout_ms, 100);
  EXPECT_FALSE(r.refuse_when_unavailable);
  EXPECT_EQ(r.key_prefix, "x:");
  EXPECT_EQ(r.connections, 8);
  EXPECT_EQ(r.local_capacity, 0u);
  auto o = ResolveRedisReplay(
      ProxyConfig::Replay{.backend = ProxyConfig::Replay::Backend::kRedis,
                          .address = "[::1]:6380"});
  ASSERT_TRUE(o.has_value()) << o.error().message();
  EXPECT_EQ(o->host, "::1");
  EXPECT_EQ(o->port, 6380);
  EXPECT_EQ(o->on_unavailable, RedisReplayOptions::OnUnavailable::kRefuse);
  ProxyConfig::Replay missing;
  missing.password_file = "/nonexistent/redis.password";
  EXPECT_FALSE(ResolveRedisReplay(missing).has_value());
}

TEST(ProxyConfig, RefusesABadSharedReplayStore) {
  for (const char* yaml : {
           "replay: {backend: memcached}\n",
           "replay: {redis: {address: localhost}}\n",
           "replay: {redis: {address: \"127.0.0.1:0\"}}\n",
           "replay: {redis: {timeout_ms: 0}}\n",
           "replay: {redis: {timeout_ms: 10001}}\n",
           "replay: {redis: {on_unavailable: ignore}}\n",
           "replay: {redis: {connections: 65}}\n",
           "replay: {redis: {password: hunter2}}\n",
       }) {
    auto c = ParseProxyConfig(Top(yaml));
    ASSERT_FALSE(c.has_value()) << yaml;
    EXPECT_NE(c.error().message().find("replay"), std::string::npos)
        << c.error().message();
    EXPECT_EQ(c.error().message().find("hunter2"), std::string::npos);
  }
}

}  // namespace
}  // namespace aztp

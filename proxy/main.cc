// aztp-proxy: the enforcement sidecar (docs/proxy.md). A thin shell over
// aztp::Proxy: it reads the configuration, bootstraps the agent's identity,
// opens the local audit log, starts the proxy and handles signals (TERM and
// INT stop gracefully, HUP reloads the configuration file).
//
//   aztp-proxy run --config FILE [--ready-file FILE]
//   aztp-proxy check --config FILE
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "aztp/base/file.h"
#include "aztp/base/lock_file.h"
#include "aztp/client/agent.h"
#include "aztp/client/client.h"
#include "aztp/config/proxy_config.h"
#include "aztp/proxy/proxy.h"
#include "aztp/store/store.h"
#include "logging.h"

namespace {

using aztp::Error;
using aztp::Json;
using aztp::Result;
using aztpd::Log;

// Refuse reports an error found before logging is set up (the
// configuration, the files it names), the same for `check` and `run`.
int Refuse(const Error& e) {
  std::cerr << "aztp-proxy: " << e.reason() << ": " << e.message() << "\n";
  return 1;
}

int Fail(const Error& e) {
  Log(spdlog::level::err, "fatal",
      Json{{"reason", e.reason()}, {"message", e.message()}});
  return 1;
}

// ApiKey reads the bootstrap key from the configured file, else from
// AZTP_API_KEY.
Result<aztp::SecretBytes> ApiKey(const aztp::ProxyConfig& c) {
  if (!c.control_plane.api_key_file.empty()) {
    // A trailing newline is not part of the key.
    auto key = aztp::ReadSecretLine(c.control_plane.api_key_file);
    if (!key) return key.error().WithContext("control_plane.api_key_file");
    return key;
  }
  const char* env = std::getenv("AZTP_API_KEY");
  if (env == nullptr || *env == '\0') {
    return Error(aztp::Code::kInvalidArgument,
                 "no API key: set control_plane.api_key_file or AZTP_API_KEY");
  }
  return aztp::SecretBytes(std::string_view(env));
}

// ReadBundle reads control_plane.bundle_file, the trust bundle the first
// contact with aztpd is verified against.
Result<aztp::Bundle> ReadBundle(const aztp::ProxyConfig& c) {
  auto text = aztp::ReadFile(c.control_plane.bundle_file);
  if (!text) return text.error().WithContext("control_plane.bundle_file");
  auto bundle = aztp::ParseBundleDocument(*text);
  if (!bundle) return bundle.error().WithContext("control_plane.bundle_file");
  return std::move(*bundle);
}

// CheckAuditDir: the audit database (and its lock beside it) is created in
// a folder that must exist and be writable.
aztp::Status CheckAuditDir(const std::string& db) {
  const auto slash = db.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : db.substr(0, slash);
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return Error(aztp::Code::kIo, "audit.db: cannot create files in " + dir +
                                      ": " + std::strerror(errno));
  }
  return aztp::Ok();
}

// Prepared is what `run` starts with once Prepare accepted it.
struct Prepared {
  aztp::ProxyConfig config;
  aztp::Bundle bundle;
  aztp::SecretBytes api_key;
};

// Prepare loads and checks everything `run` uses before it takes the audit
// lock, contacts aztpd or binds a listener: the configuration, the files
// it names (bundle, API key, policy file), the proxy's own checks
// (CheckProxyConfig) and the audit folder. `check` is Prepare alone, so
// that it accepts only what `run` would start with (docs/proxy.md).
Result<Prepared> Prepare(const std::string& config_path) {
  AZTP_ASSIGN_OR_RETURN(aztp::ProxyConfig config,
                        aztp::LoadProxyConfig(config_path));
  AZTP_RETURN_IF_ERROR(aztp::CheckProxyConfig(config));
  AZTP_ASSIGN_OR_RETURN(aztp::Bundle bundle, ReadBundle(config));
  AZTP_ASSIGN_OR_RETURN(aztp::SecretBytes key, ApiKey(config));
  AZTP_RETURN_IF_ERROR(CheckAuditDir(config.audit.db));
  return Prepared{std::move(config), std::move(bundle), std::move(key)};
}

// LockAudit makes this process the only proxy writing `db`: two would
// interleave two hash chains in one log. Held until the process ends.
Result<aztp::LockFile> LockAudit(const std::string& db) {
  return aztp::LockFile::Acquire(db + ".lock", "audit database " + db);
}

// Bootstrap obtains the proxy's first SVID from aztpd and starts the
// agent's background refresh.
Result<std::shared_ptr<aztp::Agent>> Bootstrap(Prepared& p) {
  const aztp::ProxyConfig& config = p.config;
  aztp::AgentOptions a;
  a.base_url = config.control_plane.url;
  a.failover_urls = config.control_plane.failover_urls;
  a.trust_bundle = std::make_shared<aztp::Bundle>(std::move(p.bundle));
  a.id = *aztp::SpiffeId::Parse(config.identity);
  a.api_key = std::move(p.api_key);
  a.bundle_refresh_seconds = config.control_plane.bundle_refresh_seconds;
  a.revocation_refresh_seconds =
      config.control_plane.revocation_refresh_seconds;
  a.on_change = [](const aztp::RefreshReport& r) {
    Log(spdlog::level::info, "identity refreshed",
        Json{{"renewed", r.renewed},
             {"bundle_changed", r.bundle_changed},
             {"revocations_changed", r.revocations_changed}});
  };
  auto agent = aztp::Agent::Create(std::move(a));
  if (!agent) return agent.error().WithContext("bootstrap");
  std::shared_ptr<aztp::Agent> shared(std::move(*agent));
  AZTP_RETURN_IF_ERROR(shared->Start());
  return shared;
}

// Serve waits for signals: HUP reloads the configuration, TERM and INT
// return.
void Serve(aztp::Proxy& proxy, const std::string& config_path,
           const sigset_t& signals) {
  while (true) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig != SIGHUP) return;
    auto reloaded = aztp::LoadProxyConfig(config_path);
    aztp::Status applied =
        reloaded ? proxy.Reload(*reloaded) : aztp::Status(reloaded.error());
    if (applied) {
      Log(spdlog::level::info, "configuration reloaded",
          Json{{"config", config_path}});
    } else {
      Log(spdlog::level::warn, "configuration not reloaded",
          Json{{"reason", applied.error().reason()},
               {"message", applied.error().message()}});
    }
  }
}

int Run(const std::string& config_path, const std::string& ready_file) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto prepared = Prepare(config_path);
  if (!prepared) return Refuse(prepared.error());
  const aztp::ProxyConfig& config = prepared->config;
  aztpd::InitLogging(config.log_level, config.log_format);
  auto lock = LockAudit(config.audit.db);
  if (!lock) return Fail(lock.error());
  auto store = aztp::OpenSqliteAuditLog(config.audit.db);
  if (!store) return Fail(store.error().WithContext("audit.db"));
  auto agent = Bootstrap(*prepared);
  if (!agent) return Fail(agent.error());

  aztp::ProxyDeps deps;
  deps.agent = *agent;
  deps.audit_store = std::shared_ptr<aztp::AuditLogStore>(std::move(*store));
  deps.control_plane_url = config.control_plane.url;
  deps.control_plane_failover_urls = config.control_plane.failover_urls;
  if (config.replay.backend == aztp::ProxyConfig::Replay::Backend::kRedis) {
    auto options = aztp::ResolveRedisReplay(config.replay);
    if (!options) return Fail(options.error().WithContext("replay.redis"));
    auto shared = aztp::RedisReplayStore::Open(std::move(*options));
    if (!shared) return Fail(shared.error().WithContext("replay.redis"));
    deps.shared_replay = std::move(*shared);
  }
  deps.log = [](aztp::LogLevel level, std::string_view event,
                const Json& fields) { Log(level, event, fields); };
  const int grace = config.grace_seconds;
  auto proxy = aztp::Proxy::Start(config, std::move(deps));
  if (!proxy) return Fail(proxy.error());
  // The ready file says "serving": removed when that stops being true, if
  // it is still the one this process wrote.
  std::optional<aztp::WrittenFile> ready;
  if (!ready_file.empty()) {
    Json ports{{"inbound_port", (*proxy)->inbound_port()},
               {"egress_port", (*proxy)->egress_port()},
               {"metrics_port", (*proxy)->metrics_port()}};
    auto w = aztp::WrittenFile::Write(ready_file, aztp::DumpJson(ports) + "\n");
    if (!w) return Fail(w.error());
    ready = std::move(*w);
  }
  Serve(**proxy, config_path, signals);
  if (ready) ready->Remove();
  Log(spdlog::level::info, "shutting down", Json{{"grace_seconds", grace}});
  (*proxy)->Shutdown(grace);
  (*agent)->Stop();
  auto stats = (*proxy)->stats();
  Log(spdlog::level::info, "stopped",
      Json{{"inbound_allowed", stats.inbound_allowed},
           {"inbound_denied", stats.inbound_denied},
           {"egress_sent", stats.egress_sent},
           {"malformed", stats.malformed},
           {"connections_refused", stats.connections_refused},
           {"revocations_stale_refusals", stats.revocations_stale_refusals},
           {"audit_acked", stats.audit_acked}});
  return 0;
}

// Check is `run` up to the audit lock, which it does not take: checking a
// new file while the proxy runs on it, before a HUP, is the common case.
int Check(const std::string& config_path) {
  auto prepared = Prepare(config_path);
  if (!prepared) return Refuse(prepared.error());
  std::cout << "configuration OK: " << prepared->config.identity << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"aztp-proxy: the AZTP enforcement sidecar (docs/proxy.md)"};
  app.require_subcommand(1);
  std::string config_path, ready_file;
  auto* run = app.add_subcommand("run", "serve until TERM or INT");
  run->add_option("--config", config_path, "configuration file")->required();
  run->add_option("--ready-file", ready_file,
                  "write the bound ports here as JSON once serving");
  auto* check = app.add_subcommand("check", "validate a configuration file");
  check->add_option("--config", config_path, "configuration file")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (check->parsed()) return Check(config_path);
  return Run(config_path, ready_file);
}

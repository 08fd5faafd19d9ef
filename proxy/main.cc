// aztp-proxy: the enforcement sidecar (docs/proxy.md). A thin shell over
// aztp::Proxy: it reads the configuration, bootstraps the agent's identity,
// opens the local audit log, starts the proxy and handles signals (TERM and
// INT stop gracefully, HUP reloads the configuration file).
//
//   aztp-proxy run --config FILE [--ready-file FILE]
//   aztp-proxy check --config FILE
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "aztp/base/file.h"
#include "aztp/client/agent.h"
#include "aztp/client/client.h"
#include "aztp/config/proxy_config.h"
#include "aztp/proxy/proxy.h"
#include "aztp/store/store.h"
#include "logging.h"

namespace {

using aztp::Error;
using aztp::Json;
using aztpd::Log;

int Fail(const Error& e) {
  Log(spdlog::level::err, "fatal",
      Json{{"reason", e.reason()}, {"message", e.message()}});
  return 1;
}

// ApiKey reads the bootstrap key from the configured file, else from
// AZTP_API_KEY.
aztp::Result<aztp::SecretBytes> ApiKey(const aztp::ProxyConfig& c) {
  if (!c.control_plane.api_key_file.empty()) {
    AZTP_ASSIGN_OR_RETURN(aztp::SecretBytes key,
                          aztp::ReadSecretFile(c.control_plane.api_key_file));
    // A trailing newline is not part of the key.
    std::string_view v = key.View(aztp::InsecureSecretAccess::Get());
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) {
      v.remove_suffix(1);
    }
    return aztp::SecretBytes(v);
  }
  const char* env = std::getenv("AZTP_API_KEY");
  if (env == nullptr || *env == '\0') {
    return Error(aztp::Code::kInvalidArgument,
                 "no API key: set control_plane.api_key_file or AZTP_API_KEY");
  }
  return aztp::SecretBytes(std::string_view(env));
}

int Run(const std::string& config_path, const std::string& ready_file) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto config = aztp::LoadProxyConfig(config_path);
  if (!config) {
    std::cerr << "aztp-proxy: " << config.error().message() << "\n";
    return 1;
  }
  aztpd::InitLogging(config->log_level, config->log_format);
  auto bundle_text = aztp::ReadFile(config->control_plane.bundle_file);
  if (!bundle_text) return Fail(bundle_text.error());
  auto bundle = aztp::ParseBundleDocument(*bundle_text);
  if (!bundle) return Fail(bundle.error().WithContext("control_plane.bundle"));
  auto key = ApiKey(*config);
  if (!key) return Fail(key.error());

  aztp::AgentOptions a;
  a.base_url = config->control_plane.url;
  a.trust_bundle = std::make_shared<aztp::Bundle>(std::move(*bundle));
  a.id = *aztp::SpiffeId::Parse(config->identity);
  a.api_key = std::move(*key);
  a.bundle_refresh_seconds = config->control_plane.bundle_refresh_seconds;
  a.revocation_refresh_seconds =
      config->control_plane.revocation_refresh_seconds;
  a.on_change = [](const aztp::RefreshReport& r) {
    Log(spdlog::level::info, "identity refreshed",
        Json{{"renewed", r.renewed},
             {"bundle_changed", r.bundle_changed},
             {"revocations_changed", r.revocations_changed}});
  };
  auto agent = aztp::Agent::Create(std::move(a));
  if (!agent) return Fail(agent.error().WithContext("bootstrap"));
  std::shared_ptr<aztp::Agent> shared_agent(std::move(*agent));
  if (auto started = shared_agent->Start(); !started) {
    return Fail(started.error());
  }
  auto store = aztp::OpenSqliteStore(config->audit.db);
  if (!store) return Fail(store.error().WithContext("audit.db"));

  aztp::ProxyDeps deps;
  deps.agent = shared_agent;
  deps.audit_store = std::shared_ptr<aztp::Store>(std::move(*store));
  deps.control_plane_url = config->control_plane.url;
  deps.log = [](aztp::LogLevel level, std::string_view event,
                const Json& fields) { Log(level, event, fields); };
  const int grace = config->grace_seconds;
  auto proxy = aztp::Proxy::Start(*config, std::move(deps));
  if (!proxy) return Fail(proxy.error());
  if (!ready_file.empty()) {
    Json ready{{"inbound_port", (*proxy)->inbound_port()},
               {"egress_port", (*proxy)->egress_port()},
               {"metrics_port", (*proxy)->metrics_port()}};
    if (auto w = aztp::WriteFile(ready_file, aztp::DumpJson(ready) + "\n");
        !w) {
      return Fail(w.error());
    }
  }
  while (true) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;
    auto reloaded = aztp::LoadProxyConfig(config_path);
    aztp::Status applied =
        reloaded ? (*proxy)->Reload(*reloaded) : aztp::Status(reloaded.error());
    if (applied) {
      Log(spdlog::level::info, "configuration reloaded",
          Json{{"config", config_path}});
    } else {
      Log(spdlog::level::warn, "configuration not reloaded",
          Json{{"reason", applied.error().reason()},
               {"message", applied.error().message()}});
    }
  }
  Log(spdlog::level::info, "shutting down", Json{{"grace_seconds", grace}});
  (*proxy)->Shutdown(grace);
  shared_agent->Stop();
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
  if (check->parsed()) {
    auto config = aztp::LoadProxyConfig(config_path);
    if (!config) {
      std::cerr << "aztp-proxy: " << config.error().message() << "\n";
      return 1;
    }
    std::cout << "configuration OK: " << config->identity << "\n";
    return 0;
  }
  return Run(config_path, ready_file);
}

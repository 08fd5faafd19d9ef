// aztpd: the control plane daemon, a thin process around ControlPlane
// (docs/aztpd.md).
//
//   aztpd init --data-dir DIR --trust-domain TD   create the CA and first
//                                                 admin API key (printed once)
//   aztpd run --data-dir DIR [--listen ADDR]      serve HTTPS; writes
//                                                 DIR/aztpd.url when ready
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "aztp/base/duration.h"
#include "aztp/base/file.h"
#include "aztp/controlplane/control_plane.h"
#include "aztp/http/http.h"
#include "aztp/store/store.h"
#include "aztp/tls/tls.h"

namespace {

using namespace aztp;

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;
constexpr int kExitUsage = 2;
constexpr int kExitIo = 3;

int Fail(const Error& e) {
  Json out{{"error", std::string(e.reason())}, {"message", e.message()}};
  std::cout << DumpJson(out) << std::endl;
  return e.code() == Code::kIo || e.code() == Code::kInternal ? kExitIo
                                                              : kExitInvalid;
}

std::string StorePath(const std::string& dir) { return dir + "/aztpd.db"; }

struct InitFlags {
  std::string data_dir;
  std::string trust_domain;
  std::string key_type = "ec-p256";
  std::string ca_ttl = "365d";
};

int Init(const InitFlags& f) {
  auto td = TrustDomain::Parse(f.trust_domain);
  if (!td) return Fail(td.error());
  CaOptions ca;
  auto kt = ParseKeyType(f.key_type);
  if (!kt) return Fail(kt.error());
  ca.key_type = *kt;
  auto ttl = ParseDuration(f.ca_ttl);
  if (!ttl) return Fail(ttl.error());
  ca.ttl_seconds = *ttl;
  if (::mkdir(f.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Fail(Error(Code::kIo, "cannot create " + f.data_dir + ": " +
                                     std::strerror(errno)));
  }
  auto store = OpenSqliteStore(StorePath(f.data_dir));
  if (!store) return Fail(store.error());
  auto init =
      ControlPlane::Initialize(**store, *td, ca, SystemClock::Default().Now());
  if (!init) return Fail(init.error());
  std::string bundle_path = f.data_dir + "/bundle.json";
  auto written =
      WriteFile(bundle_path, DumpJson(init->bundle.ToJson(), 2) + "\n");
  if (!written) return Fail(written.error());
  written = WriteFile(f.data_dir + "/bundle.pem",
                      ToPem(init->bundle.x509_authorities()));
  if (!written) return Fail(written.error());
  Json out{{"trust_domain", td->name()},
           {"admin_api_key", init->admin_api_key},
           {"bundle_path", bundle_path},
           {"store_path", StorePath(f.data_dir)}};
  std::cout << DumpJson(out) << std::endl;
  return kExitOk;
}

struct RunFlags {
  std::string data_dir;
  std::string listen = "127.0.0.1:8443";
  int threads = 2;
  int grace_seconds = 10;
};

int Run(const RunFlags& f) {
  // Block the stop signals before any thread starts; main waits for them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  auto store = OpenSqliteStore(StorePath(f.data_dir));
  if (!store) return Fail(store.error());
  std::shared_ptr<Store> shared(std::move(*store));
  auto cp = ControlPlane::Open(shared, ControlPlaneOptions{});
  if (!cp) return Fail(cp.error());
  auto ctx = MakeServerContext(*(*cp)->server_credentials(),
                               /*request_client_cert=*/true);
  if (!ctx) return Fail(ctx.error());
  http::ServerOptions options;
  options.listen = f.listen;
  options.threads = f.threads;
  std::shared_ptr<SSL_CTX> tls = *ctx;
  options.tls_context = [tls] { return tls; };
  options.bundles = (*cp)->bundles();
  ControlPlane* plane = cp->get();
  auto server = http::Server::Start(
      options, [plane](const http::Request& r) { return plane->Handle(r); });
  if (!server) return Fail(server.error());
  std::string host = f.listen.substr(0, f.listen.rfind(':'));
  std::string url = "https://" + host + ":" + std::to_string((*server)->port());
  auto written = WriteFile(f.data_dir + "/aztpd.url", url + "\n");
  if (!written) return Fail(written.error());
  spdlog::info("aztpd serving trust domain {} at {}",
               (*cp)->trust_domain().name(), url);
  int sig = 0;
  sigwait(&stop, &sig);
  spdlog::info("signal {}: shutting down (grace {}s)", sig, f.grace_seconds);
  ::unlink((f.data_dir + "/aztpd.url").c_str());
  (*server)->Shutdown(f.grace_seconds);
  (*server)->Wait();
  spdlog::info("aztpd stopped");
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"aztpd: the aztp control plane"};
  app.require_subcommand(1);
  InitFlags init_flags;
  auto* init = app.add_subcommand("init",
                                  "Create the trust domain's CA and "
                                  "the first admin API key");
  init->add_option("--data-dir", init_flags.data_dir, "state folder")
      ->required();
  init->add_option("--trust-domain", init_flags.trust_domain,
                   "e.g. org-a.example")
      ->required();
  init->add_option("--key-type", init_flags.key_type,
                   "CA key: ec-p256, ec-p384 or ed25519")
      ->capture_default_str();
  init->add_option("--ca-ttl", init_flags.ca_ttl, "CA lifetime")
      ->capture_default_str();
  RunFlags run_flags;
  auto* run = app.add_subcommand("run", "Serve the HTTPS API");
  run->add_option("--data-dir", run_flags.data_dir, "state folder")->required();
  run->add_option("--listen", run_flags.listen, "host:port (port 0: any)")
      ->capture_default_str();
  run->add_option("--threads", run_flags.threads, "worker threads")
      ->capture_default_str();
  run->add_option("--grace", run_flags.grace_seconds,
                  "seconds in-flight requests get at shutdown")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cout << DumpJson(Json{{"error", "usage"}, {"message", e.what()}})
              << std::endl;
    return kExitUsage;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("aztpd"));
  if (init->parsed()) return Init(init_flags);
  return Run(run_flags);
}

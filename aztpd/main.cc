// aztpd: the control plane daemon, a thin process around ControlPlane
// (docs/aztpd.md).
//
//   aztpd init [--config FILE] --data-dir DIR --trust-domain TD
//       create the CA and first admin API key (printed once)
//   aztpd run [--config FILE] --data-dir DIR [--listen ADDR]
//             [--bundle-listen ADDR]
//       serve HTTPS; writes DIR/aztpd.url when ready (and, with a
//       bundle_endpoint, DIR/aztpd.bundle.url before it)
//   aztpd run --dev [--data-dir DIR] [--listen ADDR]
//       zero-config development server on loopback: initialises DIR (or a
//       fresh temporary folder) on first use
//
// Settings come from the built-in defaults, then the configuration file,
// then (for run) --dev, then the command-line flags; the last one wins.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "aztp/base/duration.h"
#include "aztp/base/file.h"
#include "aztp/base/lock_file.h"
#include "aztp/compat/hosted_sdk.h"
#include "aztp/config/aztpd_config.h"
#include "aztp/controlplane/bundle_endpoint.h"
#include "aztp/controlplane/control_plane.h"
#include "aztp/http/address.h"
#include "aztp/http/http.h"
#include "aztp/store/store.h"
#include "logging.h"

namespace {

using namespace aztp;
using aztpd::Log;

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;
constexpr int kExitUsage = 2;
constexpr int kExitIo = 3;

constexpr const char* kDevTrustDomain = "dev.aztp.local";
constexpr const char* kDevListen = "127.0.0.1:8443";

// Fail prints `e` and returns its exit status: 3 for what lies outside the
// input (I/O, an internal failure, a data directory in use), else 1.
int Fail(const Error& e) {
  Json out{{"error", std::string(e.reason())}, {"message", e.message()}};
  std::cout << DumpJson(out) << std::endl;
  return e.code() == Code::kIo || e.code() == Code::kInternal ||
                 e.code() == Code::kUnavailable
             ? kExitIo
             : kExitInvalid;
}

int Usage(const std::string& message) {
  std::cout << DumpJson(Json{{"error", "usage"}, {"message", message}})
            << std::endl;
  return kExitUsage;
}

std::string StorePath(const std::string& dir) { return dir + "/aztpd.db"; }

// OpenStore opens the configured store (store.backend): the SQLite file in
// the data directory, or the PostgreSQL database that replicas share.
Result<std::unique_ptr<Store>> OpenStore(const AztpdConfig& c) {
  if (c.store.backend == StoreConfig::Backend::kPostgres) {
    AZTP_ASSIGN_OR_RETURN(PostgresStoreOptions options,
                          ResolvePostgresStore(c.store));
    return OpenPostgresStore(options);
  }
  return OpenSqliteStore(StorePath(c.data_dir));
}

// StoreName says where the store is, for people.
std::string StoreName(const AztpdConfig& c) {
  return c.store.backend == StoreConfig::Backend::kPostgres
             ? "postgres"
             : StorePath(c.data_dir);
}

// LockDataDir makes this process the only aztpd on `dir` for as long as the
// returned lock lives: two would share the store and each other's
// aztpd.url. Taken before anything in `dir` is written or removed. One
// fixed name, so that every aztpd on `dir` contends for the same file.
Result<LockFile> LockDataDir(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 && errno == ENOENT) {
    // Not "cannot open the lock": a new user's likely mistake is a typo or
    // a missing init.
    return Error(Code::kNotFound,
                 "data directory " + dir +
                     " does not exist (aztpd init --data-dir " + dir +
                     " creates it)");
  }
  return LockFile::Acquire(dir + "/aztpd.lock", "data directory " + dir);
}

// CreateDataDir creates `dir` with mode 0700 unless it exists.
Status CreateDataDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error(Code::kIo,
                 "cannot create " + dir + ": " + std::strerror(errno));
  }
  return Ok();
}

// WriteBundleFiles replaces DIR/bundle.json and DIR/bundle.pem, each
// atomically, so readers never see a partial file.
Status WriteBundleFiles(const std::string& dir, const Bundle& bundle) {
  AZTP_RETURN_IF_ERROR(
      WriteFile(dir + "/bundle.json", DumpJson(bundle.ToJson(), 2) + "\n"));
  return WriteFile(dir + "/bundle.pem", ToPem(bundle.x509_authorities()));
}

// InitDataDir creates the store in `c.data_dir`, whose lock the caller
// holds, with the trust domain's CA and first admin key, writes the bundle
// files, and returns what `init` prints (kAlreadyExists when the store was
// initialised before).
Result<Json> InitDataDir(const AztpdConfig& c, const LockFile& /*held*/) {
  AZTP_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(c));
  AZTP_ASSIGN_OR_RETURN(
      InitResult init,
      ControlPlane::Initialize(*store, *c.trust_domain, c.control_plane.ca,
                               SystemClock::Default().Now()));
  AZTP_RETURN_IF_ERROR(WriteBundleFiles(c.data_dir, init.bundle));
  return Json{
      {"trust_domain", c.trust_domain->name()},
      {"admin_api_key",
       std::string(init.admin_api_key.View(InsecureSecretAccess::Get()))},
      {"bundle_path", c.data_dir + "/bundle.json"},
      {"store_path", StoreName(c)}};
}

int Init(const AztpdConfig& c) {
  if (auto created = CreateDataDir(c.data_dir); !created) {
    return Fail(created.error());
  }
  auto lock = LockDataDir(c.data_dir);
  if (!lock) return Fail(lock.error());
  auto out = InitDataDir(c, *lock);
  if (!out) return Fail(out.error());
  std::cout << DumpJson(*out) << std::endl;
  return kExitOk;
}

// RewriteBundleFiles rewrites bundle.json and bundle.pem after a pass
// (`what`) that reports whether the bundle changed.
void RewriteBundleFiles(ControlPlane& plane, const std::string& data_dir,
                        const Result<bool>& changed, const char* what) {
  // The maintenance and refresh threads both write: one at a time, each
  // writing the bundle in force when it holds the lock (never an older
  // one over a newer).
  static std::mutex files_mu;
  if (!changed) {
    Log(spdlog::level::warn, std::string(what) + " failed",
        Json{{"error", std::string(changed.error().reason())},
             {"message", changed.error().message()}});
    return;
  }
  if (!*changed) {
    Log(spdlog::level::trace, std::string(what) + ": nothing to do");
    return;
  }
  std::lock_guard<std::mutex> lock(files_mu);
  auto written = WriteBundleFiles(data_dir, plane.bundle());
  if (!written) {
    Log(spdlog::level::err, "cannot rewrite the bundle files",
        Json{{"error", std::string(written.error().reason())},
             {"message", written.error().message()}});
    return;
  }
  Log(spdlog::level::info,
      "bundle changed; rewrote bundle.json and bundle.pem");
}

// Refresher keeps a replica that shares its store with others up to date
// (ControlPlane::Refresh): at once when another replica commits (the
// store's notice), and at least every second besides, until Stop.
class Refresher {
 public:
  Refresher(ControlPlane& plane, Store& store, std::string data_dir)
      : plane_(plane),
        store_(store),
        data_dir_(std::move(data_dir)),
        thread_([this] { Loop(); }) {}
  ~Refresher() { Stop(); }

  void Stop() {
    stopping_.store(true);
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    while (!stopping_.load()) {
      const bool heard = store_.WaitForChange(std::chrono::seconds(1));
      if (stopping_.load()) break;
      RewriteBundleFiles(plane_, data_dir_, plane_.Refresh(), "refresh");
      // A stream of commits refreshes at most five times a second.
      if (heard) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  ControlPlane& plane_;
  Store& store_;
  const std::string data_dir_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;  // last: starts once the members above exist
};

// Maintenance calls ControlPlane::Maintain at once and then every
// `interval` seconds on its own thread, and rewrites the bundle files when
// the bundle changed, until Stop.
class Maintenance {
 public:
  Maintenance(ControlPlane& plane, std::string data_dir, int interval_seconds)
      : plane_(plane),
        data_dir_(std::move(data_dir)),
        interval_(interval_seconds),
        thread_([this] { Loop(); }) {}
  ~Maintenance() { Stop(); }

  // Stop wakes the thread and waits for it (for a Maintain call in
  // progress, not for the rest of the interval).
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      lock.unlock();
      RunOnce();
      lock.lock();
      wake_.wait_for(lock, interval_, [this] { return stopping_; });
    }
  }

  void RunOnce() {
    const bool was_leader = plane_.leader();
    auto changed = plane_.Maintain();
    if (plane_.leader() != was_leader) {
      Log(spdlog::level::info,
          plane_.leader() ? "this replica runs the maintenance now"
                          : "another replica runs the maintenance now",
          Json{{"replica", plane_.replica()}});
    }
    RewriteBundleFiles(plane_, data_dir_, changed, "maintenance");
  }

  ControlPlane& plane_;
  const std::string data_dir_;
  const std::chrono::seconds interval_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;     // last: starts once the members above exist
};

// LogFederationEvent logs one fetch of a federated bundle or revocation
// list: its trust domain, sequence numbers and, for a failure or rejection,
// the reason; never the document itself.
void LogFederationEvent(const PollEvent& e) {
  Json fields{{"trust_domain", e.trust_domain.name()}};
  if (e.old_sequence) fields["old_sequence"] = *e.old_sequence;
  if (e.new_sequence) fields["new_sequence"] = *e.new_sequence;
  const std::string what =
      e.revocations ? "federated revocation list" : "federated bundle";
  switch (e.kind) {
    case PollEvent::Kind::kUpdated:
      Log(spdlog::level::info, what + " updated", fields);
      return;
    case PollEvent::Kind::kUnchanged:
      return;
    case PollEvent::Kind::kFailed:
    case PollEvent::Kind::kRejected:
      fields["reason"] = e.reason;
      fields["message"] = e.message;
      Log(spdlog::level::warn,
          what + (e.kind == PollEvent::Kind::kFailed ? " fetch failed"
                                                     : " rejected"),
          fields);
      return;
  }
}

// LogWebReload logs an attempt to take changed https_web certificate files.
void LogWebReload(const WebReload& r) {
  if (r.status) {
    Log(spdlog::level::info, "bundle endpoint certificate reloaded",
        Json{{"not_after", r.not_after}});
    return;
  }
  Log(spdlog::level::warn,
      "bundle endpoint certificate not reloaded; the previous one stays",
      Json{{"error", std::string(r.status.error().reason())},
           {"message", r.status.error().message()}});
}

// kRefusedConnections counts the connections a listener closed as soon as
// it accepted them, because max_connections were open (docs/aztpd.md,
// "Metrics").
constexpr const char* kRefusedConnections = "aztpd_connections_refused_total";
// kDescriptorMargin is what the process needs besides its listeners'
// connections: the store, logs, federation fetches.
constexpr rlim_t kDescriptorMargin = 64;

// CountRefused is the on_connection_refused of `listener` ("api" or
// "bundle_endpoint"); its series exists from the start.
std::function<void()> CountRefused(ControlPlane& plane, const char* listener) {
  plane.metrics().DescribeCounter(
      kRefusedConnections,
      "connections closed at accept because the listener was full");
  plane.metrics().Add(kRefusedConnections, {{"listener", listener}}, 0);
  return [&plane, listener] {
    plane.metrics().Add(kRefusedConnections, {{"listener", listener}});
  };
}

// LogPeerRefused is the API listener's on_peer_refused: a client whose
// certificate does not verify (its trust domain no longer federated, a
// foreign CA, expired) is answered 401 with the reason by the server, and
// each such connection is one info line naming the trust domain the
// client claimed, so that an operator sees why a partner's workload is
// refused (issue 13; docs/aztpd.md "Logging").
void LogPeerRefused(std::string_view presented_id, std::string_view remote,
                    const Error& e) {
  auto id = SpiffeId::Parse(presented_id);
  Log(spdlog::level::info, "client certificate refused",
      Json{{"trust_domain", id ? id->trust_domain().name() : ""},
           {"peer", std::string(presented_id)},
           {"remote", std::string(remote)},
           {"reason", std::string(e.reason())},
           {"message", e.message()}});
}

// RaiseDescriptorLimit lifts the soft limit on open files to `needed`
// (within the hard limit), so that each listener is bounded by its own
// connection cap rather than by a limit the listeners share: a flood on
// one must not leave the other unable to accept.
void RaiseDescriptorLimit(rlim_t needed) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= needed) return;
  const rlim_t target =
      lim.rlim_max == RLIM_INFINITY ? needed : std::min(needed, lim.rlim_max);
  if (target > lim.rlim_cur) {
    lim.rlim_cur = target;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  }
  if (target < needed) {
    Log(spdlog::level::warn,
        "the open-file limit is below the listeners' connection caps",
        Json{{"limit", static_cast<int64_t>(target)},
             {"needed", static_cast<int64_t>(needed)}});
  }
}

// BaseUrl is the https URL of a server bound from `listen` (an address
// the configuration's reader accepted) to `port`.
Result<std::string> BaseUrl(const std::string& listen, uint16_t port) {
  AZTP_ASSIGN_OR_RETURN(http::HostPort bound, http::ParseListenAddress(listen));
  bound.port = port;
  return "https://" + bound.str();
}

// StartBundleEndpoint serves GET <path> with the current bundle, and GET
// /revocations with the revocation list, on the listener of `be`, with
// small limits of its own, never asking for client certificates.
Result<std::unique_ptr<http::Server>> StartBundleEndpoint(
    const BundleEndpointConfig& be, ControlPlane& plane) {
  if (be.path == kRevocationsPath) {
    return Error(Code::kInvalidArgument,
                 "path must not be /revocations, where the revocation list "
                 "is served");
  }
  http::ServerOptions o;
  o.listen = be.listen;
  o.threads = 1;
  o.max_header_bytes = 8 << 10;
  o.max_body_bytes = 1024;  // a GET has none
  o.read_timeout_seconds = 5;
  o.idle_timeout_seconds = 15;
  o.handshake_timeout_seconds = be.handshake_timeout_seconds;
  o.max_connections = be.max_connections;
  o.on_connection_refused = CountRefused(plane, "bundle_endpoint");
  // o.bundles stays null: no client certificate is asked for or verified.
  if (*be.profile == EndpointProfile::kHttpsSpiffe) {
    // The aztpd SVID, as renewed by Maintain (CA rotation included).
    o.tls_context = SpiffeBundleEndpointContext(
        [&plane] { return plane.server_credentials(); });
  } else {
    // The files are checked for changes at each new connection.
    AZTP_ASSIGN_OR_RETURN(
        o.tls_context,
        WebBundleEndpointContext(be.cert_file, be.key_file, LogWebReload));
  }
  return http::Server::Start(
      o, aztpd::WithAccessLog(BundleEndpointHandler(
             be.path, [&plane] { return plane.bundle(); },
             [&plane] { return plane.RevocationsJson(); })));
}

// LogConfiguration logs, at debug level, the settings in force.
void LogConfiguration(const AztpdConfig& c) {
  const ControlPlaneOptions& o = c.control_plane;
  Log(spdlog::level::debug, "configuration",
      Json{{"listen", c.listen},
           {"threads", c.threads},
           {"grace", FormatDuration(c.grace_seconds)},
           {"maintain_interval", FormatDuration(c.maintain_interval_seconds)},
           {"max_body_bytes", c.http.max_body_bytes},
           {"max_connections", c.http.max_connections},
           {"handshake_timeout",
            FormatDuration(c.http.handshake_timeout_seconds)},
           {"svid_default_ttl", FormatDuration(o.default_svid_ttl_seconds)},
           {"svid_max_ttl", FormatDuration(o.max_svid_ttl_seconds)},
           {"jwt_default_ttl", FormatDuration(o.default_jwt_ttl_seconds)},
           {"jwt_max_ttl", FormatDuration(o.max_jwt_ttl_seconds)},
           {"requests_per_second", o.rate_limit.requests_per_second},
           {"burst", o.rate_limit.burst}});
}

// BundleServing is the running bundle endpoint, if any, and the
// aztpd.bundle.url file naming it.
struct BundleServing {
  std::unique_ptr<http::Server> server;
  std::optional<WrittenFile> url_file;
};

// ServeBundleEndpoint starts the bundle endpoint when `c` has one and
// writes its URL to aztpd.bundle.url in the data directory.
Result<BundleServing> ServeBundleEndpoint(const AztpdConfig& c,
                                          ControlPlane& plane) {
  // One left by an instance that was killed (the lock is ours now).
  const std::string bundle_url_file = c.data_dir + "/aztpd.bundle.url";
  ::unlink(bundle_url_file.c_str());
  BundleServing out;
  if (!c.bundle_endpoint) return out;
  const BundleEndpointConfig& be = *c.bundle_endpoint;
  auto started = StartBundleEndpoint(be, plane);
  if (!started) return started.error().WithContext("bundle_endpoint");
  out.server = std::move(*started);
  AZTP_ASSIGN_OR_RETURN(std::string base,
                        BaseUrl(be.listen, out.server->port()));
  const std::string bundle_url = base + be.path;
  auto written = WrittenFile::Write(bundle_url_file, bundle_url + "\n");
  if (!written) return written.error();
  out.url_file = std::move(*written);
  Json fields{{"profile", std::string(EndpointProfileName(*be.profile))},
              {"url", bundle_url}};
  if (*be.profile == EndpointProfile::kHttpsWeb) {
    fields["cert_file"] = be.cert_file;
  }
  Log(spdlog::level::info, "serving bundle endpoint", fields);
  return out;
}

// StartApiServer serves the control plane's API, and the hosted SDK's, on
// `c.listen`.
Result<std::unique_ptr<http::Server>> StartApiServer(const AztpdConfig& c,
                                                     ControlPlane* plane) {
  http::ServerOptions options;
  options.listen = c.listen;
  options.threads = c.threads;
  options.max_body_bytes = c.http.max_body_bytes;
  options.read_timeout_seconds = c.http.read_timeout_seconds;
  options.idle_timeout_seconds = c.http.idle_timeout_seconds;
  options.handshake_timeout_seconds = c.http.handshake_timeout_seconds;
  options.max_connections = c.http.max_connections;
  options.on_connection_refused = CountRefused(*plane, "api");
  // Asked for every connection, so a renewed server SVID is used at once.
  options.tls_context = [plane] { return plane->server_tls_context(); };
  options.bundles = plane->bundles();
  options.on_peer_refused = LogPeerRefused;
  return http::Server::Start(
      options, aztpd::WithAccessLog(
                   [plane, hosted = std::make_shared<compat::HostedSdkApi>(
                               *plane)](const http::Request& r) {
                     // The hosted SDK's API (docs/compat.md).
                     if (compat::HostedSdkApi::Handles(r.path)) {
                       return hosted->Handle(r);
                     }
                     return plane->Handle(r);
                   }));
}

// Run serves until SIGTERM or SIGINT with the `federation:` relationships
// the caller resolved (before the lock: a bad entry is reported as such
// even while another aztpd holds the directory). The caller holds the data
// directory's lock, so every file Run writes or removes there is its own.
int Run(const AztpdConfig& c, std::vector<FederationRelationship> federation,
        const LockFile& /*held*/) {
  // Block the stop signals before any thread starts; main waits for them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  LogConfiguration(c);
  RaiseDescriptorLimit(
      static_cast<rlim_t>(c.http.max_connections) + kDescriptorMargin +
      (c.bundle_endpoint ? c.bundle_endpoint->max_connections : 0));
  auto store = OpenStore(c);
  if (!store) return Fail(store.error());
  std::shared_ptr<Store> shared(std::move(*store));
  ControlPlaneOptions plane_options = c.control_plane;
  plane_options.federation = std::move(federation);
  plane_options.on_federation_event = LogFederationEvent;
  // The OpenID providers: clients made now, documents fetched at first use.
  auto people = ResolveOidcProviders(c.oidc_providers, c.control_plane.clock);
  if (!people) return Fail(people.error());
  plane_options.people = std::move(*people);
  plane_options.login = LoginSettingsOf(c.oidc_login);
  // Another replica takes over the maintenance within three passes of a
  // holder that stopped renewing.
  plane_options.lease_seconds = 3 * int64_t{c.maintain_interval_seconds};
  // A SQLite store has one process (the data directory's lock): a
  // restarted aztpd is the same replica and leads at once.
  if (c.store.backend == StoreConfig::Backend::kSqlite) {
    plane_options.replica = "aztpd";
  }
  auto cp = ControlPlane::Open(shared, plane_options);
  if (!cp) return Fail(cp.error());
  ControlPlane* plane = cp->get();
  if (!plane->server_tls_context()) {
    return Fail(Error(Code::kInternal, "no TLS context for the server"));
  }
  // The bundle endpoint comes up first, so that aztpd.bundle.url is there
  // once aztpd.url is.
  auto bundle = ServeBundleEndpoint(c, *plane);
  if (!bundle) return Fail(bundle.error());
  auto server = StartApiServer(c, plane);
  if (!server) {
    if (bundle->url_file) bundle->url_file->Remove();
    return Fail(server.error());
  }
  auto url = BaseUrl(c.listen, (*server)->port());
  auto url_written =
      url ? WrittenFile::Write(c.data_dir + "/aztpd.url", *url + "\n")
          : Result<WrittenFile>(url.error());
  if (!url_written) {
    if (bundle->url_file) bundle->url_file->Remove();
    return Fail(url_written.error());
  }
  Log(spdlog::level::info, "serving",
      Json{{"trust_domain", plane->trust_domain().name()},
           {"url", *url},
           {"data_dir", c.data_dir},
           {"threads", c.threads}});
  Maintenance maintenance(*plane, c.data_dir, c.maintain_interval_seconds);
  // Replicas sharing a PostgreSQL store follow each other's changes.
  std::optional<Refresher> refresher;
  if (c.store.backend == StoreConfig::Backend::kPostgres) {
    refresher.emplace(*plane, *shared, c.data_dir);
  }
  int sig = 0;
  sigwait(&stop, &sig);
  Log(spdlog::level::info, "shutting down",
      Json{{"signal", sig}, {"grace_seconds", c.grace_seconds}});
  maintenance.Stop();
  if (refresher) refresher->Stop();
  url_written->Remove();
  if (bundle->server) {
    bundle->url_file->Remove();
    bundle->server->Shutdown(c.grace_seconds);
    bundle->server->Wait();
  }
  (*server)->Shutdown(c.grace_seconds);
  (*server)->Wait();
  Log(spdlog::level::info, "stopped");
  return kExitOk;
}

// MakeTempDataDir creates a fresh private folder for `run --dev`.
Result<std::string> MakeTempDataDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && *base ? base : "/tmp") +
                        "/aztpd-dev-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Error(Code::kIo, "cannot create a temporary folder in " +
                                pattern.substr(0, pattern.rfind('/')) + ": " +
                                std::strerror(errno));
  }
  return pattern;
}

// RunDev brings up a development server: it initialises the data folder
// on first use (printing the init output, admin key included, once) and
// then runs as usual.
int RunDev(AztpdConfig c) {
  if (c.data_dir.empty()) {
    auto dir = MakeTempDataDir();
    if (!dir) return Fail(dir.error());
    c.data_dir = *dir;
  }
  if (!c.trust_domain) c.trust_domain = *TrustDomain::Parse(kDevTrustDomain);
  auto federation = ResolveFederation(c.federation);
  if (!federation) return Fail(federation.error());
  if (auto created = CreateDataDir(c.data_dir); !created) {
    return Fail(created.error());
  }
  auto lock = LockDataDir(c.data_dir);
  if (!lock) return Fail(lock.error());
  auto init = InitDataDir(c, *lock);
  if (init) {
    std::cout << DumpJson(*init) << std::endl;
  } else if (init.error().code() != Code::kAlreadyExists) {
    return Fail(init.error());
  }
  Log(spdlog::level::warn, "development mode: not for production",
      Json{{"data_dir", c.data_dir}});
  return Run(c, std::move(*federation), *lock);
}

// Flags is the command line; `given` names the options that were set, the
// only ones that override the configuration file.
struct Flags {
  std::string config, data_dir, trust_domain, key_type, ca_ttl, listen,
      bundle_listen, log_level, log_format, grace;
  int threads = 0;
  bool dev = false;
  std::set<std::string> given;
};

// Named reports a bad flag value as the configuration key it stands for.
Error Named(const char* key, const char* flag, const Error& e) {
  return Error(e.code(), std::string(key) + " (" + flag + "): " + e.message());
}

// Settings layers defaults, the configuration file, --dev and the flags,
// and checks the result as a whole.
Result<AztpdConfig> Settings(const Flags& f) {
  auto given = [&](const char* flag) { return f.given.count(flag) > 0; };
  AztpdConfig c;
  if (given("--config")) {
    AZTP_ASSIGN_OR_RETURN(c, LoadAztpdConfig(f.config));
  }
  if (f.dev) {
    c.listen = kDevListen;
    c.log_level = LogLevel::kDebug;
  }
  if (given("--data-dir")) c.data_dir = f.data_dir;
  if (given("--trust-domain")) {
    auto td = TrustDomain::Parse(f.trust_domain);
    if (!td) return Named("trust_domain", "--trust-domain", td.error());
    c.trust_domain = *td;
  }
  if (given("--key-type")) {
    auto type = ParseKeyType(f.key_type);
    if (!type) return Named("ca.key_type", "--key-type", type.error());
    c.control_plane.ca.key_type = *type;
  }
  if (given("--ca-ttl")) {
    auto ttl = ParseDurationSetting(f.ca_ttl);
    if (!ttl) return Named("ca.ttl", "--ca-ttl", ttl.error());
    c.control_plane.ca.ttl_seconds = *ttl;
  }
  if (given("--listen")) c.listen = f.listen;
  if (given("--bundle-listen")) {
    if (!c.bundle_endpoint) {
      return Error(Code::kInvalidArgument,
                   "bundle_endpoint.listen (--bundle-listen): there is no "
                   "bundle_endpoint section in the configuration (it names "
                   "the profile)");
    }
    c.bundle_endpoint->listen = f.bundle_listen;
  }
  if (given("--threads")) c.threads = f.threads;
  if (given("--grace")) {
    // The YAML key's syntax, 0s included (stop at once).
    auto grace = ParseDurationSetting(f.grace, /*allow_zero=*/true);
    if (!grace) return Named("grace", "--grace", grace.error());
    // Out of range is refused by ValidateAztpdConfig below; clamped here
    // only so that it still is out of range as an int.
    c.grace_seconds = static_cast<int>(std::min<int64_t>(*grace, INT_MAX));
  }
  if (given("--log-level")) {
    auto level = ParseLogLevel(f.log_level);
    if (!level) return Named("log_level", "--log-level", level.error());
    c.log_level = *level;
  }
  if (given("--log-format")) {
    auto format = ParseLogFormat(f.log_format);
    if (!format) return Named("log_format", "--log-format", format.error());
    c.log_format = *format;
  }
  AZTP_RETURN_IF_ERROR(ValidateAztpdConfig(c));
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"aztpd: the aztp control plane"};
  app.require_subcommand(1);
  Flags f;
  auto* init = app.add_subcommand(
      "init", "Create the trust domain's CA and the first admin API key");
  init->add_option("--config", f.config, "YAML configuration file");
  init->add_option("--data-dir", f.data_dir, "state folder");
  init->add_option("--trust-domain", f.trust_domain, "e.g. org-a.example");
  init->add_option("--key-type", f.key_type,
                   "CA key: ec-p256 (default), ec-p384 or ed25519");
  init->add_option("--ca-ttl", f.ca_ttl, "CA lifetime (default 365d)");

  auto* run = app.add_subcommand("run", "Serve the HTTPS API");
  run->add_option("--config", f.config, "YAML configuration file");
  run->add_option("--data-dir", f.data_dir, "state folder");
  run->add_flag(
      "--dev", f.dev,
      "development mode: loopback, debug logs, initialise on first use");
  run->add_option("--trust-domain", f.trust_domain,
                  "with --dev: trust domain to initialise (default "
                  "dev.aztp.local)");
  run->add_option("--listen", f.listen,
                  "host:port, port 0: any (default 127.0.0.1:8443)");
  run->add_option("--bundle-listen", f.bundle_listen,
                  "host:port of the bundle endpoint, port 0: any (overrides "
                  "bundle_endpoint.listen)");
  run->add_option("--threads", f.threads, "worker threads (default 2)");
  run->add_option("--grace", f.grace,
                  "time in-flight requests get at shutdown: 10s (default), "
                  "0s to 1h");
  run->add_option("--log-level", f.log_level,
                  "trace, debug, info (default), warn, error");
  run->add_option("--log-format", f.log_format, "text (default) or json");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return Usage(e.what());
  }
  const bool is_init = init->parsed();
  for (const CLI::Option* option : (is_init ? init : run)->get_options()) {
    if (option->count() > 0) f.given.insert(option->get_name());
  }

  auto c = Settings(f);
  if (!c) return Fail(c.error());
  aztpd::InitLogging(c->log_level, c->log_format);
  if (!is_init && f.dev) return RunDev(std::move(*c));
  if (c->data_dir.empty()) {
    return Usage("--data-dir (or data_dir in the configuration) is required");
  }
  if (!is_init) {
    auto federation = ResolveFederation(c->federation);
    if (!federation) return Fail(federation.error());
    auto lock = LockDataDir(c->data_dir);
    if (!lock) return Fail(lock.error());
    return Run(*c, std::move(*federation), *lock);
  }
  if (!c->trust_domain) {
    return Usage(
        "--trust-domain (or trust_domain in the configuration) is required");
  }
  return Init(*c);
}

// Test support (no test framework inside): a real ControlPlane over a
// SQLite store in a temporary folder, served by a real http::Server on
// 127.0.0.1:0, all on one FixedClock. For SDK and CLI tests that need a
// control plane to talk to. Failures abort: this is fixture code.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/bundle/bundle.h"
#include "aztp/controlplane/control_plane.h"
#include "aztp/http/http.h"
#include "aztp/store/store.h"
#include "testing/temp_dir.h"

namespace aztp::test_support {

// ControlPlaneServer owns the store, the control plane and the server.
class ControlPlaneServer {
 public:
  // kDefaultNow is the fixed time the clock starts at.
  static constexpr UnixTime kDefaultNow = 1'800'000'000;

  // Options shape the fixture. The control plane's clock is always the
  // fixture's; its rate limit is off unless set here.
  struct Options {
    std::string trust_domain = "org-a.example";
    UnixTime now = kDefaultNow;
    ControlPlaneOptions control_plane;
    Options() { control_plane.rate_limit.requests_per_second = 0; }
  };

  // SeenRequest is what the fixture remembers of each request: never the
  // body or the Authorization value, only whether one was sent.
  struct SeenRequest {
    std::string method;
    std::string path;
    std::string target;  // path and query as sent
    bool had_authorization = false;
    std::optional<SpiffeId> peer;  // the verified mTLS client, if any
    int status = 0;
  };

  // Interceptor may answer a request in place of the control plane (for
  // example 503 to exercise retries); nullopt passes it on.
  using Interceptor =
      std::function<std::optional<http::Response>(const http::Request&)>;

  explicit ControlPlaneServer(Options options = Options());
  ~ControlPlaneServer();
  ControlPlaneServer(const ControlPlaneServer&) = delete;
  ControlPlaneServer& operator=(const ControlPlaneServer&) = delete;

  // url is "https://127.0.0.1:<port>".
  const std::string& url() const { return url_; }
  uint16_t port() const { return server_->port(); }
  // admin_api_key is the key Initialize printed.
  const std::string& admin_api_key() const { return admin_api_key_; }
  const TrustDomain& trust_domain() const { return cp_->trust_domain(); }
  // bundle is the trust domain's current bundle.
  Bundle bundle() const { return cp_->bundle(); }
  FixedClock& clock() { return clock_; }
  ControlPlane& control_plane() { return *cp_; }
  Store& store() { return *store_; }
  const TempDir& dir() const { return dir_; }

  void SetInterceptor(Interceptor interceptor);
  std::vector<SeenRequest> requests() const;
  void ClearRequests();
  // Audit returns every audit record so far.
  std::vector<AuditRecord> Audit() const;

 private:
  http::Response Handle(const http::Request& request);
  std::shared_ptr<SSL_CTX> TlsContext();

  TempDir dir_{"aztp_cps_"};
  FixedClock clock_;
  std::shared_ptr<Store> store_;
  std::unique_ptr<ControlPlane> cp_;
  std::string admin_api_key_;
  std::unique_ptr<http::Server> server_;
  std::string url_;

  mutable std::mutex mu_;
  Interceptor interceptor_;                        // guarded by mu_
  std::vector<SeenRequest> seen_;                  // guarded by mu_
  std::shared_ptr<const TlsCredentials> ctx_for_;  // guarded by mu_
  std::shared_ptr<SSL_CTX> ctx_;                   // guarded by mu_
};

}  // namespace aztp::test_support

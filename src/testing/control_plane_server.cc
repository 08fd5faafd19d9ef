#include "testing/control_plane_server.h"

#include "aztp/tls/tls.h"
#include "testing/trust_domains.h"

namespace aztp::test_support {

ControlPlaneServer::ControlPlaneServer(Options options) : clock_(options.now) {
  store_ = std::shared_ptr<Store>(Must(OpenSqliteStore(dir_.File("aztpd.db"))));
  // The CA exists an hour before the fixed time, as a deployed one would.
  InitResult init = Must(ControlPlane::Initialize(
      *store_, Must(TrustDomain::Parse(options.trust_domain)), {},
      options.now - 3600));
  admin_api_key_ =
      std::string(init.admin_api_key.View(InsecureSecretAccess::Get()));
  options.control_plane.clock = &clock_;
  cp_ = Must(ControlPlane::Open(store_, options.control_plane));

  http::ServerOptions server_options;
  server_options.listen = "127.0.0.1:0";
  server_options.clock = &clock_;
  server_options.bundles = cp_->bundles();
  server_options.tls_context = [this] { return TlsContext(); };
  server_ = Must(http::Server::Start(
      server_options, [this](const http::Request& r) { return Handle(r); }));
  url_ = "https://127.0.0.1:" + std::to_string(server_->port());
}

ControlPlaneServer::~ControlPlaneServer() {
  server_->Shutdown(1);
  server_->Wait();
}

std::shared_ptr<SSL_CTX> ControlPlaneServer::TlsContext() {
  // Rebuilt only when the control plane renewed its own SVID.
  auto creds = cp_->server_credentials();
  std::lock_guard<std::mutex> lock(mu_);
  if (creds != ctx_for_) {
    ctx_ = Must(MakeServerContext(*creds, /*request_client_cert=*/true));
    ctx_for_ = creds;
  }
  return ctx_;
}

http::Response ControlPlaneServer::Handle(const http::Request& request) {
  Interceptor interceptor;
  {
    std::lock_guard<std::mutex> lock(mu_);
    interceptor = interceptor_;
  }
  std::optional<http::Response> response;
  if (interceptor) response = interceptor(request);
  if (!response) response = cp_->Handle(request);
  SeenRequest seen;
  seen.method = request.method;
  seen.path = request.path;
  seen.target = request.target;
  seen.had_authorization = !request.Header("authorization").empty();
  seen.peer = request.peer;
  seen.status = response->status;
  std::lock_guard<std::mutex> lock(mu_);
  seen_.push_back(std::move(seen));
  return *response;
}

void ControlPlaneServer::SetInterceptor(Interceptor interceptor) {
  std::lock_guard<std::mutex> lock(mu_);
  interceptor_ = std::move(interceptor);
}

std::vector<ControlPlaneServer::SeenRequest> ControlPlaneServer::requests()
    const {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_;
}

void ControlPlaneServer::ClearRequests() {
  std::lock_guard<std::mutex> lock(mu_);
  seen_.clear();
}

std::vector<AuditRecord> ControlPlaneServer::Audit() const {
  std::vector<AuditRecord> records;
  Status read = store_->Read([&](Transaction& tx) -> Status {
    for (;;) {
      AZTP_ASSIGN_OR_RETURN(
          auto page,
          tx.ListAudit(records.empty() ? 0 : records.back().seq, 1000));
      if (page.empty()) return Ok();
      records.insert(records.end(), page.begin(), page.end());
    }
  });
  if (!read) MustFail(read.error());
  return records;
}

}  // namespace aztp::test_support

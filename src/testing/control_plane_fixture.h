// A control plane over a fresh SQLite store, as the control-plane tests
// and the layers above it (compat, SDK) set one up.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "aztp/controlplane/control_plane.h"
#include "aztp/crypto/key.h"
#include "aztp/encoding/json.h"
#include "aztp/http/http.h"
#include "aztp/store/store.h"
#include "aztp/x509/csr.h"

namespace aztp::test_support {

// InitializedStore is a store that ControlPlane::Initialize has prepared.
struct InitializedStore {
  std::shared_ptr<Store> store;
  std::string admin_api_key;
};

// InitializeTestStore creates the SQLite store at `path` and initialises
// trust domain `td` in it at `now`; aborts on failure (a broken fixture).
inline InitializedStore InitializeTestStore(const std::string& path,
                                            const std::string& td,
                                            UnixTime now) {
  auto store = OpenSqliteStore(path);
  auto domain = TrustDomain::Parse(td);
  if (!store || !domain) std::abort();
  InitializedStore out{std::shared_ptr<Store>(std::move(*store)), ""};
  auto init = ControlPlane::Initialize(*out.store, *domain, {}, now);
  if (!init) {
    std::fprintf(stderr, "Initialize: %s\n", init.error().message().c_str());
    std::abort();
  }
  out.admin_api_key =
      std::string(init->admin_api_key.View(InsecureSecretAccess::Get()));
  return out;
}

// TestControlPlaneOptions: `clock`, no rate limit (tests send bursts), and
// one replica name, so that a control plane a test opens again over the
// same store is the same replica (and keeps the maintenance lease).
inline ControlPlaneOptions TestControlPlaneOptions(const Clock* clock) {
  ControlPlaneOptions o;
  o.clock = clock;
  o.rate_limit.requests_per_second = 0;
  o.replica = "test";
  return o;
}

// OpenTestControlPlane opens a control plane over `store` with `options`;
// aborts on failure (a broken fixture).
inline std::unique_ptr<ControlPlane> OpenTestControlPlane(
    std::shared_ptr<Store> store, ControlPlaneOptions options) {
  auto cp = ControlPlane::Open(std::move(store), std::move(options));
  if (!cp) {
    std::fprintf(stderr, "Open: %s\n", cp.error().message().c_str());
    std::abort();
  }
  return std::move(*cp);
}

// OpenTestControlPlane with TestControlPlaneOptions(clock).
inline std::unique_ptr<ControlPlane> OpenTestControlPlane(
    std::shared_ptr<Store> store, const Clock* clock) {
  return OpenTestControlPlane(std::move(store), TestControlPlaneOptions(clock));
}

// AuditRecords returns every audit record of `store`, in order; aborts on
// failure (a broken fixture).
inline std::vector<AuditRecord> AuditRecords(Store& store) {
  std::vector<AuditRecord> out;
  auto read = store.Read([&](Transaction& tx) -> Status {
    for (int64_t after = 0;;) {
      AZTP_ASSIGN_OR_RETURN(auto page, tx.ListAudit(after, 1000));
      if (page.empty()) return Ok();
      after = page.back().seq;
      out.insert(out.end(), page.begin(), page.end());
    }
  });
  if (!read) std::abort();
  return out;
}

// NativeRequest is a request to the native API: a JSON body when given, and
// `api_key` as a bearer token ("-" sends none).
inline http::Request NativeRequest(const std::string& method,
                                   const std::string& path,
                                   const std::string& body,
                                   const std::string& api_key) {
  http::Request r;
  r.method = method;
  r.path = path;
  r.target = path;
  r.body = body;
  if (!body.empty()) r.headers["content-type"] = "application/json";
  if (api_key != "-") r.headers["authorization"] = "Bearer " + api_key;
  return r;
}

// CsrJson is a fresh P-256 key's CSR as a JSON string, the "csr" member
// of POST /v1/svid/x509.
inline std::string CsrJson() {
  auto key = PrivateKey::Generate(KeyType::kEcP256);
  if (!key) std::abort();
  return DumpJson(
      Json(CertificateRequest::Create(*key, std::nullopt)->ToPem()));
}

}  // namespace aztp::test_support

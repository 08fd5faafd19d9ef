// X.509-SVID issuance, from the CA call alone to the whole HTTPS API with a
// kept-alive connection, against raw ECDSA P-256 signatures per second in
// the same run (every SVID costs one). The store is a real SQLite file with
// synchronous=FULL, so the API figures include one fsync'd transaction per
// SVID.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>

#include "aztp/ca/authority.h"
#include "aztp/controlplane/control_plane.h"
#include "aztp/http/http.h"
#include "aztp/x509/csr.h"
#include "baseline.h"
#include "testing/temp_dir.h"

namespace aztp {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kWorkload = "spiffe://bench.example/agents/w";

double SignBaseline() {
  static const double rate = bench::RawSignRate(KeyType::kEcP256, 400);
  return rate;
}

void Report(benchmark::State& state, Clock::time_point start,
            std::vector<double>* latencies = nullptr) {
  bench::ReportAgainst(state, start, SignBaseline(), "svids_per_s", 1,
                       "raw_sign_per_s");
  if (latencies != nullptr && !latencies->empty()) {
    std::sort(latencies->begin(), latencies->end());
    auto at = [&](double q) {
      return (
          *latencies)[static_cast<std::size_t>(q * (latencies->size() - 1))];
    };
    state.counters["p50_ms"] = at(0.50) * 1000;
    state.counters["p99_ms"] = at(0.99) * 1000;
  }
}

std::string CsrPem() {
  auto key = *PrivateKey::Generate(KeyType::kEcP256);
  return CertificateRequest::Create(key, std::nullopt)->ToPem();
}

// The CA alone: CSR check, certificate build and one signature.
void BM_IssueCa(benchmark::State& state) {
  TrustDomain td = *TrustDomain::Parse("bench.example");
  auto ca = *CertificateAuthority::Create(td, {}, 1'800'000'000 - 10);
  auto csr = *CertificateRequest::FromPem(CsrPem());
  auto id = *SpiffeId::Parse(kWorkload);
  SignBaseline();
  auto start = Clock::now();
  for (auto _ : state) {
    auto chain = ca.IssueFromCsr(id, csr, 3600, 1'800'000'000);
    if (!chain) std::abort();
  }
  Report(state, start);
}

// A control plane over a fresh SQLite store with one registered identity.
struct Plane {
  test_support::TempDir dir{"aztp_bench_"};
  std::shared_ptr<Store> store;
  std::unique_ptr<ControlPlane> cp;
  std::string admin;
  Plane() {
    store = std::shared_ptr<Store>(*OpenSqliteStore(dir.File("aztpd.db")));
    auto init =
        ControlPlane::Initialize(*store, *TrustDomain::Parse("bench.example"),
                                 {}, SystemClock::Default().Now());
    if (!init) std::abort();
    admin = std::string(
        init->admin_api_key.View(aztp::InsecureSecretAccess::Get()));
    ControlPlaneOptions o;
    o.rate_limit.requests_per_second = 0;
    cp = std::move(*ControlPlane::Open(store, o));
    http::Request r =
        Post("/v1/identities", std::string(R"({"id":")") + kWorkload + "\"}");
    if (cp->Handle(r).status != 201) std::abort();
  }
  http::Request Post(const std::string& path, std::string body) const {
    http::Request r;
    r.method = "POST";
    r.path = r.target = path;
    r.headers["content-type"] = "application/json";
    r.headers["authorization"] = "Bearer " + admin;
    r.body = std::move(body);
    return r;
  }
};

std::string IssueBody() {
  return DumpJson(Json{{"id", kWorkload}, {"csr", CsrPem()}});
}

// The control plane in process: authentication, JSON, the store
// transaction with its audit record, issuance.
void BM_IssueControlPlane(benchmark::State& state) {
  Plane plane;
  http::Request r = plane.Post("/v1/svid/x509", IssueBody());
  SignBaseline();
  auto start = Clock::now();
  for (auto _ : state) {
    if (plane.cp->Handle(r).status != 201) std::abort();
  }
  Report(state, start);
}

// The whole API: HTTPS on loopback, one kept-alive TLS 1.3 connection,
// the server's worker pool of 2 threads.
void BM_IssueHttps(benchmark::State& state) {
  Plane plane;
  http::ServerOptions so;
  ControlPlane* cp = plane.cp.get();
  so.tls_context = [cp] { return cp->server_tls_context(); };
  so.bundles = cp->bundles();
  auto server = http::Server::Start(
      so, [cp](const http::Request& r) { return cp->Handle(r); });
  if (!server) std::abort();
  http::ClientOptions co;
  co.base_url = "https://127.0.0.1:" + std::to_string((*server)->port());
  co.bundles = cp->bundles();
  co.server_id = *SpiffeId::Parse("spiffe://bench.example/aztpd");
  auto client = *http::Client::Create(co);
  const std::string body = IssueBody();
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Type", "application/json"},
      {"Authorization", "Bearer " + plane.admin}};
  std::vector<double> latencies;
  SignBaseline();
  auto start = Clock::now();
  for (auto _ : state) {
    auto t = Clock::now();
    auto resp = client->Send("POST", "/v1/svid/x509", body, headers);
    if (!resp || resp->status != 201) std::abort();
    latencies.push_back(
        std::chrono::duration<double>(Clock::now() - t).count());
  }
  Report(state, start, &latencies);
  (*server)->Shutdown(1);
  (*server)->Wait();
}

BENCHMARK(BM_IssueCa);
BENCHMARK(BM_IssueControlPlane)->UseRealTime();
BENCHMARK(BM_IssueHttps)->UseRealTime();

}  // namespace
}  // namespace aztp

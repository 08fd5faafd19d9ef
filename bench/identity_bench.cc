// Benchmarks of the identity core against the raw-OpenSSL baseline:
// X.509-SVID verification (one certificate signature plus the SPIFFE rules
// and path building) and compact JWS verification.
#include <benchmark/benchmark.h>

#include <chrono>

#include "aztp/ca/authority.h"
#include "aztp/jose/jws.h"
#include "aztp/svid/x509_svid.h"
#include "baseline.h"

namespace aztp {
namespace {

constexpr UnixTime kNow = 1'800'000'000;

using Clock = std::chrono::steady_clock;

void BM_X509SvidVerify(benchmark::State& state, KeyType type) {
  TrustDomain td = *TrustDomain::Parse("bench.example");
  CaOptions options;
  options.key_type = type;
  auto ca = *CertificateAuthority::Create(td, options, kNow - 10);
  auto key = *PrivateKey::Generate(type);
  auto chain = *ca.IssueX509Svid(*SpiffeId::Parse("spiffe://bench.example/w"),
                                 key.public_key(), 3600, kNow);
  BundleSet set;
  set.Put(*Bundle::Create(td, {ca.root()}, {}, 1, std::nullopt));
  double baseline = bench::RawVerifyRate(type, 300);
  auto start = Clock::now();
  for (auto _ : state) {
    auto v = VerifyX509Svid(chain, set, kNow);
    if (!v) std::abort();
    benchmark::DoNotOptimize(v);
  }
  bench::ReportAgainst(state, start, baseline, "ops_per_s");
}

void BM_JwsVerify(benchmark::State& state, KeyType type) {
  auto key = *PrivateKey::Generate(type);
  Json header = {{"alg", std::string(AlgorithmName(key.algorithm()))},
                 {"typ", "JWT"}};
  std::string payload(400, 'p');
  std::string compact = *SignCompact(header, AsBytes(payload), key);
  double baseline = bench::RawVerifyRate(type, compact.rfind('.'));
  auto start = Clock::now();
  for (auto _ : state) {
    auto jws = ParseCompact(compact);
    if (!jws || !VerifySignature(*jws, key.public_key())) std::abort();
  }
  bench::ReportAgainst(state, start, baseline, "ops_per_s");
}

BENCHMARK_CAPTURE(BM_X509SvidVerify, ES256, KeyType::kEcP256);
BENCHMARK_CAPTURE(BM_X509SvidVerify, EdDSA, KeyType::kEd25519);
BENCHMARK_CAPTURE(BM_JwsVerify, ES256, KeyType::kEcP256);
BENCHMARK_CAPTURE(BM_JwsVerify, EdDSA, KeyType::kEd25519);

}  // namespace
}  // namespace aztp

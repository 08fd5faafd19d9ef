// The cost a cold verifier pays before any signature check: decoding one
// X.509-SVID from DER (OpenSSL decodes its public key while parsing), next
// to the raw verification baseline of the same key type.
#include <benchmark/benchmark.h>

#include <chrono>

#include "aztp/ca/authority.h"
#include "baseline.h"

namespace aztp {
namespace {

void BM_CertificateDecode(benchmark::State& state, KeyType type) {
  TrustDomain td = *TrustDomain::Parse("bench.example");
  CaOptions options;
  options.key_type = type;
  auto ca = *CertificateAuthority::Create(td, options, 1'800'000'000);
  auto key = *PrivateKey::Generate(type);
  auto chain = *ca.IssueX509Svid(*SpiffeId::Parse("spiffe://bench.example/w"),
                                 key.public_key(), 3600, 1'800'000'000);
  const Bytes& der = chain[0].der();
  double baseline = bench::RawVerifyRate(type, 1300);
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    auto cert = Certificate::FromDer(der);
    if (!cert) std::abort();
    benchmark::DoNotOptimize(cert);
  }
  bench::ReportAgainst(state, start, baseline, "ops_per_s");
}

BENCHMARK_CAPTURE(BM_CertificateDecode, ES256, KeyType::kEcP256);
BENCHMARK_CAPTURE(BM_CertificateDecode, EdDSA, KeyType::kEd25519);

}  // namespace
}  // namespace aztp

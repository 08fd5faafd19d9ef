// Benchmarks of the identity core. Each benchmark reports `ops_per_s` and,
// where it has one, a same-run baseline `baseline_per_s` and the `ratio`
// ops/baseline, so that figures stay comparable on noisy shared machines.
#include <benchmark/benchmark.h>

#include <chrono>

#include "aztp/ca/authority.h"
#include "aztp/jose/jws.h"
#include "aztp/svid/x509_svid.h"

namespace aztp {
namespace {

constexpr UnixTime kNow = 1'800'000'000;

// RawVerifyRate measures OpenSSL verifications per second of `alg` over a
// message of `size` bytes with a pre-parsed key: the floor any check built
// on one signature verification can reach.
double RawVerifyRate(const PrivateKey& key, std::size_t size) {
  Bytes msg(size, 'x');
  Bytes sig = *key.Sign(msg);
  const PublicKey& pub = key.public_key();
  auto start = std::chrono::steady_clock::now();
  int n = 0;
  for (; n < 2000; ++n) {
    if (!pub.Verify(key.algorithm(), msg, sig)) std::abort();
  }
  std::chrono::duration<double> dt = std::chrono::steady_clock::now() - start;
  return n / dt.count();
}

void Report(benchmark::State& state, double baseline) {
  double ops = static_cast<double>(state.iterations());
  state.counters["ops_per_s"] =
      benchmark::Counter(ops, benchmark::Counter::kIsRate);
  state.counters["baseline_per_s"] = baseline;
}

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
  double baseline = RawVerifyRate(ca.signing_key(), 300);
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    auto v = VerifyX509Svid(chain, set, kNow);
    if (!v) std::abort();
    benchmark::DoNotOptimize(v);
  }
  std::chrono::duration<double> dt = std::chrono::steady_clock::now() - start;
  Report(state, baseline);
  state.counters["ratio"] = (state.iterations() / dt.count()) / baseline;
}

void BM_JwsVerify(benchmark::State& state, KeyType type) {
  auto key = *PrivateKey::Generate(type);
  Json header = {{"alg", std::string(AlgorithmName(key.algorithm()))},
                 {"typ", "JWT"}};
  std::string payload(400, 'p');
  std::string compact = *SignCompact(header, AsBytes(payload), key);
  double baseline = RawVerifyRate(key, compact.rfind('.'));
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    auto jws = ParseCompact(compact);
    if (!jws || !VerifySignature(*jws, key.public_key())) std::abort();
  }
  std::chrono::duration<double> dt = std::chrono::steady_clock::now() - start;
  Report(state, baseline);
  state.counters["ratio"] = (state.iterations() / dt.count()) / baseline;
}

BENCHMARK_CAPTURE(BM_X509SvidVerify, ES256, KeyType::kEcP256);
BENCHMARK_CAPTURE(BM_X509SvidVerify, EdDSA, KeyType::kEd25519);
BENCHMARK_CAPTURE(BM_JwsVerify, ES256, KeyType::kEcP256);
BENCHMARK_CAPTURE(BM_JwsVerify, EdDSA, KeyType::kEd25519);

}  // namespace
}  // namespace aztp

BENCHMARK_MAIN();

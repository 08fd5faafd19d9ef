// Chain verification throughput against the raw-OpenSSL baseline
// (docs/performance.md). Each benchmark is named
// BM_ChainVerify/<algorithm>/<encoding>/depth<N>/<warm|cold> and reports
//   tokens_per_s      tokens verified per second (chains/s x N)
//   raw_verify_per_s  raw OpenSSL verifications/s, same algorithm and
//                     signing-input size, pre-parsed key, same run
//   ratio             tokens_per_s / raw_verify_per_s
//   chain_bytes       the header value's size
// "warm" reuses the verified-certificate cache (one signature check per
// token); "cold" disables it (two: the SVID's and the token's).
#include <benchmark/benchmark.h>

#include <chrono>

#include "aztp/chain/builder.h"
#include "aztp/chain/verifier.h"
#include "baseline.h"
#include "testing/trust_domains.h"

namespace aztp {
namespace {

using test_support::Must;
using Clock = std::chrono::steady_clock;

constexpr UnixTime kNow = 1'800'000'000;

std::string Agent(int k) {
  return "spiffe://bench.example/agent/" + std::to_string(k);
}

// Limits large enough for deep nested chains (the defaults stop nested
// chains at about 3 tokens).
ChainLimits BenchLimits() {
  ChainLimits l;
  l.max_token_bytes = 256 << 10;
  l.max_chain_bytes = 256 << 10;
  return l;
}

struct Fixture {
  std::unique_ptr<test_support::TestDomains> domains;
  std::string chain;
  std::size_t signing_input = 0;  // of the outermost token
};

Fixture MakeChain(KeyType type, ChainEncoding enc, int depth) {
  Fixture f;
  f.domains = std::make_unique<test_support::TestDomains>(kNow, type);
  f.domains->AddDomain("bench.example");
  MintOptions m;
  m.audience = Must(SpiffeId::Parse(Agent(1)));
  m.capabilities =
      Must(CapabilitySet::FromStrings({"payments:*", "calendar:read"}));
  m.encoding = enc;
  m.limits = BenchLimits();
  f.chain = Must(MintChain(f.domains->Signer(Agent(0)), m, kNow));
  for (int k = 1; k < depth; ++k) {
    ChainVerifierOptions o;
    o.audience = Must(SpiffeId::Parse(Agent(k)));
    o.bundles = f.domains->Bundles();
    FixedClock clock(kNow);
    o.clock = &clock;
    o.limits = BenchLimits();
    auto v = Must(Must(ChainVerifier::Create(std::move(o)))->Verify(f.chain));
    ExtendOptions e;
    e.audience = Must(SpiffeId::Parse(Agent(k + 1)));
    e.limits = BenchLimits();
    f.chain = Must(ExtendChain(v, f.domains->Signer(Agent(k)), e, kNow));
  }
  std::string_view outer = f.chain;
  if (auto comma = outer.rfind(','); comma != std::string_view::npos) {
    outer = outer.substr(comma + 1);
  }
  f.signing_input = outer.rfind('.');
  return f;
}

void BM_ChainVerify(benchmark::State& state, KeyType type, ChainEncoding enc,
                    bool warm) {
  const int depth = static_cast<int>(state.range(0));
  Fixture f = MakeChain(type, enc, depth);
  FixedClock clock(kNow);
  ChainVerifierOptions o;
  o.audience = Must(SpiffeId::Parse(Agent(depth)));
  o.bundles = f.domains->Bundles();
  o.clock = &clock;
  o.limits = BenchLimits();
  o.cert_cache_entries = warm ? 4096 : 0;
  auto verifier = Must(ChainVerifier::Create(std::move(o)));
  if (!verifier->Verify(f.chain)) std::abort();  // warms the cache
  // Tokens of a linked chain are about the size of the outermost one; the
  // baseline uses the outermost token's signing input.
  double baseline = bench::RawVerifyRate(type, f.signing_input);
  auto start = Clock::now();
  for (auto _ : state) {
    auto v = verifier->Verify(f.chain);
    if (!v) std::abort();
    benchmark::DoNotOptimize(v);
  }
  bench::ReportAgainst(state, start, baseline, "tokens_per_s", depth);
  state.counters["chain_bytes"] = static_cast<double>(f.chain.size());
}

void BM_Mint(benchmark::State& state, KeyType type) {
  test_support::TestDomains domains(kNow, type);
  domains.AddDomain("bench.example");
  MintOptions m;
  m.audience = Must(SpiffeId::Parse(Agent(1)));
  m.capabilities = Must(CapabilitySet::FromStrings({"payments:*"}));
  const HopSigner& signer = domains.Signer(Agent(0));
  for (auto _ : state) {
    auto chain = MintChain(signer, m, kNow);
    if (!chain) std::abort();
    benchmark::DoNotOptimize(chain);
  }
  state.counters["ops_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_Extend(benchmark::State& state, KeyType type) {
  Fixture f = MakeChain(type, ChainEncoding::kLinked, 3);
  FixedClock clock(kNow);
  ChainVerifierOptions o;
  o.audience = Must(SpiffeId::Parse(Agent(3)));
  o.bundles = f.domains->Bundles();
  o.clock = &clock;
  auto received =
      Must(Must(ChainVerifier::Create(std::move(o)))->Verify(f.chain));
  ExtendOptions e;
  e.audience = Must(SpiffeId::Parse(Agent(4)));
  const HopSigner& signer = f.domains->Signer(Agent(3));
  for (auto _ : state) {
    auto chain = ExtendChain(received, signer, e, kNow);
    if (!chain) std::abort();
    benchmark::DoNotOptimize(chain);
  }
  state.counters["ops_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

#define AZTP_CHAIN_BENCH(alg, type, enc_name, enc)                           \
  BENCHMARK_CAPTURE(BM_ChainVerify, alg / enc_name / warm, type, enc, true)  \
      ->ArgName("depth")                                                     \
      ->Arg(1)                                                               \
      ->Arg(3)                                                               \
      ->Arg(5)                                                               \
      ->Arg(10);                                                             \
  BENCHMARK_CAPTURE(BM_ChainVerify, alg / enc_name / cold, type, enc, false) \
      ->ArgName("depth")                                                     \
      ->Arg(1)                                                               \
      ->Arg(3)                                                               \
      ->Arg(5)                                                               \
      ->Arg(10)

AZTP_CHAIN_BENCH(ES256, KeyType::kEcP256, linked, ChainEncoding::kLinked);
AZTP_CHAIN_BENCH(ES256, KeyType::kEcP256, nested, ChainEncoding::kNested);
AZTP_CHAIN_BENCH(EdDSA, KeyType::kEd25519, linked, ChainEncoding::kLinked);
AZTP_CHAIN_BENCH(EdDSA, KeyType::kEd25519, nested, ChainEncoding::kNested);
BENCHMARK_CAPTURE(BM_Mint, ES256, KeyType::kEcP256);
BENCHMARK_CAPTURE(BM_Mint, EdDSA, KeyType::kEd25519);
BENCHMARK_CAPTURE(BM_Extend, ES256, KeyType::kEcP256);
BENCHMARK_CAPTURE(BM_Extend, EdDSA, KeyType::kEd25519);

}  // namespace
}  // namespace aztp

BENCHMARK_MAIN();

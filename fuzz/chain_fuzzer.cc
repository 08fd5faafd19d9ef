// Fuzzes the chain verifier end to end with fixed trust (chain_fixture.h)
// and a fixed clock: whatever the header value, Verify returns a result or a
// §7 reason, never crashes, hangs or grows without bound. A chain that
// verifies must also parse and re-verify identically, and every failure
// must carry a known reason.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "aztp/chain/verifier.h"
#include "chain_fixture.h"

namespace {

const aztp::ChainVerifier& Verifier() {
  static const aztp::FixedClock clock(aztp::fuzzing::kChainFuzzNow);
  static const std::unique_ptr<aztp::ChainVerifier> verifier = [] {
    auto bundles = aztp::BundleSet::ParseMap(aztp::fuzzing::kChainFuzzBundles);
    if (!bundles) std::abort();
    aztp::ChainVerifierOptions o;
    o.audience = *aztp::SpiffeId::Parse(aztp::fuzzing::kChainFuzzAudience);
    o.bundles = std::make_shared<aztp::BundleSet>(std::move(*bundles));
    o.clock = &clock;
    auto v = aztp::ChainVerifier::Create(std::move(o));
    if (!v) std::abort();
    return std::move(*v);
  }();
  return *verifier;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view header(reinterpret_cast<const char*>(data), size);
  auto result = Verifier().Verify(header);
  if (result) {
    // Accepted chains are stable: verifying again gives the same path.
    auto again = Verifier().Verify(header);
    if (!again || again->path() != result->path()) std::abort();
  } else if (result.error().reason() == "internal") {
    std::abort();
  }
  auto parsed = aztp::ParseChainInsecure(header, aztp::ChainLimits{});
  if (result && !parsed) std::abort();
  return 0;
}

// Fuzzes A2A Agent Cards (proxy/agent_card.h) as a caller receives them,
// untrusted: a card the operator's parser accepts has a canonical form,
// the same after a round trip through JSON; verifying any document, with
// no trust bundle, fails with a stable code and never crashes, hangs or
// allocates without bound.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "aztp/bundle/bundle.h"
#include "aztp/proxy/agent_card.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto card = aztp::ParseAgentCard(text)) {
    auto canonical = aztp::CanonicalAgentCard(*card);
    Check(canonical.has_value());
    auto again = aztp::ParseJson(*canonical);
    Check(again.has_value());
    Check(aztp::CanonicalAgentCard(*again).value() == *canonical);
  }
  auto doc = aztp::ParseJson(text, aztp::JsonLimits{64 << 10, 32});
  if (!doc) return 0;
  static const auto* id = new aztp::SpiffeId(
      *aztp::SpiffeId::Parse("spiffe://org-a.example/agents/planner"));
  auto verified =
      aztp::VerifyAgentCard(*doc, *id, aztp::BundleSet(), 1'800'000'000);
  Check(!verified.has_value());
  const aztp::Code code = verified.error().code();
  Check(code != aztp::Code::kInternal);
  return 0;
}

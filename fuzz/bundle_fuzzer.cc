// Fuzzes the strict JSON parser and the SPIFFE bundle and bundle-map parsers
// with untrusted documents (as fetched from a federation endpoint).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "aztp/bundle/bundle.h"
#include "aztp/encoding/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto json = aztp::ParseJson(text);
  if (json) {
    // Whatever parses must serialise and parse back to the same document.
    auto again = aztp::ParseJson(aztp::DumpJson(*json));
    if (!again || *again != *json) std::abort();
  }
  static const aztp::TrustDomain td = *aztp::TrustDomain::Parse("example.org");
  auto bundle = aztp::Bundle::Parse(td, text);
  if (bundle) {
    auto back = aztp::Bundle::FromJson(td, bundle->ToJson());
    if (!back || !(*back == *bundle)) std::abort();
  }
  auto map = aztp::BundleSet::ParseMap(text);
  if (map) {
    auto back = aztp::BundleSet::ParseMap(aztp::DumpJson(map->ToMapJson()));
    if (!back || back->size() != map->size()) std::abort();
  }
  return 0;
}

// Fuzzes what aztpd accepts from proxies and what `aztp audit` reads: audit
// records in JSON Lines. Each line that parses as a record must survive the
// JSON round trip with the same hash; the chain checker must name a bad seq
// exactly when it fails; the filter must not crash. Route patterns and
// request paths (the proxy's gate) are fuzzed from the same input: the
// first line is a pattern, the second a path.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "aztp/audit/audit.h"
#include "aztp/encoding/json.h"
#include "aztp/http/target.h"
#include "aztp/proxy/gate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  aztp::AuditChainChecker checker;
  aztp::AuditFilter filter;
  filter.identity = "spiffe://org-a.example/agents/research";
  filter.action = "proxy.";
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start <= input.size() && lines.size() < 64) {
    std::size_t end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    lines.push_back(input.substr(start, end - start));
    start = end + 1;
  }
  for (std::string_view line : lines) {
    auto json = aztp::ParseJson(line);
    if (!json) continue;
    auto record = aztp::AuditRecordFromJson(*json);
    if (!record) continue;
    auto again = aztp::AuditRecordFromJson(aztp::AuditRecordJson(*record));
    if (!again || aztp::AuditHash(*again) != aztp::AuditHash(*record)) {
      std::abort();
    }
    (void)aztp::AuditMatches(filter, *record);
    checker.Add(*record);
    if (checker.ok() != !checker.bad_seq().has_value()) std::abort();
    if (!checker.ok() && checker.reason().empty()) std::abort();
  }
  if (lines.size() >= 2) {
    aztp::ProxyRoute route;
    route.method = "*";
    route.path = std::string(lines[0]);
    route.action = "x:y";
    const bool match = aztp::MatchRoute(route, "GET", lines[1]);
    // Where the proxy routes at all (a canonical path, http/target.h, and a
    // pattern the configuration accepts: canonical, no final '/'), a
    // pattern without wildcards matches exactly itself, and itself with
    // one final '/' (docs/proxy.md, "What the proxy accepts").
    const std::string_view pattern = lines[0], path = lines[1];
    if (aztp::http::CheckPath(pattern) && aztp::http::CheckPath(path) &&
        pattern.find('*') == std::string_view::npos &&
        (pattern == "/" || pattern.back() != '/')) {
      const bool itself =
          path == pattern ||
          (pattern != "/" && path.size() == pattern.size() + 1 &&
           path.substr(0, pattern.size()) == pattern && path.back() == '/');
      if (match != itself) std::abort();
    }
    (void)aztp::IsProxyHeader(lines[1]);
    (void)aztp::IsHopByHopHeader(lines[1]);
  }
  return 0;
}

// Fuzzes the incremental server-sent events reader (proxy/sse.h) with
// untrusted streams: read whole or cut in two at any point, a stream gives
// the same events; each event's raw bytes are bounded and end its blank
// line; a rendered event reads back to the same fields.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/proxy/sse.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

constexpr std::size_t kBound = 4096;

// ReadAll feeds `parts` in order; false once the reader refuses.
bool ReadAll(const std::vector<std::string_view>& parts,
             std::vector<aztp::SseEvent>& out) {
  aztp::SseReader r(kBound);
  for (std::string_view p : parts) {
    auto events = r.Feed(p);
    if (!events) {
      Check(events.error().code() == aztp::Code::kTooLarge);
      return false;
    }
    out.insert(out.end(), events->begin(), events->end());
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::size_t cut = data[0] % size;
  std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<aztp::SseEvent> whole, parts;
  const bool ok_whole = ReadAll({stream}, whole);
  const bool ok_parts = ReadAll(
      {stream.substr(0, cut), stream.substr(std::min(cut, stream.size()))},
      parts);
  Check(ok_whole == ok_parts);
  Check(whole.size() == parts.size());
  for (std::size_t i = 0; i < whole.size(); ++i) {
    const aztp::SseEvent& e = whole[i];
    Check(e.data == parts[i].data && e.event == parts[i].event &&
          e.id == parts[i].id && e.retry == parts[i].retry &&
          e.raw == parts[i].raw);
    Check(e.raw.size() <= kBound);
    Check(!e.raw.empty() && (e.raw.back() == '\n' || e.raw.back() == '\r'));
    // A rendered event reads back the same, unless its fields hold line
    // breaks the rendering cannot carry (an event name or id with CR/LF is
    // impossible from a reader, which splits at them).
    std::vector<aztp::SseEvent> back;
    if (ReadAll({aztp::RenderSseEvent(e)}, back)) {
      Check(back.size() == 1 && back[0].data == e.data &&
            back[0].event == e.event && back[0].id == e.id &&
            back[0].retry == e.retry);
    }
  }
  return 0;
}

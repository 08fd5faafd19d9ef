// Server-sent events read incrementally from a relayed response, as the
// MCP and A2A streaming transports send them (HTML Living Standard,
// "Server-sent events", §9.2.6 "Interpreting an event stream"), so that
// aztp-proxy can pass each event on as soon as it is complete, and change
// the few it must (issue 17: a listing inside a stream is filtered like
// one in a JSON answer; not wired into the proxy yet).
//
// Lines end with CRLF, LF or CR, also when the two bytes of a CRLF arrive
// in different reads. A blank line ends an event. `data` lines are joined
// with LF; `event`, `id` and `retry` keep their last value (an `id` holding
// NUL and a `retry` that is not all digits are ignored, as the standard
// says); lines starting with ':' are comments; other fields are ignored. A
// byte-order mark at the very start is skipped (and is not in `raw`). An event
// is bounded: beyond `max_event_bytes` of pending bytes the reader fails with
// kTooLarge (the stream must then be cut, never buffered without end).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/result.h"

namespace aztp {

struct SseEvent {
  std::string event;  // "" when the stream did not name it ("message")
  std::string data;
  std::optional<std::string> id;
  std::optional<int64_t> retry;  // milliseconds
  bool has_data = false;         // at least one data line
  // raw is the event's bytes as they came, its blank line included, so
  // that an event passed on unchanged is byte for byte the same.
  std::string raw;
  // empty: only comments (an MCP keep-alive) or blank lines, nothing a
  // client dispatches; still returned, so that a relay passes it on.
  bool empty() const { return !has_data && event.empty() && !id && !retry; }
};

class SseReader {
 public:
  explicit SseReader(std::size_t max_event_bytes = std::size_t{1} << 20)
      : max_event_bytes_(max_event_bytes) {}

  // Feed reads the next bytes of the stream and returns the events they
  // complete, in order (possibly none). kTooLarge when the event being read
  // exceeds the bound; the reader is then unusable.
  Result<std::vector<SseEvent>> Feed(std::string_view bytes);

  // pending is the number of bytes read but not yet part of an event.
  std::size_t pending() const { return raw_.size(); }

 private:
  void Line(std::string_view line);

  const std::size_t max_event_bytes_;
  bool started_ = false;   // past a possible byte-order mark (until then
                           // line_ holds the bytes that may be one)
  bool after_cr_ = false;  // the last byte read was a CR ending a line
  bool failed_ = false;
  std::string line_;  // the line being read
  std::string raw_;   // the event's bytes so far
  SseEvent event_;    // the event being built
  std::vector<SseEvent>* out_ = nullptr;
};

// RenderSseEvent writes an event (its event, id, retry and data fields;
// one data line per line of `data`), ending with a blank line.
std::string RenderSseEvent(const SseEvent& event);

}  // namespace aztp

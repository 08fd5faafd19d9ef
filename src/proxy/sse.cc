#include "aztp/proxy/sse.h"

#include <utility>

namespace aztp {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool AllDigits(std::string_view s) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

// Line interprets one complete line (its ending removed).
void SseReader::Line(std::string_view line) {
  if (line.empty()) {
    // A blank line dispatches the event (one holding nothing but comments
    // and blank lines too, so that a relay keeps its bytes).
    SseEvent done = std::move(event_);
    done.raw = std::move(raw_);
    event_ = SseEvent{};
    raw_.clear();
    out_->push_back(std::move(done));
    return;
  }
  if (line.front() == ':') return;  // a comment
  std::string_view field = line;
  std::string_view value;
  if (auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (event_.has_data) event_.data += '\n';
    event_.data += value;
    event_.has_data = true;
  } else if (field == "event") {
    event_.event = std::string(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) {
      event_.id = std::string(value);
    }
  } else if (field == "retry") {
    if (AllDigits(value)) event_.retry = std::stoll(std::string(value));
  }
}

Result<std::vector<SseEvent>> SseReader::Feed(std::string_view bytes) {
  if (failed_) return Error(Code::kTooLarge, "event stream: already cut");
  std::vector<SseEvent> out;
  out_ = &out;
  std::string head;  // the stream's first bytes, while a mark may be there
  if (!started_) {
    head = std::move(line_) + std::string(bytes);
    line_.clear();
    if (head.size() < kBom.size() && kBom.starts_with(head)) {
      line_ = std::move(head);  // the mark may still be arriving
      return out;
    }
    started_ = true;
    bytes = head;
    if (bytes.starts_with(kBom)) bytes.remove_prefix(kBom.size());
  }
  for (char c : bytes) {
    raw_ += c;
    if (raw_.size() > max_event_bytes_) {
      failed_ = true;
      return Error(Code::kTooLarge, "event stream: an event over " +
                                        std::to_string(max_event_bytes_) +
                                        " bytes");
    }
    if (c == '\n' && after_cr_) {
      after_cr_ = false;  // the LF of a CRLF whose line already ended
      continue;
    }
    after_cr_ = c == '\r';
    if (c == '\n' || c == '\r') {
      std::string line = std::move(line_);
      line_.clear();
      Line(line);
    } else {
      line_ += c;
    }
  }
  return out;
}

std::string RenderSseEvent(const SseEvent& e) {
  std::string out;
  if (!e.event.empty()) out += "event: " + e.event + "\n";
  if (e.id) out += "id: " + *e.id + "\n";
  if (e.retry) out += "retry: " + std::to_string(*e.retry) + "\n";
  if (e.has_data) {
    std::size_t start = 0;
    for (;;) {
      std::size_t lf = e.data.find('\n', start);
      out += "data: " + e.data.substr(start, lf - start) + "\n";
      if (lf == std::string::npos) break;
      start = lf + 1;
    }
  }
  out += "\n";
  return out;
}

}  // namespace aztp

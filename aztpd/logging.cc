#include "logging.h"

#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <memory>
#include <string>

namespace aztpd {

namespace {

using aztp::Json;

std::atomic<bool> json_format{false};

std::string_view LevelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    default:
      return "error";
  }
}

spdlog::level::level_enum ToSpdlog(aztp::LogLevel level) {
  switch (level) {
    case aztp::LogLevel::kTrace:
      return spdlog::level::trace;
    case aztp::LogLevel::kDebug:
      return spdlog::level::debug;
    case aztp::LogLevel::kInfo:
      return spdlog::level::info;
    case aztp::LogLevel::kWarn:
      return spdlog::level::warn;
    case aztp::LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

// Rfc3339Millis formats a time as 2024-05-01T12:00:00.123Z.
std::string Rfc3339Millis(spdlog::log_clock::time_point t) {
  auto since = t.time_since_epoch();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(since - secs);
  std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ",
                static_cast<int>(millis.count()));
  return buf;
}

// JsonFormatter writes each record as one JSON object. Log hands its
// fields over as a JSON object text; any other message (a direct spdlog
// call) becomes the member "msg", so every line parses.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    std::string_view payload(msg.payload.data(), msg.payload.size());
    Json line = Json::object();
    line["time"] = Rfc3339Millis(msg.time);
    line["level"] = LevelName(msg.level);
    Json fields;
    if (!payload.empty() && payload.front() == '{') {
      fields = Json::parse(payload, nullptr, /*allow_exceptions=*/false);
    }
    if (fields.is_object()) {
      for (auto& [key, value] : fields.items()) {
        if (key != "time" && key != "level") line[key] = value;
      }
    } else {
      line["msg"] = std::string(payload);
    }
    std::string out = aztp::DumpJson(line);
    out += '\n';
    dest.append(out.data(), out.data() + out.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// TextValue writes a field value for a text line: plain when it is a
// simple token, JSON-quoted (so escaped) otherwise; no value can break the
// line.
std::string TextValue(const Json& value) {
  if (!value.is_string()) return aztp::DumpJson(value);
  const std::string& s = value.get_ref<const std::string&>();
  bool plain = !s.empty();
  for (char c : s) {
    if (c <= ' ' || c == '"' || c == '\\' || c == '=' || c > '~') plain = false;
  }
  return plain ? s : aztp::DumpJson(value);
}

// SafeText keeps at most `max` bytes of untrusted request text and writes
// every byte outside printable ASCII as \xNN.
std::string SafeText(std::string_view text, std::size_t max) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (char ch : text.substr(0, max)) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += ch;
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (text.size() > max) out += "...";
  return out;
}

}  // namespace

void InitLogging(aztp::LogLevel level, aztp::LogFormat format) {
  auto logger = spdlog::stderr_logger_mt("aztpd");
  if (format == aztp::LogFormat::kJson) {
    json_format = true;
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    json_format = false;
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v",
                        spdlog::pattern_time_type::utc);
  }
  logger->set_level(ToSpdlog(level));
  // Each line is written whole; flushing every one keeps the log complete
  // when the process is killed.
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

void Log(spdlog::level::level_enum level, std::string_view event,
         const Json& fields) {
  auto logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  if (json_format) {
    Json payload = Json::object();
    payload["msg"] = std::string(event);
    for (const auto& [key, value] : fields.items()) payload[key] = value;
    logger->log(level, "{}", aztp::DumpJson(payload));
    return;
  }
  std::string line(event);
  for (const auto& [key, value] : fields.items()) {
    line += ' ';
    line += key;
    line += '=';
    line += TextValue(value);
  }
  logger->log(level, "{}", line);
}

void Log(aztp::LogLevel level, std::string_view event, const Json& fields) {
  Log(ToSpdlog(level), event, fields);
}

namespace {

// Withheld moves the message of an internal error (500) from the answer to
// the log: its words may be the database's or a library's, naming tables,
// constraints or files, which are the operator's to read, not a client's.
void Withheld(aztp::http::Response& response, Json& fields) {
  if (response.status != 500) return;
  auto doc = aztp::ParseJson(response.body);
  if (!doc || !doc->is_object()) return;
  auto message = doc->find("message");
  if (message == doc->end() || !message->is_string()) return;
  fields["error_message"] =
      SafeText(message->get_ref<const std::string&>(), 512);
  *message = "internal error; aztpd's log has the details";
  response.body = aztp::DumpJson(*doc);
}

}  // namespace

aztp::http::Handler WithAccessLog(aztp::http::Handler handler) {
  return [handler = std::move(handler)](const aztp::http::Request& request) {
    const auto started = std::chrono::steady_clock::now();
    aztp::http::Response response = handler(request);
    const double ms = std::chrono::duration<double, std::milli>(
                          std::chrono::steady_clock::now() - started)
                          .count();
    Json fields{{"method", SafeText(request.method, 16)},
                {"path", SafeText(request.path, 256)},
                {"status", response.status},
                {"latency_ms", std::round(ms * 1000) / 1000},
                {"remote", SafeText(request.remote, 64)}};
    if (request.peer) fields["peer"] = request.peer->str();
    Withheld(response, fields);
    Log(response.status >= 500 ? spdlog::level::warn : spdlog::level::info,
        "request", fields);
    return response;
  };
}

}  // namespace aztpd

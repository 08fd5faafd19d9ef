// Logging for aztpd: spdlog on stderr, as readable text or one JSON object
// per line, and the access log (docs/aztpd.md "Logging").
//
// Nothing logged here carries a secret: events name methods, paths, SPIFFE
// IDs and error reasons, never headers, bodies, keys or tokens.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

#include "aztp/config/aztpd_config.h"
#include "aztp/encoding/json.h"
#include "aztp/http/http.h"

namespace aztpd {

// InitLogging makes a stderr logger of `level` and `format` the default.
void InitLogging(aztp::LogLevel level, aztp::LogFormat format);

// Log records `event` with structured `fields` (a JSON object): members of
// the line in the json format, ` key=value` pairs after it in text.
void Log(spdlog::level::level_enum level, std::string_view event,
         const aztp::Json& fields = aztp::Json::object());

// Log with the library's level (e.g. for events of aztp::Proxy).
void Log(aztp::LogLevel level, std::string_view event,
         const aztp::Json& fields = aztp::Json::object());

// WithAccessLog wraps `handler` so that every request it answers is logged
// at info (warn for a 5xx): method, path (without the query, which may
// carry tokens), status, latency in milliseconds, remote address and, for
// mTLS clients, their SPIFFE ID. An internal error's (500) message goes to
// the log as `error_message`; the client is told only that it happened.
aztp::http::Handler WithAccessLog(aztp::http::Handler handler);

}  // namespace aztpd

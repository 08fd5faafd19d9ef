// Test support (no test framework inside): reading a URL's query and an
// answer's header, and making the GET request a browser sends to a URL,
// for the tests of redirect-based flows (aztpd's login callback).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "aztp/http/form.h"
#include "aztp/http/http.h"

namespace aztp::test_support {

// QueryOf is the decoded query of `url` (empty when it has none or it does
// not parse as a form).
inline std::map<std::string, std::string> QueryOf(std::string_view url) {
  std::map<std::string, std::string> q;
  const std::size_t at = url.find('?');
  if (at == std::string_view::npos || !http::ParseForm(url.substr(at + 1), q)) {
    q.clear();
  }
  return q;
}

// HeaderOf is the value of the answer's header `name` (as written), or "".
inline std::string HeaderOf(const http::Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

// GetRequest is `GET path?query`, as the server parses it.
inline http::Request GetRequest(std::string_view path, std::string_view query) {
  http::Request r;
  r.method = "GET";
  r.path = std::string(path);
  r.target = r.path + "?" + std::string(query);
  (void)http::ParseForm(query, r.query);
  return r;
}

}  // namespace aztp::test_support

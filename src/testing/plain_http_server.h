// Test support: a plain http server (no TLS) on 127.0.0.1, the stand-in
// for a local test server that a client may reach over loopback http
// (http::ClientOptions::allow_loopback_http); http::Server speaks TLS only.
// One connection at a time, one request per connection, answered with
// "Connection: close". Failures abort: this is fixture code.
#pragma once

#include <cstdint>
#include <memory>

#include "aztp/http/http.h"

namespace aztp::test_support {

class PlainHttpServer {
 public:
  // The server listens on 127.0.0.1, on a free port, until destroyed;
  // `handler` answers each request on the server's one thread.
  explicit PlainHttpServer(http::Handler handler);
  PlainHttpServer(const PlainHttpServer&) = delete;
  PlainHttpServer& operator=(const PlainHttpServer&) = delete;
  ~PlainHttpServer();

  uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aztp::test_support

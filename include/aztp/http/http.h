// A small HTTPS/1.1 server and client on Boost.Beast and Asio for aztp's
// daemons and SDK: TLS 1.3 only, keep-alive, a fixed pool of worker threads,
// bounded requests, timeouts, graceful shutdown. Handlers see the verified
// SPIFFE ID of an mTLS client when there is one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/bundle/bundle.h"
#include "aztp/spiffeid/spiffe_id.h"
#include "aztp/tls/tls.h"

namespace aztp::http {

// Request is one parsed request.
struct Request {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // path and query as sent
  std::string path;                            // without the query
  std::map<std::string, std::string> query;    // decoded, last value wins
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  // peer is the client's SPIFFE ID when it presented an X.509-SVID that
  // verified against the server's bundle source.
  std::optional<SpiffeId> peer;
  std::string remote;  // "ip:port"

  // Header returns a header's value (name in any case) or "".
  std::string Header(const std::string& name) const;
};

// Response is what a handler returns.
struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Handler answers one request; it runs on a worker thread and must be
// thread-safe.
using Handler = std::function<Response(const Request&)>;

// ServerOptions configure a Server.
struct ServerOptions {
  std::string listen = "127.0.0.1:0";  // host:port; port 0 = any
  int threads = 2;
  std::size_t max_header_bytes = 16 << 10;
  std::size_t max_body_bytes = 1 << 20;
  int read_timeout_seconds = 10;  // per request, from first byte
  int idle_timeout_seconds = 60;  // keep-alive between requests
  // handshake_timeout_seconds bounds the TLS handshake, from accept; 0
  // means read_timeout_seconds.
  int handshake_timeout_seconds = 0;
  // max_connections caps the open connections (handshaking, idle or busy):
  // one more is closed as soon as it is accepted, before any TLS, so that a
  // flood of idle connections costs this listener at most that many
  // descriptors.
  int max_connections = 1024;
  // on_connection_refused, when set, hears each connection closed because
  // max_connections were open (e.g. to count it); it runs on the accepting
  // thread and must be quick and thread-safe.
  std::function<void()> on_connection_refused;
  // tls_context supplies the server's TLS context; it is called for every
  // new connection so that a rotated SVID is used without a restart.
  std::function<std::shared_ptr<SSL_CTX>()> tls_context;
  // bundles verify client certificates (absent: clients are anonymous).
  std::shared_ptr<const BundleSource> bundles;
  // A client whose certificate does not verify (its trust domain unknown,
  // e.g. after `federation remove`; a wrong CA; expired) is answered 401
  // with the verification's reason on each request of the connection, its
  // requests never reach the handler, and the connection closes after the
  // first answer. on_peer_refused, when set, hears each such connection
  // once: the presented ID (empty when the leaf names none), the remote
  // "ip:port" and the error. It runs on the connection's thread.
  std::function<void(std::string_view presented_id, std::string_view remote,
                     const Error& error)>
      on_peer_refused;
  const Clock* clock = nullptr;  // default: system clock
};

// Server accepts connections until Shutdown.
class Server {
 public:
  // Start binds, starts the worker threads and returns once it accepts.
  static Result<std::unique_ptr<Server>> Start(ServerOptions options,
                                               Handler handler);
  ~Server();
  // port is the bound port.
  uint16_t port() const;
  // Shutdown stops accepting, lets in-flight requests finish for up to
  // `grace_seconds`, then closes everything (a handler still running then
  // is waited for; threads are not interrupted). Idempotent. Called from a
  // handler it returns at once and the shutdown completes in the
  // background.
  void Shutdown(int grace_seconds = 10);
  // Wait blocks until the server has shut down.
  void Wait();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ClientOptions configure a Client.
struct ClientOptions {
  std::string base_url;  // "https://host:port"
  // allow_loopback_http admits a base URL "http://127.0.0.1[:port]" or
  // "http://[::1][:port]" too: plain TCP, the server not authenticated at
  // all, for a test's local server. No trust source and no credentials may
  // be set with it. Any other http URL stays refused.
  bool allow_loopback_http = false;
  // Exactly one way to authenticate the server:
  std::shared_ptr<const BundleSource> bundles;  // SPIFFE: peer verified...
  std::optional<SpiffeId> server_id;            // ...and must be this ID
  std::string ca_file;                          // or web PKI: a CA file,
  std::string ca_pem;                           // the same as PEM text,
  bool system_cas = false;                      // or the system's CAs
  // Optional client credentials (mTLS).
  std::shared_ptr<const TlsCredentials> credentials;
  int timeout_seconds = 10;
  // max_response_bytes bounds the body of a response: one that announces or
  // sends more is kTooLarge, and its connection is closed.
  std::size_t max_response_bytes = std::size_t{64} << 20;
  const Clock* clock = nullptr;
};

// Client sends requests over one kept-alive connection (re-established
// when it breaks). Not thread-safe: use one per thread.
class Client {
 public:
  static Result<std::unique_ptr<Client>> Create(ClientOptions options);
  ~Client();
  // Connect opens the connection, authenticating the server, unless one is
  // already open. When it fails nothing has been sent, so a caller may try
  // another server even with a request that must not be repeated.
  Status Connect();
  // Send performs one request (connecting first when needed). When a
  // kept-alive connection turns out to have been closed by the server, the
  // request is sent again on a new connection if writing it failed; if
  // writing succeeded but no byte of the answer came, only when
  // `replayable` (the server may have acted on it: pass false for a request
  // that must not be applied twice). Then: transport and TLS
  // failures are kIo or kUnauthenticated (server identity), a body over
  // max_response_bytes is kTooLarge, HTTP errors (redirects too: never
  // followed) are returned as responses.
  Result<Response> Send(
      const std::string& method, const std::string& target,
      const std::string& body,
      const std::vector<std::pair<std::string, std::string>>& headers = {},
      bool replayable = true);

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace aztp::http

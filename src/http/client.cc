// The HTTPS client: synchronous from the caller's point of view, built on
// asynchronous operations run to completion on a private io_context so that
// every step (connect, handshake, write, read) has its own timeout through
// the beast::tcp_stream timer.

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "aztp/base/file.h"
#include "aztp/http/address.h"
#include "aztp/http/http.h"
#include "http/syntax.h"

namespace aztp::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

using internal::IsFieldValue;
using internal::IsToken;
using internal::ToLower;

constexpr std::string_view kUserAgent = "aztp/0.1";
// The limit on the header of what a server sends back (the body's is
// ClientOptions::max_response_bytes).
constexpr std::uint32_t kMaxResponseHeader = 64u << 10;

// IsTarget accepts an origin-form request target: '/' then visible ASCII.
bool IsTarget(std::string_view s) {
  if (s.empty() || s.front() != '/') return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  return true;
}

struct ParsedUrl {
  std::string host;         // without brackets
  std::string port;         // decimal
  std::string host_header;  // as it goes into Host
  bool host_is_ip = false;
  bool tls = true;  // false: plain http on a loopback address
};

bool IsLoopbackIp(const HostPort& a) {
  return a.host == "127.0.0.1" || a.host == "::1";
}

// ParseBaseUrl accepts "https://host[:port][/]" as http::ParseUrl reads
// it: a DNS name, an IPv4 address or a bracketed IPv6 address, the port
// 443 when it names none. With `loopback_http`, "http://127.0.0.1[:port]"
// and "http://[::1][:port]" too (port 80 by default).
Result<ParsedUrl> ParseBaseUrl(std::string_view text, bool loopback_http) {
  auto url = ParseUrl(text);
  const bool plain = url && url->scheme == "http" && loopback_http &&
                     IsLoopbackIp(url->address);
  if (!url || (url->scheme != "https" && !plain) || url->Target() != "/") {
    return Error(
        Code::kInvalidArgument,
        std::string("base URL must be https://host[:port]") +
            (loopback_http ? " or http:// on 127.0.0.1 or [::1]" : "") +
            ", not " + QuoteInput(text));
  }
  const HostPort& a = url->address;
  ParsedUrl out;
  out.tls = !plain;
  out.host = a.host;
  out.port = std::to_string(a.port);
  beast::error_code ec;
  asio::ip::make_address(a.host, ec);
  out.host_is_ip = !ec;
  // Host names the port unless it is the scheme's own (RFC 9110 §7.2).
  out.host_header = a.port == (plain ? 80 : 443) ? a.HostForUrl() : a.str();
  return out;
}

// LoadWebCas installs the web-PKI trust anchors of `o` (a PEM file, PEM
// text, or the system's store) as the only ones of `ctx` and turns on
// OpenSSL's standard chain verification.
Status LoadWebCas(SSL_CTX* ctx, const ClientOptions& o) {
  if (o.system_cas) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      ERR_clear_error();
      return Error(Code::kUnavailable, "cannot load the system's CAs");
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    return Ok();
  }
  std::string pem = o.ca_pem;
  std::string path = o.ca_file.empty() ? "(PEM text)" : o.ca_file;
  if (!o.ca_file.empty()) {
    AZTP_ASSIGN_OR_RETURN(pem, ReadFile(o.ca_file));
  }
  auto certs = ParsePemCertificates(pem, 256);
  if (!certs) return certs.error().WithContext("CA file " + path);
  X509_STORE* store = X509_STORE_new();
  if (store == nullptr) {
    return Error(Code::kInternal, "cannot create a certificate store");
  }
  SSL_CTX_set_cert_store(ctx, store);  // takes ownership
  for (const Certificate& cert : *certs) {
    if (X509_STORE_add_cert(store, cert.x509()) != 1) {
      ERR_clear_error();
      return Error(Code::kInvalidArgument,
                   "cannot use a certificate of CA file " + path);
    }
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return Ok();
}

bool IsStaleConnectionError(const beast::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe ||
         ec == asio::ssl::error::stream_truncated;
}

}  // namespace

struct Client::Impl {
  using Stream = asio::ssl::stream<beast::tcp_stream>;

  ClientOptions options;
  const Clock* clock = nullptr;
  ParsedUrl url;
  std::shared_ptr<SSL_CTX> ctx;
  asio::io_context ioc{1};
  std::optional<asio::ssl::context> asio_ctx;
  std::optional<Stream> stream;            // https
  std::optional<beast::tcp_stream> plain;  // loopback http
  beast::flat_buffer buffer;
  // used: a request has been written on the open connection, so a failure
  // of the next one may be the server having closed it while idle.
  bool used = false;

  ~Impl() { Disconnect(); }

  std::chrono::seconds Timeout() const {
    return std::chrono::seconds(options.timeout_seconds);
  }
  bool connected() const { return stream.has_value() || plain.has_value(); }
  beast::tcp_stream& Lowest() {
    return plain ? *plain : beast::get_lowest_layer(*stream);
  }
  bool web_pki() const {
    return !options.ca_file.empty() || !options.ca_pem.empty() ||
           options.system_cas;
  }

  // Run starts one asynchronous operation and runs the io_context until it
  // completes (its timeout included).
  template <typename Initiate>
  beast::error_code Run(Initiate&& initiate) {
    beast::error_code result = asio::error::would_block;
    bool done = false;
    initiate([&result, &done](beast::error_code ec, auto&&...) {
      result = ec;
      done = true;
    });
    ioc.restart();
    while (!done && ioc.run_one() > 0) {
    }
    if (!done) result = asio::error::operation_aborted;
    return result;
  }

  // Exchange is Run for an operation on the connection's stream, whichever
  // it is: op(stream, handler).
  template <typename Op>
  beast::error_code Exchange(Op op) {
    return Run([&](auto handler) {
      if (plain) {
        op(*plain, std::move(handler));
      } else {
        op(*stream, std::move(handler));
      }
    });
  }

  // Read reads one response into `parser`: the header first, on its own,
  // because this Beast, reading eagerly, drops the body_limit error of a
  // Content-Length over the limit when body bytes come with the header.
  // One deadline covers both reads.
  beast::error_code Read(bhttp::response_parser<bhttp::string_body>& parser) {
    Lowest().expires_after(Timeout());
    beast::error_code ec = Exchange([&](auto& stream, auto handler) {
      bhttp::async_read_header(stream, buffer, parser, std::move(handler));
    });
    if (!ec && !parser.is_done()) {
      ec = Exchange([&](auto& stream, auto handler) {
        bhttp::async_read(stream, buffer, parser, std::move(handler));
      });
    }
    return ec;
  }

  void Disconnect() {
    if (connected()) {
      beast::error_code ignored;
      Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
      Lowest().close();
      // Let the cancelled operations complete before the stream goes.
      ioc.restart();
      ioc.poll();
      stream.reset();
      plain.reset();
    }
    buffer.clear();
    used = false;
    ERR_clear_error();
  }

  Status Connect();
  Status Authenticate();
};

Status Client::Impl::Connect() {
  Disconnect();
  const std::string where = url.host_header;
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  auto endpoints =
      resolver.resolve(url.host, url.port, tcp::resolver::numeric_service, ec);
  if (ec) {
    return Error(Code::kIo, "cannot resolve " + where + ": " + ec.message());
  }
  if (url.tls) {
    stream.emplace(ioc, *asio_ctx);
  } else {
    plain.emplace(ioc);
  }
  Lowest().expires_after(Timeout());
  ec = Run([&](auto handler) {
    Lowest().async_connect(endpoints, std::move(handler));
  });
  if (ec) {
    Disconnect();
    return Error(Code::kIo, "cannot connect to " + where + ": " + ec.message());
  }
  beast::error_code ignored;
  Lowest().socket().set_option(tcp::no_delay(true), ignored);
  if (!url.tls) return Ok();  // loopback http: nobody to authenticate

  SSL* ssl = stream->native_handle();
  if (!url.host_is_ip) SSL_set_tlsext_host_name(ssl, url.host.c_str());
  if (web_pki()) {
    // Standard verification (enabled on the context) plus the name check:
    // an IP address must be an IP SAN; a DNS name must match a DNS SAN.
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
                               X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
    int ok = url.host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
                                                            url.host.c_str())
                            : SSL_set1_host(ssl, url.host.c_str());
    if (ok != 1) {
      Disconnect();
      return Error(Code::kInternal, "cannot set the expected server name");
    }
  }
  Lowest().expires_after(Timeout());
  ec = Run([&](auto handler) {
    stream->async_handshake(asio::ssl::stream_base::client, std::move(handler));
  });
  if (ec) {
    long verify = SSL_get_verify_result(ssl);
    Disconnect();
    if (web_pki() && verify != X509_V_OK) {
      return Error(Code::kUnauthenticated,
                   "server certificate of " + where +
                       " rejected: " + X509_verify_cert_error_string(verify));
    }
    return Error(Code::kIo,
                 "TLS handshake with " + where + " failed: " + ec.message());
  }
  Status auth = Authenticate();
  if (!auth) Disconnect();
  return auth;
}

Status Client::Impl::Authenticate() {
  SSL* ssl = stream->native_handle();
  const std::string where = url.host_header;
  if (web_pki()) {
    if (SSL_get0_peer_certificate(ssl) == nullptr ||
        SSL_get_verify_result(ssl) != X509_V_OK) {
      return Error(Code::kUnauthenticated,
                   "server " + where + " presented no valid certificate");
    }
    return Ok();
  }
  auto verified = VerifyPeer(ssl, *options.bundles, clock->Now());
  if (!verified) {
    return Error(Code::kUnauthenticated,
                 "server " + where + " is not authenticated: " +
                     std::string(verified.error().reason()) + ": " +
                     verified.error().message());
  }
  if (verified->id() != *options.server_id) {
    return Error(Code::kUnauthenticated,
                 "server " + where + " is " + verified->id().str() +
                     ", expected " + options.server_id->str());
  }
  return Ok();
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Client::~Client() = default;

namespace {

// CheckAuthentication checks that `options` authenticate the server one
// way (`tls`), or not at all and present no credentials (loopback http).
Status CheckAuthentication(const ClientOptions& options, bool tls) {
  bool spiffe = options.bundles != nullptr;
  const int web_sources =
      !options.ca_file.empty() + !options.ca_pem.empty() + options.system_cas;
  bool web_pki = web_sources > 0;
  if (!tls) {
    if (spiffe || web_pki || options.server_id || options.credentials) {
      return Error(Code::kInvalidArgument,
                   "a loopback http client authenticates no server and "
                   "presents no credentials");
    }
    return Ok();
  }
  if (spiffe == web_pki || web_sources > 1) {
    return Error(Code::kInvalidArgument,
                 "client needs exactly one of bundles, ca_file, ca_pem and "
                 "system_cas");
  }
  if (spiffe && !options.server_id.has_value()) {
    return Error(Code::kInvalidArgument,
                 "client with bundles needs the server's SPIFFE ID");
  }
  if (web_pki && options.server_id.has_value()) {
    return Error(Code::kInvalidArgument,
                 "server_id applies only with bundles, not with web PKI");
  }
  return Ok();
}

}  // namespace

Result<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  AZTP_ASSIGN_OR_RETURN(
      ParsedUrl url,
      ParseBaseUrl(options.base_url, options.allow_loopback_http));
  AZTP_RETURN_IF_ERROR(CheckAuthentication(options, url.tls));
  if (options.timeout_seconds < 1) {
    return Error(Code::kInvalidArgument, "client timeout must be positive");
  }
  std::shared_ptr<SSL_CTX> ctx;
  if (url.tls) {
    AZTP_ASSIGN_OR_RETURN(ctx, MakeClientContext(options.credentials.get()));
    if (options.bundles == nullptr) {
      AZTP_RETURN_IF_ERROR(LoadWebCas(ctx.get(), options));
    }
  }

  auto impl = std::make_unique<Impl>();
  impl->clock =
      options.clock != nullptr ? options.clock : &SystemClock::Default();
  impl->options = std::move(options);
  impl->url = std::move(url);
  impl->ctx = std::move(ctx);
  if (impl->ctx != nullptr) {
    // The asio wrapper owns one reference of its own.
    SSL_CTX_up_ref(impl->ctx.get());
    impl->asio_ctx.emplace(impl->ctx.get());
  }
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

namespace {

// SetHeaders adds the caller's headers to `req`; those that frame the
// message are the client's own.
Status SetHeaders(
    bhttp::request<bhttp::string_body>& req,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  for (const auto& [name, value] : headers) {
    std::string lower = ToLower(name);
    if (!IsToken(name) || !IsFieldValue(value)) {
      return Error(Code::kInvalidArgument,
                   "bad request header " + QuoteInput(name));
    }
    if (lower == "content-length" || lower == "transfer-encoding" ||
        lower == "connection") {
      return Error(
          Code::kInvalidArgument,
          "request header " + QuoteInput(name) + " is set by the client");
    }
    req.set(name, value);
  }
  return Ok();
}

Response ToResponse(bhttp::response<bhttp::string_body> res) {
  Response out;
  out.status = static_cast<int>(res.result_int());
  out.content_type = std::string(res[bhttp::field::content_type]);
  for (const auto& field : res.base()) {
    out.headers.emplace_back(ToLower(field.name_string()),
                             std::string(field.value()));
  }
  out.body = std::move(res.body());
  return out;
}

}  // namespace

Status Client::Connect() {
  if (impl_->connected()) return Ok();
  return impl_->Connect();
}

Result<Response> Client::Send(
    const std::string& method, const std::string& target,
    const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers,
    bool replayable) {
  if (!IsToken(method)) {
    return Error(Code::kInvalidArgument,
                 "bad HTTP method " + QuoteInput(method));
  }
  if (!IsTarget(target)) {
    return Error(Code::kInvalidArgument,
                 "bad request target " + QuoteInput(target));
  }
  bhttp::request<bhttp::string_body> req;
  req.version(11);
  req.method_string(method);
  req.target(target);
  req.set(bhttp::field::host, impl_->url.host_header);
  req.set(bhttp::field::user_agent, kUserAgent);
  if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
  AZTP_RETURN_IF_ERROR(SetHeaders(req, headers));
  req.body() = body;
  req.prepare_payload();

  Impl& im = *impl_;
  for (int attempt = 0;; ++attempt) {
    // A kept-alive connection may have been closed by the server since the
    // last request (idle timeout, restart); such a failure before any byte
    // of the response arrives is retried once on a fresh connection.
    bool reused = im.connected() && im.used;
    if (!im.connected()) AZTP_RETURN_IF_ERROR(im.Connect());
    bool may_retry = reused && attempt == 0;
    im.used = true;

    im.Lowest().expires_after(im.Timeout());
    beast::error_code ec = im.Exchange([&](auto& stream, auto handler) {
      bhttp::async_write(stream, req, std::move(handler));
    });
    if (ec) {
      im.Disconnect();
      if (may_retry && IsStaleConnectionError(ec)) continue;
      return Error(Code::kIo, "sending to " + im.url.host_header +
                                  " failed: " + ec.message());
    }

    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(im.options.max_response_bytes);
    parser.header_limit(kMaxResponseHeader);
    if (req.method() == bhttp::verb::head) parser.skip(true);
    ec = im.Read(parser);
    if (ec) {
      im.Disconnect();
      if (ec == bhttp::error::body_limit) {
        return Error(Code::kTooLarge,
                     "the answer of " + im.url.host_header + " exceeds " +
                         std::to_string(im.options.max_response_bytes) +
                         " bytes");
      }
      if (may_retry && replayable && IsStaleConnectionError(ec)) continue;
      return Error(Code::kIo, "reading from " + im.url.host_header +
                                  " failed: " + ec.message());
    }

    bhttp::response<bhttp::string_body> res = parser.release();
    if (!res.keep_alive()) im.Disconnect();
    return ToResponse(std::move(res));
  }
}

}  // namespace aztp::http

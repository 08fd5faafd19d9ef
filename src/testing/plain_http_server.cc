#include "testing/plain_http_server.h"

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>

#include "aztp/http/form.h"
#include "http/syntax.h"

namespace aztp::test_support {

namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using boost::beast::error_code;

namespace {

http::Request ToRequest(const bhttp::request<bhttp::string_body>& req,
                        const tcp::socket& socket) {
  http::Request r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  const std::size_t q = r.target.find('?');
  r.path = r.target.substr(0, q);
  if (q != std::string::npos) http::ParseForm(r.target.substr(q + 1), r.query);
  for (const auto& field : req) {
    r.headers[http::internal::ToLower(field.name_string())] =
        std::string(field.value());
  }
  r.body = req.body();
  error_code ec;
  auto remote = socket.remote_endpoint(ec);
  if (!ec) {
    r.remote =
        remote.address().to_string() + ":" + std::to_string(remote.port());
  }
  return r;
}

}  // namespace

struct PlainHttpServer::Impl {
  boost::asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  http::Handler handler;
  std::atomic<bool> stopping{false};
  uint16_t port = 0;
  std::thread thread;

  void Serve() {
    while (!stopping.load()) {
      tcp::socket socket(ioc);
      error_code ec;
      acceptor.accept(socket, ec);
      if (stopping.load()) return;
      if (ec) continue;
      boost::beast::flat_buffer buffer;
      bhttp::request<bhttp::string_body> req;
      bhttp::read(socket, buffer, req, ec);
      if (ec) continue;
      http::Response out = handler(ToRequest(req, socket));
      bhttp::response<bhttp::string_body> res;
      res.version(11);
      res.result(static_cast<unsigned>(out.status));
      res.set(bhttp::field::content_type, out.content_type);
      for (const auto& [name, value] : out.headers) res.set(name, value);
      res.body() = std::move(out.body);
      res.keep_alive(false);
      res.prepare_payload();
      bhttp::write(socket, res, ec);
      socket.shutdown(tcp::socket::shutdown_both, ec);
    }
  }
};

PlainHttpServer::PlainHttpServer(http::Handler handler)
    : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  error_code ec;
  const tcp::endpoint any(boost::asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(any.protocol(), ec);
  if (!ec) impl_->acceptor.bind(any, ec);
  if (!ec)
    impl_->acceptor.listen(boost::asio::socket_base::max_listen_connections,
                           ec);
  if (!ec) impl_->port = impl_->acceptor.local_endpoint(ec).port();
  if (ec) {
    std::fprintf(stderr, "plain http server: %s\n", ec.message().c_str());
    std::abort();
  }
  impl_->thread = std::thread([impl = impl_.get()] { impl->Serve(); });
}

PlainHttpServer::~PlainHttpServer() {
  impl_->stopping.store(true);
  // Wake the blocking accept with a connection of our own.
  boost::asio::io_context ioc;
  tcp::socket wake(ioc);
  error_code ec;
  wake.connect(
      tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), impl_->port),
      ec);
  impl_->thread.join();
}

uint16_t PlainHttpServer::port() const { return impl_->port; }

}  // namespace aztp::test_support

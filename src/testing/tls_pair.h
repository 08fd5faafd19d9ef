// Two TLS connections joined in memory (a BIO pair: no sockets, no
// threads), for tests of TLS contexts and peer verification.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <utility>

namespace aztp::test_support {

struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;

// TlsPair is a client and a server connection joined in memory.
struct TlsPair {
  SslPtr client;
  SslPtr server;
};

inline TlsPair ConnectInMemory(SSL_CTX* client_ctx, SSL_CTX* server_ctx) {
  TlsPair p{SslPtr(SSL_new(client_ctx)), SslPtr(SSL_new(server_ctx))};
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  if (!p.client || !p.server ||
      BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) != 1) {
    std::abort();
  }
  SSL_set_bio(p.client.get(), client_bio, client_bio);
  SSL_set_bio(p.server.get(), server_bio, server_bio);
  SSL_set_connect_state(p.client.get());
  SSL_set_accept_state(p.server.get());
  return p;
}

// Handshake drives both ends until both are done (true) or one fails.
inline bool Handshake(const TlsPair& p) {
  bool client_done = false;
  bool server_done = false;
  for (int i = 0; i < 50 && !(client_done && server_done); ++i) {
    for (auto [ssl, done] : {std::pair{p.client.get(), &client_done},
                             std::pair{p.server.get(), &server_done}}) {
      if (*done) continue;
      int rc = SSL_do_handshake(ssl);
      if (rc == 1) {
        *done = true;
        continue;
      }
      int err = SSL_get_error(ssl, rc);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return false;
      }
    }
  }
  return client_done && server_done;
}

}  // namespace aztp::test_support

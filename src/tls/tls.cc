#include "aztp/tls/tls.h"

#include <openssl/ssl.h>

#include <utility>

#include "internal/ossl.h"

namespace aztp {

using internal::OpensslError;
using internal::OsslPtr;

namespace {

// AcceptDuringHandshake is the certificate verification callback of every
// context made here. It accepts whatever chain the peer presents, because
// OpenSSL's built-in check can only validate against a single trust store,
// while a SPIFFE peer must be validated against the bundle of *its own*
// trust domain (own or federated), which is only known once the leaf's URI
// SAN has been read. The handshake still proves that the peer holds the key
// of the leaf it presented (TLS 1.3 CertificateVerify); the identity itself
// is established afterwards by VerifyPeer (or, for web-PKI endpoints, by the
// caller), and a connection is not used before that succeeds.
int AcceptDuringHandshake(int /*preverify_ok*/, X509_STORE_CTX* /*ctx*/) {
  return 1;
}

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};

Result<std::shared_ptr<SSL_CTX>> NewContext(const SSL_METHOD* method) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(method), SslCtxFree());
  if (ctx == nullptr) {
    return OpensslError(Code::kInternal, "cannot create TLS context");
  }
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION) != 1) {
    return OpensslError(Code::kInternal, "cannot require TLS 1.3");
  }
  // No renegotiation exists in TLS 1.3; compression is off by default in
  // OpenSSL 3 but is disabled explicitly all the same.
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION);
  return ctx;
}

// UseCredentials installs the leaf, its intermediates and the key, and
// checks that the key belongs to the leaf.
Status UseCredentials(SSL_CTX* ctx, const TlsCredentials& creds) {
  if (creds.chain.empty()) {
    return Error(Code::kInvalidArgument, "TLS credentials have no certificate");
  }
  if (SSL_CTX_use_certificate(ctx, creds.chain.front().x509()) != 1) {
    return OpensslError(Code::kInvalidArgument,
                        "cannot use the TLS leaf certificate");
  }
  for (std::size_t i = 1; i < creds.chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, creds.chain[i].x509()) != 1) {
      return OpensslError(Code::kInvalidArgument,
                          "cannot add an intermediate certificate");
    }
  }
  if (SSL_CTX_use_PrivateKey(ctx, creds.key.evp()) != 1) {
    return OpensslError(Code::kInvalidArgument, "cannot use the TLS key");
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return OpensslError(Code::kInvalidArgument,
                        "TLS key does not match the leaf certificate");
  }
  return Ok();
}

}  // namespace

Result<std::shared_ptr<SSL_CTX>> MakeServerContext(const TlsCredentials& creds,
                                                   bool request_client_cert) {
  AZTP_ASSIGN_OR_RETURN(std::shared_ptr<SSL_CTX> ctx,
                        NewContext(TLS_server_method()));
  AZTP_RETURN_IF_ERROR(UseCredentials(ctx.get(), creds));
  // Every connection authenticates afresh: no session tickets and no
  // stateful cache, so a resumed session can never stand in for a new
  // client certificate check.
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  if (request_client_cert) {
    // Ask for a certificate but do not require one (no
    // SSL_VERIFY_FAIL_IF_NO_PEER_CERT): a client without one is anonymous.
    // Whatever the client presents is accepted here and verified by
    // VerifyPeer after the handshake, against the bundle of the client's
    // own trust domain; see AcceptDuringHandshake.
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, AcceptDuringHandshake);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  return ctx;
}

Result<std::shared_ptr<SSL_CTX>> MakeClientContext(
    const TlsCredentials* creds) {
  AZTP_ASSIGN_OR_RETURN(std::shared_ptr<SSL_CTX> ctx,
                        NewContext(TLS_client_method()));
  if (creds != nullptr) {
    AZTP_RETURN_IF_ERROR(UseCredentials(ctx.get(), *creds));
  }
  // The server's chain is accepted during the handshake; the caller
  // authenticates the server afterwards, with VerifyPeer against the bundle
  // of the server's trust domain or with a web-PKI check of its own (which
  // may replace this callback with OpenSSL's standard verification).
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, AcceptDuringHandshake);
  return ctx;
}

Result<VerifiedX509Svid> VerifyPeer(SSL* ssl, const BundleSource& bundles,
                                    UnixTime now) {
  if (ssl == nullptr) {
    return Error(Code::kInvalidArgument, "no TLS connection");
  }
  X509* leaf = SSL_get0_peer_certificate(ssl);
  if (leaf == nullptr) {
    return Error(Code::kUnauthenticated, "peer presented no certificate");
  }
  std::vector<Certificate> chain;
  AZTP_ASSIGN_OR_RETURN(Certificate leaf_cert, Certificate::FromX509(leaf));
  chain.push_back(std::move(leaf_cert));
  // SSL_get_peer_cert_chain holds the intermediates the peer sent. On a
  // client it starts with the server's leaf; on a server it excludes the
  // client's leaf.
  STACK_OF(X509)* presented = SSL_get_peer_cert_chain(ssl);
  int count = presented != nullptr ? sk_X509_num(presented) : 0;
  int first = SSL_is_server(ssl) ? 0 : 1;
  for (int i = first; i < count; ++i) {
    AZTP_ASSIGN_OR_RETURN(Certificate cert,
                          Certificate::FromX509(sk_X509_value(presented, i)));
    chain.push_back(std::move(cert));
  }
  return VerifyX509Svid(chain, bundles, now);
}

std::string ClaimedPeerId(SSL* ssl) {
  X509* leaf = ssl != nullptr ? SSL_get0_peer_certificate(ssl) : nullptr;
  if (leaf == nullptr) return "";
  auto cert = Certificate::FromX509(leaf);
  if (!cert) return "";
  auto id = X509SvidId(*cert);
  return id ? id->str() : "";
}

}  // namespace aztp

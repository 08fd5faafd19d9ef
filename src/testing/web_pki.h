// Test support: a conventional (non-SPIFFE) CA, the kind that signs a web
// server's certificate, with two server certificates over one key: one
// naming 127.0.0.1 in an IP SAN and one that does not. Failures abort:
// this is fixture code.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>

#include "aztp/base/clock.h"
#include "aztp/crypto/key.h"
#include "aztp/http/http.h"
#include "aztp/tls/tls.h"
#include "aztp/x509/builder.h"
#include "testing/trust_domains.h"

namespace aztp::test_support {

class WebPki {
 public:
  // The certificates are valid from `now` - 60 s for an hour.
  explicit WebPki(UnixTime now)
      : ca_key_(Must(PrivateKey::Generate(KeyType::kEcP256))),
        leaf_key_(Must(PrivateKey::Generate(KeyType::kEcP256))) {
    CertificateTemplate ca;
    ca.common_name = "test web ca";
    ca.ca = true;
    ca.key_usage = kKuKeyCertSign | kKuCrlSign;
    ca.not_before = now - 60;
    ca.not_after = now + 3600;
    ca_ = std::make_unique<Certificate>(
        Must(SignCertificate(ca, ca_key_.public_key(), nullptr, ca_key_)));
    CertificateTemplate leaf;
    leaf.common_name = "127.0.0.1";
    leaf.ca = false;
    leaf.key_usage = kKuDigitalSignature;
    leaf.eku_server_auth = true;
    leaf.not_before = now - 60;
    leaf.not_after = now + 3600;
    plain_leaf_ = std::make_unique<Certificate>(Must(
        SignCertificate(leaf, leaf_key_.public_key(), ca_.get(), ca_key_)));
    leaf.ip_sans = {"127.0.0.1"};
    ip_leaf_ = std::make_unique<Certificate>(Must(
        SignCertificate(leaf, leaf_key_.public_key(), ca_.get(), ca_key_)));
  }

  // ServerContext serves the certificate with the IP SAN, or the other.
  std::shared_ptr<SSL_CTX> ServerContext(bool with_ip_san) const {
    const Certificate& leaf = with_ip_san ? *ip_leaf_ : *plain_leaf_;
    return Must(MakeServerContext(TlsCredentials{{leaf}, leaf_key_}, false));
  }
  // ServerOptions are http::Server options that present it.
  http::ServerOptions ServerOptions(bool with_ip_san = true) const {
    http::ServerOptions o;
    auto ctx = ServerContext(with_ip_san);
    o.tls_context = [ctx] { return ctx; };
    return o;
  }
  std::string CaPem() const { return ca_->ToPem(); }

 private:
  PrivateKey ca_key_;
  PrivateKey leaf_key_;
  std::unique_ptr<Certificate> ca_;
  std::unique_ptr<Certificate> plain_leaf_;
  std::unique_ptr<Certificate> ip_leaf_;
};

}  // namespace aztp::test_support

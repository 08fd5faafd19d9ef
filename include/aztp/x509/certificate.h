// Certificate: an immutable, parsed X.509 certificate (RFC 5280), and PEM
// chain parsing with limits.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/bytes.h"
#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/crypto/digest.h"
#include "aztp/crypto/key.h"

namespace aztp {

// Certificate wraps one parsed certificate. Copies share the OpenSSL object;
// all accessors are const and thread-safe.
class Certificate {
 public:
  // FromDer parses one DER certificate; trailing bytes are kMalformed.
  static Result<Certificate> FromDer(std::span<const uint8_t> der);
  // FromX509 takes a reference to an OpenSSL certificate.
  static Result<Certificate> FromX509(X509* cert);

  const Bytes& der() const { return der_; }
  std::string ToPem() const;
  // Sha256Fingerprint is the SHA-256 of the DER encoding.
  Sha256Digest Sha256Fingerprint() const { return Sha256(der_); }

  const PublicKey& public_key() const { return public_key_; }
  UnixTime not_before() const { return not_before_; }
  UnixTime not_after() const { return not_after_; }
  // serial_hex is the serial number as minimal lowercase hexadecimal.
  const std::string& serial_hex() const { return serial_hex_; }
  // subject is the subject name in RFC 2253 form.
  std::string subject() const;
  // uri_sans lists the URI subjectAltNames in order.
  std::vector<std::string> uri_sans() const;
  // is_ca reports basicConstraints cA=TRUE.
  bool is_ca() const;

  // x509 is the OpenSSL object, borrowed.
  X509* x509() const { return cert_.get(); }

  friend bool operator==(const Certificate& a, const Certificate& b) {
    return a.der_ == b.der_;
  }

 private:
  Certificate(std::shared_ptr<X509> cert, Bytes der, PublicKey key)
      : cert_(std::move(cert)),
        der_(std::move(der)),
        public_key_(std::move(key)) {}
  std::shared_ptr<X509> cert_;
  Bytes der_;
  PublicKey public_key_;
  UnixTime not_before_ = 0;
  UnixTime not_after_ = 0;
  std::string serial_hex_;
};

// ParsePemCertificates parses the CERTIFICATE blocks of a PEM document in
// order. It fails when there is none, when a block is invalid, or when there
// are more than `max_certificates` (kTooLarge).
Result<std::vector<Certificate>> ParsePemCertificates(
    std::string_view pem, std::size_t max_certificates = 16);

// ToPem concatenates the PEM encodings of `certs`.
std::string ToPem(std::span<const Certificate> certs);

}  // namespace aztp

#include "aztp/x509/certificate.h"

#include <openssl/pem.h>

#include <cctype>
#include <ctime>

#include "internal/ossl.h"

namespace aztp {

using internal::OpensslError;
using internal::OsslPtr;

namespace {

Result<UnixTime> ToUnix(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return OpensslError(Code::kMalformed, "invalid certificate time");
  }
  return static_cast<UnixTime>(timegm(&tm));
}

}  // namespace

Result<Certificate> Certificate::FromX509(X509* cert) {
  if (cert == nullptr) return Error(Code::kInternal, "no certificate");
  unsigned char* der = nullptr;
  int n = i2d_X509(cert, &der);
  if (n <= 0) return OpensslError(Code::kMalformed, "encoding certificate");
  Bytes bytes(der, der + n);
  OPENSSL_free(der);
  return FromDer(bytes);
}

Result<Certificate> Certificate::FromDer(std::span<const uint8_t> der) {
  const unsigned char* p = der.data();
  OsslPtr<X509> x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x) return OpensslError(Code::kMalformed, "invalid certificate DER");
  if (p != der.data() + der.size()) {
    return Error(Code::kMalformed, "trailing data after certificate");
  }
  EVP_PKEY* pkey = X509_get0_pubkey(x.get());
  if (pkey == nullptr) {
    return OpensslError(Code::kMalformed, "certificate public key");
  }
  AZTP_ASSIGN_OR_RETURN(PublicKey key, PublicKey::FromEvp(pkey));
  AZTP_ASSIGN_OR_RETURN(UnixTime nb, ToUnix(X509_get0_notBefore(x.get())));
  AZTP_ASSIGN_OR_RETURN(UnixTime na, ToUnix(X509_get0_notAfter(x.get())));
  const ASN1_INTEGER* serial = X509_get0_serialNumber(x.get());
  OsslPtr<BIGNUM> bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) return OpensslError(Code::kMalformed, "certificate serial");
  if (BN_is_negative(bn.get())) {
    return Error(Code::kMalformed, "negative certificate serial");
  }
  char* hex = BN_bn2hex(bn.get());
  if (hex == nullptr) return OpensslError(Code::kInternal, "serial to hex");
  std::string serial_hex(hex);
  OPENSSL_free(hex);
  for (char& c : serial_hex) c = static_cast<char>(std::tolower(c));
  size_t nz = serial_hex.find_first_not_of('0');
  serial_hex = nz == std::string::npos ? "0" : serial_hex.substr(nz);

  Certificate cert(std::shared_ptr<X509>(x.release(), X509_free),
                   Bytes(der.begin(), der.end()), std::move(key));
  cert.not_before_ = nb;
  cert.not_after_ = na;
  cert.serial_hex_ = std::move(serial_hex);
  return cert;
}

std::string Certificate::ToPem() const {
  OsslPtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert_.get()) != 1) return {};
  return internal::BioContents(bio.get());
}

std::string Certificate::subject() const {
  OsslPtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio) return {};
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert_.get()), 0,
                     XN_FLAG_RFC2253);
  return internal::BioContents(bio.get());
}

std::vector<std::string> Certificate::uri_sans() const {
  std::vector<std::string> out;
  int crit = 0;
  OsslPtr<GENERAL_NAMES> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert_.get(), NID_subject_alt_name, &crit, nullptr)));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    if (gn->type != GEN_URI) continue;
    const ASN1_IA5STRING* s = gn->d.uniformResourceIdentifier;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
  }
  return out;
}

bool Certificate::is_ca() const {
  return (X509_get_extension_flags(cert_.get()) & EXFLAG_CA) != 0;
}

Result<std::vector<Certificate>> ParsePemCertificates(
    std::string_view pem, std::size_t max_certificates) {
  auto bio = internal::NewMemBio(pem);
  std::vector<Certificate> out;
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
      unsigned long err = ERR_peek_last_error();
      internal::ClearOpensslErrors();
      if (ERR_GET_REASON(err) == PEM_R_NO_START_LINE) break;
      return Error(Code::kMalformed, "invalid PEM block");
    }
    std::string block_name(name);
    bool encrypted = header != nullptr && header[0] != '\0';
    OPENSSL_free(name);
    OPENSSL_free(header);
    Bytes der(data, data + len);
    OPENSSL_free(data);
    if (block_name != "CERTIFICATE") {
      if (block_name.find("PRIVATE KEY") != std::string::npos) {
        return Error(Code::kMalformed,
                     "a private key is not allowed in a certificate file");
      }
      continue;
    }
    if (encrypted) return Error(Code::kMalformed, "PEM block has headers");
    if (out.size() == max_certificates) {
      return Error(
          Code::kTooLarge,
          "more than " + std::to_string(max_certificates) + " certificates");
    }
    AZTP_ASSIGN_OR_RETURN(Certificate cert, Certificate::FromDer(der));
    out.push_back(std::move(cert));
  }
  if (out.empty()) return Error(Code::kMalformed, "no certificate found");
  return out;
}

std::string ToPem(std::span<const Certificate> certs) {
  std::string out;
  for (const auto& c : certs) out += c.ToPem();
  return out;
}

}  // namespace aztp

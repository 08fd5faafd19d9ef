#include "aztp/x509/builder.h"

#include "aztp/crypto/digest.h"
#include "internal/ossl.h"

namespace aztp {

using internal::OpensslError;
using internal::OsslPtr;

namespace {

Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid,
                    const std::string& value) {
  OsslPtr<X509_EXTENSION> ext(
      X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpensslError(Code::kInternal, "adding certificate extension");
  }
  return Ok();
}

Status SetRandomSerial(X509* cert) {
  AZTP_ASSIGN_OR_RETURN(Bytes serial, RandomBytes(16));
  serial[0] &= 0x7f;  // positive
  serial[0] |= 0x40;  // 16 significant bytes
  OsslPtr<BIGNUM> bn(BN_bin2bn(serial.data(), 16, nullptr));
  if (!bn ||
      BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    return OpensslError(Code::kInternal, "setting serial");
  }
  return Ok();
}

std::string KeyUsageText(unsigned bits, bool critical) {
  std::string out = critical ? "critical" : "";
  auto add = [&](unsigned bit, const char* name) {
    if (!(bits & bit)) return;
    if (!out.empty()) out += ",";
    out += name;
  };
  add(kKuDigitalSignature, "digitalSignature");
  add(kKuKeyEncipherment, "keyEncipherment");
  add(kKuKeyAgreement, "keyAgreement");
  add(kKuKeyCertSign, "keyCertSign");
  add(kKuCrlSign, "cRLSign");
  return out;
}

// SetSubject names the subject O=aztp, with the CN when there is one.
Status SetSubject(X509* cert, const std::string& common_name) {
  X509_NAME* subject = X509_get_subject_name(cert);
  auto add_name = [&](const char* field, const std::string& value) {
    return X509_NAME_add_entry_by_txt(
        subject, field, MBSTRING_UTF8,
        reinterpret_cast<const unsigned char*>(value.data()),
        static_cast<int>(value.size()), -1, 0);
  };
  if (add_name("O", "aztp") != 1 ||
      (!common_name.empty() && add_name("CN", common_name) != 1)) {
    return OpensslError(Code::kInternal, "setting subject");
  }
  return Ok();
}

// AddExtensions adds the extensions `tmpl` asks for, the
// subjectKeyIdentifier and, when an issuer signs, the
// authorityKeyIdentifier.
Status AddExtensions(X509* cert, X509V3_CTX* ctx,
                     const CertificateTemplate& tmpl, bool has_issuer) {
  if (tmpl.ca.has_value()) {
    AZTP_RETURN_IF_ERROR(
        AddExtension(cert, ctx, NID_basic_constraints,
                     *tmpl.ca ? "critical,CA:TRUE" : "critical,CA:FALSE"));
  }
  if (tmpl.key_usage != 0) {
    AZTP_RETURN_IF_ERROR(
        AddExtension(cert, ctx, NID_key_usage,
                     KeyUsageText(tmpl.key_usage, tmpl.key_usage_critical)));
  }
  if (tmpl.eku_server_auth || tmpl.eku_client_auth) {
    std::string eku;
    if (tmpl.eku_server_auth) eku = "serverAuth";
    if (tmpl.eku_client_auth) eku += eku.empty() ? "clientAuth" : ",clientAuth";
    AZTP_RETURN_IF_ERROR(AddExtension(cert, ctx, NID_ext_key_usage, eku));
  }
  AZTP_RETURN_IF_ERROR(
      AddExtension(cert, ctx, NID_subject_key_identifier, "hash"));
  if (has_issuer) {
    AZTP_RETURN_IF_ERROR(
        AddExtension(cert, ctx, NID_authority_key_identifier, "keyid:always"));
  }
  return Ok();
}

// AddStringName appends a URI or DNS name to `names`.
Status AddStringName(GENERAL_NAMES* names, int type, const std::string& value) {
  GENERAL_NAME* gn = GENERAL_NAME_new();
  ASN1_IA5STRING* s = ASN1_IA5STRING_new();
  if (gn == nullptr || s == nullptr ||
      ASN1_STRING_set(s, value.data(), static_cast<int>(value.size())) != 1) {
    GENERAL_NAME_free(gn);
    ASN1_IA5STRING_free(s);
    return OpensslError(Code::kInternal, "subjectAltName");
  }
  GENERAL_NAME_set0_value(gn, type, s);
  if (sk_GENERAL_NAME_push(names, gn) == 0) {
    GENERAL_NAME_free(gn);
    return OpensslError(Code::kInternal, "subjectAltName");
  }
  return Ok();
}

// AddIpName appends an IP address name to `names`.
Status AddIpName(GENERAL_NAMES* names, const std::string& ip) {
  OsslPtr<ASN1_STRING> octets(a2i_IPADDRESS(ip.c_str()));
  if (!octets) {
    internal::ClearOpensslErrors();
    return Error(Code::kInvalidArgument, "invalid IP address " + ip);
  }
  GENERAL_NAME* gn = GENERAL_NAME_new();
  if (gn == nullptr) return OpensslError(Code::kInternal, "subjectAltName");
  GENERAL_NAME_set0_value(gn, GEN_IPADD, octets.release());
  if (sk_GENERAL_NAME_push(names, gn) == 0) {
    GENERAL_NAME_free(gn);
    return OpensslError(Code::kInternal, "subjectAltName");
  }
  return Ok();
}

// AddSubjectAltNames adds the template's URI, DNS and IP names, if any.
// The GENERAL_NAMES are built directly so no value is ever interpreted as
// configuration syntax.
Status AddSubjectAltNames(X509* cert, const CertificateTemplate& tmpl) {
  if (tmpl.uri_sans.empty() && tmpl.dns_sans.empty() && tmpl.ip_sans.empty()) {
    return Ok();
  }
  OsslPtr<GENERAL_NAMES> names(sk_GENERAL_NAME_new_null());
  if (!names) return OpensslError(Code::kInternal, "subjectAltName");
  for (const auto& uri : tmpl.uri_sans) {
    AZTP_RETURN_IF_ERROR(AddStringName(names.get(), GEN_URI, uri));
  }
  for (const auto& dns : tmpl.dns_sans) {
    AZTP_RETURN_IF_ERROR(AddStringName(names.get(), GEN_DNS, dns));
  }
  for (const auto& ip : tmpl.ip_sans) {
    AZTP_RETURN_IF_ERROR(AddIpName(names.get(), ip));
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0,
                        X509V3_ADD_DEFAULT) != 1) {
    return OpensslError(Code::kInternal, "subjectAltName");
  }
  return Ok();
}

}  // namespace

Result<Certificate> SignCertificate(const CertificateTemplate& tmpl,
                                    const PublicKey& subject_key,
                                    const Certificate* issuer,
                                    const PrivateKey& issuer_key) {
  OsslPtr<X509> cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) {
    return OpensslError(Code::kInternal, "allocating certificate");
  }
  AZTP_RETURN_IF_ERROR(SetRandomSerial(cert.get()));
  AZTP_RETURN_IF_ERROR(SetSubject(cert.get(), tmpl.common_name));
  X509* issuer_x509 = issuer != nullptr ? issuer->x509() : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_x509)) !=
          1 ||
      ASN1_TIME_set(X509_getm_notBefore(cert.get()),
                    static_cast<time_t>(tmpl.not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()),
                    static_cast<time_t>(tmpl.not_after)) == nullptr ||
      X509_set_pubkey(cert.get(), subject_key.evp()) != 1) {
    return OpensslError(Code::kInternal, "setting certificate fields");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer_x509, cert.get(), nullptr, nullptr, 0);
  AZTP_RETURN_IF_ERROR(
      AddExtensions(cert.get(), &ctx, tmpl, /*has_issuer=*/issuer != nullptr));
  AZTP_RETURN_IF_ERROR(AddSubjectAltNames(cert.get(), tmpl));
  if (X509_sign(cert.get(), issuer_key.evp(),
                internal::CertificateDigest(issuer_key.type())) <= 0) {
    return OpensslError(Code::kInternal, "signing certificate");
  }
  return Certificate::FromX509(cert.get());
}

}  // namespace aztp

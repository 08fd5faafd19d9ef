#include "aztp/x509/csr.h"

#include <openssl/pem.h>

#include "internal/ossl.h"

namespace aztp {

using internal::OpensslError;
using internal::OsslPtr;

Result<CertificateRequest> CertificateRequest::Create(
    const PrivateKey& key, const std::optional<SpiffeId>& id) {
  OsslPtr<X509_REQ> req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), 0) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.evp()) != 1) {
    return OpensslError(Code::kInternal, "building CSR");
  }
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("aztp"),
                                 -1, -1, 0) != 1) {
    return OpensslError(Code::kInternal, "building CSR subject");
  }
  if (id.has_value()) {
    OsslPtr<X509_EXTENSION> san(X509V3_EXT_conf_nid(
        nullptr, nullptr, NID_subject_alt_name, ("URI:" + id->str()).c_str()));
    STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
    if (!san || exts == nullptr ||
        sk_X509_EXTENSION_push(exts, san.get()) == 0 ||
        X509_REQ_add_extensions(req.get(), exts) != 1) {
      sk_X509_EXTENSION_free(exts);
      return OpensslError(Code::kInternal, "building CSR extensions");
    }
    sk_X509_EXTENSION_free(exts);
  }
  if (X509_REQ_sign(req.get(), key.evp(),
                    internal::CertificateDigest(key.type())) <= 0) {
    return OpensslError(Code::kInternal, "signing CSR");
  }
  return CertificateRequest(
      std::shared_ptr<X509_REQ>(req.release(), X509_REQ_free),
      key.public_key());
}

Result<CertificateRequest> CertificateRequest::FromPem(std::string_view pem) {
  if (pem.size() > (64 << 10)) {
    return Error(Code::kTooLarge, "CSR larger than 64 KiB");
  }
  auto bio = internal::NewMemBio(pem);
  OsslPtr<X509_REQ> req(
      PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) return OpensslError(Code::kMalformed, "invalid CSR PEM");
  EVP_PKEY* pkey = X509_REQ_get0_pubkey(req.get());
  if (pkey == nullptr) return OpensslError(Code::kMalformed, "CSR has no key");
  AZTP_ASSIGN_OR_RETURN(PublicKey key, PublicKey::FromEvp(pkey));
  if (X509_REQ_verify(req.get(), pkey) != 1) {
    internal::ClearOpensslErrors();
    return Error(Code::kBadSignature, "CSR signature does not verify");
  }
  return CertificateRequest(
      std::shared_ptr<X509_REQ>(req.release(), X509_REQ_free), std::move(key));
}

std::string CertificateRequest::ToPem() const {
  OsslPtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req_.get()) != 1) return {};
  return internal::BioContents(bio.get());
}

}  // namespace aztp

// OpenSSL glue shared by the library's implementation files; not installed.
//
// Every OpenSSL object is owned by an OsslPtr from the moment it is created,
// and the thread's OpenSSL error queue becomes an aztp::Error at the boundary.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>

#include "aztp/base/bytes.h"
#include "aztp/base/error.h"
#include "aztp/base/result.h"
#include "aztp/crypto/key.h"

namespace aztp::internal {

template <typename T>
struct OsslDeleter;

#define AZTP_OSSL_DELETER(type, fn)           \
  template <>                                 \
  struct OsslDeleter<type> {                  \
    void operator()(type* p) const { fn(p); } \
  }

AZTP_OSSL_DELETER(EVP_PKEY, EVP_PKEY_free);
AZTP_OSSL_DELETER(EVP_PKEY_CTX, EVP_PKEY_CTX_free);
AZTP_OSSL_DELETER(EVP_MD_CTX, EVP_MD_CTX_free);
AZTP_OSSL_DELETER(EVP_CIPHER_CTX, EVP_CIPHER_CTX_free);
AZTP_OSSL_DELETER(BIO, BIO_free_all);
AZTP_OSSL_DELETER(BIGNUM, BN_clear_free);
AZTP_OSSL_DELETER(ECDSA_SIG, ECDSA_SIG_free);
AZTP_OSSL_DELETER(X509, X509_free);
AZTP_OSSL_DELETER(X509_REQ, X509_REQ_free);
AZTP_OSSL_DELETER(X509_NAME, X509_NAME_free);
AZTP_OSSL_DELETER(X509_STORE, X509_STORE_free);
AZTP_OSSL_DELETER(X509_STORE_CTX, X509_STORE_CTX_free);
AZTP_OSSL_DELETER(X509_EXTENSION, X509_EXTENSION_free);
AZTP_OSSL_DELETER(GENERAL_NAMES, GENERAL_NAMES_free);
AZTP_OSSL_DELETER(BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free);
// ASN1_INTEGER, ASN1_TIME, ASN1_OCTET_STRING and ASN1_BIT_STRING are all
// ASN1_STRING in OpenSSL 3.
AZTP_OSSL_DELETER(ASN1_STRING, ASN1_STRING_free);
AZTP_OSSL_DELETER(EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free);
AZTP_OSSL_DELETER(AUTHORITY_KEYID, AUTHORITY_KEYID_free);
AZTP_OSSL_DELETER(OSSL_PARAM_BLD, OSSL_PARAM_BLD_free);
AZTP_OSSL_DELETER(OSSL_PARAM, OSSL_PARAM_free);
AZTP_OSSL_DELETER(BN_CTX, BN_CTX_free);
AZTP_OSSL_DELETER(EC_POINT, EC_POINT_free);
AZTP_OSSL_DELETER(EC_GROUP, EC_GROUP_free);
template <>
struct OsslDeleter<STACK_OF(X509)> {
  void operator()(STACK_OF(X509) * p) const { sk_X509_pop_free(p, X509_free); }
};

#undef AZTP_OSSL_DELETER

// OsslPtr owns one OpenSSL object.
template <typename T>
using OsslPtr = std::unique_ptr<T, OsslDeleter<T>>;

// OpensslError drains the thread's OpenSSL error queue into an Error with
// `code` and the message `what: <first OpenSSL reason>`.
Error OpensslError(Code code, std::string_view what);

// SignatureDigest is the message digest OpenSSL needs to sign or verify
// with `alg` (null for EdDSA, which hashes internally).
const EVP_MD* SignatureDigest(SignatureAlgorithm alg);

// CertificateDigest is the digest for certificates and CSRs signed by a key
// of `type` (SHA-256 for P-256, SHA-384 for P-384, none for Ed25519).
const EVP_MD* CertificateDigest(KeyType type);

// ClearOpensslErrors empties the queue after an expected failure.
void ClearOpensslErrors();

// NewMemBio returns a memory BIO reading `data`.
OsslPtr<BIO> NewMemBio(std::string_view data);

// BioContents copies what was written into a memory BIO.
std::string BioContents(BIO* bio);

}  // namespace aztp::internal

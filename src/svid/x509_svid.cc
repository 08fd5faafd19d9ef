#include "aztp/svid/x509_svid.h"

#include <algorithm>

#include "internal/ossl.h"

namespace aztp {

using internal::OsslPtr;

namespace {

constexpr std::size_t kMaxChain = 8;

Error Invalid(std::string message) {
  return Error(Code::kSvidInvalid, std::move(message));
}

}  // namespace

Result<SpiffeId> X509SvidId(const Certificate& leaf) {
  X509* x = leaf.x509();
  uint32_t flags = X509_get_extension_flags(x);
  if (flags & EXFLAG_INVALID) {
    return Invalid("leaf certificate has invalid extensions");
  }
  if (leaf.is_ca()) {
    return Invalid("leaf certificate must not have CA flag set to true");
  }
  if (!(flags & EXFLAG_KUSAGE)) {
    return Invalid("leaf certificate must have the key usage extension");
  }
  uint32_t ku = X509_get_key_usage(x);
  if (ku & KU_KEY_CERT_SIGN) {
    return Invalid("leaf certificate must not have 'keyCertSign' key usage");
  }
  if (ku & KU_CRL_SIGN) {
    return Invalid("leaf certificate must not have 'cRLSign' key usage");
  }
  if (!(ku & KU_DIGITAL_SIGNATURE)) {
    return Invalid("leaf certificate must have 'digitalSignature' key usage");
  }
  if (flags & EXFLAG_XKUSAGE) {
    uint32_t xku = X509_get_extended_key_usage(x);
    if (!(xku & XKU_SSL_SERVER) || !(xku & XKU_SSL_CLIENT)) {
      return Invalid(
          "leaf certificate extended key usage must include serverAuth and "
          "clientAuth");
    }
  }
  auto sans = leaf.uri_sans();
  if (sans.empty()) return Invalid("leaf certificate has no URI SAN");
  if (sans.size() > 1) {
    return Invalid("leaf certificate has more than one URI SAN");
  }
  auto id = SpiffeId::Parse(sans[0]);
  if (!id) {
    return Invalid("leaf URI SAN is not a SPIFFE ID: " + id.error().message());
  }
  if (!id->IsWorkload()) {
    return Invalid("leaf SPIFFE ID must have a path");
  }
  return *id;
}

Result<VerifiedX509Svid> VerifyX509Svid(std::span<const Certificate> chain,
                                        const BundleSource& bundles,
                                        UnixTime now) {
  if (chain.empty()) return Invalid("empty certificate chain");
  if (chain.size() > kMaxChain) {
    return Error(Code::kTooLarge,
                 "certificate chain longer than " + std::to_string(kMaxChain));
  }
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, X509SvidId(chain.front()));
  auto bundle = bundles.GetBundle(id.trust_domain());
  if (!bundle || bundle->x509_authorities().empty()) {
    return Error(
        Code::kUntrustedTrustDomain,
        "no X.509 authorities for trust domain " + id.trust_domain().name());
  }
  OsslPtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  if (!untrusted) return internal::OpensslError(Code::kInternal, "stack");
  for (std::size_t i = 1; i < chain.size(); ++i) {
    if (sk_X509_push(untrusted.get(), chain[i].x509()) == 0 ||
        X509_up_ref(chain[i].x509()) != 1) {
      return internal::OpensslError(Code::kInternal, "stack");
    }
  }
  OsslPtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), bundle->x509_store(),
                                  chain.front().x509(), untrusted.get()) != 1) {
    return internal::OpensslError(Code::kInternal, "verification context");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(now));
  X509_VERIFY_PARAM_set_depth(param, static_cast<int>(kMaxChain));
  // Only the bundle's own authorities are anchors; no partial chains.
  X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    internal::ClearOpensslErrors();
    std::string which =
        depth == 0 ? std::string("leaf")
                   : "CA certificate at depth " + std::to_string(depth);
    return Invalid(which + ": " + X509_verify_cert_error_string(err));
  }
  UnixTime expires_at = chain.front().not_after();
  STACK_OF(X509)* path = X509_STORE_CTX_get0_chain(ctx.get());
  for (int i = 0; i < sk_X509_num(path); ++i) {
    struct tm tm {};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(sk_X509_value(path, i)), &tm) == 1) {
      expires_at = std::min<UnixTime>(expires_at, timegm(&tm));
    }
  }
  return VerifiedX509Svid(std::move(id),
                          std::vector<Certificate>(chain.begin(), chain.end()),
                          expires_at);
}

}  // namespace aztp

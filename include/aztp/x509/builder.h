// CertificateTemplate and SignCertificate: the one place that assembles and
// signs X.509 certificates. The CA uses it with the SPIFFE profile; tests use
// it to build certificates that break one rule at a time.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/crypto/key.h"
#include "aztp/x509/certificate.h"

namespace aztp {

// KeyUsage bits (RFC 5280 §4.2.1.3) for CertificateTemplate::key_usage.
enum KeyUsageBit : unsigned {
  kKuDigitalSignature = 1u << 0,
  kKuKeyEncipherment = 1u << 1,
  kKuKeyAgreement = 1u << 2,
  kKuKeyCertSign = 1u << 3,
  kKuCrlSign = 1u << 4,
};

// CertificateTemplate describes one certificate to sign.
struct CertificateTemplate {
  std::string common_name;            // empty: subject is only O=aztp
  std::vector<std::string> uri_sans;  // URI subjectAltNames, in order
  std::vector<std::string> dns_sans;  // DNS subjectAltNames
  std::vector<std::string> ip_sans;   // IP subjectAltNames (text form)
  std::optional<bool> ca;             // basicConstraints cA; nullopt: absent
  unsigned key_usage = 0;             // KeyUsageBit set; 0: extension absent
  bool key_usage_critical = true;
  bool eku_server_auth = false;  // extKeyUsage present if either is set
  bool eku_client_auth = false;
  UnixTime not_before = 0;
  UnixTime not_after = 0;
};

// SignCertificate issues `tmpl` for `subject_key`, signed by `issuer_key`.
// With `issuer` null the certificate is self-signed (its own issuer name);
// otherwise it names `issuer` and carries an authorityKeyIdentifier. A
// random positive 127-bit serial and a subjectKeyIdentifier are always set.
Result<Certificate> SignCertificate(const CertificateTemplate& tmpl,
                                    const PublicKey& subject_key,
                                    const Certificate* issuer,
                                    const PrivateKey& issuer_key);

}  // namespace aztp

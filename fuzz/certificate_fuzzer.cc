// Fuzzes certificate parsing (PEM chains and DER), the X.509-SVID leaf
// rules, and CSR parsing with untrusted input.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "aztp/svid/x509_svid.h"
#include "aztp/x509/certificate.h"
#include "aztp/x509/csr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto chain = aztp::ParsePemCertificates(text, 8);
  if (chain) {
    for (const auto& cert : *chain) {
      auto id = aztp::X509SvidId(cert);
      (void)id;
      (void)cert.subject();
      (void)cert.uri_sans();
    }
  }
  auto der = aztp::Certificate::FromDer(std::span<const uint8_t>(data, size));
  if (der) {
    auto again = aztp::Certificate::FromDer(der->der());
    if (!again || !(*again == *der)) std::abort();
    (void)aztp::X509SvidId(*der);
  }
  auto csr = aztp::CertificateRequest::FromPem(text);
  (void)csr;
  return 0;
}

// TLS 1.3 contexts for mutual TLS on X.509-SVIDs (docs/protocol.md §2.5).
//
// A handshake only proves possession of the presented certificate's key;
// the SPIFFE identity is established afterwards by VerifyPeer, against the
// bundle of the peer's own trust domain (own or federated).
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/bundle/bundle.h"
#include "aztp/crypto/key.h"
#include "aztp/svid/x509_svid.h"
#include "aztp/x509/certificate.h"

namespace aztp {

// TlsCredentials are a certificate chain (leaf first) and its key.
struct TlsCredentials {
  std::vector<Certificate> chain;
  PrivateKey key;
};

// MakeServerContext returns a TLS-1.3-only server context presenting
// `creds`. With `request_client_cert` it asks for (but does not require) a
// client certificate, accepting any during the handshake; callers decide with
// VerifyPeer.
Result<std::shared_ptr<SSL_CTX>> MakeServerContext(const TlsCredentials& creds,
                                                   bool request_client_cert);

// MakeClientContext returns a TLS-1.3-only client context that presents
// `creds` when given. The server is checked after the handshake with
// VerifyPeer (SPIFFE ID) or, for a web-PKI-style endpoint, by the caller.
Result<std::shared_ptr<SSL_CTX>> MakeClientContext(const TlsCredentials* creds);

// VerifyPeer verifies the certificate chain the peer of `ssl` presented as
// an X.509-SVID against `bundles` at `now`. kUnauthenticated when the peer
// presented none; the X.509-SVID errors otherwise.
Result<VerifiedX509Svid> VerifyPeer(SSL* ssl, const BundleSource& bundles,
                                    UnixTime now);

// ClaimedPeerId is the SPIFFE ID the leaf the peer of `ssl` presented
// names, NOT verified: for the log line of a refusal only (which trust
// domain a refused client claims). "" when there is none.
std::string ClaimedPeerId(SSL* ssl);

}  // namespace aztp

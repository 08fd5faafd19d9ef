// A SPIFFE bundle endpoint (SPIFFE Federation, "bundle endpoint"): the
// trust domain's bundle served to anyone who asks, on a listener of its
// own, with one of the two endpoint profiles (docs/federation.md, "Serving
// your bundle"):
//
//   * https_spiffe: the server presents the control plane's own X.509-SVID
//     (spiffe://<td>/aztpd), following its renewals;
//   * https_web: the server presents a certificate chain and key read from
//     PEM files (e.g. from a public CA), re-read when the files change.
//
// Either way the server never asks for a client certificate: a bundle
// endpoint must not require client authentication. Beside the bundle it
// serves the trust domain's revocation list at kRevocationsPath, so that
// partners fetch it over the same authenticated channel (docs/federation.md,
// "Revocations across federation").
#pragma once

#include <openssl/types.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/bundle/bundle.h"
#include "aztp/encoding/json.h"
#include "aztp/http/http.h"
#include "aztp/tls/tls.h"

namespace aztp {

// kRevocationsPath is where a bundle endpoint serves the revocation list.
inline constexpr std::string_view kRevocationsPath = "/revocations";

// BundleEndpointHandler answers `GET <path>` (and HEAD, which the server
// answers without the body) with the JSON document of `bundle()` as
// application/json, and, when `revocations` is set, `GET /revocations`
// (and HEAD) with the revocation list document it returns (503
// `unavailable` when it fails); either path with another method is 405
// (with `Allow: GET, HEAD`), any other path is 404, both with a JSON error
// body. The query string, headers and body of a request are ignored.
// `bundle` and `revocations` are called once per answered GET/HEAD and
// must be thread-safe.
http::Handler BundleEndpointHandler(
    std::string path, std::function<Bundle()> bundle,
    std::function<Result<Json>()> revocations = nullptr);

// TlsContextSource is the shape of http::ServerOptions::tls_context: asked
// for a context for each new connection.
using TlsContextSource = std::function<std::shared_ptr<SSL_CTX>()>;

// SpiffeBundleEndpointContext (https_spiffe) presents `credentials()` (e.g.
// ControlPlane::server_credentials, renewed with the CA) without requesting
// a client certificate. A context is made once per credentials object and
// reused until `credentials()` returns another one; when no context can be
// made from new credentials, the previous one stays in use (null when there
// is none, which closes the connection).
TlsContextSource SpiffeBundleEndpointContext(
    std::function<std::shared_ptr<const TlsCredentials>()> credentials);

// LoadWebServerContext (https_web) reads a PEM certificate chain (leaf
// first, at most 16 certificates, 1 MiB) and its unencrypted PEM private key
// (PKCS#8 or the traditional EC/RSA forms, 64 KiB; RSA keys are accepted
// here, unlike for SVIDs) and returns a TLS 1.3 server context presenting
// them, asking for no client certificate. Errors name the file, never its
// content: kIo (unreadable), kMalformed (no certificate, not a key, an
// encrypted key), kInvalidArgument (the key does not match the leaf).
Result<std::shared_ptr<SSL_CTX>> LoadWebServerContext(
    const std::string& cert_file, const std::string& key_file);

// WebReload reports one attempt to take changed certificate files.
struct WebReload {
  Status status;           // Ok, or why the files were not taken
  UnixTime not_after = 0;  // the new leaf's notAfter when ok
};

// WebBundleEndpointContext (https_web) loads `cert_file` and `key_file`
// once (an error stops here) and returns a source that checks, for every
// new connection, whether either file changed (device, inode, size or
// modification time, so an atomic rename counts too) and then loads both
// again. A pair that fails to load (e.g. the certificate was replaced but
// not yet its key) keeps the previous context in use and is tried again
// when a file changes once more. `on_reload`, when set, hears each attempt
// (not the first load), outside any lock, on the connecting thread.
Result<TlsContextSource> WebBundleEndpointContext(
    std::string cert_file, std::string key_file,
    std::function<void(const WebReload&)> on_reload = nullptr);

}  // namespace aztp

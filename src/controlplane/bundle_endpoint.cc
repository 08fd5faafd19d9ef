#include "aztp/controlplane/bundle_endpoint.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "aztp/base/file.h"
#include "aztp/encoding/json.h"
#include "aztp/x509/certificate.h"
#include "internal/ossl.h"

namespace aztp {

namespace {

using internal::OpensslError;
using internal::OsslPtr;

constexpr std::size_t kMaxCertFileBytes = 1 << 20;
constexpr std::size_t kMaxKeyFileBytes = 64 << 10;
constexpr std::size_t kMaxChainCertificates = 16;

http::Response JsonError(int status, const char* reason,
                         const std::string& message) {
  http::Response r;
  r.status = status;
  r.body = DumpJson(Json{{"error", reason}, {"message", message}});
  return r;
}

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};

// NewServerContext is a TLS-1.3-only server context, like every context of
// the library (tls.cc), that never asks for a client certificate.
Result<std::shared_ptr<SSL_CTX>> NewServerContext() {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SslCtxFree());
  if (ctx == nullptr) {
    return OpensslError(Code::kInternal, "cannot create TLS context");
  }
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION) != 1) {
    return OpensslError(Code::kInternal, "cannot require TLS 1.3");
  }
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  return ctx;
}

// ReadPrivateKey parses an unencrypted PEM private key of any type OpenSSL
// knows. Nothing of the key's text reaches an error message.
Result<OsslPtr<EVP_PKEY>> ReadPrivateKey(const std::string& key_file) {
  AZTP_ASSIGN_OR_RETURN(SecretBytes pem,
                        ReadSecretFile(key_file, kMaxKeyFileBytes));
  auto bio = internal::NewMemBio(pem.View(InsecureSecretAccess::Get()));
  // An empty passphrase callback: an encrypted key fails instead of
  // prompting on the terminal.
  OsslPtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(
      bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
  if (!key) {
    internal::ClearOpensslErrors();
    return Error(Code::kMalformed,
                 key_file + ": not an unencrypted PEM private key");
  }
  return key;
}

// FileStamp identifies one version of a file; `missing` when stat failed.
struct FileStamp {
  bool missing = true;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  int64_t mtime_sec = 0;
  int64_t mtime_nsec = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp Stamp(const std::string& path) {
  struct stat st {};
  FileStamp s;
  if (::stat(path.c_str(), &st) != 0) return s;
  s.missing = false;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.size = st.st_size;
  s.mtime_sec = st.st_mtim.tv_sec;
  s.mtime_nsec = st.st_mtim.tv_nsec;
  return s;
}

// LeafNotAfter is the expiry of the certificate `ctx` presents.
UnixTime LeafNotAfter(SSL_CTX* ctx) {
  X509* leaf = SSL_CTX_get0_certificate(ctx);
  if (leaf == nullptr) return 0;
  auto cert = Certificate::FromX509(leaf);
  return cert ? cert->not_after() : 0;
}

}  // namespace

http::Handler BundleEndpointHandler(std::string path,
                                    std::function<Bundle()> bundle,
                                    std::function<Result<Json>()> revocations) {
  return [path = std::move(path), bundle = std::move(bundle),
          revocations = std::move(revocations)](const http::Request& r) {
    // The bundle's own path wins should it be /revocations.
    const bool list =
        revocations && r.path != path && r.path == kRevocationsPath;
    if (r.path != path && !list) {
      return JsonError(404, "not_found", "this server only serves " + path);
    }
    if (r.method != "GET" && r.method != "HEAD") {
      http::Response out =
          JsonError(405, "unsupported", "the bundle endpoint answers GET only");
      out.headers.emplace_back("Allow", "GET, HEAD");
      return out;
    }
    http::Response out;
    out.content_type = "application/json";
    if (!list) {
      out.body = DumpJson(bundle().ToJson());
      return out;
    }
    auto doc = revocations();
    if (!doc) {
      return JsonError(503, "unavailable",
                       "the revocation list cannot be read now");
    }
    out.body = DumpJson(*doc);
    return out;
  };
}

TlsContextSource SpiffeBundleEndpointContext(
    std::function<std::shared_ptr<const TlsCredentials>()> credentials) {
  struct Cache {
    std::mutex mu;
    std::shared_ptr<const TlsCredentials> credentials;  // guarded by mu
    std::shared_ptr<SSL_CTX> context;                   // guarded by mu
  };
  auto cache = std::make_shared<Cache>();
  return [cache, credentials = std::move(credentials)] {
    std::shared_ptr<const TlsCredentials> current = credentials();
    std::lock_guard<std::mutex> lock(cache->mu);
    if (current != nullptr && current != cache->credentials) {
      auto made = MakeServerContext(*current, /*request_client_cert=*/false);
      if (made) cache->context = std::move(*made);
      // A failure is not retried for the same credentials.
      cache->credentials = std::move(current);
    }
    return cache->context;
  };
}

Result<std::shared_ptr<SSL_CTX>> LoadWebServerContext(
    const std::string& cert_file, const std::string& key_file) {
  AZTP_ASSIGN_OR_RETURN(std::string pem,
                        ReadFile(cert_file, kMaxCertFileBytes));
  auto chain = ParsePemCertificates(pem, kMaxChainCertificates);
  if (!chain) return chain.error().WithContext(cert_file);
  AZTP_ASSIGN_OR_RETURN(OsslPtr<EVP_PKEY> key, ReadPrivateKey(key_file));
  AZTP_ASSIGN_OR_RETURN(std::shared_ptr<SSL_CTX> ctx, NewServerContext());
  if (SSL_CTX_use_certificate(ctx.get(), chain->front().x509()) != 1) {
    return OpensslError(Code::kInvalidArgument,
                        cert_file + ": cannot use the leaf certificate");
  }
  for (std::size_t i = 1; i < chain->size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx.get(), (*chain)[i].x509()) != 1) {
      return OpensslError(Code::kInvalidArgument,
                          cert_file + ": cannot add certificate " +
                              std::to_string(i + 1) + " of the chain");
    }
  }
  if (SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    internal::ClearOpensslErrors();
    return Error(
        Code::kInvalidArgument,
        key_file + ": the key does not match the certificate in " + cert_file);
  }
  return ctx;
}

Result<TlsContextSource> WebBundleEndpointContext(
    std::string cert_file, std::string key_file,
    std::function<void(const WebReload&)> on_reload) {
  struct Files {
    std::string cert_file;
    std::string key_file;
    std::function<void(const WebReload&)> on_reload;
    std::mutex mu;
    FileStamp cert_seen;               // guarded by mu: last tried
    FileStamp key_seen;                // guarded by mu
    std::shared_ptr<SSL_CTX> context;  // guarded by mu: last good
  };
  auto files = std::make_shared<Files>();
  files->cert_file = std::move(cert_file);
  files->key_file = std::move(key_file);
  files->on_reload = std::move(on_reload);
  // Stamped before reading, so that a change while loading is seen by the
  // next connection.
  files->cert_seen = Stamp(files->cert_file);
  files->key_seen = Stamp(files->key_file);
  AZTP_ASSIGN_OR_RETURN(
      files->context, LoadWebServerContext(files->cert_file, files->key_file));
  return TlsContextSource([files] {
    std::optional<WebReload> report;
    std::shared_ptr<SSL_CTX> context;
    {
      std::lock_guard<std::mutex> lock(files->mu);
      FileStamp cert = Stamp(files->cert_file);
      FileStamp key = Stamp(files->key_file);
      if (cert != files->cert_seen || key != files->key_seen) {
        files->cert_seen = cert;
        files->key_seen = key;
        auto loaded = LoadWebServerContext(files->cert_file, files->key_file);
        report.emplace();
        if (loaded) {
          files->context = std::move(*loaded);
          report->not_after = LeafNotAfter(files->context.get());
        } else {
          report->status = loaded.error();
        }
      }
      context = files->context;
    }
    if (report && files->on_reload) files->on_reload(*report);
    return context;
  });
}

}  // namespace aztp

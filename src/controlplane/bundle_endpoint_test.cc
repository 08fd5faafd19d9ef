#include "aztp/controlplane/bundle_endpoint.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <atomic>
#include <ctime>
#include <mutex>
#include <string>
#include <vector>

#include "aztp/base/file.h"
#include "aztp/encoding/json.h"
#include "aztp/revocation/revocation_list.h"
#include "testing/temp_dir.h"
#include "testing/tls_pair.h"
#include "testing/trust_domains.h"

namespace aztp {
namespace {

using test_support::Must;

const TrustDomain& OrgA() {
  static const TrustDomain td = Must(TrustDomain::Parse("org-a.example"));
  return td;
}

http::Request Req(const std::string& method, const std::string& path) {
  http::Request r;
  r.method = method;
  r.path = path;
  r.target = path;
  r.remote = "127.0.0.1:1";
  return r;
}

std::string JsonReason(const http::Response& r) {
  Json doc = Json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  return doc.is_object() && doc.contains("error") && doc["error"].is_string()
             ? doc["error"].get<std::string>()
             : "";
}

// Fixture: a trust domain, and a client context that counts how often a
// server asked it for a certificate.
class BundleEndpointTest : public testing::Test {
 protected:
  BundleEndpointTest() : domains_(std::time(nullptr)) {
    domains_.AddDomain("org-a.example");
    domains_.AddDomain("org-b.example", /*with_intermediate=*/true);
    client_ = Must(MakeClientContext(nullptr));
    SSL_CTX_set_app_data(client_.get(), &asked_);
    SSL_CTX_set_client_cert_cb(client_.get(), [](SSL* ssl, X509**, EVP_PKEY**) {
      auto* asked = static_cast<std::atomic<int>*>(
          SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
      ++*asked;
      return 0;  // no certificate to offer
    });
  }

  std::shared_ptr<const TlsCredentials> Credentials(const std::string& id) {
    HopSigner s = domains_.FreshSigner(id, domains_.now(), 86400);
    return std::make_shared<const TlsCredentials>(
        TlsCredentials{s.chain(), s.key()});
  }

  // Presented connects to `server` and returns the chain the server sent
  // (leaf first); empty when the handshake failed.
  std::vector<Certificate> Presented(SSL_CTX* server) {
    auto pair = test_support::ConnectInMemory(client_.get(), server);
    if (!test_support::Handshake(pair)) return {};
    std::vector<Certificate> out;
    STACK_OF(X509)* chain = SSL_get_peer_cert_chain(pair.client.get());
    for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
      out.push_back(Must(Certificate::FromX509(sk_X509_value(chain, i))));
    }
    return out;
  }

  test_support::TestDomains domains_;
  std::shared_ptr<SSL_CTX> client_;
  std::atomic<int> asked_{0};
};

TEST_F(BundleEndpointTest, ServesTheBundleAtItsPathOnly) {
  Bundle bundle = *domains_.Bundles()->GetBundle(OrgA());
  std::atomic<int> calls{0};
  http::Handler h = BundleEndpointHandler("/bundle", [&] {
    ++calls;
    return bundle;
  });

  for (const char* method : {"GET", "HEAD"}) {
    http::Response r = h(Req(method, "/bundle"));
    EXPECT_EQ(r.status, 200) << method;
    EXPECT_EQ(r.content_type, "application/json");
    auto parsed = Bundle::Parse(OrgA(), r.body);
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
    EXPECT_EQ(*parsed, bundle);
  }
  EXPECT_EQ(calls.load(), 2);

  for (const char* path : {"/", "/bundle/", "/v1/bundle", "/Bundle", ""}) {
    http::Response r = h(Req("GET", path));
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(JsonReason(r), "not_found") << r.body;
  }
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "get"}) {
    http::Response r = h(Req(method, "/bundle"));
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(JsonReason(r), "unsupported") << r.body;
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0].first, "Allow");
    EXPECT_EQ(r.headers[0].second, "GET, HEAD");
  }
  // Another method on another path is 404, like any other path.
  EXPECT_EQ(h(Req("POST", "/x")).status, 404);
  EXPECT_EQ(calls.load(), 2);  // errors never build the bundle
}

TEST_F(BundleEndpointTest, Finding13ServesTheRevocationListBesideTheBundle) {
  Bundle bundle = *domains_.Bundles()->GetBundle(OrgA());
  Json list = Json::parse(
      R"({"sequence":4,"ids":["spiffe://org-a.example/agent/research"],)"
      R"("jtis":[],"serials":["1f"]})");
  std::atomic<int> calls{0};
  bool broken = false;
  http::Handler h = BundleEndpointHandler(
      "/bundle", [&] { return bundle; },
      [&]() -> Result<Json> {
        ++calls;
        if (broken) return Error(Code::kIo, "store: disk I/O error at x.db");
        return list;
      });
  for (const char* method : {"GET", "HEAD"}) {
    http::Response r = h(Req(method, "/revocations"));
    EXPECT_EQ(r.status, 200) << method;
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(Json::parse(r.body), list);
    auto parsed = RevocationList::Parse(r.body);
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
    EXPECT_EQ(parsed->sequence(), 4);
  }
  EXPECT_EQ(h(Req("GET", "/bundle")).status, 200);
  http::Response post = h(Req("POST", "/revocations"));
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(JsonReason(post), "unsupported");
  for (const char* path :
       {"/revocations/", "/v1/revocations", "/Revocations"}) {
    EXPECT_EQ(h(Req("GET", path)).status, 404) << path;
  }
  EXPECT_EQ(calls.load(), 2);
  // A list that cannot be read is 503, without the store's words.
  broken = true;
  http::Response down = h(Req("GET", "/revocations"));
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(JsonReason(down), "unavailable");
  EXPECT_EQ(down.body.find("x.db"), std::string::npos) << down.body;

  // Without a list, or where the bundle's own path is /revocations, the
  // path serves no list.
  http::Handler bundle_only =
      BundleEndpointHandler("/bundle", [&] { return bundle; });
  EXPECT_EQ(bundle_only(Req("GET", "/revocations")).status, 404);
  http::Handler same = BundleEndpointHandler(
      "/revocations", [&] { return bundle; },
      [&]() -> Result<Json> { return list; });
  EXPECT_TRUE(Bundle::Parse(OrgA(), same(Req("GET", "/revocations")).body));
}

TEST_F(BundleEndpointTest, SpiffeProfileFollowsTheCredentialsAndAsksNoClient) {
  std::mutex mu;
  std::shared_ptr<const TlsCredentials> current;
  TlsContextSource source = SpiffeBundleEndpointContext([&] {
    std::lock_guard<std::mutex> lock(mu);
    return current;
  });
  EXPECT_EQ(source(), nullptr);  // nothing to present yet

  auto first = Credentials("spiffe://org-a.example/aztpd");
  current = first;
  std::shared_ptr<SSL_CTX> ctx = source();
  ASSERT_NE(ctx, nullptr);
  EXPECT_EQ(source(), ctx);  // reused while the credentials stay
  auto chain = Presented(ctx.get());
  ASSERT_FALSE(chain.empty());
  EXPECT_EQ(chain.front(), first->chain.front());
  EXPECT_EQ(asked_.load(), 0);

  // A renewal (new credentials object) takes effect at the next connection.
  auto renewed = Credentials("spiffe://org-a.example/aztpd");
  {
    std::lock_guard<std::mutex> lock(mu);
    current = renewed;
  }
  std::shared_ptr<SSL_CTX> next = source();
  ASSERT_NE(next, nullptr);
  EXPECT_NE(next, ctx);
  chain = Presented(next.get());
  ASSERT_FALSE(chain.empty());
  EXPECT_EQ(chain.front(), renewed->chain.front());
  EXPECT_EQ(asked_.load(), 0);

  // The API listener's context does ask: the counter sees it.
  auto api = Must(MakeServerContext(*renewed, /*request_client_cert=*/true));
  ASSERT_FALSE(Presented(api.get()).empty());
  EXPECT_EQ(asked_.load(), 1);
}

class WebFiles {
 public:
  explicit WebFiles(const test_support::TempDir& dir)
      : cert(dir.File("web.crt")), key(dir.File("web.key")) {}
  void WriteCert(const HopSigner& s) const {
    ASSERT_TRUE(WriteFile(cert, ToPem(s.chain())).has_value());
  }
  void WriteKey(const HopSigner& s) const {
    ASSERT_TRUE(WriteSecretFile(key, Must(s.key().ToPkcs8Pem())).has_value());
  }
  const std::string cert;
  const std::string key;
};

TEST_F(BundleEndpointTest, WebProfileReloadsChangedFiles) {
  test_support::TempDir dir;
  WebFiles files(dir);
  const UnixTime now = domains_.now();
  HopSigner one = domains_.FreshSigner("spiffe://org-b.example/web", now, 3600);
  HopSigner two = domains_.FreshSigner("spiffe://org-b.example/web", now, 7200);
  files.WriteCert(one);
  files.WriteKey(one);

  std::vector<WebReload> reloads;
  std::mutex mu;
  auto source =
      WebBundleEndpointContext(files.cert, files.key, [&](const WebReload& r) {
        std::lock_guard<std::mutex> lock(mu);
        reloads.push_back(r);
      });
  ASSERT_TRUE(source.has_value()) << source.error().message();
  std::shared_ptr<SSL_CTX> ctx = (*source)();
  ASSERT_NE(ctx, nullptr);
  EXPECT_EQ((*source)(), ctx);  // unchanged files: same context
  EXPECT_TRUE(reloads.empty());
  auto chain = Presented(ctx.get());
  ASSERT_EQ(chain.size(), 2u);  // leaf and intermediate, as in the file
  EXPECT_EQ(chain[0], one.chain()[0]);
  EXPECT_EQ(chain[1], one.chain()[1]);
  EXPECT_EQ(asked_.load(), 0);

  // Only the certificate replaced: it does not match the key, so the old
  // pair stays in use, and the same files are not tried again.
  files.WriteCert(two);
  EXPECT_EQ((*source)(), ctx);
  ASSERT_EQ(reloads.size(), 1u);
  ASSERT_FALSE(reloads[0].status.has_value());
  EXPECT_EQ(reloads[0].status.error().code(), Code::kInvalidArgument);
  EXPECT_NE(reloads[0].status.error().message().find("does not match"),
            std::string::npos);
  EXPECT_EQ((*source)(), ctx);
  EXPECT_EQ(reloads.size(), 1u);

  // Then the key: the new pair is taken at the next connection.
  files.WriteKey(two);
  std::shared_ptr<SSL_CTX> next = (*source)();
  ASSERT_NE(next, ctx);
  ASSERT_EQ(reloads.size(), 2u);
  EXPECT_TRUE(reloads[1].status.has_value());
  EXPECT_EQ(reloads[1].not_after, two.not_after());
  chain = Presented(next.get());
  ASSERT_FALSE(chain.empty());
  EXPECT_EQ(chain[0], two.chain()[0]);

  // A file that disappears keeps the last good pair too.
  ASSERT_EQ(std::remove(files.key.c_str()), 0);
  EXPECT_EQ((*source)(), next);
  ASSERT_EQ(reloads.size(), 3u);
  EXPECT_EQ(reloads[2].status.error().code(), Code::kIo);
  EXPECT_EQ(asked_.load(), 0);
}

TEST_F(BundleEndpointTest, WebProfileRefusesBadFilesAtStart) {
  test_support::TempDir dir;
  WebFiles files(dir);
  HopSigner one =
      domains_.FreshSigner("spiffe://org-a.example/web", domains_.now(), 3600);
  HopSigner other =
      domains_.FreshSigner("spiffe://org-a.example/web", domains_.now(), 3600);

  auto missing = WebBundleEndpointContext(files.cert, files.key);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), Code::kIo);

  files.WriteCert(one);
  files.WriteKey(other);
  auto mismatch = LoadWebServerContext(files.cert, files.key);
  ASSERT_FALSE(mismatch.has_value());
  EXPECT_EQ(mismatch.error().code(), Code::kInvalidArgument);

  // Not a key, and an encrypted key; the message names the file only.
  ASSERT_TRUE(WriteFile(files.key,
                        "-----BEGIN PRIVATE KEY-----\nAAAA\n"
                        "-----END PRIVATE KEY-----\n")
                  .has_value());
  auto garbage = LoadWebServerContext(files.cert, files.key);
  ASSERT_FALSE(garbage.has_value());
  EXPECT_EQ(garbage.error().code(), Code::kMalformed);
  EXPECT_EQ(garbage.error().message().find("AAAA"), std::string::npos);
  EXPECT_EQ(garbage.error().message().rfind(files.key, 0), 0u);

  {
    BIO* bio = BIO_new(BIO_s_mem());
    ASSERT_NE(bio, nullptr);
    char pass[] = "passphrase";
    ASSERT_EQ(
        PEM_write_bio_PKCS8PrivateKey(bio, one.key().evp(), EVP_aes_128_cbc(),
                                      nullptr, 0, nullptr, pass),
        1);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    ASSERT_TRUE(
        WriteSecretFile(files.key, SecretBytes(std::string_view(data, n)))
            .has_value());
    BIO_free(bio);
  }
  auto encrypted = LoadWebServerContext(files.cert, files.key);
  ASSERT_FALSE(encrypted.has_value());
  EXPECT_EQ(encrypted.error().code(), Code::kMalformed);

  ASSERT_TRUE(WriteFile(files.cert, "not a certificate\n").has_value());
  files.WriteKey(one);
  auto no_cert = LoadWebServerContext(files.cert, files.key);
  ASSERT_FALSE(no_cert.has_value());
  EXPECT_EQ(no_cert.error().message().rfind(files.cert, 0), 0u)
      << no_cert.error().message();

  files.WriteCert(one);
  EXPECT_TRUE(LoadWebServerContext(files.cert, files.key).has_value());
}

}  // namespace
}  // namespace aztp

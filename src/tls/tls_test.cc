#include "aztp/tls/tls.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>

#include "testing/tls_pair.h"
#include "testing/trust_domains.h"

namespace aztp {
namespace {

using test_support::TestDomains;

TlsCredentials Creds(const HopSigner& signer) {
  return TlsCredentials{signer.chain(), signer.key()};
}

using test_support::ConnectInMemory;
using test_support::Handshake;
using Pair = test_support::TlsPair;

class TlsTest : public testing::Test {
 protected:
  TlsTest() : domains_(1'800'000'000) {
    domains_.AddDomain("a.example", /*with_intermediate=*/true);
    domains_.AddDomain("b.example");
  }

  std::shared_ptr<SSL_CTX> Server(const std::string& id, bool request = true) {
    auto ctx = MakeServerContext(Creds(domains_.Signer(id)), request);
    EXPECT_TRUE(ctx.has_value());
    return *ctx;
  }
  std::shared_ptr<SSL_CTX> Client(const std::string* id) {
    if (id == nullptr) return *MakeClientContext(nullptr);
    TlsCredentials creds = Creds(domains_.Signer(*id));
    auto ctx = MakeClientContext(&creds);
    EXPECT_TRUE(ctx.has_value());
    return *ctx;
  }
  UnixTime now() const { return domains_.now() + 5; }

  TestDomains domains_;
};

TEST_F(TlsTest, ContextsAreTls13Only) {
  auto server = Server("spiffe://a.example/server");
  auto client = Client(nullptr);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(server.get()), TLS1_3_VERSION);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(client.get()), TLS1_3_VERSION);

  // A client limited to TLS 1.2 cannot connect.
  auto old_client = Client(nullptr);
  SSL_CTX_set_min_proto_version(old_client.get(), TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(old_client.get(), TLS1_2_VERSION);
  Pair p = ConnectInMemory(old_client.get(), server.get());
  EXPECT_FALSE(Handshake(p));
}

TEST_F(TlsTest, MutualTlsEachSideVerifiesTheOther) {
  // The server's domain signs through an intermediate, so both directions
  // carry a chain: the client's view includes the leaf, the server's not.
  const std::string client_id = "spiffe://b.example/client";
  auto server = Server("spiffe://a.example/server");
  auto client = Client(&client_id);
  Pair p = ConnectInMemory(client.get(), server.get());
  ASSERT_TRUE(Handshake(p));
  EXPECT_EQ(SSL_version(p.client.get()), TLS1_3_VERSION);

  auto seen_by_client = VerifyPeer(p.client.get(), *domains_.Bundles(), now());
  ASSERT_TRUE(seen_by_client.has_value()) << seen_by_client.error().message();
  EXPECT_EQ(seen_by_client->id().str(), "spiffe://a.example/server");
  EXPECT_EQ(seen_by_client->chain().size(), 2u);

  auto seen_by_server = VerifyPeer(p.server.get(), *domains_.Bundles(), now());
  ASSERT_TRUE(seen_by_server.has_value()) << seen_by_server.error().message();
  EXPECT_EQ(seen_by_server->id().str(), client_id);
  EXPECT_EQ(seen_by_server->chain().size(), 1u);
}

TEST_F(TlsTest, ClientWithIntermediateIsVerifiedByServer) {
  const std::string client_id = "spiffe://a.example/client";
  auto server = Server("spiffe://b.example/server");
  auto client = Client(&client_id);
  Pair p = ConnectInMemory(client.get(), server.get());
  ASSERT_TRUE(Handshake(p));
  auto seen = VerifyPeer(p.server.get(), *domains_.Bundles(), now());
  ASSERT_TRUE(seen.has_value()) << seen.error().message();
  EXPECT_EQ(seen->id().str(), client_id);
  EXPECT_EQ(seen->chain().size(), 2u);
}

TEST_F(TlsTest, ClientWithoutCertificateIsUnauthenticated) {
  auto server = Server("spiffe://a.example/server");
  auto client = Client(nullptr);
  Pair p = ConnectInMemory(client.get(), server.get());
  ASSERT_TRUE(Handshake(p));
  auto seen = VerifyPeer(p.server.get(), *domains_.Bundles(), now());
  ASSERT_FALSE(seen.has_value());
  EXPECT_EQ(seen.error().code(), Code::kUnauthenticated);
}

TEST_F(TlsTest, ServerThatDoesNotAskGetsNoClientCertificate) {
  const std::string client_id = "spiffe://b.example/client";
  auto server = Server("spiffe://a.example/server", /*request=*/false);
  auto client = Client(&client_id);
  Pair p = ConnectInMemory(client.get(), server.get());
  ASSERT_TRUE(Handshake(p));
  auto seen = VerifyPeer(p.server.get(), *domains_.Bundles(), now());
  ASSERT_FALSE(seen.has_value());
  EXPECT_EQ(seen.error().code(), Code::kUnauthenticated);
}

TEST_F(TlsTest, UntrustedClientPassesHandshakeButNotVerifyPeer) {
  // Another CA for the same trust domain, and a domain nobody trusts.
  TestDomains rogue(domains_.now());
  rogue.AddDomain("a.example");
  rogue.AddDomain("evil.example");
  auto server = Server("spiffe://b.example/server");

  for (const auto& [id, code] :
       {std::pair{"spiffe://a.example/client", Code::kSvidInvalid},
        std::pair{"spiffe://evil.example/client",
                  Code::kUntrustedTrustDomain}}) {
    TlsCredentials creds = Creds(rogue.Signer(id));
    auto client = *MakeClientContext(&creds);
    Pair p = ConnectInMemory(client.get(), server.get());
    ASSERT_TRUE(Handshake(p)) << id;
    auto seen = VerifyPeer(p.server.get(), *domains_.Bundles(), now());
    ASSERT_FALSE(seen.has_value()) << id;
    EXPECT_EQ(seen.error().code(), code) << id;
  }
}

TEST_F(TlsTest, ExpiredPeerIsRejectedAtVerifyTime) {
  auto server = Server("spiffe://a.example/server");
  auto client = Client(nullptr);
  Pair p = ConnectInMemory(client.get(), server.get());
  ASSERT_TRUE(Handshake(p));
  auto seen =
      VerifyPeer(p.client.get(), *domains_.Bundles(), now() + 2 * 86400);
  ASSERT_FALSE(seen.has_value());
  EXPECT_EQ(seen.error().code(), Code::kSvidInvalid);
}

TEST_F(TlsTest, CredentialsMustBeCoherent) {
  const HopSigner& a = domains_.Signer("spiffe://a.example/one");
  const HopSigner& b = domains_.Signer("spiffe://a.example/two");
  TlsCredentials mismatched{a.chain(), b.key()};
  auto server = MakeServerContext(mismatched, true);
  ASSERT_FALSE(server.has_value());
  EXPECT_EQ(server.error().code(), Code::kInvalidArgument);
  auto client = MakeClientContext(&mismatched);
  ASSERT_FALSE(client.has_value());
  EXPECT_EQ(client.error().code(), Code::kInvalidArgument);

  TlsCredentials empty{{}, a.key()};
  auto none = MakeServerContext(empty, false);
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code(), Code::kInvalidArgument);
}

TEST_F(TlsTest, VerifyPeerWithoutConnection) {
  auto r = VerifyPeer(nullptr, *domains_.Bundles(), now());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace aztp

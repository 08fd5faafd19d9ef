// aztp::Client against a real control plane (client_test_fixture.h): health,
// identities, API keys, SVIDs, bundles, links, discovery and CA keys; and
// sharing a client between threads. Federation, policies and failures are
// in client_federation_test.cc, client_policy_test.cc and
// client_failure_test.cc.
#include "aztp/client/client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "aztp/jose/jws.h"
#include "aztp/svid/x509_svid.h"
#include "client/client_test_fixture.h"

namespace aztp::client_test {
namespace {

using std::chrono::milliseconds;
using test_support::ControlPlaneServer;
using test_support::Must;

TEST_F(ClientTest, HealthAndReadiness) {
  EXPECT_TRUE(admin().Healthz());
  EXPECT_TRUE(admin().Readyz());
  EXPECT_EQ(admin().server_id().str(), "spiffe://org-a.example/aztpd");
}

TEST_F(ClientTest, RegistersGetsListsRevokesAndReissues) {
  Register("spiffe://org-a.example/agents/planner");
  IdentityRegistration r{.id = Id("spiffe://org-a.example/agents/tool")};
  r.parent = Id("spiffe://org-a.example/agents/planner");
  r.discoverable = true;
  r.global = true;
  r.metadata = Json{{"team", "x"}, {"n", 3}};
  r.selectors = {"k8s:ns:a", "unix:uid:1000"};
  auto tool = admin().RegisterIdentity(r);
  ASSERT_TRUE(tool.has_value()) << tool.error().message();
  EXPECT_EQ(tool->id.str(), "spiffe://org-a.example/agents/tool");
  ASSERT_TRUE(tool->parent.has_value());
  EXPECT_EQ(tool->parent->str(), "spiffe://org-a.example/agents/planner");
  EXPECT_TRUE(tool->discoverable);
  EXPECT_TRUE(tool->global);
  EXPECT_EQ(tool->metadata, r.metadata);
  EXPECT_EQ(tool->selectors, r.selectors);
  EXPECT_EQ(tool->status, IdentityStatus::kActive);
  EXPECT_EQ(tool->created_at, server_.clock().Now());

  auto got = admin().GetIdentity(Id("spiffe://org-a.example/agents/tool"));
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_EQ(got->metadata, r.metadata);
  ASSERT_EQ(got->links.size(), 1u);
  EXPECT_EQ(got->links[0].from.str(), "spiffe://org-a.example/agents/planner");
  EXPECT_EQ(got->links[0].to.str(), "spiffe://org-a.example/agents/tool");
  EXPECT_EQ(got->links[0].kind, LinkKind::kParent);

  for (int i = 0; i < 3; ++i) {
    Register("spiffe://org-a.example/tools/t" + std::to_string(i));
  }
  // Pages of two, followed to the end, in ID order.
  ListIdentitiesOptions list;
  list.prefix = "spiffe://org-a.example/tools/";
  list.limit = 2;
  std::vector<std::string> seen;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = admin().ListIdentities(list);
    ASSERT_TRUE(page.has_value()) << page.error().message();
    for (const auto& i : page->identities) seen.push_back(i.id.str());
    if (!page->next) break;
    list.after = *page->next;
  }
  EXPECT_EQ(seen,
            (std::vector<std::string>{"spiffe://org-a.example/tools/t0",
                                      "spiffe://org-a.example/tools/t1",
                                      "spiffe://org-a.example/tools/t2"}));

  auto revoked = admin().RevokeIdentity(Id("spiffe://org-a.example/tools/t1"),
                                        "lost laptop");
  ASSERT_TRUE(revoked.has_value()) << revoked.error().message();
  EXPECT_EQ(revoked->status, IdentityStatus::kRevoked);
  EXPECT_EQ(revoked->revoked_reason, "lost laptop");
  ListIdentitiesOptions only_revoked;
  only_revoked.status = IdentityStatus::kRevoked;
  auto page = admin().ListIdentities(only_revoked);
  ASSERT_TRUE(page.has_value()) << page.error().message();
  ASSERT_EQ(page->identities.size(), 1u);
  EXPECT_EQ(page->identities[0].id.str(), "spiffe://org-a.example/tools/t1");
  EXPECT_FALSE(page->next.has_value());

  auto list_after = admin().GetRevocations();
  ASSERT_TRUE(list_after.has_value()) << list_after.error().message();
  EXPECT_TRUE(list_after->IsRevokedId(Id("spiffe://org-a.example/tools/t1")));
  EXPECT_GE(list_after->sequence(), 1);

  auto reissued =
      admin().ReissueIdentity(Id("spiffe://org-a.example/tools/t1"));
  ASSERT_TRUE(reissued.has_value()) << reissued.error().message();
  EXPECT_EQ(reissued->status, IdentityStatus::kActive);
  auto list_now = admin().GetRevocations();
  ASSERT_TRUE(list_now.has_value());
  EXPECT_FALSE(list_now->IsRevokedId(Id("spiffe://org-a.example/tools/t1")));
  EXPECT_GT(list_now->sequence(), list_after->sequence());
}

TEST_F(ClientTest, MapsServerErrorsToCodes) {
  Register("spiffe://org-a.example/agents/a");
  auto missing = admin().GetIdentity(Id("spiffe://org-a.example/agents/none"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
  EXPECT_NE(missing.error().message().find("/v1/identities/"),
            std::string::npos)
      << "the message names the route: " << missing.error().message();

  auto again =
      admin().RegisterIdentity({.id = Id("spiffe://org-a.example/agents/a")});
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), Code::kAlreadyExists);

  auto foreign =
      admin().RegisterIdentity({.id = Id("spiffe://org-b.example/agents/a")});
  ASSERT_FALSE(foreign.has_value());
  EXPECT_EQ(foreign.error().code(), Code::kInvalidArgument);

  auto created = admin().CreateApiKey("/tools/", "tools team");
  ASSERT_TRUE(created.has_value()) << created.error().message();
  std::string scoped_key(created->api_key.View(InsecureSecretAccess::Get()));
  auto scoped = Make(scoped_key);
  EXPECT_TRUE(scoped->RegisterIdentity(
      {.id = Id("spiffe://org-a.example/tools/search")}));
  auto outside =
      scoped->RegisterIdentity({.id = Id("spiffe://org-a.example/agents/b")});
  ASSERT_FALSE(outside.has_value());
  EXPECT_EQ(outside.error().code(), Code::kPermissionDenied);
  auto keys = scoped->ListApiKeys();
  ASSERT_FALSE(keys.has_value());
  EXPECT_EQ(keys.error().code(), Code::kPermissionDenied);
  auto get_outside = scoped->GetIdentity(Id("spiffe://org-a.example/agents/a"));
  ASSERT_FALSE(get_outside.has_value());
  EXPECT_EQ(get_outside.error().code(), Code::kPermissionDenied);

  ASSERT_TRUE(admin().RevokeApiKey(created->info.key_id));
  auto after_revoke = scoped->ListIdentities({});
  ASSERT_FALSE(after_revoke.has_value());
  EXPECT_EQ(after_revoke.error().code(), Code::kUnauthenticated);
  EXPECT_EQ(after_revoke.error().message().find(SecretPart(scoped_key)),
            std::string::npos);

  auto nobody = Make("aztp_00.wrong");
  auto unknown = nobody->ListIdentities({});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code(), Code::kUnauthenticated);
  EXPECT_EQ(unknown.error().message().find("wrong"), std::string::npos);

  auto anonymous = Make("");
  auto no_key = anonymous->ListIdentities({});
  ASSERT_FALSE(no_key.has_value());
  EXPECT_EQ(no_key.error().code(), Code::kUnauthenticated);
  // Anonymous routes work without a key.
  EXPECT_TRUE(anonymous->GetBundle().has_value());
  EXPECT_TRUE(anonymous->GetRevocations().has_value());

  ASSERT_TRUE(admin().RevokeIdentity(Id("spiffe://org-a.example/agents/a")));
  auto key = Must(PrivateKey::Generate(KeyType::kEcP256));
  auto csr = Must(CertificateRequest::Create(key, std::nullopt));
  auto refused =
      admin().IssueX509Svid(Id("spiffe://org-a.example/agents/a"), csr);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), Code::kRevoked);

  auto bad_ttl =
      admin().IssueX509Svid(Id("spiffe://org-a.example/tools/search"), csr, 5);
  ASSERT_FALSE(bad_ttl.has_value());
  EXPECT_EQ(bad_ttl.error().code(), Code::kInvalidArgument);
  EXPECT_TRUE(waits().empty()) << "errors that are answers are not retried";
}

TEST_F(ClientTest, ApiKeysAreCreatedListedAndRevoked) {
  auto created = admin().CreateApiKey("/agents/", "agents team");
  ASSERT_TRUE(created.has_value()) << created.error().message();
  EXPECT_EQ(created->info.scope, "/agents");  // stored normalised
  EXPECT_EQ(created->info.description, "agents team");
  EXPECT_FALSE(created->info.revoked);
  std::string key(created->api_key.View(InsecureSecretAccess::Get()));
  EXPECT_EQ(key.rfind("aztp_" + created->info.key_id + ".", 0), 0u);

  auto keys = admin().ListApiKeys();
  ASSERT_TRUE(keys.has_value()) << keys.error().message();
  ASSERT_EQ(keys->size(), 2u);  // the admin key and the new one
  auto it = std::find_if(keys->begin(), keys->end(), [&](const ApiKey& k) {
    return k.key_id == created->info.key_id;
  });
  ASSERT_NE(it, keys->end());
  EXPECT_EQ(it->scope, "/agents");

  ASSERT_TRUE(admin().RevokeApiKey(created->info.key_id));
  // Revoking is idempotent, which is why it may be retried.
  ASSERT_TRUE(admin().RevokeApiKey(created->info.key_id));
  keys = admin().ListApiKeys();
  ASSERT_TRUE(keys.has_value());
  it = std::find_if(keys->begin(), keys->end(), [&](const ApiKey& k) {
    return k.key_id == created->info.key_id;
  });
  ASSERT_NE(it, keys->end());
  EXPECT_TRUE(it->revoked);

  auto unknown = admin().RevokeApiKey("0123456789abcdef");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code(), Code::kNotFound);
  auto bad = admin().RevokeApiKey("../identities");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), Code::kInvalidArgument);
  auto bad_scope = admin().CreateApiKey("tools");
  ASSERT_FALSE(bad_scope.has_value());
  EXPECT_EQ(bad_scope.error().code(), Code::kInvalidArgument);
}

TEST_F(ClientTest, IssuesX509SvidsFromCsrs) {
  Register("spiffe://org-a.example/agents/a");
  auto key = Must(PrivateKey::Generate(KeyType::kEd25519));
  auto csr = Must(CertificateRequest::Create(key, std::nullopt));
  auto svid =
      admin().IssueX509Svid(Id("spiffe://org-a.example/agents/a"), csr, 600);
  ASSERT_TRUE(svid.has_value()) << svid.error().message();
  EXPECT_EQ(svid->expires_at, server_.clock().Now() + 600);
  EXPECT_TRUE(svid->chain.front().public_key() == key.public_key());
  EXPECT_EQ(svid->bundle, server_.bundle());
  BundleSet trusted;
  trusted.Put(server_.bundle());
  auto verified = VerifyX509Svid(svid->chain, trusted, server_.clock().Now());
  ASSERT_TRUE(verified.has_value()) << verified.error().message();
  EXPECT_EQ(verified->id().str(), "spiffe://org-a.example/agents/a");

  auto unregistered =
      admin().IssueX509Svid(Id("spiffe://org-a.example/agents/b"), csr);
  ASSERT_FALSE(unregistered.has_value());
  EXPECT_EQ(unregistered.error().code(), Code::kNotFound);
}

TEST_F(ClientTest, ServesBundleAndRevocations) {
  auto bundle = admin().GetBundle();
  ASSERT_TRUE(bundle.has_value()) << bundle.error().message();
  EXPECT_EQ(*bundle, server_.bundle());
  auto list = admin().GetRevocations();
  ASSERT_TRUE(list.has_value()) << list.error().message();
  EXPECT_EQ(list->size(), 0u);
}

TEST_F(ClientTest, MtlsClientMayRenewOnlyItsOwnSvid) {
  Register("spiffe://org-a.example/agents/a");
  Register("spiffe://org-a.example/agents/b");
  auto key = Must(PrivateKey::Generate(KeyType::kEcP256));
  auto csr = Must(CertificateRequest::Create(key, std::nullopt));
  auto svid =
      Must(admin().IssueX509Svid(Id("spiffe://org-a.example/agents/a"), csr));
  ClientOptions o = Options("");
  o.credentials =
      std::make_shared<const TlsCredentials>(TlsCredentials{svid.chain, key});
  auto mtls = Must(Client::Create(std::move(o)));
  server_.ClearRequests();
  auto renewed =
      mtls->IssueX509Svid(Id("spiffe://org-a.example/agents/a"), csr);
  ASSERT_TRUE(renewed.has_value()) << renewed.error().message();
  EXPECT_NE(renewed->chain.front().serial_hex(),
            svid.chain.front().serial_hex());
  auto other = mtls->IssueX509Svid(Id("spiffe://org-a.example/agents/b"), csr);
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code(), Code::kPermissionDenied);
  auto seen = server_.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_FALSE(seen[0].had_authorization);
  ASSERT_TRUE(seen[0].peer.has_value());
  EXPECT_EQ(seen[0].peer->str(), "spiffe://org-a.example/agents/a");
}

// ---- routes of docs/aztpd.md that arrived with links, discovery, JWT-SVIDs
// and CA rotation ----

TEST_F(ClientTest, LinksIdentities) {
  Register("spiffe://org-a.example/agents/a");
  Register("spiffe://org-a.example/agents/b");
  auto link = admin().LinkIdentity(Id("spiffe://org-a.example/agents/a"),
                                   Id("spiffe://org-a.example/agents/b"),
                                   LinkKind::kLinked, Json{{"why", "calls"}});
  ASSERT_TRUE(link.has_value()) << link.error().message();
  EXPECT_EQ(link->from.str(), "spiffe://org-a.example/agents/a");
  EXPECT_EQ(link->to.str(), "spiffe://org-a.example/agents/b");
  EXPECT_EQ(link->kind, LinkKind::kLinked);
  EXPECT_EQ(link->metadata, (Json{{"why", "calls"}}));
  EXPECT_EQ(link->created_at, server_.clock().Now());

  auto again = admin().LinkIdentity(Id("spiffe://org-a.example/agents/a"),
                                    Id("spiffe://org-a.example/agents/b"),
                                    LinkKind::kLinked);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), Code::kAlreadyExists);

  auto to_nowhere = admin().LinkIdentity(Id("spiffe://org-a.example/agents/a"),
                                         Id("spiffe://org-a.example/none"),
                                         LinkKind::kLinked);
  ASSERT_FALSE(to_nowhere.has_value());
  EXPECT_NE(to_nowhere.error().code(), Code::kInternal);

  auto got = admin().GetIdentity(Id("spiffe://org-a.example/agents/b"));
  ASSERT_TRUE(got.has_value()) << got.error().message();
  ASSERT_EQ(got->links.size(), 1u);
  EXPECT_EQ(got->links[0].kind, LinkKind::kLinked);
  EXPECT_EQ(got->links[0].from.str(), "spiffe://org-a.example/agents/a");
}

TEST_F(ClientTest, DiscoversDiscoverableActiveIdentities) {
  Register("spiffe://org-a.example/agents/a", /*discoverable=*/true);
  Register("spiffe://org-a.example/agents/b", /*discoverable=*/true);
  Register("spiffe://org-a.example/agents/hidden");
  ASSERT_TRUE(admin().RevokeIdentity(Id("spiffe://org-a.example/agents/b")));
  auto page = admin().Discover({});
  ASSERT_TRUE(page.has_value()) << page.error().message();
  ASSERT_EQ(page->identities.size(), 1u);
  EXPECT_EQ(page->identities[0].id.str(), "spiffe://org-a.example/agents/a");
  EXPECT_FALSE(page->next.has_value());

  DiscoverOptions own;
  own.trust_domain = Must(TrustDomain::Parse("org-a.example"));
  EXPECT_TRUE(admin().Discover(own).has_value());
  DiscoverOptions other;
  other.trust_domain = Must(TrustDomain::Parse("org-b.example"));
  auto elsewhere = admin().Discover(other);
  ASSERT_FALSE(elsewhere.has_value());
  EXPECT_EQ(elsewhere.error().code(), Code::kNotFound);
}

TEST_F(ClientTest, IssuesJwtSvidsThatVerifyWithTheBundle) {
  Register("spiffe://org-a.example/agents/a");
  auto jwt = admin().IssueJwtSvid(Id("spiffe://org-a.example/agents/a"),
                                  {"spiffe://org-a.example/tools/x"}, 120);
  ASSERT_TRUE(jwt.has_value()) << jwt.error().message();
  EXPECT_EQ(jwt->id.str(), "spiffe://org-a.example/agents/a");
  EXPECT_EQ(jwt->audience,
            std::vector<std::string>{"spiffe://org-a.example/tools/x"});
  EXPECT_EQ(jwt->expires_at, server_.clock().Now() + 120);
  EXPECT_FALSE(jwt->jti.empty());
  auto bundle = Must(admin().GetBundle());
  auto key = bundle.jwt_authorities().find(jwt->key_id);
  ASSERT_NE(key, bundle.jwt_authorities().end())
      << "the token's kid is a jwt-svid key of the bundle";
  auto jws = Must(ParseCompact(jwt->token.View(InsecureSecretAccess::Get())));
  EXPECT_TRUE(VerifySignature(jws, key->second));

  auto no_audience =
      admin().IssueJwtSvid(Id("spiffe://org-a.example/agents/a"), {});
  ASSERT_FALSE(no_audience.has_value());
  EXPECT_EQ(no_audience.error().code(), Code::kInvalidArgument);
  auto unregistered = admin().IssueJwtSvid(
      Id("spiffe://org-a.example/agents/none"), {"spiffe://org-a.example/x"});
  ASSERT_FALSE(unregistered.has_value());
  EXPECT_EQ(unregistered.error().code(), Code::kNotFound);
}

TEST_F(ClientTest, ListsAndRotatesCaKeys) {
  auto keys = admin().ListCaKeys();
  ASSERT_TRUE(keys.has_value()) << keys.error().message();
  auto active_x509 = std::count_if(keys->begin(), keys->end(), [](auto& k) {
    return k.kind == CaKeyKind::kX509 && k.state == "active";
  });
  EXPECT_EQ(active_x509, 1);
  auto rotated = admin().RotateCa(CaKeyKind::kX509);
  ASSERT_TRUE(rotated.has_value()) << rotated.error().message();
  auto prepared = std::count_if(rotated->begin(), rotated->end(), [](auto& k) {
    return k.kind == CaKeyKind::kX509 && k.state == "prepared";
  });
  EXPECT_EQ(prepared, 1);

  auto created = Must(admin().CreateApiKey("/tools/"));
  auto scoped =
      Make(std::string(created.api_key.View(InsecureSecretAccess::Get())));
  auto denied = scoped->ListCaKeys();
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().code(), Code::kPermissionDenied);
  auto denied_rotation = scoped->RotateCa(CaKeyKind::kJwt);
  ASSERT_FALSE(denied_rotation.has_value());
  EXPECT_EQ(denied_rotation.error().code(), Code::kPermissionDenied);
}

// ---- concurrency ----

TEST_F(ClientTest, IsSafeToShareBetweenThreads) {
  Register("spiffe://org-a.example/agents/a");
  Client& c = admin();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&c, &failures] {
      for (int i = 0; i < 15; ++i) {
        if (!c.GetIdentity(Id("spiffe://org-a.example/agents/a"))) ++failures;
        if (!c.GetBundle()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(ParseBundleDocumentTest, InfersTheTrustDomain) {
  test_support::TestDomains domains(ControlPlaneServer::kDefaultNow);
  domains.AddDomain("org-b.example");
  const Bundle& b =
      *domains.Bundles()->GetBundle(Must(TrustDomain::Parse("org-b.example")));
  auto parsed = ParseBundleDocument(DumpJson(b.ToJson()));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  EXPECT_EQ(*parsed, b);
  EXPECT_FALSE(ParseBundleDocument(R"({"keys":[]})").has_value());
  EXPECT_FALSE(ParseBundleDocument("nope").has_value());
}

}  // namespace
}  // namespace aztp::client_test

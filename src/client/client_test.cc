// aztp::Client against a real control plane served over HTTPS on loopback
// (testing/control_plane_server.h), with a fixed clock. Retry waits are
// recorded, never slept.
#include "aztp/client/client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <map>
#include <thread>

#include "aztp/jose/jws.h"
#include "aztp/svid/x509_svid.h"
#include "testing/control_plane_server.h"
#include "testing/trust_domains.h"

namespace aztp {
namespace {

using std::chrono::milliseconds;
using testing::ControlPlaneServer;
using testing::Must;

SpiffeId Id(const std::string& text) { return Must(SpiffeId::Parse(text)); }

// SecretPart is the part of an API key after the dot: what must never show.
std::string SecretPart(const std::string& key) {
  return key.substr(key.find('.') + 1);
}

http::Response JsonResponse(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

TrustDomain Td(const std::string& name) {
  return Must(TrustDomain::Parse(name));
}

// Fetches scripts the partners' bundle endpoints for the control plane's
// federation (ControlPlaneOptions::fetcher): each fetch of a domain takes
// its next answer; without one the endpoint is down.
struct Fetches {
  std::mutex mu;
  std::map<std::string, std::deque<Result<Bundle>>> answers;
  void Push(const std::string& td, Result<Bundle> answer) {
    std::lock_guard<std::mutex> lock(mu);
    answers[td].push_back(std::move(answer));
  }
  Result<Bundle> Take(const TrustDomain& td) {
    std::lock_guard<std::mutex> lock(mu);
    auto& queue = answers[td.name()];
    if (queue.empty()) return Error(Code::kUnavailable, "endpoint down");
    Result<Bundle> next = std::move(queue.front());
    queue.pop_front();
    return next;
  }
};

ControlPlaneServer::Options WithFetches(std::shared_ptr<Fetches> fetches) {
  ControlPlaneServer::Options o;
  o.control_plane.fetcher = [fetches](const FederationRelationship& rel,
                                      std::shared_ptr<const Bundle>) {
    return fetches->Take(rel.trust_domain);
  };
  return o;
}

// kPaymentsPolicy allows quotes from org-b and denies refunds.
constexpr std::string_view kPaymentsPolicy = R"({"Statement":[
    {"Sid":"Quotes","Effect":"Allow","Action":"payments:quote",
     "Condition":{"StringEquals":{"aztp:CallerTrustDomain":"org-b.example"}}},
    {"Sid":"NoRefunds","Effect":"Deny","Action":"payments:refund"}]})";

Policy Parsed(std::string_view text) { return Must(ParsePolicy(text)); }

// StatusOf drops the value of a result.
template <typename T>
Status StatusOf(const Result<T>& r) {
  if (!r) return r.error();
  return Ok();
}

// Domains lists the trust domains of a bundle set.
std::vector<std::string> Domains(const BundleSet& set) {
  std::vector<std::string> out;
  for (const auto& [td, bundle] : set.bundles()) out.push_back(td.name());
  return out;
}

class ClientTest : public ::testing::Test {
 protected:
  ClientOptions Options(const std::string& key) {
    ClientOptions o;
    o.base_url = server_.url();
    o.SetTrustBundle(server_.bundle());
    o.api_key = SecretBytes(std::string_view(key));
    o.clock = &server_.clock();
    o.sleep = [this](milliseconds d) {
      std::lock_guard<std::mutex> lock(waits_mu_);
      waits_.push_back(d);
    };
    return o;
  }
  std::unique_ptr<Client> Make(const std::string& key) {
    return Must(Client::Create(Options(key)));
  }
  Client& admin() {
    if (admin_ == nullptr) admin_ = Make(server_.admin_api_key());
    return *admin_;
  }
  std::vector<milliseconds> waits() {
    std::lock_guard<std::mutex> lock(waits_mu_);
    return waits_;
  }
  void Register(const std::string& id, bool discoverable = false) {
    IdentityRegistration r{.id = Id(id)};
    r.discoverable = discoverable;
    auto got = admin().RegisterIdentity(r);
    ASSERT_TRUE(got.has_value()) << got.error().message();
  }
  // Count counts the requests to `path` the server saw.
  int Count(const std::string& path) {
    int n = 0;
    for (const auto& r : server_.requests()) n += r.path == path ? 1 : 0;
    return n;
  }

  // partner is a partner domain, org-b.example, whose bundle endpoint
  // `fetches_` plays.
  testing::TestDomains& partner() {
    if (partner_ == nullptr) {
      partner_ = std::make_unique<testing::TestDomains>(server_.clock().Now());
      partner_->AddDomain("org-b.example");
    }
    return *partner_;
  }
  Bundle PartnerBundle(int64_t sequence) {
    const TrustDomain td = Td("org-b.example");
    return Must(
        Bundle::Create(td, {partner().Ca(td.name()).root()}, {}, sequence, 60));
  }
  FederationSpec PartnerSpec() {
    FederationSpec spec{.trust_domain = Td("org-b.example")};
    spec.endpoint_url = "https://127.0.0.1:1/v1/bundle";
    spec.profile = EndpointProfile::kHttpsSpiffe;
    spec.endpoint_id = Id("spiffe://org-b.example/aztpd");
    spec.bootstrap_bundle = PartnerBundle(1);
    return spec;
  }

  std::shared_ptr<Fetches> fetches_ = std::make_shared<Fetches>();
  ControlPlaneServer server_{WithFetches(fetches_)};
  std::unique_ptr<testing::TestDomains> partner_;  // see partner()
  std::unique_ptr<Client> admin_;
  std::mutex waits_mu_;
  std::vector<milliseconds> waits_;
};

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

// ---- federation ----

// A relationship added, listed, refreshed and removed through the client;
// the control plane fetches the partner's bundle from `fetches_`.
TEST_F(ClientTest, FederationIsAddedListedRefreshedAndRemoved) {
  const TrustDomain org_b = Td("org-b.example");
  fetches_->Push("org-b.example", PartnerBundle(1));
  fetches_->Push("org-b.example", PartnerBundle(2));
  const UnixTime now = server_.clock().Now();

  auto added = admin().AddFederation(PartnerSpec());
  ASSERT_TRUE(added.has_value()) << added.error().message();
  EXPECT_EQ(added->trust_domain, org_b);
  EXPECT_EQ(added->result, FederationFetchResult::kUpdated);
  EXPECT_FALSE(added->old_sequence.has_value());
  EXPECT_EQ(added->new_sequence, 1);
  auto again = admin().AddFederation(PartnerSpec());
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), Code::kAlreadyExists);

  auto list = admin().ListFederations();
  ASSERT_TRUE(list.has_value()) << list.error().message();
  ASSERT_EQ(list->size(), 1u);
  const Federation& f = list->front();
  EXPECT_EQ(f.trust_domain, org_b);
  EXPECT_EQ(f.endpoint_url, "https://127.0.0.1:1/v1/bundle");
  EXPECT_EQ(f.profile, EndpointProfile::kHttpsSpiffe);
  ASSERT_TRUE(f.endpoint_id.has_value());
  EXPECT_EQ(f.endpoint_id->str(), "spiffe://org-b.example/aztpd");
  EXPECT_EQ(f.source, "api");
  EXPECT_EQ(f.bundle_sequence, 1);
  EXPECT_TRUE(f.trusted);
  EXPECT_EQ(f.last_fetch, now);
  ASSERT_TRUE(f.last.has_value());
  EXPECT_EQ(f.last->result, FederationFetchResult::kUpdated);
  EXPECT_EQ(f.failures, 0);
  EXPECT_GT(f.next_refresh, now);

  auto refreshed = admin().RefreshFederation(org_b);
  ASSERT_TRUE(refreshed.has_value()) << refreshed.error().message();
  EXPECT_EQ(refreshed->result, FederationFetchResult::kUpdated);
  EXPECT_EQ(refreshed->old_sequence, 1);
  EXPECT_EQ(refreshed->new_sequence, 2);
  // The endpoint is down now: the fetch fails, the bundle stays trusted.
  auto failed = admin().RefreshFederation(org_b);
  ASSERT_TRUE(failed.has_value()) << failed.error().message();
  EXPECT_EQ(failed->result, FederationFetchResult::kFailed);
  EXPECT_EQ(failed->reason, "unavailable");
  EXPECT_EQ(failed->message, "endpoint down");
  list = admin().ListFederations();
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(list->front().failures, 1);
  EXPECT_EQ(list->front().bundle_sequence, 2);
  EXPECT_TRUE(list->front().trusted);
  auto unknown = admin().RefreshFederation(Td("org-c.example"));
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code(), Code::kNotFound);

  auto map = admin().GetBundles();
  ASSERT_TRUE(map.has_value()) << map.error().message();
  EXPECT_EQ(Domains(*map),
            (std::vector<std::string>{"org-a.example", "org-b.example"}));
  EXPECT_EQ(map->GetBundle(org_b)->sequence(), 2);
  // A map's bundles carry no refresh hint (SPIFFE bundle map).
  const Bundle& own = *map->GetBundle(server_.trust_domain());
  EXPECT_EQ(own.x509_authorities(), server_.bundle().x509_authorities());
  EXPECT_EQ(own.sequence(), server_.bundle().sequence());
  EXPECT_FALSE(own.refresh_hint().has_value());

  ASSERT_TRUE(admin().RemoveFederation(org_b));
  auto gone = admin().RemoveFederation(org_b);
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().code(), Code::kNotFound);
  list = admin().ListFederations();
  ASSERT_TRUE(list.has_value());
  EXPECT_TRUE(list->empty());
  map = admin().GetBundles();
  ASSERT_TRUE(map.has_value());
  EXPECT_EQ(Domains(*map), std::vector<std::string>{"org-a.example"});
  EXPECT_TRUE(waits().empty());
}

TEST_F(ClientTest, FederationNeedsAnAdminAndAWellFormedSpec) {
  auto created = Must(admin().CreateApiKey("/agents/"));
  auto scoped =
      Make(std::string(created.api_key.View(InsecureSecretAccess::Get())));
  auto list = scoped->ListFederations();
  ASSERT_FALSE(list.has_value());
  EXPECT_EQ(list.error().code(), Code::kPermissionDenied);
  auto add = scoped->AddFederation(PartnerSpec());
  ASSERT_FALSE(add.has_value());
  EXPECT_EQ(add.error().code(), Code::kPermissionDenied);
  auto remove = scoped->RemoveFederation(Td("org-b.example"));
  ASSERT_FALSE(remove.has_value());
  EXPECT_EQ(remove.error().code(), Code::kPermissionDenied);

  // https_spiffe without its endpoint ID; https_web with one.
  FederationSpec no_id = PartnerSpec();
  no_id.endpoint_id.reset();
  auto refused = admin().AddFederation(no_id);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), Code::kInvalidArgument);
  FederationSpec web = PartnerSpec();
  web.profile = EndpointProfile::kHttpsWeb;
  refused = admin().AddFederation(web);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), Code::kInvalidArgument);
  // With oneself.
  FederationSpec self = PartnerSpec();
  self.trust_domain = server_.trust_domain();
  self.endpoint_id = Id("spiffe://org-a.example/aztpd");
  self.bootstrap_bundle = server_.bundle();
  refused = admin().AddFederation(self);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), Code::kInvalidArgument);
  // A bootstrap bundle of another domain never leaves the client.
  server_.ClearRequests();
  FederationSpec mixed = PartnerSpec();
  mixed.bootstrap_bundle = server_.bundle();
  refused = admin().AddFederation(mixed);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), Code::kInvalidArgument);
  EXPECT_TRUE(server_.requests().empty());
  EXPECT_TRUE(Must(admin().ListFederations()).empty());
}

// federates_with narrows an identity's view of the bundle map: by `for`
// with a key that manages it, or over mTLS with its own SVID.
TEST_F(ClientTest, GetBundlesNarrowsToWhatAnIdentityFederatesWith) {
  fetches_->Push("org-b.example", PartnerBundle(1));
  ASSERT_TRUE(admin().AddFederation(PartnerSpec()).has_value());
  testing::TestDomains org_c(server_.clock().Now());
  org_c.AddDomain("org-c.example");
  fetches_->Push("org-c.example",
                 Bundle::Create(Td("org-c.example"),
                                {org_c.Ca("org-c.example").root()}, {}, 1, 60));
  FederationSpec spec_c{.trust_domain = Td("org-c.example")};
  spec_c.endpoint_url = "https://org-c.example/bundle";
  spec_c.profile = EndpointProfile::kHttpsWeb;
  auto added = admin().AddFederation(spec_c);
  ASSERT_TRUE(added.has_value()) << added.error().message();
  ASSERT_EQ(added->result, FederationFetchResult::kUpdated);
  const std::vector<std::string> all = {"org-a.example", "org-b.example",
                                        "org-c.example"};

  const SpiffeId pay = Id("spiffe://org-a.example/agents/pay");
  const SpiffeId open = Id("spiffe://org-a.example/agents/open");
  IdentityRegistration r{.id = pay};
  r.federates_with = std::vector<std::string>{"org-b.example"};
  auto registered = admin().RegisterIdentity(r);
  ASSERT_TRUE(registered.has_value()) << registered.error().message();
  EXPECT_EQ(registered->federates_with,
            std::vector<std::string>{"org-b.example"});
  Register(open.str());
  EXPECT_FALSE(Must(admin().GetIdentity(open)).federates_with.has_value());
  EXPECT_EQ(Must(admin().GetIdentity(pay)).federates_with,
            std::vector<std::string>{"org-b.example"});

  auto anonymous = Make("");
  EXPECT_EQ(Domains(Must(anonymous->GetBundles())), all);
  EXPECT_EQ(Domains(Must(admin().GetBundles())), all);
  EXPECT_EQ(Domains(Must(admin().GetBundles(pay))),
            (std::vector<std::string>{"org-a.example", "org-b.example"}));
  EXPECT_EQ(Domains(Must(admin().GetBundles(open))), all);
  auto no_key = anonymous->GetBundles(pay);
  ASSERT_FALSE(no_key.has_value());
  EXPECT_EQ(no_key.error().code(), Code::kUnauthenticated);
  auto missing = admin().GetBundles(Id("spiffe://org-a.example/agents/none"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);

  // Over mTLS the server narrows by the client's SVID; naming another
  // identity needs credentials for it.
  auto key = Must(PrivateKey::Generate(KeyType::kEcP256));
  auto svid = Must(
      admin().IssueX509Svid(pay, Must(CertificateRequest::Create(key, {}))));
  ClientOptions o = Options("");
  o.credentials =
      std::make_shared<const TlsCredentials>(TlsCredentials{svid.chain, key});
  auto mtls = Must(Client::Create(std::move(o)));
  EXPECT_EQ(Domains(Must(mtls->GetBundles())),
            (std::vector<std::string>{"org-a.example", "org-b.example"}));
  EXPECT_EQ(Domains(Must(mtls->GetBundles(pay))),
            (std::vector<std::string>{"org-a.example", "org-b.example"}));
  auto other = mtls->GetBundles(open);
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code(), Code::kPermissionDenied);

  // SetFederatesWith: none, then every domain again.
  auto none = admin().SetFederatesWith(pay, std::vector<std::string>{});
  ASSERT_TRUE(none.has_value()) << none.error().message();
  ASSERT_TRUE(none->federates_with.has_value());
  EXPECT_TRUE(none->federates_with->empty());
  EXPECT_EQ(Domains(Must(mtls->GetBundles())),
            std::vector<std::string>{"org-a.example"});
  auto every = admin().SetFederatesWith(pay, std::nullopt);
  ASSERT_TRUE(every.has_value()) << every.error().message();
  EXPECT_FALSE(every->federates_with.has_value());
  EXPECT_EQ(Domains(Must(mtls->GetBundles())), all);
  auto only_c =
      admin().SetFederatesWith(pay, std::vector<std::string>{"org-c.example"});
  ASSERT_TRUE(only_c.has_value());
  EXPECT_EQ(Domains(Must(admin().GetBundles(pay))),
            (std::vector<std::string>{"org-a.example", "org-c.example"}));

  auto self =
      admin().SetFederatesWith(pay, std::vector<std::string>{"org-a.example"});
  ASSERT_FALSE(self.has_value());
  EXPECT_EQ(self.error().code(), Code::kInvalidArgument);
  auto bad = admin().SetFederatesWith(pay, std::vector<std::string>{"Org B"});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().code(), Code::kInternal);
  auto unregistered = admin().SetFederatesWith(
      Id("spiffe://org-a.example/agents/none"), std::vector<std::string>{});
  ASSERT_FALSE(unregistered.has_value());
  EXPECT_EQ(unregistered.error().code(), Code::kNotFound);
  auto created = Must(admin().CreateApiKey("/tools/"));
  auto scoped =
      Make(std::string(created.api_key.View(InsecureSecretAccess::Get())));
  auto denied = scoped->SetFederatesWith(pay, std::nullopt);
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().code(), Code::kPermissionDenied);
  auto denied_view = scoped->GetBundles(pay);
  ASSERT_FALSE(denied_view.has_value());
  EXPECT_EQ(denied_view.error().code(), Code::kPermissionDenied);
}

// A bundle map must key every bundle under its own trust domain and be a
// map at all.
TEST_F(ClientTest, GetBundlesRefusesMisfiledBundles) {
  auto answer = std::make_shared<std::string>();
  server_.SetInterceptor(
      [answer](const http::Request& r) -> std::optional<http::Response> {
        if (r.path != "/v1/bundles") return std::nullopt;
        return JsonResponse(200, *answer);
      });
  // org-b's CA filed under org-c.
  Json misfiled = Json::object();
  misfiled["trust_domains"]["org-a.example"] = server_.bundle().ToJson();
  misfiled["trust_domains"]["org-c.example"] = PartnerBundle(1).ToJson();
  for (const std::string& body :
       {DumpJson(misfiled), std::string(R"({"trust_domains":[]})"),
        std::string(R"({"trust_domains":{"Org-B":{"keys":[]}}})"),
        std::string(R"({"bundles":{}})")}) {
    *answer = body;
    auto map = admin().GetBundles();
    ASSERT_FALSE(map.has_value()) << body;
    EXPECT_EQ(map.error().code(), Code::kMalformed) << body;
  }
  // The same map with org-b's CA under org-b is fine.
  misfiled["trust_domains"].erase("org-c.example");
  misfiled["trust_domains"]["org-b.example"] = PartnerBundle(1).ToJson();
  *answer = DumpJson(misfiled);
  auto map = admin().GetBundles();
  ASSERT_TRUE(map.has_value()) << map.error().message();
  EXPECT_EQ(Domains(*map),
            (std::vector<std::string>{"org-a.example", "org-b.example"}));
}

// The revocation lists by domain: the server's own, and a partner's whose
// fetch is recorded with the relationship (its endpoint is down here).
TEST_F(ClientTest, Finding13GetRevocationListsKeepsEachListToItsDomain) {
  const TrustDomain org_b = Td("org-b.example");
  fetches_->Push("org-b.example", PartnerBundle(1));
  FederationSpec spec = PartnerSpec();
  spec.revocations_url = "https://127.0.0.1:1/revocations";
  auto added = admin().AddFederation(spec);
  ASSERT_TRUE(added.has_value()) << added.error().message();
  ASSERT_NE(added->revocations, nullptr);
  EXPECT_EQ(added->revocations->result, FederationFetchResult::kFailed);
  EXPECT_EQ(added->revocations->trust_domain, org_b);
  auto list = admin().ListFederations();
  ASSERT_TRUE(list.has_value()) << list.error().message();
  EXPECT_EQ(list->front().revocations_url, spec.revocations_url);
  EXPECT_FALSE(list->front().revocations_sequence.has_value());
  ASSERT_TRUE(list->front().revocations_last.has_value());
  EXPECT_EQ(list->front().revocations_last->result,
            FederationFetchResult::kFailed);
  auto lists = admin().GetRevocationLists();
  ASSERT_TRUE(lists.has_value()) << lists.error().message();
  ASSERT_EQ(lists->size(), 1u);  // no good list of org-b yet
  EXPECT_EQ(lists->begin()->first, server_.trust_domain());

  auto answer = std::make_shared<std::string>();
  server_.SetInterceptor(
      [answer](const http::Request& r) -> std::optional<http::Response> {
        if (r.path != "/v1/revocation-lists") return std::nullopt;
        return JsonResponse(200, *answer);
      });
  const std::string own = R"("org-a.example":{"sequence":2,"ids":[]})";
  for (const std::string& body : {
           // org-b's list naming an org-a identity.
           "{\"trust_domains\":{" + own +
               R"(,"org-b.example":{"sequence":1,)"
               R"("ids":["spiffe://org-a.example/agents/a"]}}})",
           // Without the server's own domain.
           std::string(R"({"trust_domains":{"org-b.example":{"sequence":1}}})"),
           "{\"trust_domains\":{" + own + R"(,"org-b.example":{"ids":[]}}})",
           std::string(R"({"trust_domains":[]})"),
       }) {
    *answer = body;
    auto got = admin().GetRevocationLists();
    ASSERT_FALSE(got.has_value()) << body;
    EXPECT_EQ(got.error().code(), Code::kMalformed) << body;
  }
  *answer = "{\"trust_domains\":{" + own +
            R"(,"org-b.example":{"sequence":5,)"
            R"("ids":["spiffe://org-b.example/agents/x"]}}})";
  lists = admin().GetRevocationLists();
  ASSERT_TRUE(lists.has_value()) << lists.error().message();
  ASSERT_EQ(lists->size(), 2u);
  EXPECT_EQ(lists->at(server_.trust_domain()).sequence(), 2);
  EXPECT_TRUE(
      lists->at(org_b).IsRevokedId(Id("spiffe://org-b.example/agents/x")));
}

// ---- retries ----

// ---- policies ----

TEST_F(ClientTest, PoliciesAreCreatedVersionedAttachedAndDecided) {
  const SpiffeId payments = Id("spiffe://org-a.example/tools/payments");
  Register(payments.str());
  const Policy v1 = Parsed(kPaymentsPolicy);
  auto created = admin().CreatePolicy("payments", v1, "quotes only");
  ASSERT_TRUE(created.has_value()) << created.error().message();
  const std::string id = created->id;
  EXPECT_EQ(id.rfind("policy:", 0), 0u);
  EXPECT_EQ(created->name, "payments");
  EXPECT_EQ(created->description, "quotes only");
  EXPECT_EQ(created->version, 1);
  EXPECT_EQ(created->document, v1.ToJson()) << "stored in canonical form";
  EXPECT_EQ(created->created_at, server_.clock().Now());
  EXPECT_TRUE(created->attached_to.empty());
  auto taken = admin().CreatePolicy("payments", v1);
  ASSERT_FALSE(taken.has_value());
  EXPECT_EQ(taken.error().code(), Code::kAlreadyExists);

  AuthorizeRequest quote{.identity = payments, .action = "payments:quote"};
  quote.context = Json{{"aztp:CallerTrustDomain", "org-b.example"}};
  auto decided = admin().Authorize(quote);
  ASSERT_TRUE(decided.has_value()) << decided.error().message();
  EXPECT_FALSE(decided->decision.allowed()) << "nothing is attached yet";
  EXPECT_EQ(decided->decision.basis, DecisionBasis::kDefaultDeny);
  EXPECT_FALSE(decided->policy_id.has_value());
  EXPECT_FALSE(decided->decision.statement_index.has_value());

  ASSERT_TRUE(admin().AttachPolicy(id, payments));
  auto again = admin().AttachPolicy(id, payments);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), Code::kAlreadyExists);
  auto attached = admin().ListPolicies(payments);
  ASSERT_TRUE(attached.has_value()) << attached.error().message();
  ASSERT_EQ(attached->size(), 1u);
  EXPECT_EQ((*attached)[0].id, id);
  auto all = admin().ListPolicies();
  ASSERT_TRUE(all.has_value()) << all.error().message();
  EXPECT_EQ(all->size(), 1u);

  decided = admin().Authorize(quote);
  ASSERT_TRUE(decided.has_value()) << decided.error().message();
  EXPECT_TRUE(decided->decision.allowed());
  EXPECT_EQ(decided->decision.verdict, Verdict::kAllow);
  EXPECT_EQ(decided->decision.basis, DecisionBasis::kStatement);
  EXPECT_EQ(decided->decision.statement_index, std::optional<std::size_t>(0));
  EXPECT_EQ(decided->decision.sid, std::optional<std::string>("Quotes"));
  EXPECT_EQ(decided->policy_id, std::optional<std::string>(id));
  EXPECT_NE(decided->decision.reason.find("statement 0"), std::string::npos)
      << decided->decision.reason;
  AuthorizeRequest refund = quote;
  refund.action = "payments:refund";
  refund.resource = "invoices/42";
  refund.policy_id = id;
  decided = admin().Authorize(refund);
  ASSERT_TRUE(decided.has_value()) << decided.error().message();
  EXPECT_EQ(decided->decision.verdict, Verdict::kDeny);
  EXPECT_TRUE(decided->decision.explicit_deny());
  EXPECT_EQ(decided->decision.sid, std::optional<std::string>("NoRefunds"));
  EXPECT_EQ(decided->decision.statement_index, std::optional<std::size_t>(1));
  refund.policy_id = "policy:000000000000";
  auto unattached = admin().Authorize(refund);
  ASSERT_FALSE(unattached.has_value());
  EXPECT_EQ(unattached.error().code(), Code::kNotFound);
  AuthorizeRequest bare = quote;
  bare.context = Json{{"department", "x"}};
  auto bare_key = admin().Authorize(bare);
  ASSERT_FALSE(bare_key.has_value());
  EXPECT_EQ(bare_key.error().code(), Code::kInvalidArgument);
  EXPECT_NE(bare_key.error().message().find("department"), std::string::npos);

  // A new version replaces the current one; a stale version is refused.
  const Policy v2 =
      Parsed(R"({"Statement":{"Effect":"Allow","Action":"payments:*"}})");
  auto updated =
      admin().UpdatePolicy(id, 1, v2, std::nullopt, "all of payments");
  ASSERT_TRUE(updated.has_value()) << updated.error().message();
  EXPECT_EQ(updated->version, 2);
  EXPECT_EQ(updated->name, "payments");
  EXPECT_EQ(updated->description, "all of payments");
  EXPECT_EQ(updated->document, v2.ToJson());
  auto stale = admin().UpdatePolicy(id, 1, v2);
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code(), Code::kAlreadyExists);
  EXPECT_NE(stale.error().message().find("version 2"), std::string::npos)
      << stale.error().message();
  refund.policy_id.reset();
  decided = admin().Authorize(refund);
  ASSERT_TRUE(decided.has_value()) << decided.error().message();
  EXPECT_TRUE(decided->decision.allowed());

  auto current = admin().GetPolicy(id);
  ASSERT_TRUE(current.has_value()) << current.error().message();
  EXPECT_EQ(current->version, 2);
  EXPECT_EQ(current->attached_to, std::vector<SpiffeId>{payments});
  auto first = admin().GetPolicy(id, 1);
  ASSERT_TRUE(first.has_value()) << first.error().message();
  EXPECT_EQ(first->version, 1);
  EXPECT_EQ(first->document, v1.ToJson());
  EXPECT_EQ(Must(PolicyFromJson(first->document)), v1);

  ASSERT_TRUE(admin().DetachPolicy(id, payments));
  auto detached = admin().DetachPolicy(id, payments);
  ASSERT_FALSE(detached.has_value());
  EXPECT_EQ(detached.error().code(), Code::kNotFound);
  attached = admin().ListPolicies(payments);
  ASSERT_TRUE(attached.has_value());
  EXPECT_TRUE(attached->empty());
  ASSERT_TRUE(admin().DeletePolicy(id));
  EXPECT_EQ(admin().GetPolicy(id).error().code(), Code::kNotFound);
  EXPECT_EQ(admin().DeletePolicy(id).error().code(), Code::kNotFound);
  EXPECT_TRUE(waits().empty());
}

TEST_F(ClientTest, PolicyCallsRefuseMalformedIdsAndFollowPermissions) {
  const SpiffeId tool = Id("spiffe://org-a.example/tools/search");
  Register(tool.str());
  Register("spiffe://org-a.example/agents/a");
  const Policy policy = Parsed(kPaymentsPolicy);
  server_.ClearRequests();
  // IDs that could bend the request target never leave the client.
  for (const char* bad : {"policy:../apikeys", "policy:a?b", "policy:",
                          "apikeys", "policy:a:attach", "policy:a/b"}) {
    EXPECT_EQ(admin().GetPolicy(bad).error().code(), Code::kInvalidArgument)
        << bad;
    EXPECT_EQ(admin().AttachPolicy(bad, tool).error().code(),
              Code::kInvalidArgument)
        << bad;
    EXPECT_EQ(admin().DeletePolicy(bad).error().code(), Code::kInvalidArgument)
        << bad;
    EXPECT_EQ(admin().UpdatePolicy(bad, 1, policy).error().code(),
              Code::kInvalidArgument)
        << bad;
  }
  AuthorizeRequest list_context{.identity = tool, .action = "a"};
  list_context.context = Json::array();
  EXPECT_EQ(admin().Authorize(list_context).error().code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(server_.requests().empty()) << "nothing was sent";

  // A scoped key asks for the decisions of its identities, but neither
  // manages the policies nor attaches them (docs/aztpd.md, "Permissions").
  const std::string id = Must(admin().CreatePolicy("p", policy)).id;
  auto created = admin().CreateApiKey("/tools/");
  ASSERT_TRUE(created.has_value()) << created.error().message();
  auto scoped =
      Make(std::string(created->api_key.View(InsecureSecretAccess::Get())));
  EXPECT_EQ(scoped->CreatePolicy("q", policy).error().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(scoped->ListPolicies().error().code(), Code::kPermissionDenied);
  EXPECT_EQ(scoped->GetPolicy(id).error().code(), Code::kPermissionDenied);
  EXPECT_EQ(scoped->DeletePolicy(id).error().code(), Code::kPermissionDenied);
  EXPECT_EQ(scoped->AttachPolicy(id, tool).error().code(),
            Code::kPermissionDenied);
  ASSERT_TRUE(admin().AttachPolicy(id, tool));
  EXPECT_EQ(scoped->AttachPolicy(id, Id("spiffe://org-a.example/agents/a"))
                .error()
                .code(),
            Code::kPermissionDenied);
  auto mine = scoped->ListPolicies(tool);
  ASSERT_TRUE(mine.has_value()) << mine.error().message();
  EXPECT_EQ(mine->size(), 1u);
  auto decided =
      scoped->Authorize({.identity = tool, .action = "payments:refund"});
  ASSERT_TRUE(decided.has_value()) << decided.error().message();
  EXPECT_TRUE(decided->decision.explicit_deny());
  EXPECT_EQ(scoped
                ->Authorize({.identity = Id("spiffe://org-a.example/agents/a"),
                             .action = "payments:refund"})
                .error()
                .code(),
            Code::kPermissionDenied);
  EXPECT_EQ(scoped->DetachPolicy(id, tool).error().code(),
            Code::kPermissionDenied);
  EXPECT_TRUE(admin().DetachPolicy(id, tool));
}

TEST_F(ClientTest, RetriesIdempotentCallsWithBackoffAfter503) {
  auto failures = std::make_shared<std::atomic<int>>(2);
  server_.SetInterceptor(
      [failures](const http::Request& r) -> std::optional<http::Response> {
        if (r.path == "/v1/bundle" && failures->fetch_sub(1) > 0) {
          return JsonResponse(503, R"({"error":"unavailable","message":"x"})");
        }
        return std::nullopt;
      });
  auto bundle = admin().GetBundle();
  ASSERT_TRUE(bundle.has_value()) << bundle.error().message();
  EXPECT_EQ(Count("/v1/bundle"), 3);
  auto w = waits();
  ASSERT_EQ(w.size(), 2u);
  // 100 ms then 200 ms, each scaled by a jitter factor in [0.5, 1].
  EXPECT_GE(w[0], milliseconds(50));
  EXPECT_LE(w[0], milliseconds(100));
  EXPECT_GE(w[1], milliseconds(100));
  EXPECT_LE(w[1], milliseconds(200));
}

TEST_F(ClientTest, GivesUpAfterMaxAttempts) {
  server_.SetInterceptor([](const http::Request&) {
    return std::optional<http::Response>(
        JsonResponse(503, R"({"error":"unavailable","message":"draining"})"));
  });
  auto list = admin().GetRevocations();
  ASSERT_FALSE(list.has_value());
  EXPECT_EQ(list.error().code(), Code::kUnavailable);
  EXPECT_NE(list.error().message().find("draining"), std::string::npos);
  EXPECT_EQ(Count("/v1/revocations"), 4);
  auto w = waits();
  ASSERT_EQ(w.size(), 3u);
  EXPECT_GE(w[2], milliseconds(200));
  EXPECT_LE(w[2], milliseconds(400));
}

TEST_F(ClientTest, HonoursRetryAfterOn429UpToTheCap) {
  auto failures = std::make_shared<std::atomic<int>>(1);
  server_.SetInterceptor(
      [failures](const http::Request&) -> std::optional<http::Response> {
        if (failures->fetch_sub(1) <= 0) return std::nullopt;
        auto r = JsonResponse(429, R"({"error":"rate_limited","message":"x"})");
        r.headers.emplace_back("Retry-After", "2");
        return r;
      });
  ASSERT_TRUE(admin().ListIdentities({}).has_value());
  auto w = waits();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0], milliseconds(2000));
}

TEST_F(ClientTest, NeverRetriesCallsThatAreNotIdempotent) {
  server_.SetInterceptor([](const http::Request&) {
    return std::optional<http::Response>(
        JsonResponse(503, R"({"error":"unavailable","message":"x"})"));
  });
  auto r = admin().RegisterIdentity({.id = Id("spiffe://org-a.example/a")});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kUnavailable);
  auto k = admin().CreateApiKey("/x/");
  ASSERT_FALSE(k.has_value());
  auto key = Must(PrivateKey::Generate(KeyType::kEcP256));
  auto s = admin().IssueX509Svid(Id("spiffe://org-a.example/a"),
                                 Must(CertificateRequest::Create(key, {})));
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(Count("/v1/identities"), 1);
  EXPECT_EQ(Count("/v1/apikeys"), 1);
  EXPECT_EQ(Count("/v1/svid/x509"), 1);
  EXPECT_TRUE(waits().empty());
  // Revocation is idempotent and is retried.
  auto revoke = admin().RevokeIdentity(Id("spiffe://org-a.example/a"));
  ASSERT_FALSE(revoke.has_value());
  EXPECT_EQ(Count("/v1/identities/org-a.example/a:revoke"), 4);

  // Federation: adding, refreshing and removing are sent once; listing,
  // reading the bundle map and setting federates_with are retried.
  const TrustDomain org_b = Td("org-b.example");
  EXPECT_FALSE(admin().AddFederation(PartnerSpec()).has_value());
  EXPECT_FALSE(admin().RefreshFederation(org_b).has_value());
  EXPECT_FALSE(admin().RemoveFederation(org_b).has_value());
  EXPECT_EQ(Count("/v1/federations"), 1);
  EXPECT_EQ(Count("/v1/federations/org-b.example:refresh"), 1);
  EXPECT_EQ(Count("/v1/federations/org-b.example"), 1);
  server_.ClearRequests();
  EXPECT_FALSE(admin().ListFederations().has_value());
  EXPECT_EQ(Count("/v1/federations"), 4);
  EXPECT_FALSE(admin().GetBundles().has_value());
  EXPECT_EQ(Count("/v1/bundles"), 4);
  EXPECT_FALSE(admin()
                   .SetFederatesWith(Id("spiffe://org-a.example/a"),
                                     std::vector<std::string>{})
                   .has_value());
  EXPECT_EQ(Count("/v1/identities/org-a.example/a"), 4);

  // Policies: writes are sent once; reads and decisions are retried.
  server_.ClearRequests();
  const Policy policy = Parsed(kPaymentsPolicy);
  const std::string id = "policy:0123456789ab";
  const SpiffeId a = Id("spiffe://org-a.example/a");
  EXPECT_FALSE(admin().CreatePolicy("p", policy).has_value());
  EXPECT_EQ(Count("/v1/policies"), 1);
  EXPECT_FALSE(admin().UpdatePolicy(id, 1, policy).has_value());
  EXPECT_FALSE(admin().DeletePolicy(id).has_value());
  EXPECT_EQ(Count("/v1/policies/" + id), 2);
  EXPECT_FALSE(admin().AttachPolicy(id, a).has_value());
  EXPECT_EQ(Count("/v1/policies/" + id + ":attach"), 1);
  EXPECT_FALSE(admin().DetachPolicy(id, a).has_value());
  EXPECT_EQ(Count("/v1/policies/" + id + ":detach"), 1);
  server_.ClearRequests();
  EXPECT_FALSE(admin().ListPolicies().has_value());
  EXPECT_EQ(Count("/v1/policies"), 4);
  EXPECT_FALSE(admin().GetPolicy(id, 1).has_value());
  EXPECT_EQ(Count("/v1/policies/" + id), 4);
  EXPECT_FALSE(admin().Authorize({.identity = a, .action = "x"}).has_value());
  EXPECT_EQ(Count("/v1/authorize"), 4);
}

TEST_F(ClientTest, RetriesTransportFailures) {
  ClientOptions o = Options(server_.admin_api_key());
  o.base_url = "https://127.0.0.1:1";  // nothing listens on port 1
  o.retry.max_attempts = 3;
  auto c = Must(Client::Create(std::move(o)));
  auto r = c->GetBundle();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kIo);
  EXPECT_EQ(waits().size(), 2u);
  EXPECT_EQ(r.error().message().find(SecretPart(server_.admin_api_key())),
            std::string::npos);
}

// ---- server authentication ----

TEST_F(ClientTest, RefusesAServerThatTheBundleDoesNotVouchFor) {
  // Same trust domain name, different CA.
  testing::TestDomains impostor(server_.clock().Now());
  impostor.AddDomain("org-a.example");
  ClientOptions o = Options(server_.admin_api_key());
  o.SetTrustBundle(*impostor.Bundles()->GetBundle(
      Must(TrustDomain::Parse("org-a.example"))));
  auto c = Must(Client::Create(std::move(o)));
  auto r = c->Healthz();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kUnauthenticated);
  EXPECT_TRUE(waits().empty());
  EXPECT_TRUE(server_.requests().empty()) << "nothing was sent";
}

TEST_F(ClientTest, RefusesAServerWithAnotherId) {
  ClientOptions o = Options(server_.admin_api_key());
  o.server_id = Id("spiffe://org-a.example/not-aztpd");
  auto c = Must(Client::Create(std::move(o)));
  auto r = c->ListIdentities({});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kUnauthenticated);
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(ClientTest, CreateRefusesUnusableOptions) {
  ClientOptions none;
  none.base_url = server_.url();
  EXPECT_EQ(Client::Create(none).error().code(), Code::kInvalidArgument);
  ClientOptions plain = Options("");
  plain.base_url = "http://127.0.0.1:80";
  EXPECT_EQ(Client::Create(plain).error().code(), Code::kInvalidArgument);
  auto bad_key = Client::Create(Options("aztp_1.abc\r\nX-Evil: 1"));
  ASSERT_FALSE(bad_key.has_value());
  EXPECT_EQ(bad_key.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad_key.error().message().find("abc"), std::string::npos);
  ClientOptions no_attempts = Options("");
  no_attempts.retry.max_attempts = 0;
  EXPECT_EQ(Client::Create(no_attempts).error().code(), Code::kInvalidArgument);
}

// ---- bad answers ----

TEST_F(ClientTest, MalformedResponsesAreErrorsNotCrashes) {
  Register("spiffe://org-a.example/agents/a");
  auto answer = std::make_shared<std::pair<int, std::string>>();
  server_.SetInterceptor(
      [answer](const http::Request& r) -> std::optional<http::Response> {
        if (r.path == "/healthz") return std::nullopt;
        return JsonResponse(answer->first, answer->second);
      });
  auto key = Must(PrivateKey::Generate(KeyType::kEcP256));
  auto csr = Must(CertificateRequest::Create(key, std::nullopt));
  const SpiffeId a = Id("spiffe://org-a.example/agents/a");
  // `every`: each call fails with `want`; otherwise only the identity
  // list, whose shape the case breaks, must fail (and nothing may crash).
  struct Case {
    int status;
    std::string body;
    Code want;
    bool every;
  } cases[] = {
      {200, "not json", Code::kMalformed, true},
      {200, "[]", Code::kMalformed, true},
      {200, "{}", Code::kMalformed, false},
      {200, R"({"identities":5})", Code::kMalformed, false},
      {200, R"({"identities":[{"id":"not an id","status":"active"}]})",
       Code::kMalformed, false},
      {200,
       R"({"identities":[{"id":"spiffe://org-a.example/a","status":"odd"}]})",
       Code::kMalformed, false},
      {200, R"({"identities":[],"next":7})", Code::kMalformed, false},
      {200,
       R"({"identities":[{"id":"spiffe://org-a.example/a","status":"active","global":"yes"}]})",
       Code::kMalformed, false},
      {200,
       R"({"identities":[{"id":"spiffe://org-a.example/a","status":"active","federates_with":"org-b.example"}]})",
       Code::kMalformed, false},
      {200,
       R"({"identities":[{"id":"spiffe://org-a.example/a","status":"active","federates_with":[7]}]})",
       Code::kMalformed, false},
      {200, R"({"svid":"x","bundle":{},"expires_at":1})", Code::kMalformed,
       false},
      {500, "<html>oops</html>", Code::kInternal, true},
      {418, R"({"error":"teapot","message":"short and stout"})",
       Code::kInvalidArgument, true},
      {404, R"({"error":5})", Code::kNotFound, true},
  };
  for (const auto& c : cases) {
    *answer = {c.status, c.body};
    std::vector<Result<int>> results;
    auto wrap = [](auto r) -> Result<int> {
      if (!r) return r.error();
      return 0;
    };
    results.push_back(wrap(admin().ListIdentities({})));
    results.push_back(wrap(admin().GetIdentity(a)));
    results.push_back(wrap(admin().Discover({})));
    results.push_back(wrap(admin().GetBundle()));
    results.push_back(wrap(admin().GetRevocations()));
    results.push_back(wrap(admin().ListApiKeys()));
    results.push_back(wrap(admin().ListCaKeys()));
    results.push_back(wrap(admin().IssueX509Svid(a, csr)));
    results.push_back(wrap(admin().IssueJwtSvid(a, {"x"})));
    results.push_back(wrap(admin().CreateApiKey("admin")));
    results.push_back(wrap(admin().LinkIdentity(a, a, LinkKind::kLinked)));
    results.push_back(wrap(admin().GetBundles()));
    results.push_back(wrap(admin().ListFederations()));
    results.push_back(wrap(admin().RefreshFederation(Td("org-b.example"))));
    results.push_back(wrap(admin().SetFederatesWith(a, std::nullopt)));
    results.push_back(wrap(admin().AddFederation(PartnerSpec())));
    results.push_back([&]() -> Result<int> {
      auto removed = admin().RemoveFederation(Td("org-b.example"));
      if (!removed) return removed.error();
      return 0;
    }());
    const std::string pid = "policy:0123456789ab";
    const Policy policy = Parsed(kPaymentsPolicy);
    results.push_back(wrap(admin().CreatePolicy("p", policy)));
    results.push_back(wrap(admin().UpdatePolicy(pid, 1, policy)));
    results.push_back(wrap(admin().GetPolicy(pid)));
    results.push_back(wrap(admin().ListPolicies(a)));
    results.push_back(wrap(admin().Authorize({.identity = a, .action = "x"})));
    results.push_back(wrap(admin().DeletePolicy(pid)));
    results.push_back(wrap(admin().AttachPolicy(pid, a)));
    results.push_back(wrap(admin().DetachPolicy(pid, a)));
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (!c.every && i > 0) continue;
      ASSERT_FALSE(results[i].has_value()) << i << ": " << c.body;
      EXPECT_EQ(results[i].error().code(), c.want) << i << ": " << c.body;
    }
  }

  // Policy answers of the wrong shape.
  const std::string pid = "policy:0123456789ab";
  const std::string head =
      R"({"id":"policy:0123456789ab","name":"p","created_at":1,)";
  struct PolicyCase {
    std::string body;
    std::function<Status()> call;
  } policy_cases[] = {
      {head + R"("version":1})",
       [&] { return StatusOf(admin().GetPolicy(pid)); }},
      {head + R"("version":1,"document":"text"})",
       [&] { return StatusOf(admin().GetPolicy(pid)); }},
      {head + R"("version":1,"document":{},"attached_to":["not an id"]})",
       [&] { return StatusOf(admin().GetPolicy(pid)); }},
      {head + R"("version":"1","document":{}})",
       [&] { return StatusOf(admin().GetPolicy(pid)); }},
      {R"({"policies":{}})", [&] { return StatusOf(admin().ListPolicies()); }},
      {R"({"policies":[7]})", [&] { return StatusOf(admin().ListPolicies()); }},
      {R"({"deleted":false})", [&] { return admin().DeletePolicy(pid); }},
      {R"({"detach":true})", [&] { return admin().AttachPolicy(pid, a); }},
      {R"({"allowed":true,"verdict":"deny","basis":"statement","reason":""})",
       [&] {
         return StatusOf(admin().Authorize({.identity = a, .action = "x"}));
       }},
      {R"({"allowed":true,"verdict":"allow","basis":"luck","reason":""})",
       [&] {
         return StatusOf(admin().Authorize({.identity = a, .action = "x"}));
       }},
      {R"({"allowed":true,"verdict":"allow","basis":"statement","reason":"",)"
       R"("statement_index":-1})",
       [&] {
         return StatusOf(admin().Authorize({.identity = a, .action = "x"}));
       }},
      {R"({"allowed":true,"verdict":"allow","basis":"statement","reason":"",)"
       R"("policy_id":7})",
       [&] {
         return StatusOf(admin().Authorize({.identity = a, .action = "x"}));
       }},
  };
  // The same shapes, well-formed, are accepted (so each case above fails
  // for its one fault).
  *answer = {200, head + R"("version":1,"document":{},"attached_to":[]})"};
  EXPECT_TRUE(StatusOf(admin().GetPolicy(pid)));
  *answer = {200, R"({"allowed":true,"verdict":"allow","basis":"statement",)"
                  R"("reason":"","statement_index":0,"policy_id":null})"};
  EXPECT_TRUE(StatusOf(admin().Authorize({.identity = a, .action = "x"})));
  for (const auto& c : policy_cases) {
    *answer = {200, c.body};
    Status got = c.call();
    ASSERT_FALSE(got.has_value()) << c.body;
    EXPECT_EQ(got.error().code(), Code::kMalformed) << c.body;
  }

  // Control bytes in a server message do not reach the caller.
  *answer = {400, "{\"error\":\"malformed\",\"message\":\"a\\nb\\u001b[31m\"}"};
  auto r = admin().GetIdentity(a);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kMalformed);
  EXPECT_EQ(r.error().message().find('\n'), std::string::npos);
  EXPECT_EQ(r.error().message().find('\x1b'), std::string::npos);

  // An SVID for another identity or key is refused.
  server_.SetInterceptor(nullptr);
  Register("spiffe://org-a.example/agents/b");
  auto other =
      Must(admin().IssueX509Svid(Id("spiffe://org-a.example/agents/b"), csr));
  Json forged{{"svid", ToPem(other.chain)},
              {"bundle", server_.bundle().ToJson()},
              {"expires_at", other.expires_at}};
  server_.SetInterceptor([forged](const http::Request&) {
    return std::optional<http::Response>(JsonResponse(201, DumpJson(forged)));
  });
  auto wrong_id = admin().IssueX509Svid(a, csr);
  ASSERT_FALSE(wrong_id.has_value());
  EXPECT_EQ(wrong_id.error().code(), Code::kMalformed);
  auto other_key = Must(PrivateKey::Generate(KeyType::kEcP256));
  auto wrong_key = admin().IssueX509Svid(
      Id("spiffe://org-a.example/agents/b"),
      Must(CertificateRequest::Create(other_key, std::nullopt)));
  ASSERT_FALSE(wrong_key.has_value());
  EXPECT_EQ(wrong_key.error().code(), Code::kMalformed);
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
  testing::TestDomains domains(ControlPlaneServer::kDefaultNow);
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
}  // namespace aztp

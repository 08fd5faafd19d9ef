// The federation poller's rules with a scripted fetcher, and FetchBundle
// against real HTTPS bundle endpoints on loopback (https_spiffe), including
// the self-serving rule across a CA rotation and the endpoint faults.
#include "aztp/federation/bundle_poller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>

#include "aztp/ca/authority.h"
#include "aztp/http/http.h"
#include "aztp/tls/tls.h"

namespace aztp {
namespace {

constexpr UnixTime kNow = 1'800'000'000;

TrustDomain Td(const char* name) { return *TrustDomain::Parse(name); }

// An authority of b.example and bundles made of its roots.
struct Domain {
  CertificateAuthority ca =
      *CertificateAuthority::Create(Td("b.example"), {}, kNow - 60);
};

Bundle MakeBundle(std::vector<const Domain*> cas, int64_t seq,
                  std::optional<int64_t> hint = 60) {
  std::vector<Certificate> roots;
  for (const Domain* d : cas) roots.push_back(d->ca.root());
  return *Bundle::Create(Td("b.example"), roots, {}, seq, hint);
}

FederationRelationship Spiffe(const std::string& url, const Bundle& boot) {
  FederationRelationship r{Td("b.example")};
  r.endpoint_url = url;
  r.profile = EndpointProfile::kHttpsSpiffe;
  r.endpoint_id = *SpiffeId::Parse("spiffe://b.example/bundle");
  r.bootstrap_bundle = std::make_shared<const Bundle>(boot);
  return r;
}

TEST(FederationRelationshipTest, EachProfileTakesExactlyItsParameters) {
  Domain d;
  Bundle boot = MakeBundle({&d}, 1);
  EXPECT_TRUE(Spiffe("https://127.0.0.1:1/bundle", boot).Validate());
  auto no_id = Spiffe("https://127.0.0.1:1/bundle", boot);
  no_id.endpoint_id.reset();
  EXPECT_FALSE(no_id.Validate());
  auto other_id = Spiffe("https://127.0.0.1:1/bundle", boot);
  other_id.endpoint_id = *SpiffeId::Parse("spiffe://c.example/bundle");
  EXPECT_FALSE(other_id.Validate());
  auto web = Spiffe("https://127.0.0.1:1/bundle", boot);
  web.profile = EndpointProfile::kHttpsWeb;
  EXPECT_FALSE(web.Validate());  // a SPIFFE ID is not a web parameter
  web.endpoint_id.reset();
  web.bootstrap_bundle.reset();
  EXPECT_TRUE(web.Validate());  // the system's CAs
  web.web_ca_file = "/etc/ca.pem";
  EXPECT_TRUE(web.Validate());
  web.web_ca_pem = "-----BEGIN CERTIFICATE-----";
  EXPECT_FALSE(web.Validate());  // a file or PEM text, not both
  web.web_ca_file.clear();
  EXPECT_TRUE(web.Validate());
  auto spiffe_with_ca = Spiffe("https://127.0.0.1:1/bundle", boot);
  spiffe_with_ca.web_ca_pem = "x";
  EXPECT_FALSE(spiffe_with_ca.Validate());
  for (const char* url :
       {"http://x/bundle", "https:///b", "https://u@x/b", "ftp://x",
        // Refused when configured, not only when fetched (http/address.h).
        "https://x:99999/bundle", "https://x:0/bundle", "https://x:/bundle",
        "https://x_y:1/bundle", "https://x:1?q", "https://x:1/a\x01"}) {
    auto bad = web;
    bad.endpoint_url = url;
    auto refused = bad.Validate();
    ASSERT_FALSE(refused) << url;
    EXPECT_EQ(refused.error().code(), Code::kInvalidArgument) << url;
  }
  EXPECT_FALSE(ParseEndpointProfile("https"));
}

TEST(FederationRelationshipTest, RevocationsComeFromTheBundleEndpointsServer) {
  Domain d;
  auto rel = Spiffe("https://127.0.0.1:1/bundle", MakeBundle({&d}, 1));
  rel.revocations_url = "https://127.0.0.1:1/revocations";
  EXPECT_TRUE(rel.Validate());
  for (const char* url :
       {"https://127.0.0.1:2/revocations", "https://localhost:1/revocations",
        "http://127.0.0.1:1/revocations", "https://127.0.0.1:1#x"}) {
    rel.revocations_url = url;
    EXPECT_EQ(rel.Validate().error().code(), Code::kInvalidArgument) << url;
  }
}

RevocationList List(int64_t seq, std::vector<const char*> ids,
                    std::vector<std::string> serials = {}) {
  std::vector<SpiffeId> parsed;
  for (const char* id : ids) parsed.push_back(*SpiffeId::Parse(id));
  return *RevocationList::Create(seq, std::move(parsed), {},
                                 std::move(serials));
}

// A scripted fetcher of bundles or revocation lists: each call takes the
// next answer.
template <typename T>
struct Script {
  std::deque<Result<T>> answers;
  std::vector<std::shared_ptr<const Bundle>> trusts_seen;
  std::function<Result<T>(const FederationRelationship&,
                          std::shared_ptr<const Bundle>)>
  Fetcher() {
    return [this](const FederationRelationship&,
                  std::shared_ptr<const Bundle> trust) -> Result<T> {
      trusts_seen.push_back(trust);
      if (answers.empty()) return Error(Code::kUnavailable, "script empty");
      Result<T> next = std::move(answers.front());
      answers.pop_front();
      return next;
    };
  }
};

TEST(BundlePollerTest, RefreshSeedAndStates) {
  Domain d1, d2;
  Bundle v1 = MakeBundle({&d1}, 1), v2 = MakeBundle({&d1, &d2}, 2),
         v3 = MakeBundle({&d2}, 3);
  Script<Bundle> s;
  BundlePoller p(s.Fetcher());
  ASSERT_TRUE(p.Set({Spiffe("https://127.0.0.1:1/b", v1)}));
  // A bundle kept from before a restart is trusted at once, and
  // authenticates the next fetch.
  ASSERT_TRUE(p.Seed(std::make_shared<const Bundle>(v2)));
  EXPECT_EQ(*p.Bundles().GetBundle(Td("b.example")), v2);
  // An older one does not replace it.
  ASSERT_TRUE(p.Seed(std::make_shared<const Bundle>(v1)));
  EXPECT_EQ(*p.Bundles().GetBundle(Td("b.example")), v2);
  // A partner that numbers no bundle: a stored copy that differs is
  // followed (a replica adopting what the maintenance leader fetched).
  Bundle plain1 = *Bundle::Create(Td("b.example"), {d1.ca.root()}, {},
                                  std::nullopt, std::nullopt);
  Bundle plain2 = *Bundle::Create(Td("b.example"), {d2.ca.root()}, {},
                                  std::nullopt, std::nullopt);
  BundlePoller q(s.Fetcher());
  ASSERT_TRUE(q.Set({Spiffe("https://127.0.0.1:1/b", plain1)}));
  ASSERT_TRUE(q.Seed(std::make_shared<const Bundle>(plain2)));
  EXPECT_EQ(*q.Bundles().GetBundle(Td("b.example")), plain2);
  Domain other;
  auto stranger = std::make_shared<const Bundle>(*Bundle::Create(
      Td("c.example"), {other.ca.root()}, {}, int64_t{1}, std::nullopt));
  EXPECT_EQ(p.Seed(stranger).error().code(), Code::kNotFound);

  auto states = p.States();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].last_fetch, 0);
  EXPECT_FALSE(states[0].last_event.has_value());

  // Refresh fetches now, whatever the schedule says.
  s.answers.push_back(v3);
  auto ev = p.Refresh(Td("b.example"), kNow);
  ASSERT_TRUE(ev.has_value());
  ASSERT_EQ(ev->size(), 1u);  // no revocations_url: the bundle alone
  EXPECT_EQ(ev->front().kind, PollEvent::Kind::kUpdated);
  EXPECT_EQ(*s.trusts_seen.back(), v2);
  s.answers.push_back(Error(Code::kUnavailable, "down"));
  ev = p.Refresh(Td("b.example"), kNow + 1);
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->front().kind, PollEvent::Kind::kFailed);
  states = p.States();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(*states[0].bundle, v3);  // the last good bundle stays
  EXPECT_EQ(states[0].failures, 1);
  EXPECT_EQ(states[0].last_fetch, kNow + 1);
  ASSERT_TRUE(states[0].last_event.has_value());
  EXPECT_EQ(states[0].last_event->kind, PollEvent::Kind::kFailed);
  EXPECT_EQ(p.Refresh(Td("c.example"), kNow).error().code(), Code::kNotFound);
}

TEST(BundlePollerTest, KeepsTheNewestGoodBundleAndTrustsIt) {
  Domain d1, d2;
  Bundle v1 = MakeBundle({&d1}, 1), v2 = MakeBundle({&d1, &d2}, 2),
         v3 = MakeBundle({&d2}, 3);
  Script<Bundle> s;
  BundlePoller p(s.Fetcher());
  ASSERT_TRUE(p.Set({Spiffe("https://127.0.0.1:1/b", v1)}));
  EXPECT_EQ(p.Bundles().size(), 0u);  // bootstrap alone is not trusted
  s.answers.push_back(v2);
  auto ev = p.RunDue(kNow);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, PollEvent::Kind::kUpdated);
  EXPECT_EQ(*p.Bundles().GetBundle(Td("b.example")), v2);
  EXPECT_EQ(*s.trusts_seen.back(), v1);
  // Not due before the hint (60 s) has passed.
  EXPECT_TRUE(p.RunDue(kNow + 59).empty());
  EXPECT_EQ(p.NextDue(), kNow + 60);

  struct Step {
    Result<Bundle> answer;
    PollEvent::Kind kind;
    const char* reason;
  };
  Step steps[] = {
      {v2, PollEvent::Kind::kUnchanged, ""},
      {v1, PollEvent::Kind::kRejected, "sequence_rollback"},
      {MakeBundle({&d2}, 2), PollEvent::Kind::kRejected, "sequence_reused"},
      {*Bundle::Create(Td("b.example"), {d2.ca.root()}, {}, std::nullopt, 60),
       PollEvent::Kind::kRejected, "sequence_missing"},
      {Error(Code::kMalformed, "garbage"), PollEvent::Kind::kFailed,
       "malformed"},
  };
  UnixTime t = kNow;
  for (auto& step : steps) {
    t += 3600;
    s.answers.push_back(std::move(step.answer));
    ev = p.RunDue(t);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, step.kind) << step.reason;
    EXPECT_EQ(ev[0].reason, step.reason);
    // Whatever happened, v2 stays in force and authenticates the next fetch.
    EXPECT_EQ(*p.Bundles().GetBundle(Td("b.example")), v2);
    EXPECT_EQ(*s.trusts_seen.back(), v2);
  }
  // After a failure the retry comes sooner than the hint would.
  EXPECT_EQ(p.NextDue(), t + 30);
  s.answers.push_back(Error(Code::kUnavailable, "down"));
  p.RunDue(t + 30);
  EXPECT_EQ(p.NextDue(), t + 30 + 60);  // doubled
  s.answers.push_back(v3);
  ev = p.RunDue(t + 90);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, PollEvent::Kind::kUpdated);
  EXPECT_EQ(ev[0].old_sequence, 2);
  EXPECT_EQ(ev[0].new_sequence, 3);
  EXPECT_EQ(*p.Bundles().GetBundle(Td("b.example")), v3);
}

TEST(BundlePollerTest, Finding13RevocationListFollowsEachBundleFetch) {
  Domain d1, d2;
  Bundle v1 = MakeBundle({&d1}, 1), v2 = MakeBundle({&d1, &d2}, 2);
  Script<Bundle> s;
  Script<RevocationList> l;
  BundlePoller p(s.Fetcher(), l.Fetcher());
  auto rel = Spiffe("https://127.0.0.1:1/b", v1);
  rel.revocations_url = "https://127.0.0.1:1/revocations";
  ASSERT_TRUE(p.Set({rel}));
  const TrustDomain b = Td("b.example");
  const char* rogue = "spiffe://b.example/agent/rogue";
  s.answers.push_back(v2);
  l.answers.push_back(List(3, {rogue}));
  auto ev = p.RunDue(kNow);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_FALSE(ev[0].revocations);
  EXPECT_TRUE(ev[1].revocations);
  EXPECT_EQ(ev[1].kind, PollEvent::Kind::kUpdated) << ev[1].message;
  EXPECT_EQ(ev[1].new_sequence, 3);
  // Fetched right after the bundle, authenticated by the bundle just taken.
  EXPECT_EQ(*l.trusts_seen.back(), v2);
  ASSERT_EQ(p.RevocationLists().count(b), 1u);
  EXPECT_TRUE(p.RevocationLists().at(b)->IsRevokedId(*SpiffeId::Parse(rogue)));

  struct Step {
    Result<RevocationList> answer;
    PollEvent::Kind kind;
    const char* reason;
    int64_t in_force;
  };
  Step steps[] = {
      {List(3, {rogue}), PollEvent::Kind::kUnchanged, "", 3},
      // The same sequence with other serials (they leave a list as they
      // expire): taken.
      {List(3, {rogue}, {"1f"}), PollEvent::Kind::kUpdated, "", 3},
      {List(2, {}), PollEvent::Kind::kRejected, "sequence_rollback", 3},
      // Another domain's identity: a federated domain revokes only its own.
      {List(9, {rogue, "spiffe://c.example/agent/victim"}),
       PollEvent::Kind::kRejected, "foreign_id", 3},
      {Error(Code::kMalformed, "garbage"), PollEvent::Kind::kFailed,
       "malformed", 3},
      {Error(Code::kIo, "down"), PollEvent::Kind::kFailed, "io_error", 3},
      {List(4, {}), PollEvent::Kind::kUpdated, "", 4},
  };
  UnixTime t = kNow;
  for (auto& step : steps) {
    t += 3600;
    s.answers.push_back(v2);
    l.answers.push_back(std::move(step.answer));
    ev = p.RunDue(t);
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[1].kind, step.kind) << step.reason;
    EXPECT_EQ(ev[1].reason, step.reason);
    EXPECT_EQ(p.RevocationLists().at(b)->sequence(), step.in_force)
        << step.reason;
  }
  // The last good list is the one with rogue gone.
  EXPECT_FALSE(p.RevocationLists().at(b)->IsRevokedId(*SpiffeId::Parse(rogue)));
  auto states = p.States();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].revocations_fetch, t);
  ASSERT_TRUE(states[0].revocations_event.has_value());
  EXPECT_EQ(states[0].revocations_event->kind, PollEvent::Kind::kUpdated);

  // A failed bundle fetch is followed by a revocation fetch too.
  s.answers.push_back(Error(Code::kIo, "down"));
  l.answers.push_back(List(5, {}));
  ev = p.Refresh(b, t + 1).value();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].kind, PollEvent::Kind::kFailed);
  EXPECT_EQ(ev[1].kind, PollEvent::Kind::kUpdated);

  // Without a revocations_url nothing is fetched, and the list is gone.
  rel.revocations_url.clear();
  ASSERT_TRUE(p.Set({rel}));
  EXPECT_TRUE(p.RevocationLists().empty());
  const std::size_t fetches = l.trusts_seen.size();
  s.answers.push_back(v2);
  ev = p.Refresh(b, t + 2).value();
  EXPECT_EQ(ev.size(), 1u);
  EXPECT_EQ(l.trusts_seen.size(), fetches);
}

TEST(BundlePollerTest,
     Finding13SeededRevocationListStaysUntilANewerOneIsFetched) {
  Domain d;
  Bundle v1 = MakeBundle({&d}, 1);
  Script<Bundle> s;
  Script<RevocationList> l;
  const TrustDomain b = Td("b.example");
  auto rel = Spiffe("https://127.0.0.1:1/b", v1);
  rel.revocations_url = "https://127.0.0.1:1/revocations";
  // What a restarted daemon does: the kept list is in force at once.
  BundlePoller p(s.Fetcher(), l.Fetcher());
  ASSERT_TRUE(p.Set({rel}));
  auto kept = std::make_shared<const RevocationList>(
      List(7, {"spiffe://b.example/agent/rogue"}));
  ASSERT_TRUE(p.SeedRevocations(b, kept));
  EXPECT_EQ(p.RevocationLists().at(b)->sequence(), 7);
  ASSERT_TRUE(p.SeedRevocations(
      b, std::make_shared<const RevocationList>(List(6, {}))));
  EXPECT_EQ(p.RevocationLists().at(b)->sequence(), 7);  // older: ignored
  EXPECT_EQ(p.SeedRevocations(b, std::make_shared<const RevocationList>(
                                     List(8, {"spiffe://c.example/agent/x"})))
                .error()
                .code(),
            Code::kInvalidArgument);
  EXPECT_EQ(
      p.SeedRevocations(Td("c.example"),
                        std::make_shared<const RevocationList>(List(7, {})))
          .error()
          .code(),
      Code::kNotFound);
  // The partner's endpoint is down at the first fetch after the restart,
  // then serves an older list: the kept one stays in force.
  s.answers.push_back(v1);
  l.answers.push_back(Error(Code::kIo, "down"));
  s.answers.push_back(v1);
  l.answers.push_back(List(5, {}));
  p.RunDue(kNow);
  p.RunDue(kNow, /*force=*/true);
  EXPECT_EQ(*p.RevocationLists().at(b), *kept);
  // A relationship without revocations_url takes no seeded list.
  rel.revocations_url.clear();
  ASSERT_TRUE(p.Set({rel}));
  EXPECT_EQ(p.SeedRevocations(b, kept).error().code(), Code::kNotFound);
}

TEST(BundlePollerTest, RefreshHintIsBoundedAndRemovalDropsTheBundle) {
  Domain d;
  Script<Bundle> s;
  BundlePoller p(s.Fetcher());
  auto rel = Spiffe("https://127.0.0.1:1/b", MakeBundle({&d}, 1));
  ASSERT_TRUE(p.Set({rel}));
  s.answers.push_back(MakeBundle({&d}, 2, /*hint=*/1));
  p.RunDue(kNow);
  EXPECT_EQ(p.NextDue(), kNow + 30);  // min
  s.answers.push_back(MakeBundle({&d}, 3, /*hint=*/864000));
  p.RunDue(kNow + 30);
  EXPECT_EQ(p.NextDue(), kNow + 30 + 3600);  // max
  // Set with the same relationship keeps the bundle; without it, it is gone.
  ASSERT_TRUE(p.Set({rel}));
  EXPECT_EQ(p.Bundles().size(), 1u);
  ASSERT_TRUE(p.Set({}));
  EXPECT_EQ(p.Bundles().size(), 0u);
  EXPECT_FALSE(p.Set({rel, rel}));  // one relationship per domain
}

// A bundle endpoint on loopback presenting an SVID of `id` signed by the
// current CA and serving `body` with `status`.
class Endpoint {
 public:
  Endpoint() {
    http::ServerOptions so;
    so.tls_context = [this] {
      std::lock_guard<std::mutex> lock(mu_);
      return ctx_;
    };
    so.clock = &clock_;
    server_ = std::move(*http::Server::Start(so, [this](const http::Request&) {
      std::lock_guard<std::mutex> lock(mu_);
      http::Response r;
      r.status = status_;
      r.body = body_;
      if (status_ == 302) r.headers.emplace_back("Location", "https://x/");
      return r;
    }));
  }
  ~Endpoint() {
    server_->Shutdown(1);
    server_->Wait();
  }
  void Present(const Domain& d, const char* id) {
    auto key = *PrivateKey::Generate(KeyType::kEcP256);
    auto chain =
        *d.ca.IssueX509Svid(*SpiffeId::Parse(id), key.public_key(), 3600, kNow);
    auto ctx = *MakeServerContext(TlsCredentials{chain, std::move(key)}, false);
    std::lock_guard<std::mutex> lock(mu_);
    ctx_ = ctx;
  }
  void Serve(std::string body, int status = 200) {
    std::lock_guard<std::mutex> lock(mu_);
    body_ = std::move(body);
    status_ = status;
  }
  std::string url() const {
    return "https://127.0.0.1:" + std::to_string(server_->port()) + "/bundle";
  }
  FixedClock clock_{kNow};

 private:
  std::mutex mu_;
  std::shared_ptr<SSL_CTX> ctx_;
  std::string body_;
  int status_ = 200;
  std::unique_ptr<http::Server> server_;
};

TEST(FetchBundleTest, SelfServingAcrossACaRotation) {
  Domain d1, d2;
  Bundle v1 = MakeBundle({&d1}, 1), v2 = MakeBundle({&d1, &d2}, 2),
         v3 = MakeBundle({&d2}, 3);
  Endpoint ep;
  FixedClock clock(kNow);
  BundlePoller p([&](const FederationRelationship& rel,
                     std::shared_ptr<const Bundle> trust) {
    return FetchBundle(rel, trust, 5, clock);
  });
  ASSERT_TRUE(p.Set({Spiffe(ep.url(), v1)}));
  ep.Present(d1, "spiffe://b.example/bundle");
  ep.Serve(DumpJson(v2.ToJson()));
  auto ev = p.RunDue(kNow);
  ASSERT_EQ(ev[0].kind, PollEvent::Kind::kUpdated) << ev[0].message;
  // The endpoint moves to the new CA, which only v2 (not v1) announced.
  ep.Present(d2, "spiffe://b.example/bundle");
  ep.Serve(DumpJson(v3.ToJson()));
  EXPECT_FALSE(FetchBundle(Spiffe(ep.url(), v1), std::make_shared<Bundle>(v1),
                           5, clock));
  ev = p.RunDue(kNow, /*force=*/true);
  ASSERT_EQ(ev[0].kind, PollEvent::Kind::kUpdated) << ev[0].message;
  EXPECT_EQ(*p.Bundles().GetBundle(Td("b.example")), v3);
}

TEST(FetchBundleTest, EndpointFaultsAreErrors) {
  Domain d;
  Bundle v1 = MakeBundle({&d}, 1);
  Endpoint ep;
  FixedClock clock(kNow);
  auto fetch = [&](const FederationRelationship& rel) {
    return FetchBundle(rel, rel.bootstrap_bundle, 2, clock);
  };
  auto rel = Spiffe(ep.url(), v1);
  ep.Present(d, "spiffe://b.example/bundle");
  ep.Serve(DumpJson(v1.ToJson()));
  ASSERT_TRUE(fetch(rel)) << fetch(rel).error().message();

  ep.Present(d, "spiffe://b.example/impostor");
  EXPECT_EQ(fetch(rel).error().code(), Code::kUnauthenticated);
  ep.Present(d, "spiffe://b.example/bundle");
  ep.Serve("{not json");
  EXPECT_EQ(fetch(rel).error().code(), Code::kMalformed);
  ep.Serve(DumpJson(v1.ToJson()), 302);
  EXPECT_EQ(fetch(rel).error().code(), Code::kUnavailable);
  ep.Serve("", 500);
  EXPECT_EQ(fetch(rel).error().code(), Code::kUnavailable);
  // Larger than any bundle may be.
  ep.Serve(std::string((1 << 20) + 1, ' '));
  EXPECT_EQ(fetch(rel).error().code(), Code::kTooLarge);
  // Nothing listening.
  auto down = Spiffe("https://127.0.0.1:1/bundle", v1);
  EXPECT_FALSE(fetch(down));
}

TEST(FetchRevocationsTest, Finding13SameChannelAsTheBundleAndItsFaults) {
  Domain d;
  Bundle v1 = MakeBundle({&d}, 1);
  Endpoint ep;
  FixedClock clock(kNow);
  auto rel = Spiffe(ep.url(), v1);
  rel.revocations_url =
      ep.url().substr(0, ep.url().rfind('/')) + "/revocations";
  auto fetch = [&] {
    return FetchRevocations(rel, rel.bootstrap_bundle, 2, clock);
  };
  ep.Present(d, "spiffe://b.example/bundle");
  RevocationList list = List(4, {"spiffe://b.example/agent/rogue"}, {"1f"});
  ep.Serve(DumpJson(list.ToJson()));
  auto got = fetch();
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(*got, list);

  // The endpoint's authentication is the bundle's.
  ep.Present(d, "spiffe://b.example/impostor");
  EXPECT_EQ(fetch().error().code(), Code::kUnauthenticated);
  Domain stranger;
  ep.Present(stranger, "spiffe://b.example/bundle");
  EXPECT_EQ(fetch().error().code(), Code::kUnauthenticated);
  ep.Present(d, "spiffe://b.example/bundle");
  ep.Serve("{\"ids\": []}");
  EXPECT_EQ(fetch().error().code(), Code::kMalformed);  // no sequence
  ep.Serve(DumpJson(list.ToJson()), 302);
  EXPECT_EQ(fetch().error().code(), Code::kUnavailable);
  ep.Serve("", 404);
  EXPECT_EQ(fetch().error().code(), Code::kUnavailable);
  // More than RevocationList::kMaxBytes (4 MiB), though more than a
  // bundle's 1 MiB is fine.
  std::string padded = DumpJson(list.ToJson());
  padded.insert(1, std::string(2 << 20, ' '));
  ep.Serve(padded);
  EXPECT_TRUE(fetch());
  ep.Serve(std::string(RevocationList::kMaxBytes + 1, ' '));
  EXPECT_EQ(fetch().error().code(), Code::kTooLarge);
  rel.revocations_url.clear();
  EXPECT_EQ(fetch().error().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace aztp

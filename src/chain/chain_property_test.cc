// Properties of the chain verifier over many generated chains: random valid
// chains verify; any single-byte change makes a chain fail; widening any
// claim at any hop fails with the reason of that rule at that hop; and one
// verifier shared by several threads accepts each chain exactly once.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "aztp/chain/builder.h"
#include "aztp/chain/verifier.h"
#include "testing/trust_domains.h"

namespace aztp {
namespace {

using test_support::Must;

constexpr UnixTime kNow = 1'800'000'000;

std::string Agent(int k) {
  return (k % 2 == 0 ? "spiffe://org-a.example/agent/"
                     : "spiffe://org-b.example/agent/") +
         std::to_string(k);
}

class ChainProperties : public testing::Test {
 protected:
  ChainProperties() : domains_(kNow), clock_(kNow) {
    domains_.AddDomain("org-a.example");
    domains_.AddDomain("org-b.example", true, KeyType::kEd25519);
  }

  std::unique_ptr<ChainVerifier> Verifier(
      const std::string& audience,
      std::shared_ptr<ReplayStore> replay = nullptr) {
    ChainVerifierOptions o;
    o.audience = Must(SpiffeId::Parse(audience));
    o.bundles = domains_.Bundles();
    o.clock = &clock_;
    o.replay = std::move(replay);
    return Must(ChainVerifier::Create(std::move(o)));
  }

  // Narrow picks a random non-empty subset of `caps`, sometimes replacing a
  // wildcard by one of its specialisations.
  CapabilitySet Narrow(const CapabilitySet& caps, std::mt19937& rng) {
    std::vector<std::string> out;
    for (const auto& cap : caps.items()) {
      if (rng() % 3 == 0 && !out.empty()) continue;
      std::string s = cap.str();
      if (s.back() == '*' && rng() % 2 == 0) {
        s = s.substr(0, s.size() - 1) + "x" + std::to_string(rng() % 5);
      }
      out.push_back(s);
    }
    return Must(CapabilitySet::FromStrings(out));
  }

  test_support::TestDomains domains_;
  FixedClock clock_;
};

TEST_F(ChainProperties, RandomValidChainsVerify) {
  std::mt19937 rng(20261128);
  for (int round = 0; round < 40; ++round) {
    ChainEncoding enc =
        round % 3 == 2 ? ChainEncoding::kNested : ChainEncoding::kLinked;
    int hops = enc == ChainEncoding::kNested ? 1 + rng() % 3 : 1 + rng() % 10;
    MintOptions m;
    m.audience = Must(SpiffeId::Parse(Agent(1)));
    m.capabilities = Must(
        CapabilitySet::FromStrings({"payments:*", "calendar:read", "docs:*"}));
    m.encoding = enc;
    m.ttl_seconds = 60 + rng() % 3000;
    if (rng() % 2) {
      m.constraints = Must(Constraints::FromJson(
          Json::parse(R"({"tds":["org-a.example","org-b.example"]})")));
    }
    std::string chain = Must(MintChain(domains_.Signer(Agent(0)), m, kNow));
    CapabilitySet expected = m.capabilities;
    for (int k = 1; k < hops; ++k) {
      auto received = Verifier(Agent(k))->Verify(chain);
      ASSERT_TRUE(received.has_value()) << "round " << round << " hop " << k
                                        << ": " << received.error().message();
      ExtendOptions o;
      o.audience = Must(SpiffeId::Parse(Agent(k + 1)));
      o.capabilities = Narrow(received->capabilities(), rng);
      expected = *o.capabilities;
      chain =
          Must(ExtendChain(*received, domains_.Signer(Agent(k)), o, kNow + k));
    }
    clock_.Set(kNow + hops);
    auto v = Verifier(Agent(hops))->Verify(chain);
    clock_.Set(kNow);
    ASSERT_TRUE(v.has_value())
        << "round " << round << ": " << v.error().message();
    EXPECT_EQ(v->capabilities(), expected);
    EXPECT_EQ(v->depth(), hops - 1);
    EXPECT_EQ(v->encoding(), enc);
  }
}

// FlipEveryByte checks that changing any one byte of `chain` breaks it.
void FlipEveryByte(const ChainVerifier& verifier, const std::string& chain) {
  ASSERT_TRUE(verifier.Verify(chain).has_value());
  int failures = 0;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    std::string bad = chain;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto r = verifier.Verify(bad);
    if (r.has_value()) {
      ADD_FAILURE() << "flipping byte " << i << " of " << chain.size()
                    << " still verifies";
      if (++failures > 5) return;
    }
  }
}

TEST_F(ChainProperties, FlippingAnyByteOfALinkedChainFails) {
  MintOptions m;
  m.audience = Must(SpiffeId::Parse(Agent(1)));
  m.capabilities = Must(CapabilitySet::FromStrings({"payments:*"}));
  std::string c = Must(MintChain(domains_.Signer(Agent(0)), m, kNow));
  for (int k = 1; k < 3; ++k) {
    auto v = Must(Verifier(Agent(k))->Verify(c));
    ExtendOptions o;
    o.audience = Must(SpiffeId::Parse(Agent(k + 1)));
    c = Must(ExtendChain(v, domains_.Signer(Agent(k)), o, kNow));
  }
  FlipEveryByte(*Verifier(Agent(3)), c);
}

TEST_F(ChainProperties, FlippingAnyByteOfANestedChainFails) {
  MintOptions m;
  m.audience = Must(SpiffeId::Parse(Agent(1)));
  m.capabilities = Must(CapabilitySet::FromStrings({"payments:*"}));
  m.encoding = ChainEncoding::kNested;
  std::string c = Must(MintChain(domains_.Signer(Agent(0)), m, kNow));
  auto v = Must(Verifier(Agent(1))->Verify(c));
  ExtendOptions o;
  o.audience = Must(SpiffeId::Parse(Agent(2)));
  c = Must(ExtendChain(v, domains_.Signer(Agent(1)), o, kNow));
  FlipEveryByte(*Verifier(Agent(2)), c);
}

// A widening applied to one hop's claims, and the reason it must produce.
struct Widening {
  const char* name;
  Code reason;
  void (*apply)(HopClaims&);
};

TEST_F(ChainProperties, WideningAnyClaimAtAnyHopFailsWithItsReason) {
  const Widening widenings[] = {
      {"cap", Code::kCapabilityEscalation,
       [](HopClaims& c) {
         c.cap = Must(CapabilitySet::FromStrings({"payments:*", "admin:*"}));
       }},
      {"cap-wildcard", Code::kCapabilityEscalation,
       [](HopClaims& c) { c.cap = Must(CapabilitySet::FromStrings({"*"})); }},
      {"max", Code::kDepthExceeded, [](HopClaims& c) { c.max += 1; }},
      {"exp", Code::kLifetimeExceeded, [](HopClaims& c) { c.exp += 1; }},
      {"tds", Code::kConstraintViolation,
       [](HopClaims& c) {
         c.cns = Must(Constraints::FromJson(Json::parse(
             R"({"tds":["org-a.example","org-b.example","org-c.example"]})")));
       }},
      {"cns-dropped", Code::kConstraintViolation,
       [](HopClaims& c) { c.cns.reset(); }},
      {"sub", Code::kSubjectMismatch,
       [](HopClaims& c) { c.sub = "oidc:https://idp.example#mallory"; }},
  };
  const int hops = 4;
  for (const auto& w : widenings) {
    for (int bad = 1; bad < hops; ++bad) {
      // Build the chain by hand so that hop `bad` can sign a widened claim
      // and later hops link to it faithfully.
      std::vector<std::string> tokens;
      HopClaims c{Must(SpiffeId::Parse(Agent(0))), Agent(0),
                  Must(SpiffeId::Parse(Agent(1)))};
      c.iat = kNow;
      c.exp = kNow + 600;
      c.txn = "t";
      c.max = 8;
      c.cap = Must(CapabilitySet::FromStrings({"payments:*"}));
      c.cns = Must(Constraints::FromJson(
          Json::parse(R"({"tds":["org-a.example","org-b.example"]})")));
      for (int i = 0; i < hops; ++i) {
        if (i > 0) {
          c.iss = c.aud;
          c.aud = Must(SpiffeId::Parse(Agent(i + 1)));
          c.dep = i;
          c.prv = TokenDigest(tokens.back());
        }
        c.jti = "jti-" + std::to_string(i) + "-AAAAAAAAAAAAAAAAAAAA";
        if (i == bad) w.apply(c);
        tokens.push_back(Must(domains_.Signer(c.iss.str()).Sign(c)));
      }
      std::string header;
      for (const auto& t : tokens) header += (header.empty() ? "" : ",") + t;
      auto r = Verifier(Agent(hops))->Verify(header);
      ASSERT_FALSE(r.has_value()) << w.name << " at hop " << bad;
      EXPECT_EQ(r.error().code(), w.reason)
          << w.name << " at hop " << bad << ": " << r.error().message();
      EXPECT_EQ(r.error().hop(), bad) << w.name;
    }
  }
}

TEST_F(ChainProperties, SharedVerifierAcceptsEachChainExactlyOnce) {
  constexpr int kChains = 2000;
  constexpr int kThreads = 4;
  MintOptions m;
  m.audience = Must(SpiffeId::Parse(Agent(1)));
  m.capabilities = Must(CapabilitySet::FromStrings({"a"}));
  std::vector<std::string> chains;
  for (int i = 0; i < kChains; ++i) {
    chains.push_back(Must(MintChain(domains_.Signer(Agent(0)), m, kNow)));
  }
  auto verifier = Verifier(Agent(1), std::make_shared<InMemoryReplayStore>());
  std::vector<std::atomic<int>> accepted(kChains);
  std::atomic<int> replays{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < kChains; ++k) {
        int i = (k * 7 + t * 499) % kChains;  // a different order per thread
        auto r = verifier->Verify(chains[i]);
        if (r) {
          accepted[i].fetch_add(1);
        } else if (r.error().code() == Code::kReplay) {
          replays.fetch_add(1);
        } else {
          other.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int i = 0; i < kChains; ++i) {
    ASSERT_EQ(accepted[i].load(), 1) << "chain " << i;
  }
  EXPECT_EQ(replays.load(), kChains * (kThreads - 1));
  EXPECT_EQ(other.load(), 0);
  EXPECT_GE(verifier->cached_certificates(), 1u);
}

}  // namespace
}  // namespace aztp

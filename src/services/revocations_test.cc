// RevocationService, called directly: what the list names, when an entry
// ages out, and that a delta applied to any earlier list gives the whole
// list.
#include "aztp/services/revocations.h"

#include <gtest/gtest.h>

#include <random>
#include <variant>

#include "aztp/chain/verifier.h"
#include "aztp/crypto/key.h"
#include "aztp/revocation/revocation_delta.h"
#include "aztp/services/identities.h"
#include "aztp/services/svids.h"
#include "aztp/x509/csr.h"
#include "services_fixture.h"

namespace aztp::services {
namespace {

constexpr int64_t kMaxJwtTtl = 3600;

class RevocationServiceTest : public ServiceTest {
 protected:
  static std::string Name(int i) {
    return "spiffe://org-a.example/agents/a" + std::to_string(i);
  }
  void Register(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(identities_.Register(admin_, NewIdentity{Id(Name(i))}));
    }
  }
  // Issue gives identity `i` an X.509-SVID of `ttl` seconds; its serial.
  // Unless `must`, a refusal (the identity is revoked) is fine.
  std::string Issue(int i, int64_t ttl, bool must = true) {
    auto key = PrivateKey::Generate(KeyType::kEcP256);
    auto csr = CertificateRequest::Create(*key, std::nullopt)->ToPem();
    auto svid =
        svids_.IssueX509(admin_, X509SvidRequest{Id(Name(i)), csr, ttl});
    if (must) {
      EXPECT_TRUE(svid.has_value()) << svid.error().message();
    }
    return svid ? svid->chain.front().serial_hex() : "";
  }
  void Revoke(int i) {
    ASSERT_TRUE(identities_.Revoke(admin_, Id(Name(i)), "test"));
  }
  void Reissue(int i) {
    ASSERT_TRUE(identities_.Reissue(admin_, Id(Name(i)), "test"));
  }
  RevocationList Whole() {
    auto list = revocations_.List();
    EXPECT_TRUE(list.has_value()) << list.error().message();
    return list ? *list : RevocationList::Empty();
  }
  // Update brings `held` up to date the way a reader does.
  RevocationList Update(const RevocationList& held) {
    auto update = revocations_.Since(held.sequence());
    EXPECT_TRUE(update.has_value()) << update.error().message();
    if (!update) return held;
    if (auto* whole = std::get_if<RevocationList>(&*update)) return *whole;
    auto applied = ApplyDelta(held, std::get<RevocationDelta>(*update));
    EXPECT_TRUE(applied.has_value()) << applied.error().message();
    return applied ? *applied : held;
  }

  IdentityService identities_{ctx_};
  TestKeyRing ring_{ctx_};
  SvidService svids_{ctx_, ring_, SvidLifetimes{}};
  RevocationService revocations_{ctx_, kMaxJwtTtl};
};

TEST_F(RevocationServiceTest, ListsRevokedIdentitiesAndTheirLiveSerials) {
  Register(3);
  const std::string s0 = Issue(0, 600);
  const std::string s1 = Issue(1, 600);
  Revoke(0);
  RevocationList list = Whole();
  EXPECT_EQ(list.sequence(), 1);
  EXPECT_TRUE(list.IsRevokedId(Id(Name(0))));
  EXPECT_FALSE(list.IsRevokedId(Id(Name(1))));
  EXPECT_TRUE(list.IsRevokedSerial(s0));
  EXPECT_FALSE(list.IsRevokedSerial(s1));
  EXPECT_EQ(list.size(), 2u);
}

TEST_F(RevocationServiceTest, AnEntryAgesOutOnlyWhenNothingOfItCanBeAccepted) {
  Register(1);
  const std::string serial = Issue(0, 7200);  // outlives any JWT-SVID
  Revoke(0);
  const UnixTime svid_end = kServiceTestNow + 7200;
  // Until the SVID's expiry plus the largest skew a verifier allows, both
  // the ID and the serial are listed.
  clock_.Set(svid_end + kMaxSkewSeconds - 1);
  EXPECT_TRUE(Whole().IsRevokedId(Id(Name(0))));
  EXPECT_TRUE(Whole().IsRevokedSerial(serial));
  clock_.Set(svid_end + kMaxSkewSeconds);
  EXPECT_EQ(Whole().size(), 0u);
  EXPECT_EQ(Whole().sequence(), 1) << "ageing out is not a change";
}

TEST_F(RevocationServiceTest, AJwtSvidKeepsARevokedIdentityListed) {
  Register(1);
  Issue(0, 60);  // gone long before a JWT-SVID issued just before revoking
  Revoke(0);
  clock_.Set(kServiceTestNow + kMaxJwtTtl + kMaxSkewSeconds - 1);
  EXPECT_TRUE(Whole().IsRevokedId(Id(Name(0))));
  EXPECT_EQ(Whole().size(), 1u) << "the expired serial is not listed";
  clock_.Set(kServiceTestNow + kMaxJwtTtl + kMaxSkewSeconds);
  EXPECT_FALSE(Whole().IsRevokedId(Id(Name(0))));
}

TEST_F(RevocationServiceTest, ADeltaSaysWhatChangedSinceTheReadersList) {
  Register(3);
  const std::string s0 = Issue(0, 600);
  const std::string s1 = Issue(1, 600);
  Revoke(0);
  Revoke(1);
  const RevocationList held = Whole();  // sequence 2
  Reissue(0);
  Revoke(2);
  auto update = revocations_.Since(held.sequence());
  ASSERT_TRUE(update.has_value()) << update.error().message();
  const auto* delta = std::get_if<RevocationDelta>(&*update);
  ASSERT_NE(delta, nullptr);
  EXPECT_EQ(delta->since(), 2);
  EXPECT_EQ(delta->sequence(), 4);
  EXPECT_EQ(delta->added().ids, std::vector<SpiffeId>{Id(Name(2))});
  EXPECT_EQ(delta->removed().ids, std::vector<SpiffeId>{Id(Name(0))});
  EXPECT_EQ(delta->removed().serials, std::vector<std::string>{s0});
  EXPECT_EQ(Update(held), Whole());
  // Nothing changed since: an empty delta at the same sequence.
  auto same = revocations_.Since(4);
  ASSERT_TRUE(same.has_value());
  ASSERT_TRUE(std::holds_alternative<RevocationDelta>(*same));
  EXPECT_EQ(std::get<RevocationDelta>(*same).added().size(), 0u);
  EXPECT_EQ(std::get<RevocationDelta>(*same).removed().size(), 0u);
}

TEST_F(RevocationServiceTest, TheWholeListWhenNoDeltaCanBeGiven) {
  Register(2);
  Revoke(0);
  Revoke(1);
  auto is_whole = [&](int64_t since) {
    auto update = revocations_.Since(since);
    EXPECT_TRUE(update.has_value());
    return update && std::holds_alternative<RevocationList>(*update);
  };
  EXPECT_TRUE(is_whole(0)) << "a reader with nothing";
  EXPECT_TRUE(is_whole(3)) << "a reader ahead of the store (another store)";
  EXPECT_FALSE(is_whole(1));
  // A store upgraded at sequence 2 recorded no change before it.
  ASSERT_TRUE(ctx_.store->Write(
      [](Transaction& tx) { return tx.PutMeta(kRevocationChangesFrom, 2); }));
  EXPECT_TRUE(is_whole(1));
  EXPECT_FALSE(is_whole(2));
  EXPECT_EQ(revocations_.Since(-1).error().code(), Code::kInvalidArgument);
}

TEST_F(RevocationServiceTest, TooManyChangesGiveTheWholeList) {
  const int n = static_cast<int>(kMaxDeltaIdentities) + 1;
  Register(n);
  for (int i = 0; i < n; ++i) Revoke(i);  // sequences 1..n
  auto update = revocations_.Since(1);    // n - 1 identities changed after 1
  ASSERT_TRUE(update.has_value());
  EXPECT_TRUE(std::holds_alternative<RevocationDelta>(*update))
      << "exactly the limit: still a delta";
  Reissue(0);  // identity 0 changes again: now n changed after sequence 1
  update = revocations_.Since(1);
  ASSERT_TRUE(update.has_value());
  EXPECT_TRUE(std::holds_alternative<RevocationList>(*update));
  update = revocations_.Since(2);
  ASSERT_TRUE(update.has_value());
  EXPECT_TRUE(std::holds_alternative<RevocationDelta>(*update));
}

// Readers holding every earlier list, brought up to date, hold exactly the
// whole list, over random revocations, reinstatements and issuances.
TEST_F(RevocationServiceTest, EveryEarlierListUpdatedEqualsTheWholeList) {
  constexpr int kIdentities = 12;
  Register(kIdentities);
  std::mt19937 rng(7);
  std::vector<RevocationList> readers = {Whole()};
  for (int step = 0; step < 60; ++step) {
    const int i = static_cast<int>(rng() % kIdentities);
    switch (rng() % 3) {
      case 0:
        Issue(i, 300 + static_cast<int64_t>(rng() % 3600), /*must=*/false);
        break;
      case 1:
        Revoke(i);
        break;
      default:
        Reissue(i);
    }
    clock_.Set(clock_.Now() + static_cast<int64_t>(rng() % 120));
    readers.push_back(Whole());
    const RevocationList whole = readers.back();
    for (const RevocationList& held : readers) {
      RevocationList updated = Update(held);
      // A reader may still hold entries that aged out since; none other.
      EXPECT_EQ(updated.sequence(), whole.sequence());
      for (const SpiffeId& id : whole.ids()) {
        EXPECT_TRUE(updated.IsRevokedId(id)) << "step " << step;
      }
      for (const SpiffeId& id : updated.ids()) {
        if (!whole.IsRevokedId(id)) {
          auto r = identities_.Get(admin_, id);
          ASSERT_TRUE(r.has_value());
          EXPECT_EQ(r->identity.status, IdentityRecord::Status::kRevoked)
              << id.str() << " is listed but active, step " << step;
        }
      }
    }
  }
}

}  // namespace
}  // namespace aztp::services

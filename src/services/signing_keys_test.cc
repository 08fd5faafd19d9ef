// SigningKeyService, called directly: listing and forced rotation are an
// admin's, each step is audited and in force when it returns; the
// maintenance pass applies the steps that are due.
#include "aztp/services/signing_keys.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "services_fixture.h"

namespace aztp::services {
namespace {

constexpr char kDenial[] = "signing keys need an admin key";
constexpr int64_t kDay = 86400;

// States is "kind:state" of each key, sorted (keys made at the same time
// have no order).
std::vector<std::string> States(const std::vector<CaKeyRecord>& keys) {
  std::vector<std::string> out;
  for (const auto& k : keys) {
    out.push_back(std::string(ToString(k.kind)) + ":" +
                  std::string(ToString(k.state)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// ActiveJwt is the active JWT key's ID.
std::string ActiveJwt(const std::vector<CaKeyRecord>& keys) {
  for (const auto& k : keys) {
    if (k.kind == KeyKind::kJwt && k.state == KeyState::kActive) {
      return k.key_id;
    }
  }
  return "";
}

class SigningKeyServiceTest : public ServiceTest {
 protected:
  TestKeyRing ring_{ctx_};
  SigningKeyService keys_{ctx_, ring_, CaOptions{}, RotationOptions{},
                          SvidLifetimes{}};
};

TEST_F(SigningKeyServiceTest, ListsTheKeysToAdminsOnly) {
  auto keys = keys_.List(admin_);
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(States(*keys),
            (std::vector<std::string>{"jwt:active", "x509:active"}));
  for (const auto& k : *keys) EXPECT_TRUE(k.key_pem.empty()) << k.key_id;
  for (const Principal& who :
       {Scoped("/"), Principal::Workload(Id("spiffe://org-a.example/w"))}) {
    auto denied = keys_.List(who);
    ASSERT_FALSE(denied.has_value());
    EXPECT_EQ(denied.error().code(), Code::kPermissionDenied);
    EXPECT_EQ(denied.error().message(), kDenial);
  }
}

TEST_F(SigningKeyServiceTest, RotatePreparesThenActivatesAndPutsKeysInForce) {
  const std::string old_kid = ring_.Current().keys->jwt_kid();
  auto prepared = keys_.Rotate(admin_, KeyKind::kJwt);
  ASSERT_TRUE(prepared.has_value()) << prepared.error().message();
  EXPECT_EQ(
      States(*prepared),
      (std::vector<std::string>{"jwt:active", "jwt:prepared", "x509:active"}));
  // Published at once (a new bundle sequence) but not signing yet.
  EXPECT_EQ(ring_.rotations, 1);
  EXPECT_EQ(ring_.Current().bundle->sequence(), 2);
  EXPECT_EQ(ring_.Current().bundle->jwt_authorities().size(), 2u);
  EXPECT_EQ(ring_.Current().keys->jwt_kid(), old_kid);
  auto activated = keys_.Rotate(admin_, KeyKind::kJwt);
  ASSERT_TRUE(activated.has_value()) << activated.error().message();
  EXPECT_EQ(
      States(*activated),
      (std::vector<std::string>{"jwt:active", "jwt:retired", "x509:active"}));
  const std::string new_kid = ActiveJwt(*activated);
  EXPECT_NE(new_kid, old_kid);
  EXPECT_EQ(ring_.Current().keys->jwt_kid(), new_kid);
  auto audit = Audit();
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[0].action, "ca.prepare");
  EXPECT_EQ(audit[1].action, "ca.activate");
  EXPECT_EQ(audit[1].actor, "apikey:admin");
  EXPECT_EQ(audit[1].subject, "spiffe://org-a.example");
  EXPECT_EQ(audit[1].details["key_id"], new_kid);
}

// The kind is typed (KeyKind): an unknown kind is refused where the text is
// read, by the route (ControlPlaneTest.ForcedRotationPreparesThenActivates).
TEST_F(SigningKeyServiceTest, RotateRefusesOtherCallers) {
  auto denied = keys_.Rotate(Scoped("/"), KeyKind::kX509);
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().code(), Code::kPermissionDenied);
  EXPECT_EQ(denied.error().message(), kDenial);
  EXPECT_EQ(ring_.rotations, 0);
  EXPECT_TRUE(Audit().empty());
}

TEST_F(SigningKeyServiceTest, RotateDueAppliesWhatIsDue) {
  auto due = keys_.RotateDue("aztpd rotation");
  ASSERT_TRUE(due.has_value());
  EXPECT_FALSE(*due);
  // Half of the keys' year: a successor of each kind is prepared.
  clock_.Advance(183 * kDay);
  due = keys_.RotateDue("aztpd rotation");
  ASSERT_TRUE(due.has_value()) << due.error().message();
  EXPECT_TRUE(*due);
  EXPECT_EQ(ring_.rotations, 0);  // the caller puts them in force
  ASSERT_TRUE(ring_.Load());
  EXPECT_EQ(States(ring_.Current().keys->records()),
            (std::vector<std::string>{"jwt:active", "jwt:prepared",
                                      "x509:active", "x509:prepared"}));
  auto audit = Audit();
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[0].actor, "aztpd rotation");
  EXPECT_EQ(audit[0].action, "ca.prepare");
  EXPECT_EQ(audit[0].details["kind"], "x509");
  EXPECT_EQ(audit[1].details["kind"], "jwt");
  due = keys_.RotateDue("aztpd rotation");
  ASSERT_TRUE(due.has_value());
  EXPECT_FALSE(*due);
}

TEST_F(SigningKeyServiceTest, EveryCaRowMustHoldItsOwnKeyNotOnlyTheActive) {
  // A prepared row whose key is not its certificate's (a damaged or
  // tampered row) is refused when the keys are read, before its root could
  // be published in the bundle.
  auto a = NewSigningKey(ctx_.trust_domain, KeyKind::kX509, KeyState::kPrepared,
                         CaOptions{}, ctx_.Now());
  auto b = NewSigningKey(ctx_.trust_domain, KeyKind::kX509, KeyState::kPrepared,
                         CaOptions{}, ctx_.Now());
  ASSERT_TRUE(a.has_value() && b.has_value());
  a->key_pem = b->key_pem;
  ASSERT_TRUE(
      ctx_.store->Write([&](Transaction& tx) { return tx.PutCaKey(*a); }));
  auto read = ReadKeys(*ctx_.store);
  ASSERT_FALSE(read.has_value());
  // A prepared row of another trust domain is refused too.
  ASSERT_TRUE(ctx_.store->Write(
      [&](Transaction& tx) { return tx.DeleteCaKey(a->key_id); }));
  auto other =
      NewSigningKey(*TrustDomain::Parse("org-z.example"), KeyKind::kX509,
                    KeyState::kPrepared, CaOptions{}, ctx_.Now());
  ASSERT_TRUE(other.has_value());
  ASSERT_TRUE(
      ctx_.store->Write([&](Transaction& tx) { return tx.PutCaKey(*other); }));
  read = ReadKeys(*ctx_.store);
  ASSERT_FALSE(read.has_value());
  EXPECT_NE(read.error().message().find("another trust domain"),
            std::string::npos)
      << read.error().message();
}

}  // namespace
}  // namespace aztp::services

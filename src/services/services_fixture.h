// A service context over a fresh SQLite store, for the services' unit
// tests: no HTTP and no JSON between the test and the service.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "aztp/services/context.h"
#include "aztp/services/principal.h"
#include "aztp/services/signing_keys.h"
#include "testing/temp_dir.h"

namespace aztp::services {

inline constexpr UnixTime kServiceTestNow = 1'800'000'000;

class ServiceTest : public ::testing::Test {
 protected:
  static ServiceContext Context(const test_support::TempDir& dir,
                                const Clock* clock) {
    auto store = OpenSqliteStore(dir.File("aztpd.db"));
    if (!store) std::abort();
    return ServiceContext{std::shared_ptr<Store>(std::move(*store)),
                          *TrustDomain::Parse("org-a.example"), clock};
  }

  static SpiffeId Id(const std::string& text) { return *SpiffeId::Parse(text); }
  Principal Scoped(const std::string& scope) const {
    return Principal::ScopedKey("k-" + scope,
                                *ParseScope(ctx_.trust_domain, scope));
  }
  std::vector<AuditRecord> Audit() {
    std::vector<AuditRecord> out;
    EXPECT_TRUE(ctx_.store->Read([&](Transaction& tx) -> Status {
      AZTP_ASSIGN_OR_RETURN(out, tx.ListAudit(0, 1000));
      return Ok();
    }));
    return out;
  }

  test_support::TempDir dir_{"aztp_services_"};
  FixedClock clock_{kServiceTestNow};
  ServiceContext ctx_ = Context(dir_, &clock_);
  const Principal admin_ = Principal::AdminKey("admin");
};

// TestKeyRing keeps the signing keys of a store in force as the control
// plane does: loaded at the start and again after each rotation. Its
// constructor writes a first active key of each kind in `kinds` (as aztpd
// init does) into the store.
class TestKeyRing final : public KeyRing {
 public:
  TestKeyRing(const ServiceContext& ctx,
              std::vector<KeyKind> kinds = {KeyKind::kX509, KeyKind::kJwt})
      : store_(*ctx.store) {
    auto written = store_.Write([&](Transaction& tx) -> Status {
      for (KeyKind kind : kinds) {
        AZTP_ASSIGN_OR_RETURN(
            CaKeyRecord r,
            NewSigningKey(ctx.trust_domain, kind, KeyState::kActive,
                          CaOptions{}, ctx.Now()));
        AZTP_RETURN_IF_ERROR(tx.PutCaKey(r));
      }
      return tx.PutMeta(kBundleSequenceMeta, 1);
    });
    if (!written || !Load()) std::abort();
  }

  KeySnapshot Current() const override { return current_; }
  Status Rotate(const std::function<Status()>& write) override {
    ++rotations;
    AZTP_RETURN_IF_ERROR(write());
    return Load();
  }
  Status Load() {
    AZTP_ASSIGN_OR_RETURN(current_, ReadKeys(store_));
    return Ok();
  }

  int rotations = 0;

 private:
  Store& store_;
  KeySnapshot current_;
};

}  // namespace aztp::services

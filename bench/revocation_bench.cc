// The revocation list at scale (docs/performance.md, "Revocation lists"):
// a SQLite store with 100,000 identities of which 10,000 are revoked, each
// with one X.509-SVID. Measured in the same run: the whole list (what a
// reader without a list, or a federation partner, fetches), a delta after
// 10 more revocations (what every agent and proxy fetches each minute), and
// applying that delta to the list a reader holds. `bytes` is the JSON
// document's size; the ratio of the delta to the whole list is the point.
//
// Two stores: in "live", every revoked identity still has an unexpired
// SVID; in "aged", 8,000 of the 10,000 revocations are old enough that
// nothing issued to them can be accepted any more, so they leave the list.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "aztp/revocation/revocation_delta.h"
#include "aztp/services/identities.h"
#include "aztp/services/revocations.h"
#include "aztp/store/store.h"
#include "testing/temp_dir.h"

namespace aztp {
namespace {

constexpr UnixTime kNow = 1'800'000'000;
constexpr int kIdentities = 100'000;
constexpr int kRevoked = 10'000;
constexpr int kAged = 8'000;  // in the "aged" store
constexpr int kLate = 10;     // revoked after the reader's list
constexpr int64_t kMaxJwtTtl = 3600;

std::string Name(int i) {
  return "spiffe://bench.example/agents/a" + std::to_string(i);
}

// Fill writes the identities, SVIDs and revocations in a few large
// transactions; identity i < kRevoked + kLate is revoked at sequence i + 1.
Status Fill(Store& store, bool aged) {
  for (int start = 0; start < kIdentities; start += 10'000) {
    AZTP_RETURN_IF_ERROR(store.Write([&](Transaction& tx) -> Status {
      for (int i = start; i < start + 10'000; ++i) {
        const bool old = aged && i < kAged;
        IdentityRecord r;
        r.id = Name(i);
        r.created_at = old ? kNow - 86'400 * 30 : kNow - 600;
        r.updated_at = old ? kNow - 86'400 * 29 : kNow - 60;
        const bool revoked = i < kRevoked + kLate;
        if (revoked) r.status = IdentityRecord::Status::kRevoked;
        AZTP_RETURN_IF_ERROR(tx.InsertIdentity(r));
        char serial[24];
        std::snprintf(serial, sizeof serial, "%x", 0x100000 + i);
        AZTP_RETURN_IF_ERROR(
            tx.InsertSvid(SvidRecord{serial, r.id, r.created_at,
                                     old ? r.created_at + 3600 : kNow + 3000}));
        if (revoked) AZTP_RETURN_IF_ERROR(tx.NoteRevocationChange(r.id, i + 1));
      }
      return tx.PutMeta(services::kRevocationSequence, kRevoked + kLate);
    }));
  }
  return Ok();
}

// Filled opens and fills a store in `dir`.
std::shared_ptr<Store> Filled(const test_support::TempDir& dir, bool aged) {
  auto store = OpenSqliteStore(dir.File("aztpd.db"));
  if (!store || !Fill(**store, aged)) std::abort();
  return std::shared_ptr<Store>(std::move(*store));
}

struct Fixture {
  test_support::TempDir dir{"aztp_bench_revocations_"};
  FixedClock clock{kNow};
  services::ServiceContext ctx;
  std::unique_ptr<services::RevocationService> service;
  RevocationList held = RevocationList::Empty();  // at kRevoked

  explicit Fixture(bool aged)
      : ctx{Filled(dir, aged), *TrustDomain::Parse("bench.example"), &clock} {
    service = std::make_unique<services::RevocationService>(ctx, kMaxJwtTtl);
    // The reader's list: the whole list as it was before the late ones.
    auto whole = service->List();
    if (!whole) std::abort();
    RevocationEntries e = whole->Entries();
    std::erase_if(e.ids, [](const SpiffeId& id) {
      for (int i = kRevoked; i < kRevoked + kLate; ++i) {
        if (id.str() == Name(i)) return true;
      }
      return false;
    });
    held = *RevocationList::Create(kRevoked, e.ids, e.jtis, e.serials);
  }
};

Fixture& Store(bool aged) {
  static Fixture live(false);
  static Fixture old(true);
  return aged ? old : live;
}

void BM_RevocationsWhole(benchmark::State& state) {
  Fixture& f = Store(state.range(0) != 0);
  std::size_t bytes = 0, entries = 0;
  for (auto _ : state) {
    auto list = f.service->List();
    if (!list) std::abort();
    bytes = DumpJson(list->ToJson()).size();
    entries = list->size();
  }
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["entries"] = static_cast<double>(entries);
}

void BM_RevocationsDelta(benchmark::State& state) {
  Fixture& f = Store(state.range(0) != 0);
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto update = f.service->Since(kRevoked);
    if (!update || !std::holds_alternative<RevocationDelta>(*update)) {
      std::abort();
    }
    bytes = DumpJson(std::get<RevocationDelta>(*update).ToJson()).size();
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}

void BM_RevocationsApplyDelta(benchmark::State& state) {
  Fixture& f = Store(state.range(0) != 0);
  auto update = f.service->Since(kRevoked);
  if (!update) std::abort();
  const auto& delta = std::get<RevocationDelta>(*update);
  for (auto _ : state) {
    auto applied = ApplyDelta(f.held, delta);
    if (!applied || applied->sequence() != kRevoked + kLate) std::abort();
  }
}

// Arg 0: every revoked identity live; 1: 8,000 of them aged out.
BENCHMARK(BM_RevocationsWhole)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RevocationsDelta)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RevocationsApplyDelta)
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace aztp

// The store conformance suite: tests written only against the Store and
// repository interfaces (aztp/store/*.h), so that every implementation runs
// the very same contract. An implementation instantiates the suite with a
// backend that makes its stores:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformance,
//                            ::testing::Values(StoreBackendParam{...}));
//
// (sqlite_store_conformance_test.cc). The tests themselves are in
// store_conformance_*_test.cc; this header also holds the record builders
// and comparisons they share with implementation-specific tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "aztp/store/store.h"

namespace aztp::store_testing {

inline constexpr UnixTime kNow = 1'800'000'000;

#define ASSERT_OK(expr)                                                     \
  do {                                                                      \
    auto&& ok_ = (expr);                                                    \
    ASSERT_TRUE(ok_.has_value()) << #expr << ": " << ok_.error().message(); \
  } while (false)

#define EXPECT_CODE(expr, code_value)                            \
  do {                                                           \
    auto&& st_ = (expr);                                         \
    if (st_.has_value()) {                                       \
      ADD_FAILURE() << #expr << " succeeded, expected an error"; \
    } else {                                                     \
      EXPECT_EQ(st_.error().code(), code_value)                  \
          << #expr << ": " << st_.error().message();             \
    }                                                            \
  } while (false)

// StoreBackend makes the stores of one test, all over the same data.
class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  // Open opens the test's store: empty the first time, then the same data
  // again (as a restarted daemon would).
  virtual Result<std::unique_ptr<Store>> Open() = 0;
  // OpenReadOnly opens the same data for reading only (its Write fails).
  virtual Result<std::unique_ptr<Store>> OpenReadOnly() = 0;
};

// StoreBackendParam names a backend and makes a fresh one per test (each
// test's data is its own).
struct StoreBackendParam {
  const char* name;
  std::function<std::unique_ptr<StoreBackend>()> make;
};
inline void PrintTo(const StoreBackendParam& p, std::ostream* os) {
  *os << p.name;
}

class StoreConformance : public ::testing::TestWithParam<StoreBackendParam> {
 protected:
  void SetUp() override { backend_ = GetParam().make(); }

  // Open opens the test's store (the same data every time); null, and a
  // test failure, when it cannot.
  std::unique_ptr<Store> Open() { return Must(backend_->Open()); }
  std::unique_ptr<Store> OpenReadOnly() {
    return Must(backend_->OpenReadOnly());
  }
  // OpenOther opens a store of another backend, with data of its own.
  std::unique_ptr<Store> OpenOther() {
    others_.push_back(GetParam().make());
    return Must(others_.back()->Open());
  }

 private:
  static std::unique_ptr<Store> Must(Result<std::unique_ptr<Store>> store) {
    if (!store.has_value()) {
      ADD_FAILURE() << "open: " << store.error().message();
      return nullptr;
    }
    return std::move(store).value();
  }

  std::unique_ptr<StoreBackend> backend_;
  std::vector<std::unique_ptr<StoreBackend>> others_;
};

inline IdentityRecord MakeIdentity(const std::string& id) {
  IdentityRecord r;
  r.id = id;
  r.created_at = kNow;
  r.updated_at = kNow;
  return r;
}

inline AuditRecord MakeAudit(const std::string& action,
                             const std::string& subject) {
  AuditRecord a;
  a.time = kNow;
  a.actor = "admin";
  a.action = action;
  a.subject = subject;
  a.decision = "allow";
  return a;
}

inline void ExpectIdentityEq(const IdentityRecord& a, const IdentityRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.parent, b.parent);
  EXPECT_EQ(a.global, b.global);
  EXPECT_EQ(a.discoverable, b.discoverable);
  EXPECT_EQ(a.metadata, b.metadata);
  EXPECT_EQ(a.selectors, b.selectors);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.revoked_reason, b.revoked_reason);
  EXPECT_EQ(a.revoked_by, b.revoked_by);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.updated_at, b.updated_at);
  EXPECT_EQ(a.federates_with, b.federates_with);
}

inline void ExpectApiKeyEq(const ApiKeyRecord& a, const ApiKeyRecord& b) {
  EXPECT_EQ(a.key_id, b.key_id);
  EXPECT_EQ(a.salt, b.salt);
  EXPECT_EQ(a.hash, b.hash);
  EXPECT_EQ(a.scope, b.scope);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.revoked, b.revoked);
  EXPECT_EQ(a.created_at, b.created_at);
}

inline void ExpectAuditEq(const AuditRecord& a, const AuditRecord& b) {
  EXPECT_EQ(a.seq, b.seq);
  EXPECT_EQ(a.time, b.time);
  EXPECT_EQ(a.actor, b.actor);
  EXPECT_EQ(a.action, b.action);
  EXPECT_EQ(a.subject, b.subject);
  EXPECT_EQ(a.decision, b.decision);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.txn, b.txn);
  EXPECT_EQ(a.details, b.details);
  EXPECT_EQ(a.prev, b.prev);
  EXPECT_EQ(a.hash, b.hash);
}

// One record of every kind, built from `text` (any NUL-free bytes, for the
// plain text columns) and `utf8` (valid UTF-8, for what is stored as JSON).
struct Everything {
  IdentityRecord parent;
  IdentityRecord child;
  LinkRecord link;
  ApiKeyRecord key;
  SvidRecord svid;
  CaKeyRecord ca;
  AuditRecord audit;  // seq is filled in by PutEverything
  std::string meta_name;
  int64_t meta_value = 0;
};

inline Everything MakeEverything(const std::string& text,
                                 const std::string& utf8) {
  Everything e;
  e.parent = MakeIdentity("spiffe://td/" + text + "/parent");
  e.parent.global = true;
  e.parent.metadata = Json::object();
  e.child = MakeIdentity("spiffe://td/" + text + "/child");
  e.child.parent = e.parent.id;
  e.child.discoverable = true;
  e.child.metadata = Json::object();
  e.child.metadata[utf8] = utf8;
  e.child.metadata["nested"] = {{"list", {1, -2, 3.5, true, nullptr, utf8}},
                                {"big", std::numeric_limits<int64_t>::max()},
                                {"empty", Json::object()}};
  e.child.selectors = {"unix:uid:1000", "k8s:ns:" + utf8, "", utf8};
  e.child.status = IdentityRecord::Status::kRevoked;
  e.child.revoked_reason = "reason " + text;
  e.child.revoked_by = "apikey:" + text;
  e.child.created_at = kNow - 10;
  e.child.updated_at = kNow + 10;

  e.link.from = e.child.id;
  e.link.to = e.parent.id;
  e.link.kind = LinkRecord::Kind::kLinked;
  e.link.created_at = kNow + 1;
  e.link.metadata = Json{{"note", "'); DROP TABLE links; --"}};

  e.key.key_id = "ak_" + text;
  e.key.salt = "salt" + text;
  e.key.hash = "hash" + text;
  e.key.scope = "/agents/" + text;
  e.key.description = "description " + text;
  e.key.revoked = false;
  e.key.created_at = kNow + 2;

  e.svid.serial = "0a" + text;
  e.svid.id = e.child.id;
  e.svid.issued_at = kNow + 3;
  e.svid.expires_at = kNow + 3603;

  e.ca.key_id = "ca-" + text;
  e.ca.state = CaKeyRecord::State::kActive;
  e.ca.chain_pem = "-----BEGIN CERTIFICATE-----\n" + text + "\n";
  // Binary key bytes, NUL included: the column is a BLOB.
  const std::string key_bytes =
      std::string("\x00\x01-----BEGIN PRIVATE KEY", 24) + text +
      std::string("\x00\xff\x00", 3);
  e.ca.key_pem = SecretBytes(std::string_view(key_bytes));
  e.ca.kind = CaKeyRecord::Kind::kJwt;
  e.ca.activated_at = kNow + 5;
  e.ca.created_at = kNow + 4;
  e.ca.not_after = kNow + 86400;

  e.audit = MakeAudit("identity.create" + text, e.child.id);
  e.audit.actor = "actor " + text;
  e.audit.decision = "audit" + text;
  e.audit.reason = "reason " + text;
  e.audit.txn = "txn " + text;
  e.audit.details = {{"note", utf8}, {utf8, {1, 2, 3}}};
  e.audit.prev = "prev" + text;
  e.audit.hash = "hash" + text;

  e.meta_name = "meta " + text;
  e.meta_value = -1234567890123;
  return e;
}

inline Status PutEverything(Transaction& t, Everything& e) {
  AZTP_RETURN_IF_ERROR(t.InsertIdentity(e.parent));
  AZTP_RETURN_IF_ERROR(t.InsertIdentity(e.child));
  AZTP_RETURN_IF_ERROR(t.InsertLink(e.link));
  AZTP_RETURN_IF_ERROR(t.InsertApiKey(e.key));
  AZTP_RETURN_IF_ERROR(t.InsertSvid(e.svid));
  AZTP_RETURN_IF_ERROR(t.PutCaKey(e.ca));
  // The store assigns seq, prev and hash whatever the record holds.
  AZTP_ASSIGN_OR_RETURN(e.audit.seq, t.AppendAudit(e.audit));
  e.audit.prev = kAuditGenesis;
  if (e.audit.seq > 1) {
    AZTP_ASSIGN_OR_RETURN(std::vector<AuditRecord> before,
                          t.ListAudit(e.audit.seq - 2, 1));
    if (before.size() != 1) return Error(Code::kInternal, "no prior record");
    e.audit.prev = before[0].hash;
  }
  e.audit.hash = AuditHash(e.audit);
  AZTP_RETURN_IF_ERROR(t.PutMeta(e.meta_name, e.meta_value));
  return Ok();
}

inline void ExpectEverything(Store& store, const Everything& e) {
  ASSERT_OK(store.Read([&](Transaction& t) -> Status {
    for (const IdentityRecord* want : {&e.parent, &e.child}) {
      auto got = t.GetIdentity(want->id);
      EXPECT_TRUE(got.has_value() && got->has_value());
      if (got.has_value() && got->has_value()) ExpectIdentityEq(**got, *want);
    }
    auto links = t.ListLinks(e.parent.id);
    EXPECT_TRUE(links.has_value());
    if (links.has_value()) {
      EXPECT_EQ(links->size(), 1u);
      if (links->size() == 1) {
        EXPECT_EQ((*links)[0].from, e.link.from);
        EXPECT_EQ((*links)[0].to, e.link.to);
        EXPECT_EQ((*links)[0].kind, e.link.kind);
        EXPECT_EQ((*links)[0].created_at, e.link.created_at);
        EXPECT_EQ((*links)[0].metadata, e.link.metadata);
      }
    }
    auto key = t.GetApiKey(e.key.key_id);
    EXPECT_TRUE(key.has_value() && key->has_value());
    if (key.has_value() && key->has_value()) ExpectApiKeyEq(**key, e.key);
    auto svids = t.ListSvids(e.child.id);
    EXPECT_TRUE(svids.has_value());
    if (svids.has_value()) {
      EXPECT_EQ(svids->size(), 1u);
      if (svids->size() == 1) {
        EXPECT_EQ((*svids)[0].serial, e.svid.serial);
        EXPECT_EQ((*svids)[0].id, e.svid.id);
        EXPECT_EQ((*svids)[0].issued_at, e.svid.issued_at);
        EXPECT_EQ((*svids)[0].expires_at, e.svid.expires_at);
      }
    }
    auto cas = t.ListCaKeys();
    EXPECT_TRUE(cas.has_value());
    if (cas.has_value()) {
      EXPECT_EQ(cas->size(), 1u);
      if (cas->size() == 1) {
        const CaKeyRecord& ca = (*cas)[0];
        EXPECT_EQ(ca.key_id, e.ca.key_id);
        EXPECT_EQ(ca.state, e.ca.state);
        EXPECT_EQ(ca.chain_pem, e.ca.chain_pem);
        EXPECT_TRUE(ca.key_pem == e.ca.key_pem);
        EXPECT_EQ(ca.key_pem.size(), e.ca.key_pem.size());
        EXPECT_EQ(ca.created_at, e.ca.created_at);
        EXPECT_EQ(ca.kind, e.ca.kind);
        EXPECT_EQ(ca.activated_at, e.ca.activated_at);
        EXPECT_EQ(ca.not_after, e.ca.not_after);
      }
    }
    auto audit = t.ListAudit(e.audit.seq - 1, 1);
    EXPECT_TRUE(audit.has_value());
    if (audit.has_value()) {
      EXPECT_EQ(audit->size(), 1u);
      if (audit->size() == 1) ExpectAuditEq((*audit)[0], e.audit);
    }
    auto meta = t.GetMeta(e.meta_name);
    EXPECT_TRUE(meta.has_value() && meta->has_value());
    if (meta.has_value() && meta->has_value()) {
      EXPECT_EQ(**meta, e.meta_value);
    }
    return Ok();
  }));
}

// Collects every page of `filter` (whose limit is the page size).
inline std::vector<std::string> ListAllIds(
    Store& store, IdentityFilter filter, std::vector<std::size_t>* page_sizes) {
  std::vector<std::string> ids;
  while (true) {
    std::vector<IdentityRecord> page;
    Status s = store.Read([&](Transaction& t) -> Status {
      AZTP_ASSIGN_OR_RETURN(page, t.ListIdentities(filter));
      return Ok();
    });
    if (!s.has_value()) {
      ADD_FAILURE() << s.error().message();
      break;
    }
    if (page_sizes != nullptr) page_sizes->push_back(page.size());
    for (const IdentityRecord& r : page) ids.push_back(r.id);
    if (page.size() < static_cast<std::size_t>(filter.limit)) break;
    filter.after = page.back().id;
  }
  return ids;
}

}  // namespace aztp::store_testing

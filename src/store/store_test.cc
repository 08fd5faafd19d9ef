#include "aztp/store/store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "testing/temp_dir.h"

namespace aztp {
namespace {

constexpr UnixTime kNow = 1'800'000'000;

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

std::unique_ptr<Store> MustOpen(const std::string& path) {
  Result<std::unique_ptr<Store>> store = OpenSqliteStore(path);
  if (!store.has_value()) {
    ADD_FAILURE() << "open: " << store.error().message();
    return nullptr;
  }
  return std::move(store).value();
}

IdentityRecord MakeIdentity(const std::string& id) {
  IdentityRecord r;
  r.id = id;
  r.created_at = kNow;
  r.updated_at = kNow;
  return r;
}

AuditRecord MakeAudit(const std::string& action, const std::string& subject) {
  AuditRecord a;
  a.time = kNow;
  a.actor = "admin";
  a.action = action;
  a.subject = subject;
  a.decision = "allow";
  return a;
}

// Runs `sql` on `path` with a plain SQLite connection and returns the first
// column of every row.
std::vector<std::string> RawQuery(const std::string& path,
                                  const std::string& sql) {
  sqlite3* db = nullptr;
  std::vector<std::string> rows;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) !=
      SQLITE_OK) {
    ADD_FAILURE() << "raw open: " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return rows;
  }
  auto collect = [](void* out, int n, char** values, char**) {
    static_cast<std::vector<std::string>*>(out)->push_back(
        n > 0 && values[0] != nullptr ? values[0] : "NULL");
    return 0;
  };
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), collect, &rows, &err) != SQLITE_OK) {
    ADD_FAILURE() << "raw exec " << sql << ": " << (err ? err : "?");
    sqlite3_free(err);
  }
  sqlite3_close(db);
  return rows;
}

void ExpectIdentityEq(const IdentityRecord& a, const IdentityRecord& b) {
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

void ExpectApiKeyEq(const ApiKeyRecord& a, const ApiKeyRecord& b) {
  EXPECT_EQ(a.key_id, b.key_id);
  EXPECT_EQ(a.salt, b.salt);
  EXPECT_EQ(a.hash, b.hash);
  EXPECT_EQ(a.scope, b.scope);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.revoked, b.revoked);
  EXPECT_EQ(a.created_at, b.created_at);
}

void ExpectAuditEq(const AuditRecord& a, const AuditRecord& b) {
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

Everything MakeEverything(const std::string& text, const std::string& utf8) {
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
  e.child.status = "revoked" + text;
  e.child.revoked_reason = "reason " + text;
  e.child.revoked_by = "apikey:" + text;
  e.child.created_at = kNow - 10;
  e.child.updated_at = kNow + 10;

  e.link.from = e.child.id;
  e.link.to = e.parent.id;
  e.link.kind = "linked" + text;
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
  e.ca.state = "active" + text;
  e.ca.chain_pem = "-----BEGIN CERTIFICATE-----\n" + text + "\n";
  // Binary key bytes, NUL included: the column is a BLOB.
  const std::string key_bytes =
      std::string("\x00\x01-----BEGIN PRIVATE KEY", 24) + text +
      std::string("\x00\xff\x00", 3);
  e.ca.key_pem = SecretBytes(std::string_view(key_bytes));
  e.ca.kind = "jwt" + text;
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

Status PutEverything(Transaction& t, Everything& e) {
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

void ExpectEverything(Store& store, const Everything& e) {
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

TEST(SqliteStoreTest, CreatesAPrivateWalFileWithVersionedSchema) {
  testing::TempDir dir("aztp_store_");
  const std::string path = dir.File("state.db");
  {
    auto store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    struct stat st {};
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_OK(store->Write([](Transaction& t) {
      return t.InsertIdentity(MakeIdentity("spiffe://td/a"));
    }));
    ASSERT_EQ(stat((path + "-wal").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }
  EXPECT_EQ(RawQuery(path, "PRAGMA journal_mode"),
            std::vector<std::string>{"wal"});
  EXPECT_EQ(RawQuery(path, "SELECT version FROM schema_version"),
            (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7"}));
  // Opening again applies nothing twice.
  for (int i = 0; i < 2; ++i) ASSERT_NE(MustOpen(path), nullptr);
  EXPECT_EQ(RawQuery(path, "SELECT COUNT(*) FROM schema_version"),
            std::vector<std::string>{"7"});
  const std::vector<std::string> tables = RawQuery(
      path,
      "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  EXPECT_EQ(tables, (std::vector<std::string>{
                        "api_keys", "audit", "ca_keys", "federated_bundles",
                        "federated_revocations", "federations", "flow_members",
                        "flows", "identities", "links", "meta", "policies",
                        "policy_attachments", "policy_versions",
                        "schema_version", "shipped_audit", "svids"}));
}

TEST(SqliteStoreTest, RefusesASchemaNewerThanItKnows) {
  testing::TempDir dir("aztp_store_");
  const std::string path = dir.File("state.db");
  ASSERT_NE(MustOpen(path), nullptr);
  RawQuery(path,
           "INSERT INTO schema_version (version, description, applied_at) "
           "VALUES (999, 'from the future', 0)");
  Result<std::unique_ptr<Store>> store = OpenSqliteStore(path);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), Code::kUnsupported);
  EXPECT_NE(store.error().message().find("999"), std::string::npos);
}

TEST(SqliteStoreTest, EveryRecordTypeRoundTripsAndSurvivesReopen) {
  testing::TempDir dir("aztp_store_");
  const std::string path = dir.File("state.db");
  Everything e = MakeEverything("plain", "plain");
  {
    auto store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    ASSERT_OK(
        store->Write([&](Transaction& t) { return PutEverything(t, e); }));
    EXPECT_EQ(e.audit.seq, 1);
    ExpectEverything(*store, e);
    // Absent rows read as nullopt / empty, not as errors.
    ASSERT_OK(store->Read([](Transaction& t) -> Status {
      auto id = t.GetIdentity("spiffe://td/none");
      EXPECT_TRUE(id.has_value() && !id->has_value());
      auto key = t.GetApiKey("ak_none");
      EXPECT_TRUE(key.has_value() && !key->has_value());
      auto meta = t.GetMeta("none");
      EXPECT_TRUE(meta.has_value() && !meta->has_value());
      auto svids = t.ListSvids("spiffe://td/none");
      EXPECT_TRUE(svids.has_value() && svids->empty());
      auto links = t.ListLinks("spiffe://td/none");
      EXPECT_TRUE(links.has_value() && links->empty());
      return Ok();
    }));
  }
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  ExpectEverything(*store, e);
}

TEST(SqliteStoreTest, UpdatesAndRevocations) {
  testing::TempDir dir("aztp_store_");
  auto store = MustOpen(dir.File("state.db"));
  ASSERT_NE(store, nullptr);
  Everything e = MakeEverything("x", "x");
  ASSERT_OK(store->Write([&](Transaction& t) { return PutEverything(t, e); }));

  IdentityRecord updated = e.child;
  updated.parent.reset();
  updated.global = true;
  updated.discoverable = false;
  updated.metadata = {{"team", "blue"}};
  updated.selectors = {"unix:uid:0"};
  updated.federates_with = std::vector<std::string>{"org-b.example"};
  updated.status = "revoked";
  updated.revoked_reason = "compromised";
  updated.revoked_by = "apikey:admin";
  updated.created_at = 1;  // ignored: created_at never changes
  updated.updated_at = kNow + 99;
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.UpdateIdentity(updated));
    AZTP_RETURN_IF_ERROR(t.RevokeApiKey(e.key.key_id));
    AZTP_RETURN_IF_ERROR(t.RevokeApiKey(e.key.key_id));  // idempotent
    CaKeyRecord replaced = e.ca;
    replaced.state = "retired";
    replaced.key_pem = SecretBytes(std::string_view("other key"));
    AZTP_RETURN_IF_ERROR(t.PutCaKey(replaced));
    CaKeyRecord second = e.ca;
    second.key_id = "ca-second";
    second.created_at = e.ca.created_at + 1;
    second.key_pem = SecretBytes();
    AZTP_RETURN_IF_ERROR(t.PutCaKey(second));
    return t.PutMeta(e.meta_name, 7);
  }));
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    auto got = t.GetIdentity(updated.id);
    EXPECT_TRUE(got.has_value() && got->has_value());
    if (got.has_value() && got->has_value()) {
      IdentityRecord want = updated;
      want.created_at = e.child.created_at;
      ExpectIdentityEq(**got, want);
    }
    auto key = t.GetApiKey(e.key.key_id);
    EXPECT_TRUE(key.has_value() && key->has_value() && (*key)->revoked);
    auto keys = t.ListApiKeys();
    EXPECT_TRUE(keys.has_value() && keys->size() == 1);
    auto cas = t.ListCaKeys();
    EXPECT_TRUE(cas.has_value());
    if (cas.has_value()) {
      EXPECT_EQ(cas->size(), 2u);
      if (cas->size() == 2) {
        EXPECT_EQ((*cas)[0].key_id, e.ca.key_id);
        EXPECT_EQ((*cas)[0].state, "retired");
        EXPECT_TRUE((*cas)[0].key_pem ==
                    SecretBytes(std::string_view("other key")));
        EXPECT_EQ((*cas)[1].key_id, "ca-second");
        EXPECT_TRUE((*cas)[1].key_pem.empty());
      }
    }
    auto meta = t.GetMeta(e.meta_name);
    EXPECT_TRUE(meta.has_value() && meta->has_value() && **meta == 7);
    auto active = t.CountIdentities("active");
    auto revoked = t.CountIdentities("revoked");
    auto all = t.CountIdentities("");
    EXPECT_TRUE(active.has_value() && *active == 1);
    EXPECT_TRUE(revoked.has_value() && *revoked == 1);
    EXPECT_TRUE(all.has_value() && *all == 2);
    return Ok();
  }));
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.DeleteCaKey(e.ca.key_id));
    auto cas = t.ListCaKeys();
    EXPECT_TRUE(cas.has_value() && cas->size() == 1);
    return Ok();
  }));
}

TEST(SqliteStoreTest, DuplicatesAreAlreadyExists) {
  testing::TempDir dir("aztp_store_");
  auto store = MustOpen(dir.File("state.db"));
  ASSERT_NE(store, nullptr);
  Everything e = MakeEverything("dup", "dup");
  ASSERT_OK(store->Write([&](Transaction& t) { return PutEverything(t, e); }));
  EXPECT_CODE(
      store->Write([&](Transaction& t) { return t.InsertIdentity(e.child); }),
      Code::kAlreadyExists);
  EXPECT_CODE(
      store->Write([&](Transaction& t) { return t.InsertLink(e.link); }),
      Code::kAlreadyExists);
  EXPECT_CODE(
      store->Write([&](Transaction& t) { return t.InsertApiKey(e.key); }),
      Code::kAlreadyExists);
  EXPECT_CODE(
      store->Write([&](Transaction& t) { return t.InsertSvid(e.svid); }),
      Code::kAlreadyExists);
  // The same pair with another kind is another link.
  ASSERT_OK(store->Write([&](Transaction& t) {
    LinkRecord other = e.link;
    other.kind = "parent";
    return t.InsertLink(other);
  }));
  // The error message quotes the ID, escaped.
  Status s = store->Write([&](Transaction& t) -> Status {
    IdentityRecord r = MakeIdentity("spiffe://td/\x01q");
    AZTP_RETURN_IF_ERROR(t.InsertIdentity(r));
    return t.InsertIdentity(r);
  });
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), Code::kAlreadyExists);
  EXPECT_NE(s.error().message().find("\\x01q"), std::string::npos)
      << s.error().message();
}

TEST(SqliteStoreTest, UnknownReferencesAreInvalidArgument) {
  testing::TempDir dir("aztp_store_");
  auto store = MustOpen(dir.File("state.db"));
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Write([](Transaction& t) {
    return t.InsertIdentity(MakeIdentity("spiffe://td/known"));
  }));
  EXPECT_CODE(store->Write([](Transaction& t) {
    IdentityRecord r = MakeIdentity("spiffe://td/orphan");
    r.parent = "spiffe://td/nobody";
    return t.InsertIdentity(r);
  }),
              Code::kInvalidArgument);
  EXPECT_CODE(store->Write([](Transaction& t) {
    IdentityRecord r = MakeIdentity("spiffe://td/self");
    r.parent = r.id;
    return t.InsertIdentity(r);
  }),
              Code::kInvalidArgument);
  EXPECT_CODE(store->Write([](Transaction& t) {
    IdentityRecord r = MakeIdentity("spiffe://td/known");
    r.parent = "spiffe://td/nobody";
    return t.UpdateIdentity(r);
  }),
              Code::kInvalidArgument);
  EXPECT_CODE(store->Write([](Transaction& t) {
    return t.InsertIdentity(MakeIdentity(""));
  }),
              Code::kInvalidArgument);
  EXPECT_CODE(store->Write([](Transaction& t) {
    return t.InsertLink(
        {"spiffe://td/known", "spiffe://td/nobody", "linked", kNow});
  }),
              Code::kInvalidArgument);
  EXPECT_CODE(store->Write([](Transaction& t) {
    return t.InsertLink(
        {"spiffe://td/nobody", "spiffe://td/known", "linked", kNow});
  }),
              Code::kInvalidArgument);
  EXPECT_CODE(store->Write([](Transaction& t) {
    return t.InsertSvid({"01", "spiffe://td/nobody", kNow, kNow + 60});
  }),
              Code::kInvalidArgument);
  ASSERT_OK(store->Read([](Transaction& t) -> Status {
    auto n = t.CountIdentities("");
    EXPECT_TRUE(n.has_value() && *n == 1);
    return Ok();
  }));
}

TEST(SqliteStoreTest, MissingRowsAreNotFound) {
  testing::TempDir dir("aztp_store_");
  auto store = MustOpen(dir.File("state.db"));
  ASSERT_NE(store, nullptr);
  EXPECT_CODE(store->Write([](Transaction& t) {
    return t.UpdateIdentity(MakeIdentity("spiffe://td/missing"));
  }),
              Code::kNotFound);
  EXPECT_CODE(
      store->Write([](Transaction& t) { return t.RevokeApiKey("ak_missing"); }),
      Code::kNotFound);
  EXPECT_CODE(
      store->Write([](Transaction& t) { return t.DeleteCaKey("ca-missing"); }),
      Code::kNotFound);
}

TEST(SqliteStoreTest, ExpectedErrorsLeaveTheTransactionUsable) {
  testing::TempDir dir("aztp_store_");
  auto store = MustOpen(dir.File("state.db"));
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Write([](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity("spiffe://td/a")));
    // A caller may treat "exists" as fine and carry on.
    Status again = t.InsertIdentity(MakeIdentity("spiffe://td/a"));
    EXPECT_FALSE(again.has_value());
    IdentityRecord orphan = MakeIdentity("spiffe://td/orphan");
    orphan.parent = "spiffe://td/none";
    EXPECT_FALSE(t.InsertIdentity(orphan).has_value());
    EXPECT_FALSE(t.RevokeApiKey("ak_none").has_value());
    return t.InsertIdentity(MakeIdentity("spiffe://td/b"));
  }));
  ASSERT_OK(store->Read([](Transaction& t) -> Status {
    auto n = t.CountIdentities("");
    EXPECT_TRUE(n.has_value() && *n == 2);
    return Ok();
  }));
}

TEST(SqliteStoreTest, FailedWriteLeavesNothingBehind) {
  testing::TempDir dir("aztp_store_");
  auto store = MustOpen(dir.File("state.db"));
  ASSERT_NE(store, nullptr);
  Everything e = MakeEverything("gone", "gone");
  Status s = store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(PutEverything(t, e));
    return Error(Code::kPermissionDenied, "changed my mind");
  });
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), Code::kPermissionDenied);
  EXPECT_EQ(s.error().message(), "changed my mind");
  // A callback that throws is rolled back too, and the store stays usable.
  EXPECT_THROW((void)store->Write([&](Transaction& t) -> Status {
    (void)t.InsertIdentity(MakeIdentity("spiffe://td/thrown"));
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  EXPECT_THROW((void)store->Read([&](Transaction&) -> Status {
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    auto n = t.CountIdentities("");
    EXPECT_TRUE(n.has_value() && *n == 0);
    auto audit = t.ListAudit(0, 1000);
    EXPECT_TRUE(audit.has_value() && audit->empty());
    auto keys = t.ListApiKeys();
    EXPECT_TRUE(keys.has_value() && keys->empty());
    auto cas = t.ListCaKeys();
    EXPECT_TRUE(cas.has_value() && cas->empty());
    auto meta = t.GetMeta(e.meta_name);
    EXPECT_TRUE(meta.has_value() && !meta->has_value());
    return Ok();
  }));
  // The rolled-back audit sequence number is handed out again.
  ASSERT_OK(store->Write([](Transaction& t) -> Status {
    auto seq = t.AppendAudit(MakeAudit("x", "y"));
    EXPECT_TRUE(seq.has_value() && *seq == 1);
    return Ok();
  }));
}

TEST(SqliteStoreTest, AuditSequenceIncrementsAndSurvivesReopen) {
  testing::TempDir dir("aztp_store_");
  const std::string path = dir.File("state.db");
  {
    auto store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    for (int64_t want = 1; want <= 3; ++want) {
      ASSERT_OK(store->Write([&](Transaction& t) -> Status {
        AuditRecord a = MakeAudit("a", "s" + std::to_string(want));
        a.seq = 42;  // ignored
        auto seq = t.AppendAudit(a);
        EXPECT_TRUE(seq.has_value() && *seq == want);
        return Ok();
      }));
    }
    ASSERT_OK(store->Write([&](Transaction& t) -> Status {
      auto a = t.AppendAudit(MakeAudit("a", "s4"));
      auto b = t.AppendAudit(MakeAudit("a", "s5"));
      EXPECT_TRUE(a.has_value() && *a == 4);
      EXPECT_TRUE(b.has_value() && *b == 5);
      return Ok();
    }));
  }
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    auto seq = t.AppendAudit(MakeAudit("a", "s6"));
    EXPECT_TRUE(seq.has_value() && *seq == 6);
    return Ok();
  }));
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    auto all = t.ListAudit(0, 1000);
    EXPECT_TRUE(all.has_value() && all->size() == 6);
    if (all.has_value()) {
      for (std::size_t i = 0; i < all->size(); ++i) {
        EXPECT_EQ((*all)[i].seq, static_cast<int64_t>(i + 1));
        EXPECT_EQ((*all)[i].subject, "s" + std::to_string(i + 1));
      }
    }
    auto page = t.ListAudit(2, 2);
    EXPECT_TRUE(page.has_value() && page->size() == 2);
    if (page.has_value() && page->size() == 2) {
      EXPECT_EQ((*page)[0].seq, 3);
      EXPECT_EQ((*page)[1].seq, 4);
    }
    // The records form one hash chain across transactions and reopening.
    if (all.has_value()) {
      AuditChainChecker checker;
      for (const AuditRecord& r : *all) checker.Add(r);
      EXPECT_TRUE(checker.ok()) << checker.reason();
      EXPECT_EQ(checker.head().seq, 6);
      EXPECT_EQ((*all)[0].prev, kAuditGenesis);
    }
    auto tail = t.ListAudit(6, 10);
    EXPECT_TRUE(tail.has_value() && tail->empty());
    EXPECT_CODE(t.ListAudit(0, 0), Code::kInvalidArgument);
    EXPECT_CODE(t.ListAudit(0, 1001), Code::kInvalidArgument);
    EXPECT_CODE(t.ListAudit(0, -1), Code::kInvalidArgument);
    return Ok();
  }));
}

// ReopenedAfter opens a new store at `path`, runs `sql` on the file (to
// undo a migration and leave what an older version wrote) and opens it
// again, which applies the migration.
std::unique_ptr<Store> ReopenedAfter(const std::string& path, const char* sql) {
  EXPECT_NE(MustOpen(path), nullptr);
  RawQuery(path, sql);
  return MustOpen(path);
}

// Records written before migration 5 (no prev, no hash) are chained by it.
TEST(SqliteStoreTest, MigrationChainsLegacyAuditRecords) {
  testing::TempDir dir("aztp_store_");
  auto store = ReopenedAfter(
      dir.File("state.db"),
      "DELETE FROM schema_version WHERE version = 5;"
      "DROP TABLE shipped_audit; DROP INDEX audit_txn;"
      "INSERT INTO audit VALUES (1, 10, 'a', 'x.one', 's', 'allow', '',"
      " '', '{}', '', ''), (2, 11, 'a', 'x.two', 's', 'deny', 'r', 't',"
      " '{\"k\":[1,2]}', '', '')");
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Write([](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.AppendAudit(MakeAudit("x.three", "s")));
    return Ok();
  }));
  ASSERT_OK(store->Read([](Transaction& t) -> Status {
    auto all = t.ListAudit(0, 10);
    EXPECT_TRUE(all.has_value() && all->size() == 3);
    if (!all.has_value()) return Ok();
    AuditChainChecker checker;
    for (const AuditRecord& r : *all) checker.Add(r);
    EXPECT_TRUE(checker.ok()) << checker.reason();
    EXPECT_EQ(checker.head().seq, 3);
    return Ok();
  }));
}

// Identities revoked before migration 6 get their revoker from the audit
// log (the latest identity.revoke record), so that reissuing them follows
// the same rule as for newer revocations (finding: reissue after an admin's
// revoke).
TEST(SqliteStoreTest, MigrationReadsWhoRevokedFromTheAuditLog) {
  testing::TempDir dir("aztp_store_");
  auto store = ReopenedAfter(
      dir.File("state.db"),
      "DELETE FROM schema_version WHERE version = 6;"
      "ALTER TABLE identities DROP COLUMN revoked_by;"
      "INSERT INTO identities VALUES"
      " ('spiffe://td/a', NULL, 0, 0, '{}', '[]', 'revoked', 'r', 1, 2,"
      "  NULL),"
      " ('spiffe://td/b', NULL, 0, 0, '{}', '[]', 'active', '', 1, 2,"
      "  NULL),"
      " ('spiffe://td/c', NULL, 0, 0, '{}', '[]', 'revoked', '', 1, 2,"
      "  NULL);"
      "INSERT INTO audit VALUES"
      " (1, 10, 'apikey:scoped', 'identity.revoke', 'spiffe://td/a',"
      "  'allow', '', '', '{}', '', ''),"
      " (2, 11, 'apikey:admin', 'identity.revoke', 'spiffe://td/a',"
      "  'allow', '', '', '{}', '', ''),"
      " (3, 12, 'apikey:admin', 'identity.revoke', 'spiffe://td/b',"
      "  'allow', '', '', '{}', '', '')");
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Read([](Transaction& t) -> Status {
    std::vector<std::string> got;
    for (const char* id : {"spiffe://td/a", "spiffe://td/b", "spiffe://td/c"}) {
      AZTP_ASSIGN_OR_RETURN(auto r, t.GetIdentity(id));
      got.push_back(r ? r->revoked_by : "absent");
    }
    // b was reissued since (active): nobody's revocation holds.
    EXPECT_EQ(got, (std::vector<std::string>{"apikey:admin", "", ""}));
    return Ok();
  }));
}

// Records shipped by proxies keep their own seq, prev and hash per source.
TEST(SqliteStoreTest, ShippedAuditRecordsAreKeptPerSource) {
  auto store = MustOpen(":memory:");
  ASSERT_NE(store, nullptr);
  std::vector<AuditRecord> chain;
  std::string prev = kAuditGenesis;
  for (int i = 1; i <= 3; ++i) {
    AuditRecord r = MakeAudit("proxy.request", "s" + std::to_string(i));
    SealAudit(r, i, prev);
    prev = r.hash;
    chain.push_back(r);
  }
  const std::string a = "spiffe://td/proxy-a", b = "spiffe://td/proxy-b";
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    for (const AuditRecord& r : chain) {
      AZTP_RETURN_IF_ERROR(t.AppendShippedAudit(a, r));
    }
    AZTP_RETURN_IF_ERROR(t.AppendShippedAudit(b, chain[0]));
    EXPECT_CODE(t.AppendShippedAudit(a, chain[1]), Code::kAlreadyExists);
    return Ok();
  }));
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    auto head = t.ShippedAuditHead(a);
    EXPECT_TRUE(head.has_value() && head->seq == 3 &&
                head->hash == chain[2].hash);
    auto none = t.ShippedAuditHead("spiffe://td/none");
    EXPECT_TRUE(none.has_value() && none->seq == 0 &&
                none->hash == kAuditGenesis);
    auto page = t.ListShippedAudit(a, 1, 10);
    EXPECT_TRUE(page.has_value() && page->size() == 2);
    if (page.has_value() && page->size() == 2) {
      ExpectAuditEq((*page)[0], chain[1]);
      ExpectAuditEq((*page)[1], chain[2]);
    }
    auto sources = t.ListAuditSources();
    EXPECT_TRUE(sources.has_value() &&
                *sources == (std::vector<std::string>{a, b}));
    // Issue 13: a source that never shipped is not an empty, valid log.
    EXPECT_TRUE(CheckAuditSource(t, a).has_value());
    EXPECT_CODE(CheckAuditSource(t, "spiffe://td/proxy-aa"), Code::kNotFound);
    auto own = t.ListAudit(0, 10);
    EXPECT_TRUE(own.has_value() && own->empty());
    return Ok();
  }));
}

TEST(SqliteStoreTest, MetaGetAndPut) {
  testing::TempDir dir("aztp_store_");
  auto store = MustOpen(dir.File("state.db"));
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Write([](Transaction& t) -> Status {
    auto absent = t.GetMeta("revocation_seq");
    EXPECT_TRUE(absent.has_value() && !absent->has_value());
    AZTP_RETURN_IF_ERROR(t.PutMeta("revocation_seq", 1));
    AZTP_RETURN_IF_ERROR(t.PutMeta("revocation_seq", 2));
    AZTP_RETURN_IF_ERROR(t.PutMeta("min", std::numeric_limits<int64_t>::min()));
    AZTP_RETURN_IF_ERROR(t.PutMeta("max", std::numeric_limits<int64_t>::max()));
    return t.PutMeta("zero", 0);
  }));
  ASSERT_OK(store->Read([](Transaction& t) -> Status {
    for (const auto& [name, want] :
         std::vector<std::pair<std::string, int64_t>>{
             {"revocation_seq", 2},
             {"min", std::numeric_limits<int64_t>::min()},
             {"max", std::numeric_limits<int64_t>::max()},
             {"zero", 0}}) {
      auto got = t.GetMeta(name);
      EXPECT_TRUE(got.has_value() && got->has_value() && **got == want) << name;
    }
    return Ok();
  }));
}

TEST(SqliteStoreTest, SqlMetacharactersRoundTripUnchanged) {
  testing::TempDir dir("aztp_store_");
  const std::string path = dir.File("state.db");
  const std::string utf8 =
      "it's \"quoted\"; DROP TABLE identities; -- %_ \\ ' OR '1'='1 "
      "\xc3\xbcnic\xc3\xb8"
      "de \xe2\x82\xac \xf0\x9f\x9a\x80 \t\r\n";
  const std::string text = utf8 + " \x01\x1f\x7f\x80\xfe\xff";
  Everything e = MakeEverything(text, utf8);
  {
    auto store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    ASSERT_OK(
        store->Write([&](Transaction& t) { return PutEverything(t, e); }));
    ExpectEverything(*store, e);
    ASSERT_OK(store->Read([&](Transaction& t) -> Status {
      IdentityFilter f;
      f.id_prefix = "spiffe://td/" + text + "/";
      f.status = e.child.status;
      f.parent = e.parent.id;
      auto list = t.ListIdentities(f);
      EXPECT_TRUE(list.has_value() && list->size() == 1);
      auto n = t.CountIdentities(e.child.status);
      EXPECT_TRUE(n.has_value() && *n == 1);
      return Ok();
    }));
  }
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  ExpectEverything(*store, e);
  EXPECT_EQ(RawQuery(path, "PRAGMA integrity_check"),
            std::vector<std::string>{"ok"});
}

TEST(SqliteStoreTest, JsonThatWouldNotReadBackIsRefused) {
  testing::TempDir dir("aztp_store_");
  auto store = MustOpen(dir.File("state.db"));
  ASSERT_NE(store, nullptr);
  EXPECT_CODE(store->Write([](Transaction& t) {
    IdentityRecord r = MakeIdentity("spiffe://td/a");
    r.selectors = {"bad \xff utf-8"};
    return t.InsertIdentity(r);
  }),
              Code::kInvalidArgument);
  EXPECT_CODE(store->Write([](Transaction& t) {
    IdentityRecord r = MakeIdentity("spiffe://td/a");
    r.metadata = {{"blob", std::string(17 << 10, 'x')}};
    return t.InsertIdentity(r);
  }),
              Code::kTooLarge);
  EXPECT_CODE(store->Write([](Transaction& t) -> Status {
    AuditRecord a = MakeAudit("a", "s");
    a.details = {{"nan", std::nan("")}};
    AZTP_RETURN_IF_ERROR(t.AppendAudit(a));
    return Ok();
  }),
              Code::kInvalidArgument);
  EXPECT_CODE(store->Write([](Transaction& t) -> Status {
    AuditRecord a = MakeAudit("a", "s");
    Json deep = Json::array();
    for (int i = 0; i < 40; ++i) deep = Json::array({deep});
    a.details = {{"deep", deep}};
    AZTP_RETURN_IF_ERROR(t.AppendAudit(a));
    return Ok();
  }),
              Code::kInvalidArgument);
  ASSERT_OK(store->Read([](Transaction& t) -> Status {
    auto n = t.CountIdentities("");
    EXPECT_TRUE(n.has_value() && *n == 0);
    auto audit = t.ListAudit(0, 10);
    EXPECT_TRUE(audit.has_value() && audit->empty());
    return Ok();
  }));
}

// Collects every page of `filter` (whose limit is the page size).
std::vector<std::string> ListAllIds(Store& store, IdentityFilter filter,
                                    std::vector<std::size_t>* page_sizes) {
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

TEST(SqliteStoreTest, ListsIdentitiesInPagesWithFilters) {
  testing::TempDir dir("aztp_store_");
  auto store = MustOpen(dir.File("state.db"));
  ASSERT_NE(store, nullptr);
  const std::string prefix = "spiffe://td/x_y%/";
  const std::string root = "spiffe://td/root";
  std::vector<IdentityRecord> records;
  for (int i = 0; i < 250; ++i) {
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "agent-%03d", i);
    IdentityRecord r = MakeIdentity(prefix + suffix);
    if (i % 5 == 0) r.status = "revoked";
    r.discoverable = i % 2 == 0;
    if (i % 3 == 0) r.parent = root;
    records.push_back(r);
  }
  // Would match if `_` or `%` were wildcards, if the match ignored case, or
  // if the range's end were inclusive ('0' follows '/').
  const std::vector<std::string> decoys = {
      "spiffe://td/xAyB/agent-1",  "spiffe://td/x_yZ/agent-1",
      "spiffe://td/x_y%Q/agent-1", "spiffe://td/X_Y%/agent-1",
      "spiffe://td/x_y%",          "spiffe://td/x_y%0",
      "spiffe://td/x_y%0/agent-1", "spiffe://td/xzy%/agent-1",
  };
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity(root)));
    // Inserted out of order: the listing sorts.
    for (auto it = records.rbegin(); it != records.rend(); ++it) {
      AZTP_RETURN_IF_ERROR(t.InsertIdentity(*it));
    }
    for (const std::string& id : decoys) {
      IdentityRecord r = MakeIdentity(id);
      r.parent = root;
      r.discoverable = true;
      AZTP_RETURN_IF_ERROR(t.InsertIdentity(r));
    }
    return Ok();
  }));

  IdentityFilter by_prefix;
  by_prefix.id_prefix = prefix;
  by_prefix.limit = 100;
  std::vector<std::size_t> sizes;
  std::vector<std::string> ids = ListAllIds(*store, by_prefix, &sizes);
  EXPECT_EQ(sizes, (std::vector<std::size_t>{100, 100, 50}));
  ASSERT_EQ(ids.size(), 250u);
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], records[i].id);

  // Every combination of filters, paged by 7, against a plain loop.
  for (int mask = 0; mask < 8; ++mask) {
    IdentityFilter f;
    f.id_prefix = prefix;
    f.limit = 7;
    if (mask & 1) f.status = "active";
    if (mask & 2) f.discoverable = true;
    if (mask & 4) f.parent = root;
    std::vector<std::string> want;
    for (const IdentityRecord& r : records) {
      if (f.status && r.status != *f.status) continue;
      if (f.discoverable && r.discoverable != *f.discoverable) continue;
      if (f.parent && r.parent != f.parent) continue;
      want.push_back(r.id);
    }
    EXPECT_EQ(ListAllIds(*store, f, nullptr), want) << "mask " << mask;
  }

  // Without a prefix: everything, in byte order.
  IdentityFilter all;
  all.limit = 1000;
  std::vector<std::string> every = ListAllIds(*store, all, nullptr);
  EXPECT_EQ(every.size(), 1 + records.size() + decoys.size());
  EXPECT_TRUE(std::is_sorted(every.begin(), every.end()));
  IdentityFilter discoverable_off;
  discoverable_off.discoverable = false;
  discoverable_off.limit = 1000;
  EXPECT_EQ(ListAllIds(*store, discoverable_off, nullptr).size(), 1u + 125u);

  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    for (int bad : {0, -1, 1001, std::numeric_limits<int>::min()}) {
      IdentityFilter f;
      f.limit = bad;
      EXPECT_CODE(t.ListIdentities(f), Code::kInvalidArgument);
    }
    IdentityFilter max;
    max.limit = 1000;
    EXPECT_TRUE(t.ListIdentities(max).has_value());
    IdentityFilter none;
    none.id_prefix = "spiffe://td/nothing/";
    auto empty = t.ListIdentities(none);
    EXPECT_TRUE(empty.has_value() && empty->empty());
    return Ok();
  }));
}

TEST(SqliteStoreTest, PrefixMatchIsByteExact) {
  testing::TempDir dir("aztp_store_");
  auto store = MustOpen(dir.File("state.db"));
  ASSERT_NE(store, nullptr);
  const std::vector<std::string> ids = {
      "a", "a\xff", "a\xff\xff", "a\xffz", "ab",
      "b", "\xff",  "\xff\xff",  "\xfe",   "A"};
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    for (const std::string& id : ids) {
      AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity(id)));
    }
    return Ok();
  }));
  auto list = [&](const std::string& prefix) {
    IdentityFilter f;
    f.id_prefix = prefix;
    return ListAllIds(*store, f, nullptr);
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(list("a\xff"), (V{"a\xff", "a\xffz", "a\xff\xff"}));
  EXPECT_EQ(list("a"), (V{"a", "ab", "a\xff", "a\xffz", "a\xff\xff"}));
  EXPECT_EQ(list("\xff"), (V{"\xff", "\xff\xff"}));
  EXPECT_EQ(list("A"), (V{"A"}));
  EXPECT_EQ(list("").size(), ids.size());
}

TEST(SqliteStoreTest, ReadIsReadOnlyAndTransactionsDoNotNest) {
  testing::TempDir dir("aztp_store_");
  auto store = MustOpen(dir.File("state.db"));
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Read([](Transaction& t) -> Status {
    EXPECT_CODE(t.InsertIdentity(MakeIdentity("spiffe://td/a")),
                Code::kUnsupported);
    EXPECT_CODE(t.AppendAudit(MakeAudit("a", "b")), Code::kUnsupported);
    EXPECT_CODE(t.PutMeta("m", 1), Code::kUnsupported);
    return Ok();
  }));
  ASSERT_OK(store->Write([&](Transaction&) -> Status {
    EXPECT_CODE(store->Write([](Transaction&) { return Ok(); }),
                Code::kUnsupported);
    EXPECT_CODE(store->Read([](Transaction&) { return Ok(); }),
                Code::kUnsupported);
    return Ok();
  }));
  // Another store may be used from inside a callback.
  testing::TempDir other_dir("aztp_store_");
  auto other = MustOpen(other_dir.File("state.db"));
  ASSERT_NE(other, nullptr);
  ASSERT_OK(store->Read([&](Transaction&) {
    return other->Write([](Transaction& t) {
      return t.InsertIdentity(MakeIdentity("spiffe://td/a"));
    });
  }));
}

TEST(SqliteStoreTest, InMemoryStoreWorks) {
  auto store = MustOpen(":memory:");
  ASSERT_NE(store, nullptr);
  Everything e = MakeEverything("mem", "mem");
  ASSERT_OK(store->Write([&](Transaction& t) { return PutEverything(t, e); }));
  ExpectEverything(*store, e);
}

TEST(SqliteStoreTest, ConcurrentWritesAllLand) {
  testing::TempDir dir("aztp_store_");
  auto store = MustOpen(dir.File("state.db"));
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  std::atomic<int> write_errors{0};
  std::atomic<int> inconsistent{0};
  std::atomic<int> reads{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        Status s = store->Read([&](Transaction& t) -> Status {
          AZTP_ASSIGN_OR_RETURN(int64_t n, t.CountIdentities(""));
          AZTP_ASSIGN_OR_RETURN(std::optional<int64_t> m, t.GetMeta("count"));
          AZTP_ASSIGN_OR_RETURN(std::vector<AuditRecord> audit,
                                t.ListAudit(0, 1000));
          if (n != m.value_or(0) || n != static_cast<int64_t>(audit.size())) {
            inconsistent.fetch_add(1);
          }
          return Ok();
        });
        if (!s.has_value()) inconsistent.fetch_add(1);
        reads.fetch_add(1);
      }
    });
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < kThreads; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id =
            "spiffe://td/t" + std::to_string(w) + "/" + std::to_string(i);
        Status s = store->Write([&](Transaction& t) -> Status {
          AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity(id)));
          AZTP_RETURN_IF_ERROR(t.AppendAudit(MakeAudit("identity.create", id)));
          AZTP_ASSIGN_OR_RETURN(std::optional<int64_t> count,
                                t.GetMeta("count"));
          return t.PutMeta("count", count.value_or(0) + 1);
        });
        if (!s.has_value()) write_errors.fetch_add(1);
      }
    });
  }
  for (std::thread& t : writers) t.join();
  done.store(true);
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(write_errors.load(), 0);
  EXPECT_EQ(inconsistent.load(), 0);
  EXPECT_GT(reads.load(), 0);

  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    auto n = t.CountIdentities("");
    EXPECT_TRUE(n.has_value() && *n == kThreads * kPerThread);
    auto count = t.GetMeta("count");
    EXPECT_TRUE(count.has_value() &&
                count->value_or(-1) == kThreads * kPerThread);
    auto audit = t.ListAudit(0, 1000);
    EXPECT_TRUE(audit.has_value());
    if (audit.has_value()) {
      EXPECT_EQ(audit->size(), static_cast<std::size_t>(kThreads * kPerThread));
      for (std::size_t i = 0; i < audit->size(); ++i) {
        EXPECT_EQ((*audit)[i].seq, static_cast<int64_t>(i + 1));
      }
    }
    return Ok();
  }));
  for (int w = 0; w < kThreads; ++w) {
    IdentityFilter f;
    f.id_prefix = "spiffe://td/t" + std::to_string(w) + "/";
    EXPECT_EQ(ListAllIds(*store, f, nullptr).size(),
              static_cast<std::size_t>(kPerThread));
  }
}

TEST(SqliteStoreTest, ForkedChildWritesWhileParentReads) {
  testing::TempDir dir("aztp_store_");
  const std::string path = dir.File("state.db");
  // The parent holds no connection across fork(): SQLite forbids it.
  ASSERT_NE(MustOpen(path), nullptr);
  constexpr int kChildWrites = 400;
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(go[1]);
    int code = 0;
    {
      Result<std::unique_ptr<Store>> store = OpenSqliteStore(path);
      if (!store.has_value()) _exit(10);
      // Start once the parent is reading.
      char byte = 0;
      if (read(go[0], &byte, 1) != 1) _exit(12);
      for (int i = 0; i < kChildWrites && code == 0; ++i) {
        Status s = (*store)->Write([&](Transaction& t) -> Status {
          // The child sees its own writes and nothing else, consistently.
          AZTP_ASSIGN_OR_RETURN(int64_t n, t.CountIdentities(""));
          AZTP_ASSIGN_OR_RETURN(std::optional<int64_t> m, t.GetMeta("n"));
          if (n != i || m.value_or(0) != i) {
            return Error(Code::kInternal, "inconsistent");
          }
          const std::string id = "spiffe://td/child/" + std::to_string(i);
          AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity(id)));
          AZTP_RETURN_IF_ERROR(t.AppendAudit(MakeAudit("identity.create", id)));
          return t.PutMeta("n", i + 1);
        });
        if (!s.has_value()) code = 11;
      }
    }
    _exit(code);
  }
  close(go[0]);
  auto store = MustOpen(path);
  EXPECT_NE(store, nullptr);
  EXPECT_EQ(write(go[1], "g", 1), 1);
  close(go[1]);
  int64_t last = 0;
  int reads = 0;
  int midway = 0;  // reads that saw some but not all of the child's writes
  int inconsistent = 0;
  int status = 0;
  bool exited = false;
  while (!exited) {
    exited = waitpid(child, &status, WNOHANG) == child;
    if (store == nullptr) continue;
    Status s = store->Read([&](Transaction& t) -> Status {
      AZTP_ASSIGN_OR_RETURN(int64_t n, t.CountIdentities(""));
      AZTP_ASSIGN_OR_RETURN(std::optional<int64_t> m, t.GetMeta("n"));
      AZTP_ASSIGN_OR_RETURN(std::vector<AuditRecord> audit,
                            t.ListAudit(0, 1000));
      if (n != m.value_or(0) || n != static_cast<int64_t>(audit.size()) ||
          n < last) {
        ++inconsistent;
      }
      if (n > 0 && n < kChildWrites) ++midway;
      last = n;
      return Ok();
    });
    if (!s.has_value()) {
      ADD_FAILURE() << s.error().message();
      ++inconsistent;
    }
    ++reads;
  }
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(inconsistent, 0);
  EXPECT_EQ(last, kChildWrites);
  EXPECT_GT(midway, 0);
  std::printf("[ fork     ] %d parent reads, %d during the child's writes\n",
              reads, midway);
}

// Reads 8-byte integers from `fd` into `out` until `deadline` (or EOF when
// there is no deadline); `buf` keeps a partial integer between calls.
void ReadAcks(int fd, std::vector<int64_t>* out, std::string* buf,
              std::optional<std::chrono::steady_clock::time_point> deadline) {
  while (true) {
    int timeout = -1;
    if (deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          *deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return;
      timeout = static_cast<int>(left.count());
    }
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, timeout);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return;
    char chunk[4096];
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    buf->append(chunk, static_cast<std::size_t>(n));
    while (buf->size() >= sizeof(int64_t)) {
      int64_t v = 0;
      std::memcpy(&v, buf->data(), sizeof v);
      out->push_back(v);
      buf->erase(0, sizeof v);
    }
  }
}

std::string CrashId(int round, int64_t i) {
  char id[64];
  std::snprintf(id, sizeof id, "spiffe://td/crash/r%d/%06lld", round,
                static_cast<long long>(i));
  return id;
}

TEST(SqliteStoreTest, KilledWriterLosesNoAcknowledgedWrite) {
  testing::TempDir dir("aztp_store_");
  const std::string path = dir.File("state.db");
  ASSERT_NE(MustOpen(path), nullptr);
  constexpr int kRounds = 3;
  int64_t total_present = 0;
  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(fds[0]);
      Result<std::unique_ptr<Store>> store = OpenSqliteStore(path);
      if (!store.has_value()) _exit(10);
      for (int64_t i = 0;; ++i) {
        const std::string id = CrashId(round, i);
        Status s = (*store)->Write([&](Transaction& t) -> Status {
          AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity(id)));
          AZTP_RETURN_IF_ERROR(t.AppendAudit(MakeAudit("identity.create", id)));
          return Ok();
        });
        if (!s.has_value()) _exit(11);
        // Acknowledged: Write returned, so the commit is durable.
        if (write(fds[1], &i, sizeof i) != static_cast<ssize_t>(sizeof i)) {
          _exit(12);
        }
      }
    }
    close(fds[1]);
    std::vector<int64_t> acked;
    std::string partial;
    ReadAcks(fds[0], &acked, &partial,
             std::chrono::steady_clock::now() + std::chrono::milliseconds(300));
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ReadAcks(fds[0], &acked, &partial, std::nullopt);
    close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "child ended otherwise: " << status;
    ASSERT_FALSE(acked.empty()) << "the child acknowledged nothing in 300 ms";
    for (std::size_t i = 0; i < acked.size(); ++i) {
      ASSERT_EQ(acked[i], static_cast<int64_t>(i));
    }

    EXPECT_EQ(RawQuery(path, "PRAGMA integrity_check"),
              std::vector<std::string>{"ok"});
    EXPECT_TRUE(RawQuery(path, "PRAGMA foreign_key_check").empty());

    auto store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    IdentityFilter f;
    f.id_prefix = "spiffe://td/crash/r" + std::to_string(round) + "/";
    f.limit = 1000;
    const std::vector<std::string> present = ListAllIds(*store, f, nullptr);
    const std::set<std::string> present_set(present.begin(), present.end());
    for (int64_t i : acked) {
      EXPECT_TRUE(present_set.count(CrashId(round, i)) == 1)
          << "acknowledged write " << i << " was lost";
    }
    // At most the one write committed but not yet reported is extra.
    EXPECT_GE(present.size(), acked.size());
    EXPECT_LE(present.size(), acked.size() + 1);
    total_present += static_cast<int64_t>(present.size());

    // Every identity has its audit record, and nothing else is there.
    std::set<std::string> audited;
    int64_t after = 0;
    int64_t expected_seq = 1;
    while (true) {
      std::vector<AuditRecord> page;
      ASSERT_OK(store->Read([&](Transaction& t) -> Status {
        AZTP_ASSIGN_OR_RETURN(page, t.ListAudit(after, 1000));
        return Ok();
      }));
      for (const AuditRecord& a : page) {
        EXPECT_EQ(a.seq, expected_seq++);
        audited.insert(a.subject);
      }
      if (page.empty()) break;
      after = page.back().seq;
    }
    for (const std::string& id : present) {
      EXPECT_EQ(audited.count(id), 1u) << id << " has no audit record";
    }
    EXPECT_EQ(static_cast<int64_t>(audited.size()), total_present);
    std::printf("[ crash    ] round %d: acknowledged %zu, present %zu\n", round,
                acked.size(), present.size());
  }
}

TEST(SqliteStoreTest, FederationsAndTheirBundlesRoundTrip) {
  testing::TempDir dir("aztp_store_");
  const std::string path = dir.File("state.db");
  FederationRecord b{"org-b.example",
                     "https://b:8443/bundle",
                     "https_spiffe",
                     "spiffe://org-b.example/aztpd",
                     "{\"keys\":[]}",
                     "",
                     kNow,
                     "https://b:8443/revocations"};
  FederationRecord c{"org-c.example",
                     "https://c/bundle",
                     "https_web",
                     "",
                     "",
                     "-----BEGIN CERTIFICATE-----",
                     kNow + 1};
  {
    auto store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    ASSERT_OK(store->Write([&](Transaction& t) -> Status {
      AZTP_RETURN_IF_ERROR(t.PutFederation(c));
      AZTP_RETURN_IF_ERROR(t.PutFederation(b));
      AZTP_RETURN_IF_ERROR(
          t.PutFederatedBundle({"org-b.example", "{\"v\":1}", kNow}));
      AZTP_RETURN_IF_ERROR(t.PutFederatedRevocations(
          {"org-b.example", "{\"sequence\":1}", kNow}));
      AZTP_RETURN_IF_ERROR(t.PutFederatedRevocations(
          {"org-b.example", "{\"sequence\":2}", kNow + 6}));
      // Replacing keeps one row per trust domain.
      return t.PutFederatedBundle({"org-b.example", "{\"v\":2}", kNow + 5});
    }));
    Status dup =
        store->Write([&](Transaction& t) { return t.PutFederation(b); });
    EXPECT_EQ(dup.error().code(), Code::kAlreadyExists);
  }
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto list, t.ListFederations());
    EXPECT_EQ(list.size(), 2u);
    if (list.size() == 2) {
      EXPECT_EQ(list[0].trust_domain, "org-b.example");
      EXPECT_EQ(list[0].endpoint_id, b.endpoint_id);
      EXPECT_EQ(list[0].bootstrap_bundle, b.bootstrap_bundle);
      EXPECT_EQ(list[0].revocations_url, "https://b:8443/revocations");
      EXPECT_EQ(list[1].revocations_url, "");
      EXPECT_EQ(list[1].profile, "https_web");
      EXPECT_EQ(list[1].web_ca_pem, c.web_ca_pem);
      EXPECT_EQ(list[1].created_at, kNow + 1);
    }
    AZTP_ASSIGN_OR_RETURN(auto bundles, t.ListFederatedBundles());
    EXPECT_EQ(bundles.size(), 1u);
    if (bundles.size() == 1) {
      EXPECT_EQ(bundles[0].bundle, "{\"v\":2}");
      EXPECT_EQ(bundles[0].updated_at, kNow + 5);
    }
    AZTP_ASSIGN_OR_RETURN(auto lists, t.ListFederatedRevocations());
    EXPECT_EQ(lists.size(), 1u);
    if (lists.size() == 1) {
      EXPECT_EQ(lists[0].trust_domain, "org-b.example");
      EXPECT_EQ(lists[0].list, "{\"sequence\":2}");
      EXPECT_EQ(lists[0].updated_at, kNow + 6);
    }
    return Ok();
  }));
  // Deleting a relationship deletes its bundle and revocation list;
  // deleting it again is kNotFound.
  ASSERT_OK(store->Write(
      [&](Transaction& t) { return t.DeleteFederation("org-b.example"); }));
  Status again = store->Write(
      [&](Transaction& t) { return t.DeleteFederation("org-b.example"); });
  EXPECT_EQ(again.error().code(), Code::kNotFound);
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto list, t.ListFederations());
    EXPECT_EQ(list.size(), 1u);
    AZTP_ASSIGN_OR_RETURN(auto bundles, t.ListFederatedBundles());
    EXPECT_TRUE(bundles.empty());
    AZTP_ASSIGN_OR_RETURN(auto lists, t.ListFederatedRevocations());
    EXPECT_TRUE(lists.empty());
    return Ok();
  }));
}

// Relationships stored before migration 7 have no revocations_url.
TEST(SqliteStoreTest, MigrationKeepsFederationsWithoutRevocationsUrl) {
  testing::TempDir dir("aztp_store_");
  const std::string path = dir.File("state.db");
  ASSERT_NE(MustOpen(path), nullptr);
  RawQuery(path,
           "DELETE FROM schema_version WHERE version = 7;"
           "DROP TABLE federated_revocations;"
           "ALTER TABLE federations DROP COLUMN revocations_url;"
           "INSERT INTO federations VALUES ('org-b.example', 'https://b/x',"
           " 'https_web', '', '', '', 10)");
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Read([](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto list, t.ListFederations());
    EXPECT_EQ(list.size(), 1u);
    if (list.size() == 1) {
      EXPECT_EQ(list[0].revocations_url, "");
    }
    AZTP_ASSIGN_OR_RETURN(auto lists, t.ListFederatedRevocations());
    EXPECT_TRUE(lists.empty());
    return Ok();
  }));
}

TEST(SqliteStoreTest, PoliciesAreVersionedAndAttached) {
  testing::TempDir dir("aztp_store_");
  auto store = MustOpen(dir.File("state.db"));
  ASSERT_NE(store, nullptr);
  PolicyRecord v1{"policy:0123456789ab", "payments", "quotes only", 1,
                  R"({"Statement":[]})", kNow,       kNow};
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity("spiffe://td/pay")));
    AZTP_RETURN_IF_ERROR(t.PutPolicy(v1));
    return t.AttachPolicy("spiffe://td/pay", v1.id, kNow);
  }));
  // A version must follow the current one; a name is unique.
  PolicyRecord v3 = v1;
  v3.version = 3;
  EXPECT_EQ(store->Write([&](Transaction& t) { return t.PutPolicy(v3); })
                .error()
                .code(),
            Code::kAlreadyExists);
  PolicyRecord other{
      "policy:ffffffffffff", "payments", "", 1, "{}", kNow, kNow};
  EXPECT_EQ(store->Write([&](Transaction& t) { return t.PutPolicy(other); })
                .error()
                .code(),
            Code::kAlreadyExists);
  PolicyRecord v2 = v1;
  v2.version = 2;
  v2.document = R"({"Statement":[1]})";
  v2.updated_at = kNow + 10;
  ASSERT_OK(store->Write([&](Transaction& t) { return t.PutPolicy(v2); }));
  EXPECT_EQ(store
                ->Write([&](Transaction& t) {
                  return t.AttachPolicy("spiffe://td/pay", v1.id, kNow);
                })
                .error()
                .code(),
            Code::kAlreadyExists);
  EXPECT_EQ(store
                ->Write([&](Transaction& t) {
                  return t.AttachPolicy("spiffe://td/none", v1.id, kNow);
                })
                .error()
                .code(),
            Code::kNotFound);
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto current, t.GetPolicy(v1.id));
    EXPECT_TRUE(current.has_value());
    if (current) {
      EXPECT_EQ(current->version, 2);
      EXPECT_EQ(current->document, v2.document);
      EXPECT_EQ(current->created_at, kNow);
      EXPECT_EQ(current->updated_at, kNow + 10);
    }
    AZTP_ASSIGN_OR_RETURN(auto first, t.GetPolicy(v1.id, 1));
    EXPECT_TRUE(first.has_value() && first->document == v1.document);
    AZTP_ASSIGN_OR_RETURN(auto none, t.GetPolicy(v1.id, 7));
    EXPECT_FALSE(none.has_value());
    AZTP_ASSIGN_OR_RETURN(auto all, t.ListPolicies());
    EXPECT_EQ(all.size(), 1u);
    AZTP_ASSIGN_OR_RETURN(auto attached,
                          t.ListAttachedPolicies("spiffe://td/pay"));
    EXPECT_EQ(attached.size(), 1u);
    if (!attached.empty()) {
      EXPECT_EQ(attached[0].version, 2);
    }
    AZTP_ASSIGN_OR_RETURN(auto who, t.ListPolicyAttachments(v1.id));
    EXPECT_EQ(who, std::vector<std::string>{"spiffe://td/pay"});
    return Ok();
  }));
  // Detach, then delete (which also drops remaining attachments).
  ASSERT_OK(store->Write([&](Transaction& t) {
    return t.DetachPolicy("spiffe://td/pay", v1.id);
  }));
  EXPECT_EQ(store
                ->Write([&](Transaction& t) {
                  return t.DetachPolicy("spiffe://td/pay", v1.id);
                })
                .error()
                .code(),
            Code::kNotFound);
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.AttachPolicy("spiffe://td/pay", v1.id, kNow));
    return t.DeletePolicy(v1.id);
  }));
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto attached,
                          t.ListAttachedPolicies("spiffe://td/pay"));
    EXPECT_TRUE(attached.empty());
    AZTP_ASSIGN_OR_RETURN(auto gone, t.GetPolicy(v1.id, 1));
    EXPECT_FALSE(gone.has_value());
    return Ok();
  }));
}

TEST(SqliteStoreTest, FlowsAndTheirMembers) {
  testing::TempDir dir("aztp_store_");
  auto store = MustOpen(dir.File("state.db"));
  ASSERT_NE(store, nullptr);
  FlowRecord f;
  f.id = "flow_0123";
  f.name = "checkout";
  f.tags = Json::array({"prod"});
  f.metadata = {{"k", "v"}};
  f.created_by = "apikey:ak_1";
  f.created_at = f.updated_at = kNow;
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity("spiffe://td/a")));
    AZTP_RETURN_IF_ERROR(t.PutFlow(f));
    return t.PutFlowMember({f.id, "spiffe://td/a", "active", "", kNow, kNow});
  }));
  // Unknown identities cannot join.
  EXPECT_FALSE(store->Write([&](Transaction& t) {
    return t.PutFlowMember({f.id, "spiffe://td/zz", "active", "", kNow, kNow});
  }));
  FlowRecord renamed = f;
  renamed.name = "checkout-v2";
  renamed.updated_at = kNow + 1;
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.PutFlow(renamed));
    return t.PutFlowMember(
        {f.id, "spiffe://td/a", "revoked", "left", kNow, kNow + 2});
  }));
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto got, t.GetFlow(f.id));
    EXPECT_TRUE(got.has_value());
    if (got) {
      EXPECT_EQ(got->name, "checkout-v2");
      EXPECT_EQ(got->tags, f.tags);
      EXPECT_EQ(got->metadata, f.metadata);
      EXPECT_EQ(got->created_at, kNow);
    }
    AZTP_ASSIGN_OR_RETURN(auto m, t.GetFlowMember(f.id, "spiffe://td/a"));
    EXPECT_TRUE(m.has_value() && m->status == "revoked" &&
                m->reason == "left" && m->added_at == kNow);
    AZTP_ASSIGN_OR_RETURN(auto flows, t.ListFlows());
    EXPECT_EQ(flows.size(), 1u);
    return Ok();
  }));
  ASSERT_OK(store->Write([&](Transaction& t) { return t.DeleteFlow(f.id); }));
  EXPECT_EQ(store->Write([&](Transaction& t) { return t.DeleteFlow(f.id); })
                .error()
                .code(),
            Code::kNotFound);
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto members, t.ListFlowMembers(f.id));
    EXPECT_TRUE(members.empty());
    return Ok();
  }));
}

}  // namespace
}  // namespace aztp

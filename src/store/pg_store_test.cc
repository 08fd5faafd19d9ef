// The PostgreSQL store against a real server (testing/pg_test_server.h):
// the conformance suite (store_conformance.h) instantiated on it, and what
// is particular to it: sealed private keys, its schema's versions, a lost
// connection, a deadlock run again, several stores (replicas) writing into
// one database, an unreachable server.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "aztp/audit/audit.h"
#include "aztp/base/bytes.h"
#include "aztp/store/store.h"
#include "store/pg_connection.h"
#include "store/pg_migrations.h"
#include "store/store_conformance.h"
#include "testing/pg_test_server.h"

namespace aztp::store_testing {
namespace {

SecretBytes Kek(char fill = 'k') { return SecretBytes(std::string(32, fill)); }

PgTestServer* Server() {
  Result<PgTestServer*> s = PgTestServer::Get();
  if (!s.has_value()) {
    ADD_FAILURE() << "no PostgreSQL test server: " << s.error().message();
    return nullptr;
  }
  return *s;
}

PostgresStoreOptions Options(PgTestServer& server, const std::string& db) {
  PostgresStoreOptions o;
  o.conninfo = server.StoreConninfo(db);
  o.password = server.StorePassword();
  o.key_encryption_key = Kek();
  o.connect_timeout = std::chrono::seconds(5);
  return o;
}

// PgBackend gives each test a database of its own.
class PgBackend : public StoreBackend {
 public:
  PgBackend() : server_(Server()) {
    if (server_ == nullptr) return;
    Result<std::string> db = server_->CreateDatabase();
    if (!db.has_value()) {
      ADD_FAILURE() << db.error().message();
      return;
    }
    db_ = *db;
  }
  ~PgBackend() override {
    if (server_ != nullptr && !db_.empty()) server_->DropDatabase(db_);
  }
  Result<std::unique_ptr<Store>> Open() override { return OpenWith({}); }
  Result<std::unique_ptr<Store>> OpenReadOnly() override {
    return OpenWith([](PostgresStoreOptions& o) { o.read_only = true; });
  }
  Result<std::unique_ptr<Store>> OpenWith(
      const std::function<void(PostgresStoreOptions&)>& change) {
    if (server_ == nullptr || db_.empty()) {
      return Error(Code::kUnavailable, "no test database");
    }
    PostgresStoreOptions o = Options(*server_, db_);
    if (change) change(o);
    return OpenPostgresStore(o);
  }
  PgTestServer& server() { return *server_; }
  const std::string& db() const { return db_; }

 private:
  PgTestServer* server_;
  std::string db_;
};

INSTANTIATE_TEST_SUITE_P(
    Postgres, StoreConformance,
    ::testing::Values(StoreBackendParam{
        "Postgres", [] { return std::make_unique<PgBackend>(); }}),
    [](const auto& info) { return std::string(info.param.name); });

std::unique_ptr<Store> MustOpen(
    PgBackend& b,
    const std::function<void(PostgresStoreOptions&)>& change = {}) {
  Result<std::unique_ptr<Store>> store = b.OpenWith(change);
  if (!store.has_value()) {
    ADD_FAILURE() << "open: " << store.error().message();
    return nullptr;
  }
  return std::move(store).value();
}

CaKeyRecord MakeKey(const std::string& id, const std::string& pem) {
  CaKeyRecord k;
  k.key_id = id;
  k.state = CaKeyRecord::State::kActive;
  k.chain_pem = "chain";
  k.key_pem = SecretBytes(pem);
  k.created_at = kNow;
  k.not_after = kNow + 3600;
  return k;
}

// The database never holds a private key in the clear; a sealed key read
// with another key-encryption key, or moved to another row, is refused.
TEST(PostgresStoreTest, PrivateKeysAreSealed) {
  PgBackend b;
  auto store = MustOpen(b);
  ASSERT_NE(store, nullptr);
  const std::string pem = "-----BEGIN PRIVATE KEY-----\nsecret-key-bytes\n";
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.PutCaKey(MakeKey("k1", pem)));
    return t.PutCaKey(MakeKey("k2", pem));
  }));
  auto raw = b.server().Admin(
      b.db(),
      "SELECT encode(key_pem, 'hex') FROM ca_keys WHERE key_id = "
      "'k1'::bytea");
  ASSERT_TRUE(raw.has_value()) << raw.error().message();
  EXPECT_EQ(raw->size(), 2 * (pem.size() + 29));
  EXPECT_EQ(raw->find(HexEncode(AsBytes("PRIVATE"))), std::string::npos);
  auto plain = b.server().Admin(
      b.db(),
      "SELECT count(*) FROM ca_keys WHERE position('PRIVATE'::bytea "
      "in key_pem) > 0");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(*plain, "0");

  // The same database read with the right key gives the keys back.
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(std::vector<CaKeyRecord> keys, t.ListCaKeys());
    EXPECT_EQ(keys.size(), 2u);
    for (const CaKeyRecord& k : keys)
      EXPECT_TRUE(k.key_pem == SecretBytes(pem));
    return Ok();
  }));
  // Another key-encryption key.
  auto other = MustOpen(
      b, [](PostgresStoreOptions& o) { o.key_encryption_key = Kek('x'); });
  ASSERT_NE(other, nullptr);
  Status s = other->Read(
      [](Transaction& t) -> Status { return t.ListCaKeys().error(); });
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message().find("does not unseal"), std::string::npos)
      << s.error().message();
  EXPECT_EQ(s.error().message().find("secret-key"), std::string::npos);
  // k2's sealed key copied into k1's row.
  ASSERT_TRUE(b.server()
                  .Admin(b.db(),
                         "UPDATE ca_keys SET key_pem = (SELECT key_pem FROM "
                         "ca_keys WHERE key_id = 'k2'::bytea) WHERE key_id = "
                         "'k1'::bytea")
                  .has_value());
  s = store->Read([](Transaction& t) -> Status {
    auto keys = t.ListCaKeys();
    return keys.has_value() ? Ok() : Status(keys.error());
  });
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message().find("\"k1\""), std::string::npos)
      << s.error().message();
  // What the row says about its key is bound too: another CA put in k2's
  // chain, or k2 turned from active to retired, and its key stays shut.
  for (const char* change :
       {"chain_pem = 'another CA'::bytea", "state = 'retired'::bytea",
        "not_after = not_after + 1"}) {
    ASSERT_OK(store->Write([&](Transaction& t) -> Status {
      AZTP_RETURN_IF_ERROR(t.DeleteCaKey("k1"));
      return t.PutCaKey(MakeKey("k2", pem));
    }));
    ASSERT_TRUE(b.server()
                    .Admin(b.db(), std::string("UPDATE ca_keys SET ") + change +
                                       " WHERE key_id = 'k2'::bytea")
                    .has_value());
    s = store->Read([](Transaction& t) -> Status {
      auto keys = t.ListCaKeys();
      return keys.has_value() ? Ok() : Status(keys.error());
    });
    EXPECT_FALSE(s.has_value()) << change;
    ASSERT_OK(store->Write([&](Transaction& t) -> Status {
      return t.PutCaKey(MakeKey("k1", pem));
    }));
  }
}

TEST(PostgresStoreTest, RefusesBadOptions) {
  PgBackend b;
  for (auto change : std::vector<std::function<void(PostgresStoreOptions&)>>{
           [](PostgresStoreOptions& o) {
             o.key_encryption_key = SecretBytes();
           },
           [](PostgresStoreOptions& o) { o.pool_size = 0; },
           [](PostgresStoreOptions& o) {
             o.statement_timeout = std::chrono::milliseconds(0);
           },
           [](PostgresStoreOptions& o) { o.conninfo = ""; },
           [](PostgresStoreOptions& o) { o.conninfo = "host='unterminated"; },
       }) {
    auto store = b.OpenWith(change);
    ASSERT_FALSE(store.has_value());
    EXPECT_EQ(store.error().code(), Code::kInvalidArgument)
        << store.error().message();
  }
  // A password belongs in its file, never in the connection string (which
  // ends up in configuration files and process listings), in either of its
  // forms: keyword, or the user-info of a URI.
  auto store = b.OpenWith([](PostgresStoreOptions& o) {
    o.conninfo += " password=hunter2-secret";
  });
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(store.error().message().find("hunter2"), std::string::npos);
  store = b.OpenWith([&](PostgresStoreOptions& o) {
    o.conninfo = "postgresql://aztp_store:hunter2-secret@127.0.0.1/" + b.db();
  });
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(store.error().message().find("hunter2"), std::string::npos);
  // A wrong password: unavailable, and the message does not quote it.
  store = b.OpenWith([](PostgresStoreOptions& o) {
    o.password = SecretBytes(std::string("wrong-password-value"));
  });
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), Code::kUnavailable);
  EXPECT_EQ(store.error().message().find("wrong-password-value"),
            std::string::npos);
}

// Nothing listens: the open fails at once, with the reason.
TEST(PostgresStoreTest, AnUnreachableServerFailsFast) {
  PostgresStoreOptions o;
  o.conninfo = "host=127.0.0.1 port=1 dbname=x user=x";
  o.key_encryption_key = Kek();
  const auto start = std::chrono::steady_clock::now();
  auto store = OpenPostgresStore(o);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), Code::kUnavailable);
  EXPECT_NE(store.error().message().find("cannot connect"), std::string::npos);
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(PostgresStoreTest, RefusesANewerSchema) {
  PgBackend b;
  ASSERT_NE(MustOpen(b), nullptr);
  ASSERT_TRUE(
      b.server()
          .Admin(b.db(), "INSERT INTO schema_version VALUES (99, 'future', 0)")
          .has_value());
  auto store = b.OpenWith({});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), Code::kUnsupported);
  EXPECT_NE(store.error().message().find("99"), std::string::npos);
  store = b.OpenWith([](PostgresStoreOptions& o) { o.read_only = true; });
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), Code::kUnsupported);
}

// A database left at each earlier schema version, with data in it, is
// brought to the latest and keeps its data.
TEST(PostgresStoreTest, MigratesFromEveryEarlierVersion) {
  ASSERT_GE(internal::LatestPostgresVersion(), 2);
  for (int version = 1; version < internal::LatestPostgresVersion();
       ++version) {
    PgBackend b;
    {
      PostgresStoreOptions o = Options(b.server(), b.db());
      auto conn = internal::PgConn::Open(
          {.conninfo = o.conninfo, .password = o.password});
      ASSERT_TRUE(conn.has_value()) << conn.error().message();
      ASSERT_OK(internal::MigratePostgres(**conn, version));
    }
    ASSERT_TRUE(b.server()
                    .Admin(b.db(),
                           "INSERT INTO identities VALUES ('spiffe://td/old', "
                           "NULL, 0, 1, '{}', '[]', 'active', '', 1, 2, NULL, "
                           "'')")
                    .has_value());
    ASSERT_TRUE(b.server()
                    .Admin(b.db(),
                           "INSERT INTO meta (name, \"value\") VALUES "
                           "('revocation_sequence'::bytea, 5)")
                    .has_value());
    auto store = MustOpen(b);
    ASSERT_NE(store, nullptr);
    ASSERT_OK(store->Write([version](Transaction& t) -> Status {
      AZTP_ASSIGN_OR_RETURN(auto old, t.GetIdentity("spiffe://td/old"));
      EXPECT_TRUE(old.has_value() && old->discoverable && old->updated_at == 2);
      EXPECT_EQ(t.ClaimOnce("k", kNow + 1, kNow).value(), true);
      // Revocation deltas start at the sequence of the upgrade.
      AZTP_ASSIGN_OR_RETURN(auto from, t.GetMeta("revocation_changes_from"));
      EXPECT_EQ(from, std::optional<int64_t>(5)) << "from version " << version;
      return Ok();
    }));
    auto n =
        b.server().Admin(b.db(), "SELECT max(version) FROM schema_version");
    ASSERT_TRUE(n.has_value());
    EXPECT_EQ(*n, std::to_string(internal::LatestPostgresVersion()))
        << "from version " << version;
  }
}

// A ticket's body (a login's PKCE verifier, a login's result) is sealed
// like a private key.
TEST(PostgresStoreTest, TicketBodiesAreSealed) {
  PgBackend b;
  auto store = MustOpen(b);
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Write([](Transaction& t) -> Status {
    TicketRecord r;
    r.kind = "login";
    r.key = "state";
    r.owner = "agent";
    r.body = SecretBytes(std::string("pkce-verifier-secret"));
    r.expires_at = kNow + 60;
    return t.PutTicket(r);
  }));
  auto clear = b.server().Admin(
      b.db(),
      "SELECT count(*) FROM tickets WHERE position('verifier'::bytea "
      "in body) > 0");
  ASSERT_TRUE(clear.has_value());
  EXPECT_EQ(*clear, "0");
  ASSERT_OK(store->Read([](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto got, t.GetTicket("login", "state", kNow));
    EXPECT_TRUE(got.has_value() &&
                got->body == SecretBytes(std::string("pkce-verifier-secret")));
    return Ok();
  }));
}

// A ticket's sealed body copied onto another ticket does not open there:
// the seal names the ticket it belongs to.
TEST(PostgresStoreTest, ATicketBodyMovedToAnotherRowDoesNotOpen) {
  PgBackend b;
  auto store = MustOpen(b);
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Write([](Transaction& t) -> Status {
    for (const char* key : {"mine", "theirs"}) {
      TicketRecord r;
      r.kind = "login_result";
      r.key = key;
      r.owner = key;
      r.body = SecretBytes(std::string("result of ") + key);
      r.expires_at = kNow + 60;
      AZTP_RETURN_IF_ERROR(t.PutTicket(r));
    }
    return Ok();
  }));
  ASSERT_TRUE(b.server()
                  .Admin(b.db(),
                         "UPDATE tickets SET body = (SELECT body FROM tickets "
                         "WHERE \"key\" = 'mine'::bytea) WHERE \"key\" = "
                         "'theirs'::bytea")
                  .has_value());
  Status s = store->Read([](Transaction& t) -> Status {
    auto got = t.GetTicket("login_result", "theirs", kNow);
    return got.has_value() ? Ok() : Status(got.error());
  });
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message().find("does not unseal"), std::string::npos);
  EXPECT_EQ(s.error().message().find("result of"), std::string::npos);
}

// Two replicas racing for one single-use claim (the same ID token
// exchanged at both at once): exactly one wins, whatever the timing.
TEST(PostgresStoreTest, RacingReplicasClaimOnce) {
  PgBackend b;
  auto first = MustOpen(b);
  auto second = MustOpen(b);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  for (int round = 0; round < 5; ++round) {
    const std::string key = "token-" + std::to_string(round);
    std::atomic<int> won{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
      Store& store = i % 2 ? *first : *second;
      threads.emplace_back([&] {
        bool mine = false;
        Status s = store.Write([&](Transaction& t) -> Status {
          AZTP_ASSIGN_OR_RETURN(mine, t.ClaimOnce(key, kNow + 60, kNow));
          return Ok();
        });
        if (s.has_value() && mine) ++won;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(won.load(), 1) << key;
  }
}

// A commit by one store wakes another store's WaitForChange on the same
// database at once, not at its timeout.
TEST(PostgresStoreTest, OtherReplicasHearOfACommit) {
  PgBackend b;
  auto writer = MustOpen(b);
  auto watcher = MustOpen(b);
  ASSERT_NE(writer, nullptr);
  ASSERT_NE(watcher, nullptr);
  // The first wait connects the listener and reports a change (what
  // happened before it listened is unknown).
  EXPECT_TRUE(watcher->WaitForChange(std::chrono::milliseconds(10)));
  EXPECT_FALSE(watcher->WaitForChange(std::chrono::milliseconds(50)));
  std::thread commit([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_TRUE(
        writer
            ->Write([](Transaction& t) -> Status { return t.PutMeta("x", 1); })
            .has_value());
  });
  const auto start = std::chrono::steady_clock::now();
  const bool heard = watcher->WaitForChange(std::chrono::seconds(10));
  const auto took = std::chrono::steady_clock::now() - start;
  commit.join();
  EXPECT_TRUE(heard);
  EXPECT_LT(took, std::chrono::seconds(5));
  // The listener's connection killed: the next wait says "changed" (after
  // reconnecting), never blocks for good.
  ASSERT_TRUE(b.server()
                  .Admin(b.db(),
                         "SELECT pg_terminate_backend(pid) FROM "
                         "pg_stat_activity WHERE query LIKE 'LISTEN%' AND "
                         "datname = current_database()")
                  .has_value());
  bool again = false;
  for (int i = 0; i < 5 && !again; ++i) {
    again = watcher->WaitForChange(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(again);
}

// Replicas starting together on an empty database migrate it once.
TEST(PostgresStoreTest, ConcurrentStartsMigrateOnce) {
  PgBackend b;
  std::vector<std::thread> threads;
  std::atomic<int> opened{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      if (b.OpenWith({}).has_value()) ++opened;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(opened.load(), 4);
  auto n = b.server().Admin(b.db(), "SELECT count(*) FROM schema_version");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, std::to_string(internal::LatestPostgresVersion()));
}

// The connection dies inside a Write: the Write fails as unavailable,
// nothing of it is kept, and the next one runs on a new connection.
TEST(PostgresStoreTest, AConnectionLostMidTransactionLosesNothingAcknowledged) {
  PgBackend b;
  auto store = MustOpen(b);
  ASSERT_NE(store, nullptr);
  Status s = store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity("spiffe://td/lost")));
    auto killed = b.server().Admin(
        b.db(),
        "SELECT count(pg_terminate_backend(pid)) FROM "
        "pg_stat_activity WHERE datname = current_database() AND "
        "pid <> pg_backend_pid()");
    EXPECT_TRUE(killed.has_value() && *killed != "0");
    return t.InsertIdentity(MakeIdentity("spiffe://td/after"));
  });
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), Code::kUnavailable) << s.error().message();
  ASSERT_OK(store->Write([](Transaction& t) -> Status {
    return t.InsertIdentity(MakeIdentity("spiffe://td/next"));
  }));
  ASSERT_OK(store->Read([](Transaction& t) -> Status {
    auto lost = t.GetIdentity("spiffe://td/lost");
    EXPECT_TRUE(lost.has_value() && !lost->has_value());
    auto next = t.GetIdentity("spiffe://td/next");
    EXPECT_TRUE(next.has_value() && next->has_value());
    return Ok();
  }));
}

// A deadlock with another session: PostgreSQL rolls the store's
// transaction back (it waited first, so its detector fires first) and the
// store runs it again, once.
TEST(PostgresStoreTest, ADeadlockIsRunAgain) {
  PgBackend b;
  auto store = MustOpen(b);
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Write([](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.PutMeta("a", 0));
    return t.PutMeta("b", 0);
  }));
  PGconn* other = b.server().AdminConn(b.db());
  ASSERT_EQ(PQstatus(other), CONNECTION_OK);
  auto exec = [&](const char* sql) {
    PGresult* r = PQexec(other, sql);
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok;
  };
  ASSERT_TRUE(exec("SET deadlock_timeout = '20s'"));
  ASSERT_TRUE(exec("BEGIN"));
  ASSERT_TRUE(exec("UPDATE meta SET \"value\" = 2 WHERE name = 'b'::bytea"));
  std::thread outsider;
  int runs = 0;
  Status s = store->Write([&](Transaction& t) -> Status {
    ++runs;
    AZTP_RETURN_IF_ERROR(t.PutMeta("a", 1));
    if (runs == 1) {
      outsider = std::thread([&] {
        // Once the store's session waits for row b (so its deadlock check,
        // 1 s into its wait, comes first), this one waits for the store's
        // row a: a deadlock; then this one goes on and commits.
        const std::string waiting =
            "SELECT count(*) FROM pg_stat_activity WHERE datname = '" + b.db() +
            "' AND wait_event_type = 'Lock'";
        for (int i = 0; i < 500; ++i) {
          auto n = b.server().Admin(b.db(), waiting);
          if (n.has_value() && *n != "0") break;
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        exec("UPDATE meta SET \"value\" = 2 WHERE name = 'a'::bytea");
        exec("COMMIT");
      });
    }
    return t.PutMeta("b", 1);
  });
  if (outsider.joinable()) outsider.join();
  PQfinish(other);
  ASSERT_OK(s);
  EXPECT_EQ(runs, 2);
  ASSERT_OK(store->Read([](Transaction& t) -> Status {
    EXPECT_EQ(t.GetMeta("a").value(), std::optional<int64_t>(1));
    EXPECT_EQ(t.GetMeta("b").value(), std::optional<int64_t>(1));
    return Ok();
  }));
}

// Three stores on one database, as three replicas: their audit records
// form one chain, every acknowledged write is there.
TEST(PostgresStoreTest, ReplicasWriteOneAuditChain) {
  PgBackend b;
  std::vector<std::unique_ptr<Store>> replicas;
  for (int i = 0; i < 3; ++i) replicas.push_back(MustOpen(b));
  for (auto& r : replicas) ASSERT_NE(r, nullptr);
  constexpr int kPerThread = 40;
  std::atomic<int> acknowledged{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      Store& store = *replicas[i % 3];
      for (int n = 0; n < kPerThread; ++n) {
        const std::string id =
            "spiffe://td/r" + std::to_string(i) + "/" + std::to_string(n);
        Status s = store.Write([&](Transaction& t) -> Status {
          AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity(id)));
          AZTP_RETURN_IF_ERROR(t.AppendAudit(MakeAudit("identity.create", id)));
          return Ok();
        });
        if (s.has_value()) ++acknowledged;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(acknowledged.load(), 6 * kPerThread);
  ASSERT_OK(replicas[1]->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(int64_t n, t.CountIdentities(std::nullopt));
    EXPECT_EQ(n, 6 * kPerThread);
    std::string prev = kAuditGenesis;
    int64_t seq = 0;
    for (int64_t after = 0;;) {
      AZTP_ASSIGN_OR_RETURN(std::vector<AuditRecord> page,
                            t.ListAudit(after, 1000));
      if (page.empty()) break;
      for (const AuditRecord& r : page) {
        EXPECT_EQ(r.seq, ++seq);
        EXPECT_EQ(r.prev, prev);
        EXPECT_EQ(AuditHash(r), r.hash);
        prev = r.hash;
      }
      after = page.back().seq;
    }
    EXPECT_EQ(seq, 6 * kPerThread);
    return Ok();
  }));
}

}  // namespace
}  // namespace aztp::store_testing

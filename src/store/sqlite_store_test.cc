// The SQLite store: what is particular to it (the file, its schema and
// migrations, durability across processes and crashes), and the
// conformance suite (store_conformance.h) instantiated on it.
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

#include "aztp/store/store.h"
#include "store/store_conformance.h"
#include "testing/temp_dir.h"

namespace aztp::store_testing {
namespace {

std::unique_ptr<Store> MustOpen(const std::string& path) {
  Result<std::unique_ptr<Store>> store = OpenSqliteStore(path);
  if (!store.has_value()) {
    ADD_FAILURE() << "open: " << store.error().message();
    return nullptr;
  }
  return std::move(store).value();
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

// SqliteBackend keeps the test's store in a file of its own.
class SqliteBackend : public StoreBackend {
 public:
  Result<std::unique_ptr<Store>> Open() override {
    return OpenSqliteStore(path_);
  }
  Result<std::unique_ptr<Store>> OpenReadOnly() override {
    return OpenSqliteStoreReadOnly(path_);
  }

 private:
  test_support::TempDir dir_{"aztp_store_"};
  std::string path_ = dir_.File("state.db");
};

INSTANTIATE_TEST_SUITE_P(
    Sqlite, StoreConformance,
    ::testing::Values(StoreBackendParam{
        "Sqlite", [] { return std::make_unique<SqliteBackend>(); }}),
    [](const auto& info) { return std::string(info.param.name); });

// SQL metacharacters in every column leave the file intact (the round trip
// itself is StoreConformance.SqlMetacharactersRoundTripUnchanged).
TEST(SqliteStoreTest, SqlMetacharactersLeaveTheFileIntact) {
  test_support::TempDir dir("aztp_store_");
  const std::string path = dir.File("state.db");
  const std::string utf8 = "it's \"quoted\"; DROP TABLE identities; -- %_ \\";
  Everything e = MakeEverything(utf8 + " \x01\x7f\xff", utf8);
  {
    auto store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    ASSERT_OK(
        store->Write([&](Transaction& t) { return PutEverything(t, e); }));
  }
  EXPECT_EQ(RawQuery(path, "PRAGMA integrity_check"),
            std::vector<std::string>{"ok"});
  EXPECT_EQ(RawQuery(path, "SELECT COUNT(*) FROM identities"),
            std::vector<std::string>{"2"});
}

// The proxy's local audit log is an ordinary store file: what
// OpenSqliteAuditLog writes, OpenSqliteStore (aztp audit --db) reads.
TEST(SqliteStoreTest, AuditLogIsAStoreFile) {
  test_support::TempDir dir("aztp_store_");
  const std::string path = dir.File("audit.db");
  {
    Result<std::unique_ptr<AuditLogStore>> log = OpenSqliteAuditLog(path);
    ASSERT_OK(log);
    ASSERT_OK((*log)->Write([](AuditLogTransaction& t) -> Status {
      AZTP_RETURN_IF_ERROR(t.AppendAudit(MakeAudit("proxy.request", "s1")));
      AZTP_RETURN_IF_ERROR(t.AppendAudit(MakeAudit("proxy.request", "s2")));
      return t.PutMeta("audit_acked", 1);
    }));
    // A failed write takes its audit record with it.
    EXPECT_FALSE((*log)->Write([](AuditLogTransaction& t) -> Status {
      AZTP_RETURN_IF_ERROR(t.AppendAudit(MakeAudit("proxy.request", "s3")));
      return Error(Code::kInternal, "no");
    }));
  }
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Read([](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto records, t.ListAudit(0, 10));
    EXPECT_EQ(records.size(), 2u);
    AuditChainChecker checker;
    for (const AuditRecord& r : records) checker.Add(r);
    EXPECT_TRUE(checker.ok()) << checker.reason();
    if (records.size() == 2) {
      EXPECT_EQ(records[1].subject, "s2");
    }
    AZTP_ASSIGN_OR_RETURN(auto acked, t.GetMeta("audit_acked"));
    EXPECT_EQ(acked, std::optional<int64_t>(1));
    return Ok();
  }));
}

TEST(SqliteStoreTest, CreatesAPrivateWalFileWithVersionedSchema) {
  test_support::TempDir dir("aztp_store_");
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
  EXPECT_EQ(
      RawQuery(path, "SELECT version FROM schema_version"),
      (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7", "8", "9"}));
  // Opening again applies nothing twice.
  for (int i = 0; i < 2; ++i) ASSERT_NE(MustOpen(path), nullptr);
  EXPECT_EQ(RawQuery(path, "SELECT COUNT(*) FROM schema_version"),
            std::vector<std::string>{"9"});
  const std::vector<std::string> tables = RawQuery(
      path,
      "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  EXPECT_EQ(tables, (std::vector<std::string>{"api_keys",
                                              "audit",
                                              "ca_keys",
                                              "claims",
                                              "federated_bundles",
                                              "federated_revocations",
                                              "federations",
                                              "flow_members",
                                              "flows",
                                              "identities",
                                              "leases",
                                              "links",
                                              "meta",
                                              "policies",
                                              "policy_attachments",
                                              "policy_versions",
                                              "revocation_changes",
                                              "schema_version",
                                              "shipped_audit",
                                              "svids",
                                              "tickets"}));
}

TEST(SqliteStoreTest, RefusesASchemaNewerThanItKnows) {
  test_support::TempDir dir("aztp_store_");
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
  test_support::TempDir dir("aztp_store_");
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
  test_support::TempDir dir("aztp_store_");
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

TEST(SqliteStoreTest, InMemoryStoreWorks) {
  auto store = MustOpen(":memory:");
  ASSERT_NE(store, nullptr);
  Everything e = MakeEverything("mem", "mem");
  ASSERT_OK(store->Write([&](Transaction& t) { return PutEverything(t, e); }));
  ExpectEverything(*store, e);
}

TEST(SqliteStoreTest, ForkedChildWritesWhileParentReads) {
  test_support::TempDir dir("aztp_store_");
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
          AZTP_ASSIGN_OR_RETURN(int64_t n, t.CountIdentities(std::nullopt));
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
      AZTP_ASSIGN_OR_RETURN(int64_t n, t.CountIdentities(std::nullopt));
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

// WriteUntilKilled is the child of KilledWriterLosesNoAcknowledgedWrite:
// it writes identities with their audit records and reports each write
// acknowledged (Write returned, so the commit is durable) on `fd`.
[[noreturn]] void WriteUntilKilled(const std::string& path, int round, int fd) {
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
    if (write(fd, &i, sizeof i) != static_cast<ssize_t>(sizeof i)) _exit(12);
  }
}

// AuditedSubjects reads the whole audit log, checking that seq counts up
// from 1, and returns the subjects.
std::set<std::string> AuditedSubjects(Store& store) {
  std::set<std::string> audited;
  int64_t after = 0;
  int64_t expected_seq = 1;
  while (true) {
    std::vector<AuditRecord> page;
    Status read = store.Read([&](Transaction& t) -> Status {
      AZTP_ASSIGN_OR_RETURN(page, t.ListAudit(after, 1000));
      return Ok();
    });
    EXPECT_TRUE(read.has_value());
    for (const AuditRecord& a : page) {
      EXPECT_EQ(a.seq, expected_seq++);
      audited.insert(a.subject);
    }
    if (page.empty()) break;
    after = page.back().seq;
  }
  return audited;
}

TEST(SqliteStoreTest, KilledWriterLosesNoAcknowledgedWrite) {
  test_support::TempDir dir("aztp_store_");
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
      WriteUntilKilled(path, round, fds[1]);
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
    const std::set<std::string> audited = AuditedSubjects(*store);
    for (const std::string& id : present) {
      EXPECT_EQ(audited.count(id), 1u) << id << " has no audit record";
    }
    EXPECT_EQ(static_cast<int64_t>(audited.size()), total_present);
    std::printf("[ crash    ] round %d: acknowledged %zu, present %zu\n", round,
                acked.size(), present.size());
  }
}

// Relationships stored before migration 7 have no revocations_url.
TEST(SqliteStoreTest, MigrationKeepsFederationsWithoutRevocationsUrl) {
  test_support::TempDir dir("aztp_store_");
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

// A store upgraded to migration 9 records revocation changes from the
// sequence it had: deltas start there (services/revocations.h).
TEST(SqliteStoreTest, MigrationStartsRevocationDeltasAtTheCurrentSequence) {
  test_support::TempDir dir("aztp_store_");
  const std::string path = dir.File("state.db");
  ASSERT_NE(MustOpen(path), nullptr);
  RawQuery(path,
           "DELETE FROM schema_version WHERE version = 9;"
           "DROP TABLE revocation_changes;"
           "INSERT INTO meta VALUES ('revocation_sequence', 12)");
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Read([](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto from, t.GetMeta("revocation_changes_from"));
    EXPECT_EQ(from, std::optional<int64_t>(12));
    AZTP_ASSIGN_OR_RETURN(auto changes, t.ListRevocationChanges(0, 10));
    EXPECT_TRUE(changes.empty());
    return Ok();
  }));
}

}  // namespace
}  // namespace aztp::store_testing

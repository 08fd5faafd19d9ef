#include "testing/pg_test_server.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

#include "aztp/base/bytes.h"
#include "aztp/crypto/digest.h"
#include "testing/source_dir.h"

namespace aztp::store_testing {
namespace {

constexpr const char* kStoreRole = "aztp_store";

Result<std::string> ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line.empty()) {
    return Error(Code::kIo, "pg test server: cannot read " + path);
  }
  return line;
}

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultCloser {
  void operator()(PGresult* r) const { PQclear(r); }
};

}  // namespace

Result<PgTestServer*> PgTestServer::Get() {
  static PgTestServer* server = nullptr;
  static Status started = [] {
    auto s = std::make_unique<PgTestServer>();
    Status st = s->Start();
    if (st.has_value()) server = s.release();
    return st;
  }();
  if (!started.has_value()) return started.error();
  return server;
}

Status PgTestServer::Ctl(const std::string& command) {
  const std::string line = std::string(test_support::SourceDir()) +
                           "/tests/pg/pgctl.sh " + command + " " + dir_;
  if (std::system(line.c_str()) != 0) {
    return Error(Code::kIo, "pg test server: pgctl.sh " + command + " failed");
  }
  return Ok();
}

Status PgTestServer::Start() {
  if (const char* dir = std::getenv("AZTP_TEST_PG_DIR"); dir && *dir) {
    dir_ = dir;
  } else {
    // Run by hand: a server of this process's own, gone at exit.
    std::string pattern = "/tmp/aztp_pg_XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      return Error(Code::kIo, "pg test server: mkdtemp failed");
    }
    dir_ = pattern;
    own_ = true;
    AZTP_RETURN_IF_ERROR(Ctl("start"));
    std::atexit([] {
      auto s = Get();
      if (!s.has_value() || !(*s)->own_) return;
      (void)(*s)->Ctl("stop");
      const std::string rm = "rm -rf " + (*s)->dir_;
      (void)std::system(rm.c_str());
    });
  }
  AZTP_ASSIGN_OR_RETURN(std::string port, ReadLine(dir_ + "/port"));
  AZTP_ASSIGN_OR_RETURN(admin_password_, ReadLine(dir_ + "/admin.password"));
  host_port_ = "host=127.0.0.1 port=" + port;
  // The store role's password follows from the admin's, so that every test
  // process sharing the server agrees on it.
  const Sha256Digest d = Sha256(AsBytes("aztp_store " + admin_password_));
  store_password_ = SecretBytes(HexEncode(d));
  return CreateStoreRole();
}

Status PgTestServer::CreateStoreRole() {
  const std::string exists = "SELECT count(*) FROM pg_roles WHERE rolname = '" +
                             std::string(kStoreRole) + "'";
  // Read in place (see SqliteDb::Configure): a string moved out of a
  // Result trips a wrong -Wmaybe-uninitialized in g++ 12 at -O1.
  Result<std::string> n = Admin("postgres", exists);
  if (!n) return n.error();
  if (*n == "1") return Ok();
  // Two processes may race here; the loser's CREATE fails, and the role
  // exists all the same.
  (void)Admin(
      "postgres",
      "CREATE ROLE " + std::string(kStoreRole) +
          " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '" +
          std::string(store_password_.View(InsecureSecretAccess::Get())) + "'");
  n = Admin("postgres", exists);
  if (!n) return n.error();
  if (*n != "1") return Error(Code::kIo, "pg test server: no store role");
  return Ok();
}

PGconn* PgTestServer::AdminConn(const std::string& db) {
  const std::string conninfo = host_port_ + " user=aztp_admin dbname=" + db +
                               " password=" + admin_password_;
  return PQconnectdb(conninfo.c_str());
}

Result<std::string> PgTestServer::Admin(const std::string& db,
                                        const std::string& sql) {
  std::unique_ptr<PGconn, ConnCloser> conn(AdminConn(db));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return Error(Code::kUnavailable,
                 std::string("pg test server: ") + PQerrorMessage(conn.get()));
  }
  std::unique_ptr<PGresult, ResultCloser> r(PQexec(conn.get(), sql.c_str()));
  const ExecStatusType st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return Error(Code::kIo, std::string("pg test server: ") +
                                PQresultErrorMessage(r.get()));
  }
  if (st == PGRES_TUPLES_OK && PQntuples(r.get()) > 0) {
    return std::string(PQgetvalue(r.get(), 0, 0));
  }
  return std::string();
}

Result<std::string> PgTestServer::CreateDatabase() {
  const std::string name =
      "aztp_t" + std::to_string(::getpid()) + "_" + std::to_string(++next_db_);
  AZTP_RETURN_IF_ERROR(Admin("postgres", "CREATE DATABASE " + name + " OWNER " +
                                             kStoreRole +
                                             " TEMPLATE template0"));
  return name;
}

void PgTestServer::DropDatabase(const std::string& name) {
  (void)Admin("postgres", "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
}

std::string PgTestServer::StoreConninfo(const std::string& db) const {
  return host_port_ + " user=" + kStoreRole + " dbname=" + db;
}

}  // namespace aztp::store_testing

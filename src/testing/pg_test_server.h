// The PostgreSQL server of the store's tests: a real one on 127.0.0.1,
// run by tests/pg/pgctl.sh. Under ctest it is started once for every test
// of the binary (the fixture `pg`, which sets AZTP_TEST_PG_DIR); a test run
// by hand starts its own in a temporary folder and stops it at exit.
//
// Each test gets databases of its own, owned by an ordinary role (not a
// superuser), as a deployment would give aztpd.
#pragma once

#include <libpq-fe.h>

#include <string>

#include "aztp/base/result.h"
#include "aztp/base/secret.h"

namespace aztp::store_testing {

class PgTestServer {
 public:
  // Get starts (once) or finds the server.
  static Result<PgTestServer*> Get();

  // CreateDatabase makes an empty database owned by the store's role and
  // returns its name.
  Result<std::string> CreateDatabase();
  void DropDatabase(const std::string& name);
  // StoreConninfo is the connection string of the store's role for `db`
  // (no password: StorePassword).
  std::string StoreConninfo(const std::string& db) const;
  SecretBytes StorePassword() const { return store_password_; }
  // Admin runs SQL as the superuser in `db`; the first column of the first
  // row, as text ("" when none).
  Result<std::string> Admin(const std::string& db, const std::string& sql);
  // AdminConn opens a superuser connection to `db` (caller PQfinish-es it).
  PGconn* AdminConn(const std::string& db);
  const std::string& dir() const { return dir_; }
  // Ctl runs pgctl.sh `command` (stop, kill, start, restart) on the server.
  Status Ctl(const std::string& command);

 private:
  Status Start();
  Status CreateStoreRole();
  std::string dir_;
  std::string host_port_;
  std::string admin_password_;
  SecretBytes store_password_;
  bool own_ = false;
  int next_db_ = 0;
};

}  // namespace aztp::store_testing

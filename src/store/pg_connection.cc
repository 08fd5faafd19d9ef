#include "store/pg_connection.h"

#include <openssl/crypto.h>
#include <poll.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <utility>

namespace aztp::internal {
namespace {

// Type OIDs of the integer results (PostgreSQL's pg_type catalog).
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;

std::string Prefix(std::string_view what) {
  return "store: " + std::string(what) + ": ";
}

// Given says whether a parsed connection string sets `key`.
bool Given(const PQconninfoOption* parsed, const char* key) {
  for (const PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (o->val != nullptr && std::strcmp(o->keyword, key) == 0) return true;
  }
  return false;
}

// FirstLine is the first line of a libpq message (its others are hints
// and context, sometimes quoting the statement).
std::string FirstLine(const char* message) {
  if (message == nullptr) return "unknown error";
  std::string_view m(message);
  m = m.substr(0, m.find('\n'));
  return std::string(m.empty() ? "unknown error" : m);
}

// Cause is what a failed connection says, without where it went (the
// database's host and address are not for API callers): the text after
// libpq's "connection to server at ... failed: ".
std::string Cause(const char* message) {
  std::string line = FirstLine(message);
  const std::size_t at = line.rfind("failed: ");
  if (at != std::string::npos) line = line.substr(at + 8);
  return line;
}

uint64_t BigEndian(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

bool ChangesRows(std::string_view sql) {
  const std::size_t start = sql.find_first_not_of(" \t\n");
  if (start == std::string_view::npos) return false;
  for (std::string_view verb : {"INSERT", "UPDATE", "DELETE"}) {
    if (sql.substr(start, verb.size()) == verb) return true;
  }
  return false;
}

// PgRow reads one row of a binary-format result.
class PgRow final : public SqlRow {
 public:
  void Set(const PGresult* result, int row) {
    result_ = result;
    row_ = row;
  }
  std::string Text(const char* column) const override {
    const int i = Index(column);
    if (i < 0 || PQgetisnull(result_, row_, i)) return {};
    return std::string(PQgetvalue(result_, row_, i),
                       static_cast<std::size_t>(PQgetlength(result_, row_, i)));
  }
  std::optional<std::string> OptionalText(const char* column) const override {
    const int i = Index(column);
    if (i < 0 || PQgetisnull(result_, row_, i)) return std::nullopt;
    return Text(column);
  }
  int64_t Int(const char* column) const override {
    const int i = Index(column);
    if (i < 0 || PQgetisnull(result_, row_, i)) return 0;
    const Oid type = PQftype(result_, i);
    const int n = PQgetlength(result_, row_, i);
    const bool fits =
        (type == kInt8Oid && n == 8) || (type == kInt4Oid && n == 4) ||
        (type == kInt2Oid && n == 2) || (type == kBoolOid && n == 1);
    if (!fits) {
      Fail("column " + QuoteInput(column) + " is not an integer");
      return 0;
    }
    // Sign-extend from the column's width.
    const uint64_t raw = BigEndian(PQgetvalue(result_, row_, i), n);
    const int shift = 64 - 8 * n;
    return static_cast<int64_t>(raw << shift) >> shift;
  }
  SecretBytes Secret(const char* column) const override {
    const int i = Index(column);
    if (i < 0 || PQgetisnull(result_, row_, i)) return SecretBytes();
    const int n = PQgetlength(result_, row_, i);
    if (n <= 0) return SecretBytes();
    return SecretBytes(std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(PQgetvalue(result_, row_, i)),
        static_cast<std::size_t>(n)));
  }
  Status status() const override {
    if (error_) return *error_;
    return Ok();
  }

 private:
  int Index(const char* column) const {
    const int i = PQfnumber(result_, column);
    if (i < 0) Fail("no column " + QuoteInput(column) + " in the result");
    return i;
  }
  void Fail(const std::string& message) const {
    if (!error_) error_ = Error(Code::kIo, "store: " + message);
  }

  const PGresult* result_ = nullptr;
  int row_ = 0;
  mutable std::optional<Error> error_;
};

class PgStatement final : public SqlStatement {
 public:
  PgStatement(PgConn& conn, std::string name, bool savepoint,
              std::optional<Error>* broken)
      : conn_(conn),
        name_(std::move(name)),
        savepoint_(savepoint),
        broken_(broken) {}

  void Text(std::string_view v) override {
    Bind(v.data() != nullptr ? v.data() : "", v.size(), /*binary=*/true);
  }
  void OptionalText(const std::optional<std::string>& v) override {
    if (v) {
      Text(*v);
    } else {
      Bind(nullptr, 0, /*binary=*/true);
    }
  }
  void Int(int64_t v) override {
    const std::string& text = numbers_.emplace_back(std::to_string(v));
    Bind(text.data(), text.size(), /*binary=*/false);
  }
  void Blob(std::span<const uint8_t> v) override {
    Bind(v.empty() ? "" : reinterpret_cast<const char*>(v.data()), v.size(),
         /*binary=*/true);
  }

  Result<bool> Step(std::string_view what) override {
    if (!result_) AZTP_RETURN_IF_ERROR(Execute(what));
    if (next_row_ >= PQntuples(result_.get())) return false;
    row_.Set(result_.get(), next_row_++);
    return true;
  }
  Status Run(std::string_view what) override {
    AZTP_RETURN_IF_ERROR(Execute(what));
    if (PQntuples(result_.get()) > 0) {
      return Broken(Error(Code::kIo, Prefix(what) + "unexpected row"));
    }
    return Ok();
  }
  int64_t Changes() const override {
    if (!result_) return 0;
    return std::strtoll(PQcmdTuples(result_.get()), nullptr, 10);
  }
  const SqlRow& row() const override { return row_; }

 private:
  void Bind(const char* data, std::size_t size, bool binary) {
    values_.push_back(data);
    lengths_.push_back(static_cast<int>(size));
    formats_.push_back(binary ? 1 : 0);
  }

  Status Execute(std::string_view what) {
    if (result_) return Ok();
    for (int length : lengths_) {
      if (length < 0) return Error(Code::kTooLarge, Prefix(what) + "too large");
    }
    if (savepoint_) {
      AZTP_RETURN_IF_ERROR(Recorded(conn_.Exec("SAVEPOINT aztp_stmt", what)));
    }
    result_.reset(PQexecPrepared(
        conn_.handle(), name_.c_str(), static_cast<int>(values_.size()),
        values_.data(), lengths_.data(), formats_.data(), /*resultFormat=*/1));
    const ExecStatusType status =
        result_ ? PQresultStatus(result_.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
      // Released at once: a transaction of many statements (an audit
      // shipment) must not pile up subtransactions.
      if (savepoint_) {
        return Recorded(conn_.Exec("RELEASE SAVEPOINT aztp_stmt", what));
      }
      return Ok();
    }
    Error e = conn_.Fail(result_.get(), what);
    result_.reset();
    const bool expected =
        e.code() == Code::kAlreadyExists || e.code() == Code::kInvalidArgument;
    if (expected && savepoint_) {
      // Back to before the statement: the transaction goes on.
      AZTP_RETURN_IF_ERROR(
          Recorded(conn_.Exec("ROLLBACK TO SAVEPOINT aztp_stmt", what)));
      return e;
    }
    return Broken(e);
  }

  Status Recorded(Status s) {
    if (!s.has_value()) return Broken(s.error());
    return s;
  }
  Error Broken(Error e) {
    if (broken_ != nullptr && !broken_->has_value()) *broken_ = e;
    return e;
  }

  PgConn& conn_;
  const std::string name_;
  const bool savepoint_;
  std::optional<Error>* broken_;
  std::deque<std::string> numbers_;  // stable addresses for values_
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
  PgResult result_;
  int next_row_ = 0;
  PgRow row_;
};

}  // namespace

Result<std::string> RenumberPlaceholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  char quote = 0;
  for (char c : sql) {
    if (quote != 0) {
      if (c == '?') {
        return Error(Code::kInternal, "store: a statement has ? in quotes");
      }
      if (c == quote) quote = 0;
      out.push_back(c);
    } else if (c == '\'' || c == '"') {
      quote = c;
      out.push_back(c);
    } else if (c == '?') {
      out += "$" + std::to_string(++n);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<std::unique_ptr<PgConn>> PgConn::Open(const PgConnectOptions& options) {
  char* parse_error = nullptr;
  PQconninfoOption* parsed =
      PQconninfoParse(options.conninfo.c_str(), &parse_error);
  if (parsed == nullptr) {
    std::string why = FirstLine(parse_error);
    PQfreemem(parse_error);
    return Error(
        Code::kInvalidArgument,
        "store: the PostgreSQL connection string does not parse: " + why);
  }
  std::vector<const char*> keys;
  std::vector<const char*> values;
  bool has_password = false;
  for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    if (std::strcmp(o->keyword, "password") == 0) has_password = true;
    keys.push_back(o->keyword);
    values.push_back(o->val);
  }
  if (has_password) {
    PQconninfoFree(parsed);
    return Error(Code::kInvalidArgument,
                 "store: the PostgreSQL connection string holds a password; "
                 "put it in a file and name that file instead");
  }
  // A server that goes silent (its host gone, packets dropped) must not
  // hold a thread for TCP's quarter of an hour: keepalives find a dead
  // peer within about 11 s, and unacknowledged writes give up after the
  // statement timeout; unless the connection string says otherwise.
  const std::string user_timeout = std::to_string(
      std::max<int64_t>(1000, options.statement_timeout.count()));
  for (const auto& [key, value] :
       {std::pair<const char*, const char*>{"keepalives", "1"},
        {"keepalives_idle", "5"},
        {"keepalives_interval", "2"},
        {"keepalives_count", "3"},
        {"tcp_user_timeout", user_timeout.c_str()}}) {
    if (!Given(parsed, key)) {
      keys.push_back(key);
      values.push_back(value);
    }
  }
  // libpq counts whole seconds.
  const std::string timeout = std::to_string(
      std::max<int64_t>(1, (options.connect_timeout.count() + 999) / 1000));
  keys.push_back("connect_timeout");
  values.push_back(timeout.c_str());
  keys.push_back("application_name");
  values.push_back("aztpd");
  std::string password;
  if (options.password) {
    password.assign(options.password->View(InsecureSecretAccess::Get()));
    keys.push_back("password");
    values.push_back(password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), 0);
  OPENSSL_cleanse(password.data(), password.size());
  PQconninfoFree(parsed);
  if (conn == nullptr) {
    return Error(Code::kUnavailable, "store: cannot reach PostgreSQL");
  }
  std::unique_ptr<PgConn> c(new PgConn(conn));
  // Notices (e.g. "already exists, skipping") are not errors; libpq would
  // print them on stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  if (PQstatus(conn) != CONNECTION_OK) {
    return Error(Code::kUnavailable, "store: cannot connect to PostgreSQL: " +
                                         Cause(PQerrorMessage(conn)));
  }
  const std::string settings =
      "SET statement_timeout = " +
      std::to_string(options.statement_timeout.count()) +
      "; SET idle_in_transaction_session_timeout = 60000"
      "; SET client_min_messages = warning";
  AZTP_RETURN_IF_ERROR(c->Exec(settings.c_str(), "configure the connection"));
  return c;
}

PgConn::~PgConn() { PQfinish(conn_); }

bool PgConn::Usable() const { return PQstatus(conn_) == CONNECTION_OK; }

bool PgConn::Idle() const { return PQtransactionStatus(conn_) == PQTRANS_IDLE; }

Status PgConn::Exec(const char* sql, std::string_view what) {
  PgResult r(PQexec(conn_, sql));
  const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return Ok();
  return Fail(r.get(), what);
}

Result<std::string> PgConn::Prepared(const std::string& sql) {
  auto it = prepared_.find(sql);
  if (it != prepared_.end()) return it->second;
  AZTP_ASSIGN_OR_RETURN(std::string text, RenumberPlaceholders(sql));
  std::string name = "aztp_" + std::to_string(prepared_.size() + 1);
  PgResult r(PQprepare(conn_, name.c_str(), text.c_str(), 0, nullptr));
  if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
    return Fail(r.get(), "prepare");
  }
  prepared_.emplace(sql, name);
  return name;
}

bool PgConn::WaitForNotice(std::chrono::milliseconds timeout) {
  auto drain = [this] {
    bool any = false;
    while (PGnotify* n = PQnotifies(conn_)) {
      any = true;
      PQfreemem(n);
    }
    return any;
  };
  if (PQconsumeInput(conn_) == 0) return true;
  if (drain()) return true;
  pollfd p{.fd = PQsocket(conn_), .events = POLLIN, .revents = 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  if (PQconsumeInput(conn_) == 0) return true;
  return drain();
}

void PgConn::EndAnyTransaction() {
  if (PQtransactionStatus(conn_) != PQTRANS_IDLE && Usable()) {
    PgResult r(PQexec(conn_, "ROLLBACK"));
  }
}

// Fail classifies a failure by its SQLSTATE (PostgreSQL's Appendix A).
Error PgConn::Fail(const PGresult* result, std::string_view what) {
  const std::string prefix = Prefix(what);
  if (!Usable()) {
    last_failure_ = PgFailure::kDisconnected;
    return Error(Code::kUnavailable,
                 prefix + "the connection to PostgreSQL was lost");
  }
  const char* field =
      result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string state = field ? field : "";
  const std::string message =
      FirstLine(result ? PQresultErrorMessage(result) : PQerrorMessage(conn_));
  if (state == "23505")
    return Error(Code::kAlreadyExists, prefix + "already exists");
  if (state == "23503") {
    // Most of the store's foreign keys name an identity (as in SQLite).
    return Error(Code::kInvalidArgument,
                 prefix + "refers to an unknown identity");
  }
  if (state.starts_with("23")) {
    return Error(Code::kInvalidArgument, prefix + message);
  }
  if (state == "40001" || state == "40P01") {
    last_failure_ = PgFailure::kRetry;
    return Error(Code::kUnavailable, prefix +
                                         "conflict with a concurrent "
                                         "transaction (" +
                                         state + ")");
  }
  if (state.starts_with("08") || state == "57P01" || state == "57P02" ||
      state == "57P03") {
    last_failure_ = PgFailure::kDisconnected;
    return Error(Code::kUnavailable,
                 prefix + "PostgreSQL is unavailable (" + state + ")");
  }
  if (state == "57014" || state == "55P03" || state.starts_with("53")) {
    return Error(Code::kUnavailable, prefix + message + " (" + state + ")");
  }
  return Error(Code::kIo,
               prefix + message + (state.empty() ? "" : " (" + state + ")"));
}

Result<std::unique_ptr<SqlStatement>> PgConnection::Statement(
    const std::string& sql, std::optional<Error>* broken) {
  AZTP_ASSIGN_OR_RETURN(std::string name, conn_.Prepared(sql));
  return std::unique_ptr<SqlStatement>(new PgStatement(
      conn_, std::move(name), writable_ && ChangesRows(sql), broken));
}

}  // namespace aztp::internal

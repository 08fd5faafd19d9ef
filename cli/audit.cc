// aztp audit verify|export|query: the hash-chained audit log
// (docs/audit.md), read from a SQLite file (aztpd's aztpd.db or a proxy's
// audit.db, offline) or from aztpd's API (admin keys).
#include "aztp/audit/audit.h"

#include <sys/stat.h>

#include <optional>

#include "aztp/base/file.h"
#include "aztp/policy/policy.h"
#include "aztp/store/store.h"
#include "command.h"

namespace aztp::cli {

namespace {

constexpr int kPage = 1000;
// An export to a file is written in chunks of about this many bytes.
constexpr std::size_t kWriteChunk = 64 << 10;

struct SourceFlags {
  ServerFlags server;
  std::string db;      // --db FILE: read the file instead of the API
  std::string source;  // --source ID: a proxy's shipped records
};

// SourceId reads --source: a proxy, named by its SPIFFE ID (the aztp://
// alias converted), as the shipped records name it.
Result<std::string> SourceId(const std::string& text) {
  auto id = SpiffeId::ParseUserInput(text);
  if (!id) {
    return Error(Code::kInvalidArgument,
                 QuoteInput(text) +
                     " is not a SPIFFE ID; a proxy ships its records as "
                     "spiffe://TRUST_DOMAIN/PATH");
  }
  return id->str();
}

// RecordedId reads --identity: a SPIFFE ID (the alias converted), or
// another name records use for who acted (an API key, an OIDC principal,
// aztpd itself); CheckAuditIdentity refuses what no record can name.
Result<std::string> RecordedId(const std::string& text) {
  if (auto id = SpiffeId::ParseUserInput(text)) return id->str();
  AZTP_RETURN_IF_ERROR(CheckAuditIdentity(text));
  return text;
}

void AddSourceFlags(CLI::App* cmd, SourceFlags& f) {
  cmd->add_option("--db", f.db,
                  "read this SQLite file (aztpd's aztpd.db or a proxy's "
                  "audit.db, opened read-only) instead of asking aztpd");
  cmd->add_option("--source", f.source,
                  "the records a proxy (this SPIFFE ID) shipped to aztpd")
      ->check(Checked(SourceId));
  AddServerFlags(cmd, f.server, /*api_key_required=*/true,
                 /*server_required=*/false);
}

// ForEach calls `fn` on every record in order, page by page, until it
// returns false; `filter` narrows what the server sends (a file's records
// are all passed on, for the caller to filter).
Status ForEach(SourceFlags& f, const AuditFilter& filter,
               const std::function<bool(const AuditRecord&)>& fn) {
  if (!f.source.empty()) {
    AZTP_ASSIGN_OR_RETURN(f.source, SourceId(f.source));
  }
  if (!f.db.empty()) {
    struct stat st;
    if (::stat(f.db.c_str(), &st) != 0) {
      return Error(Code::kNotFound, "no file " + QuoteInput(f.db));
    }
    AZTP_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenSqliteStore(f.db));
    if (!f.source.empty()) {
      AZTP_RETURN_IF_ERROR(store->Read(
          [&](Transaction& tx) { return CheckAuditSource(tx, f.source); }));
    }
    int64_t after = 0;
    while (true) {
      std::vector<AuditRecord> page;
      AZTP_RETURN_IF_ERROR(store->Read([&](Transaction& tx) -> Status {
        if (f.source.empty()) {
          AZTP_ASSIGN_OR_RETURN(page, tx.ListAudit(after, kPage));
        } else {
          AZTP_ASSIGN_OR_RETURN(page,
                                tx.ListShippedAudit(f.source, after, kPage));
        }
        return Ok();
      }));
      if (page.empty()) return Ok();
      for (const AuditRecord& r : page) {
        if (!fn(r)) return Ok();
      }
      after = page.back().seq;
    }
  }
  AZTP_ASSIGN_OR_RETURN(std::unique_ptr<Client> client, ClientFor(f.server));
  int64_t after = 0;
  while (true) {
    AZTP_ASSIGN_OR_RETURN(Client::AuditPage page,
                          client->ListAudit(after, kPage, filter, f.source));
    for (const AuditRecord& r : page.records) {
      if (!fn(r)) return Ok();
    }
    if (page.end || page.next <= after) return Ok();
    after = page.next;
  }
}

// ParseHead reads --expect-head SEQ:HASH.
Result<AuditHead> ParseHead(const std::string& text) {
  auto colon = text.find(':');
  if (colon == std::string::npos) {
    return Error(Code::kInvalidArgument, "--expect-head must be SEQ:HASH");
  }
  auto seq = ParseJson(text.substr(0, colon));
  if (!seq || !IsInteger(*seq) || *seq < 1) {
    return Error(Code::kInvalidArgument,
                 "--expect-head: SEQ must be a positive integer");
  }
  return AuditHead{seq->get<int64_t>(), text.substr(colon + 1)};
}

// ParseTime reads an RFC 3339 time or Unix seconds.
Result<std::optional<UnixTime>> ParseTime(const std::string& text,
                                          const char* flag) {
  if (text.empty()) return std::optional<UnixTime>();
  auto unix = ParseJson(text);
  if (unix && IsInteger(*unix)) {
    return std::optional<UnixTime>(unix->get<int64_t>());
  }
  auto t = ParseRfc3339(text);
  if (!t) {
    return Error(Code::kInvalidArgument,
                 std::string(flag) + " must be RFC 3339 or Unix seconds");
  }
  return std::optional<UnixTime>(t->seconds);
}

struct FilterFlags {
  std::string txn, identity, decision, action, since, until;
};

void AddFilterFlags(CLI::App* cmd, FilterFlags& f) {
  cmd->add_option("--txn", f.txn, "only this transaction");
  // Values no record can match are usage errors (CheckAuditFilter).
  cmd->add_option("--identity", f.identity,
                  "only records whose actor, subject or chain path is this")
      ->check(Checked(RecordedId));
  cmd->add_option("--decision", f.decision, "allow, deny or audit")
      ->check(Checked(CheckAuditDecision));
  cmd->add_option("--action", f.action,
                  "an action, or a prefix ending in '.' (\"proxy.\")")
      ->check(Checked(CheckAuditAction));
  cmd->add_option("--since", f.since, "at or after (RFC 3339 or Unix)");
  cmd->add_option("--until", f.until, "before (RFC 3339 or Unix)");
}

Result<AuditFilter> FilterFrom(const FilterFlags& f) {
  AuditFilter out;
  out.txn = f.txn;
  if (!f.identity.empty()) {
    AZTP_ASSIGN_OR_RETURN(out.identity, RecordedId(f.identity));
  }
  out.decision = f.decision;
  out.action = f.action;
  AZTP_ASSIGN_OR_RETURN(out.since, ParseTime(f.since, "--since"));
  AZTP_ASSIGN_OR_RETURN(out.until, ParseTime(f.until, "--until"));
  return out;
}

Result<Json> Verify(SourceFlags& f, const std::string& expect_head,
                    Context& ctx) {
  std::optional<AuditHead> expected;
  if (!expect_head.empty()) {
    AZTP_ASSIGN_OR_RETURN(AuditHead h, ParseHead(expect_head));
    expected = std::move(h);
  }
  AuditChainChecker checker;
  std::optional<std::string> expected_hash;
  AZTP_RETURN_IF_ERROR(ForEach(f, {}, [&](const AuditRecord& r) {
    checker.Add(r);
    if (checker.ok() && expected && r.seq == expected->seq) {
      expected_hash = r.hash;
    }
    return true;
  }));
  Json out{{"records", checker.checked()},
           {"head",
            Json{{"seq", checker.head().seq}, {"hash", checker.head().hash}}}};
  if (!checker.ok()) {
    out["valid"] = false;
    out["error"] = "tampered";
    out["bad_seq"] = *checker.bad_seq();
    out["message"] = checker.reason();
    ctx.exit_code = kExitInvalid;
    return out;
  }
  if (expected && (!expected_hash || *expected_hash != expected->hash)) {
    out["valid"] = false;
    out["error"] = "tampered";
    out["bad_seq"] = expected->seq;
    out["message"] = expected_hash ? "record " + std::to_string(expected->seq) +
                                         " differs from the expected head"
                                   : "record " + std::to_string(expected->seq) +
                                         " is missing: the log was cut short";
    ctx.exit_code = kExitInvalid;
    return out;
  }
  out["valid"] = true;
  return out;
}

// Export writes the matching records as JSON Lines: to a file, streamed
// through AtomicFile (an unpredictable temporary file renamed at the
// end), so that a reader never sees half an export; to stdout, buffered.
Result<Json> Export(SourceFlags& source, const FilterFlags& filters,
                    const std::string& out_file, Context& ctx) {
  AZTP_ASSIGN_OR_RETURN(AuditFilter filter, FilterFrom(filters));
  std::optional<AtomicFile> file;
  if (!out_file.empty()) {
    AZTP_ASSIGN_OR_RETURN(AtomicFile created, AtomicFile::Create(out_file));
    file.emplace(std::move(created));
  }
  std::string lines;
  Status written = Ok();
  int64_t n = 0;
  Status walked = ForEach(source, filter, [&](const AuditRecord& r) {
    if (!AuditMatches(filter, r)) return true;
    lines += DumpJson(AuditRecordJson(r)) + "\n";
    ++n;
    if (file && lines.size() >= kWriteChunk) {
      written = file->Write(lines);
      lines.clear();
    }
    return written.has_value();
  });
  AZTP_RETURN_IF_ERROR(walked);
  AZTP_RETURN_IF_ERROR(written);
  if (!file) {
    if (!lines.empty()) lines.pop_back();
    ctx.raw_output = lines;
    return Json::object();
  }
  AZTP_RETURN_IF_ERROR(file->Write(lines));
  AZTP_RETURN_IF_ERROR(file->Commit());
  return Json{{"records", n}, {"out", out_file}};
}

// Query returns at most `limit` matching records, oldest first.
Result<Json> Query(SourceFlags& source, const FilterFlags& filters, int limit) {
  AZTP_ASSIGN_OR_RETURN(AuditFilter filter, FilterFrom(filters));
  Json records = Json::array();
  AZTP_RETURN_IF_ERROR(ForEach(source, filter, [&](const AuditRecord& r) {
    if (AuditMatches(filter, r)) records.push_back(AuditRecordJson(r));
    return static_cast<int>(records.size()) < limit;
  }));
  return Json{{"records", std::move(records)}};
}

}  // namespace

void AddAuditCommands(CLI::App& app, Context& ctx) {
  auto* audit = app.add_subcommand(
      "audit", "verify, export and query the hash-chained audit log");
  audit->require_subcommand(1);

  auto verify_flags = std::make_shared<SourceFlags>();
  auto expect_head = std::make_shared<std::string>();
  auto* verify = audit->add_subcommand(
      "verify",
      "check that no record was edited, deleted, inserted or reordered");
  AddSourceFlags(verify, *verify_flags);
  verify->add_option("--expect-head", *expect_head,
                     "SEQ:HASH the log must contain (detects a cut tail)");
  verify->callback(Run(ctx, [&ctx, verify_flags, expect_head] {
    return Verify(*verify_flags, *expect_head, ctx);
  }));

  auto export_flags = std::make_shared<SourceFlags>();
  auto export_filter = std::make_shared<FilterFlags>();
  auto out_file = std::make_shared<std::string>();
  auto* exp = audit->add_subcommand(
      "export", "write records as JSON Lines (one record per line)");
  AddSourceFlags(exp, *export_flags);
  AddFilterFlags(exp, *export_filter);
  exp->add_option("--out", *out_file, "file to write (default: stdout)");
  exp->callback(Run(ctx, [&ctx, export_flags, export_filter, out_file] {
    return Export(*export_flags, *export_filter, *out_file, ctx);
  }));

  auto query_flags = std::make_shared<SourceFlags>();
  auto query_filter = std::make_shared<FilterFlags>();
  auto limit = std::make_shared<int>(100);
  auto* query = audit->add_subcommand(
      "query", "records matching every filter given, oldest first");
  AddSourceFlags(query, *query_flags);
  AddFilterFlags(query, *query_filter);
  query->add_option("--limit", *limit, "at most this many (default 100)")
      ->check(CLI::Range(1, 100000));
  query->callback(Run(ctx, [query_flags, query_filter, limit] {
    return Query(*query_flags, *query_filter, *limit);
  }));
}

}  // namespace aztp::cli

#include "aztp/audit/audit.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>

#include "testing/source_dir.h"

namespace aztp {
namespace {

std::vector<AuditRecord> MakeChain(int n) {
  std::vector<AuditRecord> out;
  std::string prev = kAuditGenesis;
  for (int i = 1; i <= n; ++i) {
    AuditRecord r;
    r.time = 1700000000 + i;
    r.actor = "spiffe://org-a.example/agents/planner";
    r.action = i % 2 ? "proxy.request" : "policy.authorize";
    r.subject = "spiffe://org-b.example/tools/payments";
    r.decision = i % 3 ? "allow" : "deny";
    r.reason = i % 3 ? "" : "capability_not_granted";
    r.txn = "txn-" + std::to_string(i % 2);
    r.details = {{"path", {"spiffe://org-a.example/agents/planner"}},
                 {"z", 1},
                 {"a", {{"y", true}, {"b", "é\n"}}}};
    SealAudit(r, i, prev);
    prev = r.hash;
    out.push_back(r);
  }
  return out;
}

struct CheckResult {
  bool ok;
  std::optional<int64_t> bad;
  std::string reason;
};

CheckResult Check(const std::vector<AuditRecord>& records) {
  AuditChainChecker c;
  for (const AuditRecord& r : records) c.Add(r);
  return {c.ok(), c.bad_seq(), c.reason()};
}

TEST(AuditTest, HashInputIsSortedCompactJson) {
  AuditRecord r;
  r.time = 5;
  r.action = "a";
  r.details = {{"b", 1}, {"a", {{"d", "x"}, {"c", "é"}}}};
  SealAudit(r, 1, kAuditGenesis);
  EXPECT_EQ(AuditHashInput(r),
            "{\"action\":\"a\",\"actor\":\"\",\"decision\":\"\",\"details\":"
            "{\"a\":{\"c\":\"é\",\"d\":\"x\"},\"b\":1},\"prev\":\"" +
                kAuditGenesis +
                "\",\"reason\":\"\",\"seq\":1,\"subject\":\"\",\"time\":5,"
                "\"txn\":\"\"}");
  // Fixed vector, computed independently with Python's json (sort_keys) and
  // hashlib: a change to the hash definition fails here.
  EXPECT_EQ(r.hash,
            "3e85441379c8aa19b64cfe8d627242784e00b89bde4e9115b3be7824bc9260ba");
}

TEST(AuditTest, IntactChainVerifies) {
  auto chain = MakeChain(10);
  CheckResult r = Check(chain);
  EXPECT_TRUE(r.ok) << r.reason;
  AuditChainChecker c;
  for (const AuditRecord& rec : chain) c.Add(rec);
  EXPECT_EQ(c.head().seq, 10);
  EXPECT_EQ(c.head().hash, chain.back().hash);
  EXPECT_EQ(c.checked(), 10);
}

TEST(AuditTest, EveryKindOfTamperingNamesTheFirstBadSeq) {
  struct Case {
    const char* name;
    std::function<void(std::vector<AuditRecord>&)> tamper;
    int64_t bad;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"edited decision", [](auto& c) { c[2].decision = "allow"; }, 3,
       "altered"},
      {"edited details", [](auto& c) { c[6].details["z"] = 2; }, 7, "altered"},
      {"edited time", [](auto& c) { c[0].time += 1; }, 1, "altered"},
      {"edited and rehashed",
       [](auto& c) {
         c[3].reason = "x";
         c[3].hash = AuditHash(c[3]);
       },
       5, "does not follow"},
      {"deleted", [](auto& c) { c.erase(c.begin() + 2); }, 3, "missing"},
      {"deleted and renumbered",
       [](auto& c) {
         c.erase(c.begin() + 2);
         for (std::size_t i = 2; i < c.size(); ++i) {
           c[i].seq = static_cast<int64_t>(i + 1);
         }
       },
       3, "does not follow"},
      {"inserted",
       [](auto& c) {
         AuditRecord extra = c[1];
         extra.reason = "forged";
         c.insert(c.begin() + 2, extra);
       },
       3, "out of order"},
      {"reordered", [](auto& c) { std::swap(c[5], c[6]); }, 6, "missing"},
      {"first record dropped", [](auto& c) { c.erase(c.begin()); }, 1,
       "missing"},
      {"prev edited", [](auto& c) { c[8].prev = kAuditGenesis; }, 9,
       "does not follow"},
  };
  for (const Case& tc : cases) {
    auto chain = MakeChain(10);
    tc.tamper(chain);
    CheckResult r = Check(chain);
    EXPECT_FALSE(r.ok) << tc.name;
    EXPECT_EQ(r.bad, tc.bad) << tc.name << ": " << r.reason;
    EXPECT_NE(r.reason.find(tc.reason), std::string::npos)
        << tc.name << ": " << r.reason;
  }
}

TEST(AuditTest, CheckingResumesFromAKnownHead) {
  auto chain = MakeChain(6);
  AuditChainChecker c(AuditHead{3, chain[2].hash});
  for (std::size_t i = 3; i < chain.size(); ++i) c.Add(chain[i]);
  EXPECT_TRUE(c.ok()) << c.reason();
  AuditChainChecker wrong(AuditHead{3, chain[1].hash});
  wrong.Add(chain[3]);
  EXPECT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.bad_seq(), 4);
}

TEST(AuditTest, JsonRoundTripsAndIsStrict) {
  auto chain = MakeChain(2);
  Json j = AuditRecordJson(chain[1]);
  auto back = AuditRecordFromJson(j);
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(AuditHash(*back), chain[1].hash);
  EXPECT_EQ(back->details, chain[1].details);

  const std::vector<std::pair<std::function<void(Json&)>, const char*>> bad = {
      {[](Json& v) { v.erase("txn"); }, "txn"},
      {[](Json& v) { v["extra"] = 1; }, "extra"},
      {[](Json& v) { v["seq"] = "1"; }, "seq"},
      {[](Json& v) { v["seq"] = 0; }, "seq"},
      {[](Json& v) { v["hash"] = "ABC"; }, "hash"},
      {[](Json& v) { v["prev"] = std::string(64, 'G'); }, "prev"},
      {[](Json& v) { v["details"] = Json::array(); }, "details"},
      {[](Json& v) { v["actor"] = std::string(5000, 'a'); }, "actor"},
  };
  for (const auto& [mutate, name] : bad) {
    Json copy = j;
    mutate(copy);
    auto r = AuditRecordFromJson(copy);
    EXPECT_FALSE(r.has_value()) << name;
    if (!r.has_value()) {
      EXPECT_NE(r.error().message().find(name), std::string::npos)
          << r.error().message();
    }
  }
  EXPECT_FALSE(AuditRecordFromJson(Json::array()).has_value());
}

TEST(AuditTest, FiltersSelectByEachField) {
  auto chain = MakeChain(6);
  auto count = [&](const AuditFilter& f) {
    int n = 0;
    for (const auto& r : chain) n += AuditMatches(f, r);
    return n;
  };
  EXPECT_EQ(count({}), 6);
  EXPECT_EQ(count({.txn = "txn-1"}), 3);
  EXPECT_EQ(count({.decision = "deny"}), 2);
  EXPECT_EQ(count({.action = "proxy."}), 3);
  EXPECT_EQ(count({.action = "proxy"}), 0);
  EXPECT_EQ(count({.action = "policy.authorize"}), 3);
  EXPECT_EQ(count({.since = 1700000003}), 4);
  EXPECT_EQ(count({.until = 1700000003}), 2);
  EXPECT_EQ(count({.identity = "spiffe://org-b.example/tools/payments"}), 6);
  // Found in the chain path, though neither actor nor subject.
  chain[0].actor = "x";
  EXPECT_EQ(count({.identity = "spiffe://org-a.example/agents/planner"}), 6);
  EXPECT_EQ(count({.identity = "spiffe://nobody"}), 0);
}

// Issue 13: `audit query --decision denied`, `--action proxy` and
// `--identity org-a.example/x` answered `{"records": []}`, exit 0: a value
// no record can match must be an error that names the valid one.
TEST(AuditTest, FilterValuesNoRecordCanMatchAreRefused) {
  EXPECT_TRUE(CheckAuditFilter({}).has_value());
  // Records also name API keys, OIDC principals and aztpd itself: those
  // stay valid filters (review: "what did API key X do" was refused).
  for (const char* who : {"spiffe://org-a.example/agents/x", "apikey:3f9a",
                          "oidc:https://login.example#alice", "aztpd"}) {
    EXPECT_TRUE(CheckAuditIdentity(who).has_value()) << who;
  }
  for (const char* typo :
       {"org-a.example/agents/x", "spiffe://Org-A/x",
        "spiffe:/org-a.example/x/", "aztp://org-a.example/x"}) {
    EXPECT_FALSE(CheckAuditIdentity(typo).has_value()) << typo;
  }
  for (const char* d : {"allow", "deny", "audit"}) {
    EXPECT_TRUE(CheckAuditDecision(d).has_value()) << d;
  }
  auto denied = CheckAuditDecision("denied");
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(denied.error().message(),
            "\"denied\" is not a decision; did you mean \"deny\"?");
  EXPECT_EQ(CheckAuditDecision("granted").error().message(),
            "\"granted\" is not a decision; write allow, deny or audit");
  EXPECT_FALSE(CheckAuditDecision("Allow").has_value());

  for (const char* a : {"proxy.", "identity.", "proxy.inbound",
                        "identity.revoke", "federation.revocations_failed"}) {
    EXPECT_TRUE(CheckAuditAction(a).has_value()) << a;
  }
  auto proxy = CheckAuditAction("proxy");
  ASSERT_FALSE(proxy.has_value());
  EXPECT_EQ(proxy.error().message(),
            "\"proxy\" is not an action; did you mean \"proxy.\"?");
  EXPECT_EQ(CheckAuditAction("identity.revok").error().message(),
            "\"identity.revok\" is not an action; did you mean "
            "\"identity.revoke\"?");
  auto far = CheckAuditAction("frobnicate");
  ASSERT_FALSE(far.has_value());
  EXPECT_NE(far.error().message().find("a prefix ending in '.' (ca., "
                                       "apikey., identity."),
            std::string::npos)
      << far.error().message();
  // Only whole families: "federation.revocations_" ends in no '.'.
  EXPECT_FALSE(CheckAuditAction("federation.revocations_").has_value());
  EXPECT_FALSE(CheckAuditAction("nosuch.").has_value());

  EXPECT_TRUE(CheckAuditIdentity("spiffe://org-a.example/agents/x"));
  EXPECT_TRUE(CheckAuditIdentity("spiffe://org-a.example"));
  auto bare = CheckAuditIdentity("org-a.example/agents/x");
  ASSERT_FALSE(bare.has_value());
  EXPECT_EQ(bare.error().message(),
            "\"org-a.example/agents/x\" is not a SPIFFE ID; records name "
            "identities as spiffe://TRUST_DOMAIN/PATH");
  // The alias is for user input; the CLI converts it before asking.
  EXPECT_FALSE(CheckAuditIdentity("aztp://org-a.example/agents/x"));
  EXPECT_FALSE(CheckAuditFilter({.decision = "denied"}).has_value());
  EXPECT_FALSE(CheckAuditFilter({.action = "proxy"}).has_value());
  EXPECT_FALSE(CheckAuditFilter({.identity = "org-a.example/x"}).has_value());
}

// AuditActions is the table of docs/audit.md: an action recorded but not
// listed could not be queried, one listed but never recorded would be a
// filter that is accepted and never matches.
TEST(AuditTest, ActionsAreTheDocumentedOnes) {
  std::ifstream in(std::string(test_support::SourceDir()) + "/docs/audit.md");
  ASSERT_TRUE(in) << "docs/audit.md";
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const std::size_t from = doc.find("\n## Actions");
  const std::size_t to = doc.find("\n## ", from + 1);
  ASSERT_NE(from, std::string::npos);
  // The first cell of each table row names one or more actions.
  std::set<std::string> documented;
  std::istringstream rows(doc.substr(from, to - from));
  const std::regex action("`([a-z]+\\.[a-z_]+)`");
  for (std::string row; std::getline(rows, row);) {
    if (row.rfind("| `", 0) != 0) continue;
    const std::string cell = row.substr(0, row.find(" |", 2));
    for (std::sregex_iterator it(cell.begin(), cell.end(), action), end;
         it != end; ++it) {
      documented.insert((*it)[1]);
    }
  }
  const std::set<std::string> listed(AuditActions().begin(),
                                     AuditActions().end());
  EXPECT_EQ(listed, documented);
  EXPECT_EQ(listed.size(), AuditActions().size()) << "listed twice";
}

TEST(AuditTest, OversizedRecordsAreBoundedToWhatCanBeShipped) {
  AuditRecord r = MakeChain(1)[0];
  r.txn = std::string(5000, 'x');
  r.reason = std::string(4094, 'a') + "\xc3\xa9\xc3\xa9";  // cut inside é
  r.details["big"] = std::string(70000, 'y');
  BoundAuditRecord(r);
  EXPECT_EQ(r.txn.size(), kMaxAuditFieldBytes);
  EXPECT_EQ(r.txn.substr(r.txn.size() - 3), "...");
  EXPECT_LE(r.reason.size(), kMaxAuditFieldBytes);
  EXPECT_TRUE(ParseJson(DumpJson(Json(r.reason))).has_value());
  EXPECT_EQ(r.details, Json({{"truncated", true}}));
  SealAudit(r, 1, kAuditGenesis);
  auto back = AuditRecordFromJson(AuditRecordJson(r));
  ASSERT_TRUE(back.has_value()) << back.error().message();
  // A record within the bounds is left as it is.
  AuditRecord small = MakeChain(1)[0];
  AuditRecord copy = small;
  BoundAuditRecord(copy);
  EXPECT_EQ(AuditHash(copy), AuditHash(small));
}

}  // namespace
}  // namespace aztp

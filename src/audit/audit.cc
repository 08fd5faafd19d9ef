#include "aztp/audit/audit.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "aztp/base/bytes.h"
#include "aztp/base/suggest.h"
#include "aztp/crypto/digest.h"
#include "aztp/spiffeid/spiffe_id.h"

namespace aztp {

const std::string kAuditGenesis(64, '0');

namespace {

constexpr std::size_t kMaxFieldBytes = kMaxAuditFieldBytes;
constexpr std::size_t kMaxDetailsBytes = kMaxAuditDetailsBytes;

// Sorted is `value` with object keys sorted at every level: nlohmann's
// default json keeps members in a std::map.
nlohmann::json Sorted(const Json& value) {
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, member] : value.items()) out[key] = Sorted(member);
    return out;
  }
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& element : value) out.push_back(Sorted(element));
    return out;
  }
  switch (value.type()) {
    case Json::value_t::string:
      return value.get<std::string>();
    case Json::value_t::boolean:
      return value.get<bool>();
    case Json::value_t::number_integer:
      return value.get<int64_t>();
    case Json::value_t::number_unsigned:
      return value.get<uint64_t>();
    case Json::value_t::number_float:
      return value.get<double>();
    default:
      return nullptr;
  }
}

bool IsHexHash(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string AuditHashInput(const AuditRecord& r) {
  nlohmann::json j = {{"seq", r.seq},
                      {"time", r.time},
                      {"actor", r.actor},
                      {"action", r.action},
                      {"subject", r.subject},
                      {"decision", r.decision},
                      {"reason", r.reason},
                      {"txn", r.txn},
                      {"details", Sorted(r.details)},
                      {"prev", r.prev}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string AuditHash(const AuditRecord& r) {
  const std::string input = AuditHashInput(r);
  Sha256Digest d = Sha256(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(input.data()), input.size()));
  return HexEncode(d);
}

void SealAudit(AuditRecord& r, int64_t seq, const std::string& prev_hash) {
  r.seq = seq;
  r.prev = prev_hash;
  r.hash = AuditHash(r);
}

AuditChainChecker::AuditChainChecker(AuditHead from) : head_(std::move(from)) {}

void AuditChainChecker::Add(const AuditRecord& r) {
  if (bad_seq_) return;
  ++checked_;
  const int64_t want = head_.seq + 1;
  auto fail = [&](int64_t seq, std::string why) {
    bad_seq_ = seq;
    reason_ = std::move(why);
  };
  if (r.seq != want) {
    fail(want, r.seq > want
                   ? "record " + std::to_string(want) +
                         " is missing (next is " + std::to_string(r.seq) + ")"
                   : "record " + std::to_string(r.seq) +
                         " is out of order (expected " + std::to_string(want) +
                         ")");
    return;
  }
  if (r.prev != head_.hash) {
    fail(r.seq, "record " + std::to_string(r.seq) + " does not follow record " +
                    std::to_string(head_.seq) +
                    " (prev does not match its hash)");
    return;
  }
  if (r.hash != AuditHash(r)) {
    fail(r.seq, "record " + std::to_string(r.seq) +
                    " was altered (its hash does not match its content)");
    return;
  }
  head_.seq = r.seq;
  head_.hash = r.hash;
}

Json AuditRecordJson(const AuditRecord& r) {
  return Json{
      {"seq", r.seq},       {"time", r.time},       {"actor", r.actor},
      {"action", r.action}, {"subject", r.subject}, {"decision", r.decision},
      {"reason", r.reason}, {"txn", r.txn},         {"details", r.details},
      {"prev", r.prev},     {"hash", r.hash}};
}

Result<AuditRecord> AuditRecordFromJson(const Json& j) {
  if (!j.is_object()) {
    return Error(Code::kMalformed, "audit record: not a JSON object");
  }
  if (j.size() != 11) {
    for (const auto& [key, value] : j.items()) {
      static const char* const kKnown[] = {
          "seq",    "time", "actor",   "action", "subject", "decision",
          "reason", "txn",  "details", "prev",   "hash"};
      bool known = false;
      for (const char* k : kKnown) known = known || key == k;
      if (!known) {
        return Error(Code::kMalformed,
                     "audit record: unknown member " + QuoteInput(key));
      }
    }
  }
  AuditRecord r;
  AZTP_ASSIGN_OR_RETURN(r.seq, GetInt(j, "seq"));
  AZTP_ASSIGN_OR_RETURN(r.time, GetInt(j, "time"));
  if (r.seq < 1) return Error(Code::kMalformed, "audit record: seq < 1");
  struct Field {
    const char* name;
    std::string* out;
  };
  for (Field f : {Field{"actor", &r.actor}, Field{"action", &r.action},
                  Field{"subject", &r.subject}, Field{"decision", &r.decision},
                  Field{"reason", &r.reason}, Field{"txn", &r.txn},
                  Field{"prev", &r.prev}, Field{"hash", &r.hash}}) {
    AZTP_ASSIGN_OR_RETURN(*f.out, GetString(j, f.name));
    if (f.out->size() > kMaxFieldBytes) {
      return Error(Code::kTooLarge,
                   std::string("audit record: ") + f.name + " exceeds 4 KiB");
    }
  }
  if (!IsHexHash(r.prev) || !IsHexHash(r.hash)) {
    return Error(Code::kMalformed,
                 "audit record: prev and hash must be 64 lowercase hex digits");
  }
  auto details = j.find("details");
  if (details == j.end() || !details->is_object()) {
    return Error(Code::kMalformed, "audit record: details must be an object");
  }
  if (DumpJson(*details).size() > kMaxDetailsBytes) {
    return Error(Code::kTooLarge, "audit record: details exceed 64 KiB");
  }
  r.details = *details;
  return r;
}

void BoundAuditRecord(AuditRecord& r) {
  for (std::string* field :
       {&r.actor, &r.action, &r.subject, &r.decision, &r.reason, &r.txn}) {
    if (field->size() <= kMaxFieldBytes) continue;
    std::size_t cut = kMaxFieldBytes - 3;
    // Back to the start of a UTF-8 sequence.
    while (cut > 0 &&
           (static_cast<unsigned char>((*field)[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    field->resize(cut);
    *field += "...";
  }
  if (DumpJson(r.details).size() > kMaxDetailsBytes) {
    r.details = Json{{"truncated", true}};
  }
}

bool AuditMatches(const AuditFilter& f, const AuditRecord& r) {
  if (!f.txn.empty() && r.txn != f.txn) return false;
  if (!f.decision.empty() && r.decision != f.decision) return false;
  if (!f.action.empty()) {
    const bool prefix = f.action.back() == '.';
    if (prefix ? r.action.rfind(f.action, 0) != 0 : r.action != f.action) {
      return false;
    }
  }
  if (f.since && r.time < *f.since) return false;
  if (f.until && r.time >= *f.until) return false;
  if (!f.identity.empty() && r.actor != f.identity && r.subject != f.identity) {
    auto path = r.details.find("path");
    if (path == r.details.end() || !path->is_array()) return false;
    bool found = false;
    for (const auto& hop : *path) {
      found = found ||
              (hop.is_string() && hop.get<std::string>() == f.identity) ||
              (hop.is_object() && hop.value("sub", "") == f.identity);
    }
    if (!found) return false;
  }
  return true;
}

const std::vector<std::string>& AuditDecisions() {
  static const std::vector<std::string> decisions = {"allow", "deny", "audit"};
  return decisions;
}

const std::vector<std::string>& AuditActions() {
  static const std::vector<std::string> actions = {
      "ca.create",
      "ca.prepare",
      "ca.activate",
      "ca.remove",
      "apikey.create",
      "apikey.revoke",
      "identity.register",
      "identity.update",
      "identity.link",
      "identity.revoke",
      "identity.reissue",
      "svid.issue",
      "svid.renew",
      "svid.jwt",
      "policy.create",
      "policy.update",
      "policy.delete",
      "policy.attach",
      "policy.detach",
      "policy.authorize",
      "person.root",
      "person.login",
      "flow.create",
      "flow.update",
      "flow.delete",
      "flow.add",
      "flow.remove",
      "flow.revoke",
      "flow.reissue",
      "federation.add",
      "federation.remove",
      "federation.updated",
      "federation.failed",
      "federation.rejected",
      "federation.revocations_updated",
      "federation.revocations_failed",
      "federation.revocations_rejected",
      "audit.ingest",
      "lease.acquire",
      "proxy.inbound",
      "proxy.egress",
  };
  return actions;
}

namespace {

// ActionFamilies are the prefixes an action filter may end in '.' at:
// "proxy.", "identity.", ... in the order of AuditActions.
std::vector<std::string> ActionFamilies() {
  std::vector<std::string> out;
  for (const std::string& a : AuditActions()) {
    std::string family = a.substr(0, a.find('.') + 1);
    if (std::find(out.begin(), out.end(), family) == out.end()) {
      out.push_back(family);
    }
  }
  return out;
}

// Unknown is the error for `value`, not one of `valid` (a `what`), with
// the nearest valid value when it is at most `limit` edits away.
Error Unknown(std::string_view value, std::string_view what,
              const std::vector<std::string>& valid, std::string_view list,
              std::size_t limit) {
  std::string message =
      QuoteInput(value) + " is not " + std::string(what) + "; ";
  if (auto near = Nearest(value, valid, limit)) {
    return Error(Code::kInvalidArgument,
                 message + "did you mean \"" + *near + "\"?");
  }
  return Error(Code::kInvalidArgument, message + "write " + std::string(list));
}

}  // namespace

Status CheckAuditDecision(std::string_view decision) {
  const auto& valid = AuditDecisions();
  if (std::find(valid.begin(), valid.end(), decision) != valid.end()) {
    return Ok();
  }
  // Three short, distinct words: "denied" (3 edits from "deny") and
  // "allowed" are what people write, and cannot be taken for another.
  const std::size_t limit =
      std::max(TypoDistance(decision), decision.size() / 2);
  return Unknown(decision, "a decision", valid, JoinWords(valid), limit);
}

Status CheckAuditAction(std::string_view action) {
  const auto& actions = AuditActions();
  const std::vector<std::string> families = ActionFamilies();
  if (std::find(actions.begin(), actions.end(), action) != actions.end() ||
      std::find(families.begin(), families.end(), action) != families.end()) {
    return Ok();
  }
  // Families first: "proxy" is nearer "proxy." than any proxy action.
  std::vector<std::string> valid = families;
  valid.insert(valid.end(), actions.begin(), actions.end());
  return Unknown(action, "an action", valid,
                 "an action such as identity.revoke, or a prefix ending in "
                 "'.' (" +
                     JoinWords(families) + ")",
                 TypoDistance(action));
}

// Records name SPIFFE IDs, but also API keys (`apikey:<id>`), OIDC
// principals (`oidc:<iss>#<sub>`) and aztpd's own actors, so only what
// looks like a mistyped SPIFFE ID is refused: a `spiffe:` value that does
// not parse, or a bare `trust-domain/path` without its scheme.
Status CheckAuditIdentity(std::string_view identity) {
  const bool uri =
      identity.rfind("spiffe:", 0) == 0 || identity.rfind("aztp:", 0) == 0;
  const bool bare_path = !uri && identity.find(':') == std::string_view::npos &&
                         identity.find('/') != std::string_view::npos;
  if ((!uri || SpiffeId::Parse(identity)) && !bare_path) return Ok();
  return Error(Code::kInvalidArgument,
               QuoteInput(identity) +
                   " is not a SPIFFE ID; records name identities as "
                   "spiffe://TRUST_DOMAIN/PATH");
}

Status CheckAuditFilter(const AuditFilter& f) {
  if (!f.decision.empty()) {
    AZTP_RETURN_IF_ERROR(CheckAuditDecision(f.decision));
  }
  if (!f.action.empty()) AZTP_RETURN_IF_ERROR(CheckAuditAction(f.action));
  if (!f.identity.empty()) {
    AZTP_RETURN_IF_ERROR(CheckAuditIdentity(f.identity));
  }
  return Ok();
}

}  // namespace aztp

#include "aztp/federation/bundle_poller.h"

#include <algorithm>

#include "aztp/http/address.h"
#include "aztp/http/http.h"

namespace aztp {

namespace {

constexpr std::size_t kMaxBundleResponse = 1 << 20;

// SplitUrl cuts "https://host[:port]/path" into base URL (as written) and
// target, both as http::ParseUrl reads them.
Result<std::pair<std::string, std::string>> SplitUrl(const std::string& url) {
  if (!url.starts_with("https://") || url.size() > 2048) {
    return Error(Code::kInvalidArgument,
                 "bundle endpoint URL must be https:// (at most 2048 bytes)");
  }
  auto parsed = http::ParseUrl(url);
  // '@' stays refused in the path too, as it always was here: a path such
  // as "/@evil.example" reads to a person like userinfo.
  if (!parsed || url.find('@') != std::string::npos) {
    return Error(
        Code::kInvalidArgument,
        "bundle endpoint URL " + QuoteInput(url) + " is not host[:port]/path");
  }
  std::string base = url.substr(0, url.size() - parsed->path_and_query.size());
  return std::pair{std::move(base), parsed->Target()};
}

bool SameEndpoint(const FederationRelationship& a,
                  const FederationRelationship& b) {
  return a.endpoint_url == b.endpoint_url && a.profile == b.profile &&
         a.endpoint_id == b.endpoint_id && a.web_ca_file == b.web_ca_file &&
         a.web_ca_pem == b.web_ca_pem;
}

// FetchDocument GETs `url` from `rel`'s endpoint: the server authenticated
// as the profile says (for https_spiffe, its SVID is `endpoint_id`
// verified against `trust`), no redirects, at most `max_bytes`. `what`
// names the document in errors.
Result<std::string> FetchDocument(const FederationRelationship& rel,
                                  const std::string& url,
                                  std::shared_ptr<const Bundle> trust,
                                  int timeout_seconds, const Clock& clock,
                                  std::size_t max_bytes,
                                  std::string_view what) {
  AZTP_RETURN_IF_ERROR(rel.Validate());
  AZTP_ASSIGN_OR_RETURN(auto split, SplitUrl(url));
  http::ClientOptions o;
  o.base_url = split.first;
  o.timeout_seconds = timeout_seconds;
  // Refused as it arrives, not after 64 MiB were read.
  o.max_response_bytes = max_bytes;
  o.clock = &clock;
  if (rel.profile == EndpointProfile::kHttpsSpiffe) {
    if (!trust) return Error(Code::kInvalidArgument, "no bundle to trust");
    auto set = std::make_shared<BundleSet>();
    set->Put(*trust);
    o.bundles = set;
    o.server_id = rel.endpoint_id;
  } else {
    o.ca_file = rel.web_ca_file;
    o.ca_pem = rel.web_ca_pem;
    o.system_cas = o.ca_file.empty() && o.ca_pem.empty();
  }
  AZTP_ASSIGN_OR_RETURN(auto client, http::Client::Create(std::move(o)));
  const std::string who(what);
  auto sent = client->Send("GET", split.second, "");
  if (!sent) return sent.error().WithContext(who);
  http::Response& resp = *sent;
  if (resp.status >= 300 && resp.status < 400) {
    return Error(Code::kUnavailable,
                 who + " answered a redirect, which is not followed");
  }
  if (resp.status != 200) {
    return Error(Code::kUnavailable,
                 who + " answered HTTP " + std::to_string(resp.status));
  }
  return std::move(resp.body);
}

// ForeignId returns the first ID of `list` outside `td`, if any.
std::optional<SpiffeId> ForeignId(const RevocationList& list,
                                  const TrustDomain& td) {
  for (const SpiffeId& id : list.ids()) {
    if (!id.MemberOf(td)) return id;
  }
  return std::nullopt;
}

}  // namespace

std::string_view PollResultName(PollEvent::Kind kind) {
  switch (kind) {
    case PollEvent::Kind::kUpdated:
      return "updated";
    case PollEvent::Kind::kUnchanged:
      return "unchanged";
    case PollEvent::Kind::kFailed:
      return "failed";
    case PollEvent::Kind::kRejected:
      return "rejected";
  }
  return "failed";
}

Result<PollEvent::Kind> ParsePollResult(std::string_view name) {
  for (auto kind : {PollEvent::Kind::kUpdated, PollEvent::Kind::kUnchanged,
                    PollEvent::Kind::kFailed, PollEvent::Kind::kRejected}) {
    if (PollResultName(kind) == name) return kind;
  }
  return Error(Code::kMalformed, "unknown fetch result " + QuoteInput(name));
}

Status FederationRelationship::Validate() const {
  AZTP_ASSIGN_OR_RETURN(auto endpoint, SplitUrl(endpoint_url));
  if (!revocations_url.empty()) {
    // The list comes over the same authenticated channel as the bundle:
    // the same server, so the same certificate checks apply to it.
    auto list = SplitUrl(revocations_url);
    if (!list || list->first != endpoint.first) {
      return Error(Code::kInvalidArgument,
                   "revocations_url must be an https:// URL on the host and "
                   "port of endpoint_url (" +
                       endpoint.first + ")");
    }
  }
  if (profile == EndpointProfile::kHttpsSpiffe) {
    if (!endpoint_id || !bootstrap_bundle || !web_ca_file.empty() ||
        !web_ca_pem.empty()) {
      return Error(Code::kInvalidArgument,
                   "https_spiffe needs an endpoint SPIFFE ID and a bootstrap "
                   "bundle, and no web CAs");
    }
    // The self-serving rule verifies each fetch with the domain's own
    // latest bundle, so the endpoint must belong to that domain.
    if (endpoint_id->trust_domain() != trust_domain ||
        bootstrap_bundle->trust_domain() != trust_domain) {
      return Error(Code::kInvalidArgument,
                   "the endpoint SPIFFE ID and the bootstrap bundle must "
                   "belong to " +
                       trust_domain.name());
    }
  } else if (endpoint_id || bootstrap_bundle) {
    return Error(Code::kInvalidArgument,
                 "https_web takes no endpoint SPIFFE ID or bootstrap bundle");
  } else if (!web_ca_file.empty() && !web_ca_pem.empty()) {
    return Error(Code::kInvalidArgument,
                 "https_web takes a web CA file or web CA PEM text, not both");
  }
  return Ok();
}

Result<Bundle> FetchBundle(const FederationRelationship& rel,
                           std::shared_ptr<const Bundle> trust,
                           int timeout_seconds, const Clock& clock) {
  AZTP_ASSIGN_OR_RETURN(
      std::string body,
      FetchDocument(rel, rel.endpoint_url, std::move(trust), timeout_seconds,
                    clock, kMaxBundleResponse, "bundle endpoint"));
  return Bundle::Parse(rel.trust_domain, body);
}

Result<RevocationList> FetchRevocations(const FederationRelationship& rel,
                                        std::shared_ptr<const Bundle> trust,
                                        int timeout_seconds,
                                        const Clock& clock) {
  if (rel.revocations_url.empty()) {
    return Error(Code::kInvalidArgument, "the federation with " +
                                             rel.trust_domain.name() +
                                             " has no revocations_url");
  }
  AZTP_ASSIGN_OR_RETURN(
      std::string body,
      FetchDocument(rel, rel.revocations_url, std::move(trust), timeout_seconds,
                    clock, RevocationList::kMaxBytes,
                    "revocation list endpoint"));
  return RevocationList::Parse(body);
}

BundlePoller::BundlePoller(BundleFetcher fetch,
                           RevocationFetcher fetch_revocations,
                           PollerOptions options)
    : fetch_(std::move(fetch)),
      fetch_revocations_(std::move(fetch_revocations)),
      options_(options) {}

Status BundlePoller::Set(std::vector<FederationRelationship> relationships) {
  std::map<TrustDomain, Entry> next;
  for (auto& rel : relationships) {
    AZTP_RETURN_IF_ERROR(rel.Validate());
    if (next.count(rel.trust_domain) != 0) {
      return Error(Code::kAlreadyExists,
                   "two relationships for " + rel.trust_domain.name());
    }
    next.emplace(rel.trust_domain, Entry{rel, nullptr, rel.bootstrap_bundle});
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [td, e] : next) {
    // An unchanged relationship keeps what it fetched (and so, for
    // https_spiffe, its latest trust) and its fetch history (consecutive
    // failures, which drive the backoff, last event and time); a changed
    // one starts over.
    auto old = entries_.find(td);
    if (old != entries_.end() && SameEndpoint(old->second.rel, e.rel)) {
      e.bundle = old->second.bundle;
      e.trust = old->second.trust;
      e.next_due = old->second.next_due;
      e.failures = old->second.failures;
      e.last_event = old->second.last_event;
      e.last_fetch = old->second.last_fetch;
      // The list is kept only from the very same publisher's URL.
      if (old->second.rel.revocations_url == e.rel.revocations_url) {
        e.revocations = old->second.revocations;
        e.revocations_event = old->second.revocations_event;
        e.revocations_fetch = old->second.revocations_fetch;
      }
    }
  }
  entries_ = std::move(next);
  return Ok();
}

std::vector<FederationRelationship> BundlePoller::relationships() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<FederationRelationship> out;
  for (const auto& [td, e] : entries_) out.push_back(e.rel);
  return out;
}

int64_t BundlePoller::RefreshAfter(const Bundle& b) const {
  int64_t hint = b.refresh_hint().value_or(options_.default_refresh_seconds);
  return std::clamp(hint, options_.min_refresh_seconds,
                    options_.max_refresh_seconds);
}

std::vector<PollEvent> BundlePoller::RunDue(UnixTime now, bool force) {
  return Run(now, [&](const Entry& e) { return force || now >= e.next_due; });
}

Result<std::vector<PollEvent>> BundlePoller::Refresh(const TrustDomain& td,
                                                     UnixTime now) {
  auto events =
      Run(now, [&](const Entry& e) { return e.rel.trust_domain == td; });
  if (events.empty()) {
    return Error(Code::kNotFound, "no federation with " + td.name());
  }
  return events;
}

Status BundlePoller::Seed(std::shared_ptr<const Bundle> bundle) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(bundle->trust_domain());
  if (it == entries_.end()) {
    return Error(Code::kNotFound,
                 "no federation with " + bundle->trust_domain().name());
  }
  Entry& e = it->second;
  // The stored copy was accepted by a fetch (this process's before a
  // restart, or another replica's): it replaces what is in force unless it
  // is older by sequence, or the same. A partner that numbers no bundle
  // is followed too.
  const bool older = e.bundle && bundle->sequence() && e.bundle->sequence() &&
                     *bundle->sequence() < *e.bundle->sequence();
  const bool same = e.bundle && *e.bundle == *bundle;
  if (!older && !same) {
    e.bundle = bundle;
    e.trust = std::move(bundle);
  }
  return Ok();
}

Status BundlePoller::SeedRevocations(
    const TrustDomain& td, std::shared_ptr<const RevocationList> list) {
  if (auto foreign = ForeignId(*list, td)) {
    return Error(Code::kInvalidArgument, "a revocation list of " + td.name() +
                                             " names " + foreign->str());
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(td);
  if (it == entries_.end() || it->second.rel.revocations_url.empty()) {
    return Error(Code::kNotFound,
                 "no federation with " + td.name() + " has a revocations_url");
  }
  Entry& e = it->second;
  if (!e.revocations || list->sequence() > e.revocations->sequence()) {
    e.revocations = std::move(list);
  }
  return Ok();
}

std::vector<RelationshipState> BundlePoller::States() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<RelationshipState> out;
  for (const auto& [td, e] : entries_) {
    out.push_back({e.rel, e.bundle, e.next_due, e.failures, e.last_event,
                   e.last_fetch, e.revocations, e.revocations_event,
                   e.revocations_fetch});
  }
  return out;
}

BundlePoller::Entry* BundlePoller::Configured(
    const FederationRelationship& rel) {
  auto it = entries_.find(rel.trust_domain);
  if (it == entries_.end() || !SameEndpoint(it->second.rel, rel) ||
      it->second.rel.revocations_url != rel.revocations_url) {
    return nullptr;  // removed or changed meanwhile
  }
  return &it->second;
}

std::vector<PollEvent> BundlePoller::Run(
    UnixTime now, const std::function<bool(const Entry&)>& pick) {
  // Take the due work under the lock, fetch without it, then apply.
  std::vector<std::pair<FederationRelationship, std::shared_ptr<const Bundle>>>
      due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [td, e] : entries_) {
      if (pick(e)) due.emplace_back(e.rel, e.trust);
    }
  }
  std::vector<PollEvent> events;
  for (const auto& [rel, trust] : due) {
    auto fetched = fetch_(rel, trust);
    std::shared_ptr<const Bundle> next_trust;
    {
      std::lock_guard<std::mutex> lock(mu_);
      Entry* e = Configured(rel);
      if (e == nullptr) continue;
      events.push_back(ApplyBundle(*e, std::move(fetched), now));
      next_trust = e->trust;
    }
    if (rel.revocations_url.empty() || !fetch_revocations_) continue;
    // Right after the bundle, authenticated by the bundle now in force.
    auto list = fetch_revocations_(rel, next_trust);
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = Configured(rel);
    if (e == nullptr) continue;
    events.push_back(ApplyRevocations(*e, std::move(list), now));
  }
  return events;
}

PollEvent BundlePoller::ApplyBundle(Entry& e, Result<Bundle> fetched,
                                    UnixTime now) const {
  PollEvent ev{e.rel.trust_domain,
               PollEvent::Kind::kFailed,
               std::nullopt,
               std::nullopt,
               "",
               ""};
  if (e.bundle) ev.old_sequence = e.bundle->sequence();
  e.last_fetch = now;
  if (!fetched) {
    ev.reason = std::string(fetched.error().reason());
    ev.message = fetched.error().message();
    ++e.failures;
    const int64_t backoff = options_.retry_seconds
                            << std::min<int64_t>(e.failures - 1, 6);
    e.next_due = now + std::min(backoff, options_.max_refresh_seconds);
    e.last_event = ev;
    return ev;
  }
  e.failures = 0;
  ev.new_sequence = fetched->sequence();
  const Bundle* current = e.bundle.get();
  if (current != nullptr && *fetched == *current) {
    ev.kind = PollEvent::Kind::kUnchanged;
    e.next_due = now + RefreshAfter(*current);
  } else if (current != nullptr && current->sequence() &&
             (!fetched->sequence() ||
              *fetched->sequence() <= *current->sequence())) {
    // A missing, older or reused sequence never replaces what we have.
    ev.kind = PollEvent::Kind::kRejected;
    ev.reason = !fetched->sequence() ? "sequence_missing"
                : *fetched->sequence() < *current->sequence()
                    ? "sequence_rollback"
                    : "sequence_reused";
    ev.message = "kept sequence " + std::to_string(*current->sequence());
    e.next_due = now + RefreshAfter(*current);
  } else {
    ev.kind = PollEvent::Kind::kUpdated;
    auto fresh = std::make_shared<const Bundle>(std::move(*fetched));
    e.bundle = fresh;
    e.trust = fresh;  // the self-serving rule: trust the latest
    e.next_due = now + RefreshAfter(*fresh);
  }
  e.last_event = ev;
  return ev;
}

PollEvent BundlePoller::ApplyRevocations(Entry& e,
                                         Result<RevocationList> fetched,
                                         UnixTime now) {
  PollEvent ev{e.rel.trust_domain,
               PollEvent::Kind::kFailed,
               std::nullopt,
               std::nullopt,
               "",
               "",
               /*revocations=*/true};
  const RevocationList* current = e.revocations.get();
  if (current != nullptr) ev.old_sequence = current->sequence();
  e.revocations_fetch = now;
  if (!fetched) {
    ev.reason = std::string(fetched.error().reason());
    ev.message = fetched.error().message();
    e.revocations_event = ev;
    return ev;
  }
  ev.new_sequence = fetched->sequence();
  if (auto foreign = ForeignId(*fetched, e.rel.trust_domain)) {
    // A federated domain may revoke its own identities only.
    ev.kind = PollEvent::Kind::kRejected;
    ev.reason = "foreign_id";
    ev.message = "the list names " + foreign->str() + ", not an identity of " +
                 e.rel.trust_domain.name();
  } else if (current != nullptr && fetched->sequence() < current->sequence()) {
    // An older list would bring revoked identities back.
    ev.kind = PollEvent::Kind::kRejected;
    ev.reason = "sequence_rollback";
    ev.message = "kept sequence " + std::to_string(current->sequence());
  } else if (current != nullptr && *fetched == *current) {
    ev.kind = PollEvent::Kind::kUnchanged;
  } else {
    ev.kind = PollEvent::Kind::kUpdated;
    e.revocations = std::make_shared<const RevocationList>(std::move(*fetched));
  }
  e.revocations_event = ev;
  return ev;
}

BundleSet BundlePoller::Bundles() const {
  std::lock_guard<std::mutex> lock(mu_);
  BundleSet set;
  for (const auto& [td, e] : entries_) {
    if (e.bundle) set.Put(*e.bundle);
  }
  return set;
}

std::map<TrustDomain, std::shared_ptr<const RevocationList>>
BundlePoller::RevocationLists() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<TrustDomain, std::shared_ptr<const RevocationList>> out;
  for (const auto& [td, e] : entries_) {
    if (e.revocations) out.emplace(td, e.revocations);
  }
  return out;
}

std::optional<UnixTime> BundlePoller::NextDue() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<UnixTime> next;
  for (const auto& [td, e] : entries_) {
    if (!next || e.next_due < *next) next = e.next_due;
  }
  return next;
}

}  // namespace aztp

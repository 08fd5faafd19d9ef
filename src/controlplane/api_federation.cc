// Federation routes (docs/federation.md): the relationships with other trust
// domains, from the configuration file or added through the API, their
// fetch state, the per-identity view of the bundle set and the revocation
// lists of every domain held.
#include <algorithm>
#include <set>

#include "api.h"
#include "audit.h"

namespace aztp {

using internal::Appended;
using internal::BadRequest;
using internal::MakeAudit;

namespace internal {

Result<FederationRelationship> RelationshipFromRecord(
    const FederationRecord& r) {
  AZTP_ASSIGN_OR_RETURN(TrustDomain td, TrustDomain::Parse(r.trust_domain));
  FederationRelationship rel{td};
  rel.endpoint_url = r.endpoint_url;
  AZTP_ASSIGN_OR_RETURN(rel.profile, ParseEndpointProfile(ToString(r.profile)));
  if (!r.endpoint_id.empty()) {
    AZTP_ASSIGN_OR_RETURN(rel.endpoint_id, SpiffeId::Parse(r.endpoint_id));
  }
  if (!r.bootstrap_bundle.empty()) {
    AZTP_ASSIGN_OR_RETURN(Bundle boot, Bundle::Parse(td, r.bootstrap_bundle));
    rel.bootstrap_bundle = std::make_shared<const Bundle>(std::move(boot));
  }
  rel.web_ca_pem = r.web_ca_pem;
  rel.revocations_url = r.revocations_url;
  AZTP_RETURN_IF_ERROR(rel.Validate());
  return rel;
}

std::unique_ptr<BundlePoller> MakePoller(const ControlPlaneOptions& o) {
  const Clock* clock = o.clock;
  const int timeout = o.federation_fetch_timeout_seconds;
  BundleFetcher fetch = o.fetcher;
  if (!fetch) {
    fetch = [clock, timeout](const FederationRelationship& rel,
                             std::shared_ptr<const Bundle> trust) {
      return FetchBundle(rel, std::move(trust), timeout, *clock);
    };
  }
  RevocationFetcher fetch_revocations = o.revocations_fetcher;
  if (!fetch_revocations) {
    fetch_revocations = [clock, timeout](const FederationRelationship& rel,
                                         std::shared_ptr<const Bundle> trust) {
      return FetchRevocations(rel, std::move(trust), timeout, *clock);
    };
  }
  PollerOptions bounds;
  bounds.max_refresh_seconds = o.federation_max_refresh_seconds;
  bounds.min_refresh_seconds =
      std::min(bounds.min_refresh_seconds, bounds.max_refresh_seconds);
  return std::make_unique<BundlePoller>(std::move(fetch),
                                        std::move(fetch_revocations), bounds);
}

}  // namespace internal

namespace {

constexpr std::size_t kMaxWebCaPemBytes = 256 << 10;

Json EventJson(const PollEvent& ev) {
  return Json{
      {"result", PollResultName(ev.kind)},
      {"reason", ev.reason},
      {"message", ev.message},
      {"old_sequence", ev.old_sequence ? Json(*ev.old_sequence) : Json()},
      {"new_sequence", ev.new_sequence ? Json(*ev.new_sequence) : Json()}};
}

// FetchJson is a bundle fetch's result with, when the relationship has a
// revocations_url, the fetch of its revocation list in "revocations".
Json FetchJson(const std::vector<PollEvent>& events) {
  Json out = Json::object();
  for (const PollEvent& ev : events) {
    if (ev.revocations) {
      out["revocations"] = EventJson(ev);
    } else {
      out.update(EventJson(ev));
    }
  }
  return out;
}

// StateJson describes one relationship for GET /v1/federations.
Json StateJson(const RelationshipState& s, bool from_config) {
  auto url = [](const std::string& u) { return u.empty() ? Json() : Json(u); };
  auto time = [](UnixTime t) { return t != 0 ? Json(t) : Json(); };
  return Json{
      {"trust_domain", s.rel.trust_domain.name()},
      {"endpoint_url", s.rel.endpoint_url},
      {"profile", EndpointProfileName(s.rel.profile)},
      {"endpoint_id",
       s.rel.endpoint_id ? Json(s.rel.endpoint_id->str()) : Json()},
      {"source", from_config ? "config" : "api"},
      {"bundle_sequence",
       s.bundle && s.bundle->sequence() ? Json(*s.bundle->sequence()) : Json()},
      {"trusted", s.bundle != nullptr},
      {"last_fetch", time(s.last_fetch)},
      {"last", s.last_event ? EventJson(*s.last_event) : Json()},
      {"failures", s.failures},
      {"next_refresh", s.next_due},
      {"revocations_url", url(s.rel.revocations_url)},
      {"revocations_sequence",
       s.revocations ? Json(s.revocations->sequence()) : Json()},
      {"revocations_last_fetch", time(s.revocations_fetch)},
      {"revocations_last",
       s.revocations_event ? EventJson(*s.revocations_event) : Json()}};
}

// RecordFromBody reads POST /v1/federations: exactly the parameters of the
// profile, none derived from another.
Result<FederationRecord> RecordFromBody(const Json& body, UnixTime now) {
  AZTP_RETURN_IF_ERROR(internal::OnlyMembers(
      body, {"trust_domain", "endpoint_url", "profile", "endpoint_id",
             "bootstrap_bundle", "web_ca_pem", "revocations_url"}));
  FederationRecord r;
  AZTP_ASSIGN_OR_RETURN(std::string td_name, GetString(body, "trust_domain"));
  AZTP_ASSIGN_OR_RETURN(TrustDomain td, TrustDomain::Parse(td_name));
  r.trust_domain = td.name();
  AZTP_ASSIGN_OR_RETURN(r.endpoint_url, GetString(body, "endpoint_url"));
  AZTP_ASSIGN_OR_RETURN(std::string profile, GetString(body, "profile"));
  // ParseEndpointProfile's error names the profiles; both read the same
  // text.
  AZTP_RETURN_IF_ERROR(ParseEndpointProfile(profile));
  r.profile = *FederationRecord::ParseProfile(profile);
  AZTP_ASSIGN_OR_RETURN(auto endpoint_id,
                        GetOptionalString(body, "endpoint_id"));
  r.endpoint_id = endpoint_id.value_or("");
  if (auto boot = body.find("bootstrap_bundle"); boot != body.end()) {
    if (!boot->is_object()) {
      return BadRequest("bootstrap_bundle must be a SPIFFE bundle object");
    }
    r.bootstrap_bundle = DumpJson(*boot);
  }
  AZTP_ASSIGN_OR_RETURN(auto pem, GetOptionalString(body, "web_ca_pem"));
  r.web_ca_pem = pem.value_or("");
  if (r.web_ca_pem.size() > kMaxWebCaPemBytes) {
    return Error(Code::kTooLarge, "web_ca_pem exceeds 256 KiB");
  }
  AZTP_ASSIGN_OR_RETURN(auto revocations_url,
                        GetOptionalString(body, "revocations_url"));
  r.revocations_url = revocations_url.value_or("");
  r.created_at = now;
  // Parse everything once here, so that what is stored always loads.
  AZTP_ASSIGN_OR_RETURN(FederationRelationship rel,
                        internal::RelationshipFromRecord(r));
  if (!rel.web_ca_pem.empty()) {
    AZTP_RETURN_IF_ERROR(ParsePemCertificates(rel.web_ca_pem, 256));
  }
  return r;
}

}  // namespace

Status ControlPlane::ApplyFederation(bool seed) {
  std::vector<FederationRelationship> all = options_.federation;
  std::vector<FederatedBundleRecord> kept;
  std::vector<FederatedRevocationsRecord> kept_lists;
  AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto records, tx.ListFederations());
    for (const auto& r : records) {
      auto rel = internal::RelationshipFromRecord(r);
      if (!rel) {
        return rel.error().WithContext("stored federation with " +
                                       r.trust_domain);
      }
      if (config_domains_.count(rel->trust_domain) != 0) {
        return Error(Code::kAlreadyExists,
                     "the federation with " + r.trust_domain +
                         " is both in the configuration file and in the "
                         "store; remove one of them");
      }
      all.push_back(std::move(*rel));
    }
    if (seed) {
      AZTP_ASSIGN_OR_RETURN(kept, tx.ListFederatedBundles());
      AZTP_ASSIGN_OR_RETURN(kept_lists, tx.ListFederatedRevocations());
    }
    return Ok();
  }));
  for (const auto& rel : all) {
    if (rel.trust_domain == trust_domain_) {
      return Error(Code::kInvalidArgument,
                   "a trust domain cannot federate with itself");
    }
  }
  AZTP_RETURN_IF_ERROR(poller_->Set(std::move(all)));
  // Bundles fetched before a restart stay in force until a fetch replaces
  // them; those of domains no longer federated are ignored.
  for (const auto& k : kept) {
    auto td = TrustDomain::Parse(k.trust_domain);
    if (!td) continue;
    auto bundle = Bundle::Parse(*td, k.bundle);
    if (!bundle) continue;
    (void)poller_->Seed(std::make_shared<const Bundle>(std::move(*bundle)));
  }
  // So do revocation lists: a partner's endpoint being down at the restart
  // must not bring its revoked identities back.
  for (const auto& k : kept_lists) {
    auto td = TrustDomain::Parse(k.trust_domain);
    auto list = RevocationList::Parse(k.list);
    if (!td || !list) continue;
    (void)poller_->SeedRevocations(
        *td, std::make_shared<const RevocationList>(std::move(*list)));
  }
  return Ok();
}

Status ControlPlane::RecordPollEvent(const PollEvent& ev, UnixTime now,
                                     const std::string& actor) {
  const std::string result(PollResultName(ev.kind));
  instruments_->metrics.Add(
      ev.revocations ? "aztpd_federation_revocations_fetches_total"
                     : "aztpd_federation_fetches_total",
      {{"trust_domain", ev.trust_domain.name()}, {"result", result}});
  if (ev.kind == PollEvent::Kind::kUnchanged) return Ok();
  // Every change, rejection and failure is on the audit record; a new
  // bundle or revocation list is kept in the same transaction.
  AuditRecord a = MakeAudit(
      now, actor,
      std::string(ev.revocations ? "federation.revocations_" : "federation.") +
          result,
      ev.trust_domain.IdString());
  a.decision = ev.kind == PollEvent::Kind::kUpdated ? "allow" : "deny";
  a.reason = ev.reason;
  a.details = EventJson(ev);
  a.details.erase("result");
  a.details.erase("reason");
  std::shared_ptr<const Bundle> fresh;
  std::shared_ptr<const RevocationList> fresh_list;
  if (ev.kind == PollEvent::Kind::kUpdated && ev.revocations) {
    auto lists = poller_->RevocationLists();
    auto it = lists.find(ev.trust_domain);
    if (it != lists.end()) fresh_list = it->second;
  } else if (ev.kind == PollEvent::Kind::kUpdated) {
    fresh = poller_->Bundles().GetBundle(ev.trust_domain);
  }
  AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
    if (fresh) {
      AZTP_RETURN_IF_ERROR(tx.PutFederatedBundle(
          {ev.trust_domain.name(), DumpJson(fresh->ToJson()), now}));
    }
    if (fresh_list) {
      AZTP_RETURN_IF_ERROR(tx.PutFederatedRevocations(
          {ev.trust_domain.name(), DumpJson(fresh_list->ToJson()), now}));
    }
    return Appended(tx.AppendAudit(a));
  }));
  if (options_.on_federation_event) options_.on_federation_event(ev);
  return Ok();
}

Result<Json> ControlPlane::FederationApi(const http::Request& req,
                                         const Principal& who, UnixTime now,
                                         Reply& reply) {
  const std::string& path = req.path;
  const std::string& m = req.method;
  constexpr std::string_view kBase = "/v1/federations";
  reply.route = std::string(kBase);
  if (!who.admin) {
    return Error(Code::kPermissionDenied, "federation needs an admin key");
  }
  if (path == kBase && m == "GET") {
    Json list = Json::array();
    for (const RelationshipState& s : poller_->States()) {
      list.push_back(
          StateJson(s, config_domains_.count(s.rel.trust_domain) != 0));
    }
    return Json{{"federations", std::move(list)}};
  }
  if (path == kBase && m == "POST") {
    AZTP_ASSIGN_OR_RETURN(Json body, internal::BodyObject(req));
    AZTP_ASSIGN_OR_RETURN(FederationRecord r, RecordFromBody(body, now));
    AZTP_ASSIGN_OR_RETURN(TrustDomain td, TrustDomain::Parse(r.trust_domain));
    if (td == trust_domain_) {
      return BadRequest("a trust domain cannot federate with itself");
    }
    if (config_domains_.count(td) != 0) {
      return Error(Code::kAlreadyExists, "the federation with " + td.name() +
                                             " is in the configuration file");
    }
    std::lock_guard<std::mutex> lock(maintain_mu_);
    AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
      AZTP_RETURN_IF_ERROR(tx.PutFederation(r));
      return Appended(tx.AppendAudit(
          MakeAudit(now, who.actor, "federation.add", td.IdString(),
                    Json{{"endpoint_url", r.endpoint_url},
                         {"profile", ToString(r.profile)},
                         {"endpoint_id", r.endpoint_id},
                         {"revocations_url", r.revocations_url}})));
    }));
    AZTP_RETURN_IF_ERROR(ApplyFederation(/*seed=*/false));
    // The first fetch happens at once, so that the answer tells whether the
    // endpoint works; a failure leaves the relationship in place.
    AZTP_ASSIGN_OR_RETURN(Json first, FetchNow(td, now, who.actor));
    reply.status = 201;
    return Json{{"trust_domain", td.name()}, {"first_fetch", std::move(first)}};
  }
  if (path.rfind(std::string(kBase) + "/", 0) != 0) {
    return Error(Code::kNotFound, "no such route");
  }
  std::string rest = path.substr(kBase.size() + 1);
  const bool refresh = rest.size() > 8 && rest.ends_with(":refresh");
  if (refresh) rest.resize(rest.size() - 8);
  AZTP_ASSIGN_OR_RETURN(TrustDomain td, TrustDomain::Parse(rest));
  reply.route = std::string(kBase) + (refresh ? "/{td}:refresh" : "/{td}");
  if (refresh && m == "POST") {
    std::lock_guard<std::mutex> lock(maintain_mu_);
    AZTP_ASSIGN_OR_RETURN(Json out, FetchNow(td, now, who.actor));
    out["trust_domain"] = td.name();
    return out;
  }
  if (!refresh && m == "DELETE") {
    if (config_domains_.count(td) != 0) {
      return BadRequest("the federation with " + td.name() +
                        " is in the configuration file; remove it there");
    }
    std::lock_guard<std::mutex> lock(maintain_mu_);
    AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
      AZTP_RETURN_IF_ERROR(tx.DeleteFederation(td.name()));
      return Appended(tx.AppendAudit(
          MakeAudit(now, who.actor, "federation.remove", td.IdString())));
    }));
    AZTP_RETURN_IF_ERROR(ApplyFederation(/*seed=*/false));
    // Peers of that domain are strangers from this moment on.
    PublishBundles(*state());
    return Json{{"trust_domain", td.name()}, {"removed", true}};
  }
  return Error(Code::kNotFound, "no such route");
}

Result<Json> ControlPlane::FetchNow(const TrustDomain& td, UnixTime now,
                                    const std::string& actor) {
  AZTP_ASSIGN_OR_RETURN(std::vector<PollEvent> events,
                        poller_->Refresh(td, now));
  for (const PollEvent& ev : events) {
    AZTP_RETURN_IF_ERROR(RecordPollEvent(ev, now, actor));
  }
  PublishBundles(*state());
  return FetchJson(events);
}

Result<Json> ControlPlane::RevocationLists(UnixTime now) {
  // Each list stays under its own domain's name: verifiers apply it to that
  // domain's identities only (docs/protocol.md §6 step 8).
  Json domains = Json::object();
  for (const auto& [td, list] : poller_->RevocationLists()) {
    domains[td.name()] = list->ToJson();
  }
  AZTP_ASSIGN_OR_RETURN(domains[trust_domain_.name()], Revocations(now));
  return Json{{"trust_domains", std::move(domains)}};
}

Result<Json> ControlPlane::BundlesFor(const http::Request& req,
                                      const std::optional<Principal>& who,
                                      Reply& reply) {
  reply.route = "/v1/bundles";
  auto snapshot = bundles_->Snapshot();
  auto it = req.query.find("for");
  std::optional<SpiffeId> subject;
  if (it != req.query.end()) {
    // Naming an identity needs credentials for it: its own SVID or an API
    // key that manages it.
    AZTP_ASSIGN_OR_RETURN(SpiffeId id, SpiffeId::ParseUserInput(it->second));
    if (id.trust_domain() != trust_domain_) {
      return BadRequest("for must name an identity of " + trust_domain_.name());
    }
    if (!who || !who->MayObtainSvid(id)) {
      return Error(Code::kPermissionDenied,
                   "these credentials may not read the bundles of " + id.str());
    }
    subject = std::move(id);
  } else if (req.peer && req.peer->trust_domain() == trust_domain_) {
    subject = req.peer;
  }
  if (!subject) return snapshot->ToMapJson();
  std::optional<IdentityRecord> record;
  AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(record, tx.GetIdentity(subject->str()));
    return Ok();
  }));
  if (!record) {
    return Error(Code::kNotFound, "no identity " + subject->str());
  }
  if (!record->federates_with) return snapshot->ToMapJson();
  // The identity's own domain and the federated domains it accepts.
  std::set<std::string> allowed(record->federates_with->begin(),
                                record->federates_with->end());
  allowed.insert(trust_domain_.name());
  Json map = snapshot->ToMapJson();
  Json& domains = map["trust_domains"];
  for (auto d = domains.begin(); d != domains.end();) {
    d = allowed.count(d.key()) != 0 ? std::next(d) : domains.erase(d);
  }
  return map;
}

}  // namespace aztp

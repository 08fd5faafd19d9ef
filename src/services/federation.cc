#include "aztp/services/federation.h"

#include "aztp/services/audit_entry.h"
#include "aztp/x509/certificate.h"

namespace aztp::services {

namespace {

constexpr std::string_view kAdminOnly = "federation needs an admin key";

Error BadRequest(std::string message) {
  return Error(Code::kInvalidArgument, std::move(message));
}

// RecordOf validates `request` into the record to store: everything is
// parsed once here, so that what is stored always loads.
Result<FederationRecord> RecordOf(const NewFederation& request, UnixTime now) {
  FederationRecord r;
  r.trust_domain = request.trust_domain.name();
  r.endpoint_url = request.endpoint_url;
  r.endpoint_id = request.endpoint_id;
  if (request.bootstrap_bundle) {
    if (!request.bootstrap_bundle->is_object()) {
      return BadRequest("bootstrap_bundle must be a SPIFFE bundle object");
    }
    r.bootstrap_bundle = DumpJson(*request.bootstrap_bundle);
  }
  r.web_ca_pem = request.web_ca_pem;
  if (r.web_ca_pem.size() > kMaxWebCaPemBytes) {
    return Error(Code::kTooLarge, "web_ca_pem exceeds 256 KiB");
  }
  AZTP_ASSIGN_OR_RETURN(r.profile, ParseEndpointProfile(request.profile));
  r.revocations_url = request.revocations_url;
  r.created_at = now;
  AZTP_ASSIGN_OR_RETURN(FederationRelationship rel, RelationshipFromRecord(r));
  if (!rel.web_ca_pem.empty()) {
    AZTP_RETURN_IF_ERROR(ParsePemCertificates(rel.web_ca_pem, 256));
  }
  return r;
}

}  // namespace

Result<FederationRelationship> RelationshipFromRecord(
    const FederationRecord& r) {
  AZTP_ASSIGN_OR_RETURN(TrustDomain td, TrustDomain::Parse(r.trust_domain));
  FederationRelationship rel{td};
  rel.endpoint_url = r.endpoint_url;
  rel.profile = r.profile;
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

Json PollEventJson(const PollEvent& ev) {
  return Json{
      {"result", PollResultName(ev.kind)},
      {"reason", ev.reason},
      {"message", ev.message},
      {"old_sequence", ev.old_sequence ? Json(*ev.old_sequence) : Json()},
      {"new_sequence", ev.new_sequence ? Json(*ev.new_sequence) : Json()}};
}

FederationService::FederationService(
    const ServiceContext& ctx, BundlePoller& poller, FederationHost& host,
    std::vector<FederationRelationship> configured)
    : ctx_(ctx),
      poller_(poller),
      host_(host),
      configured_(std::move(configured)) {
  for (const auto& rel : configured_) {
    configured_domains_.insert(rel.trust_domain);
  }
}

Status FederationService::Load() { return Apply(/*seed=*/true); }

Status FederationService::Apply(bool seed) {
  std::vector<FederationRelationship> all = configured_;
  std::vector<FederatedBundleRecord> kept;
  std::vector<FederatedRevocationsRecord> kept_lists;
  AZTP_RETURN_IF_ERROR(ctx_.store->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto records, tx.ListFederations());
    for (const auto& r : records) {
      auto rel = RelationshipFromRecord(r);
      if (!rel) {
        return rel.error().WithContext("stored federation with " +
                                       r.trust_domain);
      }
      if (configured_domains_.count(rel->trust_domain) != 0) {
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
    if (rel.trust_domain == ctx_.trust_domain) {
      return Error(Code::kInvalidArgument,
                   "a trust domain cannot federate with itself");
    }
  }
  AZTP_RETURN_IF_ERROR(poller_.Set(std::move(all)));
  // Bundles fetched before a restart stay in force until a fetch replaces
  // them; those of domains no longer federated are ignored.
  for (const auto& k : kept) {
    auto td = TrustDomain::Parse(k.trust_domain);
    if (!td) continue;
    auto bundle = Bundle::Parse(*td, k.bundle);
    if (!bundle) continue;
    (void)poller_.Seed(std::make_shared<const Bundle>(std::move(*bundle)));
  }
  // So do revocation lists: a partner's endpoint being down at the restart
  // must not bring its revoked identities back.
  for (const auto& k : kept_lists) {
    auto td = TrustDomain::Parse(k.trust_domain);
    auto list = RevocationList::Parse(k.list);
    if (!td || !list) continue;
    (void)poller_.SeedRevocations(
        *td, std::make_shared<const RevocationList>(std::move(*list)));
  }
  return Ok();
}

Status FederationService::Record(const PollEvent& ev, UnixTime now,
                                 const std::string& actor) {
  host_.Fetched(ev);
  if (ev.kind == PollEvent::Kind::kUnchanged) return Ok();
  // Every change, rejection and failure is on the audit record; a new
  // bundle or revocation list is kept in the same transaction.
  const std::string result(PollResultName(ev.kind));
  AuditRecord a = MakeAudit(
      now, actor,
      std::string(ev.revocations ? "federation.revocations_" : "federation.") +
          result,
      ev.trust_domain.IdString());
  a.decision = ev.kind == PollEvent::Kind::kUpdated ? "allow" : "deny";
  a.reason = ev.reason;
  a.details = PollEventJson(ev);
  a.details.erase("result");
  a.details.erase("reason");
  std::shared_ptr<const Bundle> fresh;
  std::shared_ptr<const RevocationList> fresh_list;
  if (ev.kind == PollEvent::Kind::kUpdated && ev.revocations) {
    auto lists = poller_.RevocationLists();
    auto it = lists.find(ev.trust_domain);
    if (it != lists.end()) fresh_list = it->second;
  } else if (ev.kind == PollEvent::Kind::kUpdated) {
    fresh = poller_.Bundles().GetBundle(ev.trust_domain);
  }
  AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
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
  host_.Recorded(ev);
  return Ok();
}

Result<std::vector<PollEvent>> FederationService::FetchNow(
    const TrustDomain& td, UnixTime now, const std::string& actor) {
  AZTP_ASSIGN_OR_RETURN(std::vector<PollEvent> events,
                        poller_.Refresh(td, now));
  for (const PollEvent& ev : events) {
    AZTP_RETURN_IF_ERROR(Record(ev, now, actor));
  }
  host_.Publish();
  return events;
}

Result<bool> FederationService::Poll(const std::string& actor) {
  const UnixTime now = ctx_.Now();
  bool changed = false;
  for (const PollEvent& ev : poller_.RunDue(now)) {
    AZTP_RETURN_IF_ERROR(Record(ev, now, actor));
    changed = changed || ev.kind == PollEvent::Kind::kUpdated;
  }
  if (changed) host_.Publish();
  return changed;
}

Result<std::vector<FederationEntry>> FederationService::List(
    const Principal& who) const {
  AZTP_RETURN_IF_ERROR(Require(who, Permission::kAdmin, kAdminOnly));
  std::vector<FederationEntry> out;
  for (RelationshipState& s : poller_.States()) {
    const bool from_config = configured_domains_.count(s.rel.trust_domain) != 0;
    out.push_back(FederationEntry{std::move(s), from_config});
  }
  return out;
}

Result<FederationAdded> FederationService::Add(const Principal& who,
                                               const NewFederation& request) {
  AZTP_RETURN_IF_ERROR(Require(who, Permission::kAdmin, kAdminOnly));
  const UnixTime now = ctx_.Now();
  AZTP_ASSIGN_OR_RETURN(FederationRecord r, RecordOf(request, now));
  const TrustDomain& td = request.trust_domain;
  if (td == ctx_.trust_domain) {
    return BadRequest("a trust domain cannot federate with itself");
  }
  if (configured_domains_.count(td) != 0) {
    return Error(Code::kAlreadyExists, "the federation with " + td.name() +
                                           " is in the configuration file");
  }
  FederationAdded out{td, {}};
  AZTP_RETURN_IF_ERROR(host_.Exclusive([&]() -> Status {
    AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
      AZTP_RETURN_IF_ERROR(tx.PutFederation(r));
      return Appended(tx.AppendAudit(
          MakeAudit(now, who.actor(), "federation.add", td.IdString(),
                    Json{{"endpoint_url", r.endpoint_url},
                         {"profile", std::string(ToString(r.profile))},
                         {"endpoint_id", r.endpoint_id},
                         {"revocations_url", r.revocations_url}})));
    }));
    AZTP_RETURN_IF_ERROR(Apply(/*seed=*/false));
    AZTP_ASSIGN_OR_RETURN(out.first_fetch, FetchNow(td, now, who.actor()));
    return Ok();
  }));
  return out;
}

Status FederationService::Remove(const Principal& who, const TrustDomain& td) {
  AZTP_RETURN_IF_ERROR(Require(who, Permission::kAdmin, kAdminOnly));
  if (configured_domains_.count(td) != 0) {
    return BadRequest("the federation with " + td.name() +
                      " is in the configuration file; remove it there");
  }
  const UnixTime now = ctx_.Now();
  return host_.Exclusive([&]() -> Status {
    AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
      AZTP_RETURN_IF_ERROR(tx.DeleteFederation(td.name()));
      return Appended(tx.AppendAudit(
          MakeAudit(now, who.actor(), "federation.remove", td.IdString())));
    }));
    AZTP_RETURN_IF_ERROR(Apply(/*seed=*/false));
    // Peers of that domain are strangers from this moment on.
    host_.Publish();
    return Ok();
  });
}

Result<std::vector<PollEvent>> FederationService::Refresh(
    const Principal& who, const TrustDomain& td) {
  AZTP_RETURN_IF_ERROR(Require(who, Permission::kAdmin, kAdminOnly));
  std::vector<PollEvent> events;
  AZTP_RETURN_IF_ERROR(host_.Exclusive([&]() -> Status {
    AZTP_ASSIGN_OR_RETURN(events, FetchNow(td, ctx_.Now(), who.actor()));
    return Ok();
  }));
  return events;
}

Result<BundleSet> FederationService::Bundles(
    const std::optional<SpiffeId>& peer) const {
  if (peer && peer->trust_domain() == ctx_.trust_domain) return ViewOf(*peer);
  return *host_.Published();
}

Result<BundleSet> FederationService::BundlesFor(const Principal& who,
                                                const SpiffeId& id) const {
  if (id.trust_domain() != ctx_.trust_domain) {
    return BadRequest("for must name an identity of " +
                      ctx_.trust_domain.name());
  }
  // Naming an identity needs credentials for it: its own SVID or an API
  // key that manages it.
  if (!who.MayObtainSvid(id)) {
    return Error(Code::kPermissionDenied,
                 "these credentials may not read the bundles of " + id.str());
  }
  return ViewOf(id);
}

Result<BundleSet> FederationService::ViewOf(const SpiffeId& id) const {
  auto published = host_.Published();
  std::optional<IdentityRecord> record;
  AZTP_RETURN_IF_ERROR(ctx_.store->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(record, tx.GetIdentity(id.str()));
    return Ok();
  }));
  if (!record) return Error(Code::kNotFound, "no identity " + id.str());
  if (!record->federates_with) return *published;
  // The identity's own domain and the federated domains it accepts.
  std::set<std::string> allowed(record->federates_with->begin(),
                                record->federates_with->end());
  allowed.insert(ctx_.trust_domain.name());
  BundleSet view;
  for (const auto& [td, bundle] : published->bundles()) {
    if (allowed.count(td.name()) != 0) view.Put(*bundle);
  }
  return view;
}

std::map<TrustDomain, std::shared_ptr<const RevocationList>>
FederationService::RevocationLists() const {
  return poller_.RevocationLists();
}

}  // namespace aztp::services

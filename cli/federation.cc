// aztp federation add|list|refresh|remove: aztpd's federation relationships
// (admin keys only); aztp identity set-federation: an identity's
// `federates_with`; aztp bundle fetch: aztpd's bundle map, whole or as one
// identity sees it. All through the SDK client (docs/cli.md).
#include <sstream>

#include "aztp/base/file.h"
#include "command.h"

namespace aztp::cli {

Result<std::optional<std::vector<std::string>>> ParseFederatesWith(
    const std::vector<std::string>& domains, bool none) {
  using Domains = std::optional<std::vector<std::string>>;
  if (none && !domains.empty()) {
    return Error(Code::kInvalidArgument,
                 "--federates-with and --federates-with-none exclude each "
                 "other");
  }
  if (none) return Domains(std::vector<std::string>{});
  if (domains.empty()) return Domains();
  std::vector<std::string> out;
  for (const auto& name : domains) {
    auto td = TrustDomain::Parse(name);
    if (!td) return td.error().WithContext("--federates-with");
    out.push_back(td->name());
  }
  return Domains(std::move(out));
}

namespace {

Json OptionalInt(const std::optional<int64_t>& v) {
  return v ? Json(*v) : Json();
}

// The renderings follow aztpd's own JSON (docs/aztpd.md).
Json FetchJson(const FederationFetch& f) {
  Json j{{"result", PollResultName(f.result)},
         {"reason", f.reason},
         {"message", f.message},
         {"old_sequence", OptionalInt(f.old_sequence)},
         {"new_sequence", OptionalInt(f.new_sequence)}};
  if (f.revocations) j["revocations"] = FetchJson(*f.revocations);
  return j;
}

Json FederationJson(const Federation& f) {
  Json j = Json::object();
  j["trust_domain"] = f.trust_domain.name();
  j["endpoint_url"] = f.endpoint_url;
  j["profile"] = EndpointProfileName(f.profile);
  j["endpoint_id"] = f.endpoint_id ? Json(f.endpoint_id->str()) : Json();
  j["source"] = f.source;
  j["bundle_sequence"] = OptionalInt(f.bundle_sequence);
  j["trusted"] = f.trusted;
  j["last_fetch"] = OptionalInt(f.last_fetch);
  j["last"] = f.last ? FetchJson(*f.last) : Json();
  j["failures"] = f.failures;
  j["next_refresh"] = f.next_refresh;
  j["revocations_url"] =
      f.revocations_url.empty() ? Json() : Json(f.revocations_url);
  j["revocations_sequence"] = OptionalInt(f.revocations_sequence);
  j["revocations_last_fetch"] = OptionalInt(f.revocations_last_fetch);
  j["revocations_last"] =
      f.revocations_last ? FetchJson(*f.revocations_last) : Json();
  return j;
}

// Outcome is a fetch's result for the table: "updated", "failed (io_error)".
std::string Outcome(const FederationFetch& f) {
  return std::string(PollResultName(f.result)) +
         (f.reason.empty() ? "" : " (" + f.reason + ")");
}

// Table renders relationships for people, one line each.
std::string Table(const std::vector<Federation>& list) {
  std::vector<std::vector<std::string>> rows = {
      {"TRUST DOMAIN", "PROFILE", "SOURCE", "TRUSTED", "SEQUENCE", "LAST FETCH",
       "RESULT", "FAILURES", "NEXT REFRESH", "REVOCATIONS", "ENDPOINT"}};
  for (const auto& f : list) {
    // REVOCATIONS: "off" without a revocations_url, else the sequence in
    // force and the last fetch's result.
    std::string revocations = "off";
    if (!f.revocations_url.empty()) {
      revocations = f.revocations_sequence
                        ? std::to_string(*f.revocations_sequence)
                        : "-";
      if (f.revocations_last) {
        revocations += " " + Outcome(*f.revocations_last);
      }
    }
    rows.push_back(
        {f.trust_domain.name(), std::string(EndpointProfileName(f.profile)),
         f.source, f.trusted ? "yes" : "no",
         f.bundle_sequence ? std::to_string(*f.bundle_sequence) : "-",
         f.last_fetch ? Rfc3339(*f.last_fetch) : "-",
         f.last ? Outcome(*f.last) : "-", std::to_string(f.failures),
         Rfc3339(f.next_refresh), revocations, f.endpoint_url});
  }
  std::vector<std::size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::ostringstream out;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (r > 0) out << '\n';
    for (std::size_t i = 0; i < rows[r].size(); ++i) {
      out << rows[r][i];
      if (i + 1 < rows[r].size()) {
        out << std::string(widths[i] - rows[r][i].size() + 2, ' ');
      }
    }
  }
  if (list.empty()) out << "\n(no federation relationships)";
  return out.str();
}

// CheckBundleDomain refuses a bundle file whose X.509 authorities name
// another trust domain than the one it is given for (e.g. our own
// bundle.json passed as the partner's).
Status CheckBundleDomain(const Bundle& bundle, const std::string& path) {
  for (const Certificate& authority : bundle.x509_authorities()) {
    for (const std::string& san : authority.uri_sans()) {
      auto named = TrustDomain::Parse(san);
      if (named && *named != bundle.trust_domain()) {
        return Error(Code::kInvalidArgument, path + " is a bundle of " +
                                                 named->name() + ", not of " +
                                                 bundle.trust_domain().name());
      }
    }
  }
  return Ok();
}

struct AddFlags {
  ServerFlags server;
  std::string trust_domain;
  std::string endpoint_url;
  std::string profile;
  std::string endpoint_id;
  std::string bootstrap_bundle;
  std::string web_ca;
  std::string revocations_url;
};

Result<Json> Add(AddFlags& f) {
  AZTP_ASSIGN_OR_RETURN(TrustDomain td, TrustDomain::Parse(f.trust_domain));
  FederationSpec spec{.trust_domain = td};
  spec.endpoint_url = f.endpoint_url;
  auto profile = ParseEndpointProfile(f.profile);
  if (!profile) {
    return Error(Code::kInvalidArgument,
                 "--profile must be https_spiffe or https_web, not " +
                     QuoteInput(f.profile));
  }
  spec.profile = *profile;
  spec.revocations_url = f.revocations_url;
  // The server checks the combination; these checks only give the flags'
  // names in the message.
  const bool spiffe = spec.profile == EndpointProfile::kHttpsSpiffe;
  if (spiffe && (f.endpoint_id.empty() || f.bootstrap_bundle.empty())) {
    return Error(Code::kInvalidArgument,
                 "https_spiffe needs --endpoint-id and --bootstrap-bundle");
  }
  if (spiffe && !f.web_ca.empty()) {
    return Error(Code::kInvalidArgument, "--web-ca is for https_web only");
  }
  if (!spiffe && (!f.endpoint_id.empty() || !f.bootstrap_bundle.empty())) {
    return Error(Code::kInvalidArgument,
                 "--endpoint-id and --bootstrap-bundle are for https_spiffe "
                 "only");
  }
  if (!f.endpoint_id.empty()) {
    AZTP_ASSIGN_OR_RETURN(spec.endpoint_id,
                          SpiffeId::ParseUserInput(f.endpoint_id));
  }
  if (!f.bootstrap_bundle.empty()) {
    AZTP_ASSIGN_OR_RETURN(std::string text, ReadFile(f.bootstrap_bundle));
    auto bundle = Bundle::Parse(td, text);
    if (!bundle) return bundle.error().WithContext(f.bootstrap_bundle);
    AZTP_RETURN_IF_ERROR(CheckBundleDomain(*bundle, f.bootstrap_bundle));
    spec.bootstrap_bundle = std::move(*bundle);
  }
  if (!f.web_ca.empty()) {
    AZTP_ASSIGN_OR_RETURN(spec.web_ca_pem, ReadFile(f.web_ca, 256 << 10));
    auto certs = ParsePemCertificates(spec.web_ca_pem, 256);
    if (!certs) return certs.error().WithContext(f.web_ca);
  }
  AZTP_ASSIGN_OR_RETURN(auto client, ClientFor(f.server));
  // Added even when the first fetch fails: the outcome is in first_fetch,
  // and aztpd keeps trying.
  AZTP_ASSIGN_OR_RETURN(FederationFetch first, client->AddFederation(spec));
  return Json{{"trust_domain", td.name()}, {"first_fetch", FetchJson(first)}};
}

struct ListFlags {
  ServerFlags server;
  bool table = false;
};

Result<Json> List(ListFlags& f, Context& ctx) {
  AZTP_ASSIGN_OR_RETURN(auto client, ClientFor(f.server));
  AZTP_ASSIGN_OR_RETURN(std::vector<Federation> list,
                        client->ListFederations());
  Json out = Json::array();
  for (const auto& item : list) out.push_back(FederationJson(item));
  if (f.table) ctx.raw_output = Table(list);
  return Json{{"federations", std::move(out)}};
}

struct DomainFlags {
  ServerFlags server;
  std::string trust_domain;
};

// CodeOf finds the Code of a stable reason, for a fetch's outcome.
std::optional<Code> CodeOf(std::string_view reason) {
  for (int i = 0; i <= static_cast<int>(Code::kUnavailable); ++i) {
    if (ReasonString(static_cast<Code>(i)) == reason) {
      return static_cast<Code>(i);
    }
  }
  return std::nullopt;
}

// FetchFailure is the error for a fetch of `what` ("bundle", "revocation
// list") that failed or was rejected; Ok for one that worked. The
// partner's reason when it is a stable one (io_error, unavailable, ... exit
// 3; svid_invalid, malformed, ... exit 1), else the reasons about the
// document's content (sequence_rollback, foreign_id, ... exit 1).
Status FetchFailure(const FederationFetch& fetch, const std::string& what) {
  if (fetch.result != FederationFetchResult::kFailed &&
      fetch.result != FederationFetchResult::kRejected) {
    return Ok();
  }
  const bool failed = fetch.result == FederationFetchResult::kFailed;
  Code code = CodeOf(fetch.reason)
                  .value_or(failed ? Code::kUnavailable : Code::kMalformed);
  std::string message = "the fetch of " + fetch.trust_domain.name() + "'s " +
                        what + " " + (failed ? "failed" : "was rejected");
  if (!fetch.reason.empty()) message += " (" + fetch.reason + ")";
  if (!fetch.message.empty()) message += ": " + fetch.message;
  message += "; the " + what + " in force is kept";
  return Error(code, message);
}

Result<Json> Refresh(DomainFlags& f) {
  AZTP_ASSIGN_OR_RETURN(TrustDomain td, TrustDomain::Parse(f.trust_domain));
  AZTP_ASSIGN_OR_RETURN(auto client, ClientFor(f.server));
  AZTP_ASSIGN_OR_RETURN(FederationFetch fetch, client->RefreshFederation(td));
  // A fetch that did not work is this command's failure.
  AZTP_RETURN_IF_ERROR(FetchFailure(fetch, "bundle"));
  if (fetch.revocations) {
    AZTP_RETURN_IF_ERROR(FetchFailure(*fetch.revocations, "revocation list"));
  }
  Json out = FetchJson(fetch);
  out["trust_domain"] = td.name();
  return out;
}

Result<Json> Remove(DomainFlags& f) {
  AZTP_ASSIGN_OR_RETURN(TrustDomain td, TrustDomain::Parse(f.trust_domain));
  AZTP_ASSIGN_OR_RETURN(auto client, ClientFor(f.server));
  AZTP_RETURN_IF_ERROR(client->RemoveFederation(td));
  return Json{{"trust_domain", td.name()}, {"removed", true}};
}

struct SetFederationFlags {
  ServerFlags server;
  std::string id;       // positional
  std::string id_flag;  // --id
  std::vector<std::string> federates_with;
  bool none = false;
  bool any = false;
};

Result<Json> SetFederation(SetFederationFlags& f) {
  if (f.id.empty() == f.id_flag.empty()) {
    return Error(Code::kInvalidArgument,
                 "name the identity once: ID or --id ID");
  }
  AZTP_ASSIGN_OR_RETURN(
      SpiffeId id, SpiffeId::ParseUserInput(f.id.empty() ? f.id_flag : f.id));
  const int choices =
      (f.federates_with.empty() ? 0 : 1) + (f.none ? 1 : 0) + (f.any ? 1 : 0);
  if (choices != 1) {
    return Error(Code::kInvalidArgument,
                 "give exactly one of --federates-with TD (repeatable), "
                 "--federates-with-none and --federates-with-any");
  }
  AZTP_ASSIGN_OR_RETURN(auto domains,
                        ParseFederatesWith(f.federates_with, f.none));
  AZTP_ASSIGN_OR_RETURN(auto client, ClientFor(f.server));
  AZTP_ASSIGN_OR_RETURN(Identity identity,
                        client->SetFederatesWith(id, std::move(domains)));
  return IdentityJson(identity, false);
}

struct FetchFlags {
  ServerFlags server;
  std::string out;
  std::string for_id;
};

Result<Json> FetchBundles(FetchFlags& f) {
  std::optional<SpiffeId> for_id;
  if (!f.for_id.empty()) {
    AZTP_ASSIGN_OR_RETURN(for_id, SpiffeId::ParseUserInput(f.for_id));
  }
  AZTP_ASSIGN_OR_RETURN(auto client, ClientFor(f.server));
  AZTP_ASSIGN_OR_RETURN(BundleSet set, client->GetBundles(for_id));
  Json map = set.ToMapJson();
  if (f.out.empty()) return map;
  AZTP_RETURN_IF_ERROR(WriteFile(f.out, DumpJson(map, 2) + "\n"));
  Json domains = Json::array();
  for (const auto& [td, bundle] : set.bundles()) {
    domains.push_back(Json{{"trust_domain", td.name()},
                           {"sequence", OptionalInt(bundle->sequence())}});
  }
  return Json{{"out", f.out},
              {"for", for_id ? Json(for_id->str()) : Json()},
              {"trust_domains", std::move(domains)}};
}

// AddAddCommand adds `federation add`.
void AddAddCommand(CLI::App* federation, Context& ctx) {
  auto fa = std::make_shared<AddFlags>();
  auto* add = federation->add_subcommand(
      "add",
      "Federate with a trust domain: aztpd fetches its bundle now and then "
      "keeps it fresh");
  AddServerFlags(add, fa->server);
  add->add_option("--trust-domain", fa->trust_domain, "the partner's domain")
      ->required();
  add->add_option("--endpoint-url", fa->endpoint_url,
                  "the partner's bundle endpoint, https://...")
      ->required();
  add->add_option("--profile", fa->profile, "https_spiffe or https_web")
      ->required();
  add->add_option("--endpoint-id", fa->endpoint_id,
                  "https_spiffe: the SPIFFE ID the endpoint presents");
  add->add_option("--bootstrap-bundle", fa->bootstrap_bundle,
                  "https_spiffe: FILE, the partner's bundle that "
                  "authenticates the endpoint at the first fetch");
  add->add_option("--web-ca", fa->web_ca,
                  "https_web: FILE of PEM CA certificates for the endpoint "
                  "(default: the system's CAs)");
  add->add_option("--revocations-url", fa->revocations_url,
                  "the partner's revocation list, https://... on the "
                  "endpoint's host and port (default: none is fetched, and "
                  "the partner's revoked agents are accepted until their "
                  "SVIDs expire)");
  add->callback(Run(ctx, [fa] { return Add(*fa); }));
}

// AddSetFederationCommand adds `identity set-federation`.
void AddSetFederationCommand(CLI::App& app, Context& ctx) {
  auto fs = std::make_shared<SetFederationFlags>();
  auto* set = app.get_subcommand("identity")
                  ->add_subcommand(
                      "set-federation",
                      "Set which federated trust domains an identity accepts");
  AddServerFlags(set, fs->server);
  set->add_option("id", fs->id, "SPIFFE ID (or --id)");
  set->add_option("--id", fs->id_flag, "SPIFFE ID");
  set->add_option("--federates-with", fs->federates_with,
                  "a federated trust domain to accept (repeatable)")
      ->allow_extra_args(false);  // one domain each, so ID may follow
  // One spelling with `identity register` (issue 13); --none and --any,
  // the first spelling, still work but are no longer shown.
  set->add_flag("--federates-with-none", fs->none,
                "accept no federated domain");
  set->add_flag("--federates-with-any", fs->any,
                "accept every domain aztpd federates with (the default)");
  set->add_flag("--none", fs->none, "deprecated: --federates-with-none")
      ->group("");
  set->add_flag("--any", fs->any, "deprecated: --federates-with-any")
      ->group("");
  set->callback(Run(ctx, [fs] { return SetFederation(*fs); }));
}

// AddBundleFetchCommand adds `bundle fetch`.
void AddBundleFetchCommand(CLI::App& app, Context& ctx) {
  auto ff = std::make_shared<FetchFlags>();
  auto* fetch = app.get_subcommand("bundle")->add_subcommand(
      "fetch",
      "Fetch aztpd's bundle map: every trusted domain, or one identity's "
      "view with --for");
  AddServerFlags(fetch, ff->server, /*api_key_required=*/false);
  fetch->add_option("--out", ff->out,
                    "FILE for the map {\"trust_domains\": {...}} (default: "
                    "print it)");
  fetch->add_option("--for", ff->for_id,
                    "an identity whose view to fetch (needs a key that "
                    "manages it)");
  fetch->callback(Run(ctx, [ff] { return FetchBundles(*ff); }));
}

}  // namespace

void AddFederationCommands(CLI::App& app, Context& ctx) {
  auto* federation =
      app.add_subcommand("federation",
                         "aztpd's federation relationships with other trust "
                         "domains (admin)")
          ->require_subcommand(1);

  AddAddCommand(federation, ctx);

  auto fl = std::make_shared<ListFlags>();
  auto* list = federation->add_subcommand(
      "list", "List the relationships and the state of their fetches");
  AddServerFlags(list, fl->server);
  list->add_flag("--table", fl->table,
                 "a table for people instead of the JSON object");
  list->callback(Run(ctx, [fl, &ctx] { return List(*fl, ctx); }));

  auto fr = std::make_shared<DomainFlags>();
  auto* refresh =
      federation->add_subcommand("refresh", "Fetch a partner's bundle now");
  AddServerFlags(refresh, fr->server);
  refresh->add_option("trust_domain", fr->trust_domain, "TRUST_DOMAIN")
      ->required();
  refresh->callback(Run(ctx, [fr] { return Refresh(*fr); }));

  auto fm = std::make_shared<DomainFlags>();
  auto* remove = federation->add_subcommand(
      "remove",
      "End a relationship: the partner's workloads are refused from now on");
  AddServerFlags(remove, fm->server);
  remove->add_option("trust_domain", fm->trust_domain, "TRUST_DOMAIN")
      ->required();
  remove->callback(Run(ctx, [fm] { return Remove(*fm); }));

  AddSetFederationCommand(app, ctx);
  AddBundleFetchCommand(app, ctx);
}

}  // namespace aztp::cli

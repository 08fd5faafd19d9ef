// aztp identity register|get|list|discover|link|revoke|reissue: the
// identity calls of aztpd's API through the SDK client (`identity
// set-federation` is in federation.cc).
#include "command.h"

namespace aztp::cli {

namespace {

Json OptionalId(const std::optional<SpiffeId>& id) {
  return id ? Json(id->str()) : Json();
}

// The renderings follow aztpd's own JSON (docs/aztpd.md).
Json LinkJson(const Link& l) {
  return Json{{"from", l.from.str()},
              {"to", l.to.str()},
              {"kind", LinkKindName(l.kind)},
              {"metadata", l.metadata},
              {"created_at", l.created_at}};
}

}  // namespace

Json IdentityJson(const Identity& i, bool with_links) {
  Json j = Json::object();
  j["id"] = i.id.str();
  j["parent"] = OptionalId(i.parent);
  j["global"] = i.global;
  j["discoverable"] = i.discoverable;
  j["metadata"] = i.metadata;
  j["selectors"] = i.selectors;
  j["status"] = IdentityStatusName(i.status);
  if (i.status == IdentityStatus::kRevoked) {
    j["revoked_reason"] = i.revoked_reason;
  }
  j["federates_with"] = i.federates_with ? Json(*i.federates_with) : Json();
  j["created_at"] = i.created_at;
  j["updated_at"] = i.updated_at;
  if (with_links) {
    Json links = Json::array();
    for (const auto& l : i.links) links.push_back(LinkJson(l));
    j["links"] = std::move(links);
  }
  return j;
}

namespace {

Json NextJson(const std::optional<std::string>& next) {
  return next ? Json(*next) : Json();
}

// ParseMetadata reads --metadata: a JSON object.
Result<Json> ParseMetadata(const std::string& text) {
  if (text.empty()) return Json::object();
  auto doc = ParseJson(text);
  if (!doc || !doc->is_object()) {
    return Error(Code::kInvalidArgument, "--metadata must be a JSON object");
  }
  return *doc;
}

struct IdFlags {
  ServerFlags server;
  std::string id;
};

struct RegisterFlags {
  ServerFlags server;
  std::string id;
  std::string parent;
  bool global = false;
  bool discoverable = false;
  std::string metadata;
  std::vector<std::string> selectors;
  std::vector<std::string> federates_with;
  bool federates_with_none = false;
};

Result<Json> Register(RegisterFlags& f) {
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, SpiffeId::ParseUserInput(f.id));
  IdentityRegistration r{.id = std::move(id)};
  if (!f.parent.empty()) {
    AZTP_ASSIGN_OR_RETURN(r.parent, SpiffeId::ParseUserInput(f.parent));
  }
  r.global = f.global;
  r.discoverable = f.discoverable;
  AZTP_ASSIGN_OR_RETURN(r.metadata, ParseMetadata(f.metadata));
  r.selectors = f.selectors;
  AZTP_ASSIGN_OR_RETURN(
      r.federates_with,
      ParseFederatesWith(f.federates_with, f.federates_with_none));
  AZTP_ASSIGN_OR_RETURN(auto client, ClientFor(f.server));
  AZTP_ASSIGN_OR_RETURN(Identity identity, client->RegisterIdentity(r));
  return IdentityJson(identity, false);
}

Result<Json> Get(IdFlags& f) {
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, SpiffeId::ParseUserInput(f.id));
  AZTP_ASSIGN_OR_RETURN(auto client, ClientFor(f.server));
  AZTP_ASSIGN_OR_RETURN(Identity identity, client->GetIdentity(id));
  return IdentityJson(identity, true);
}

struct ListFlags {
  ServerFlags server;
  std::string prefix;
  std::string status;
  int limit = 0;
  std::string after;
};

// StatusFilter reads --status (checked while parsing, see Checked).
Result<std::optional<IdentityStatus>> StatusFilter(const std::string& text) {
  if (text.empty()) return std::optional<IdentityStatus>();
  for (IdentityStatus s : {IdentityStatus::kActive, IdentityStatus::kRevoked}) {
    if (text == IdentityStatusName(s)) return std::optional<IdentityStatus>(s);
  }
  return Error(Code::kInvalidArgument,
               QuoteInput(text) + " is not a status; write active or revoked");
}

Result<Json> List(ListFlags& f) {
  ListIdentitiesOptions o;
  o.prefix = f.prefix;
  AZTP_ASSIGN_OR_RETURN(o.status, StatusFilter(f.status));
  o.limit = f.limit;
  o.after = f.after;
  AZTP_ASSIGN_OR_RETURN(auto client, ClientFor(f.server));
  AZTP_ASSIGN_OR_RETURN(IdentityPage page, client->ListIdentities(o));
  Json list = Json::array();
  for (const auto& i : page.identities) list.push_back(IdentityJson(i, false));
  return Json{{"identities", std::move(list)}, {"next", NextJson(page.next)}};
}

struct DiscoverFlags {
  ServerFlags server;
  std::string trust_domain;
  std::string prefix;
  int limit = 0;
  std::string after;
};

Result<Json> Discover(DiscoverFlags& f) {
  DiscoverOptions o;
  if (!f.trust_domain.empty()) {
    AZTP_ASSIGN_OR_RETURN(o.trust_domain, TrustDomain::Parse(f.trust_domain));
  }
  o.prefix = f.prefix;
  o.limit = f.limit;
  o.after = f.after;
  AZTP_ASSIGN_OR_RETURN(auto client, ClientFor(f.server));
  AZTP_ASSIGN_OR_RETURN(DiscoveryPage page, client->Discover(o));
  Json list = Json::array();
  for (const auto& i : page.identities) {
    list.push_back(Json{{"id", i.id.str()},
                        {"parent", OptionalId(i.parent)},
                        {"global", i.global},
                        {"metadata", i.metadata},
                        {"selectors", i.selectors}});
  }
  return Json{{"identities", std::move(list)}, {"next", NextJson(page.next)}};
}

struct LinkFlags {
  ServerFlags server;
  std::string id;
  std::string to;
  std::string kind = "linked";
  std::string metadata;
};

Result<Json> LinkCommand(LinkFlags& f) {
  AZTP_ASSIGN_OR_RETURN(SpiffeId from, SpiffeId::ParseUserInput(f.id));
  AZTP_ASSIGN_OR_RETURN(SpiffeId to, SpiffeId::ParseUserInput(f.to));
  AZTP_ASSIGN_OR_RETURN(LinkKind kind, ParseLinkKind(f.kind));
  AZTP_ASSIGN_OR_RETURN(Json metadata, ParseMetadata(f.metadata));
  AZTP_ASSIGN_OR_RETURN(auto client, ClientFor(f.server));
  AZTP_ASSIGN_OR_RETURN(Link link,
                        client->LinkIdentity(from, to, kind, metadata));
  return LinkJson(link);
}

struct RevokeFlags {
  ServerFlags server;
  std::string id;
  std::string reason;
};

Result<Json> Revoke(RevokeFlags& f) {
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, SpiffeId::ParseUserInput(f.id));
  AZTP_ASSIGN_OR_RETURN(auto client, ClientFor(f.server));
  AZTP_ASSIGN_OR_RETURN(Identity identity,
                        client->RevokeIdentity(id, f.reason));
  return IdentityJson(identity, false);
}

Result<Json> Reissue(IdFlags& f) {
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, SpiffeId::ParseUserInput(f.id));
  AZTP_ASSIGN_OR_RETURN(auto client, ClientFor(f.server));
  AZTP_ASSIGN_OR_RETURN(Identity identity, client->ReissueIdentity(id));
  return IdentityJson(identity, false);
}

void AddRegisterCommand(CLI::App* identity, Context& ctx) {
  auto fr = std::make_shared<RegisterFlags>();
  auto* reg = identity->add_subcommand("register", "Register an identity");
  AddServerFlags(reg, fr->server);
  reg->add_option("--id", fr->id, "SPIFFE ID (spiffe:// or aztp://)")
      ->required();
  reg->add_option("--parent", fr->parent, "the parent identity's ID");
  reg->add_flag("--global", fr->global, "visible beyond its trust domain");
  reg->add_flag("--discoverable", fr->discoverable,
                "listed by `aztp identity discover`");
  reg->add_option("--metadata", fr->metadata, "a JSON object");
  reg->add_option("--selector", fr->selectors, "a selector (repeatable)");
  auto* with = reg->add_option(
      "--federates-with", fr->federates_with,
      "a federated trust domain whose peers the identity accepts "
      "(repeatable; default: every federated domain)");
  reg->add_flag("--federates-with-none", fr->federates_with_none,
                "accept no federated domain")
      ->excludes(with);
  reg->callback(Run(ctx, [fr] { return Register(*fr); }));
}

// AddReadCommands: get, list and discover.
void AddReadCommands(CLI::App* identity, Context& ctx) {
  auto fg = std::make_shared<IdFlags>();
  auto* get = identity->add_subcommand("get", "Show an identity and its links");
  AddServerFlags(get, fg->server);
  get->add_option("--id", fg->id, "SPIFFE ID")->required();
  get->callback(Run(ctx, [fg] { return Get(*fg); }));

  auto fl = std::make_shared<ListFlags>();
  auto* list = identity->add_subcommand(
      "list", "List identities, one page (ordered by ID)");
  AddServerFlags(list, fl->server);
  list->add_option("--prefix", fl->prefix,
                   "ID prefix, e.g. spiffe://org-a.example/agents/");
  list->add_option("--status", fl->status, "active or revoked")
      ->check(Checked(StatusFilter));
  list->add_option("--limit", fl->limit, "page size, 1 to 1000");
  list->add_option("--after", fl->after, "the previous page's `next`");
  list->callback(Run(ctx, [fl] { return List(*fl); }));

  auto fd = std::make_shared<DiscoverFlags>();
  auto* discover = identity->add_subcommand(
      "discover", "List discoverable active identities, one page");
  AddServerFlags(discover, fd->server);
  discover->add_option("--trust-domain", fd->trust_domain,
                       "default: aztpd's own");
  discover->add_option("--prefix", fd->prefix, "ID prefix");
  discover->add_option("--limit", fd->limit, "page size");
  discover->add_option("--after", fd->after, "the previous page's `next`");
  discover->callback(Run(ctx, [fd] { return Discover(*fd); }));
}

}  // namespace

void AddIdentityCommands(CLI::App& app, Context& ctx) {
  auto* identity =
      app.add_subcommand("identity", "Identities registered with aztpd")
          ->require_subcommand(1);
  AddRegisterCommand(identity, ctx);
  AddReadCommands(identity, ctx);

  auto fk = std::make_shared<LinkFlags>();
  auto* link = identity->add_subcommand("link", "Link two identities");
  AddServerFlags(link, fk->server);
  link->add_option("--id", fk->id, "the identity the link starts from")
      ->required();
  link->add_option("--to", fk->to, "the linked identity")->required();
  link->add_option("--kind", fk->kind, "linked or parent")
      ->capture_default_str()
      ->check(Checked([](const std::string& v) { return ParseLinkKind(v); }));
  link->add_option("--metadata", fk->metadata, "a JSON object");
  link->callback(Run(ctx, [fk] { return LinkCommand(*fk); }));

  auto fv = std::make_shared<RevokeFlags>();
  auto* revoke = identity->add_subcommand(
      "revoke", "Revoke an identity: no more SVIDs, listed as revoked");
  AddServerFlags(revoke, fv->server);
  revoke->add_option("--id", fv->id, "SPIFFE ID")->required();
  revoke->add_option("--reason", fv->reason, "why (kept in the audit log)");
  revoke->callback(Run(ctx, [fv] { return Revoke(*fv); }));

  auto fi = std::make_shared<IdFlags>();
  auto* reissue = identity->add_subcommand(
      "reissue", "Make a revoked identity active again");
  AddServerFlags(reissue, fi->server);
  reissue->add_option("--id", fi->id, "SPIFFE ID")->required();
  reissue->callback(Run(ctx, [fi] { return Reissue(*fi); }));
}

}  // namespace aztp::cli

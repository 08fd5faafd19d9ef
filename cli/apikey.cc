// aztp apikey create|list|revoke: aztpd's API keys (admin keys only).
#include "command.h"

namespace aztp::cli {

namespace {

// ApiKeyJson describes a key; it never holds the secret.
Json ApiKeyJson(const ApiKey& k) {
  return Json{{"key_id", k.key_id},
              {"scope", k.scope},
              {"description", k.description},
              {"revoked", k.revoked},
              {"created_at", k.created_at}};
}

struct CreateFlags {
  ServerFlags server;
  std::string scope;
  std::string description;
};

Result<Json> Create(CreateFlags& f) {
  AZTP_ASSIGN_OR_RETURN(auto client, ClientFor(f.server));
  AZTP_ASSIGN_OR_RETURN(CreatedApiKey key,
                        client->CreateApiKey(f.scope, f.description));
  Json out = ApiKeyJson(key.info);
  // The one place the CLI prints a key: the new one, once.
  out["api_key"] = std::string(key.api_key.View(InsecureSecretAccess::Get()));
  return out;
}

struct ListFlags {
  ServerFlags server;
};

Result<Json> List(ListFlags& f) {
  AZTP_ASSIGN_OR_RETURN(auto client, ClientFor(f.server));
  AZTP_ASSIGN_OR_RETURN(std::vector<ApiKey> keys, client->ListApiKeys());
  Json list = Json::array();
  for (const auto& k : keys) list.push_back(ApiKeyJson(k));
  return Json{{"api_keys", std::move(list)}};
}

struct RevokeFlags {
  ServerFlags server;
  std::string key_id;
};

Result<Json> Revoke(RevokeFlags& f) {
  AZTP_ASSIGN_OR_RETURN(auto client, ClientFor(f.server));
  AZTP_RETURN_IF_ERROR(client->RevokeApiKey(f.key_id));
  return Json{{"key_id", f.key_id}, {"revoked", true}};
}

}  // namespace

void AddApiKeyCommands(CLI::App& app, Context& ctx) {
  auto* apikey = app.add_subcommand("apikey", "aztpd API keys (admin)")
                     ->require_subcommand(1);

  auto fc = std::make_shared<CreateFlags>();
  auto* create =
      apikey->add_subcommand("create", "Create an API key; prints it once");
  AddServerFlags(create, fc->server);
  create
      ->add_option("--scope", fc->scope,
                   "admin, or a SPIFFE path prefix such as /tools/")
      ->required();
  create->add_option("--description", fc->description, "what it is for");
  create->callback(Run(ctx, [fc] { return Create(*fc); }));

  auto fl = std::make_shared<ListFlags>();
  auto* list =
      apikey->add_subcommand("list", "List key IDs and scopes (no secrets)");
  AddServerFlags(list, fl->server);
  list->callback(Run(ctx, [fl] { return List(*fl); }));

  auto fv = std::make_shared<RevokeFlags>();
  auto* revoke = apikey->add_subcommand("revoke", "Revoke an API key");
  AddServerFlags(revoke, fv->server);
  revoke->add_option("--key-id", fv->key_id, "the key's ID")->required();
  revoke->callback(Run(ctx, [fv] { return Revoke(*fv); }));
}

}  // namespace aztp::cli

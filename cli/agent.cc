// aztp agent fetch: bootstrap an identity through the SDK agent (a key
// generated here, a CSR sent to aztpd) and write it as an identity folder.
#include "aztp/client/agent.h"

#include "aztp/base/duration.h"
#include "aztp/ca/ca_dir.h"
#include "aztp/svid/svid_dir.h"
#include "command.h"

namespace aztp::cli {

namespace {

struct FetchFlags {
  ServerFlags server;
  std::string id;
  std::string out;
  std::string key_type = "ec-p256";
  std::string ttl;
  bool force = false;
};

// CheckOut is the --force rule of agent fetch (docs/cli.md): like the SDK
// agent, which rewrites its folder at every rotation, it renews an
// identity folder of the same ID in place; any other file (another
// identity's folder, a CA folder, aztpd's data folder) needs --force.
Status CheckOut(const FetchFlags& f, const SpiffeId& id) {
  std::vector<std::string> files = SvidDir::Paths(f.out);
  for (const std::string& path : CaDirFiles(f.out)) files.push_back(path);
  Status free = RefuseToReplace(files, f.force);
  if (free) return Ok();
  auto held = SvidDirId(f.out);
  if (!held) return free;
  if (*held != id) {
    return Error(Code::kAlreadyExists,
                 f.out + " holds the identity folder of " + held->str() +
                     "; --force replaces it");
  }
  // The same identity: a renewal, unless CA files share the folder.
  std::vector<std::string> ca_files = CaDirFiles(f.out);
  std::erase(ca_files, SvidDir::BundlePath(f.out));
  return RefuseToReplace(ca_files, false);
}

Result<Json> Fetch(FetchFlags& f) {
  AgentOptions o;
  AZTP_ASSIGN_OR_RETURN(o.id, SpiffeId::ParseUserInput(f.id));
  AZTP_RETURN_IF_ERROR(CheckOut(f, *o.id));
  AZTP_ASSIGN_OR_RETURN(o.key_type, ParseKeyType(f.key_type));
  if (!f.ttl.empty()) {
    AZTP_ASSIGN_OR_RETURN(o.svid_ttl_seconds, ParseDuration(f.ttl));
  }
  o.api_key = SecretBytes(std::string_view(f.server.api_key));
  internal::WipeMemory(f.server.api_key.data(), f.server.api_key.size());
  f.server.api_key.clear();
  AZTP_ASSIGN_OR_RETURN(Bundle bundle, ReadBundleArg(f.server.bundle));
  o.trust_bundle = std::make_shared<const Bundle>(std::move(bundle));
  std::tie(o.base_url, o.failover_urls) = SplitServers(f.server.server);
  AZTP_ASSIGN_OR_RETURN(auto agent, Agent::Create(std::move(o)));
  AZTP_RETURN_IF_ERROR(agent->WriteSvidDir(f.out));
  auto creds = agent->credentials();
  const Certificate& leaf = creds->chain.front();
  Json out = Json::object();
  out["id"] = agent->id().str();
  out["trust_domain"] = agent->id().trust_domain().name();
  out["serial"] = leaf.serial_hex();
  out["key_type"] = KeyTypeName(leaf.public_key().type());
  out["expires_at"] = leaf.not_after();
  out["svid"] = SvidDir::SvidPath(f.out);
  out["key"] = SvidDir::KeyPath(f.out);
  out["bundle"] = SvidDir::BundlePath(f.out);
  return out;
}

}  // namespace

void AddAgentCommands(CLI::App& app, Context& ctx) {
  auto* agent = app.add_subcommand("agent", "The SDK agent, from the shell")
                    ->require_subcommand(1);
  auto f = std::make_shared<FetchFlags>();
  auto* fetch = agent->add_subcommand(
      "fetch",
      "Obtain an X.509-SVID from aztpd for a key made here and write an "
      "identity folder");
  AddServerFlags(fetch, f->server);
  fetch->add_option("--id", f->id, "the registered SPIFFE ID")->required();
  fetch
      ->add_option("--out", f->out,
                   "folder for svid.pem, svid.key, bundle.json")
      ->required();
  fetch->add_option("--key-type", f->key_type, "ec-p256, ec-p384 or ed25519")
      ->capture_default_str()
      ->check(KeyTypeValue());
  fetch
      ->add_option("--ttl", f->ttl,
                   "SVID lifetime, 60s to 24h (default: the server's, 1h)")
      ->check(DurationValue());
  AddForceFlag(fetch, f->force);
  fetch->callback(Run(ctx, [f] { return Fetch(*f); }));
}

}  // namespace aztp::cli

// aztp oidc exchange: an agent exchanges its user's OpenID Connect ID token
// at its trust domain's aztpd for the root of a chain that acts for that
// person (docs/oidc.md, RFC 8693), authenticated by its own X.509-SVID.
#include "aztp/svid/svid_dir.h"
#include "command.h"

namespace aztp::cli {
namespace {

constexpr std::size_t kMaxIdTokenBytes = 16 << 10;

struct ExchangeFlags {
  std::string server;
  std::string svid;
  std::string id_token;  // a file, or - for standard input
  std::vector<std::string> caps;
  std::string provider;
};

Result<Json> Exchange(const ExchangeFlags& f) {
  AZTP_ASSIGN_OR_RETURN(SvidDir dir, LoadSvidDir(f.svid, /*require_key=*/true));
  AZTP_ASSIGN_OR_RETURN(std::string token,
                        ReadInput(f.id_token, kMaxIdTokenBytes));
  const SecretBytes id_token{std::string_view(token)};
  internal::WipeMemory(token.data(), token.size());
  ClientOptions options;
  std::tie(options.base_url, options.failover_urls) = SplitServers(f.server);
  // The folder's bundle is the agent's own trust domain's: aztpd's.
  options.SetTrustBundle(dir.bundle);
  options.credentials = std::make_shared<const TlsCredentials>(
      TlsCredentials{dir.chain, *dir.key});
  AZTP_ASSIGN_OR_RETURN(std::unique_ptr<Client> client,
                        Client::Create(std::move(options)));
  AZTP_ASSIGN_OR_RETURN(PersonRoot root,
                        client->ExchangeIdToken(id_token, f.caps, f.provider));
  return Json{{"chain", root.chain},
              {"subject", root.subject},
              {"capabilities", root.capabilities},
              {"expires_in", root.expires_in}};
}

}  // namespace

void AddOidcCommands(CLI::App& app, Context& ctx) {
  CLI::App* oidc = app.add_subcommand(
      "oidc", "people at the root of chains: OpenID Connect (docs/oidc.md)");
  oidc->require_subcommand(1);
  auto f = std::make_shared<ExchangeFlags>();
  CLI::App* exchange = oidc->add_subcommand(
      "exchange",
      "exchange a person's ID token for a chain root that acts for them");
  exchange
      ->add_option("--server", f->server, "aztpd base URL, https://host:port")
      ->envname("AZTP_SERVER")
      ->required();
  exchange
      ->add_option("--svid", f->svid,
                   "the agent's identity folder (svid.pem, svid.key, "
                   "bundle.json): it is the actor and the root's audience")
      ->required();
  exchange
      ->add_option("--id-token", f->id_token,
                   "file holding the person's ID token, or - for standard "
                   "input")
      ->required();
  exchange
      ->add_option("--cap", f->caps,
                   "a capability asked for (repeatable; concrete, each "
                   "allowed by the agent's policies for this person)")
      ->required();
  exchange->add_option("--provider", f->provider,
                       "the provider's configured name (default: by the "
                       "token's issuer)");
  exchange->callback(Run(ctx, [f] { return Exchange(*f); }));
}

}  // namespace aztp::cli

#include "aztp/base/duration.h"
#include "aztp/ca/ca_dir.h"
#include "command.h"

namespace aztp::cli {

namespace {

struct CaInitFlags {
  std::string trust_domain;
  std::string out;
  std::string key_type = "ec-p256";
  std::string ttl = "365d";
  bool intermediate = false;
  bool force = false;
};

Result<Json> CaInit(const CaInitFlags& f) {
  AZTP_ASSIGN_OR_RETURN(TrustDomain td, TrustDomain::Parse(f.trust_domain));
  AZTP_RETURN_IF_ERROR(RefuseToReplace(CaDirFiles(f.out), f.force));
  CaOptions options;
  AZTP_ASSIGN_OR_RETURN(options.key_type, ParseKeyType(f.key_type));
  AZTP_ASSIGN_OR_RETURN(options.ttl_seconds, ParseDuration(f.ttl));
  options.with_intermediate = f.intermediate;
  UnixTime now = SystemClock::Default().Now();
  AZTP_ASSIGN_OR_RETURN(CertificateAuthority ca,
                        CertificateAuthority::Create(td, options, now));
  AZTP_ASSIGN_OR_RETURN(Bundle bundle, CaBundle(ca, now));
  AZTP_RETURN_IF_ERROR(WriteCaDir(f.out, ca, bundle));
  Json out = Json::object();
  out["trust_domain"] = td.name();
  out["key_type"] = KeyTypeName(options.key_type);
  out["intermediate"] = f.intermediate;
  out["expires_at"] = ca.signing_certificate().not_after();
  out["ca"] = f.out + "/ca.pem";
  out["key"] = f.out + "/ca.key";
  out["bundle"] = f.out + "/bundle.json";
  return out;
}

}  // namespace

void AddCaCommands(CLI::App& app, Context& ctx) {
  auto* ca = app.add_subcommand("ca", "Trust-domain certificate authorities")
                 ->require_subcommand(1);
  auto f = std::make_shared<CaInitFlags>();
  auto* init = ca->add_subcommand(
      "init", "Create a trust domain's CA and bundle in a folder");
  init->add_option("--trust-domain", f->trust_domain, "e.g. example.org")
      ->required();
  init->add_option("--out", f->out, "folder for ca.pem, ca.key, bundle.json")
      ->required();
  init->add_option("--key-type", f->key_type, "ec-p256, ec-p384 or ed25519")
      ->capture_default_str()
      ->check(KeyTypeValue());
  init->add_option("--ttl", f->ttl, "CA lifetime (90s, 15m, 1h, 30d)")
      ->capture_default_str()
      ->check(DurationValue());
  init->add_flag("--intermediate", f->intermediate,
                 "sign SVIDs with an intermediate under the root");
  AddForceFlag(init, f->force);
  init->callback(Run(ctx, [f] { return CaInit(*f); }));
}

}  // namespace aztp::cli

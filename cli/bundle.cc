#include "aztp/base/file.h"
#include "aztp/jose/jwk.h"
#include "command.h"

namespace aztp::cli {

namespace {

struct ShowFlags {
  std::string bundle;
};

Result<Json> Show(const ShowFlags& f) {
  AZTP_ASSIGN_OR_RETURN(Bundle bundle, ReadBundleArg(f.bundle));
  Json out = Json::object();
  out["trust_domain"] = bundle.trust_domain().name();
  out["sequence"] = bundle.sequence() ? Json(*bundle.sequence()) : Json();
  out["refresh_hint"] =
      bundle.refresh_hint() ? Json(*bundle.refresh_hint()) : Json();
  Json x509 = Json::array();
  for (const auto& cert : bundle.x509_authorities()) {
    Json a = Json::object();
    a["subject"] = cert.subject();
    a["key_type"] = KeyTypeName(cert.public_key().type());
    a["not_before"] = Rfc3339(cert.not_before());
    a["not_after"] = Rfc3339(cert.not_after());
    a["serial"] = cert.serial_hex();
    a["thumbprint"] = Jwk::FromPublicKey(cert.public_key()).Thumbprint();
    a["sha256_fingerprint"] = HexEncode(cert.Sha256Fingerprint());
    x509.push_back(std::move(a));
  }
  out["x509_authorities"] = std::move(x509);
  Json jwt = Json::array();
  for (const auto& [kid, key] : bundle.jwt_authorities()) {
    Json a = Json::object();
    a["kid"] = kid;
    a["key_type"] = KeyTypeName(key.type());
    a["thumbprint"] = Jwk::FromPublicKey(key).Thumbprint();
    jwt.push_back(std::move(a));
  }
  out["jwt_authorities"] = std::move(jwt);
  out["bundle"] = bundle.ToJson();
  return out;
}

}  // namespace

void AddBundleCommands(CLI::App& app, Context& ctx) {
  auto* bundle = app.add_subcommand("bundle", "SPIFFE trust bundles")
                     ->require_subcommand(1);
  auto f = std::make_shared<ShowFlags>();
  auto* show = bundle->add_subcommand(
      "show", "Parse a bundle and describe each authority");
  show->add_option("--bundle", f->bundle, "[TRUST_DOMAIN=]FILE")->required();
  show->callback(Run(ctx, [f] { return Show(*f); }));
}

}  // namespace aztp::cli

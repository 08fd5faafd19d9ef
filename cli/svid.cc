#include "aztp/base/duration.h"
#include "aztp/base/file.h"
#include "aztp/ca/ca_dir.h"
#include "aztp/svid/svid_dir.h"
#include "aztp/svid/x509_svid.h"
#include "aztp/x509/csr.h"
#include "command.h"

namespace aztp::cli {

namespace {

struct IssueFlags {
  std::string ca;
  std::string id;
  std::string out;
  std::string key_type = "ec-p256";
  std::string ttl = "1h";
  std::string csr;
  bool force = false;
};

Result<Json> Issue(const IssueFlags& f) {
  AZTP_ASSIGN_OR_RETURN(CertificateAuthority ca, LoadCaDir(f.ca));
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, SpiffeId::ParseUserInput(f.id));
  AZTP_ASSIGN_OR_RETURN(int64_t ttl, ParseDuration(f.ttl));
  AZTP_RETURN_IF_ERROR(RefuseToReplace(SvidDir::Paths(f.out), f.force));
  AZTP_ASSIGN_OR_RETURN(std::string bundle_json,
                        ReadFile(f.ca + "/bundle.json"));
  AZTP_ASSIGN_OR_RETURN(Bundle bundle,
                        Bundle::Parse(ca.trust_domain(), bundle_json));
  UnixTime now = SystemClock::Default().Now();
  std::optional<PrivateKey> key;
  std::vector<Certificate> chain;
  if (!f.csr.empty()) {
    AZTP_ASSIGN_OR_RETURN(std::string pem, ReadFile(f.csr, 64 << 10));
    AZTP_ASSIGN_OR_RETURN(CertificateRequest csr,
                          CertificateRequest::FromPem(pem));
    AZTP_ASSIGN_OR_RETURN(chain, ca.IssueFromCsr(id, csr, ttl, now));
  } else {
    AZTP_ASSIGN_OR_RETURN(KeyType type, ParseKeyType(f.key_type));
    AZTP_ASSIGN_OR_RETURN(key, PrivateKey::Generate(type));
    AZTP_ASSIGN_OR_RETURN(chain,
                          ca.IssueX509Svid(id, key->public_key(), ttl, now));
  }
  AZTP_RETURN_IF_ERROR(
      WriteSvidDir(f.out, chain, key ? &*key : nullptr, bundle));
  Json out = Json::object();
  out["id"] = id.str();
  out["trust_domain"] = id.trust_domain().name();
  out["serial"] = chain.front().serial_hex();
  out["key_type"] = KeyTypeName(chain.front().public_key().type());
  out["expires_at"] = chain.front().not_after();
  out["svid"] = SvidDir::SvidPath(f.out);
  if (key) out["key"] = SvidDir::KeyPath(f.out);
  out["bundle"] = SvidDir::BundlePath(f.out);
  return out;
}

struct VerifyFlags {
  std::string svid;
  std::vector<std::string> bundles;
  std::optional<int64_t> now;
};

Result<Json> Verify(const VerifyFlags& f) {
  AZTP_ASSIGN_OR_RETURN(BundleSet bundles, ParseBundleArgs(f.bundles));
  AZTP_ASSIGN_OR_RETURN(std::string pem, ReadFile(f.svid));
  AZTP_ASSIGN_OR_RETURN(std::vector<Certificate> chain,
                        ParsePemCertificates(pem, 8));
  AZTP_ASSIGN_OR_RETURN(VerifiedX509Svid svid,
                        VerifyX509Svid(chain, bundles, NowOr(f.now)));
  Json out = Json::object();
  out["id"] = svid.id().str();
  out["trust_domain"] = svid.id().trust_domain().name();
  out["expires_at"] = svid.expires_at();
  out["serial"] = svid.leaf().serial_hex();
  return out;
}

}  // namespace

void AddSvidCommands(CLI::App& app, Context& ctx) {
  auto* svid = app.add_subcommand("svid", "X.509-SVIDs")->require_subcommand(1);

  auto fi = std::make_shared<IssueFlags>();
  auto* issue = svid->add_subcommand(
      "issue", "Issue an X.509-SVID from a CA folder into an identity folder");
  issue->add_option("--ca", fi->ca, "folder made by `aztp ca init`")
      ->required();
  issue->add_option("--id", fi->id, "SPIFFE ID (spiffe:// or aztp://)")
      ->required();
  issue
      ->add_option("--out", fi->out,
                   "folder for svid.pem, svid.key, bundle.json")
      ->required();
  issue->add_option("--key-type", fi->key_type, "ec-p256, ec-p384 or ed25519")
      ->capture_default_str()
      ->check(KeyTypeValue());
  issue->add_option("--ttl", fi->ttl, "SVID lifetime (capped by the CA's)")
      ->capture_default_str()
      ->check(DurationValue());
  issue->add_option("--csr", fi->csr,
                    "PKCS#10 CSR (PEM): certify its key; no key is written");
  AddForceFlag(issue, fi->force);
  issue->callback(Run(ctx, [fi] { return Issue(*fi); }));

  auto fv = std::make_shared<VerifyFlags>();
  auto* verify = svid->add_subcommand(
      "verify", "Verify an X.509-SVID chain against trust bundles");
  verify->add_option("--svid", fv->svid, "PEM chain, leaf first")->required();
  verify
      ->add_option("--bundle", fv->bundles,
                   "TRUST_DOMAIN=FILE, or a bundle map FILE (repeatable)")
      ->required();
  verify->add_option("--now", fv->now, "verification time (Unix seconds)");
  verify->callback(Run(ctx, [fv] { return Verify(*fv); }));
}

}  // namespace aztp::cli

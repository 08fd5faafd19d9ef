#include "aztp/ca/ca_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "aztp/base/file.h"

namespace aztp {

Result<CertificateAuthority> LoadCaDir(const std::string& dir) {
  AZTP_ASSIGN_OR_RETURN(std::string pem, ReadFile(dir + "/ca.pem"));
  AZTP_ASSIGN_OR_RETURN(std::vector<Certificate> chain,
                        ParsePemCertificates(pem, 8));
  auto sans = chain.back().uri_sans();
  if (sans.size() != 1) {
    return Error(Code::kMalformed,
                 dir + "/ca.pem: root must carry one trust-domain URI SAN");
  }
  AZTP_ASSIGN_OR_RETURN(TrustDomain td, TrustDomain::Parse(sans[0]));
  AZTP_ASSIGN_OR_RETURN(SecretBytes key_pem, ReadSecretFile(dir + "/ca.key"));
  AZTP_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::FromPkcs8Pem(key_pem));
  return CertificateAuthority::Load(td, std::move(chain), std::move(key));
}

std::vector<std::string> CaDirFiles(const std::string& dir) {
  return {dir + "/ca.pem", dir + "/ca.key", dir + "/root.key",
          dir + "/bundle.json"};
}

Status WriteCaDir(const std::string& dir, const CertificateAuthority& ca,
                  const Bundle& bundle) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Error(Code::kIo,
                 "cannot create " + dir + ": " + std::strerror(errno));
  }
  AZTP_ASSIGN_OR_RETURN(SecretBytes key_pem, ca.signing_key().ToPkcs8Pem());
  AZTP_RETURN_IF_ERROR(WriteSecretFile(dir + "/ca.key", key_pem));
  if (ca.root_key().has_value()) {
    AZTP_ASSIGN_OR_RETURN(SecretBytes root_pem, ca.root_key()->ToPkcs8Pem());
    AZTP_RETURN_IF_ERROR(WriteSecretFile(dir + "/root.key", root_pem));
  } else if (::unlink((dir + "/root.key").c_str()) != 0 && errno != ENOENT) {
    return Error(Code::kIo,
                 "cannot remove " + dir + "/root.key: " + std::strerror(errno));
  }
  AZTP_RETURN_IF_ERROR(WriteFile(dir + "/ca.pem", ToPem(ca.chain())));
  return WriteFile(dir + "/bundle.json", DumpJson(bundle.ToJson(), 2) + "\n");
}

Result<Bundle> CaBundle(const CertificateAuthority& ca, int64_t sequence) {
  return Bundle::Create(ca.trust_domain(), {ca.root()}, {}, sequence,
                        std::nullopt);
}

}  // namespace aztp

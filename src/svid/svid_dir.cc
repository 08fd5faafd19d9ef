#include "aztp/svid/svid_dir.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "aztp/base/file.h"
#include "aztp/svid/x509_svid.h"

namespace aztp {

std::string SvidDir::SvidPath(const std::string& dir) {
  return dir + "/svid.pem";
}
std::string SvidDir::KeyPath(const std::string& dir) {
  return dir + "/svid.key";
}
std::string SvidDir::BundlePath(const std::string& dir) {
  return dir + "/bundle.json";
}

std::vector<std::string> SvidDir::Paths(const std::string& dir) {
  return {SvidPath(dir), KeyPath(dir), BundlePath(dir)};
}

Result<SpiffeId> SvidDirId(const std::string& dir) {
  AZTP_ASSIGN_OR_RETURN(std::string pem, ReadFile(SvidDir::SvidPath(dir)));
  AZTP_ASSIGN_OR_RETURN(std::vector<Certificate> chain,
                        ParsePemCertificates(pem, 8));
  return X509SvidId(chain.front());
}

Result<SvidDir> LoadSvidDir(const std::string& dir, bool require_key) {
  AZTP_ASSIGN_OR_RETURN(std::string pem, ReadFile(SvidDir::SvidPath(dir)));
  AZTP_ASSIGN_OR_RETURN(std::vector<Certificate> chain,
                        ParsePemCertificates(pem, 8));
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, X509SvidId(chain.front()));
  std::optional<PrivateKey> key;
  struct stat st;
  bool has_key = ::stat(SvidDir::KeyPath(dir).c_str(), &st) == 0;
  if (has_key) {
    AZTP_ASSIGN_OR_RETURN(SecretBytes key_pem,
                          ReadSecretFile(SvidDir::KeyPath(dir)));
    AZTP_ASSIGN_OR_RETURN(PrivateKey k, PrivateKey::FromPkcs8Pem(key_pem));
    if (!(k.public_key() == chain.front().public_key())) {
      return Error(Code::kInvalidArgument,
                   SvidDir::KeyPath(dir) + " does not match the SVID's key");
    }
    key = std::move(k);
  } else if (require_key) {
    return Error(Code::kIo, "cannot open " + SvidDir::KeyPath(dir) + ": " +
                                std::strerror(errno));
  }
  AZTP_ASSIGN_OR_RETURN(std::string bundle_json,
                        ReadFile(SvidDir::BundlePath(dir)));
  AZTP_ASSIGN_OR_RETURN(Bundle bundle,
                        Bundle::Parse(id.trust_domain(), bundle_json));
  return SvidDir{std::move(id), std::move(chain), std::move(key),
                 std::move(bundle)};
}

Status WriteSvidDir(const std::string& dir,
                    const std::vector<Certificate>& chain,
                    const PrivateKey* key, const Bundle& bundle) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Error(Code::kIo,
                 "cannot create " + dir + ": " + std::strerror(errno));
  }
  if (key != nullptr) {
    AZTP_ASSIGN_OR_RETURN(SecretBytes pem, key->ToPkcs8Pem());
    AZTP_RETURN_IF_ERROR(WriteSecretFile(SvidDir::KeyPath(dir), pem));
  }
  AZTP_RETURN_IF_ERROR(WriteFile(SvidDir::SvidPath(dir), ToPem(chain)));
  return WriteFile(SvidDir::BundlePath(dir),
                   DumpJson(bundle.ToJson(), 2) + "\n");
}

}  // namespace aztp

// jws_tool: a small command line over aztp's JOSE code, driven by
// tests/interop/jose_test.sh against an independent implementation.
//
//   jws_tool keygen <ec-p256|ec-p384|ed25519> <dir>
//       writes <dir>/key.pem (PKCS#8, mode 0600) and <dir>/pub.jwk
//   jws_tool sign <key.pem> <payload-file>
//       prints a compact JWS (RFC 7515 §7.1), header {"alg":..,"typ":"JWT"}
//   jws_tool verify <jwk-file> <compact-file>
//       exit 0 and prints the payload if the JWS verifies with the JWK,
//       exit 1 (reason on stderr) if it does not
//   jws_tool thumbprint <jwk-file>
//       prints the RFC 7638 SHA-256 thumbprint
//
// Exit status 2 means a usage, file or key error. Keys, signatures and
// tokens are never written to stderr.
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "aztp/base/bytes.h"
#include "aztp/base/file.h"
#include "aztp/crypto/key.h"
#include "aztp/encoding/json.h"
#include "aztp/jose/jwk.h"
#include "aztp/jose/jws.h"

namespace {

constexpr int kInvalid = 1;
constexpr int kUsage = 2;

int Usage() {
  std::fputs(
      "usage: jws_tool keygen <ec-p256|ec-p384|ed25519> <dir>\n"
      "       jws_tool sign <key.pem> <payload-file>\n"
      "       jws_tool verify <jwk-file> <compact-file>\n"
      "       jws_tool thumbprint <jwk-file>\n",
      stderr);
  return kUsage;
}

int Fail(std::string_view what, const aztp::Error& error, int status) {
  std::fprintf(stderr, "jws_tool: %.*s: %.*s: %s\n",
               static_cast<int>(what.size()), what.data(),
               static_cast<int>(error.reason().size()), error.reason().data(),
               error.message().c_str());
  return status;
}

void Print(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
}

// TrimLineEnd drops one trailing "\n" or "\r\n", as left by `echo` or a
// text editor, so that a compact JWS can be kept in a text file.
std::string_view TrimLineEnd(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return text;
}

int Keygen(const std::string& type_name, const std::string& dir) {
  auto type = aztp::ParseKeyType(type_name);
  if (!type) return Fail("keygen", type.error(), kUsage);
  auto key = aztp::PrivateKey::Generate(*type);
  if (!key) return Fail("keygen", key.error(), kUsage);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "jws_tool: cannot create %s\n", dir.c_str());
    return kUsage;
  }
  auto pem = key->ToPkcs8Pem();
  if (!pem) return Fail("keygen", pem.error(), kUsage);
  auto status = aztp::WriteSecretFile(dir + "/key.pem", *pem);
  if (!status) return Fail("keygen", status.error(), kUsage);
  std::string jwk =
      aztp::DumpJson(aztp::Jwk::FromPublicKey(key->public_key()).ToJson()) +
      "\n";
  status = aztp::WriteFile(dir + "/pub.jwk", jwk);
  if (!status) return Fail("keygen", status.error(), kUsage);
  return 0;
}

int Sign(const std::string& key_path, const std::string& payload_path) {
  auto pem = aztp::ReadSecretFile(key_path);
  if (!pem) return Fail("sign", pem.error(), kUsage);
  auto key = aztp::PrivateKey::FromPkcs8Pem(*pem);
  if (!key) return Fail("sign", key.error(), kUsage);
  auto payload = aztp::ReadFile(payload_path);
  if (!payload) return Fail("sign", payload.error(), kUsage);
  aztp::Json header = aztp::Json::object();
  header["alg"] = std::string(aztp::AlgorithmName(key->algorithm()));
  header["typ"] = "JWT";
  auto compact = aztp::SignCompact(header, aztp::AsBytes(*payload), *key);
  if (!compact) return Fail("sign", compact.error(), kUsage);
  Print(*compact);
  Print("\n");
  return 0;
}

int Verify(const std::string& jwk_path, const std::string& compact_path) {
  auto jwk_text = aztp::ReadFile(jwk_path, 1 << 20);
  if (!jwk_text) return Fail("verify", jwk_text.error(), kUsage);
  auto jwk = aztp::Jwk::FromJson(*jwk_text);
  if (!jwk) return Fail("verify: key", jwk.error(), kUsage);
  auto compact = aztp::ReadFile(compact_path, 1 << 20);
  if (!compact) return Fail("verify", compact.error(), kUsage);
  auto jws = aztp::ParseCompact(TrimLineEnd(*compact));
  if (!jws) return Fail("verify", jws.error(), kInvalid);
  auto status = aztp::VerifySignature(*jws, *jwk);
  if (!status) return Fail("verify", status.error(), kInvalid);
  Print(aztp::AsChars(jws->payload()));
  return 0;
}

int Thumbprint(const std::string& jwk_path) {
  auto jwk_text = aztp::ReadFile(jwk_path, 1 << 20);
  if (!jwk_text) return Fail("thumbprint", jwk_text.error(), kUsage);
  auto jwk = aztp::Jwk::FromJson(*jwk_text);
  if (!jwk) return Fail("thumbprint", jwk.error(), kUsage);
  Print(jwk->Thumbprint());
  Print("\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  std::string_view command = argv[1];
  if (command == "keygen" && argc == 4) return Keygen(argv[2], argv[3]);
  if (command == "sign" && argc == 4) return Sign(argv[2], argv[3]);
  if (command == "verify" && argc == 4) return Verify(argv[2], argv[3]);
  if (command == "thumbprint" && argc == 3) return Thumbprint(argv[2]);
  return Usage();
}

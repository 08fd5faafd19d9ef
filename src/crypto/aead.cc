#include "aztp/crypto/aead.h"

#include <openssl/evp.h>

#include <algorithm>
#include <vector>

#include "aztp/crypto/digest.h"
#include "internal/ossl.h"

namespace aztp {
namespace {

constexpr uint8_t kVersion = 1;
constexpr std::size_t kNonceBytes = 12;  // SP 800-38D §8.2.2
constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kOverhead = 1 + kNonceBytes + kTagBytes;

Status CheckKey(const SecretBytes& key) {
  if (key.size() != kSealKeyBytes) {
    return Error(Code::kInvalidArgument,
                 "seal: the key must be " + std::to_string(kSealKeyBytes) +
                     " bytes, not " + std::to_string(key.size()));
  }
  return Ok();
}

int Len(std::size_t n) { return static_cast<int>(n); }

// Start makes a context for AES-256-GCM in one direction with `nonce`,
// fed `context` as additional authenticated data.
Result<internal::OsslPtr<EVP_CIPHER_CTX>> Start(const SecretBytes& key,
                                                const uint8_t* nonce,
                                                std::string_view context,
                                                bool encrypt) {
  internal::OsslPtr<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  const uint8_t* k = key.Bytes(InsecureSecretAccess::Get()).data();
  int unused = 0;
  if (!ctx ||
      EVP_CipherInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, k, nonce,
                        encrypt ? 1 : 0) != 1 ||
      EVP_CipherUpdate(ctx.get(), nullptr, &unused,
                       reinterpret_cast<const uint8_t*>(context.data()),
                       Len(context.size())) != 1) {
    return internal::OpensslError(Code::kInternal, "seal: AES-256-GCM");
  }
  return ctx;
}

}  // namespace

Result<Bytes> Seal(const SecretBytes& key, const SecretBytes& plaintext,
                   std::string_view context) {
  AZTP_RETURN_IF_ERROR(CheckKey(key));
  AZTP_ASSIGN_OR_RETURN(Bytes nonce, RandomBytes(kNonceBytes));
  const std::span<const uint8_t> in =
      plaintext.Bytes(InsecureSecretAccess::Get());
  Bytes out(kOverhead + in.size());
  out[0] = kVersion;
  std::copy(nonce.begin(), nonce.end(), out.begin() + 1);
  AZTP_ASSIGN_OR_RETURN(auto ctx,
                        Start(key, nonce.data(), context, /*encrypt=*/true));
  uint8_t* body = out.data() + 1 + kNonceBytes;
  int n = 0;
  int last = 0;
  if (EVP_EncryptUpdate(ctx.get(), body, &n, in.data(), Len(in.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), body + n, &last) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, Len(kTagBytes),
                          body + in.size()) != 1) {
    return internal::OpensslError(Code::kInternal, "seal: AES-256-GCM");
  }
  return out;
}

Result<SecretBytes> Unseal(const SecretBytes& key,
                           std::span<const uint8_t> sealed,
                           std::string_view context) {
  AZTP_RETURN_IF_ERROR(CheckKey(key));
  if (sealed.size() < kOverhead || sealed[0] != kVersion) {
    return Error(Code::kMalformed, "seal: not a sealed value");
  }
  const std::size_t size = sealed.size() - kOverhead;
  const uint8_t* body = sealed.data() + 1 + kNonceBytes;
  AZTP_ASSIGN_OR_RETURN(
      auto ctx, Start(key, sealed.data() + 1, context, /*encrypt=*/false));
  // The plaintext is a secret: it lives only in wiped memory.
  std::vector<uint8_t, internal::WipingAllocator<uint8_t>> out(size + 1);
  Bytes tag(body + size, body + size + kTagBytes);
  int n = 0;
  int last = 0;
  if (EVP_DecryptUpdate(ctx.get(), out.data(), &n, body, Len(size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, Len(kTagBytes),
                          tag.data()) != 1) {
    return internal::OpensslError(Code::kInternal, "seal: AES-256-GCM");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), out.data() + n, &last) != 1) {
    internal::ClearOpensslErrors();
    return Error(Code::kBadSignature,
                 "seal: the sealed value does not authenticate (changed, "
                 "moved, or sealed under another key)");
  }
  return SecretBytes(std::span<const uint8_t>(out.data(), size));
}

}  // namespace aztp

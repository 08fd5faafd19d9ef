#include "aztp/crypto/key.h"

#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <vector>

#include "internal/ossl.h"

namespace aztp {

using internal::OpensslError;
using internal::OsslPtr;

namespace {

std::shared_ptr<EVP_PKEY> Share(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

// HasRocaFingerprint is true when `n` has the structure of the moduli made
// by the key generator of CVE-2017-15361 ("ROCA"): their primes are
// k * M + (65537^a mod M) with M the product of the first 126 primes (for
// keys of 1984 bits and more, which covers every size aztp accepts), so
// n mod r lies in the subgroup that 65537 generates modulo each odd prime
// r up to 701. A random modulus passes all 125 tests with probability
// about 2^-167. Such keys can be factored; they are refused.
bool HasRocaFingerprint(std::span<const uint8_t> n) {
  static const std::vector<uint32_t> primes = [] {
    std::vector<uint32_t> out;
    for (uint32_t c = 3; out.size() < 125; c += 2) {
      bool prime = true;
      for (uint32_t p : out) {
        if (p * p > c) break;
        if (c % p == 0) {
          prime = false;
          break;
        }
      }
      if (prime) out.push_back(c);
    }
    return out;
  }();
  for (uint32_t r : primes) {
    uint32_t residue = 0;
    for (uint8_t byte : n) residue = (residue * 256 + byte) % r;
    const uint32_t g = 65537 % r;
    bool in_subgroup = false;
    uint32_t x = 1;
    do {
      if (x == residue) {
        in_subgroup = true;
        break;
      }
      x = x * g % r;
    } while (x != 1);
    if (!in_subgroup) return false;
  }
  return true;
}

// CheckRsaKey refuses RSA public keys that are unsafe whatever their
// source: fewer than 2048 bits, an even modulus, an exponent below 3 or even
// (with e = 1 every message is its own signature), and ROCA moduli.
Status CheckRsaKey(EVP_PKEY* key) {
  if (EVP_PKEY_get_bits(key) < 2048) {
    return Error(Code::kUnsupported, "RSA keys must have >= 2048 bits");
  }
  BIGNUM* raw_n = nullptr;
  BIGNUM* raw_e = nullptr;
  if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &raw_n) != 1 ||
      EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &raw_e) != 1) {
    BN_free(raw_n);
    return OpensslError(Code::kMalformed, "reading RSA key");
  }
  OsslPtr<BIGNUM> n(raw_n);
  OsslPtr<BIGNUM> e(raw_e);
  if (!BN_is_odd(n.get()))
    return Error(Code::kMalformed, "RSA modulus is even");
  if (!BN_is_odd(e.get()) || BN_cmp(e.get(), BN_value_one()) <= 0) {
    return Error(Code::kMalformed, "RSA exponent must be odd and at least 3");
  }
  Bytes n_bytes(static_cast<size_t>(BN_num_bytes(n.get())));
  BN_bn2bin(n.get(), n_bytes.data());
  if (HasRocaFingerprint(n_bytes)) {
    return Error(Code::kUnsupported,
                 "RSA modulus has the CVE-2017-15361 (ROCA) structure");
  }
  return Ok();
}

// ClassifyKey maps an OpenSSL key to a KeyType, rejecting other curves and
// algorithms.
Result<KeyType> ClassifyKey(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
      char group[64] = {0};
      size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                         sizeof(group), &len) != 1) {
        internal::ClearOpensslErrors();
        return Error(Code::kUnsupported, "EC key without a named curve");
      }
      std::string_view name(group, len);
      if (name == "prime256v1" || name == "P-256") return KeyType::kEcP256;
      if (name == "secp384r1" || name == "P-384") return KeyType::kEcP384;
      return Error(Code::kUnsupported,
                   "EC curve " + std::string(name) + " is not supported");
    }
    case EVP_PKEY_ED25519:
      return KeyType::kEd25519;
    case EVP_PKEY_RSA: {
      AZTP_RETURN_IF_ERROR(CheckRsaKey(key));
      return KeyType::kRsa;
    }
    default:
      return Error(Code::kUnsupported, "key algorithm is not supported");
  }
}

int CoordinateSize(KeyType type) { return type == KeyType::kEcP384 ? 48 : 32; }

// EcdsaRawToDer encodes the integers r and s (big-endian, fixed size) as
// the DER SEQUENCE OpenSSL verifies. Values out of range are left for
// OpenSSL to reject.
Bytes EcdsaRawToDer(std::span<const uint8_t> r, std::span<const uint8_t> s) {
  auto integer = [](std::span<const uint8_t> v, Bytes& out) {
    std::size_t i = 0;
    while (i + 1 < v.size() && v[i] == 0) ++i;
    bool pad = (v[i] & 0x80) != 0;
    out.push_back(0x02);
    out.push_back(static_cast<uint8_t>(v.size() - i + (pad ? 1 : 0)));
    if (pad) out.push_back(0x00);
    out.insert(out.end(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  };
  Bytes body;
  body.reserve(2 * r.size() + 6);
  integer(r, body);
  integer(s, body);
  Bytes out;
  out.reserve(body.size() + 2);
  out.push_back(0x30);
  out.push_back(static_cast<uint8_t>(body.size()));  // < 128 for P-256/P-384
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Result<Bytes> BnToPadded(const BIGNUM* bn, int size) {
  Bytes out(static_cast<size_t>(size));
  if (BN_bn2binpad(bn, out.data(), size) != size) {
    return Error(Code::kInternal, "big number does not fit");
  }
  return out;
}

Result<Bytes> GetBnParam(EVP_PKEY* key, const char* name, int pad) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
    return OpensslError(Code::kInternal, "reading key parameter");
  }
  OsslPtr<BIGNUM> bn(raw);
  if (pad > 0) return BnToPadded(bn.get(), pad);
  Bytes out(static_cast<size_t>(BN_num_bytes(bn.get())));
  BN_bn2bin(bn.get(), out.data());
  return out;
}

Result<PublicKey> FromParams(const char* type, OSSL_PARAM_BLD* bld) {
  OsslPtr<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(bld));
  OsslPtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) {
    return OpensslError(Code::kInternal, "preparing key import");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) !=
      1) {
    return OpensslError(Code::kMalformed, "invalid public key");
  }
  OsslPtr<EVP_PKEY> key(raw);
  return PublicKey::FromEvp(key.get());
}

}  // namespace

std::string_view KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kEcP256:
      return "ec-p256";
    case KeyType::kEcP384:
      return "ec-p384";
    case KeyType::kEd25519:
      return "ed25519";
    case KeyType::kRsa:
      return "rsa";
  }
  return "unknown";
}

Result<KeyType> ParseKeyType(std::string_view name) {
  if (name == "ec-p256") return KeyType::kEcP256;
  if (name == "ec-p384") return KeyType::kEcP384;
  if (name == "ed25519") return KeyType::kEd25519;
  return Error(Code::kInvalidArgument,
               QuoteInput(name) +
                   " is not a key type; write ec-p256, ec-p384 or ed25519");
}

std::string_view AlgorithmName(SignatureAlgorithm alg) {
  switch (alg) {
    case SignatureAlgorithm::kES256:
      return "ES256";
    case SignatureAlgorithm::kES384:
      return "ES384";
    case SignatureAlgorithm::kEdDSA:
      return "EdDSA";
    case SignatureAlgorithm::kRS256:
      return "RS256";
    case SignatureAlgorithm::kPS256:
      return "PS256";
  }
  return "unknown";
}

Result<SignatureAlgorithm> ParseAlgorithm(std::string_view name) {
  if (name == "ES256") return SignatureAlgorithm::kES256;
  if (name == "ES384") return SignatureAlgorithm::kES384;
  if (name == "EdDSA") return SignatureAlgorithm::kEdDSA;
  if (name == "RS256") return SignatureAlgorithm::kRS256;
  if (name == "PS256") return SignatureAlgorithm::kPS256;
  return Error(Code::kAlgNotAllowed, "algorithm is not allowed");
}

Result<SignatureAlgorithm> AlgorithmForKeyType(KeyType type) {
  switch (type) {
    case KeyType::kEcP256:
      return SignatureAlgorithm::kES256;
    case KeyType::kEcP384:
      return SignatureAlgorithm::kES384;
    case KeyType::kEd25519:
      return SignatureAlgorithm::kEdDSA;
    case KeyType::kRsa:
      break;
  }
  return Error(Code::kUnsupported, "aztp does not sign with RSA keys");
}

// ---- PublicKey ----

Result<PublicKey> PublicKey::FromEvp(EVP_PKEY* key) {
  if (key == nullptr) return Error(Code::kInternal, "no key");
  AZTP_ASSIGN_OR_RETURN(KeyType type, ClassifyKey(key));
  if (type == KeyType::kEcP256 || type == KeyType::kEcP384) {
    OsslPtr<EVP_PKEY_CTX> ctx(
        EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
    // P-256 and P-384 have cofactor 1, so a point on the curve is in the
    // prime-order group: the quick check (on the curve, not infinity) is
    // complete, and avoids the full check's scalar multiplication.
    if (!ctx || EVP_PKEY_public_check_quick(ctx.get()) != 1) {
      return OpensslError(Code::kMalformed, "EC point is not on the curve");
    }
  }
  if (EVP_PKEY_up_ref(key) != 1) {
    return OpensslError(Code::kInternal, "key reference");
  }
  return PublicKey(Share(key), type);
}

Result<PublicKey> PublicKey::FromSpkiDer(std::span<const uint8_t> der) {
  const unsigned char* p = der.data();
  OsslPtr<EVP_PKEY> key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!key) return OpensslError(Code::kMalformed, "invalid public key DER");
  if (p != der.data() + der.size()) {
    return Error(Code::kMalformed, "trailing data after public key");
  }
  return FromEvp(key.get());
}

Result<PublicKey> PublicKey::FromPem(std::string_view pem) {
  auto bio = internal::NewMemBio(pem);
  OsslPtr<EVP_PKEY> key(
      PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return OpensslError(Code::kMalformed, "invalid public key PEM");
  return FromEvp(key.get());
}

Result<PublicKey> PublicKey::FromEcCoordinates(KeyType type,
                                               std::span<const uint8_t> x,
                                               std::span<const uint8_t> y) {
  if (type != KeyType::kEcP256 && type != KeyType::kEcP384) {
    return Error(Code::kInvalidArgument, "not an EC key type");
  }
  size_t n = static_cast<size_t>(CoordinateSize(type));
  if (x.size() != n || y.size() != n) {
    return Error(Code::kMalformed, "EC coordinates have the wrong length");
  }
  Bytes point;
  point.reserve(1 + 2 * n);
  point.push_back(0x04);
  point.insert(point.end(), x.begin(), x.end());
  point.insert(point.end(), y.begin(), y.end());
  OsslPtr<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
  const char* group = type == KeyType::kEcP256 ? "prime256v1" : "secp384r1";
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                      group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                       point.data(), point.size()) != 1) {
    return OpensslError(Code::kInternal, "building EC key parameters");
  }
  return FromParams("EC", bld.get());
}

Result<PublicKey> PublicKey::FromEd25519(std::span<const uint8_t> raw) {
  if (raw.size() != 32) {
    return Error(Code::kMalformed, "Ed25519 public key must be 32 bytes");
  }
  OsslPtr<EVP_PKEY> key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                                    raw.data(), raw.size()));
  if (!key) return OpensslError(Code::kMalformed, "invalid Ed25519 key");
  return FromEvp(key.get());
}

Result<PublicKey> PublicKey::FromRsa(std::span<const uint8_t> n,
                                     std::span<const uint8_t> e) {
  if (n.empty() || e.empty() || n.size() > 2048 || e.size() > 8) {
    return Error(Code::kMalformed, "RSA modulus or exponent has a bad size");
  }
  OsslPtr<BIGNUM> bn_n(
      BN_bin2bn(n.data(), static_cast<int>(n.size()), nullptr));
  OsslPtr<BIGNUM> bn_e(
      BN_bin2bn(e.data(), static_cast<int>(e.size()), nullptr));
  OsslPtr<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) !=
          1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) !=
          1) {
    return OpensslError(Code::kInternal, "building RSA key parameters");
  }
  return FromParams("RSA", bld.get());
}

int PublicKey::bits() const { return EVP_PKEY_get_bits(key_.get()); }

Bytes PublicKey::SpkiDer() const {
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(key_.get(), &der);
  if (n <= 0) return {};
  Bytes out(der, der + n);
  OPENSSL_free(der);
  return out;
}

std::string PublicKey::ToPem() const {
  OsslPtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) return {};
  return internal::BioContents(bio.get());
}

Result<std::pair<Bytes, Bytes>> PublicKey::EcCoordinates() const {
  if (type_ != KeyType::kEcP256 && type_ != KeyType::kEcP384) {
    return Error(Code::kInvalidArgument, "not an EC key");
  }
  int size = CoordinateSize(type_);
  AZTP_ASSIGN_OR_RETURN(Bytes x,
                        GetBnParam(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X, size));
  AZTP_ASSIGN_OR_RETURN(Bytes y,
                        GetBnParam(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, size));
  return std::make_pair(std::move(x), std::move(y));
}

Result<Bytes> PublicKey::Ed25519Raw() const {
  if (type_ != KeyType::kEd25519) {
    return Error(Code::kInvalidArgument, "not an Ed25519 key");
  }
  Bytes out(32);
  size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(key_.get(), out.data(), &len) != 1 ||
      len != 32) {
    return OpensslError(Code::kInternal, "reading Ed25519 key");
  }
  return out;
}

Result<std::pair<Bytes, Bytes>> PublicKey::RsaComponents() const {
  if (type_ != KeyType::kRsa) {
    return Error(Code::kInvalidArgument, "not an RSA key");
  }
  AZTP_ASSIGN_OR_RETURN(Bytes n,
                        GetBnParam(key_.get(), OSSL_PKEY_PARAM_RSA_N, 0));
  AZTP_ASSIGN_OR_RETURN(Bytes e,
                        GetBnParam(key_.get(), OSSL_PKEY_PARAM_RSA_E, 0));
  return std::make_pair(std::move(n), std::move(e));
}

bool PublicKey::Allows(SignatureAlgorithm alg) const {
  switch (alg) {
    case SignatureAlgorithm::kES256:
      return type_ == KeyType::kEcP256;
    case SignatureAlgorithm::kES384:
      return type_ == KeyType::kEcP384;
    case SignatureAlgorithm::kEdDSA:
      return type_ == KeyType::kEd25519;
    case SignatureAlgorithm::kRS256:
    case SignatureAlgorithm::kPS256:
      return type_ == KeyType::kRsa;
  }
  return false;
}

Status PublicKey::Verify(SignatureAlgorithm alg, std::span<const uint8_t> data,
                         std::span<const uint8_t> signature) const {
  if (!Allows(alg)) {
    return Error(Code::kAlgNotAllowed,
                 std::string(AlgorithmName(alg)) + " is not allowed for " +
                     std::string(KeyTypeName(type_)) + " keys");
  }
  auto bad = [] { return Error(Code::kBadSignature, "signature is invalid"); };
  // ECDSA: JWS carries r || s; OpenSSL wants DER (RFC 3279 §2.2.3).
  Bytes der;
  std::span<const uint8_t> sig = signature;
  if (type_ == KeyType::kEcP256 || type_ == KeyType::kEcP384) {
    size_t n = static_cast<size_t>(CoordinateSize(type_));
    if (signature.size() != 2 * n) return bad();
    der = EcdsaRawToDer(signature.first(n), signature.subspan(n));
    sig = der;
  }
  OsslPtr<EVP_MD_CTX> md(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!md ||
      EVP_DigestVerifyInit(md.get(), &pctx, internal::SignatureDigest(alg),
                           nullptr, key_.get()) != 1) {
    return OpensslError(Code::kInternal, "initialising verification");
  }
  if (alg == SignatureAlgorithm::kPS256) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1) {
      return OpensslError(Code::kInternal, "configuring RSA-PSS");
    }
  } else if (alg == SignatureAlgorithm::kRS256) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
      return OpensslError(Code::kInternal, "configuring RSA PKCS#1");
    }
  }
  int ok = EVP_DigestVerify(md.get(), sig.data(), sig.size(), data.data(),
                            data.size());
  if (ok != 1) {
    internal::ClearOpensslErrors();
    return bad();
  }
  return Ok();
}

bool operator==(const PublicKey& a, const PublicKey& b) {
  return a.type_ == b.type_ && EVP_PKEY_eq(a.key_.get(), b.key_.get()) == 1;
}

// ---- PrivateKey ----

Result<PrivateKey> PrivateKey::Generate(KeyType type) {
  EVP_PKEY* raw = nullptr;
  switch (type) {
    case KeyType::kEcP256:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case KeyType::kEcP384:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
      break;
    case KeyType::kEd25519:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    case KeyType::kRsa:
      return Error(Code::kUnsupported, "aztp does not generate RSA keys");
  }
  if (raw == nullptr) return OpensslError(Code::kInternal, "generating key");
  OsslPtr<EVP_PKEY> key(raw);
  AZTP_ASSIGN_OR_RETURN(PublicKey pub, PublicKey::FromEvp(key.get()));
  return PrivateKey(Share(key.release()), std::move(pub));
}

Result<PrivateKey> PrivateKey::FromPkcs8Pem(const SecretBytes& pem) {
  std::string_view text = pem.View(InsecureSecretAccess::Get());
  // The PEM label of an unencrypted PKCS#8 key (RFC 7468 §10).
  constexpr std::string_view kPkcs8Label = "PRIVATE KEY-----";
  if (text.find(std::string("-----BEGIN ") + std::string(kPkcs8Label)) ==
      std::string_view::npos) {
    return Error(Code::kMalformed,
                 "expected an unencrypted PKCS#8 PEM (BEGIN PRIVATE KEY)");
  }
  auto bio = internal::NewMemBio(text);
  // An empty passphrase callback: encrypted keys fail instead of prompting.
  OsslPtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(
      bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
  if (!key) return OpensslError(Code::kMalformed, "invalid private key PEM");
  AZTP_ASSIGN_OR_RETURN(PublicKey pub, PublicKey::FromEvp(key.get()));
  if (pub.type() == KeyType::kRsa) {
    return Error(Code::kUnsupported, "aztp does not sign with RSA keys");
  }
  return PrivateKey(Share(key.release()), std::move(pub));
}

Result<SecretBytes> PrivateKey::ToPkcs8Pem() const {
  OsslPtr<BIO> bio(BIO_new(BIO_s_secmem()));
  if (!bio) bio.reset(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PKCS8PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0,
                                    nullptr, nullptr) != 1) {
    return OpensslError(Code::kInternal, "exporting private key");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  if (n <= 0) return Error(Code::kInternal, "exporting private key");
  return SecretBytes(std::string_view(data, static_cast<size_t>(n)));
}

SignatureAlgorithm PrivateKey::algorithm() const {
  // A PrivateKey is never RSA (Generate and FromPkcs8Pem refuse it), so
  // every type has its algorithm.
  switch (type()) {
    case KeyType::kEcP384:
      return SignatureAlgorithm::kES384;
    case KeyType::kEd25519:
      return SignatureAlgorithm::kEdDSA;
    default:
      return SignatureAlgorithm::kES256;
  }
}

Result<Bytes> PrivateKey::Sign(std::span<const uint8_t> data) const {
  SignatureAlgorithm alg = algorithm();
  OsslPtr<EVP_MD_CTX> md(EVP_MD_CTX_new());
  if (!md ||
      EVP_DigestSignInit(md.get(), nullptr, internal::SignatureDigest(alg),
                         nullptr, key_.get()) != 1) {
    return OpensslError(Code::kInternal, "initialising signature");
  }
  size_t len = 0;
  if (EVP_DigestSign(md.get(), nullptr, &len, data.data(), data.size()) != 1) {
    return OpensslError(Code::kInternal, "signing");
  }
  Bytes sig(len);
  if (EVP_DigestSign(md.get(), sig.data(), &len, data.data(), data.size()) !=
      1) {
    return OpensslError(Code::kInternal, "signing");
  }
  sig.resize(len);
  if (type() == KeyType::kEd25519) return sig;
  // ECDSA: DER -> r || s.
  const unsigned char* p = sig.data();
  OsslPtr<ECDSA_SIG> ecsig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  if (!ecsig) return OpensslError(Code::kInternal, "decoding signature");
  int n = CoordinateSize(type());
  AZTP_ASSIGN_OR_RETURN(Bytes r, BnToPadded(ECDSA_SIG_get0_r(ecsig.get()), n));
  AZTP_ASSIGN_OR_RETURN(Bytes s, BnToPadded(ECDSA_SIG_get0_s(ecsig.get()), n));
  r.insert(r.end(), s.begin(), s.end());
  return r;
}

}  // namespace aztp

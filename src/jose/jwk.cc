#include "aztp/jose/jwk.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <span>
#include <utility>

#include "aztp/crypto/digest.h"
#include "aztp/encoding/base64.h"
#include "internal/ossl.h"

namespace aztp {

namespace {

using internal::OsslPtr;

// Members that carry private or secret key material: RFC 7518 §6.2.2 (EC
// "d"), §6.3.2 (RSA "d", "p", "q", "dp", "dq", "qi", "oth"), §6.4.1 (oct
// "k") and RFC 8037 §2 (OKP "d").
constexpr std::string_view kPrivateMembers[] = {"d",  "p",  "q",   "dp",
                                                "dq", "qi", "oth", "k"};

Error Malformed(std::string message) {
  return Error(Code::kMalformed, "jwk: " + std::move(message));
}

// DecodeMember reads a required base64url string member.
Result<Bytes> DecodeMember(const Json& object, std::string_view name) {
  auto text = GetString(object, name);
  if (!text) return text.error().WithContext("jwk");
  auto bytes = Base64UrlDecode(*text);
  if (!bytes) {
    return Malformed("member \"" + std::string(name) +
                     "\" is not unpadded base64url");
  }
  return std::move(*bytes);
}

Result<std::optional<std::string>> OptionalString(const Json& object,
                                                  std::string_view name) {
  auto value = GetOptionalString(object, name);
  if (!value) return value.error().WithContext("jwk");
  return std::move(*value);
}

// ParseEc reads an EC public key (RFC 7518 §6.2.1).
Result<PublicKey> ParseEc(const Json& object, bool* unknown_type) {
  auto crv = GetString(object, "crv");
  if (!crv) return crv.error().WithContext("jwk");
  KeyType type;
  if (*crv == "P-256") {
    type = KeyType::kEcP256;
  } else if (*crv == "P-384") {
    type = KeyType::kEcP384;
  } else {
    *unknown_type = true;
    return Error(Code::kUnsupported, "jwk: EC curve is not supported");
  }
  AZTP_ASSIGN_OR_RETURN(Bytes x, DecodeMember(object, "x"));
  AZTP_ASSIGN_OR_RETURN(Bytes y, DecodeMember(object, "y"));
  // RFC 7518 §6.2.1.2-3: exactly the size of a field element.
  size_t size = type == KeyType::kEcP256 ? 32 : 48;
  if (x.size() != size || y.size() != size) {
    return Malformed("EC coordinates must be exactly " + std::to_string(size) +
                     " bytes");
  }
  auto key = PublicKey::FromEcCoordinates(type, x, y);
  if (!key) return key.error().WithContext("jwk");
  return std::move(*key);
}

// ParseOkp reads an Ed25519 public key (RFC 8037 §2).
Result<PublicKey> ParseOkp(const Json& object, bool* unknown_type) {
  auto crv = GetString(object, "crv");
  if (!crv) return crv.error().WithContext("jwk");
  if (*crv != "Ed25519") {
    *unknown_type = true;
    return Error(Code::kUnsupported, "jwk: OKP curve is not supported");
  }
  AZTP_ASSIGN_OR_RETURN(Bytes x, DecodeMember(object, "x"));
  if (x.size() != 32) return Malformed("Ed25519 key must be 32 bytes");
  auto key = PublicKey::FromEd25519(x);
  if (!key) return key.error().WithContext("jwk");
  return std::move(*key);
}

// ParseRsa reads an RSA public key (RFC 7518 §6.3.1).
Result<PublicKey> ParseRsa(const Json& object) {
  AZTP_ASSIGN_OR_RETURN(Bytes n, DecodeMember(object, "n"));
  AZTP_ASSIGN_OR_RETURN(Bytes e, DecodeMember(object, "e"));
  if (n.empty() || e.empty()) return Malformed("RSA n or e is empty");
  // RFC 7518 §6.3.1.1-2: the minimum number of octets. Rejecting the
  // alternatives keeps one encoding, and one thumbprint, per key.
  if (n[0] == 0 || e[0] == 0) {
    return Malformed("RSA n or e has a leading zero octet");
  }
  // PublicKey refuses weak RSA keys (even modulus, exponent < 3 or even,
  // ROCA moduli) whatever their source.
  auto key = PublicKey::FromRsa(n, e);
  if (!key) return key.error().WithContext("jwk");
  return std::move(*key);
}

// ParseX5c decodes `x5c` (RFC 7517 §4.7) and checks that the first
// certificate holds `key`.
Result<std::vector<Bytes>> ParseX5c(const Json& value, const PublicKey& key) {
  if (!value.is_array() || value.empty()) {
    return Malformed("member \"x5c\" must be a non-empty array");
  }
  std::vector<Bytes> chain;
  chain.reserve(value.size());
  for (const Json& entry : value) {
    if (!entry.is_string()) {
      return Malformed("member \"x5c\" must hold strings");
    }
    // RFC 7517 §4.7: standard base64 (not base64url) DER.
    auto der = Base64Decode(entry.get_ref<const std::string&>());
    if (!der) return Malformed("an \"x5c\" entry is not padded base64");
    chain.push_back(std::move(*der));
  }
  const Bytes& leaf = chain.front();
  const unsigned char* p = leaf.data();
  OsslPtr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(leaf.size())));
  if (!cert || p != leaf.data() + leaf.size()) {
    internal::ClearOpensslErrors();
    return Malformed("the first \"x5c\" entry is not a DER certificate");
  }
  EVP_PKEY* leaf_key = X509_get0_pubkey(cert.get());
  if (leaf_key == nullptr || EVP_PKEY_eq(leaf_key, key.evp()) != 1) {
    internal::ClearOpensslErrors();
    return Malformed("the first \"x5c\" certificate holds another key");
  }
  return chain;
}

Result<std::optional<std::vector<std::string>>> ParseKeyOps(
    const Json& object) {
  auto it = object.find("key_ops");
  if (it == object.end()) return std::optional<std::vector<std::string>>();
  if (!it->is_array()) return Malformed("member \"key_ops\" must be an array");
  std::vector<std::string> ops;
  std::set<std::string> seen;
  for (const Json& op : *it) {
    if (!op.is_string()) {
      return Malformed("member \"key_ops\" must hold strings");
    }
    const auto& s = op.get_ref<const std::string&>();
    // RFC 7517 §4.3: "Duplicate key operation values MUST NOT be present".
    if (!seen.insert(s).second) {
      return Malformed("member \"key_ops\" repeats a value");
    }
    ops.push_back(s);
  }
  return std::optional<std::vector<std::string>>(std::move(ops));
}

}  // namespace

Result<Jwk> Jwk::ParseImpl(const Json& object, bool* unknown_type) {
  *unknown_type = false;
  if (!object.is_object()) return Malformed("not a JSON object");
  for (std::string_view member : kPrivateMembers) {
    if (object.contains(member)) {
      return Malformed("private key member \"" + std::string(member) +
                       "\" is not allowed");
    }
  }
  auto kty = GetString(object, "kty");
  if (!kty) return kty.error().WithContext("jwk");
  std::optional<PublicKey> key;
  if (*kty == "EC") {
    AZTP_ASSIGN_OR_RETURN(key, ParseEc(object, unknown_type));
  } else if (*kty == "OKP") {
    AZTP_ASSIGN_OR_RETURN(key, ParseOkp(object, unknown_type));
  } else if (*kty == "RSA") {
    AZTP_ASSIGN_OR_RETURN(key, ParseRsa(object));
  } else {
    *unknown_type = true;
    return Error(Code::kUnsupported, "jwk: key type is not supported");
  }
  Jwk jwk(std::move(*key));
  AZTP_ASSIGN_OR_RETURN(jwk.kid_, OptionalString(object, "kid"));
  AZTP_ASSIGN_OR_RETURN(jwk.use_, OptionalString(object, "use"));
  AZTP_ASSIGN_OR_RETURN(jwk.key_ops_, ParseKeyOps(object));
  AZTP_ASSIGN_OR_RETURN(auto alg_name, OptionalString(object, "alg"));
  if (alg_name) {
    auto alg = ParseAlgorithm(*alg_name);
    if (!alg) return alg.error().WithContext("jwk");
    if (!jwk.key_.Allows(*alg)) {
      return Error(Code::kAlgNotAllowed, "jwk: alg " +
                                             std::string(AlgorithmName(*alg)) +
                                             " does not fit the key type");
    }
    jwk.alg_ = *alg;
  }
  auto x5c = object.find("x5c");
  if (x5c != object.end()) {
    AZTP_ASSIGN_OR_RETURN(jwk.x5c_, ParseX5c(*x5c, jwk.key_));
  }
  return jwk;
}

Result<Jwk> Jwk::Parse(const Json& object) {
  bool unknown_type = false;
  return ParseImpl(object, &unknown_type);
}

Result<Jwk> Jwk::FromJson(std::string_view text, const JsonLimits& limits) {
  auto json = ParseJson(text, limits);
  if (!json) return json.error().WithContext("jwk");
  return Parse(*json);
}

Jwk Jwk::FromPublicKey(const PublicKey& key) { return Jwk(key); }

Json Jwk::RequiredMembers() const {
  Json out = Json::object();
  switch (key_.type()) {
    case KeyType::kEcP256:
    case KeyType::kEcP384: {
      auto [x, y] = *key_.EcCoordinates();
      out["crv"] = key_.type() == KeyType::kEcP256 ? "P-256" : "P-384";
      out["kty"] = "EC";
      out["x"] = Base64UrlEncode(x);
      out["y"] = Base64UrlEncode(y);
      break;
    }
    case KeyType::kEd25519:
      out["crv"] = "Ed25519";
      out["kty"] = "OKP";
      out["x"] = Base64UrlEncode(*key_.Ed25519Raw());
      break;
    case KeyType::kRsa: {
      auto [n, e] = *key_.RsaComponents();
      out["e"] = Base64UrlEncode(e);
      out["kty"] = "RSA";
      out["n"] = Base64UrlEncode(n);
      break;
    }
  }
  return out;
}

Json Jwk::ToJson() const {
  Json out = RequiredMembers();
  if (kid_) out["kid"] = *kid_;
  if (use_) out["use"] = *use_;
  if (key_ops_) out["key_ops"] = *key_ops_;
  if (alg_) out["alg"] = std::string(AlgorithmName(*alg_));
  if (!x5c_.empty()) {
    Json chain = Json::array();
    for (const Bytes& der : x5c_) chain.push_back(Base64Encode(der));
    out["x5c"] = std::move(chain);
  }
  return out;
}

std::string Jwk::Thumbprint() const {
  // RFC 7638 §3.3: the required members, lexicographic order, no
  // whitespace. Every value is ASCII, so no escaping question arises.
  std::string canonical = DumpJson(RequiredMembers());
  return Base64UrlEncode(Sha256(AsBytes(canonical)));
}

Status Jwk::CheckVerificationUse(SignatureAlgorithm alg) const {
  if (!key_.Allows(alg)) {
    return Error(Code::kAlgNotAllowed,
                 "jwk: " + std::string(AlgorithmName(alg)) +
                     " is not allowed for " +
                     std::string(KeyTypeName(key_.type())) + " keys");
  }
  if (alg_ && *alg_ != alg) {
    return Error(Code::kAlgNotAllowed, "jwk: the key is restricted to " +
                                           std::string(AlgorithmName(*alg_)));
  }
  if (use_ && *use_ != "sig") {
    return Error(Code::kAlgNotAllowed, "jwk: the key's \"use\" is not \"sig\"");
  }
  if (key_ops_ && std::find(key_ops_->begin(), key_ops_->end(), "verify") ==
                      key_ops_->end()) {
    return Error(Code::kAlgNotAllowed,
                 "jwk: the key's \"key_ops\" lack \"verify\"");
  }
  return Ok();
}

Jwk Jwk::WithKid(std::string kid) const {
  Jwk out = *this;
  out.kid_ = std::move(kid);
  return out;
}

Jwk Jwk::WithUse(std::string use) const {
  Jwk out = *this;
  out.use_ = std::move(use);
  return out;
}

Result<Jwk> Jwk::WithKeyOps(std::vector<std::string> key_ops) const {
  std::set<std::string> seen(key_ops.begin(), key_ops.end());
  if (seen.size() != key_ops.size()) {
    return Error(Code::kInvalidArgument, "jwk: key_ops repeats a value");
  }
  Jwk out = *this;
  out.key_ops_ = std::move(key_ops);
  return out;
}

Result<Jwk> Jwk::WithAlg(SignatureAlgorithm alg) const {
  if (!key_.Allows(alg)) {
    return Error(Code::kAlgNotAllowed,
                 "jwk: " + std::string(AlgorithmName(alg)) +
                     " is not allowed for " +
                     std::string(KeyTypeName(key_.type())) + " keys");
  }
  Jwk out = *this;
  out.alg_ = alg;
  return out;
}

Jwk Jwk::WithX5c(std::vector<Bytes> x5c) const {
  Jwk out = *this;
  out.x5c_ = std::move(x5c);
  return out;
}

// ---- Jwks ----

Result<Jwks> Jwks::Parse(const Json& object) {
  if (!object.is_object()) {
    return Error(Code::kMalformed, "jwks: not a JSON object");
  }
  auto keys = object.find("keys");
  if (keys == object.end() || !keys->is_array()) {
    return Error(Code::kMalformed, "jwks: member \"keys\" must be an array");
  }
  Jwks set;
  std::set<std::string> kids;
  size_t index = 0;
  for (const Json& entry : *keys) {
    bool unknown_type = false;
    auto jwk = Jwk::ParseImpl(entry, &unknown_type);
    if (!jwk) {
      if (unknown_type) {
        ++set.skipped_;
        ++index;
        continue;
      }
      return jwk.error().WithContext("jwks: key " + std::to_string(index));
    }
    if (jwk->kid() && !kids.insert(*jwk->kid()).second) {
      return Error(Code::kMalformed, "jwks: key " + std::to_string(index) +
                                         " repeats the kid of another key");
    }
    set.keys_.push_back(std::move(*jwk));
    ++index;
  }
  return set;
}

Result<Jwks> Jwks::FromJson(std::string_view text, const JsonLimits& limits) {
  auto json = ParseJson(text, limits);
  if (!json) return json.error().WithContext("jwks");
  return Parse(*json);
}

Status Jwks::Add(Jwk key) {
  if (key.kid() && FindByKid(*key.kid()) != nullptr) {
    return Error(Code::kInvalidArgument, "jwks: the kid is already in the set");
  }
  keys_.push_back(std::move(key));
  return Ok();
}

Json Jwks::ToJson() const {
  Json list = Json::array();
  for (const Jwk& key : keys_) list.push_back(key.ToJson());
  Json out = Json::object();
  out["keys"] = std::move(list);
  return out;
}

const Jwk* Jwks::FindByKid(std::string_view kid) const {
  for (const Jwk& key : keys_) {
    if (key.kid() && *key.kid() == kid) return &key;
  }
  return nullptr;
}

}  // namespace aztp

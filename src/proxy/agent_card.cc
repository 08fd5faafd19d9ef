#include "aztp/proxy/agent_card.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "aztp/encoding/base64.h"
#include "aztp/jose/jwk.h"
#include "aztp/jose/jws.h"
#include "aztp/svid/x509_svid.h"

namespace aztp {
namespace {

constexpr std::string_view kSignatures = "signatures";
// kMaxSafeInteger: JCS writes numbers as ECMAScript does (RFC 8785 §3.2.2.3);
// integers up to 2^53 are written alike by every implementation.
constexpr int64_t kMaxSafeInteger = int64_t{1} << 53;
constexpr std::size_t kMaxSignatures = 8;

// Utf16 is `s` (valid UTF-8, as ParseJson leaves every string) in UTF-16
// code units, the order JCS sorts keys in (RFC 8785 §3.2.3).
std::u16string Utf16(const std::string& s) {
  std::u16string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const int n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    uint32_t c = n == 1 ? b : b & (0xFF >> (n + 1));
    for (int k = 1; k < n && i + k < s.size(); ++k) {
      c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    if (c >= 0x10000) {
      c -= 0x10000;
      out += static_cast<char16_t>(0xD800 + (c >> 10));
      out += static_cast<char16_t>(0xDC00 + (c & 0x3FF));
    } else {
      out += static_cast<char16_t>(c);
    }
    i += static_cast<std::size_t>(n);
  }
  return out;
}

// AppendString writes a JSON string as JCS does (RFC 8785 §3.2.2.2): only
// `"`, `\` and the controls escaped, these with their short forms where
// JSON has one, else \u00xx in lower case.
void AppendString(std::string& out, const std::string& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

// SafeInteger: `v` is a number JCS and aztp write alike.
bool SafeInteger(const Json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= kMaxSafeInteger;
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    return i <= kMaxSafeInteger && i >= -kMaxSafeInteger;
  }
  return false;
}

Status Canonical(const Json& v, std::string& out) {
  if (v.is_object()) {
    std::vector<std::pair<std::u16string, const std::string*>> keys;
    for (auto it = v.begin(); it != v.end(); ++it) {
      keys.emplace_back(Utf16(it.key()), &it.key());
    }
    std::sort(keys.begin(), keys.end());
    out += '{';
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (i > 0) out += ',';
      AppendString(out, *keys[i].second);
      out += ':';
      AZTP_RETURN_IF_ERROR(Canonical(v.at(*keys[i].second), out));
    }
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i > 0) out += ',';
      AZTP_RETURN_IF_ERROR(Canonical(v[i], out));
    }
    out += ']';
  } else if (v.is_string()) {
    AppendString(out, v.get_ref<const std::string&>());
  } else if (v.is_number()) {
    if (!SafeInteger(v)) {
      return Error(Code::kInvalidArgument,
                   "agent card: a number other than an integer within 2^53");
    }
    out += v.dump();
  } else {
    out += v.dump();  // true, false, null
  }
  return Ok();
}

// CheckMember refuses what a verifier's canonical form would drop.
Status CheckMember(const Json& v, const std::string& path) {
  auto refuse = [&path](std::string_view what) {
    return Error(Code::kInvalidArgument,
                 "agent card: " + path + " " + std::string(what) +
                     " (A2A verifiers drop empty and null members before "
                     "they check a signature)");
  };
  if (v.is_null()) return refuse("is null");
  if (v.is_string() && v.get_ref<const std::string&>().empty()) {
    return refuse("is an empty string");
  }
  if ((v.is_array() || v.is_object()) && v.empty()) return refuse("is empty");
  if (v.is_number() && !SafeInteger(v)) {
    return Error(Code::kInvalidArgument,
                 "agent card: " + path +
                     " must be an integer within 2^53 (other numbers are "
                     "written differently by JSON canonicalizers)");
  }
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      AZTP_RETURN_IF_ERROR(CheckMember(it.value(), path + "." + it.key()));
    }
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      AZTP_RETURN_IF_ERROR(
          CheckMember(v[i], path + "[" + std::to_string(i) + "]"));
    }
  }
  return Ok();
}

// SvidOf reads the `x5c` of a signature's protected header.
Result<std::vector<Certificate>> SvidOf(const Json& header) {
  auto x5c = header.find("x5c");
  if (x5c == header.end() || !x5c->is_array() || x5c->empty() ||
      x5c->size() > 8) {
    return Error(Code::kMalformed,
                 "agent card signature: the protected header has no x5c of "
                 "1 to 8 certificates");
  }
  std::vector<Certificate> chain;
  for (const Json& entry : *x5c) {
    if (!entry.is_string()) {
      return Error(Code::kMalformed, "agent card signature: x5c entry");
    }
    AZTP_ASSIGN_OR_RETURN(Bytes der, Base64Decode(entry.get<std::string>()));
    AZTP_ASSIGN_OR_RETURN(Certificate cert, Certificate::FromDer(der));
    chain.push_back(std::move(cert));
  }
  return chain;
}

}  // namespace

Result<Json> ParseAgentCard(std::string_view text) {
  AZTP_ASSIGN_OR_RETURN(Json card,
                        ParseJson(text, JsonLimits{kMaxAgentCardBytes, 32}));
  if (!card.is_object()) {
    return Error(Code::kInvalidArgument, "agent card: must be a JSON object");
  }
  auto name = card.find("name");
  if (name == card.end() || !name->is_string()) {
    return Error(Code::kInvalidArgument,
                 "agent card: needs a name (a non-empty string)");
  }
  if (card.contains(kSignatures)) {
    return Error(Code::kInvalidArgument,
                 "agent card: must not hold signatures (aztp-proxy signs it "
                 "with its X.509-SVID)");
  }
  AZTP_RETURN_IF_ERROR(CheckMember(card, "card"));
  return card;
}

Result<std::string> CanonicalAgentCard(const Json& card) {
  if (!card.is_object()) {
    return Error(Code::kInvalidArgument, "agent card: must be a JSON object");
  }
  Json unsigned_card = card;
  unsigned_card.erase(std::string(kSignatures));
  std::string out;
  AZTP_RETURN_IF_ERROR(Canonical(unsigned_card, out));
  return out;
}

Result<Json> SignAgentCard(const Json& card, const HopSigner& signer) {
  AZTP_ASSIGN_OR_RETURN(std::string payload, CanonicalAgentCard(card));
  Json x5c = Json::array();
  for (const Certificate& cert : signer.chain()) {
    x5c.push_back(Base64Encode(cert.der()));
  }
  Json header = Json::object();
  header["alg"] = AlgorithmName(signer.key().algorithm());
  header["kid"] =
      Jwk::FromPublicKey(signer.chain().front().public_key()).Thumbprint();
  header["typ"] = "JOSE";
  header["x5c"] = std::move(x5c);
  AZTP_ASSIGN_OR_RETURN(std::string compact,
                        SignCompact(header, AsBytes(payload), signer.key()));
  // The compact form is header.payload.signature; the card's signature is
  // detached: the verifier rebuilds the payload from the card.
  const std::size_t first = compact.find('.');
  const std::size_t last = compact.rfind('.');
  Json out = card;
  out.erase(std::string(kSignatures));
  out[std::string(kSignatures)] =
      Json::array({Json{{"protected", compact.substr(0, first)},
                        {"signature", compact.substr(last + 1)}}});
  return out;
}

Result<VerifiedAgentCard> VerifyAgentCard(const Json& card,
                                          const SpiffeId& expected,
                                          const BundleSource& bundles,
                                          UnixTime now) {
  AZTP_ASSIGN_OR_RETURN(std::string payload, CanonicalAgentCard(card));
  auto signatures = card.find(kSignatures);
  if (signatures == card.end() || !signatures->is_array() ||
      signatures->empty()) {
    return Error(Code::kMalformed, "agent card: no signatures");
  }
  const std::string payload_b64 = Base64UrlEncode(payload);
  Error last(Code::kMalformed, "agent card: no usable signature");
  std::size_t tried = 0;
  for (const Json& s : *signatures) {
    if (++tried > kMaxSignatures) break;
    auto prot = s.is_object() ? s.find("protected") : s.end();
    auto sig = s.is_object() ? s.find("signature") : s.end();
    if (prot == s.end() || sig == s.end() || !prot->is_string() ||
        !sig->is_string()) {
      continue;
    }
    const std::string compact = prot->get<std::string>() + "." + payload_b64 +
                                "." + sig->get<std::string>();
    auto jws = ParseCompact(
        compact, JwsLimits{compact.size() + 1 + 2 * kMaxAgentCardBytes, 16});
    if (!jws) {
      last = jws.error();
      continue;
    }
    auto typ = jws->header().find("typ");
    auto kid = jws->header().find("kid");
    if (typ == jws->header().end() || *typ != "JOSE" ||
        kid == jws->header().end() || !kid->is_string()) {
      last = Error(Code::kMalformed,
                   "agent card signature: the protected header needs kid and "
                   "typ JOSE");
      continue;
    }
    auto chain = SvidOf(jws->header());
    if (!chain) {
      last = chain.error();
      continue;
    }
    auto svid = VerifyX509Svid(*chain, bundles, now);
    if (!svid) {
      last = svid.error();
      continue;
    }
    if (svid->id() != expected) {
      last = Error(Code::kPermissionDenied, "agent card: signed by " +
                                                svid->id().str() + ", not " +
                                                expected.str());
      continue;
    }
    Status ok = VerifySignature(*jws, svid->leaf().public_key());
    if (!ok) {
      last = ok.error();
      continue;
    }
    return VerifiedAgentCard(svid->id(), card);
  }
  return last;
}

}  // namespace aztp

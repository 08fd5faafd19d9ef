#include "aztp/chain/hop_token.h"

#include <algorithm>
#include <array>

#include "aztp/encoding/base64.h"

namespace aztp {

namespace {

constexpr std::size_t kMaxX5c = 8;
constexpr int kMaxDepthValue = 1000;

Error Malformed(std::string message) {
  return Error(Code::kMalformed, std::move(message));
}

// The claims of §5.2; anything else is rejected.
constexpr std::array<std::string_view, 17> kClaimNames = {
    "iss", "sub", "aud", "iat", "exp", "nbf", "jti", "txn", "dep",
    "max", "cap", "cns", "prv", "obo", "req", "enc", "prs"};

Result<SpiffeId> WorkloadClaim(const Json& claims, std::string_view name) {
  AZTP_ASSIGN_OR_RETURN(std::string value, GetString(claims, name));
  auto id = SpiffeId::Parse(value);
  if (!id) return id.error().WithContext(std::string(name));
  if (!id->IsWorkload()) {
    return Malformed(std::string(name) + ": must be a workload SPIFFE ID");
  }
  return *id;
}

Result<UnixTime> TimeClaim(const Json& claims, std::string_view name) {
  AZTP_ASSIGN_OR_RETURN(int64_t v, GetInt(claims, name));
  if (v < 0) return Malformed(std::string(name) + ": must not be negative");
  return v;
}

Result<int> DepthClaim(const Json& claims, std::string_view name) {
  AZTP_ASSIGN_OR_RETURN(int64_t v, GetInt(claims, name));
  if (v < 0 || v > kMaxDepthValue) {
    return Malformed(std::string(name) + ": out of range");
  }
  return static_cast<int>(v);
}

// Base64UrlOfSize decodes a base64url claim and checks its decoded size.
Result<Bytes> Base64UrlOfSize(const Json& claims, std::string_view name,
                              std::size_t min, std::size_t max) {
  AZTP_ASSIGN_OR_RETURN(std::string text, GetString(claims, name));
  auto bytes = Base64UrlDecode(text);
  if (!bytes) return bytes.error().WithContext(std::string(name));
  if (bytes->size() < min || bytes->size() > max) {
    return Malformed(std::string(name) + ": wrong decoded length");
  }
  return std::move(*bytes);
}

// ValidSubject: a SPIFFE ID, or a person (§5.2, ParsePersonSubject).
bool ValidSubject(std::string_view sub) {
  return ParsePersonSubject(sub).has_value() ||
         SpiffeId::Parse(sub).has_value();
}

bool ValidTxn(std::string_view txn) {
  if (txn.empty() || txn.size() > 128) return false;
  return std::all_of(txn.begin(), txn.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
           c == ':';
  });
}

Result<RequestBinding> ParseRequest(const Json& req) {
  if (!req.is_object() || req.size() != 3 || !req.contains("htm") ||
      !req.contains("htu") || !req.contains("bh")) {
    return Malformed("req: must be an object with exactly htm, htu, bh");
  }
  RequestBinding out;
  AZTP_ASSIGN_OR_RETURN(out.method, GetString(req, "htm"));
  AZTP_ASSIGN_OR_RETURN(out.uri, GetString(req, "htu"));
  if (out.method.empty() || out.method.size() > 16 ||
      !std::all_of(out.method.begin(), out.method.end(),
                   [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return Malformed("req.htm: must be an uppercase HTTP method");
  }
  if (out.uri.empty() || out.uri.size() > 8192) {
    return Malformed("req.htu: must be a URI of at most 8192 bytes");
  }
  AZTP_ASSIGN_OR_RETURN(Bytes bh, Base64UrlOfSize(req, "bh", 32, 32));
  std::copy(bh.begin(), bh.end(), out.body_sha256.begin());
  return out;
}

Result<HopClaims> ParseClaims(const Json& c) {
  if (!c.is_object()) return Malformed("claims: not a JSON object");
  for (const auto& item : c.items()) {
    if (std::find(kClaimNames.begin(), kClaimNames.end(), item.key()) ==
        kClaimNames.end()) {
      std::string name = item.key().substr(0, 32);
      return Malformed("unknown claim \"" + name + "\"");
    }
  }
  AZTP_ASSIGN_OR_RETURN(SpiffeId iss, WorkloadClaim(c, "iss"));
  AZTP_ASSIGN_OR_RETURN(std::string sub, GetString(c, "sub"));
  if (sub != iss.str() && !ValidSubject(sub)) {
    return Malformed("sub: must be a SPIFFE ID or oidc:<issuer>#<subject>");
  }
  auto aud_member = c.find("aud");
  if (aud_member != c.end() && aud_member->is_array()) {
    return Malformed("aud: must be one SPIFFE ID, not an array");
  }
  AZTP_ASSIGN_OR_RETURN(SpiffeId aud, WorkloadClaim(c, "aud"));
  HopClaims h{std::move(iss), std::move(sub), std::move(aud)};
  AZTP_ASSIGN_OR_RETURN(h.iat, TimeClaim(c, "iat"));
  AZTP_ASSIGN_OR_RETURN(h.exp, TimeClaim(c, "exp"));
  if (c.contains("nbf")) {
    AZTP_ASSIGN_OR_RETURN(h.nbf, TimeClaim(c, "nbf"));
  }
  if (h.exp <= h.iat) return Malformed("exp: must be after iat");
  AZTP_ASSIGN_OR_RETURN(h.jti, GetString(c, "jti"));
  AZTP_RETURN_IF_ERROR(Base64UrlOfSize(c, "jti", 16, 64));
  AZTP_ASSIGN_OR_RETURN(h.txn, GetString(c, "txn"));
  if (!ValidTxn(h.txn)) {
    return Malformed("txn: 1-128 characters of A-Z a-z 0-9 . _ - :");
  }
  AZTP_ASSIGN_OR_RETURN(h.dep, DepthClaim(c, "dep"));
  AZTP_ASSIGN_OR_RETURN(h.max, DepthClaim(c, "max"));
  auto cap = c.find("cap");
  if (cap == c.end()) return Malformed("member \"cap\" is missing");
  auto caps = CapabilitySet::FromJson(*cap);
  if (!caps) return caps.error().WithContext("cap");
  h.cap = std::move(*caps);
  if (auto cns = c.find("cns"); cns != c.end()) {
    auto parsed = Constraints::FromJson(*cns);
    if (!parsed) return parsed.error().WithContext("cns");
    h.cns = std::move(*parsed);
  }
  if (c.contains("prv")) {
    AZTP_ASSIGN_OR_RETURN(h.prv, GetString(c, "prv"));
    AZTP_RETURN_IF_ERROR(Base64UrlOfSize(c, "prv", 32, 32));
  }
  if (c.contains("obo")) {
    AZTP_ASSIGN_OR_RETURN(h.obo, GetString(c, "obo"));
  }
  if (auto req = c.find("req"); req != c.end()) {
    AZTP_ASSIGN_OR_RETURN(h.req, ParseRequest(*req));
  }
  if (c.contains("enc")) {
    AZTP_ASSIGN_OR_RETURN(std::string enc, GetString(c, "enc"));
    auto parsed = ParseEncoding(enc);
    if (!parsed) return Malformed("enc: must be \"linked\" or \"nested\"");
    h.enc = *parsed;
  }
  if (auto prs = c.find("prs"); prs != c.end()) {
    auto parsed = PersonClaims::FromJson(*prs);
    if (!parsed) return parsed.error();
    if (!PersonIssuer(h.sub)) return Malformed("prs: only with a person's sub");
    h.prs = std::move(*parsed);
  }
  // Structure of root and non-root tokens (§5.2).
  if (h.dep == 0) {
    if (h.prv || h.obo) return Malformed("the root token has no predecessor");
  } else {
    if (h.prv.has_value() == h.obo.has_value()) {
      return Malformed("a non-root token needs exactly one of prv and obo");
    }
    if (h.enc) return Malformed("enc: only the root token declares it");
    if (h.prs) return Malformed("prs: only the root token carries it");
  }
  return h;
}

// ClaimedDepth reads `dep` from a token that failed to parse, for the error
// index of a nested chain's outermost token (its position is otherwise
// unknown). Best effort; informational only.
std::optional<int> ClaimedDepth(std::string_view compact) {
  auto first = compact.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  auto second = compact.find('.', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  auto payload = Base64UrlDecode(compact.substr(first + 1, second - first - 1));
  if (!payload) return std::nullopt;
  auto claims = ParseJson(AsChars(*payload));
  if (!claims || !claims->is_object()) return std::nullopt;
  auto dep = GetInt(*claims, "dep");
  if (!dep || *dep < 0 || *dep > kMaxDepthValue) return std::nullopt;
  return static_cast<int>(*dep);
}

}  // namespace

bool IsHopTokenAlgorithm(SignatureAlgorithm alg) {
  return alg == SignatureAlgorithm::kES256 ||
         alg == SignatureAlgorithm::kES384 || alg == SignatureAlgorithm::kEdDSA;
}

std::string_view EncodingName(ChainEncoding encoding) {
  return encoding == ChainEncoding::kNested ? "nested" : "linked";
}

Result<ChainEncoding> ParseEncoding(std::string_view name) {
  if (name == "linked") return ChainEncoding::kLinked;
  if (name == "nested") return ChainEncoding::kNested;
  return Error(
      Code::kInvalidArgument,
      QuoteInput(name) + " is not an encoding; write linked or nested");
}

RequestBinding RequestBinding::For(std::string method, std::string uri,
                                   std::span<const uint8_t> body) {
  return RequestBinding{std::move(method), std::move(uri), Sha256(body)};
}

Json HopClaims::ToJson() const {
  Json c = Json::object();
  c["iss"] = iss.str();
  c["sub"] = sub;
  c["aud"] = aud.str();
  c["iat"] = iat;
  c["exp"] = exp;
  if (nbf) c["nbf"] = *nbf;
  c["jti"] = jti;
  c["txn"] = txn;
  c["dep"] = dep;
  c["max"] = max;
  c["cap"] = cap.ToJson();
  if (cns) c["cns"] = cns->ToJson();
  if (prv) c["prv"] = *prv;
  if (obo) c["obo"] = *obo;
  if (req) {
    c["req"] = {{"htm", req->method},
                {"htu", req->uri},
                {"bh", Base64UrlEncode(req->body_sha256)}};
  }
  if (enc) c["enc"] = EncodingName(*enc);
  if (prs) c["prs"] = prs->ToJson();
  return c;
}

Result<HopToken> HopToken::Parse(std::string_view compact,
                                 std::size_t max_bytes, JwsHeaderCache* cache) {
  JwsLimits limits;
  limits.max_compact_bytes = max_bytes;
  AZTP_ASSIGN_OR_RETURN(ParsedJws jws, ParseCompact(compact, limits, cache));
  // §5.1, §6 step 2: ParseCompact knows every JOSE algorithm aztp verifies,
  // RS256 and PS256 included; a hop token allows only these three.
  if (!IsHopTokenAlgorithm(jws.algorithm())) {
    return Error(Code::kAlgNotAllowed,
                 "header: alg " + std::string(AlgorithmName(jws.algorithm())) +
                     " is not allowed for hop tokens (ES256, ES384 or EdDSA)");
  }
  const Json& header = jws.header();
  if (header.size() != 3 || !header.contains("typ") ||
      !header.contains("x5c")) {
    return Malformed("header: must hold exactly alg, typ and x5c");
  }
  const Json& typ = header["typ"];
  if (!typ.is_string() || typ.get_ref<const std::string&>() != kHopTokenType) {
    return Malformed("header: typ must be \"aztp+jwt\"");
  }
  const Json& x5c = header["x5c"];
  if (!x5c.is_array() || x5c.empty() || x5c.size() > kMaxX5c) {
    return Malformed("header: x5c must hold 1 to 8 certificates");
  }
  std::vector<std::string> certs;
  certs.reserve(x5c.size());
  for (const auto& entry : x5c) {
    if (!entry.is_string() || entry.get_ref<const std::string&>().empty()) {
      return Malformed("header: x5c entries must be base64 strings");
    }
    certs.push_back(entry.get<std::string>());
  }
  JsonLimits json_limits;
  json_limits.max_bytes = max_bytes;
  json_limits.max_depth = 8;
  auto claims_json = ParseJson(AsChars(jws.payload()), json_limits);
  if (!claims_json) return claims_json.error().WithContext("claims");
  AZTP_ASSIGN_OR_RETURN(HopClaims claims, ParseClaims(*claims_json));
  return HopToken(std::move(jws), std::move(certs), std::move(claims));
}

std::string TokenDigest(std::string_view compact) {
  return Base64UrlEncode(Sha256(AsBytes(compact)));
}

Result<ParsedChain> ParseChainInsecure(std::string_view header,
                                       const ChainLimits& limits,
                                       JwsHeaderCache* cache) {
  if (header.size() > limits.max_chain_bytes) {
    return Error(Code::kTooLarge, "chain larger than " +
                                      std::to_string(limits.max_chain_bytes) +
                                      " bytes");
  }
  if (header.empty()) return Malformed("empty chain").WithHop(0);
  ParsedChain chain;
  if (header.find(',') != std::string_view::npos) {
    // Linked: the tokens, root first.
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
      std::size_t comma = header.find(',', start);
      parts.push_back(header.substr(start, comma - start));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
      if (static_cast<int>(parts.size()) > limits.max_tokens) break;
    }
    if (static_cast<int>(parts.size()) > limits.max_tokens) {
      return Error(
          Code::kTooLarge,
          "more than " + std::to_string(limits.max_tokens) + " tokens");
    }
    chain.encoding = ChainEncoding::kLinked;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      auto token = HopToken::Parse(parts[i], limits.max_token_bytes, cache);
      if (!token) return token.error().WithHop(static_cast<int>(i));
      chain.tokens.push_back(std::move(*token));
    }
  } else {
    // One token: the root alone, or a nested chain to unwrap.
    // Reserved so that `next`, which points into the last token's claims,
    // stays valid while tokens are appended.
    std::vector<HopToken> outer_first;
    outer_first.reserve(static_cast<std::size_t>(limits.max_tokens));
    std::string_view next = header;
    int index_hint = 0;  // root-first index of `next`, when known
    for (;;) {
      if (static_cast<int>(outer_first.size()) == limits.max_tokens) {
        return Error(
            Code::kTooLarge,
            "more than " + std::to_string(limits.max_tokens) + " tokens");
      }
      auto token = HopToken::Parse(next, limits.max_token_bytes, cache);
      if (!token) {
        int index = outer_first.empty()
                        ? ClaimedDepth(next).value_or(index_hint)
                        : index_hint;
        return token.error().WithHop(index);
      }
      outer_first.push_back(std::move(*token));
      const HopClaims& c = outer_first.back().claims();
      if (!c.obo) break;
      index_hint = std::max(0, c.dep - 1);
      next = *c.obo;
    }
    chain.encoding = outer_first.size() > 1 ? ChainEncoding::kNested
                                            : ChainEncoding::kLinked;
    chain.tokens.assign(std::make_move_iterator(outer_first.rbegin()),
                        std::make_move_iterator(outer_first.rend()));
  }
  // A root that declares its encoding fixes it for the whole chain.
  const auto& root_enc = chain.tokens.front().claims().enc;
  if (root_enc) {
    if (chain.tokens.size() == 1) {
      chain.encoding = *root_enc;
    } else if (*root_enc != chain.encoding) {
      return Malformed("the chain does not use the encoding its root declares")
          .WithHop(0);
    }
  }
  return chain;
}

Status CheckRootSubject(const SpiffeId& signer, std::string_view sub) {
  if (sub == signer.str()) return Ok();
  if (!PersonIssuer(sub)) {
    return Error(Code::kUnvouchedSubject,
                 "a root's sub must be its signer, or a person (oidc:) its "
                 "control plane vouches for");
  }
  // spiffe://<td>/aztpd of the signer's own domain (SpiffeId::ControlPlane).
  if (signer.path() != "/aztpd") {
    return Error(Code::kUnvouchedSubject,
                 "a person's chain starts at a control plane (" +
                     SpiffeId::ControlPlane(signer.trust_domain()).str() +
                     "), not at " + signer.str());
  }
  return Ok();
}

}  // namespace aztp

#include "aztp/jose/jws.h"

#include <algorithm>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "aztp/base/hash.h"
#include "aztp/encoding/base64.h"

namespace aztp {

namespace {

Error Malformed(std::string message) {
  return Error(Code::kMalformed, "jws: " + std::move(message));
}

// DecodePart decodes one base64url part, naming it (never echoing it) on
// failure.
Result<Bytes> DecodePart(std::string_view text, const char* name) {
  auto bytes = Base64UrlDecode(text);
  if (!bytes) {
    return Malformed(std::string(name) + " is not unpadded base64url");
  }
  return std::move(*bytes);
}

}  // namespace

Result<std::string> SignCompact(const Json& protected_header,
                                std::span<const uint8_t> payload,
                                const PrivateKey& key) {
  if (!protected_header.is_object()) {
    return Error(Code::kInvalidArgument, "jws: header must be a JSON object");
  }
  auto alg = protected_header.find("alg");
  std::string_view want = AlgorithmName(key.algorithm());
  if (alg == protected_header.end() || !alg->is_string() ||
      alg->get_ref<const std::string&>() != want) {
    return Error(
        Code::kInvalidArgument,
        "jws: header alg must be " + std::string(want) + " for this key");
  }
  if (protected_header.contains("crit")) {
    return Error(Code::kInvalidArgument,
                 "jws: crit is not supported (a verifier must refuse it)");
  }
  // RFC 7515 §5.1 steps 2-6.
  std::string out = Base64UrlEncode(DumpJson(protected_header));
  out.push_back('.');
  out += Base64UrlEncode(payload);
  AZTP_ASSIGN_OR_RETURN(Bytes signature, key.Sign(AsBytes(out)));
  out.push_back('.');
  out += Base64UrlEncode(signature);
  return out;
}

struct JwsHeaderCache::Impl {
  // Keyed by the whole header text under KeyedStringHash. The text comes
  // from the peer, before any signature is checked: a hash it can predict
  // (or one over part of the text, as this once was: the length and the
  // last 48 characters) lets it fill one bucket with colliding headers and
  // make every lookup a long scan. SipHash under a per-process random key
  // costs a pass over the header, which the parse it saves costs anyway.
  // Insertion order is kept in `order` so that eviction (oldest first) is
  // one lookup and one erase: every operation is O(1) expected.
  std::size_t capacity;
  mutable std::mutex mu;
  std::unordered_map<std::string, Entry, KeyedStringHash, std::equal_to<>>
      entries;
  std::deque<std::string> order;
};

JwsHeaderCache::JwsHeaderCache(std::size_t capacity)
    : impl_(std::make_unique<Impl>()) {
  impl_->capacity = std::max<std::size_t>(1, capacity);
}

JwsHeaderCache::~JwsHeaderCache() = default;

std::size_t JwsHeaderCache::size() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->entries.size();
}

std::size_t JwsHeaderCache::largest_bucket() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::size_t out = 0;
  for (std::size_t b = 0; b < impl_->entries.bucket_count(); ++b) {
    out = std::max(out, impl_->entries.bucket_size(b));
  }
  return out;
}

std::optional<JwsHeaderCache::Entry> JwsHeaderCache::Find(
    std::string_view header_b64) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->entries.find(header_b64);
  if (it == impl_->entries.end()) return std::nullopt;
  return it->second;
}

void JwsHeaderCache::Insert(std::string_view header_b64, Entry entry) {
  std::string key(header_b64);
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (!impl_->entries.emplace(key, std::move(entry)).second) return;
  impl_->order.push_back(std::move(key));
  while (impl_->entries.size() > impl_->capacity) {
    impl_->entries.erase(impl_->order.front());
    impl_->order.pop_front();
  }
}

Result<ParsedJws> ParseCompact(std::string_view compact,
                               const JwsLimits& limits, JwsHeaderCache* cache) {
  if (compact.size() > limits.max_compact_bytes) {
    return Error(Code::kTooLarge, "jws: compact serialization larger than " +
                                      std::to_string(limits.max_compact_bytes) +
                                      " bytes");
  }
  // RFC 7515 §7.1: exactly three parts (a JWE would have five).
  if (std::count(compact.begin(), compact.end(), '.') != 2) {
    return Malformed("compact serialization must have exactly three parts");
  }
  size_t first = compact.find('.');
  size_t second = compact.find('.', first + 1);
  std::string_view header_b64 = compact.substr(0, first);
  std::string_view payload_b64 = compact.substr(first + 1, second - first - 1);
  std::string_view signature_b64 = compact.substr(second + 1);
  if (header_b64.empty()) return Malformed("protected header is empty");

  ParsedJws jws;
  if (cache != nullptr) {
    auto hit = cache->Find(header_b64);
    if (hit && hit->max_depth == limits.max_header_depth) {
      if (signature_b64.empty()) return Malformed("signature is empty");
      AZTP_ASSIGN_OR_RETURN(jws.payload_, DecodePart(payload_b64, "payload"));
      AZTP_ASSIGN_OR_RETURN(jws.signature_,
                            DecodePart(signature_b64, "signature"));
      jws.header_ = std::move(hit->header);
      jws.algorithm_ = hit->algorithm;
      jws.compact_.assign(compact);
      jws.signing_input_size_ = second;
      return jws;
    }
  }
  // RFC 7515 §5.2 steps 2-4: the header is a UTF-8 JSON object.
  AZTP_ASSIGN_OR_RETURN(Bytes header_bytes,
                        DecodePart(header_b64, "protected header"));
  JsonLimits json_limits;
  json_limits.max_bytes = header_bytes.size();
  json_limits.max_depth = limits.max_header_depth;
  auto header = ParseJson(AsChars(header_bytes), json_limits);
  if (!header) return header.error().WithContext("jws: protected header");
  if (!header->is_object()) {
    return Malformed("protected header is not a JSON object");
  }
  // RFC 7515 §4.1.1: alg is required.
  auto alg = header->find("alg");
  if (alg == header->end()) return Malformed("header has no alg");
  if (!alg->is_string()) return Malformed("header alg must be a string");
  auto algorithm = ParseAlgorithm(alg->get_ref<const std::string&>());
  if (!algorithm) return algorithm.error().WithContext("jws");
  // RFC 7515 §4.1.11: extensions we would have to understand.
  if (header->contains("crit")) {
    return Malformed("header crit is not supported");
  }
  // Checked after alg so that an unsecured JWS (RFC 7515 §A.5) is reported
  // as alg_not_allowed.
  if (signature_b64.empty()) return Malformed("signature is empty");
  AZTP_ASSIGN_OR_RETURN(jws.payload_, DecodePart(payload_b64, "payload"));
  AZTP_ASSIGN_OR_RETURN(jws.signature_, DecodePart(signature_b64, "signature"));
  jws.header_ = std::make_shared<const Json>(std::move(*header));
  jws.algorithm_ = *algorithm;
  if (cache != nullptr) {
    cache->Insert(header_b64,
                  {jws.header_, *algorithm, limits.max_header_depth});
  }
  jws.compact_.assign(compact);
  jws.signing_input_size_ = second;
  return jws;
}

Status VerifySignature(const ParsedJws& jws, const PublicKey& key) {
  auto status = key.Verify(jws.algorithm(), AsBytes(jws.signing_input()),
                           jws.signature());
  if (!status) return status.error().WithContext("jws");
  return Ok();
}

Status VerifySignature(const ParsedJws& jws, const Jwk& key) {
  AZTP_RETURN_IF_ERROR(key.CheckVerificationUse(jws.algorithm()));
  return VerifySignature(jws, key.public_key());
}

}  // namespace aztp

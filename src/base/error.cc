#include "aztp/base/error.h"

namespace aztp {

std::string_view ReasonString(Code code) {
  switch (code) {
    case Code::kMalformed:
      return "malformed";
    case Code::kTooLarge:
      return "too_large";
    case Code::kAlgNotAllowed:
      return "alg_not_allowed";
    case Code::kBadSignature:
      return "bad_signature";
    case Code::kUntrustedTrustDomain:
      return "untrusted_trust_domain";
    case Code::kSvidInvalid:
      return "svid_invalid";
    case Code::kIssuerMismatch:
      return "issuer_mismatch";
    case Code::kExpired:
      return "expired";
    case Code::kNotYetValid:
      return "not_yet_valid";
    case Code::kLifetimeExceeded:
      return "lifetime_exceeded";
    case Code::kBrokenLink:
      return "broken_link";
    case Code::kSubjectMismatch:
      return "subject_mismatch";
    case Code::kDepthExceeded:
      return "depth_exceeded";
    case Code::kCapabilityEscalation:
      return "capability_escalation";
    case Code::kConstraintViolation:
      return "constraint_violation";
    case Code::kAudienceMismatch:
      return "audience_mismatch";
    case Code::kPeerMismatch:
      return "peer_mismatch";
    case Code::kRequestMismatch:
      return "request_mismatch";
    case Code::kReplay:
      return "replay";
    case Code::kRevoked:
      return "revoked";
    case Code::kPolicyDenied:
      return "policy_denied";
    case Code::kUnvouchedSubject:
      return "unvouched_subject";
    case Code::kInvalidArgument:
      return "invalid_argument";
    case Code::kNotFound:
      return "not_found";
    case Code::kUnsupported:
      return "unsupported";
    case Code::kIo:
      return "io_error";
    case Code::kInternal:
      return "internal";
    case Code::kAlreadyExists:
      return "already_exists";
    case Code::kUnauthenticated:
      return "unauthenticated";
    case Code::kPermissionDenied:
      return "permission_denied";
    case Code::kRateLimited:
      return "rate_limited";
    case Code::kUnavailable:
      return "unavailable";
  }
  return "internal";
}

std::string QuoteInput(std::string_view input) {
  static constexpr std::size_t kMaxQuotedBytes = 64;
  static constexpr char kHex[] = "0123456789abcdef";
  const bool cut = input.size() > kMaxQuotedBytes;
  if (cut) input = input.substr(0, kMaxQuotedBytes);
  std::string out = "\"";
  for (char c : input) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b < 0x7f && c != '"' && c != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
    }
  }
  out += '"';
  if (cut) out += " (first 64 bytes)";
  return out;
}

Error Error::WithContext(std::string_view context) const {
  std::string m(context);
  m += ": ";
  m += message_;
  Error e(code_, std::move(m));
  e.hop_ = hop_;
  return e;
}

}  // namespace aztp

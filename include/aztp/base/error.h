// Error: the one error type of the aztp library.
//
// Every fallible call returns `Result<T>` (see result.h) whose error is an
// `Error`: a `Code` with a stable reason string (protocol.md §7 for the
// protocol's own reasons, plus a few operational ones) and a human-readable
// message. Messages never contain key material or whole tokens.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace aztp {

// Code is the stable classification of an error. The reason strings returned
// by `ReasonString` are part of the wire and CLI contract: never rename one.
enum class Code {
  // protocol.md §7: verification reasons.
  kMalformed,             // "malformed": input does not parse or breaks a rule
  kTooLarge,              // "too_large": a size or count limit was exceeded
  kAlgNotAllowed,         // "alg_not_allowed": algorithm not allowed for key
  kBadSignature,          // "bad_signature": a signature does not verify
  kUntrustedTrustDomain,  // "untrusted_trust_domain": no bundle for domain
  kSvidInvalid,           // "svid_invalid": X.509-SVID rule or path failure
  kIssuerMismatch,        // "issuer_mismatch": iss differs from the SVID
  kExpired,               // "expired"
  kNotYetValid,           // "not_yet_valid"
  kLifetimeExceeded,      // "lifetime_exceeded"
  kBrokenLink,            // "broken_link"
  kSubjectMismatch,       // "subject_mismatch"
  kDepthExceeded,         // "depth_exceeded"
  kCapabilityEscalation,  // "capability_escalation"
  kConstraintViolation,   // "constraint_violation"
  kAudienceMismatch,      // "audience_mismatch"
  kPeerMismatch,          // "peer_mismatch"
  kRequestMismatch,       // "request_mismatch"
  kReplay,                // "replay"
  kRevoked,               // "revoked"
  kPolicyDenied,          // "policy_denied"
  kUnvouchedSubject,      // "unvouched_subject": a root's sub is neither its
                          // signer nor a person a control plane vouches for
  // Operational reasons (docs/protocol.md §7).
  kInvalidArgument,   // "invalid_argument": a caller-supplied value is unusable
  kNotFound,          // "not_found": a named object does not exist
  kUnsupported,       // "unsupported": a valid but unsupported choice
  kIo,                // "io_error": a file or network operation failed
  kInternal,          // "internal": OpenSSL or another dependency failed
  kAlreadyExists,     // "already_exists": the object exists already
  kUnauthenticated,   // "unauthenticated": no or bad credentials
  kPermissionDenied,  // "permission_denied": credentials lack the right
  kRateLimited,       // "rate_limited": too many requests, retry later
  kUnavailable,       // "unavailable": not ready or shutting down
};

// ReasonString returns the stable snake_case reason of `code`.
std::string_view ReasonString(Code code);

// QuoteInput renders untrusted input for an error message: at most the
// first 64 bytes, in double quotes, every byte outside printable ASCII (and
// `"`, `\`) written as \xNN, and " (first 64 bytes)" when cut. Messages
// never carry control bytes or more than that prefix of what was received.
std::string QuoteInput(std::string_view input);

// Error is a code plus a message for people. Copyable and movable.
class Error {
 public:
  Error(Code code, std::string message)
      : code_(code), message_(std::move(message)) {}

  Code code() const { return code_; }
  std::string_view reason() const { return ReasonString(code_); }
  const std::string& message() const { return message_; }

  // WithContext returns a copy whose message is prefixed by `context: `.
  Error WithContext(std::string_view context) const;

  // hop is the index of the chain token a verification error is about
  // (0 = root), when there is one.
  std::optional<int> hop() const { return hop_; }
  // WithHop returns a copy that names token `index`.
  Error WithHop(int index) const {
    Error e = *this;
    e.hop_ = index;
    return e;
  }

 private:
  Code code_;
  std::string message_;
  std::optional<int> hop_;
};

}  // namespace aztp

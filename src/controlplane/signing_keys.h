// The trust domain's signing keys as the control plane uses them: the X.509
// CA keys and the JWT-SVID keys, each kind with one active key, at most one
// prepared successor and retired predecessors that stay published until
// everything they signed has expired (docs/aztpd.md, "CA rotation").
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/bundle/bundle.h"
#include "aztp/ca/authority.h"
#include "aztp/controlplane/control_plane.h"
#include "aztp/store/store.h"

namespace aztp::internal {

using KeyKind = CaKeyRecord::Kind;
using KeyState = CaKeyRecord::State;
// kBundleSequenceMeta names the store meta value holding the bundle's
// spiffe_sequence, bumped whenever the published key set changes.
inline constexpr const char* kBundleSequenceMeta = "bundle_sequence";

// SigningKeys is an immutable snapshot of the keys in the store, decoded.
class SigningKeys {
 public:
  // Load decodes `records`; there must be exactly one active X.509 key.
  // A missing active JWT key is allowed (stores made before JWT-SVIDs);
  // jwt_key() is then null.
  static Result<std::shared_ptr<const SigningKeys>> Load(
      std::vector<CaKeyRecord> records);

  const TrustDomain& trust_domain() const { return ca_->trust_domain(); }
  // ca is the active X.509 authority.
  const CertificateAuthority& ca() const { return *ca_; }
  // jwt_key / jwt_kid: the active JWT-SVID key and its `kid`.
  const PrivateKey* jwt_key() const { return jwt_key_ ? &*jwt_key_ : nullptr; }
  const std::string& jwt_kid() const { return jwt_kid_; }
  // records are the keys without their private parts, oldest first.
  const std::vector<CaKeyRecord>& records() const { return records_; }

  // MakeBundle publishes every key in the store: the roots of all X.509
  // keys and all JWT public keys, prepared and retired ones included.
  Result<Bundle> MakeBundle(int64_t sequence) const;

 private:
  SigningKeys() = default;
  std::vector<CaKeyRecord> records_;
  std::unique_ptr<CertificateAuthority> ca_;
  std::vector<Certificate> roots_;
  std::map<std::string, PublicKey> jwt_public_;
  std::optional<PrivateKey> jwt_key_;
  std::string jwt_kid_;
};

// NewSigningKey makes a fresh key of `kind` in `state` ("active" keys get
// activated_at = now).
Result<CaKeyRecord> NewSigningKey(const TrustDomain& td, KeyKind kind,
                                  KeyState state, const CaOptions& ca,
                                  UnixTime now);

// RotationStep is one change to the keys of one kind.
struct RotationStep {
  enum class Action { kPrepare, kActivate, kRemove };
  Action action;
  KeyKind kind;
  std::string key_id;  // the key activated or removed
};

// DueRotationStep returns the next step due for `kind` at `now`, if any.
// `max_ttl` is the longest lifetime of anything the kind signs.
std::optional<RotationStep> DueRotationStep(
    const std::vector<CaKeyRecord>& keys, KeyKind kind, UnixTime now,
    const RotationOptions& options, int64_t max_ttl);

// ForcedRotationStep is what `POST /v1/ca:rotate` does: activate the
// prepared successor if there is one, else prepare one.
RotationStep ForcedRotationStep(const std::vector<CaKeyRecord>& keys,
                                KeyKind kind);

// ApplyRotationStep performs `step` inside `tx` and writes its audit record.
// Returns true when the published key set (the bundle) changed.
Result<bool> ApplyRotationStep(Transaction& tx, const RotationStep& step,
                               const TrustDomain& td, const CaOptions& ca,
                               UnixTime now, const std::string& actor);

}  // namespace aztp::internal

// The trust domain's signing keys as the control plane uses them: the X.509
// CA keys and the JWT-SVID keys, each kind with one active key, at most one
// prepared successor and retired predecessors that stay published until
// everything they signed has expired (docs/aztpd.md, "CA rotation"); and
// SigningKeyService, which lists and rotates them.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/bundle/bundle.h"
#include "aztp/ca/authority.h"
#include "aztp/services/context.h"
#include "aztp/services/principal.h"
#include "aztp/store/store.h"

namespace aztp::services {

// RotationOptions schedule CA and JWT key rotation (docs/aztpd.md). A
// successor key is prepared, and published in the bundle, once the active
// key has lived `prepare_at` of its lifetime; it becomes the signing key at
// `activate_at`. The old key leaves the bundle once everything it signed has
// expired (its successor's activation + the maximum SVID TTL, or its own
// notAfter, whichever is first).
struct RotationOptions {
  double prepare_at = 0.5;
  double activate_at = 0.75;
};

// SvidLifetimes bound what the keys sign: the TTL an SVID gets when its
// request names none, and the longest one a request may ask for (which is
// also how long a retired key stays published).
struct SvidLifetimes {
  int64_t default_x509_ttl = 3600;
  int64_t max_x509_ttl = 86400;
  int64_t default_jwt_ttl = 300;
  int64_t max_jwt_ttl = 3600;
};

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

// KeySnapshot is the keys in force and the bundle that publishes them, read
// together so that an SVID is answered with the bundle that verifies it.
struct KeySnapshot {
  std::shared_ptr<const SigningKeys> keys;
  std::shared_ptr<const Bundle> bundle;
};

// ReadKeys loads the keys in `store` and their bundle (its sequence is the
// store's kBundleSequenceMeta).
Result<KeySnapshot> ReadKeys(Store& store);

// KeyRing is where the signing keys in force live: the control plane keeps
// them decoded in memory, and changes them one rotation at a time.
class KeyRing {
 public:
  virtual ~KeyRing() = default;
  // Current is the snapshot in force.
  virtual KeySnapshot Current() const = 0;
  // Rotate runs `write`, a change of the keys in the store, while no other
  // rotation or maintenance pass runs, then puts the keys it wrote in force
  // (signing and published) before it returns.
  virtual Status Rotate(const std::function<Status()>& write) = 0;
};

// SigningKeyService lists and rotates the signing keys; an admin's only.
class SigningKeyService {
 public:
  SigningKeyService(const ServiceContext& ctx, KeyRing& ring, CaOptions ca,
                    RotationOptions rotation, SvidLifetimes lifetimes)
      : ctx_(ctx),
        ring_(ring),
        ca_(ca),
        rotation_(rotation),
        lifetimes_(lifetimes) {}

  // List is every key, oldest first, without private parts.
  Result<std::vector<CaKeyRecord>> List(const Principal& who) const;
  // Rotate takes one step for `kind` at once: activates the prepared
  // successor if there is one, else prepares one. The keys after the step
  // are returned.
  Result<std::vector<CaKeyRecord>> Rotate(const Principal& who, KeyKind kind);
  // RotateDue applies the steps that are due (DueRotationStep), each in its
  // own transaction audited as `actor`; true when the keys in the store
  // changed. The caller holds what KeyRing::Rotate holds and puts the keys
  // in force itself (the control plane's maintenance pass).
  Result<bool> RotateDue(const std::string& actor);

 private:
  const ServiceContext& ctx_;
  KeyRing& ring_;
  CaOptions ca_;
  RotationOptions rotation_;
  SvidLifetimes lifetimes_;
};

}  // namespace aztp::services

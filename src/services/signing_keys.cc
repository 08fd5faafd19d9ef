#include "aztp/services/signing_keys.h"

#include <algorithm>

#include "aztp/base/bytes.h"
#include "aztp/services/audit_entry.h"
#include "aztp/x509/certificate.h"

namespace aztp::services {

namespace {

// Agents are told to refetch the bundle this often (spiffe_refresh_hint).
constexpr int64_t kBundleRefreshHintSeconds = 300;

bool IsKind(const CaKeyRecord& r, KeyKind kind) { return r.kind == kind; }

const CaKeyRecord* Find(const std::vector<CaKeyRecord>& keys, KeyKind kind,
                        KeyState state) {
  for (const auto& k : keys) {
    if (IsKind(k, kind) && k.state == state) return &k;
  }
  return nullptr;
}

Result<std::vector<Certificate>> ChainOf(const CaKeyRecord& r) {
  AZTP_ASSIGN_OR_RETURN(std::vector<Certificate> chain,
                        ParsePemCertificates(r.chain_pem, 8));
  if (chain.empty()) {
    return Error(Code::kMalformed, "CA key " + r.key_id + " has no chain");
  }
  return chain;
}

// LoadCa loads an X.509 signing key row as a CA of the trust domain its
// root names (its chain and key checked by CertificateAuthority::Load).
Result<CertificateAuthority> LoadCa(const CaKeyRecord& r) {
  AZTP_ASSIGN_OR_RETURN(std::vector<Certificate> chain, ChainOf(r));
  auto sans = chain.back().uri_sans();
  if (sans.size() != 1) {
    return Error(Code::kMalformed, "CA root has no trust domain ID");
  }
  AZTP_ASSIGN_OR_RETURN(TrustDomain td, TrustDomain::Parse(sans[0]));
  AZTP_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::FromPkcs8Pem(r.key_pem));
  return CertificateAuthority::Load(td, std::move(chain), std::move(key));
}

}  // namespace

Result<std::shared_ptr<const SigningKeys>> SigningKeys::Load(
    std::vector<CaKeyRecord> records) {
  std::shared_ptr<SigningKeys> keys(new SigningKeys());
  std::optional<TrustDomain> domain;  // of the X.509 rows read so far
  for (auto& r : records) {
    if (r.kind == KeyKind::kX509) {
      // Every row, prepared ones too, is loaded as a CA: its chain must
      // verify and its key match, before its root is published.
      AZTP_ASSIGN_OR_RETURN(CertificateAuthority ca, LoadCa(r));
      if (domain && !(ca.trust_domain() == *domain)) {
        return Error(Code::kMalformed, "signing key " + QuoteInput(r.key_id) +
                                           " is of another trust domain");
      }
      domain = ca.trust_domain();
      keys->roots_.push_back(ca.root());
      if (r.state == KeyState::kActive) {
        if (keys->ca_) return Error(Code::kInternal, "two active CA keys");
        keys->ca_ = std::make_unique<CertificateAuthority>(std::move(ca));
      }
    } else if (r.kind == KeyKind::kJwt) {
      AZTP_ASSIGN_OR_RETURN(PrivateKey key,
                            PrivateKey::FromPkcs8Pem(r.key_pem));
      keys->jwt_public_.emplace(r.key_id, key.public_key());
      if (r.state == KeyState::kActive) {
        if (keys->jwt_key_)
          return Error(Code::kInternal, "two active JWT keys");
        keys->jwt_key_ = std::move(key);
        keys->jwt_kid_ = r.key_id;
      }
    } else {
      return Error(Code::kMalformed,
                   "unknown signing key kind " +
                       QuoteInput(std::string(ToString(r.kind))));
    }
    r.key_pem = SecretBytes();  // the snapshot keeps no private key text
  }
  if (!keys->ca_) {
    return Error(Code::kNotFound,
                 "no active CA in the store (run `aztpd init` first)");
  }
  keys->records_ = std::move(records);
  return std::shared_ptr<const SigningKeys>(std::move(keys));
}

Result<Bundle> SigningKeys::MakeBundle(int64_t sequence) const {
  return Bundle::Create(trust_domain(), roots_, jwt_public_, sequence,
                        kBundleRefreshHintSeconds);
}

Result<CaKeyRecord> NewSigningKey(const TrustDomain& td, KeyKind kind,
                                  KeyState state, const CaOptions& ca,
                                  UnixTime now) {
  CaKeyRecord r;
  AZTP_ASSIGN_OR_RETURN(Bytes id, RandomBytes(8));
  r.key_id = HexEncode(id);
  r.kind = kind;
  r.state = state;
  r.created_at = now;
  r.activated_at = state == KeyState::kActive ? now : 0;
  if (kind == KeyKind::kX509) {
    CaOptions options = ca;
    options.with_intermediate = false;
    AZTP_ASSIGN_OR_RETURN(CertificateAuthority authority,
                          CertificateAuthority::Create(td, options, now));
    AZTP_ASSIGN_OR_RETURN(r.key_pem, authority.signing_key().ToPkcs8Pem());
    r.chain_pem = ToPem(authority.chain());
    r.not_after = authority.signing_certificate().not_after();
  } else {
    AZTP_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate(ca.key_type));
    AZTP_ASSIGN_OR_RETURN(r.key_pem, key.ToPkcs8Pem());
    r.not_after = now + ca.ttl_seconds;
  }
  return r;
}

std::optional<RotationStep> DueRotationStep(
    const std::vector<CaKeyRecord>& keys, KeyKind kind, UnixTime now,
    const RotationOptions& options, int64_t max_ttl) {
  const CaKeyRecord* active = Find(keys, kind, KeyState::kActive);
  if (active == nullptr) {
    // Nothing signs for this kind yet (a store from before JWT-SVIDs): a
    // first key has no predecessor whose relying parties need warning.
    return RotationStep{RotationStep::Action::kPrepare, kind, ""};
  }
  // Retired keys leave the bundle once nothing they signed is still valid.
  for (const auto& k : keys) {
    if (!IsKind(k, kind) || k.state != KeyState::kRetired) continue;
    UnixTime gone = std::min(k.not_after, active->activated_at + max_ttl);
    if (now >= gone) {
      return RotationStep{RotationStep::Action::kRemove, kind, k.key_id};
    }
  }
  const int64_t lifetime = active->not_after - active->created_at;
  const CaKeyRecord* prepared = Find(keys, kind, KeyState::kPrepared);
  const auto at = [&](double fraction) {
    return active->created_at + static_cast<int64_t>(lifetime * fraction);
  };
  if (prepared == nullptr) {
    if (now >= at(options.prepare_at)) {
      return RotationStep{RotationStep::Action::kPrepare, kind, ""};
    }
    return std::nullopt;
  }
  // A prepared key must have been published for a while before it signs,
  // even if maintenance did not run for a long time; unless the active key
  // is about to expire, which would stop issuance altogether.
  const int64_t publish_for = static_cast<int64_t>(
      lifetime * (options.activate_at - options.prepare_at) / 2);
  const bool published_long_enough = now - prepared->created_at >= publish_for;
  const bool active_expiring = now + max_ttl >= active->not_after;
  if (now >= at(options.activate_at) &&
      (published_long_enough || active_expiring)) {
    return RotationStep{RotationStep::Action::kActivate, kind,
                        prepared->key_id};
  }
  return std::nullopt;
}

RotationStep ForcedRotationStep(const std::vector<CaKeyRecord>& keys,
                                KeyKind kind) {
  if (const CaKeyRecord* prepared = Find(keys, kind, KeyState::kPrepared)) {
    return RotationStep{RotationStep::Action::kActivate, kind,
                        prepared->key_id};
  }
  return RotationStep{RotationStep::Action::kPrepare, kind, ""};
}

Result<bool> ApplyRotationStep(Transaction& tx, const RotationStep& step,
                               const TrustDomain& td, const CaOptions& ca,
                               UnixTime now, const std::string& actor) {
  AZTP_ASSIGN_OR_RETURN(std::vector<CaKeyRecord> keys, tx.ListCaKeys());
  const std::string subject = td.IdString();
  bool bundle_changed = false;
  switch (step.action) {
    case RotationStep::Action::kPrepare: {
      // The first key of a kind becomes active at once (see DueRotationStep).
      const bool first = Find(keys, step.kind, KeyState::kActive) == nullptr;
      if (!first && Find(keys, step.kind, KeyState::kPrepared) != nullptr) {
        return Error(Code::kAlreadyExists,
                     "a prepared " + std::string(ToString(step.kind)) +
                         " key exists already");
      }
      AZTP_ASSIGN_OR_RETURN(
          CaKeyRecord r,
          NewSigningKey(td, step.kind,
                        first ? KeyState::kActive : KeyState::kPrepared, ca,
                        now));
      AZTP_RETURN_IF_ERROR(tx.PutCaKey(r));
      AZTP_RETURN_IF_ERROR(tx.AppendAudit(MakeAudit(
          now, actor, first ? "ca.create" : "ca.prepare", subject,
          Json{{"kind", ToString(step.kind)}, {"key_id", r.key_id}})));
      bundle_changed = true;
      break;
    }
    case RotationStep::Action::kActivate: {
      auto it = std::find_if(keys.begin(), keys.end(), [&](const auto& k) {
        return k.key_id == step.key_id && k.state == KeyState::kPrepared;
      });
      if (it == keys.end()) {
        return Error(Code::kNotFound, "no prepared key " + step.key_id);
      }
      for (auto& k : keys) {
        if (IsKind(k, step.kind) && k.state == KeyState::kActive) {
          k.state = KeyState::kRetired;
          AZTP_RETURN_IF_ERROR(tx.PutCaKey(k));
        }
      }
      it->state = KeyState::kActive;
      it->activated_at = now;
      AZTP_RETURN_IF_ERROR(tx.PutCaKey(*it));
      AZTP_RETURN_IF_ERROR(tx.AppendAudit(MakeAudit(
          now, actor, "ca.activate", subject,
          Json{{"kind", ToString(step.kind)}, {"key_id", step.key_id}})));
      break;
    }
    case RotationStep::Action::kRemove: {
      AZTP_RETURN_IF_ERROR(tx.DeleteCaKey(step.key_id));
      AZTP_RETURN_IF_ERROR(tx.AppendAudit(MakeAudit(
          now, actor, "ca.remove", subject,
          Json{{"kind", ToString(step.kind)}, {"key_id", step.key_id}})));
      bundle_changed = true;
      break;
    }
  }
  if (bundle_changed) {
    AZTP_ASSIGN_OR_RETURN(auto seq, tx.GetMeta(kBundleSequenceMeta));
    AZTP_RETURN_IF_ERROR(tx.PutMeta(kBundleSequenceMeta, seq.value_or(0) + 1));
  }
  return bundle_changed;
}

Result<KeySnapshot> ReadKeys(Store& store) {
  std::vector<CaKeyRecord> records;
  int64_t sequence = 0;
  AZTP_RETURN_IF_ERROR(store.Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(records, tx.ListCaKeys());
    AZTP_ASSIGN_OR_RETURN(auto seq, tx.GetMeta(kBundleSequenceMeta));
    sequence = seq.value_or(1);
    return Ok();
  }));
  KeySnapshot out;
  AZTP_ASSIGN_OR_RETURN(out.keys, SigningKeys::Load(std::move(records)));
  AZTP_ASSIGN_OR_RETURN(Bundle bundle, out.keys->MakeBundle(sequence));
  out.bundle = std::make_shared<const Bundle>(std::move(bundle));
  return out;
}

namespace {

constexpr std::string_view kAdminOnly = "signing keys need an admin key";

}  // namespace

Result<std::vector<CaKeyRecord>> SigningKeyService::List(
    const Principal& who) const {
  AZTP_RETURN_IF_ERROR(Require(who, Permission::kAdmin, kAdminOnly));
  return ring_.Current().keys->records();
}

Result<std::vector<CaKeyRecord>> SigningKeyService::Rotate(const Principal& who,
                                                           KeyKind kind) {
  AZTP_RETURN_IF_ERROR(Require(who, Permission::kAdmin, kAdminOnly));
  const UnixTime now = ctx_.Now();
  AZTP_RETURN_IF_ERROR(ring_.Rotate([&]() -> Status {
    return ctx_.store->Write([&](Transaction& tx) -> Status {
      AZTP_ASSIGN_OR_RETURN(std::vector<CaKeyRecord> keys, tx.ListCaKeys());
      AZTP_RETURN_IF_ERROR(ApplyRotationStep(tx, ForcedRotationStep(keys, kind),
                                             ctx_.trust_domain, ca_, now,
                                             who.actor()));
      return Ok();
    });
  }));
  return ring_.Current().keys->records();
}

Result<bool> SigningKeyService::RotateDue(const std::string& actor) {
  const UnixTime now = ctx_.Now();
  bool changed = false;
  // Each step is its own transaction; a few suffice even after a long
  // downtime (prepare, activate, remove per kind).
  for (int round = 0; round < 8; ++round) {
    bool applied = false;
    AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
      AZTP_ASSIGN_OR_RETURN(std::vector<CaKeyRecord> keys, tx.ListCaKeys());
      for (KeyKind kind : {KeyKind::kX509, KeyKind::kJwt}) {
        const int64_t max_ttl = kind == KeyKind::kX509 ? lifetimes_.max_x509_ttl
                                                       : lifetimes_.max_jwt_ttl;
        auto step = DueRotationStep(keys, kind, now, rotation_, max_ttl);
        if (!step) continue;
        applied = true;  // one step per transaction
        AZTP_RETURN_IF_ERROR(
            ApplyRotationStep(tx, *step, ctx_.trust_domain, ca_, now, actor));
        return Ok();
      }
      return Ok();
    }));
    if (!applied) break;
    changed = true;
  }
  return changed;
}

}  // namespace aztp::services

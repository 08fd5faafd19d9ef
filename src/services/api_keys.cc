#include "aztp/services/api_keys.h"

#include "aztp/base/bytes.h"
#include "aztp/crypto/digest.h"
#include "aztp/encoding/base64.h"
#include "aztp/services/audit_entry.h"

namespace aztp::services {

std::string HashApiKeySecret(std::string_view salt_hex,
                             const SecretBytes& secret) {
  // salt || secret, in a buffer that is wiped when released.
  const auto access = InsecureSecretAccess::Get();
  std::string input(salt_hex);
  input.append(secret.View(access));
  SecretBytes buffer(input);
  internal::WipeMemory(input.data(), input.size());
  return HexEncode(Sha256(buffer.Bytes(access)));
}

Result<MintedApiKey> MintApiKey(std::string scope, std::string description,
                                UnixTime now) {
  AZTP_ASSIGN_OR_RETURN(Bytes id, RandomBytes(8));
  AZTP_ASSIGN_OR_RETURN(Bytes salt, RandomBytes(16));
  AZTP_ASSIGN_OR_RETURN(Bytes random, RandomBytes(32));
  std::string encoded = Base64UrlEncode(random);
  internal::WipeMemory(random.data(), random.size());
  SecretBytes secret(encoded);
  internal::WipeMemory(encoded.data(), encoded.size());
  MintedApiKey out;
  out.record.key_id = HexEncode(id);
  out.record.salt = HexEncode(salt);
  out.record.hash = HashApiKeySecret(out.record.salt, secret);
  out.record.scope = std::move(scope);
  out.record.description = std::move(description);
  out.record.created_at = now;
  std::string whole = std::string(kApiKeyPrefix) + out.record.key_id + ".";
  whole.append(secret.View(InsecureSecretAccess::Get()));
  out.key = SecretBytes(whole);
  internal::WipeMemory(whole.data(), whole.size());
  return out;
}

Result<MintedApiKey> ApiKeyService::Create(const Principal& who,
                                           NewApiKey request) {
  AZTP_RETURN_IF_ERROR(
      Require(who, Permission::kAdmin, "API keys need an admin key"));
  if (request.description.size() > kMaxApiKeyDescriptionBytes) {
    return Error(Code::kInvalidArgument,
                 "description is longer than 1024 bytes");
  }
  if (request.scope != kAdminScope) {
    AZTP_ASSIGN_OR_RETURN(SpiffeId parsed,
                          ParseScope(ctx_.trust_domain, request.scope));
    request.scope = ScopeText(parsed);
  }
  const UnixTime now = ctx_.Now();
  AZTP_ASSIGN_OR_RETURN(
      MintedApiKey key,
      MintApiKey(request.scope, std::move(request.description), now));
  AZTP_RETURN_IF_ERROR(ctx_.store->Write([&](Transaction& tx) -> Status {
    AZTP_RETURN_IF_ERROR(tx.InsertApiKey(key.record));
    return Appended(tx.AppendAudit(MakeAudit(now, who.actor(), "apikey.create",
                                             key.record.key_id,
                                             Json{{"scope", request.scope}})));
  }));
  return key;
}

Result<std::vector<ApiKeyRecord>> ApiKeyService::List(const Principal& who) {
  AZTP_RETURN_IF_ERROR(
      Require(who, Permission::kAdmin, "API keys need an admin key"));
  std::vector<ApiKeyRecord> keys;
  AZTP_RETURN_IF_ERROR(ctx_.store->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(keys, tx.ListApiKeys());
    return Ok();
  }));
  return keys;
}

Status ApiKeyService::Revoke(const Principal& who, const std::string& key_id) {
  AZTP_RETURN_IF_ERROR(
      Require(who, Permission::kAdmin, "API keys need an admin key"));
  const UnixTime now = ctx_.Now();
  return ctx_.store->Write([&](Transaction& tx) -> Status {
    AZTP_RETURN_IF_ERROR(tx.RevokeApiKey(key_id));
    return Appended(
        tx.AppendAudit(MakeAudit(now, who.actor(), "apikey.revoke", key_id)));
  });
}

Result<Principal> Authenticator::Key(const SecretBytes& presented) const {
  const std::string_view token = presented.View(InsecureSecretAccess::Get());
  const auto dot = token.find('.');
  if (!token.starts_with(kApiKeyPrefix) || dot == std::string_view::npos) {
    return Error(Code::kUnauthenticated, "malformed API key");
  }
  const std::string key_id(
      token.substr(kApiKeyPrefix.size(), dot - kApiKeyPrefix.size()));
  const SecretBytes secret(token.substr(dot + 1));
  std::optional<ApiKeyRecord> record;
  AZTP_RETURN_IF_ERROR(ctx_.store->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(record, tx.GetApiKey(key_id));
    return Ok();
  }));
  if (!record || record->revoked ||
      !internal::ConstantTimeEquals(
          AsBytes(HashApiKeySecret(record->salt, secret)),
          AsBytes(record->hash))) {
    return Error(Code::kUnauthenticated, "unknown or revoked API key");
  }
  if (record->scope == kAdminScope) return Principal::AdminKey(key_id);
  // Keys stored before scopes were normalised ("/tools/") read the same as
  // new ones; a scope that no longer parses manages nothing.
  auto scope = ParseScope(ctx_.trust_domain, record->scope);
  return Principal::ScopedKey(
      key_id,
      scope ? std::optional<SpiffeId>(std::move(*scope)) : std::nullopt);
}

Result<Principal> Authenticator::Workload(const SpiffeId& peer) const {
  const TrustDomain& own = ctx_.trust_domain;
  // Federated trust domains are trusted for chains and for mTLS between
  // workloads, never by the control plane (docs/aztpd.md,
  // "Authentication"): their SVIDs verify at the handshake, since the
  // listener trusts the federated bundles, but authenticate nothing.
  if (!peer.MemberOf(own)) {
    return Error(Code::kUnauthenticated,
                 "SVIDs of trust domain " + peer.trust_domain().name() +
                     " do not authenticate to this control plane; it "
                     "accepts SVIDs of " +
                     own.name() + " only");
  }
  // An SVID outlives its identity's revocation (until it expires): a
  // revoked identity's SVIDs authenticate nothing here either. (Only
  // registered identities are issued SVIDs of this domain.)
  std::optional<IdentityRecord> identity;
  AZTP_RETURN_IF_ERROR(ctx_.store->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(identity, tx.GetIdentity(peer.str()));
    return Ok();
  }));
  if (identity && identity->status != IdentityRecord::Status::kActive) {
    return Error(Code::kRevoked, peer.str() +
                                     " is revoked: its SVIDs authenticate "
                                     "nothing until it is reissued");
  }
  return Principal::Workload(peer);
}

}  // namespace aztp::services

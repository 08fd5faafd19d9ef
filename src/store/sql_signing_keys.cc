// The signing keys repository (sql_repositories.h).
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "aztp/base/bytes.h"
#include "aztp/crypto/digest.h"
#include "store/sql_repositories.h"

namespace aztp::internal {
namespace {

// ReadCaKey is the row mapper of CaKeyRecord.
Result<CaKeyRecord> ReadCaKey(const SqlRow& row) {
  CaKeyRecord r;
  r.key_id = row.Text("key_id");
  AZTP_ASSIGN_OR_RETURN(r.kind,
                        ParseStored(row.Text("kind"), CaKeyRecord::ParseKind,
                                    "signing key kind"));
  AZTP_ASSIGN_OR_RETURN(r.state,
                        ParseStored(row.Text("state"), CaKeyRecord::ParseState,
                                    "signing key state"));
  r.chain_pem = row.Text("chain_pem");
  r.key_pem = row.Secret("key_pem");
  r.created_at = row.Int("created_at");
  r.activated_at = row.Int("activated_at");
  r.not_after = row.Int("not_after");
  return r;
}

// SealContext binds a sealed key to its row: its ID, kind, state, expiry
// and the certificate chain it signs with, so that a database writer can
// neither move a sealed key to another row nor change what the row says
// about it, such as putting another CA in its chain (every put seals
// again).
std::string SealContext(const CaKeyRecord& r) {
  const Sha256Digest chain = Sha256(AsBytes(r.chain_pem));
  return "aztp ca_keys.key_pem " + std::string(ToString(r.kind)) + " " +
         std::string(ToString(r.state)) + " " + std::to_string(r.not_after) +
         " " + HexEncode(chain) + " " + r.key_id;
}

}  // namespace

// PutCaKey replaces every field of an existing key, or inserts it.
Status SqlSigningKeys::PutCaKey(const CaKeyRecord& r) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  std::optional<Bytes> sealed;
  if (s_.Seals()) {
    AZTP_ASSIGN_OR_RETURN(sealed, s_.SealSecret(r.key_pem, SealContext(r)));
  }
  return s_.UpdateOrInsert(
      "UPDATE ca_keys SET kind = ?, state = ?, chain_pem = ?, key_pem = ?, "
      "created_at = ?, activated_at = ?, not_after = ? WHERE key_id = ?",
      "INSERT INTO ca_keys (kind, state, chain_pem, key_pem, created_at, "
      "activated_at, not_after, key_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      "put ca key", [&](SqlStmt& q) {
        q.Text(ToString(r.kind));
        q.Text(ToString(r.state));
        q.Text(r.chain_pem);
        q.Blob(sealed ? std::span<const uint8_t>(*sealed)
                      : r.key_pem.Bytes(InsecureSecretAccess::Get()));
        q.Int(r.created_at);
        q.Int(r.activated_at);
        q.Int(r.not_after);
        q.Text(r.key_id);
      });
}

Result<std::vector<CaKeyRecord>> SqlSigningKeys::ListCaKeys() {
  AZTP_RETURN_IF_ERROR(s_.CanRead());
  AZTP_ASSIGN_OR_RETURN(
      SqlStmt q,
      s_.Query("SELECT key_id, kind, state, chain_pem, key_pem, created_at, "
               "activated_at, not_after FROM ca_keys "
               "ORDER BY created_at, key_id"));
  AZTP_ASSIGN_OR_RETURN(std::vector<CaKeyRecord> keys,
                        s_.Rows<CaKeyRecord>(q, "list ca keys", ReadCaKey));
  for (CaKeyRecord& key : keys) {
    Result<SecretBytes> pem = s_.OpenSecret(key.key_pem, SealContext(key));
    if (!pem.has_value()) {
      return pem.error().WithContext("signing key " + QuoteInput(key.key_id));
    }
    key.key_pem = std::move(pem).value();
  }
  return keys;
}

Status SqlSigningKeys::DeleteCaKey(const std::string& key_id) {
  AZTP_RETURN_IF_ERROR(s_.CanWrite());
  AZTP_ASSIGN_OR_RETURN(SqlStmt q,
                        s_.Query("DELETE FROM ca_keys WHERE key_id = ?"));
  q.Text(key_id);
  return q.RunOnRow("delete ca key",
                    "CA key " + QuoteInput(key_id) + " does not exist");
}

}  // namespace aztp::internal

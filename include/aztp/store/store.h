// Store: the control plane's durable state behind one interface
// (docs/aztpd.md). Every mutation happens inside one transaction, together
// with the audit record that describes it, so that after a crash either both
// are present or neither. The SQLite implementation is the embedded default;
// nothing outside it uses SQLite-specific SQL, so a PostgreSQL one can follow
// without touching callers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aztp/audit/audit.h"
#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/base/secret.h"
#include "aztp/encoding/json.h"

namespace aztp {

// IdentityRecord is one registered identity.
struct IdentityRecord {
  std::string id;                     // spiffe:// form
  std::optional<std::string> parent;  // parent identity's ID
  bool global = false;                // visible beyond its trust domain
  bool discoverable = false;
  Json metadata = Json::object();  // free-form, at most 16 KiB serialised
  std::vector<std::string> selectors;
  // federates_with lists the federated trust domains (names) whose bundles
  // this identity receives, i.e. whose workloads it accepts as peers and
  // chain hops; nullopt: every federated trust domain.
  std::optional<std::vector<std::string>> federates_with;
  std::string status = "active";  // "active" or "revoked"
  std::string revoked_reason;     // when revoked
  // revoked_by is the actor of the revocation (an audit actor such as
  // "apikey:<key_id>"), when revoked; it decides who may reissue.
  std::string revoked_by;
  UnixTime created_at = 0;
  UnixTime updated_at = 0;
};

// LinkRecord is a relation between two identities.
struct LinkRecord {
  std::string from;
  std::string to;
  std::string kind;  // "linked" or "parent"
  UnixTime created_at = 0;
  Json metadata = Json::object();  // at most 16 KiB serialised
};

// ApiKeyRecord is an API key; the secret itself is never stored, only a
// salted hash of it.
struct ApiKeyRecord {
  std::string key_id;  // public part, e.g. "ak_3f2a..."
  std::string salt;    // hex
  std::string hash;    // hex SHA-256(salt || secret)
  std::string scope;   // "admin" or a SPIFFE path prefix "/agents/"
  std::string description;
  bool revoked = false;
  UnixTime created_at = 0;
};

// SvidRecord notes an issued X.509-SVID (never its key).
struct SvidRecord {
  std::string serial;  // lowercase hex
  std::string id;
  UnixTime issued_at = 0;
  UnixTime expires_at = 0;
};

// CaKeyRecord is one signing key of the trust domain: an X.509 CA key with
// its certificate chain, or a JWT-SVID key.
struct CaKeyRecord {
  std::string key_id;
  std::string kind = "x509";  // "x509" or "jwt"
  std::string state;          // "prepared", "active" or "retired"
  std::string chain_pem;      // x509: signing certificate first, root last
  SecretBytes key_pem;        // PKCS#8
  UnixTime created_at = 0;
  UnixTime activated_at = 0;  // 0 until the key becomes active
  UnixTime not_after = 0;
};

// FederationRecord is a federation relationship added through the API
// (those of the configuration file are not stored).
struct FederationRecord {
  std::string trust_domain;  // name, e.g. "org-b.example"
  std::string endpoint_url;
  std::string profile;           // "https_spiffe" or "https_web"
  std::string endpoint_id;       // https_spiffe: the endpoint's SPIFFE ID
  std::string bootstrap_bundle;  // https_spiffe: a SPIFFE bundle document
  std::string web_ca_pem;        // https_web: CAs to trust; "" = system's
  UnixTime created_at = 0;
  std::string revocations_url;  // "" = the domain's list is not fetched
};

// FederatedBundleRecord is the last good bundle fetched for a federated
// trust domain, kept so that a restart does not forget it.
struct FederatedBundleRecord {
  std::string trust_domain;
  std::string bundle;  // SPIFFE bundle document
  UnixTime updated_at = 0;
};

// FederatedRevocationsRecord is the last good revocation list fetched for a
// federated trust domain, kept so that a restart does not forget it.
struct FederatedRevocationsRecord {
  std::string trust_domain;
  std::string list;  // revocation list document
  UnixTime updated_at = 0;
};

// PolicyRecord is one version of a stored policy (policy/policy.h). Every
// write of a policy is a new version; older versions are kept.
struct PolicyRecord {
  std::string id;    // "policy:<12 hex>"
  std::string name;  // unique, chosen by the author
  std::string description;
  int64_t version = 1;
  std::string document;     // canonical JSON (Policy::ToJson)
  UnixTime created_at = 0;  // of the policy (its first version)
  UnixTime updated_at = 0;  // of this version
};

// FlowRecord is an identity flow: a named group of identities managed
// together, with revocation scoped to the flow.
struct FlowRecord {
  std::string id;  // "flow_<24 hex>"
  std::string name;
  std::string description;
  std::string discoverable = "public";  // "public" or "private"
  Json tags = Json::array();            // strings
  Json metadata = Json::object();
  std::string created_by;  // actor
  UnixTime created_at = 0;
  UnixTime updated_at = 0;
};

// FlowMemberRecord is an identity's membership of a flow.
struct FlowMemberRecord {
  std::string flow_id;
  std::string identity;
  std::string status = "active";  // "active" or "revoked" (in this flow)
  std::string reason;
  UnixTime added_at = 0;
  UnixTime updated_at = 0;
};

// IdentityFilter selects identities for listing.
struct IdentityFilter {
  std::optional<std::string> id_prefix;  // e.g. "spiffe://td/agents/"
  std::optional<std::string> status;
  std::optional<std::string> parent;
  std::optional<bool> discoverable;
  std::string after;  // page token: list IDs strictly after this one
  int limit = 100;    // 1..1000
};

// Transaction is what a Store hands to Read/Write callbacks. Methods return
// kNotFound or kAlreadyExists where that applies, kIo on storage errors.
class Transaction {
 public:
  virtual ~Transaction() = default;

  virtual Status InsertIdentity(const IdentityRecord& r) = 0;
  virtual Status UpdateIdentity(const IdentityRecord& r) = 0;
  virtual Result<std::optional<IdentityRecord>> GetIdentity(
      const std::string& id) = 0;
  // ListIdentities returns at most filter.limit records ordered by ID.
  virtual Result<std::vector<IdentityRecord>> ListIdentities(
      const IdentityFilter& filter) = 0;
  virtual Result<int64_t> CountIdentities(const std::string& status) = 0;

  virtual Status InsertLink(const LinkRecord& r) = 0;
  // ListLinks returns links where `id` is `from` or `to`.
  virtual Result<std::vector<LinkRecord>> ListLinks(const std::string& id) = 0;

  virtual Status InsertApiKey(const ApiKeyRecord& r) = 0;
  virtual Result<std::optional<ApiKeyRecord>> GetApiKey(
      const std::string& key_id) = 0;
  virtual Result<std::vector<ApiKeyRecord>> ListApiKeys() = 0;
  virtual Status RevokeApiKey(const std::string& key_id) = 0;

  virtual Status InsertSvid(const SvidRecord& r) = 0;
  virtual Result<std::vector<SvidRecord>> ListSvids(const std::string& id) = 0;

  virtual Status PutCaKey(const CaKeyRecord& r) = 0;  // insert or replace
  virtual Result<std::vector<CaKeyRecord>> ListCaKeys() = 0;
  virtual Status DeleteCaKey(const std::string& key_id) = 0;

  // PutFederation inserts a relationship (kAlreadyExists for a known trust
  // domain); DeleteFederation removes one (kNotFound), its bundle and its
  // revocation list.
  virtual Status PutFederation(const FederationRecord& r) = 0;
  virtual Result<std::vector<FederationRecord>> ListFederations() = 0;
  virtual Status DeleteFederation(const std::string& trust_domain) = 0;
  // PutFederatedBundle inserts or replaces a trust domain's bundle.
  virtual Status PutFederatedBundle(const FederatedBundleRecord& r) = 0;
  virtual Result<std::vector<FederatedBundleRecord>> ListFederatedBundles() = 0;
  virtual Status DeleteFederatedBundle(const std::string& trust_domain) = 0;
  // PutFederatedRevocations inserts or replaces a trust domain's list.
  virtual Status PutFederatedRevocations(
      const FederatedRevocationsRecord& r) = 0;
  virtual Result<std::vector<FederatedRevocationsRecord>>
  ListFederatedRevocations() = 0;
  // PutPolicy stores a new version of a policy (inserting the policy on its
  // first version); the version must be the current one + 1 (kAlreadyExists
  // otherwise, also for a name another policy has).
  virtual Status PutPolicy(const PolicyRecord& r) = 0;
  // GetPolicy returns the current version, or `version` when given.
  virtual Result<std::optional<PolicyRecord>> GetPolicy(
      const std::string& id, std::optional<int64_t> version = std::nullopt) = 0;
  virtual Result<std::vector<PolicyRecord>> ListPolicies() = 0;  // current
  // DeletePolicy removes a policy, its versions and attachments.
  virtual Status DeletePolicy(const std::string& id) = 0;
  virtual Status AttachPolicy(const std::string& identity,
                              const std::string& policy_id, UnixTime now) = 0;
  virtual Status DetachPolicy(const std::string& identity,
                              const std::string& policy_id) = 0;
  // ListAttachedPolicies returns the current versions of the policies
  // attached to `identity`, ordered by ID.
  virtual Result<std::vector<PolicyRecord>> ListAttachedPolicies(
      const std::string& identity) = 0;
  // ListPolicyAttachments returns the identities a policy is attached to.
  virtual Result<std::vector<std::string>> ListPolicyAttachments(
      const std::string& policy_id) = 0;
  // Flows: PutFlow inserts or replaces; DeleteFlow also removes members.
  virtual Status PutFlow(const FlowRecord& r) = 0;
  virtual Result<std::optional<FlowRecord>> GetFlow(const std::string& id) = 0;
  virtual Result<std::vector<FlowRecord>> ListFlows() = 0;
  virtual Status DeleteFlow(const std::string& id) = 0;
  // PutFlowMember inserts or replaces a membership.
  virtual Status PutFlowMember(const FlowMemberRecord& r) = 0;
  virtual Result<std::optional<FlowMemberRecord>> GetFlowMember(
      const std::string& flow_id, const std::string& identity) = 0;
  virtual Result<std::vector<FlowMemberRecord>> ListFlowMembers(
      const std::string& flow_id) = 0;
  virtual Status DeleteFlowMember(const std::string& flow_id,
                                  const std::string& identity) = 0;
  // AppendAudit stores `r` as the next record of the hash-chained log
  // (aztp/audit/audit.h): its seq, prev and hash are assigned here, whatever
  // `r` holds. Returns the seq.
  virtual Result<int64_t> AppendAudit(const AuditRecord& r) = 0;
  // ListAudit returns records with seq > after, at most `limit`, in order.
  virtual Result<std::vector<AuditRecord>> ListAudit(int64_t after,
                                                     int limit) = 0;
  // Records shipped by a proxy (`source`, its SPIFFE ID) are kept as sent,
  // in their own chain per source.
  virtual Result<AuditHead> ShippedAuditHead(const std::string& source) = 0;
  virtual Status AppendShippedAudit(const std::string& source,
                                    const AuditRecord& r) = 0;
  virtual Result<std::vector<AuditRecord>> ListShippedAudit(
      const std::string& source, int64_t after, int limit) = 0;
  virtual Result<std::vector<std::string>> ListAuditSources() = 0;

  // Meta values: small named integers (e.g. the revocation sequence).
  virtual Result<std::optional<int64_t>> GetMeta(const std::string& name) = 0;
  virtual Status PutMeta(const std::string& name, int64_t value) = 0;
};

// Store opens transactions. Thread-safe.
class Store {
 public:
  virtual ~Store() = default;
  // Write runs `fn` in one read-write transaction: committed (durably) when
  // fn succeeds, rolled back when it fails.
  virtual Status Write(const std::function<Status(Transaction&)>& fn) = 0;
  // Read runs `fn` on a consistent read-only snapshot.
  virtual Status Read(const std::function<Status(Transaction&)>& fn) = 0;
};

// CheckAuditSource is kNotFound for a `source` that never shipped a
// record: a misspelt --source must not read as an empty, valid log
// (docs/audit.md, "CLI").
Status CheckAuditSource(Transaction& tx, const std::string& source);

// OpenSqliteStore opens (creating and migrating) the SQLite store at `path`:
// WAL, foreign keys, synchronous=FULL (an acknowledged write survives
// kill -9 and power loss), migrations versioned in code.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

// OpenSqliteStoreReadOnly opens an existing store for reading only (e.g. to
// verify its audit log while its daemon runs): it creates nothing, migrates
// nothing, and refuses a schema of another version (kUnsupported). Write
// transactions fail.
Result<std::unique_ptr<Store>> OpenSqliteStoreReadOnly(const std::string& path);

}  // namespace aztp

// The SQLite repositories: one class per aggregate (each defined in its own
// sqlite_<aggregate>.cc, with the one row mapper of each record), composed
// into SqliteTransaction. Each works through the SqliteSession of the
// transaction it belongs to.
//
// The statements keep to SQL that PostgreSQL also accepts (explicit
// existence checks rather than INSERT OR REPLACE, UPDATE-then-INSERT or ON
// CONFLICT rather than REPLACE, quoted identifiers where a column name is
// an SQL keyword), so that the same shapes carry over to another
// implementation.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "aztp/store/store.h"
#include "store/sqlite_session.h"

namespace aztp::internal {

// SqliteRepository is the session a repository runs its statements in.
class SqliteRepository {
 protected:
  explicit SqliteRepository(SqliteSession& session) : s_(session) {}
  SqliteSession& s_;
};

class SqliteIdentities : public virtual IdentityRepository,
                         protected SqliteRepository {
 public:
  explicit SqliteIdentities(SqliteSession& s) : SqliteRepository(s) {}
  Status InsertIdentity(const IdentityRecord& r) override;
  Status UpdateIdentity(const IdentityRecord& r) override;
  Result<std::optional<IdentityRecord>> GetIdentity(
      const std::string& id) override;
  Result<std::vector<IdentityRecord>> ListIdentities(
      const IdentityFilter& filter) override;
  Result<int64_t> CountIdentities(
      std::optional<IdentityRecord::Status> status) override;
  Status InsertLink(const LinkRecord& r) override;
  Result<std::vector<LinkRecord>> ListLinks(const std::string& id) override;

 private:
  Status CheckParent(const IdentityRecord& r);
  Status CheckLinkIsNew(const LinkRecord& r);
  // WriteIdentity inserts or updates a record after the checks both
  // share.
  Status WriteIdentity(const IdentityRecord& r, bool insert);
};

class SqliteApiKeys : public virtual ApiKeyRepository,
                      protected SqliteRepository {
 public:
  explicit SqliteApiKeys(SqliteSession& s) : SqliteRepository(s) {}
  Status InsertApiKey(const ApiKeyRecord& r) override;
  Result<std::optional<ApiKeyRecord>> GetApiKey(
      const std::string& key_id) override;
  Result<std::vector<ApiKeyRecord>> ListApiKeys() override;
  Status RevokeApiKey(const std::string& key_id) override;
};

class SqliteSvids : public virtual SvidRepository, protected SqliteRepository {
 public:
  explicit SqliteSvids(SqliteSession& s) : SqliteRepository(s) {}
  Status InsertSvid(const SvidRecord& r) override;
  Result<std::vector<SvidRecord>> ListSvids(const std::string& id) override;
};

class SqliteSigningKeys : public virtual SigningKeyRepository,
                          protected SqliteRepository {
 public:
  explicit SqliteSigningKeys(SqliteSession& s) : SqliteRepository(s) {}
  Status PutCaKey(const CaKeyRecord& r) override;
  Result<std::vector<CaKeyRecord>> ListCaKeys() override;
  Status DeleteCaKey(const std::string& key_id) override;
};

class SqliteFederation : public virtual FederationRepository,
                         protected SqliteRepository {
 public:
  explicit SqliteFederation(SqliteSession& s) : SqliteRepository(s) {}
  Status PutFederation(const FederationRecord& r) override;
  Result<std::vector<FederationRecord>> ListFederations() override;
  Status DeleteFederation(const std::string& trust_domain) override;
  Status PutFederatedBundle(const FederatedBundleRecord& r) override;
  Result<std::vector<FederatedBundleRecord>> ListFederatedBundles() override;
  Status DeleteFederatedBundle(const std::string& trust_domain) override;
  Status PutFederatedRevocations(const FederatedRevocationsRecord& r) override;
  Result<std::vector<FederatedRevocationsRecord>> ListFederatedRevocations()
      override;

 private:
  // PutDocument inserts or replaces a fetched document of `table`
  // (federated_bundles.bundle or federated_revocations.list).
  Status PutDocument(const char* sql, const std::string& trust_domain,
                     const std::string& document, UnixTime updated_at,
                     std::string_view what);
};

class SqlitePolicies : public virtual PolicyRepository,
                       protected SqliteRepository {
 public:
  explicit SqlitePolicies(SqliteSession& s) : SqliteRepository(s) {}
  Status PutPolicy(const PolicyRecord& r) override;
  Result<std::optional<PolicyRecord>> GetPolicy(
      const std::string& id, std::optional<int64_t> version) override;
  Result<std::vector<PolicyRecord>> ListPolicies() override;
  Status DeletePolicy(const std::string& id) override;
  Status AttachPolicy(const std::string& identity, const std::string& policy_id,
                      UnixTime now) override;
  Status DetachPolicy(const std::string& identity,
                      const std::string& policy_id) override;
  Result<std::vector<PolicyRecord>> ListAttachedPolicies(
      const std::string& identity) override;
  Result<std::vector<std::string>> ListPolicyAttachments(
      const std::string& policy_id) override;

 private:
  Result<std::optional<int64_t>> CurrentVersion(const std::string& id);
};

class SqliteFlows : public virtual FlowRepository, protected SqliteRepository {
 public:
  explicit SqliteFlows(SqliteSession& s) : SqliteRepository(s) {}
  Status PutFlow(const FlowRecord& r) override;
  Result<std::optional<FlowRecord>> GetFlow(const std::string& id) override;
  Result<std::vector<FlowRecord>> ListFlows() override;
  Status DeleteFlow(const std::string& id) override;
  Status PutFlowMember(const FlowMemberRecord& r) override;
  Result<std::optional<FlowMemberRecord>> GetFlowMember(
      const std::string& flow_id, const std::string& identity) override;
  Result<std::vector<FlowMemberRecord>> ListFlowMembers(
      const std::string& flow_id) override;
  Status DeleteFlowMember(const std::string& flow_id,
                          const std::string& identity) override;
};

class SqliteAuditLog : public virtual AuditLogRepository,
                       protected SqliteRepository {
 public:
  explicit SqliteAuditLog(SqliteSession& s) : SqliteRepository(s) {}
  Result<int64_t> AppendAudit(const AuditRecord& r) override;
  Result<std::vector<AuditRecord>> ListAudit(int64_t after, int limit) override;
  Result<AuditHead> ShippedAuditHead(const std::string& source) override;
  Status AppendShippedAudit(const std::string& source,
                            const AuditRecord& r) override;
  Result<std::vector<AuditRecord>> ListShippedAudit(const std::string& source,
                                                    int64_t after,
                                                    int limit) override;
  Result<std::vector<std::string>> ListAuditSources() override;

 private:
  // Head is the last record of the store's own log, or of `source`'s.
  Result<AuditHead> Head(const std::optional<std::string>& source);
  // Insert writes a sealed record: into the own log, or as `source`'s.
  Status Insert(const std::optional<std::string>& source, const AuditRecord& r);
};

class SqliteMeta : public virtual MetaRepository, protected SqliteRepository {
 public:
  explicit SqliteMeta(SqliteSession& s) : SqliteRepository(s) {}
  Result<std::optional<int64_t>> GetMeta(const std::string& name) override;
  Status PutMeta(const std::string& name, int64_t value) override;
};

// SqliteTransaction is every repository over one connection, inside the
// transaction that the store opened.
class SqliteTransaction final : public SqliteSession,
                                public Transaction,
                                public SqliteIdentities,
                                public SqliteApiKeys,
                                public SqliteSvids,
                                public SqliteSigningKeys,
                                public SqliteFederation,
                                public SqlitePolicies,
                                public SqliteFlows,
                                public SqliteAuditLog,
                                public SqliteMeta {
 public:
  SqliteTransaction(SqliteDb& db, bool writable)
      : SqliteSession(db, writable),
        SqliteIdentities(Session(this)),
        SqliteApiKeys(Session(this)),
        SqliteSvids(Session(this)),
        SqliteSigningKeys(Session(this)),
        SqliteFederation(Session(this)),
        SqlitePolicies(Session(this)),
        SqliteFlows(Session(this)),
        SqliteAuditLog(Session(this)),
        SqliteMeta(Session(this)) {}

 private:
  // Session is the base constructed first, which the repositories share
  // (a conversion, not a member call: no member may be called before every
  // base is constructed).
  static SqliteSession& Session(SqliteTransaction* self) {
    return *static_cast<SqliteSession*>(self);
  }
};

// ChainLegacyAudit seals records written before the log was hash-chained
// (migration 5): in seq order, each gets prev and hash as if appended now.
Status ChainLegacyAudit(SqliteDb& db);

}  // namespace aztp::internal

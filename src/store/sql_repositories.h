// The store's repositories: one class per aggregate (each defined in its
// own sql_<aggregate>.cc, with the one row mapper of each record), composed
// into SqlTransaction. Each works through the SqlSession of the transaction
// it belongs to, so the same code serves every driver (sql.h).
//
// The statements keep to SQL that SQLite and PostgreSQL both accept:
// explicit existence checks rather than INSERT OR REPLACE, UPDATE-then-
// INSERT or ON CONFLICT rather than REPLACE, quoted identifiers where a
// column name is an SQL keyword, `?` placeholders, integers and byte
// strings only (PostgreSQL keeps the strings as bytea, which compares
// byte-wise as SQLite's BINARY collation does).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "aztp/store/store.h"
#include "store/sql_session.h"

namespace aztp::internal {

// SqlRepository is the session a repository runs its statements in.
class SqlRepository {
 protected:
  explicit SqlRepository(SqlSession& session) : s_(session) {}
  SqlSession& s_;
};

class SqlIdentities : public virtual IdentityRepository,
                      protected SqlRepository {
 public:
  explicit SqlIdentities(SqlSession& s) : SqlRepository(s) {}
  Status InsertIdentity(const IdentityRecord& r) override;
  Status UpdateIdentity(const IdentityRecord& r) override;
  Result<std::optional<IdentityRecord>> GetIdentity(
      const std::string& id) override;
  Result<std::vector<IdentityRecord>> ListIdentities(
      const IdentityFilter& filter) override;
  Result<int64_t> CountIdentities(
      std::optional<IdentityRecord::Status> status) override;
  Status NoteRevocationChange(const std::string& id, int64_t sequence) override;
  Result<std::vector<std::string>> ListRevocationChanges(
      int64_t after, std::size_t limit) override;
  Status InsertLink(const LinkRecord& r) override;
  Result<std::vector<LinkRecord>> ListLinks(const std::string& id) override;

 private:
  Status CheckParent(const IdentityRecord& r);
  Status CheckLinkIsNew(const LinkRecord& r);
  // WriteIdentity inserts or updates a record after the checks both
  // share.
  Status WriteIdentity(const IdentityRecord& r, bool insert);
};

class SqlApiKeys : public virtual ApiKeyRepository, protected SqlRepository {
 public:
  explicit SqlApiKeys(SqlSession& s) : SqlRepository(s) {}
  Status InsertApiKey(const ApiKeyRecord& r) override;
  Result<std::optional<ApiKeyRecord>> GetApiKey(
      const std::string& key_id) override;
  Result<std::vector<ApiKeyRecord>> ListApiKeys() override;
  Status RevokeApiKey(const std::string& key_id) override;
};

class SqlSvids : public virtual SvidRepository, protected SqlRepository {
 public:
  explicit SqlSvids(SqlSession& s) : SqlRepository(s) {}
  Status InsertSvid(const SvidRecord& r) override;
  Result<std::vector<SvidRecord>> ListSvids(const std::string& id) override;
};

class SqlSigningKeys : public virtual SigningKeyRepository,
                       protected SqlRepository {
 public:
  explicit SqlSigningKeys(SqlSession& s) : SqlRepository(s) {}
  Status PutCaKey(const CaKeyRecord& r) override;
  Result<std::vector<CaKeyRecord>> ListCaKeys() override;
  Status DeleteCaKey(const std::string& key_id) override;
};

class SqlFederation : public virtual FederationRepository,
                      protected SqlRepository {
 public:
  explicit SqlFederation(SqlSession& s) : SqlRepository(s) {}
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

class SqlPolicies : public virtual PolicyRepository, protected SqlRepository {
 public:
  explicit SqlPolicies(SqlSession& s) : SqlRepository(s) {}
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

class SqlFlows : public virtual FlowRepository, protected SqlRepository {
 public:
  explicit SqlFlows(SqlSession& s) : SqlRepository(s) {}
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

class SqlAuditLog : public virtual AuditLogRepository, protected SqlRepository {
 public:
  explicit SqlAuditLog(SqlSession& s) : SqlRepository(s) {}
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

class SqlMeta : public virtual MetaRepository, protected SqlRepository {
 public:
  explicit SqlMeta(SqlSession& s) : SqlRepository(s) {}
  Result<std::optional<int64_t>> GetMeta(const std::string& name) override;
  Status PutMeta(const std::string& name, int64_t value) override;
};

class SqlCoordination : public virtual CoordinationRepository,
                        protected SqlRepository {
 public:
  explicit SqlCoordination(SqlSession& s) : SqlRepository(s) {}
  Result<std::optional<LeaseRecord>> GetLease(const std::string& name) override;
  Status PutLease(const LeaseRecord& r) override;
  Result<bool> ClaimOnce(const std::string& key, UnixTime expires_at,
                         UnixTime now) override;
  Status PutTicket(const TicketRecord& r) override;
  Result<std::optional<TicketRecord>> GetTicket(const std::string& kind,
                                                const std::string& key,
                                                UnixTime now) override;
  Status DeleteTicket(const std::string& kind, const std::string& key) override;
  Result<int64_t> CountTickets(const std::string& kind,
                               const std::optional<std::string>& owner,
                               UnixTime now) override;
  Result<int64_t> SweepExpired(UnixTime now) override;
};

// SqlTransaction is every repository over one connection, inside the
// transaction that the store opened.
class SqlTransaction final : public SqlSession,
                             public Transaction,
                             public SqlIdentities,
                             public SqlApiKeys,
                             public SqlSvids,
                             public SqlSigningKeys,
                             public SqlFederation,
                             public SqlPolicies,
                             public SqlFlows,
                             public SqlAuditLog,
                             public SqlMeta,
                             public SqlCoordination {
 public:
  SqlTransaction(SqlConnection& db, bool writable,
                 const SecretBytes* seal_key = nullptr)
      : SqlSession(db, writable, seal_key),
        SqlIdentities(Session(this)),
        SqlApiKeys(Session(this)),
        SqlSvids(Session(this)),
        SqlSigningKeys(Session(this)),
        SqlFederation(Session(this)),
        SqlPolicies(Session(this)),
        SqlFlows(Session(this)),
        SqlAuditLog(Session(this)),
        SqlMeta(Session(this)),
        SqlCoordination(Session(this)) {}

 private:
  // Session is the base constructed first, which the repositories share
  // (a conversion, not a member call: no member may be called before every
  // base is constructed).
  static SqlSession& Session(SqlTransaction* self) {
    return *static_cast<SqlSession*>(self);
  }
};

// ChainLegacyAudit seals records written before the log was hash-chained
// (SQLite migration 5): in seq order, each gets prev and hash as if
// appended now. `db` is inside the migration's transaction.
Status ChainLegacyAudit(SqlConnection& db);

}  // namespace aztp::internal

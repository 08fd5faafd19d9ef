// FlowService, called directly: typed requests, typed answers, the stable
// reasons, who may see and change flows and memberships, and one audit
// record per mutation.
#include "aztp/services/flows.h"

#include <gtest/gtest.h>

#include <regex>

#include "aztp/services/identities.h"
#include "services_fixture.h"

namespace aztp::services {
namespace {

constexpr char kAgent[] = "spiffe://org-a.example/agents/a";
constexpr char kTool[] = "spiffe://org-a.example/tools/t";

class FlowServiceTest : public ServiceTest {
 protected:
  void SetUp() override {
    for (const char* id : {kAgent, kTool}) {
      ASSERT_TRUE(identities_.Register(admin_, NewIdentity{Id(id)}));
    }
    registered_ = Audit().size();
  }

  static FlowFields Named(const std::string& name,
                          const std::string& discoverable = "public") {
    FlowFields f;
    f.name = name;
    f.discoverable = discoverable;
    return f;
  }
  // Create makes a flow as `who` and returns its ID.
  std::string Create(const Principal& who, FlowFields fields) {
    auto r = flows_.Create(who, std::move(fields));
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message());
    return r ? r->id : "";
  }
  // CodeOf is the error code of a failed result, kInternal on success (so
  // that a success never passes for an expected refusal).
  template <typename T>
  static Code CodeOf(const Result<T>& r) {
    return r ? Code::kInternal : r.error().code();
  }
  static Code CodeOf(const Status& s) {
    return s ? Code::kInternal : s.error().code();
  }

  IdentityService identities_{ctx_};
  FlowService flows_{ctx_};
  std::size_t registered_ = 0;  // audit records after SetUp
  const Principal agents_ = Scoped("/agents");
  const Principal tools_ = Scoped("/tools");
  const Principal workload_ = Principal::Workload(Id(kAgent));
};

TEST_F(FlowServiceTest, CreateStoresTheFlowAndItsAudit) {
  FlowFields f = Named("deploy");
  f.description = "the deployment";
  f.tags = std::vector<std::string>{"prod", "eu"};
  f.metadata = Json{{"astha-flow", {{"id", "x"}}}};
  auto r = flows_.Create(agents_, f);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_TRUE(std::regex_match(r->id, std::regex("flow_[0-9a-f]{24}")));
  EXPECT_EQ(r->name, "deploy");
  EXPECT_EQ(r->description, "the deployment");
  EXPECT_EQ(ToString(r->discoverable), "public");
  EXPECT_EQ(r->tags, Json::array({"prod", "eu"}));
  EXPECT_EQ(r->metadata["astha-flow"]["id"], "x");
  EXPECT_EQ(r->created_by, "apikey:k-/agents");
  EXPECT_EQ(r->created_at, kServiceTestNow);
  auto got = flows_.Get(agents_, r->id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->flow.name, "deploy");
  EXPECT_TRUE(got->members.empty());
  auto audit = Audit();
  ASSERT_EQ(audit.size(), registered_ + 1);
  EXPECT_EQ(audit.back().action, "flow.create");
  EXPECT_EQ(audit.back().actor, "apikey:k-/agents");
  EXPECT_EQ(audit.back().subject, r->id);
  EXPECT_EQ(audit.back().details["discoverable"], "public");
  // Without a discoverable member a flow is public.
  FlowFields bare;
  bare.name = "bare";
  EXPECT_EQ(ToString(flows_.Create(admin_, bare)->discoverable), "public");
}

TEST_F(FlowServiceTest, CreateValidatesItsFields) {
  struct Case {
    const char* what;
    FlowFields fields;
  };
  auto with = [](auto set) {
    FlowFields f;
    f.name = "a";
    set(f);
    return f;
  };
  std::vector<std::string> many;
  for (int i = 0; i < 33; ++i) many.push_back("t" + std::to_string(i));
  const std::vector<Case> cases = {
      {"no name", FlowFields{}},
      {"empty name", with([](FlowFields& f) { f.name = ""; })},
      {"long name",
       with([](FlowFields& f) { f.name = std::string(129, 'n'); })},
      {"long description",
       with([](FlowFields& f) { f.description = std::string(1025, 'd'); })},
      {"discoverable", with([](FlowFields& f) { f.discoverable = "secret"; })},
      {"empty tag",
       with([](FlowFields& f) { f.tags = std::vector<std::string>{""}; })},
      {"long tag", with([](FlowFields& f) {
         f.tags = std::vector<std::string>{std::string(65, 't')};
       })},
      {"33 tags", with([&](FlowFields& f) { f.tags = many; })},
      {"repeated tag", with([](FlowFields& f) {
         f.tags = std::vector<std::string>{"x", "x"};
       })},
      {"metadata array",
       with([](FlowFields& f) { f.metadata = Json::array(); })},
      {"metadata null", with([](FlowFields& f) { f.metadata = Json(); })},
      {"big metadata", with([](FlowFields& f) {
         f.metadata = Json{{"x", std::string(17000, 'x')}};
       })},
  };
  for (const Case& c : cases) {
    auto r = flows_.Create(admin_, c.fields);
    EXPECT_EQ(CodeOf(r), Code::kInvalidArgument) << c.what;
  }
  EXPECT_EQ(Audit().size(), registered_);
  // The limits themselves are fine.
  FlowFields f = Named(std::string(128, 'n'));
  f.tags = std::vector<std::string>(32, "");
  for (int i = 0; i < 32; ++i) {
    (*f.tags)[i] = std::to_string(i) + std::string(64 - (i < 10 ? 1 : 2), 'x');
  }
  EXPECT_TRUE(flows_.Create(admin_, f).has_value());
}

TEST_F(FlowServiceTest, VisibilityAndOwnership) {
  const std::string mine = Create(agents_, Named("mine", "private"));
  const std::string shared = Create(agents_, Named("shared"));
  const std::string ops = Create(admin_, Named("ops", "private"));
  auto names = [&](const Principal& who) {
    std::vector<std::string> out;
    auto listed = flows_.List(who);
    for (const auto& f : *listed) out.push_back(f.name);
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(names(agents_), (std::vector<std::string>{"mine", "shared"}));
  EXPECT_EQ(names(tools_), (std::vector<std::string>{"shared"}));
  EXPECT_EQ(names(admin_), (std::vector<std::string>{"mine", "ops", "shared"}));

  // Another key's private flow does not exist for the others, whatever
  // they ask of it.
  EXPECT_EQ(CodeOf(flows_.Get(tools_, mine)), Code::kNotFound);
  EXPECT_EQ(CodeOf(flows_.Update(tools_, mine, Named("x"))), Code::kNotFound);
  EXPECT_EQ(CodeOf(flows_.Delete(tools_, mine)), Code::kNotFound);
  EXPECT_EQ(CodeOf(flows_.Add(tools_, mine, Id(kTool))), Code::kNotFound);
  EXPECT_EQ(CodeOf(flows_.Get(agents_, ops)), Code::kNotFound);
  EXPECT_TRUE(flows_.Get(admin_, mine).has_value());

  // A public flow is visible to all, changed by its creator and admins.
  EXPECT_TRUE(flows_.Get(tools_, shared).has_value());
  auto refused = flows_.Update(tools_, shared, Named("x"));
  EXPECT_EQ(CodeOf(refused), Code::kPermissionDenied);
  EXPECT_EQ(refused.error().message(), "only the key that created flow " +
                                           shared +
                                           " (or an admin key) may change it");
  EXPECT_EQ(CodeOf(flows_.Delete(tools_, shared)), Code::kPermissionDenied);
  EXPECT_EQ(flows_.Update(agents_, shared, Named("y"))->name, "y");
  EXPECT_EQ(flows_.Update(admin_, shared, Named("z"))->name, "z");
  EXPECT_TRUE(flows_.Delete(agents_, shared));
  EXPECT_EQ(CodeOf(flows_.Get(admin_, shared)), Code::kNotFound);
}

TEST_F(FlowServiceTest, UpdateKeepsWhatIsNotSentAndAuditsWhatChanged) {
  FlowFields f = Named("deploy");
  f.description = "kept";
  f.tags = std::vector<std::string>{"a"};
  const std::string id = Create(admin_, f);
  clock_.Set(kServiceTestNow + 10);
  FlowFields changes;
  changes.discoverable = "private";
  changes.tags = std::vector<std::string>{};
  auto r = flows_.Update(admin_, id, changes);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->name, "deploy");
  EXPECT_EQ(r->description, "kept");
  EXPECT_EQ(ToString(r->discoverable), "private");
  EXPECT_EQ(r->tags, Json::array());
  EXPECT_EQ(r->created_at, kServiceTestNow);
  EXPECT_EQ(r->updated_at, kServiceTestNow + 10);
  EXPECT_EQ(ToString(flows_.Get(admin_, id)->flow.discoverable), "private");
  auto audit = Audit();
  EXPECT_EQ(audit.back().action, "flow.update");
  EXPECT_EQ(audit.back().details["changed"],
            Json::array({"discoverable", "tags"}));
  // Nothing to change, and bad values, change nothing.
  EXPECT_EQ(CodeOf(flows_.Update(admin_, id, FlowFields{})),
            Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(flows_.Update(admin_, id, Named(""))),
            Code::kInvalidArgument);
  EXPECT_EQ(Audit().size(), audit.size());
  EXPECT_EQ(flows_.Get(admin_, id)->flow.name, "deploy");
}

TEST_F(FlowServiceTest, FlowIdsAreCheckedBeforeTheStore) {
  for (const char* id : {"flow_000000000000000000000000", "nope",
                         "flow_00000000000000000000000Z", "", "flow_"}) {
    auto r = flows_.Get(admin_, id);
    EXPECT_EQ(CodeOf(r), Code::kNotFound) << id;
    EXPECT_EQ(r.error().message(), "no flow " + QuoteInput(id));
  }
  EXPECT_EQ(CodeOf(flows_.Add(admin_, "nope", Id(kAgent))), Code::kNotFound);
}

TEST_F(FlowServiceTest, MembershipAndFlowScopedRevocation) {
  const std::string id = Create(admin_, Named("pipeline"));
  auto added = flows_.Add(admin_, id, Id(kAgent));
  ASSERT_TRUE(added.has_value()) << added.error().message();
  EXPECT_EQ(added->flow_id, id);
  EXPECT_EQ(added->identity, kAgent);
  EXPECT_EQ(ToString(added->status), "active");
  EXPECT_EQ(added->added_at, kServiceTestNow);
  ASSERT_TRUE(flows_.Add(admin_, id, Id(kTool)));
  EXPECT_EQ(CodeOf(flows_.Add(admin_, id, Id(kAgent))), Code::kAlreadyExists);

  clock_.Set(kServiceTestNow + 5);
  auto revoked = flows_.Revoke(admin_, id, Id(kAgent), "leak");
  ASSERT_TRUE(revoked.has_value()) << revoked.error().message();
  EXPECT_EQ(ToString(revoked->status), "revoked");
  EXPECT_EQ(revoked->reason, "leak");
  EXPECT_EQ(revoked->added_at, kServiceTestNow);
  EXPECT_EQ(revoked->updated_at, kServiceTestNow + 5);
  auto details = flows_.Get(admin_, id);
  ASSERT_EQ(details->members.size(), 2u);
  EXPECT_EQ(details->members[0].identity, kAgent);
  EXPECT_EQ(ToString(details->members[0].status), "revoked");
  EXPECT_EQ(ToString(details->members[1].status), "active");
  // Revoked in the flow only: the identity itself stays active.
  EXPECT_EQ(ToString(identities_.Get(admin_, Id(kAgent))->identity.status),
            "active");

  auto reissued = flows_.Reissue(admin_, id, Id(kAgent));
  EXPECT_EQ(ToString(reissued->status), "active");
  EXPECT_EQ(reissued->reason, "");
  auto removed = flows_.Remove(admin_, id, Id(kTool));
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(removed->identity, kTool);
  EXPECT_EQ(flows_.Get(admin_, id)->members.size(), 1u);
  for (auto change :
       {FlowService::Change::kRemove, FlowService::Change::kRevoke,
        FlowService::Change::kReissue}) {
    auto r = flows_.ChangeMembership(admin_, id, Id(kTool), change);
    EXPECT_EQ(CodeOf(r), Code::kNotFound);
    EXPECT_EQ(r.error().message(),
              std::string(kTool) + " is not a member of flow " + id);
  }

  // Unknown identities, IDs of other trust domains, long reasons.
  auto unknown = flows_.Add(admin_, id, Id("spiffe://org-a.example/nobody"));
  EXPECT_EQ(CodeOf(unknown), Code::kNotFound);
  EXPECT_EQ(unknown.error().message(),
            "spiffe://org-a.example/nobody is not registered");
  EXPECT_EQ(CodeOf(flows_.Add(admin_, id, Id("spiffe://other.example/x"))),
            Code::kInvalidArgument);
  EXPECT_EQ(
      CodeOf(flows_.Revoke(admin_, id, Id(kAgent), std::string(1025, 'r'))),
      Code::kInvalidArgument);

  // Deleting the flow removes its memberships, never the identities.
  const std::string other = Create(admin_, Named("other"));
  ASSERT_TRUE(flows_.Add(admin_, other, Id(kAgent)));
  ASSERT_TRUE(flows_.Delete(admin_, id));
  EXPECT_TRUE(identities_.Get(admin_, Id(kAgent)).has_value());
  EXPECT_EQ(flows_.Get(admin_, other)->members.size(), 1u);
}

// A membership binds a flow and an identity (docs/aztpd.md, "Permissions"):
// adding needs the flow's owner and the identity in scope; reissuing the
// owner; removing and revoking either end.
TEST_F(FlowServiceTest, MembershipNeedsRightsOnBothEnds) {
  const std::string pub = Create(agents_, Named("shared"));
  // tools_ manages kTool but does not own the flow; agents_ owns the flow.
  auto r = flows_.Add(tools_, pub, Id(kTool));
  EXPECT_EQ(CodeOf(r), Code::kPermissionDenied);
  EXPECT_EQ(r.error().message(), "only the key that created flow " + pub +
                                     " (or an admin key) may add members");
  r = flows_.Add(tools_, pub, Id(kAgent));
  EXPECT_EQ(CodeOf(r), Code::kPermissionDenied);
  EXPECT_EQ(r.error().message(), std::string("these credentials may not "
                                             "manage ") +
                                     kAgent);
  // The owner needs the identity in scope too.
  EXPECT_EQ(CodeOf(flows_.Add(agents_, pub, Id(kTool))),
            Code::kPermissionDenied);
  ASSERT_TRUE(flows_.Add(admin_, pub, Id(kTool)));
  ASSERT_TRUE(flows_.Add(agents_, pub, Id(kAgent)));

  // The owner revokes a member it does not manage; another key may act
  // only on its own identities and may not undo the owner's revocation.
  EXPECT_TRUE(flows_.Revoke(agents_, pub, Id(kTool), "owner"));
  r = flows_.Revoke(tools_, pub, Id(kAgent), "");
  EXPECT_EQ(CodeOf(r), Code::kPermissionDenied);
  EXPECT_EQ(r.error().message(), std::string("these credentials may not "
                                             "manage ") +
                                     kAgent + " and do not own flow " + pub);
  EXPECT_EQ(CodeOf(flows_.Reissue(tools_, pub, Id(kTool))),
            Code::kPermissionDenied);
  EXPECT_TRUE(flows_.Reissue(agents_, pub, Id(kTool)));
  EXPECT_TRUE(flows_.Revoke(tools_, pub, Id(kTool), "mine"));
  EXPECT_EQ(CodeOf(flows_.Remove(tools_, pub, Id(kAgent))),
            Code::kPermissionDenied);
  EXPECT_TRUE(flows_.Remove(tools_, pub, Id(kTool)));
  EXPECT_TRUE(flows_.Remove(agents_, pub, Id(kAgent)));
}

TEST_F(FlowServiceTest, WorkloadSvidsMayNotUseFlows) {
  const std::string id = Create(admin_, Named("f"));
  ASSERT_TRUE(flows_.Add(admin_, id, Id(kAgent)));
  const std::size_t before = Audit().size();
  auto refused = [](const auto& r) {
    EXPECT_EQ(CodeOf(r), Code::kPermissionDenied);
    if (!r) {
      EXPECT_EQ(r.error().message(), kFlowsDenial);
    }
  };
  refused(flows_.Create(workload_, Named("x")));
  refused(flows_.List(workload_));
  refused(flows_.Get(workload_, id));
  refused(flows_.Update(workload_, id, Named("x")));
  refused(flows_.Delete(workload_, id));
  refused(flows_.Remove(workload_, id, Id(kAgent)));
  refused(flows_.Revoke(workload_, id, Id(kAgent), ""));
  EXPECT_EQ(Audit().size(), before);
}

TEST_F(FlowServiceTest, EveryMutationIsAuditedInItsTransaction) {
  const std::string id = Create(admin_, Named("audited"));
  FlowFields d;
  d.description = "d";
  ASSERT_TRUE(flows_.Update(admin_, id, d));
  ASSERT_TRUE(flows_.Add(admin_, id, Id(kAgent)));
  ASSERT_TRUE(flows_.Revoke(admin_, id, Id(kAgent), "why"));
  ASSERT_TRUE(flows_.Reissue(admin_, id, Id(kAgent)));
  ASSERT_TRUE(flows_.Remove(admin_, id, Id(kAgent)));
  ASSERT_TRUE(flows_.Delete(admin_, id));
  // Refused requests leave no record.
  EXPECT_FALSE(flows_.Add(admin_, id, Id(kAgent)));
  EXPECT_FALSE(flows_.Create(admin_, Named("")));
  auto records = Audit();
  ASSERT_EQ(records.size(), registered_ + 7);
  std::vector<std::string> actions;
  for (std::size_t i = registered_; i < records.size(); ++i) {
    actions.push_back(records[i].action);
    EXPECT_EQ(records[i].actor, "apikey:admin");
  }
  EXPECT_EQ(actions,
            (std::vector<std::string>{"flow.create", "flow.update", "flow.add",
                                      "flow.revoke", "flow.reissue",
                                      "flow.remove", "flow.delete"}));
  const AuditRecord& add = records[registered_ + 2];
  EXPECT_EQ(add.subject, kAgent);
  EXPECT_EQ(add.details["flow"], id);
  EXPECT_EQ(records[registered_ + 3].reason, "why");
  EXPECT_EQ(records[registered_ + 6].subject, id);
  EXPECT_EQ(records[registered_ + 6].details["name"], "audited");
}

}  // namespace
}  // namespace aztp::services

// aztp::Client's policy calls against a real control plane
// (client_test_fixture.h).
#include <gtest/gtest.h>

#include "aztp/client/client.h"
#include "client/client_test_fixture.h"

namespace aztp::client_test {
namespace {

using std::chrono::milliseconds;
using test_support::ControlPlaneServer;
using test_support::Must;

// ---- policies ----

TEST_F(ClientTest, PoliciesAreCreatedVersionedAttachedAndDecided) {
  const SpiffeId payments = Id("spiffe://org-a.example/tools/payments");
  Register(payments.str());
  const Policy v1 = Parsed(kPaymentsPolicy);
  auto created = admin().CreatePolicy("payments", v1, "quotes only");
  ASSERT_TRUE(created.has_value()) << created.error().message();
  const std::string id = created->id;
  EXPECT_EQ(id.rfind("policy:", 0), 0u);
  EXPECT_EQ(created->name, "payments");
  EXPECT_EQ(created->description, "quotes only");
  EXPECT_EQ(created->version, 1);
  EXPECT_EQ(created->document, v1.ToJson()) << "stored in canonical form";
  EXPECT_EQ(created->created_at, server_.clock().Now());
  EXPECT_TRUE(created->attached_to.empty());
  auto taken = admin().CreatePolicy("payments", v1);
  ASSERT_FALSE(taken.has_value());
  EXPECT_EQ(taken.error().code(), Code::kAlreadyExists);

  AuthorizeRequest quote{.identity = payments, .action = "payments:quote"};
  quote.context = Json{{"aztp:CallerTrustDomain", "org-b.example"}};
  auto decided = admin().Authorize(quote);
  ASSERT_TRUE(decided.has_value()) << decided.error().message();
  EXPECT_FALSE(decided->decision.allowed()) << "nothing is attached yet";
  EXPECT_EQ(decided->decision.basis, DecisionBasis::kDefaultDeny);
  EXPECT_FALSE(decided->policy_id.has_value());
  EXPECT_FALSE(decided->decision.statement_index.has_value());

  ASSERT_TRUE(admin().AttachPolicy(id, payments));
  auto again = admin().AttachPolicy(id, payments);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), Code::kAlreadyExists);
  auto attached = admin().ListPolicies(payments);
  ASSERT_TRUE(attached.has_value()) << attached.error().message();
  ASSERT_EQ(attached->size(), 1u);
  EXPECT_EQ((*attached)[0].id, id);
  auto all = admin().ListPolicies();
  ASSERT_TRUE(all.has_value()) << all.error().message();
  EXPECT_EQ(all->size(), 1u);

  decided = admin().Authorize(quote);
  ASSERT_TRUE(decided.has_value()) << decided.error().message();
  EXPECT_TRUE(decided->decision.allowed());
  EXPECT_EQ(decided->decision.verdict, Verdict::kAllow);
  EXPECT_EQ(decided->decision.basis, DecisionBasis::kStatement);
  EXPECT_EQ(decided->decision.statement_index, std::optional<std::size_t>(0));
  EXPECT_EQ(decided->decision.sid, std::optional<std::string>("Quotes"));
  EXPECT_EQ(decided->policy_id, std::optional<std::string>(id));
  EXPECT_NE(decided->decision.reason.find("statement 0"), std::string::npos)
      << decided->decision.reason;
  AuthorizeRequest refund = quote;
  refund.action = "payments:refund";
  refund.resource = "invoices/42";
  refund.policy_id = id;
  decided = admin().Authorize(refund);
  ASSERT_TRUE(decided.has_value()) << decided.error().message();
  EXPECT_EQ(decided->decision.verdict, Verdict::kDeny);
  EXPECT_TRUE(decided->decision.explicit_deny());
  EXPECT_EQ(decided->decision.sid, std::optional<std::string>("NoRefunds"));
  EXPECT_EQ(decided->decision.statement_index, std::optional<std::size_t>(1));
  refund.policy_id = "policy:000000000000";
  auto unattached = admin().Authorize(refund);
  ASSERT_FALSE(unattached.has_value());
  EXPECT_EQ(unattached.error().code(), Code::kNotFound);
  AuthorizeRequest bare = quote;
  bare.context = Json{{"department", "x"}};
  auto bare_key = admin().Authorize(bare);
  ASSERT_FALSE(bare_key.has_value());
  EXPECT_EQ(bare_key.error().code(), Code::kInvalidArgument);
  EXPECT_NE(bare_key.error().message().find("department"), std::string::npos);

  // A new version replaces the current one; a stale version is refused.
  const Policy v2 =
      Parsed(R"({"Statement":{"Effect":"Allow","Action":"payments:*"}})");
  auto updated =
      admin().UpdatePolicy(id, 1, v2, std::nullopt, "all of payments");
  ASSERT_TRUE(updated.has_value()) << updated.error().message();
  EXPECT_EQ(updated->version, 2);
  EXPECT_EQ(updated->name, "payments");
  EXPECT_EQ(updated->description, "all of payments");
  EXPECT_EQ(updated->document, v2.ToJson());
  auto stale = admin().UpdatePolicy(id, 1, v2);
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code(), Code::kAlreadyExists);
  EXPECT_NE(stale.error().message().find("version 2"), std::string::npos)
      << stale.error().message();
  refund.policy_id.reset();
  decided = admin().Authorize(refund);
  ASSERT_TRUE(decided.has_value()) << decided.error().message();
  EXPECT_TRUE(decided->decision.allowed());

  auto current = admin().GetPolicy(id);
  ASSERT_TRUE(current.has_value()) << current.error().message();
  EXPECT_EQ(current->version, 2);
  EXPECT_EQ(current->attached_to, std::vector<SpiffeId>{payments});
  auto first = admin().GetPolicy(id, 1);
  ASSERT_TRUE(first.has_value()) << first.error().message();
  EXPECT_EQ(first->version, 1);
  EXPECT_EQ(first->document, v1.ToJson());
  EXPECT_EQ(Must(PolicyFromJson(first->document)), v1);

  ASSERT_TRUE(admin().DetachPolicy(id, payments));
  auto detached = admin().DetachPolicy(id, payments);
  ASSERT_FALSE(detached.has_value());
  EXPECT_EQ(detached.error().code(), Code::kNotFound);
  attached = admin().ListPolicies(payments);
  ASSERT_TRUE(attached.has_value());
  EXPECT_TRUE(attached->empty());
  ASSERT_TRUE(admin().DeletePolicy(id));
  EXPECT_EQ(admin().GetPolicy(id).error().code(), Code::kNotFound);
  EXPECT_EQ(admin().DeletePolicy(id).error().code(), Code::kNotFound);
  EXPECT_TRUE(waits().empty());
}

TEST_F(ClientTest, PolicyCallsRefuseMalformedIdsAndFollowPermissions) {
  const SpiffeId tool = Id("spiffe://org-a.example/tools/search");
  Register(tool.str());
  Register("spiffe://org-a.example/agents/a");
  const Policy policy = Parsed(kPaymentsPolicy);
  server_.ClearRequests();
  // IDs that could bend the request target never leave the client.
  for (const char* bad : {"policy:../apikeys", "policy:a?b", "policy:",
                          "apikeys", "policy:a:attach", "policy:a/b"}) {
    EXPECT_EQ(admin().GetPolicy(bad).error().code(), Code::kInvalidArgument)
        << bad;
    EXPECT_EQ(admin().AttachPolicy(bad, tool).error().code(),
              Code::kInvalidArgument)
        << bad;
    EXPECT_EQ(admin().DeletePolicy(bad).error().code(), Code::kInvalidArgument)
        << bad;
    EXPECT_EQ(admin().UpdatePolicy(bad, 1, policy).error().code(),
              Code::kInvalidArgument)
        << bad;
  }
  AuthorizeRequest list_context{.identity = tool, .action = "a"};
  list_context.context = Json::array();
  EXPECT_EQ(admin().Authorize(list_context).error().code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(server_.requests().empty()) << "nothing was sent";

  // A scoped key asks for the decisions of its identities, but neither
  // manages the policies nor attaches them (docs/aztpd.md, "Permissions").
  const std::string id = Must(admin().CreatePolicy("p", policy)).id;
  auto created = admin().CreateApiKey("/tools/");
  ASSERT_TRUE(created.has_value()) << created.error().message();
  auto scoped =
      Make(std::string(created->api_key.View(InsecureSecretAccess::Get())));
  EXPECT_EQ(scoped->CreatePolicy("q", policy).error().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(scoped->ListPolicies().error().code(), Code::kPermissionDenied);
  EXPECT_EQ(scoped->GetPolicy(id).error().code(), Code::kPermissionDenied);
  EXPECT_EQ(scoped->DeletePolicy(id).error().code(), Code::kPermissionDenied);
  EXPECT_EQ(scoped->AttachPolicy(id, tool).error().code(),
            Code::kPermissionDenied);
  ASSERT_TRUE(admin().AttachPolicy(id, tool));
  EXPECT_EQ(scoped->AttachPolicy(id, Id("spiffe://org-a.example/agents/a"))
                .error()
                .code(),
            Code::kPermissionDenied);
  auto mine = scoped->ListPolicies(tool);
  ASSERT_TRUE(mine.has_value()) << mine.error().message();
  EXPECT_EQ(mine->size(), 1u);
  auto decided =
      scoped->Authorize({.identity = tool, .action = "payments:refund"});
  ASSERT_TRUE(decided.has_value()) << decided.error().message();
  EXPECT_TRUE(decided->decision.explicit_deny());
  EXPECT_EQ(scoped
                ->Authorize({.identity = Id("spiffe://org-a.example/agents/a"),
                             .action = "payments:refund"})
                .error()
                .code(),
            Code::kPermissionDenied);
  EXPECT_EQ(scoped->DetachPolicy(id, tool).error().code(),
            Code::kPermissionDenied);
  EXPECT_TRUE(admin().DetachPolicy(id, tool));
}

}  // namespace
}  // namespace aztp::client_test

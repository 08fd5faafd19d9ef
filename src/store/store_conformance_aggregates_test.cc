// Store conformance (store_conformance.h): federation, policies, flows,
// and the listing order of every aggregate.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "store/store_conformance.h"

namespace aztp::store_testing {
namespace {

// OrgB and OrgC are two relationships: one of each profile, one with a
// revocation list.
FederationRecord OrgB() {
  return {"org-b.example",
          "https://b:8443/bundle",
          FederationRecord::Profile::kHttpsSpiffe,
          "spiffe://org-b.example/aztpd",
          "{\"keys\":[]}",
          "",
          kNow,
          "https://b:8443/revocations"};
}
FederationRecord OrgC() {
  return {"org-c.example",
          "https://c/bundle",
          FederationRecord::Profile::kHttpsWeb,
          "",
          "",
          "-----BEGIN CERTIFICATE-----",
          kNow + 1};
}

TEST_P(StoreConformance, FederationsAndTheirBundlesRoundTrip) {
  const FederationRecord b = OrgB(), c = OrgC();
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(store->Write([&](Transaction& t) -> Status {
      AZTP_RETURN_IF_ERROR(t.PutFederation(c));
      AZTP_RETURN_IF_ERROR(t.PutFederation(b));
      AZTP_RETURN_IF_ERROR(
          t.PutFederatedBundle({"org-b.example", "{\"v\":1}", kNow}));
      AZTP_RETURN_IF_ERROR(t.PutFederatedRevocations(
          {"org-b.example", "{\"sequence\":1}", kNow}));
      AZTP_RETURN_IF_ERROR(t.PutFederatedRevocations(
          {"org-b.example", "{\"sequence\":2}", kNow + 6}));
      // Replacing keeps one row per trust domain.
      return t.PutFederatedBundle({"org-b.example", "{\"v\":2}", kNow + 5});
    }));
    Status dup =
        store->Write([&](Transaction& t) { return t.PutFederation(b); });
    EXPECT_EQ(dup.error().code(), Code::kAlreadyExists);
  }
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto list, t.ListFederations());
    EXPECT_EQ(list.size(), 2u);
    if (list.size() == 2) {
      EXPECT_EQ(list[0].trust_domain, "org-b.example");
      EXPECT_EQ(list[0].endpoint_id, b.endpoint_id);
      EXPECT_EQ(list[0].bootstrap_bundle, b.bootstrap_bundle);
      EXPECT_EQ(list[0].revocations_url, "https://b:8443/revocations");
      EXPECT_EQ(list[1].revocations_url, "");
      EXPECT_EQ(list[1].profile, FederationRecord::Profile::kHttpsWeb);
      EXPECT_EQ(list[1].web_ca_pem, c.web_ca_pem);
      EXPECT_EQ(list[1].created_at, kNow + 1);
    }
    AZTP_ASSIGN_OR_RETURN(auto bundles, t.ListFederatedBundles());
    EXPECT_EQ(bundles.size(), 1u);
    if (bundles.size() == 1) {
      EXPECT_EQ(bundles[0].bundle, "{\"v\":2}");
      EXPECT_EQ(bundles[0].updated_at, kNow + 5);
    }
    AZTP_ASSIGN_OR_RETURN(auto lists, t.ListFederatedRevocations());
    EXPECT_EQ(lists.size(), 1u);
    if (lists.size() == 1) {
      EXPECT_EQ(lists[0].trust_domain, "org-b.example");
      EXPECT_EQ(lists[0].list, "{\"sequence\":2}");
      EXPECT_EQ(lists[0].updated_at, kNow + 6);
    }
    return Ok();
  }));
  // Deleting a relationship deletes its bundle and revocation list;
  // deleting it again is kNotFound.
  ASSERT_OK(store->Write(
      [&](Transaction& t) { return t.DeleteFederation("org-b.example"); }));
  Status again = store->Write(
      [&](Transaction& t) { return t.DeleteFederation("org-b.example"); });
  EXPECT_EQ(again.error().code(), Code::kNotFound);
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto list, t.ListFederations());
    EXPECT_EQ(list.size(), 1u);
    AZTP_ASSIGN_OR_RETURN(auto bundles, t.ListFederatedBundles());
    EXPECT_TRUE(bundles.empty());
    AZTP_ASSIGN_OR_RETURN(auto lists, t.ListFederatedRevocations());
    EXPECT_TRUE(lists.empty());
    return Ok();
  }));
}

TEST_P(StoreConformance, PoliciesAreVersionedAndAttached) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  PolicyRecord v1{"policy:0123456789ab", "payments", "quotes only", 1,
                  R"({"Statement":[]})", kNow,       kNow};
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity("spiffe://td/pay")));
    AZTP_RETURN_IF_ERROR(t.PutPolicy(v1));
    return t.AttachPolicy("spiffe://td/pay", v1.id, kNow);
  }));
  // A version must follow the current one; a name is unique.
  PolicyRecord v3 = v1;
  v3.version = 3;
  EXPECT_CODE(store->Write([&](Transaction& t) { return t.PutPolicy(v3); }),
              Code::kAlreadyExists);
  PolicyRecord other{
      "policy:ffffffffffff", "payments", "", 1, "{}", kNow, kNow};
  EXPECT_CODE(store->Write([&](Transaction& t) { return t.PutPolicy(other); }),
              Code::kAlreadyExists);
  PolicyRecord v2 = v1;
  v2.version = 2;
  v2.document = R"({"Statement":[1]})";
  v2.updated_at = kNow + 10;
  ASSERT_OK(store->Write([&](Transaction& t) { return t.PutPolicy(v2); }));
  EXPECT_CODE(store->Write([&](Transaction& t) {
    return t.AttachPolicy("spiffe://td/pay", v1.id, kNow);
  }),
              Code::kAlreadyExists);
  EXPECT_CODE(store->Write([&](Transaction& t) {
    return t.AttachPolicy("spiffe://td/none", v1.id, kNow);
  }),
              Code::kNotFound);
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto current, t.GetPolicy(v1.id));
    EXPECT_TRUE(current.has_value());
    if (current) {
      EXPECT_EQ(current->version, 2);
      EXPECT_EQ(current->document, v2.document);
      EXPECT_EQ(current->created_at, kNow);
      EXPECT_EQ(current->updated_at, kNow + 10);
    }
    AZTP_ASSIGN_OR_RETURN(auto first, t.GetPolicy(v1.id, 1));
    EXPECT_TRUE(first.has_value() && first->document == v1.document);
    AZTP_ASSIGN_OR_RETURN(auto none, t.GetPolicy(v1.id, 7));
    EXPECT_FALSE(none.has_value());
    AZTP_ASSIGN_OR_RETURN(auto all, t.ListPolicies());
    EXPECT_EQ(all.size(), 1u);
    AZTP_ASSIGN_OR_RETURN(auto attached,
                          t.ListAttachedPolicies("spiffe://td/pay"));
    EXPECT_EQ(attached.size(), 1u);
    if (!attached.empty()) {
      EXPECT_EQ(attached[0].version, 2);
    }
    AZTP_ASSIGN_OR_RETURN(auto who, t.ListPolicyAttachments(v1.id));
    EXPECT_EQ(who, std::vector<std::string>{"spiffe://td/pay"});
    return Ok();
  }));
  // Detach, then delete (which also drops remaining attachments).
  ASSERT_OK(store->Write([&](Transaction& t) {
    return t.DetachPolicy("spiffe://td/pay", v1.id);
  }));
  EXPECT_CODE(store->Write([&](Transaction& t) {
    return t.DetachPolicy("spiffe://td/pay", v1.id);
  }),
              Code::kNotFound);
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.AttachPolicy("spiffe://td/pay", v1.id, kNow));
    return t.DeletePolicy(v1.id);
  }));
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto attached,
                          t.ListAttachedPolicies("spiffe://td/pay"));
    EXPECT_TRUE(attached.empty());
    AZTP_ASSIGN_OR_RETURN(auto gone, t.GetPolicy(v1.id, 1));
    EXPECT_FALSE(gone.has_value());
    return Ok();
  }));
}

TEST_P(StoreConformance, FlowsAndTheirMembers) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  FlowRecord f;
  f.id = "flow_0123";
  f.name = "checkout";
  f.tags = Json::array({"prod"});
  f.metadata = {{"k", "v"}};
  f.created_by = "apikey:ak_1";
  f.created_at = f.updated_at = kNow;
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity("spiffe://td/a")));
    AZTP_RETURN_IF_ERROR(t.PutFlow(f));
    return t.PutFlowMember({f.id, "spiffe://td/a",
                            FlowMemberRecord::Status::kActive, "", kNow, kNow});
  }));
  // Unknown identities cannot join.
  EXPECT_FALSE(store->Write([&](Transaction& t) {
    return t.PutFlowMember({f.id, "spiffe://td/zz",
                            FlowMemberRecord::Status::kActive, "", kNow, kNow});
  }));
  FlowRecord renamed = f;
  renamed.name = "checkout-v2";
  renamed.updated_at = kNow + 1;
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.PutFlow(renamed));
    return t.PutFlowMember({f.id, "spiffe://td/a",
                            FlowMemberRecord::Status::kRevoked, "left", kNow,
                            kNow + 2});
  }));
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto got, t.GetFlow(f.id));
    EXPECT_TRUE(got.has_value());
    if (got) {
      EXPECT_EQ(got->name, "checkout-v2");
      EXPECT_EQ(got->tags, f.tags);
      EXPECT_EQ(got->metadata, f.metadata);
      EXPECT_EQ(got->created_at, kNow);
    }
    AZTP_ASSIGN_OR_RETURN(auto m, t.GetFlowMember(f.id, "spiffe://td/a"));
    EXPECT_TRUE(m.has_value() &&
                m->status == FlowMemberRecord::Status::kRevoked &&
                m->reason == "left" && m->added_at == kNow);
    AZTP_ASSIGN_OR_RETURN(auto flows, t.ListFlows());
    EXPECT_EQ(flows.size(), 1u);
    return Ok();
  }));
  ASSERT_OK(store->Write([&](Transaction& t) { return t.DeleteFlow(f.id); }));
  EXPECT_CODE(store->Write([&](Transaction& t) { return t.DeleteFlow(f.id); }),
              Code::kNotFound);
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto members, t.ListFlowMembers(f.id));
    EXPECT_TRUE(members.empty());
    return Ok();
  }));
}

// ListLinks finds a link from either end, ordered by from, to and kind.
TEST_P(StoreConformance, LinksAreListedFromBothEnds) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::string a = "spiffe://td/a", b = "spiffe://td/b",
                    c = "spiffe://td/c";
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    for (const std::string& id : {a, b, c}) {
      AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity(id)));
    }
    AZTP_RETURN_IF_ERROR(
        t.InsertLink({b, a, LinkRecord::Kind::kParent, kNow, {{"n", 1}}}));
    AZTP_RETURN_IF_ERROR(t.InsertLink({a, c, LinkRecord::Kind::kLinked, kNow}));
    return t.InsertLink({a, b, LinkRecord::Kind::kLinked, kNow + 1});
  }));
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto of_a, t.ListLinks(a));
    std::vector<std::string> got;
    for (const LinkRecord& l : of_a) {
      got.push_back(l.from + ">" + l.to + ":" + std::string(ToString(l.kind)));
    }
    EXPECT_EQ(got,
              (std::vector<std::string>{"spiffe://td/a>spiffe://td/b:linked",
                                        "spiffe://td/a>spiffe://td/c:linked",
                                        "spiffe://td/b>spiffe://td/a:parent"}));
    AZTP_ASSIGN_OR_RETURN(auto of_c, t.ListLinks(c));
    EXPECT_EQ(of_c.size(), 1u);
    if (of_c.size() == 1) {
      EXPECT_EQ(of_c[0].from, a);
      EXPECT_EQ(of_c[0].kind, LinkRecord::Kind::kLinked);
    }
    AZTP_ASSIGN_OR_RETURN(auto of_b, t.ListLinks(b));
    EXPECT_EQ(of_b.size(), 2u);
    if (of_b.size() == 2) {
      EXPECT_EQ(of_b[1].kind, LinkRecord::Kind::kParent);
      EXPECT_EQ(of_b[1].metadata, (Json{{"n", 1}}));
      EXPECT_EQ(of_b[0].created_at, kNow + 1);
    }
    return Ok();
  }));
}

// Keys are listed by key ID, revoked ones too; revoking is idempotent.
TEST_P(StoreConformance, ApiKeysAreListedByKeyIdAndRevoked) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    for (const char* id : {"ak_c", "ak_a", "ak_b"}) {
      ApiKeyRecord k;
      k.key_id = id;
      k.scope = id == std::string("ak_a") ? std::string(kAdminScope) : "/x";
      k.created_at = kNow;
      AZTP_RETURN_IF_ERROR(t.InsertApiKey(k));
    }
    return t.RevokeApiKey("ak_b");
  }));
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto keys, t.ListApiKeys());
    std::vector<std::string> ids;
    for (const ApiKeyRecord& k : keys) {
      ids.push_back(k.key_id + (k.revoked ? "-" : "+"));
    }
    EXPECT_EQ(ids, (std::vector<std::string>{"ak_a+", "ak_b-", "ak_c+"}));
    if (!keys.empty()) {
      EXPECT_TRUE(keys[0].is_admin());
    }
    if (keys.size() > 1) {
      EXPECT_FALSE(keys[1].is_admin());
    }
    return Ok();
  }));
}

// ListSvids returns one identity's SVIDs, by issue time then serial.
TEST_P(StoreConformance, SvidsAreListedPerIdentity) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::string a = "spiffe://td/a", b = "spiffe://td/b";
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity(a)));
    AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity(b)));
    AZTP_RETURN_IF_ERROR(t.InsertSvid({"03", a, kNow + 1, kNow + 60}));
    AZTP_RETURN_IF_ERROR(t.InsertSvid({"02", a, kNow + 1, kNow + 60}));
    AZTP_RETURN_IF_ERROR(t.InsertSvid({"09", a, kNow, kNow + 60}));
    return t.InsertSvid({"01", b, kNow, kNow + 30});
  }));
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto of_a, t.ListSvids(a));
    std::vector<std::string> serials;
    for (const SvidRecord& s : of_a) serials.push_back(s.serial);
    EXPECT_EQ(serials, (std::vector<std::string>{"09", "02", "03"}));
    AZTP_ASSIGN_OR_RETURN(auto of_b, t.ListSvids(b));
    EXPECT_EQ(of_b.size(), 1u);
    if (of_b.size() == 1) {
      EXPECT_EQ(of_b[0].expires_at, kNow + 30);
    }
    return Ok();
  }));
}

// Signing keys are listed by creation time then key ID.
TEST_P(StoreConformance, SigningKeysAreListedOldestFirst) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    for (const auto& [id, at] : std::vector<std::pair<std::string, UnixTime>>{
             {"k3", kNow}, {"k1", kNow + 5}, {"k2", kNow}}) {
      CaKeyRecord k;
      k.key_id = id;
      k.kind = CaKeyRecord::Kind::kX509;
      k.state = CaKeyRecord::State::kPrepared;
      k.created_at = at;
      AZTP_RETURN_IF_ERROR(t.PutCaKey(k));
    }
    return Ok();
  }));
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto keys, t.ListCaKeys());
    std::vector<std::string> ids;
    for (const CaKeyRecord& k : keys) ids.push_back(k.key_id);
    EXPECT_EQ(ids, (std::vector<std::string>{"k2", "k3", "k1"}));
    for (const CaKeyRecord& k : keys) {
      EXPECT_EQ(k.state, CaKeyRecord::State::kPrepared);
      EXPECT_EQ(k.kind, CaKeyRecord::Kind::kX509);
    }
    return Ok();
  }));
}

// Members are listed by identity; a second put keeps added_at; a flow's
// replacement keeps who created it; removing a member that is not there is
// kNotFound.
TEST_P(StoreConformance, FlowMembersAreListedAndRemoved) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  FlowRecord f;
  f.id = "flow_1";
  f.name = "f";
  f.discoverable = FlowRecord::Discoverability::kPrivate;
  f.created_by = "apikey:first";
  f.created_at = f.updated_at = kNow;
  const std::string a = "spiffe://td/a", b = "spiffe://td/b";
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity(a)));
    AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity(b)));
    AZTP_RETURN_IF_ERROR(t.PutFlow(f));
    FlowRecord again = f;
    again.created_by = "apikey:second";
    again.created_at = kNow + 9;
    AZTP_RETURN_IF_ERROR(t.PutFlow(again));
    const auto active = FlowMemberRecord::Status::kActive;
    AZTP_RETURN_IF_ERROR(t.PutFlowMember({f.id, b, active, "", kNow, kNow}));
    AZTP_RETURN_IF_ERROR(t.PutFlowMember({f.id, a, active, "", kNow, kNow}));
    return t.PutFlowMember({f.id, b, active, "", kNow + 7, kNow + 7});
  }));
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto got, t.GetFlow(f.id));
    EXPECT_TRUE(got && got->created_by == "apikey:first" &&
                got->created_at == kNow &&
                got->discoverable == FlowRecord::Discoverability::kPrivate);
    AZTP_ASSIGN_OR_RETURN(auto members, t.ListFlowMembers(f.id));
    EXPECT_EQ(members.size(), 2u);
    if (members.size() == 2) {
      EXPECT_EQ(members[0].identity, a);
      EXPECT_EQ(members[1].identity, b);
      EXPECT_EQ(members[1].added_at, kNow);
      EXPECT_EQ(members[1].updated_at, kNow + 7);
    }
    AZTP_ASSIGN_OR_RETURN(auto none, t.GetFlowMember("flow_none", a));
    EXPECT_FALSE(none.has_value());
    return Ok();
  }));
  ASSERT_OK(store->Write(
      [&](Transaction& t) { return t.DeleteFlowMember(f.id, a); }));
  EXPECT_CODE(
      store->Write([&](Transaction& t) { return t.DeleteFlowMember(f.id, a); }),
      Code::kNotFound);
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto members, t.ListFlowMembers(f.id));
    EXPECT_EQ(members.size(), 1u);
    return Ok();
  }));
}

}  // namespace
}  // namespace aztp::store_testing

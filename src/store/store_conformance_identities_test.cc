// Store conformance (store_conformance.h): identities, links, API keys,
// SVIDs and signing keys, whatever the implementation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "store/store_conformance.h"

namespace aztp::store_testing {
namespace {

TEST_P(StoreConformance, EveryRecordTypeRoundTripsAndSurvivesReopen) {
  Everything e = MakeEverything("plain", "plain");
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(
        store->Write([&](Transaction& t) { return PutEverything(t, e); }));
    EXPECT_EQ(e.audit.seq, 1);
    ExpectEverything(*store, e);
    // Absent rows read as nullopt / empty, not as errors.
    ASSERT_OK(store->Read([](Transaction& t) -> Status {
      auto id = t.GetIdentity("spiffe://td/none");
      EXPECT_TRUE(id.has_value() && !id->has_value());
      auto key = t.GetApiKey("ak_none");
      EXPECT_TRUE(key.has_value() && !key->has_value());
      auto meta = t.GetMeta("none");
      EXPECT_TRUE(meta.has_value() && !meta->has_value());
      auto svids = t.ListSvids("spiffe://td/none");
      EXPECT_TRUE(svids.has_value() && svids->empty());
      auto links = t.ListLinks("spiffe://td/none");
      EXPECT_TRUE(links.has_value() && links->empty());
      return Ok();
    }));
  }
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ExpectEverything(*store, e);
}

TEST_P(StoreConformance, UpdatesAndRevocations) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Everything e = MakeEverything("x", "x");
  ASSERT_OK(store->Write([&](Transaction& t) { return PutEverything(t, e); }));

  IdentityRecord updated = e.child;
  updated.parent.reset();
  updated.global = true;
  updated.discoverable = false;
  updated.metadata = {{"team", "blue"}};
  updated.selectors = {"unix:uid:0"};
  updated.federates_with = std::vector<std::string>{"org-b.example"};
  updated.status = IdentityRecord::Status::kRevoked;
  updated.revoked_reason = "compromised";
  updated.revoked_by = "apikey:admin";
  updated.created_at = 1;  // ignored: created_at never changes
  updated.updated_at = kNow + 99;
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.UpdateIdentity(updated));
    AZTP_RETURN_IF_ERROR(t.RevokeApiKey(e.key.key_id));
    AZTP_RETURN_IF_ERROR(t.RevokeApiKey(e.key.key_id));  // idempotent
    CaKeyRecord replaced = e.ca;
    replaced.state = CaKeyRecord::State::kRetired;
    replaced.key_pem = SecretBytes(std::string_view("other key"));
    AZTP_RETURN_IF_ERROR(t.PutCaKey(replaced));
    CaKeyRecord second = e.ca;
    second.key_id = "ca-second";
    second.created_at = e.ca.created_at + 1;
    second.key_pem = SecretBytes();
    AZTP_RETURN_IF_ERROR(t.PutCaKey(second));
    return t.PutMeta(e.meta_name, 7);
  }));
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    auto got = t.GetIdentity(updated.id);
    EXPECT_TRUE(got.has_value() && got->has_value());
    if (got.has_value() && got->has_value()) {
      IdentityRecord want = updated;
      want.created_at = e.child.created_at;
      ExpectIdentityEq(**got, want);
    }
    auto key = t.GetApiKey(e.key.key_id);
    EXPECT_TRUE(key.has_value() && key->has_value() && (*key)->revoked);
    auto keys = t.ListApiKeys();
    EXPECT_TRUE(keys.has_value() && keys->size() == 1);
    auto cas = t.ListCaKeys();
    EXPECT_TRUE(cas.has_value());
    if (cas.has_value()) {
      EXPECT_EQ(cas->size(), 2u);
      if (cas->size() == 2) {
        EXPECT_EQ((*cas)[0].key_id, e.ca.key_id);
        EXPECT_EQ((*cas)[0].state, CaKeyRecord::State::kRetired);
        EXPECT_TRUE((*cas)[0].key_pem ==
                    SecretBytes(std::string_view("other key")));
        EXPECT_EQ((*cas)[1].key_id, "ca-second");
        EXPECT_TRUE((*cas)[1].key_pem.empty());
      }
    }
    auto meta = t.GetMeta(e.meta_name);
    EXPECT_TRUE(meta.has_value() && meta->has_value() && **meta == 7);
    auto active = t.CountIdentities(IdentityRecord::Status::kActive);
    auto revoked = t.CountIdentities(IdentityRecord::Status::kRevoked);
    auto all = t.CountIdentities(std::nullopt);
    EXPECT_TRUE(active.has_value() && *active == 1);
    EXPECT_TRUE(revoked.has_value() && *revoked == 1);
    EXPECT_TRUE(all.has_value() && *all == 2);
    return Ok();
  }));
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.DeleteCaKey(e.ca.key_id));
    auto cas = t.ListCaKeys();
    EXPECT_TRUE(cas.has_value() && cas->size() == 1);
    return Ok();
  }));
}

TEST_P(StoreConformance, DuplicatesAreAlreadyExists) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Everything e = MakeEverything("dup", "dup");
  ASSERT_OK(store->Write([&](Transaction& t) { return PutEverything(t, e); }));
  EXPECT_CODE(
      store->Write([&](Transaction& t) { return t.InsertIdentity(e.child); }),
      Code::kAlreadyExists);
  EXPECT_CODE(
      store->Write([&](Transaction& t) { return t.InsertLink(e.link); }),
      Code::kAlreadyExists);
  EXPECT_CODE(
      store->Write([&](Transaction& t) { return t.InsertApiKey(e.key); }),
      Code::kAlreadyExists);
  EXPECT_CODE(
      store->Write([&](Transaction& t) { return t.InsertSvid(e.svid); }),
      Code::kAlreadyExists);
  // The same pair with another kind is another link.
  ASSERT_OK(store->Write([&](Transaction& t) {
    LinkRecord other = e.link;
    other.kind = LinkRecord::Kind::kParent;
    return t.InsertLink(other);
  }));
  // The error message quotes the ID, escaped.
  Status s = store->Write([&](Transaction& t) -> Status {
    IdentityRecord r = MakeIdentity("spiffe://td/\x01q");
    AZTP_RETURN_IF_ERROR(t.InsertIdentity(r));
    return t.InsertIdentity(r);
  });
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), Code::kAlreadyExists);
  EXPECT_NE(s.error().message().find("\\x01q"), std::string::npos)
      << s.error().message();
}

TEST_P(StoreConformance, UnknownReferencesAreInvalidArgument) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Write([](Transaction& t) {
    return t.InsertIdentity(MakeIdentity("spiffe://td/known"));
  }));
  EXPECT_CODE(store->Write([](Transaction& t) {
    IdentityRecord r = MakeIdentity("spiffe://td/orphan");
    r.parent = "spiffe://td/nobody";
    return t.InsertIdentity(r);
  }),
              Code::kInvalidArgument);
  EXPECT_CODE(store->Write([](Transaction& t) {
    IdentityRecord r = MakeIdentity("spiffe://td/self");
    r.parent = r.id;
    return t.InsertIdentity(r);
  }),
              Code::kInvalidArgument);
  EXPECT_CODE(store->Write([](Transaction& t) {
    IdentityRecord r = MakeIdentity("spiffe://td/known");
    r.parent = "spiffe://td/nobody";
    return t.UpdateIdentity(r);
  }),
              Code::kInvalidArgument);
  EXPECT_CODE(store->Write([](Transaction& t) {
    return t.InsertIdentity(MakeIdentity(""));
  }),
              Code::kInvalidArgument);
  EXPECT_CODE(store->Write([](Transaction& t) {
    return t.InsertLink({"spiffe://td/known", "spiffe://td/nobody",
                         LinkRecord::Kind::kLinked, kNow});
  }),
              Code::kInvalidArgument);
  EXPECT_CODE(store->Write([](Transaction& t) {
    return t.InsertLink({"spiffe://td/nobody", "spiffe://td/known",
                         LinkRecord::Kind::kLinked, kNow});
  }),
              Code::kInvalidArgument);
  EXPECT_CODE(store->Write([](Transaction& t) {
    return t.InsertSvid({"01", "spiffe://td/nobody", kNow, kNow + 60});
  }),
              Code::kInvalidArgument);
  ASSERT_OK(store->Read([](Transaction& t) -> Status {
    auto n = t.CountIdentities(std::nullopt);
    EXPECT_TRUE(n.has_value() && *n == 1);
    return Ok();
  }));
}

TEST_P(StoreConformance, MissingRowsAreNotFound) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_CODE(store->Write([](Transaction& t) {
    return t.UpdateIdentity(MakeIdentity("spiffe://td/missing"));
  }),
              Code::kNotFound);
  EXPECT_CODE(
      store->Write([](Transaction& t) { return t.RevokeApiKey("ak_missing"); }),
      Code::kNotFound);
  EXPECT_CODE(
      store->Write([](Transaction& t) { return t.DeleteCaKey("ca-missing"); }),
      Code::kNotFound);
}

TEST_P(StoreConformance, SqlMetacharactersRoundTripUnchanged) {
  const std::string utf8 =
      "it's \"quoted\"; DROP TABLE identities; -- %_ \\ ' OR '1'='1 "
      "\xc3\xbcnic\xc3\xb8"
      "de \xe2\x82\xac \xf0\x9f\x9a\x80 \t\r\n";
  const std::string text = utf8 + " \x01\x1f\x7f\x80\xfe\xff";
  Everything e = MakeEverything(text, utf8);
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(
        store->Write([&](Transaction& t) { return PutEverything(t, e); }));
    ExpectEverything(*store, e);
    ASSERT_OK(store->Read([&](Transaction& t) -> Status {
      IdentityFilter f;
      f.id_prefix = "spiffe://td/" + text + "/";
      f.status = e.child.status;
      f.parent = e.parent.id;
      auto list = t.ListIdentities(f);
      EXPECT_TRUE(list.has_value() && list->size() == 1);
      auto n = t.CountIdentities(e.child.status);
      EXPECT_TRUE(n.has_value() && *n == 1);
      return Ok();
    }));
  }
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ExpectEverything(*store, e);
}

TEST_P(StoreConformance, JsonThatWouldNotReadBackIsRefused) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_CODE(store->Write([](Transaction& t) {
    IdentityRecord r = MakeIdentity("spiffe://td/a");
    r.selectors = {"bad \xff utf-8"};
    return t.InsertIdentity(r);
  }),
              Code::kInvalidArgument);
  EXPECT_CODE(store->Write([](Transaction& t) {
    IdentityRecord r = MakeIdentity("spiffe://td/a");
    r.metadata = {{"blob", std::string(17 << 10, 'x')}};
    return t.InsertIdentity(r);
  }),
              Code::kTooLarge);
  EXPECT_CODE(store->Write([](Transaction& t) -> Status {
    AuditRecord a = MakeAudit("a", "s");
    a.details = {{"nan", std::nan("")}};
    AZTP_RETURN_IF_ERROR(t.AppendAudit(a));
    return Ok();
  }),
              Code::kInvalidArgument);
  EXPECT_CODE(store->Write([](Transaction& t) -> Status {
    AuditRecord a = MakeAudit("a", "s");
    Json deep = Json::array();
    for (int i = 0; i < 40; ++i) deep = Json::array({deep});
    a.details = {{"deep", deep}};
    AZTP_RETURN_IF_ERROR(t.AppendAudit(a));
    return Ok();
  }),
              Code::kInvalidArgument);
  ASSERT_OK(store->Read([](Transaction& t) -> Status {
    auto n = t.CountIdentities(std::nullopt);
    EXPECT_TRUE(n.has_value() && *n == 0);
    auto audit = t.ListAudit(0, 10);
    EXPECT_TRUE(audit.has_value() && audit->empty());
    return Ok();
  }));
}

// PagedRecords are 250 identities under `prefix`, every fifth revoked,
// every other discoverable, every third a child of `root`.
std::vector<IdentityRecord> PagedRecords(const std::string& prefix,
                                         const std::string& root) {
  std::vector<IdentityRecord> records;
  for (int i = 0; i < 250; ++i) {
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "agent-%03d", i);
    IdentityRecord r = MakeIdentity(prefix + suffix);
    if (i % 5 == 0) r.status = IdentityRecord::Status::kRevoked;
    r.discoverable = i % 2 == 0;
    if (i % 3 == 0) r.parent = root;
    records.push_back(r);
  }
  return records;
}

TEST_P(StoreConformance, ListsIdentitiesInPagesWithFilters) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::string prefix = "spiffe://td/x_y%/";
  const std::string root = "spiffe://td/root";
  const std::vector<IdentityRecord> records = PagedRecords(prefix, root);
  // Would match if `_` or `%` were wildcards, if the match ignored case, or
  // if the range's end were inclusive ('0' follows '/').
  const std::vector<std::string> decoys = {
      "spiffe://td/xAyB/agent-1",  "spiffe://td/x_yZ/agent-1",
      "spiffe://td/x_y%Q/agent-1", "spiffe://td/X_Y%/agent-1",
      "spiffe://td/x_y%",          "spiffe://td/x_y%0",
      "spiffe://td/x_y%0/agent-1", "spiffe://td/xzy%/agent-1",
  };
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity(root)));
    // Inserted out of order: the listing sorts.
    for (auto it = records.rbegin(); it != records.rend(); ++it) {
      AZTP_RETURN_IF_ERROR(t.InsertIdentity(*it));
    }
    for (const std::string& id : decoys) {
      IdentityRecord r = MakeIdentity(id);
      r.parent = root;
      r.discoverable = true;
      AZTP_RETURN_IF_ERROR(t.InsertIdentity(r));
    }
    return Ok();
  }));

  IdentityFilter by_prefix;
  by_prefix.id_prefix = prefix;
  by_prefix.limit = 100;
  std::vector<std::size_t> sizes;
  std::vector<std::string> ids = ListAllIds(*store, by_prefix, &sizes);
  EXPECT_EQ(sizes, (std::vector<std::size_t>{100, 100, 50}));
  ASSERT_EQ(ids.size(), 250u);
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], records[i].id);

  // Every combination of filters, paged by 7, against a plain loop.
  for (int mask = 0; mask < 8; ++mask) {
    IdentityFilter f;
    f.id_prefix = prefix;
    f.limit = 7;
    if (mask & 1) f.status = IdentityRecord::Status::kActive;
    if (mask & 2) f.discoverable = true;
    if (mask & 4) f.parent = root;
    std::vector<std::string> want;
    for (const IdentityRecord& r : records) {
      if (f.status && r.status != *f.status) continue;
      if (f.discoverable && r.discoverable != *f.discoverable) continue;
      if (f.parent && r.parent != f.parent) continue;
      want.push_back(r.id);
    }
    EXPECT_EQ(ListAllIds(*store, f, nullptr), want) << "mask " << mask;
  }

  // Without a prefix: everything, in byte order.
  IdentityFilter all;
  all.limit = 1000;
  std::vector<std::string> every = ListAllIds(*store, all, nullptr);
  EXPECT_EQ(every.size(), 1 + records.size() + decoys.size());
  EXPECT_TRUE(std::is_sorted(every.begin(), every.end()));
  IdentityFilter discoverable_off;
  discoverable_off.discoverable = false;
  discoverable_off.limit = 1000;
  EXPECT_EQ(ListAllIds(*store, discoverable_off, nullptr).size(), 1u + 125u);

  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    for (int bad : {0, -1, 1001, std::numeric_limits<int>::min()}) {
      IdentityFilter f;
      f.limit = bad;
      EXPECT_CODE(t.ListIdentities(f), Code::kInvalidArgument);
    }
    IdentityFilter max;
    max.limit = 1000;
    EXPECT_TRUE(t.ListIdentities(max).has_value());
    IdentityFilter none;
    none.id_prefix = "spiffe://td/nothing/";
    auto empty = t.ListIdentities(none);
    EXPECT_TRUE(empty.has_value() && empty->empty());
    return Ok();
  }));
}

TEST_P(StoreConformance, PrefixMatchIsByteExact) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::vector<std::string> ids = {
      "a", "a\xff", "a\xff\xff", "a\xffz", "ab",
      "b", "\xff",  "\xff\xff",  "\xfe",   "A"};
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    for (const std::string& id : ids) {
      AZTP_RETURN_IF_ERROR(t.InsertIdentity(MakeIdentity(id)));
    }
    return Ok();
  }));
  auto list = [&](const std::string& prefix) {
    IdentityFilter f;
    f.id_prefix = prefix;
    return ListAllIds(*store, f, nullptr);
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(list("a\xff"), (V{"a\xff", "a\xffz", "a\xff\xff"}));
  EXPECT_EQ(list("a"), (V{"a", "ab", "a\xff", "a\xffz", "a\xff\xff"}));
  EXPECT_EQ(list("\xff"), (V{"\xff", "\xff\xff"}));
  EXPECT_EQ(list("A"), (V{"A"}));
  EXPECT_EQ(list("").size(), ids.size());
}

TEST_P(StoreConformance, RevocationChangesKeepEachIdentitysLatest) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Everything e = MakeEverything("rc", "rc");
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(PutEverything(t, e));
    AZTP_RETURN_IF_ERROR(t.NoteRevocationChange(e.child.id, 1));
    AZTP_RETURN_IF_ERROR(t.NoteRevocationChange(e.parent.id, 2));
    return t.NoteRevocationChange(e.child.id, 3);  // replaces sequence 1
  }));
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    auto all = t.ListRevocationChanges(0, 10);
    EXPECT_TRUE(all.has_value());
    if (all) {
      EXPECT_EQ(*all, (std::vector<std::string>{e.parent.id, e.child.id}));
    }
    auto after2 = t.ListRevocationChanges(2, 10);
    EXPECT_TRUE(after2.has_value());
    if (after2) {
      EXPECT_EQ(*after2, std::vector<std::string>{e.child.id});
    }
    auto first = t.ListRevocationChanges(0, 1);
    EXPECT_TRUE(first.has_value());
    if (first) {
      EXPECT_EQ(*first, std::vector<std::string>{e.parent.id});
    }
    EXPECT_CODE(t.ListRevocationChanges(0, 0), Code::kInvalidArgument);
    EXPECT_CODE(t.ListRevocationChanges(0, 10001), Code::kInvalidArgument);
    return Ok();
  }));
  EXPECT_CODE(store->Write([](Transaction& t) {
    return t.NoteRevocationChange("spiffe://td/none", 4);
  }),
              Code::kInvalidArgument);
  EXPECT_CODE(store->Read([&](Transaction& t) {
    return t.NoteRevocationChange(e.child.id, 5);
  }),
              Code::kUnsupported);
}

}  // namespace
}  // namespace aztp::store_testing

// Store conformance (store_conformance.h): what replicas share besides the
// records (coordination.h): leases, single-use claims, tickets.
#include <gtest/gtest.h>

#include <string>

#include "store/store_conformance.h"

namespace aztp::store_testing {
namespace {

TEST_P(StoreConformance, LeasesArePutAndReplaced) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const LeaseRecord first{"maintenance", "replica-a", kNow + 30, 1};
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto none, t.GetLease("maintenance"));
    EXPECT_FALSE(none.has_value());
    return t.PutLease(first);
  }));
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto got, t.GetLease("maintenance"));
    EXPECT_TRUE(got.has_value());
    if (got) {
      EXPECT_EQ(got->holder, "replica-a");
      EXPECT_EQ(got->expires_at, kNow + 30);
      EXPECT_EQ(got->term, 1);
    }
    EXPECT_CODE(t.PutLease({"", "x", kNow, 1}), Code::kInvalidArgument);
    EXPECT_CODE(t.PutLease({"x", "", kNow, 1}), Code::kInvalidArgument);
    return t.PutLease({"maintenance", "replica-b", kNow + 60, 2});
  }));
  store = Open();
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto got, t.GetLease("maintenance"));
    EXPECT_TRUE(got.has_value() && got->holder == "replica-b" &&
                got->term == 2 && got->expires_at == kNow + 60);
    EXPECT_CODE(t.PutLease(first), Code::kUnsupported);
    return Ok();
  }));
}

TEST_P(StoreConformance, ClaimsAreSingleUseUntilTheyExpire) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::string key("digest\x00\xff", 8);
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    EXPECT_EQ(t.ClaimOnce(key, kNow + 10, kNow).value(), true);
    EXPECT_EQ(t.ClaimOnce(key, kNow + 10, kNow + 1).value(), false);
    EXPECT_EQ(t.ClaimOnce("other", kNow + 10, kNow).value(), true);
    EXPECT_CODE(t.ClaimOnce("", kNow + 10, kNow), Code::kInvalidArgument);
    EXPECT_CODE(t.ClaimOnce("late", kNow, kNow), Code::kInvalidArgument);
    return Ok();
  }));
  // Kept across a reopen; an expired claim makes room for a new one.
  store = Open();
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    EXPECT_EQ(t.ClaimOnce(key, kNow + 20, kNow + 9).value(), false);
    EXPECT_EQ(t.ClaimOnce(key, kNow + 20, kNow + 10).value(), true);
    EXPECT_EQ(t.ClaimOnce(key, kNow + 20, kNow + 11).value(), false);
    return Ok();
  }));
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    EXPECT_CODE(t.ClaimOnce("read", kNow + 10, kNow), Code::kUnsupported);
    return Ok();
  }));
}

TicketRecord Ticket(const std::string& key, const std::string& owner,
                    UnixTime expires_at) {
  TicketRecord r;
  r.kind = "login";
  r.key = key;
  r.owner = owner;
  r.body = SecretBytes(std::string("{\"verifier\":\"\x00\xff secret\"}", 24));
  r.expires_at = expires_at;
  return r;
}

TEST_P(StoreConformance, TicketsAreKeptUntilDeletedOrExpired) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.PutTicket(Ticket("s1", "agent-a", kNow + 60)));
    AZTP_RETURN_IF_ERROR(t.PutTicket(Ticket("s2", "agent-a", kNow + 5)));
    AZTP_RETURN_IF_ERROR(t.PutTicket(Ticket("s3", "agent-b", kNow + 60)));
    TicketRecord result = Ticket("s1", "agent-a", kNow + 60);
    result.kind = "login_result";  // same key, another kind
    AZTP_RETURN_IF_ERROR(t.PutTicket(result));
    EXPECT_CODE(t.PutTicket(Ticket("s1", "agent-c", kNow + 90)),
                Code::kAlreadyExists);
    EXPECT_CODE(t.PutTicket(Ticket("", "agent-a", kNow + 90)),
                Code::kInvalidArgument);
    return Ok();
  }));
  store = Open();
  ASSERT_OK(store->Read([&](Transaction& t) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto got, t.GetTicket("login", "s1", kNow));
    EXPECT_TRUE(got.has_value());
    if (got) {
      const TicketRecord want = Ticket("s1", "agent-a", kNow + 60);
      EXPECT_EQ(got->owner, "agent-a");
      EXPECT_EQ(got->expires_at, kNow + 60);
      EXPECT_TRUE(got->body == want.body);
    }
    EXPECT_EQ(t.CountTickets("login", std::nullopt, kNow).value(), 3);
    EXPECT_EQ(t.CountTickets("login", "agent-a", kNow).value(), 2);
    // s2 expired at kNow + 5: neither read nor counted.
    EXPECT_FALSE(t.GetTicket("login", "s2", kNow + 5).value().has_value());
    EXPECT_EQ(t.CountTickets("login", "agent-a", kNow + 5).value(), 1);
    EXPECT_FALSE(t.GetTicket("login", "nope", kNow).value().has_value());
    EXPECT_CODE(t.DeleteTicket("login", "s1"), Code::kUnsupported);
    return Ok();
  }));
  ASSERT_OK(store->Write([&](Transaction& t) -> Status {
    AZTP_RETURN_IF_ERROR(t.DeleteTicket("login", "s1"));
    EXPECT_CODE(t.DeleteTicket("login", "s1"), Code::kNotFound);
    EXPECT_FALSE(t.GetTicket("login", "s1", kNow).value().has_value());
    EXPECT_TRUE(t.GetTicket("login_result", "s1", kNow).value().has_value());
    // s2 is swept at its expiry; nothing else is.
    EXPECT_EQ(t.SweepExpired(kNow + 4).value(), 0);
    EXPECT_EQ(t.SweepExpired(kNow + 5).value(), 1);
    EXPECT_CODE(t.DeleteTicket("login", "s2"), Code::kNotFound);
    return Ok();
  }));
}

}  // namespace
}  // namespace aztp::store_testing

// What aztp-proxy changes in an agent protocol's exchange (rpc_answer.h).
#include "proxy/rpc_answer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace aztp::internal {
namespace {

const RpcActions kActions{"p:tool:{name}", "p:resource:{name}",
                          "p:prompt:{name}", "p:{method}", "p"};

RpcExchange Exchange() {
  RpcExchange x;
  x.actions = kActions;
  // Only what is called "ok..." may be seen.
  x.allowed = [](const RpcCall& use) { return use.target.starts_with("ok"); };
  return x;
}

TEST(RpcAnswer, APartialBatchForwardsOnlyTheAllowedElements) {
  const std::string text = R"([{"jsonrpc":"2.0","id":1,"method":"ping"},)"
                           R"({"jsonrpc":"2.0","id":2,"method":"ping"}])";
  RpcBody body = *ParseRpcBody(text, RpcProtocol::kMcp, kActions);
  EXPECT_EQ(ForwardedBody(text, body, {true, true}), text) << "as it came";
  EXPECT_EQ(ForwardedBody(text, body, {false, true}),
            R"([{"jsonrpc":"2.0","id":2,"method":"ping"}])");
}

TEST(RpcAnswer, ListingsAreFilteredAndRefusalsAdded) {
  RpcExchange x = Exchange();
  x.batch = true;
  x.listings[DumpJson(Json(7))] = "tools/list";
  x.refusals.push_back(
      RpcError(Json(8), kRpcRefused, "policy_denied", "denied"));
  auto out = RewriteJsonAnswer(
      R"([{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"ok1"},)"
      R"({"name":"secret"}]}}])",
      x);
  ASSERT_TRUE(out.has_value());
  Json doc = Json::parse(*out);
  ASSERT_EQ(doc.size(), 2u);
  EXPECT_EQ(doc[0]["result"]["tools"], Json::parse(R"([{"name":"ok1"}])"));
  EXPECT_EQ(doc[1]["id"], 8);
  // A single answer with refusals becomes a batch's array.
  auto single = RewriteJsonAnswer(R"({"jsonrpc":"2.0","id":1,"result":{}})", x);
  EXPECT_EQ(Json::parse(*single).size(), 2u);
  EXPECT_FALSE(RewriteJsonAnswer("not json", x).has_value());
  EXPECT_FALSE(RewriteJsonAnswer("7", x).has_value());
}

TEST(RpcAnswer, AnAnswerNeverCarriesAnUnfilteredList) {
  // A listing answered with another kind of list than asked for (a batch
  // of two listings sharing an id, which the parser refuses anyway):
  // every list in it is filtered.
  RpcExchange x = Exchange();
  x.listings[DumpJson(Json(1))] = "prompts/list";
  Json msg = Json::parse(R"({"jsonrpc":"2.0","id":1,"result":{
      "tools":[{"name":"secret"}],"resourceTemplates":[{"uriTemplate":"a"}]}})");
  EXPECT_TRUE(FilterRpcMessage(msg, x));
  EXPECT_TRUE(msg["result"]["tools"].empty());
  EXPECT_TRUE(msg["result"]["resourceTemplates"].empty());
  // A tool's own result is left alone, even when it holds a "tools" key.
  Json call = Json::parse(R"({"jsonrpc":"2.0","id":2,"result":{
      "tools":[{"name":"secret"}]}})");
  EXPECT_FALSE(FilterRpcMessage(call, x));
  // On a GET stream answers are matched by their shape.
  x.guess_listings = true;
  EXPECT_TRUE(FilterRpcMessage(call, x));
}

TEST(RpcAnswer, EventsPassUnchangedUnlessTheyAnswerAListing) {
  RpcExchange x = Exchange();
  x.listings[DumpJson(Json("a"))] = "tools/list";
  SseReader reader;
  auto events = *reader.Feed(
      ": keepalive\n\n"
      "event: message\nid: 9\n"
      "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n"
      "event: message\nid: 10\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"a\","
      "\"result\":{\"tools\":[{\"name\":\"secret\"},{\"name\":\"ok\"}]}}\n\n"
      "data: {not json\n\n");
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(RewriteEvent(events[0], x), ": keepalive\n\n");
  EXPECT_EQ(RewriteEvent(events[1], x), events[1].raw);
  EXPECT_EQ(RewriteEvent(events[2], x),
            "event: message\nid: 10\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"a\","
            "\"result\":{\"tools\":[{\"name\":\"ok\"}]}}\n\n");
  EXPECT_EQ(RewriteEvent(events[3], x), "") << "unreadable while filtering";
  RpcExchange plain = Exchange();
  EXPECT_EQ(RewriteEvent(events[3], plain), events[3].raw);
  // Refusals go out first, as events of their own.
  plain.refusals.push_back(RpcError(Json(3), kRpcRefused, "r", "m"));
  EXPECT_EQ(RefusalEvents(plain),
            "event: message\ndata: " + DumpJson(plain.refusals[0]) + "\n\n");
  EXPECT_EQ(RefusalsBody(plain), DumpJson(plain.refusals[0]));
  plain.batch = true;
  EXPECT_EQ(RefusalsBody(plain), "[" + DumpJson(plain.refusals[0]) + "]");
}

}  // namespace
}  // namespace aztp::internal

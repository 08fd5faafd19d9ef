// JSON-RPC requests of MCP and A2A as actions (jsonrpc.h).
#include "aztp/proxy/jsonrpc.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "aztp/chain/capability.h"

namespace aztp {
namespace {

const RpcActions kMcp{"payments:tool:{name}", "payments:resource:{name}",
                      "payments:prompt:{name}", "payments:mcp:{method}",
                      "payments:mcp"};
const RpcActions kA2a{"", "", "", "planner:a2a:{method}"};

RpcBody Must(std::string_view body, RpcProtocol p = RpcProtocol::kMcp,
             const RpcActions& a = kMcp) {
  auto parsed = ParseRpcBody(body, p, a);
  EXPECT_TRUE(parsed.has_value()) << body << ": " << parsed.error().message();
  return parsed ? *parsed : RpcBody{};
}

TEST(JsonRpc, EachMcpMethodNamesItsAction) {
  RpcBody b = Must(R"({"jsonrpc":"2.0","id":1,"method":"tools/call",
      "params":{"name":"refund","arguments":{"amount":12}}})");
  ASSERT_EQ(b.calls.size(), 1u);
  EXPECT_FALSE(b.batch);
  EXPECT_EQ(b.calls[0].action, "payments:tool:refund");
  EXPECT_EQ(b.calls[0].target, "refund");
  EXPECT_EQ(*b.calls[0].id, Json(1));
  EXPECT_EQ(Must(R"({"jsonrpc":"2.0","id":"a","method":"resources/read",
                   "params":{"uri":"file:///ledger/2026.csv"}})")
                .calls[0]
                .action,
            "payments:resource:file_3A_2F_2F_2Fledger_2F2026.csv");
  EXPECT_EQ(Must(R"({"jsonrpc":"2.0","id":2,"method":"prompts/get",
                   "params":{"name":"summary"}})")
                .calls[0]
                .action,
            "payments:prompt:summary");
  // The session's own methods, and the listings, take the route's action.
  EXPECT_EQ(
      Must(R"({"jsonrpc":"2.0","id":3,"method":"tools/list"})").calls[0].action,
      "payments:mcp");
  for (const char* method :
       {"initialize", "ping", "notifications/initialized",
        "notifications/cancelled", "notifications/progress",
        "notifications/roots/list_changed", "resources/list", "prompts/list"}) {
    EXPECT_EQ(Must(std::string(R"({"jsonrpc":"2.0","method":")") + method +
                   R"(","params":{}})")
                  .calls[0]
                  .action,
              "payments:mcp")
        << method;
  }
  EXPECT_EQ(Must(R"({"jsonrpc":"2.0","id":5,"result":{}})").calls[0].action,
            "payments:mcp");
  EXPECT_EQ(Must(R"({"jsonrpc":"2.0","id":6,"method":"resources/subscribe",
                   "params":{"uri":"ledger://eur"}})")
                .calls[0]
                .action,
            "payments:resource:ledger_3A_2F_2Feur");
  EXPECT_EQ(Must(R"({"jsonrpc":"2.0","id":4,
                   "method":"resources/templates/list","params":{}})")
                .calls[0]
                .action,
            "payments:mcp")
      << "a listing, filtered";
  // Every action is a capability, and a wildcard covers its family.
  auto all_tools = *Capability::Parse("payments:tool:*");
  EXPECT_TRUE(all_tools.Covers(*Capability::Parse("payments:tool:refund")));
}

TEST(JsonRpc, A2aMethodsAreActionsWhateverTheirSpelling) {
  EXPECT_EQ(Must(R"({"jsonrpc":"2.0","id":1,"method":"message/send",
                   "params":{"message":{}}})",
                 RpcProtocol::kA2a, kA2a)
                .calls[0]
                .action,
            "planner:a2a:message:send");
  EXPECT_EQ(Must(R"({"jsonrpc":"2.0","id":1,"method":"SendMessage"})",
                 RpcProtocol::kA2a, kA2a)
                .calls[0]
                .action,
            "planner:a2a:SendMessage");
  // tools/call means nothing special in A2A: no target needed.
  EXPECT_EQ(Must(R"({"jsonrpc":"2.0","id":1,"method":"tools/call"})",
                 RpcProtocol::kA2a, kA2a)
                .calls[0]
                .action,
            "planner:a2a:tools:call");
}

TEST(JsonRpc, ABatchIsReadElementByElement) {
  RpcBody b = Must(R"([
      {"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"quote"}},
      {"jsonrpc":"2.0","method":"notifications/initialized"},
      {"jsonrpc":"2.0","id":7,"result":{}},
      {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"refund"}}
  ])");
  ASSERT_TRUE(b.batch);
  ASSERT_EQ(b.calls.size(), 4u);
  EXPECT_EQ(b.calls[0].action, "payments:tool:quote");
  EXPECT_FALSE(b.calls[1].id.has_value()) << "a notification";
  EXPECT_EQ(b.calls[1].action, "payments:mcp") << "the session's own";
  EXPECT_TRUE(b.calls[2].response);
  EXPECT_EQ(b.calls[2].action, "payments:mcp") << "an answer to the server";
  EXPECT_EQ(b.calls[3].action, "payments:tool:refund");
}

TEST(JsonRpc, NamesNeverCollideOrEscapeTheirSegment) {
  // Names that a naive mapping would confuse, each a distinct action, and
  // none reaching into another segment.
  const char* names[] = {"a_b",   "a:b", "a/b", "a b", "a_3Ab", "A_b",
                         "a%3Ab", "a*",  "*",   "a.b", "a-b",   "é"};
  std::set<std::string> seen;
  for (const char* name : names) {
    std::string body = std::string(R"({"jsonrpc":"2.0","id":1,)") +
                       R"("method":"tools/call","params":{"name":)" +
                       DumpJson(Json(name)) + "}}";
    RpcBody b = Must(body);
    ASSERT_EQ(b.calls.size(), 1u);
    const std::string& action = b.calls[0].action;
    EXPECT_TRUE(seen.insert(action).second) << name << " -> " << action;
    auto cap = Capability::Parse(action);
    ASSERT_TRUE(cap.has_value()) << action;
    EXPECT_FALSE(cap->IsWildcard()) << name;
    EXPECT_EQ(action.rfind("payments:tool:", 0), 0u);
    EXPECT_EQ(action.find(':', 14), std::string::npos) << name;
  }
  EXPECT_EQ(EncodeRpcSegment(""), "_");
  EXPECT_EQ(EncodeRpcSegment("_"), "_5F");
  // Tool names as MCP servers write them stay readable.
  EXPECT_EQ(EncodeRpcSegment("slow_report"), "slow_report");
  EXPECT_EQ(EncodeRpcSegment("get-weather.v2"), "get-weather.v2");
  EXPECT_EQ(EncodeRpcSegment("a_3Ab"), "a_5F3Ab");
  EXPECT_EQ(EncodeRpcSegment("a:b"), "a_3Ab");
  EXPECT_EQ(EncodeRpcSegment("x_ab_"), "x_ab_") << "lowercase is no escape";
  // Every name comes back whole.
  for (const char* name : {"", "_", "__", "_A", "_AB", "a_", "_5F", "a_3Ab",
                           "é_00", "_:_", "x_F"}) {
    EXPECT_EQ(DecodeRpcSegment(EncodeRpcSegment(name)),
              std::optional<std::string>(name))
        << name;
  }
  EXPECT_FALSE(DecodeRpcSegment("a:b").has_value());
}

TEST(JsonRpc, BadRequestsAreMalformedWithoutQuotingArguments) {
  const char* bad[] = {
      "",
      "{",
      "[]",
      "42",
      R"({"id":1,"method":"tools/list"})",
      R"({"jsonrpc":"1.0","id":1,"method":"tools/list"})",
      R"({"jsonrpc":"2.0","id":null,"method":"tools/list"})",
      R"({"jsonrpc":"2.0","id":1.5,"method":"tools/list"})",
      R"({"jsonrpc":"2.0","id":{},"method":"tools/list"})",
      R"({"jsonrpc":"2.0","id":1,"method":""})",
      R"({"jsonrpc":"2.0","id":1,"method":7})",
      R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":"x"})",
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call"})",
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":["refund"]})",
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":""}})",
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":1}})",
      R"({"jsonrpc":"2.0","id":1,"method":"resources/read","params":{}})",
      R"({"jsonrpc":"2.0","result":{}})",
      R"({"jsonrpc":"2.0","id":1,"method":"a","method":"b"})",
      R"([{"jsonrpc":"2.0","id":1,"method":"tools/list"},5])",
  };
  for (const char* body : bad) {
    auto parsed = ParseRpcBody(body, RpcProtocol::kMcp, kMcp);
    ASSERT_FALSE(parsed.has_value()) << body;
    EXPECT_EQ(parsed.error().code(), Code::kMalformed) << body;
  }
  auto secret = ParseRpcBody(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call",
          "params":{"arguments":{"card":"4111111111111111"}}})",
      RpcProtocol::kMcp, kMcp);
  ASSERT_FALSE(secret.has_value());
  EXPECT_EQ(secret.error().message().find("4111"), std::string::npos);
}

TEST(JsonRpc, LimitsAreTooLarge) {
  std::string batch = "[";
  for (std::size_t i = 0; i <= kMaxRpcBatch; ++i) {
    if (i > 0) batch += ',';
    batch += R"({"jsonrpc":"2.0","method":"ping"})";
  }
  batch += "]";
  auto parsed = ParseRpcBody(batch, RpcProtocol::kMcp, kMcp);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().code(), Code::kTooLarge);
  std::string long_name(200, '/');  // each byte becomes three
  parsed = ParseRpcBody(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":")" +
          long_name + R"("}})",
      RpcProtocol::kMcp, kMcp);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().code(), Code::kTooLarge);
}

TEST(JsonRpc, TemplatesMustMakeCapabilities) {
  EXPECT_TRUE(CheckRpcActions(RpcProtocol::kMcp, kMcp));
  EXPECT_TRUE(CheckRpcActions(RpcProtocol::kA2a, kA2a));
  RpcActions bad = kMcp;
  bad.tool = "payments:tool:{method}";
  EXPECT_EQ(CheckRpcActions(RpcProtocol::kMcp, bad).error().code(),
            Code::kInvalidArgument);
  bad = kMcp;
  bad.method = "payments mcp {method}";
  EXPECT_FALSE(CheckRpcActions(RpcProtocol::kMcp, bad));
  bad = kMcp;
  bad.prompt = "payments:*:{name}";
  EXPECT_FALSE(CheckRpcActions(RpcProtocol::kMcp, bad));
  bad = kMcp;
  bad.resource = "";
  EXPECT_FALSE(CheckRpcActions(RpcProtocol::kMcp, bad));
  bad = kMcp;
  bad.session = "payments:mcp:{method}";
  EXPECT_FALSE(CheckRpcActions(RpcProtocol::kMcp, bad));
  EXPECT_TRUE(CheckRpcActions(RpcProtocol::kA2a, RpcActions{"", "", "", "x"}));
}

TEST(JsonRpc, ListingsShowOnlyWhatTheCallerMayUse) {
  Json tools = Json::parse(R"({"tools":[{"name":"quote","description":"q"},
      {"name":"refund"},{"description":"no name"},{"name":7},"junk",
      {"name":"a:b"}],"nextCursor":"c2"})");
  std::vector<std::string> asked;
  std::size_t dropped =
      FilterRpcList("tools/list", kMcp, tools, [&](const RpcCall& use) {
        EXPECT_EQ(use.method, "tools/call");
        asked.push_back(use.action);
        return use.target != "refund";
      });
  EXPECT_EQ(dropped, 4u);
  EXPECT_EQ(tools["tools"], Json::parse(R"([{"name":"quote","description":"q"},
                                            {"name":"a:b"}])"));
  EXPECT_EQ(tools["nextCursor"], "c2") << "the rest of the result stays";
  EXPECT_EQ(asked, (std::vector<std::string>{"payments:tool:quote",
                                             "payments:tool:refund",
                                             "payments:tool:a_3Ab"}));
  Json resources = Json::parse(
      R"({"resources":[{"uri":"file:///a","name":"a"},{"uri":"file:///b"}]})");
  EXPECT_EQ(FilterRpcList("resources/list", kMcp, resources,
                          [](const RpcCall& use) {
                            EXPECT_EQ(use.method, "resources/read");
                            return use.action.ends_with("_2Fa");
                          }),
            1u);
  EXPECT_EQ(resources["resources"].size(), 1u);
  Json prompts = Json::parse(R"({"prompts":[{"name":"p"}]})");
  EXPECT_EQ(FilterRpcList("prompts/list", kMcp, prompts,
                          [](const RpcCall&) { return false; }),
            1u);
  EXPECT_TRUE(prompts["prompts"].empty());
  // Other methods and odd results are left alone.
  Json other = Json::parse(R"({"tools":[{"name":"x"}]})");
  EXPECT_EQ(FilterRpcList("tools/call", kMcp, other,
                          [](const RpcCall&) { return false; }),
            0u);
  EXPECT_EQ(other["tools"].size(), 1u);
  Json odd = Json::parse(R"({"tools":"x"})");
  EXPECT_EQ(FilterRpcList("tools/list", kMcp, odd,
                          [](const RpcCall&) { return true; }),
            0u);
}

TEST(JsonRpc, KeepsTheArgumentsAPolicyMayNameAndTheDocument) {
  RpcBody b = Must(R"([{"jsonrpc":"2.0","id":1,"method":"tools/call",
      "params":{"name":"refund","arguments":{"amount":12,"to":"x"}}},
      {"jsonrpc":"2.0","id":2,"method":"prompts/get",
      "params":{"name":"p","arguments":"not an object"}},
      {"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"q"}}])");
  ASSERT_EQ(b.calls.size(), 3u);
  ASSERT_TRUE(b.calls[0].arguments.has_value());
  EXPECT_EQ((*b.calls[0].arguments)["amount"], 12);
  EXPECT_FALSE(b.calls[1].arguments.has_value());
  EXPECT_FALSE(b.calls[2].arguments.has_value());
  ASSERT_TRUE(b.document.is_array());
  EXPECT_EQ(b.document[2]["id"], 3);
}

TEST(JsonRpc, ABatchMayNotRepeatAnId) {
  // Two listings answered under one id would let one answer pass for the
  // other's (and escape its filter).
  auto r = ParseRpcBody(R"([{"jsonrpc":"2.0","id":1,"method":"tools/list"},
      {"jsonrpc":"2.0","id":1,"method":"prompts/list"}])",
                        RpcProtocol::kMcp, kMcp);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("repeats the id"), std::string::npos);
  // "1" and 1 are different ids.
  EXPECT_TRUE(ParseRpcBody(R"([{"jsonrpc":"2.0","id":1,"method":"ping"},
      {"jsonrpc":"2.0","id":"1","method":"ping"}])",
                           RpcProtocol::kMcp, kMcp)
                  .has_value());
  // Ids a JavaScript peer would read as another number.
  for (const char* id :
       {"9007199254740992", "-9007199254740992", "18446744073709551615"}) {
    EXPECT_FALSE(ParseRpcBody(std::string(R"({"jsonrpc":"2.0","id":)") + id +
                                  R"(,"method":"ping"})",
                              RpcProtocol::kMcp, kMcp)
                     .has_value())
        << id;
  }
  EXPECT_TRUE(Must(R"({"jsonrpc":"2.0","id":9007199254740991,
                       "method":"ping"})")
                  .calls[0]
                  .id.has_value());
}

TEST(JsonRpc, ACompletionIsAUseOfWhatItsRefNames) {
  EXPECT_EQ(Must(R"({"jsonrpc":"2.0","id":1,"method":"completion/complete",
      "params":{"ref":{"type":"ref/prompt","name":"refund_note"},
                "argument":{"name":"a","value":"b"}}})")
                .calls[0]
                .action,
            "payments:prompt:refund_note");
  EXPECT_EQ(Must(R"({"jsonrpc":"2.0","id":1,"method":"completion/complete",
      "params":{"ref":{"type":"ref/resource","uri":"ledger://{year}"}}})")
                .calls[0]
                .action,
            "payments:resource:ledger_3A_2F_2F_7Byear_7D");
  for (const char* params : {R"({})", R"({"ref":{"type":"ref/tool"}})",
                             R"({"ref":{"type":"ref/prompt"}})"}) {
    EXPECT_FALSE(
        ParseRpcBody(std::string(R"({"jsonrpc":"2.0","id":1,)") +
                         R"("method":"completion/complete","params":)" +
                         params + "}",
                     RpcProtocol::kMcp, kMcp)
            .has_value())
        << params;
  }
}

TEST(JsonRpc, ErrorsCarryTheCallsIdAndAStableReason) {
  Json e = RpcError(Json("abc"), kRpcRefused, "policy_denied", "denied");
  EXPECT_EQ(e["jsonrpc"], "2.0");
  EXPECT_EQ(e["id"], "abc");
  EXPECT_EQ(e["error"]["code"], -32040);
  EXPECT_EQ(e["error"]["message"], "denied");
  EXPECT_EQ(e["error"]["data"]["reason"], "policy_denied");
  EXPECT_TRUE(
      RpcError(Json(), kRpcParseError, "malformed", "x")["id"].is_null());
}

}  // namespace
}  // namespace aztp

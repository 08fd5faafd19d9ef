// Server-sent events read incrementally (sse.h).
#include "aztp/proxy/sse.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace aztp {
namespace {

std::vector<SseEvent> Read(std::string_view stream) {
  SseReader r;
  auto events = r.Feed(stream);
  EXPECT_TRUE(events.has_value()) << events.error().message();
  return events ? *events : std::vector<SseEvent>{};
}

// ByteByByte feeds one byte at a time.
std::vector<SseEvent> ByteByByte(std::string_view stream) {
  SseReader r;
  std::vector<SseEvent> out;
  for (char c : stream) {
    auto events = r.Feed(std::string_view(&c, 1));
    EXPECT_TRUE(events.has_value());
    if (events) out.insert(out.end(), events->begin(), events->end());
  }
  return out;
}

constexpr std::string_view kStream =
    "\xEF\xBB\xBF"
    ": a comment\r\n"
    "event: message\r\n"
    "id: 7\r\n"
    "data: {\"jsonrpc\":\"2.0\",\r\n"
    "data:\"id\":1}\r\n"
    "\r\n"
    "retry: 2500\r"
    "data: second\r"
    "\r"
    "data\n"
    "unknown: field\n"
    "\n"
    "\n\n";

TEST(SseReader, ReadsEventsWhateverTheLineEndings) {
  std::vector<SseEvent> events = Read(kStream);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_TRUE(events[3].empty() && events[4].empty()) << "the blank lines";
  EXPECT_FALSE(events[2].empty());
  EXPECT_EQ(events[0].event, "message");
  EXPECT_EQ(events[0].id, std::optional<std::string>("7"));
  EXPECT_EQ(events[0].data, "{\"jsonrpc\":\"2.0\",\n\"id\":1}");
  EXPECT_EQ(events[0].raw,
            ": a comment\r\nevent: message\r\nid: 7\r\n"
            "data: {\"jsonrpc\":\"2.0\",\r\ndata:\"id\":1}\r\n\r");
  EXPECT_EQ(events[1].retry, std::optional<int64_t>(2500));
  EXPECT_EQ(events[1].data, "second");
  EXPECT_TRUE(events[2].has_data);
  EXPECT_EQ(events[2].data, "") << "a data line without a colon";
  // Relayed raw, the events are the stream (less the mark).
  std::string relayed;
  for (const auto& e : events) relayed += e.raw;
  EXPECT_EQ(relayed, std::string(kStream.substr(3)));
}

TEST(SseReader, ByteByByteGivesTheSameEvents) {
  std::vector<SseEvent> whole = Read(kStream);
  std::vector<SseEvent> bytes = ByteByByte(kStream);
  ASSERT_EQ(bytes.size(), whole.size());
  for (std::size_t i = 0; i < whole.size(); ++i) {
    EXPECT_EQ(bytes[i].data, whole[i].data);
    EXPECT_EQ(bytes[i].event, whole[i].event);
    EXPECT_EQ(bytes[i].id, whole[i].id);
    EXPECT_EQ(bytes[i].retry, whole[i].retry);
    EXPECT_EQ(bytes[i].raw, whole[i].raw);
  }
}

TEST(SseReader, IgnoresWhatTheStandardSaysToIgnore) {
  std::vector<SseEvent> events =
      Read(std::string("id: a\0b\nretry: 12x\ndata: d\n\n", 28));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].id.has_value()) << "an id holding NUL";
  EXPECT_FALSE(events[0].retry.has_value());
  std::vector<SseEvent> comments = Read(":only comments\n\n\n\n");
  ASSERT_EQ(comments.size(), 3u) << "kept for the relay";
  for (const SseEvent& e : comments) EXPECT_TRUE(e.empty());
  EXPECT_EQ(comments[0].raw + comments[1].raw + comments[2].raw,
            ":only comments\n\n\n\n");
  EXPECT_EQ(Read("data:  two spaces\n\n")[0].data, " two spaces");
  EXPECT_TRUE(Read("data: no blank line yet\n").empty());
}

TEST(SseReader, AnEventBeyondTheBoundCutsTheStream) {
  SseReader r(64);
  ASSERT_TRUE(r.Feed("data: small\n\n").has_value());
  auto big = r.Feed("data: " + std::string(100, 'x'));
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code(), Code::kTooLarge);
  EXPECT_FALSE(r.Feed("\n\n").has_value()) << "unusable once cut";
  // Comments and endless lines are bounded too.
  SseReader c(64);
  EXPECT_FALSE(c.Feed(std::string(65, ':')).has_value());
}

TEST(SseReader, ARenderedEventReadsBackTheSame) {
  SseEvent e;
  e.event = "message";
  e.id = "42";
  e.retry = 100;
  e.data = "line one\nline two";
  e.has_data = true;
  std::vector<SseEvent> back = Read(RenderSseEvent(e));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].event, e.event);
  EXPECT_EQ(back[0].id, e.id);
  EXPECT_EQ(back[0].retry, e.retry);
  EXPECT_EQ(back[0].data, e.data);
  EXPECT_EQ(back[0].raw, RenderSseEvent(e));
}

}  // namespace
}  // namespace aztp

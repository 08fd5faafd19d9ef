// Sessions of a stateful agent protocol bound to the caller that opened
// them: MCP's streamable HTTP transport names a session with the
// `Mcp-Session-Id` header, issued in the server's answer to `initialize`
// and sent with every later request. A proxy that let any caller present
// any session id would let one agent act inside another's session, so a
// session is bound to the SPIFFE ID whose request opened it, and refused to
// every other (issue 17; not wired into the proxy yet).
//
// Session ids are 1 to kMaxSessionIdBytes visible ASCII bytes (0x21-0x7E),
// as the MCP transport requires. The table is bounded: when full, sessions
// idle longer than `idle_seconds` are dropped, and a new one is refused
// (kUnavailable) if none is. One caller holds at most `per_caller`
// sessions: its least recently used one ends when it opens another, so
// that no caller can fill the table and lock the others out. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/spiffeid/spiffe_id.h"

namespace aztp {

inline constexpr std::size_t kMaxSessionIdBytes = 256;
// The header fields a session and the resuming of its streams travel in.
inline constexpr std::string_view kMcpSessionHeader = "Mcp-Session-Id";
inline constexpr std::string_view kLastEventIdHeader = "Last-Event-ID";

class RpcSessions {
 public:
  RpcSessions(std::size_t capacity, int64_t idle_seconds,
              std::size_t per_caller = 256)
      : capacity_(capacity),
        idle_seconds_(idle_seconds),
        per_caller_(per_caller) {}

  // Bind records `session` as `caller`'s. kAlreadyExists when another
  // caller holds it (a server that reuses ids: the answer must not reach
  // this caller); kInvalidArgument for an id that is not visible ASCII or
  // too long; kUnavailable when the table is full of live sessions.
  Status Bind(std::string_view session, const SpiffeId& caller, UnixTime now);
  // Check lets `caller` use `session` (and counts it as active now):
  // kPermissionDenied when it is another caller's, kNotFound when it is
  // unknown here (never opened through this proxy, ended or expired).
  Status Check(std::string_view session, const SpiffeId& caller, UnixTime now);
  // Forget ends a session (its owner's DELETE).
  void Forget(std::string_view session);
  std::size_t size() const;

 private:
  struct Entry {
    SpiffeId caller;
    UnixTime last = 0;
  };
  using Table = std::map<std::string, Entry, std::less<>>;
  // DropIdle removes sessions idle for longer than idle_seconds_; Erase
  // removes one; mu_ held.
  void DropIdle(UnixTime now);
  void Erase(Table::iterator it);
  // MakeRoomFor ends `caller`'s least recently used session when it holds
  // per_caller_ already; mu_ held.
  void MakeRoomFor(const SpiffeId& caller);

  const std::size_t capacity_;
  const int64_t idle_seconds_;
  const std::size_t per_caller_;
  mutable std::mutex mu_;
  Table sessions_;
  std::map<std::string, std::size_t, std::less<>> held_;  // by caller
};

}  // namespace aztp

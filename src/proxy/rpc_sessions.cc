#include "aztp/proxy/rpc_sessions.h"

#include <iterator>

namespace aztp {
namespace {

Status CheckId(std::string_view session) {
  if (session.empty() || session.size() > kMaxSessionIdBytes) {
    return Error(Code::kInvalidArgument, "a session id must be 1 to 256 bytes");
  }
  for (char c : session) {
    if (c < 0x21 || c > 0x7E) {
      return Error(Code::kInvalidArgument,
                   "a session id must be visible ASCII");
    }
  }
  return Ok();
}

}  // namespace

void RpcSessions::Erase(Table::iterator it) {
  auto held = held_.find(it->second.caller.str());
  if (held != held_.end() && --held->second == 0) held_.erase(held);
  sessions_.erase(it);
}

void RpcSessions::DropIdle(UnixTime now) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    auto next = std::next(it);
    if (now - it->second.last > idle_seconds_) Erase(it);
    it = next;
  }
}

void RpcSessions::MakeRoomFor(const SpiffeId& caller) {
  auto held = held_.find(caller.str());
  if (held == held_.end() || held->second < per_caller_) return;
  auto oldest = sessions_.end();
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (it->second.caller == caller &&
        (oldest == sessions_.end() || it->second.last < oldest->second.last)) {
      oldest = it;
    }
  }
  if (oldest != sessions_.end()) Erase(oldest);
}

Status RpcSessions::Bind(std::string_view session, const SpiffeId& caller,
                         UnixTime now) {
  AZTP_RETURN_IF_ERROR(CheckId(session));
  std::lock_guard lock(mu_);
  if (auto it = sessions_.find(session); it != sessions_.end()) {
    if (!(it->second.caller == caller)) {
      return Error(Code::kAlreadyExists,
                   "the session is already another caller's");
    }
    it->second.last = now;
    return Ok();
  }
  MakeRoomFor(caller);
  if (sessions_.size() >= capacity_) DropIdle(now);
  if (sessions_.size() >= capacity_) {
    return Error(Code::kUnavailable, "too many sessions open");
  }
  sessions_.emplace(std::string(session), Entry{caller, now});
  ++held_[caller.str()];
  return Ok();
}

Status RpcSessions::Check(std::string_view session, const SpiffeId& caller,
                          UnixTime now) {
  AZTP_RETURN_IF_ERROR(CheckId(session));
  std::lock_guard lock(mu_);
  auto it = sessions_.find(session);
  if (it == sessions_.end() || now - it->second.last > idle_seconds_) {
    return Error(Code::kNotFound, "no such session here");
  }
  if (!(it->second.caller == caller)) {
    return Error(Code::kPermissionDenied,
                 "the session belongs to another caller");
  }
  it->second.last = now;
  return Ok();
}

void RpcSessions::Forget(std::string_view session) {
  std::lock_guard lock(mu_);
  if (auto it = sessions_.find(session); it != sessions_.end()) Erase(it);
}

std::size_t RpcSessions::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

}  // namespace aztp

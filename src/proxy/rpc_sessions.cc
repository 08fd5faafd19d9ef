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

void RpcSessions::DropIdle(UnixTime now) {
  std::erase_if(sessions_, [&](const auto& s) {
    return now - s.second.last > idle_seconds_;
  });
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
  if (sessions_.size() >= capacity_) DropIdle(now);
  if (sessions_.size() >= capacity_) {
    return Error(Code::kUnavailable, "too many sessions open");
  }
  sessions_.emplace(std::string(session), Entry{caller, now});
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
  if (auto it = sessions_.find(session); it != sessions_.end()) {
    sessions_.erase(it);
  }
}

std::size_t RpcSessions::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

}  // namespace aztp

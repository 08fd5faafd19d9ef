#include "config/proxy_replay.h"

#include <string>

#include "aztp/base/file.h"
#include "aztp/http/address.h"

namespace aztp {
namespace internal {
namespace {

Field BackendInto(ProxyConfig::Replay::Backend& backend) {
  return [&backend](const YAML::Node& n, const std::string& path) -> Status {
    AZTP_ASSIGN_OR_RETURN(std::string s, ReadString(n, path));
    if (s == "memory") {
      backend = ProxyConfig::Replay::Backend::kMemory;
    } else if (s == "redis") {
      backend = ProxyConfig::Replay::Backend::kRedis;
    } else {
      return Invalid(path, "must be memory or redis, not " + QuoteInput(s));
    }
    return Ok();
  };
}

Field OnUnavailableInto(bool& refuse) {
  return [&refuse](const YAML::Node& n, const std::string& path) -> Status {
    AZTP_ASSIGN_OR_RETURN(std::string s, ReadString(n, path));
    if (s != "refuse" && s != "local") {
      return Invalid(path, "must be refuse or local, not " + QuoteInput(s));
    }
    refuse = s == "refuse";
    return Ok();
  };
}

Field AddressInto(std::string& address) {
  return [&address](const YAML::Node& n, const std::string& path) -> Status {
    AZTP_ASSIGN_OR_RETURN(std::string s, ReadString(n, path));
    if (!http::ParseHostPort(s).has_value()) {
      return Invalid(path, "must be host:port, not " + QuoteInput(s));
    }
    address = std::move(s);
    return Ok();
  };
}

}  // namespace

Field ReplayInto(ProxyConfig::Replay& r) {
  return Section({
      {"backend", BackendInto(r.backend)},
      {"redis",
       Section({
           {"address", AddressInto(r.address)},
           {"username", NonEmptyStringInto(r.username)},
           {"password_file", FileInto(r.password_file)},
           {"timeout_ms", IntWithinInto(r.timeout_ms, 1, 10'000)},
           {"on_unavailable", OnUnavailableInto(r.refuse_when_unavailable)},
           {"key_prefix", NonEmptyStringInto(r.key_prefix)},
           {"connections", IntWithinInto(r.connections, 1, 64)},
           {"local_capacity", IntWithinInto(r.local_capacity, 0, 1 << 24)},
       })},
  });
}

}  // namespace internal

Result<RedisReplayOptions> ResolveRedisReplay(const ProxyConfig::Replay& r) {
  AZTP_ASSIGN_OR_RETURN(http::HostPort at, http::ParseHostPort(r.address));
  RedisReplayOptions o;
  o.host = at.host;
  o.port = at.port;
  o.username = r.username;
  if (!r.password_file.empty()) {
    AZTP_ASSIGN_OR_RETURN(SecretBytes password,
                          ReadSecretLine(r.password_file, 4096));
    o.password = std::move(password);
  }
  o.timeout = std::chrono::milliseconds(r.timeout_ms);
  o.on_unavailable = r.refuse_when_unavailable
                         ? RedisReplayOptions::OnUnavailable::kRefuse
                         : RedisReplayOptions::OnUnavailable::kLocalOnly;
  o.key_prefix = r.key_prefix;
  o.connections = static_cast<std::size_t>(r.connections);
  o.local_capacity = r.local_capacity;
  return o;
}

}  // namespace aztp

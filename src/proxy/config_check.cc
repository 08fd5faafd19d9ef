#include "proxy/config_check.h"

#include "aztp/base/file.h"
#include "aztp/chain/capability.h"
#include "aztp/proxy/agent_card.h"
#include "aztp/proxy/proxy.h"

namespace aztp {

namespace internal {

Result<http::Url> RequirePort(Result<http::Url> url, std::string_view text) {
  if (url && !url->explicit_port) {
    return Error(Code::kInvalidArgument,
                 "URL " + QuoteInput(text) +
                     " names no port (expected scheme://host:port)");
  }
  return url;
}

Result<boost::asio::ip::tcp::endpoint> ListenEndpoint(
    const std::string& where) {
  AZTP_ASSIGN_OR_RETURN(http::HostPort hp, http::ParseListenAddress(where));
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(hp.host, ec);
  if (ec) {
    return Error(Code::kInvalidArgument,
                 "listen address " + QuoteInput(where) + " is not an IP");
  }
  return boost::asio::ip::tcp::endpoint(address, hp.port);
}

Result<Policy> ReadPolicyFile(const std::string& path) {
  AZTP_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  auto policy = ParsePolicy(text);
  if (!policy) return policy.error().WithContext(path);
  return std::move(*policy);
}

Result<std::optional<Json>> ReadAgentCard(const ProxyConfig& c) {
  if (!c.inbound) return std::optional<Json>();
  for (std::size_t i = 0; i < c.inbound->routes.size(); ++i) {
    const std::string& path = c.inbound->routes[i].agent_card;
    if (path.empty()) continue;
    const std::string key =
        "inbound.routes[" + std::to_string(i) + "].agent_card";
    auto text = ReadFile(path, kMaxAgentCardBytes);
    if (!text) return text.error().WithContext(key);
    auto card = ParseAgentCard(*text);
    if (!card) return card.error().WithContext(key + " " + path);
    return std::optional<Json>(std::move(*card));
  }
  return std::optional<Json>();
}

}  // namespace internal

// Each check names the key it is about; Reload (and so Start) makes them
// all first, so that `aztp-proxy check` and `run` refuse with one message.
Status CheckProxyConfig(const ProxyConfig& c) {
  auto listen = [](const std::string& where, const char* key) -> Status {
    auto ep = internal::ListenEndpoint(where);
    if (!ep) return ep.error().WithContext(key);
    return Ok();
  };
  if (c.inbound) {
    AZTP_RETURN_IF_ERROR(listen(c.inbound->listen, "inbound.listen"));
    if (auto up = internal::RequirePort(http::ParseUrl(c.inbound->upstream),
                                        c.inbound->upstream);
        !up) {
      return up.error().WithContext("inbound.upstream");
    }
    if (!c.inbound->policy_file.empty()) {
      auto policy = internal::ReadPolicyFile(c.inbound->policy_file);
      if (!policy) return policy.error().WithContext("inbound.policy_file");
    }
    AZTP_RETURN_IF_ERROR(internal::ReadAgentCard(c));
  }
  if (c.egress) {
    AZTP_RETURN_IF_ERROR(listen(c.egress->listen, "egress.listen"));
    if (auto caps = CapabilitySet::FromStrings(c.egress->root_capabilities);
        !caps) {
      return caps.error().WithContext("egress.root_capabilities");
    }
  }
  if (!c.metrics_listen.empty()) {
    AZTP_RETURN_IF_ERROR(listen(c.metrics_listen, "metrics_listen"));
  }
  return Ok();
}

}  // namespace aztp

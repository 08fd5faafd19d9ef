// What the proxy checks of its configuration before it serves with it
// (CheckProxyConfig, proxy.h) and the readers it shares with the runtime.
// Plain code, no coroutines: built in every build, the fuzz build too.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "aztp/base/result.h"
#include "aztp/config/proxy_config.h"
#include "aztp/encoding/json.h"
#include "aztp/http/address.h"
#include "aztp/policy/policy.h"

namespace aztp::internal {

// RequirePort passes `url` (parsed from `text`) on when it names its port,
// and refuses it otherwise (kInvalidArgument). The proxy's URLs (the
// upstream, a target) name their port, as they always had to: the egress
// side speaks TLS to a target whatever the scheme says, so no scheme's
// default port would be the right one, and the upstream is the app's own
// port.
Result<http::Url> RequirePort(Result<http::Url> url, std::string_view text);

// ListenEndpoint is where a listener binds: an IP address (never a name
// to resolve) and a port (0: any).
Result<boost::asio::ip::tcp::endpoint> ListenEndpoint(const std::string& where);

// ReadPolicyFile reads and parses the policy file of inbound.policy_file.
Result<Policy> ReadPolicyFile(const std::string& path);

// ReadAgentCard reads and checks the A2A Agent Card of the a2a route that
// names one (agent_card.h), if any.
Result<std::optional<Json>> ReadAgentCard(const ProxyConfig& c);

}  // namespace aztp::internal

#include "config/oidc_config.h"

#include <algorithm>
#include <set>

#include "aztp/crypto/key.h"
#include "aztp/http/address.h"
#include "aztp/oidc/provider_metadata.h"
#include "aztp/spiffeid/spiffe_id.h"

namespace aztp::internal {
namespace {

constexpr std::size_t kMaxProviders = 16;
constexpr std::size_t kMaxExchangeClients = 32;
constexpr int64_t kMaxAuthAge = 30 * kDay;

Field ExchangeClientsInto(std::vector<OidcExchangeClient>& list) {
  return [&list](const YAML::Node& n, const std::string& path) -> Status {
    if (!n.IsSequence()) return Malformed(path, "must be a list");
    if (n.size() > kMaxExchangeClients) {
      return Invalid(
          path, "at most " + std::to_string(kMaxExchangeClients) + " entries");
    }
    list.clear();
    for (std::size_t i = 0; i < n.size(); ++i) {
      OidcExchangeClient& e = list.emplace_back();
      AZTP_RETURN_IF_ERROR(
          ReadMapping(n[i], Item(path, i),
                      {{"client_id", NonEmptyStringInto(e.client_id)},
                       {"agents", StringListInto(e.agents)}}));
    }
    return Ok();
  };
}

bool ValidName(std::string_view name) {
  return !name.empty() && name.size() <= 64 &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
         });
}

Status ValidateExchangeClients(const OidcProviderEntry& p,
                               const std::string& path) {
  std::set<std::string> ids;
  for (std::size_t i = 0; i < p.exchange_clients.size(); ++i) {
    const OidcExchangeClient& e = p.exchange_clients[i];
    const std::string at = Item(Child(path, "exchange_clients"), i);
    if (e.client_id.empty()) return Invalid(Child(at, "client_id"), "required");
    if (!ids.insert(e.client_id).second) {
      return Invalid(Child(at, "client_id"), "listed twice");
    }
    // Tokens issued to aztpd prove a login to aztpd, and only its own
    // logins (with their nonce) redeem them.
    if (e.client_id == p.client_id) {
      return Invalid(Child(at, "client_id"), "is aztpd's own client_id");
    }
    if (e.agents.empty()) return Invalid(Child(at, "agents"), "required");
    for (std::size_t j = 0; j < e.agents.size(); ++j) {
      auto id = SpiffeId::ParseUserInput(e.agents[j]);
      if (!id || !id->IsWorkload()) {
        return Invalid(
            Item(Child(at, "agents"), j),
            "must be an agent's SPIFFE ID, not " + QuoteInput(e.agents[j]));
      }
    }
  }
  return Ok();
}

Status ValidateProvider(const OidcProviderEntry& p, const std::string& path) {
  if (!ValidName(p.name)) {
    return Invalid(Child(path, "name"), "must be 1 to 64 of a-z 0-9 - _");
  }
  if (p.issuer.empty()) return Invalid(Child(path, "issuer"), "required");
  // https only: a configured provider is never a loopback test provider.
  if (auto url =
          CheckProviderUrl(p.issuer, "issuer", ProviderMetadataRules{p.issuer});
      !url) {
    return Invalid(Child(path, "issuer"), url.error().message());
  }
  if (p.client_id.empty()) return Invalid(Child(path, "client_id"), "required");
  for (std::size_t i = 0; i < p.algorithms.size(); ++i) {
    if (!ParseAlgorithm(p.algorithms[i])) {
      return Invalid(Item(Child(path, "algorithms"), i),
                     "must be RS256, PS256, ES256, ES384 or EdDSA");
    }
  }
  if (!p.client_secret_file.empty() && !p.private_key_file.empty()) {
    return Invalid(Child(path, "private_key_file"),
                   "one client authentication: client_secret_file or "
                   "private_key_file, not both");
  }
  if (!p.private_key_id.empty() && p.private_key_file.empty()) {
    return Invalid(Child(path, "private_key_id"), "needs private_key_file");
  }
  // The ranges hold however the entry was made (the file's reader checks
  // them too, with the key's own message).
  AZTP_RETURN_IF_ERROR(DurationWithin(p.max_auth_age_seconds, 0, kMaxAuthAge,
                                      Child(path, "max_auth_age")));
  AZTP_RETURN_IF_ERROR(DurationWithin(p.keys_min_refresh_seconds, 1, 3600,
                                      Child(path, "keys_min_refresh")));
  AZTP_RETURN_IF_ERROR(DurationWithin(p.exchange_max_token_age_seconds, 60,
                                      kDay,
                                      Child(path, "exchange_max_token_age")));
  if (!p.scopes.empty() && p.scopes.front() != "openid") {
    return Invalid(Child(path, "scopes"), "must start with openid");
  }
  return ValidateExchangeClients(p, path);
}

// ValidReturnUrl: an absolute https URL, or http on a loopback host (an
// app in development), without a fragment (RFC 6749 §3.1.2).
Status CheckReturnUrl(const std::string& url, const std::string& path,
                      bool https_only) {
  auto parsed = http::ParseUrl(url);
  if (!parsed) return Invalid(path, parsed.error().message());
  const std::string& host = parsed->address.host;
  const bool loopback =
      host == "localhost" || host == "127.0.0.1" || host == "::1";
  if (parsed->scheme != "https" && (https_only || !loopback)) {
    return Invalid(path, "must be https (http only on a loopback host)");
  }
  return Ok();
}

Field ReturnUrlsInto(std::vector<OidcReturnUrls>& list) {
  return [&list](const YAML::Node& n, const std::string& path) -> Status {
    if (!n.IsSequence()) return Malformed(path, "must be a list");
    if (n.size() > 256) return Invalid(path, "at most 256 entries");
    list.clear();
    for (std::size_t i = 0; i < n.size(); ++i) {
      OidcReturnUrls& e = list.emplace_back();
      AZTP_RETURN_IF_ERROR(ReadMapping(n[i], Item(path, i),
                                       {{"agent", NonEmptyStringInto(e.agent)},
                                        {"urls", StringListInto(e.urls)}}));
    }
    return Ok();
  };
}

}  // namespace

Field OidcLoginInto(OidcLoginConfig& login) {
  return Section(
      {{"callback_url", NonEmptyStringInto(login.callback_url)},
       {"ttl", DurationWithinInto(login.ttl_seconds, 60, 3600)},
       {"result_ttl", DurationWithinInto(login.result_ttl_seconds, 10, 600)},
       {"return_urls", ReturnUrlsInto(login.return_urls)}});
}

Status ValidateOidcLogin(const OidcLoginConfig& login) {
  if (!login.callback_url.empty()) {
    AZTP_RETURN_IF_ERROR(CheckReturnUrl(
        login.callback_url, "oidc.login.callback_url", /*https_only=*/true));
  }
  for (std::size_t i = 0; i < login.return_urls.size(); ++i) {
    const std::string at = Item("oidc.login.return_urls", i);
    const OidcReturnUrls& r = login.return_urls[i];
    auto id = SpiffeId::ParseUserInput(r.agent);
    if (!id || !id->IsWorkload()) {
      return Invalid(Child(at, "agent"), "must be an agent's SPIFFE ID");
    }
    if (r.urls.empty()) return Invalid(Child(at, "urls"), "required");
    for (std::size_t j = 0; j < r.urls.size(); ++j) {
      AZTP_RETURN_IF_ERROR(CheckReturnUrl(r.urls[j], Item(Child(at, "urls"), j),
                                          /*https_only=*/false));
    }
  }
  return Ok();
}

Field OidcProvidersInto(std::vector<OidcProviderEntry>& list) {
  return [&list](const YAML::Node& n, const std::string& path) -> Status {
    if (!n.IsSequence()) return Malformed(path, "must be a list");
    if (n.size() > kMaxProviders) {
      return Invalid(path,
                     "at most " + std::to_string(kMaxProviders) + " entries");
    }
    list.clear();
    for (std::size_t i = 0; i < n.size(); ++i) {
      OidcProviderEntry& e = list.emplace_back();
      AZTP_RETURN_IF_ERROR(ReadMapping(
          n[i], Item(path, i),
          {{"name", NonEmptyStringInto(e.name)},
           {"issuer", NonEmptyStringInto(e.issuer)},
           {"client_id", NonEmptyStringInto(e.client_id)},
           {"client_secret_file", FileInto(e.client_secret_file)},
           {"private_key_file", FileInto(e.private_key_file)},
           {"private_key_id", NonEmptyStringInto(e.private_key_id)},
           {"ca_file", FileInto(e.ca_file)},
           {"algorithms", StringListInto(e.algorithms)},
           {"accepted_acr", StringListInto(e.accepted_acr)},
           {"max_auth_age",
            DurationWithinInto(e.max_auth_age_seconds, 0, kMaxAuthAge)},
           {"scopes", StringListInto(e.scopes)},
           {"keys_min_refresh",
            DurationWithinInto(e.keys_min_refresh_seconds, 1, 3600)},
           {"exchange_max_token_age",
            DurationWithinInto(e.exchange_max_token_age_seconds, 60, kDay)},
           {"exchange_clients", ExchangeClientsInto(e.exchange_clients)}}));
    }
    return Ok();
  };
}

Status ValidateOidcProviders(const std::vector<OidcProviderEntry>& list) {
  std::set<std::string> names;
  std::set<std::string> issuers;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string path = Item("oidc.providers", i);
    AZTP_RETURN_IF_ERROR(ValidateProvider(list[i], path));
    if (!names.insert(list[i].name).second) {
      return Invalid(Child(path, "name"), "another provider has this name");
    }
    // One issuer, one set of rules: tokens choose their provider by `iss`.
    if (!issuers.insert(list[i].issuer).second) {
      return Invalid(Child(path, "issuer"), "another provider has this issuer");
    }
  }
  return Ok();
}

}  // namespace aztp::internal

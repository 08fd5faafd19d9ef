// PersonService: chains that start at a person (docs/oidc.md). The control
// plane believes a person only after it verified that person's OpenID
// Connect ID token itself, and then signs the chain's root with its own
// X.509-SVID (spiffe://<td>/aztpd): `sub` = oidc:<issuer>#<subject>, `prs`
// = the person's bounded claims, `aud` = the agent that acts for the
// person, `cap` = what the agent's attached policies allow for this person
// (protocol §5.3). Each root issued is one transaction with its audit
// record.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/base/secret.h"
#include "aztp/chain/builder.h"
#include "aztp/chain/person.h"
#include "aztp/oidc/id_token.h"
#include "aztp/replay/replay_store.h"
#include "aztp/services/context.h"
#include "aztp/services/principal.h"

namespace aztp::services {

// Lifetimes of a person's root: minutes (protocol §5.3).
inline constexpr int64_t kPersonRootTtl = 300;
inline constexpr std::size_t kMaxPersonCapabilities = 32;

// OpenIdProvider is the network side of one provider, as the services need
// it (OidcProviderClient in aztpd, which fetches its documents and keys
// over verified TLS; fixed keys and answers in tests).
class OpenIdProvider {
 public:
  virtual ~OpenIdProvider() = default;
  // Validate checks an ID token of this provider with its keys (OpenID
  // Connect Core 1.0 §3.1.3.7; id_token.h), against `rules`.
  virtual Result<VerifiedIdToken> Validate(std::string_view token,
                                           const IdTokenRules& rules,
                                           std::string_view nonce) = 0;
  // AuthorizationEndpoint is the provider's, from its discovery document.
  virtual Result<std::string> AuthorizationEndpoint() = 0;
  // RedeemCode exchanges an authorization code at the token endpoint (RFC
  // 6749 §4.1.3 with PKCE) and returns the ID token, not yet validated.
  virtual Result<SecretBytes> RedeemCode(std::string_view code,
                                         std::string_view redirect_uri,
                                         const SecretBytes& code_verifier) = 0;
};

// PersonProvider is one OpenID provider the trust domain accepts people
// from.
struct PersonProvider {
  std::string name;  // as configured and named in requests
  // rules: the issuer, aztpd's own client ID there, and what an ID token
  // must satisfy (algorithms, acr, auth age).
  IdTokenRules rules;
  // exchange_clients: client IDs of apps at this provider whose users' ID
  // tokens agents may exchange (RFC 8693), each with the agents allowed to
  // exchange them. An ID token issued to an app proves the login to that
  // app only: an agent not listed for the token's audience gets nothing.
  std::map<std::string, std::vector<SpiffeId>> exchange_clients;
  // exchange_max_token_age_seconds: an exchanged ID token was issued at
  // most this long ago (its `iat`, with the rules' skew).
  int64_t exchange_max_token_age_seconds = 600;
  // scopes asked for in aztpd's own logins ("openid" first).
  std::vector<std::string> scopes = {"openid", "email", "profile"};
  std::shared_ptr<OpenIdProvider> idp;
};

// RootSigner is the control plane's current signer (its server SVID).
using RootSigner = std::function<std::shared_ptr<const HopSigner>()>;

// PersonRootRequest is a token exchange: the calling agent presents a
// person's ID token (the subject token) and asks for capabilities.
struct PersonRootRequest {
  // provider: a configured provider's name; empty: the provider whose
  // issuer is the token's `iss` (validation then checks it exactly).
  std::string provider;
  SecretBytes subject_token;
  // capabilities asked for: 1 to kMaxPersonCapabilities concrete ones (no
  // wildcard), each of which the agent's policies must allow.
  std::vector<std::string> capabilities;
};

// PersonRoot is an issued root: the Aztp-Chain value of one token.
struct PersonRoot {
  std::string chain;
  std::string subject;  // oidc:<issuer>#<subject>
  PersonClaims person;
  CapabilitySet capabilities;
  UnixTime expires_at = 0;
};

class PersonService {
 public:
  PersonService(const ServiceContext& ctx,
                std::vector<PersonProvider> providers, RootSigner signer);

  // Exchange is the token exchange of RFC 8693 §2: the caller must be an
  // agent's own X.509-SVID (it is the actor and the root's audience), the
  // subject token an ID token of `provider` issued to a client the caller
  // is listed for. kUnauthenticated for a token that does not validate
  // (with the validation's reason in the message), kPermissionDenied for
  // an agent not listed, kPolicyDenied naming the first capability the
  // agent's policies refuse for this person. An ID token is exchanged at
  // most once, and only while fresh: kReplay for one exchanged before
  // (by any agent, whatever the policies decided; a request refused before
  // the token is looked at does not use it up), kExpired for one issued
  // more than the provider's exchange_max_token_age ago. Every exchange
  // the token's validation refuses is audited too.
  Result<PersonRoot> Exchange(const Principal& who, PersonRootRequest request);

  // Issue signs the root for the person of `token` (validated by the
  // exchange, or by aztpd's own login with its nonce) for `agent`, granting
  // `capabilities` (PersonCapabilities) if the agent's policies allow each
  // for this person; audited either way. kPersonRootTtl, never past the
  // control plane's SVID.
  Result<PersonRoot> Issue(const std::string& actor, const SpiffeId& agent,
                           const VerifiedIdToken& token,
                           const CapabilitySet& capabilities);

  // Provider finds a configured provider by name (kNotFound).
  Result<const PersonProvider*> Provider(std::string_view name) const;
  // ProviderOf finds the provider whose issuer is the unverified `iss` of
  // `token` (kNotFound; kMalformed for a token that is no JWS).
  Result<const PersonProvider*> ProviderOf(const SecretBytes& token) const;

 private:
  Result<VerifiedIdToken> ValidateForAgent(const PersonProvider& provider,
                                           const SecretBytes& token,
                                           const SpiffeId& agent) const;
  // Exchangeable finds the provider of `request`'s token (its name into
  // `provider`), validates the token for `agent` and uses it up.
  Result<VerifiedIdToken> Exchangeable(const SpiffeId& agent,
                                       const PersonRootRequest& request,
                                       std::string& provider);
  // FirstFreshExchange: `token` (validated) is fresh and was never
  // exchanged before; remembers it while it could still be exchanged.
  Status FirstFreshExchange(const PersonProvider& provider,
                            const VerifiedIdToken& token,
                            const SecretBytes& raw);

  const ServiceContext& ctx_;
  std::vector<PersonProvider> providers_;
  RootSigner signer_;
  // exchanged: the ID tokens exchanged so far (by digest), until they can
  // no longer be exchanged, in the store's claims: one use across every
  // replica (StoreClaims).
  std::shared_ptr<ReplayStore> exchanged_;
};

// PersonClaimsOf selects what a root carries of a validated ID token.
Result<PersonClaims> PersonClaimsOf(const IdTokenPerson& person);

}  // namespace aztp::services
